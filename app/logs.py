"""Structured logs: one JSON object per line on stderr, each with its request id and workspace.

What a line may hold (the policy for personal data, see infra/RUNBOOK.md "Logs"):

- ids only: the request id, the workspace (tenant) id, the acting user's numeric id;
- the route *pattern* (``/t/<tenant_slug>/deals/<int:deal_id>``), the endpoint, the method,
  status and duration — never the raw path or query string, which can carry search terms,
  names, e-mail addresses, or the tokens of invitation and password-reset links;
- never names, e-mail addresses, IP addresses, form values or SQL parameters. The database
  engine hides SQL parameters from error messages (``hide_parameters``), and every message is
  scrubbed of anything shaped like an e-mail or IP address as a last line of defence.

The request id comes from the ``X-Request-ID`` header when a proxy sent a sane one (so a
line can be followed from the load balancer to the database), otherwise it is made here; it
is sent back in the response and handed to background jobs started by the request.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import Flask, Response, g, has_app_context, has_request_context, request
from sqlalchemy import inspect

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=-]{1,128}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
# Full (eight groups) or compressed ("::") IPv6; clock times such as 12:30:45 are left alone.
_IPV6 = re.compile(
    r"\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b"
    r"|(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?::(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?"
)
_OURS = "_renkei_handler"
# Loggers of our own code (and of gunicorn, configured in infra/gunicorn.conf.py).
APP_LOGGERS = ("app", "tenants", "renkei")

request_log = logging.getLogger("renkei.request")


def scrub(text: str) -> str:
    """Mask what looks like an e-mail or IP address (defence in depth, not a licence)."""
    return _IPV6.sub("<ip>", _IPV4.sub("<ip>", _EMAIL.sub("<email>", text)))


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """The caller's id if it is short and plain (it goes into every line), else a new one."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return new_request_id()


def _identity(obj: Any) -> int | None:
    """The primary key of a loaded ORM object, without ever touching the database."""
    if obj is None:
        return None
    try:
        identity = inspect(obj).identity
    except Exception:  # not an ORM object (e.g. flask-login's anonymous user)
        return None
    if not identity:
        return None
    value = identity[-1] if len(identity) > 1 else identity[0]
    return int(value) if isinstance(value, int) else None


def current_context() -> dict[str, Any]:
    """request id, tenant id and user id of the running request or job, where known."""
    if not has_app_context():
        return {}
    context: dict[str, Any] = {}
    request_id = g.get("request_id")
    if request_id:
        context["request_id"] = request_id
    tenant_id = g.get("log_tenant_id")
    tenant = g.get("tenant")
    if tenant is not None:
        tenant_id = _identity(tenant)
    if tenant_id is not None:
        context["tenant_id"] = tenant_id
    user_id = g.get("log_user_id")
    if user_id is None:
        user_id = _identity(g.get("_login_user"))
    if user_id is not None:
        context["user_id"] = user_id
    return context


class JsonFormatter(logging.Formatter):
    """One JSON object per record; the context of the request or job is added."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "pid": record.process,
        }
        entry.update(current_context())
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["traceback"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For a developer's terminal: the same content, one readable line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = scrub(super().format(record))
        context = {**current_context(), **(getattr(record, "fields", None) or {})}
        if context:
            line += " " + " ".join(f"{key}={value}" for key, value in context.items())
        return line


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def make_handler(log_format: str) -> logging.Handler:
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    setattr(handler, _OURS, True)
    return handler


def configure(log_format: str, level: str = "INFO") -> None:
    """Install our one handler on the root logger (replacing an earlier one of ours)."""
    if log_format == "off":
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OURS, False):
            root.removeHandler(handler)
    root.addHandler(make_handler(log_format))
    # Our loggers at the chosen level; libraries only from WARNING (alembic, for one, is
    # chatty at INFO).
    if root.level == logging.NOTSET or root.level < logging.WARNING:
        root.setLevel(logging.WARNING)
    for name in APP_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())
    if log_format == "json":
        # The development server's own access line carries the client's address and the raw
        # path; the app writes its own request line instead.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)


def init_app(app: Flask, log_format: str, level: str = "INFO") -> None:
    configure(log_format, level)
    app.before_request(_start_request)
    app.after_request(_finish_request)


def _start_request() -> None:
    g.request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    if not has_request_context() or "request_id" not in g:
        return response
    response.headers[REQUEST_ID_HEADER] = g.request_id
    if request.endpoint == "static":
        return response
    duration_ms = (time.perf_counter() - g.request_started) * 1000
    request_log.info(
        "request",
        extra={
            "fields": {
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule is not None else None,
                "endpoint": request.endpoint,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 1),
                "htmx": request.headers.get("HX-Request") == "true",
            }
        },
    )
    return response


def bind_job(request_id: str | None, tenant_id: int, user_id: int) -> None:
    """Inside a background job's app context: its lines carry the starting request's ids."""
    g.request_id = request_id or new_request_id()
    g.log_tenant_id = tenant_id
    g.log_user_id = user_id
