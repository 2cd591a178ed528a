"""Outgoing mail: console by default, SMTP when configured, kept in memory in tests."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def outbox() -> list[Mail]:
    """Messages sent with the memory backend (tests)."""
    box: list[Mail] = current_app.extensions.setdefault("renkei_outbox", [])
    return box


def send_mail(to: str, subject: str, body: str) -> None:
    settings = current_app.extensions["renkei_settings"]
    mail = Mail(to=to, subject=subject, body=body)
    if settings.mail_backend == "memory":
        outbox().append(mail)
    elif settings.mail_backend == "smtp":
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    else:
        # Console backend: the developer reads the link from the terminal.
        print(f"\n----- mail to {to}\nSubject: {subject}\n\n{body}\n-----\n", flush=True)
