"""Account rules: authentication, password changes and resets. No Flask views here."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User, new_session_token
from app.auth.passwords import dummy_verify, hash_password, verify_password
from app.auth.tokens import InvalidToken, fingerprint, make_token, read_token
from app.db import utcnow

log = logging.getLogger(__name__)

RESET_PURPOSE = "password-reset"


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(session: Session, email: str, name: str, password: str) -> User:
    user = User(
        email=email.strip().lower(), name=name.strip(), password_hash=hash_password(password)
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = find_user_by_email(session, email)
    if user is None:
        dummy_verify(password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    user.last_login_at = utcnow()
    return user


def set_password(user: User, password: str) -> None:
    """New password; the new session token signs every other session out."""
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()
    log.info("password changed for user %s", user.id)


def change_password(user: User, current_password: str, new_password: str) -> bool:
    if not verify_password(user.password_hash, current_password):
        return False
    set_password(user, new_password)
    return True


def make_reset_token(user: User) -> str:
    # The hash fingerprint makes the link single-use: it dies with the password it replaces.
    return make_token(RESET_PURPOSE, {"u": user.id, "f": fingerprint(user.password_hash)})


def user_for_reset_token(session: Session, token: str) -> User:
    settings = current_app.extensions["renkei_settings"]
    data = read_token(RESET_PURPOSE, token, settings.password_reset_max_age_minutes * 60)
    user = session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or data.get("f") != fingerprint(user.password_hash) or not user.is_active:
        raise InvalidToken()
    return user
