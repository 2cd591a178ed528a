"""Error pages in the user's language; never a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, g, request
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from app.extensions import db, login_manager
from app.web.htmx import render

log = logging.getLogger(__name__)


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood.")),
        403: (_("Not allowed"), _("Your role in this workspace does not allow this.")),
        404: (_("Page not found"), _("The page does not exist or you do not have access to it.")),
        405: (_("Not allowed"), _("This address does not accept that kind of request.")),
        410: (_("Gone"), _("This no longer exists.")),
        413: (_("File too large"), _("The upload is larger than allowed.")),
        422: (_("Check the input"), _("Some of the input could not be accepted.")),
        429: (
            _("Too many attempts"),
            _("Too many attempts in a short time. Wait a few minutes and try again."),
        ),
        500: (_("Something went wrong"), _("We could not finish this. Nothing was half-saved.")),
        503: (
            _("Temporarily unavailable"),
            _("A service this page needs is not answering. Try again in a few minutes."),
        ),
    }


def error_page(code: int, message: str | None = None) -> Any:
    title, default_message = _messages().get(code, (_("Error"), ""))
    try:
        page = render("web/error.html", code=code, title=title, message=message or default_message)
    except _unavailable_errors() as exc:
        # The page's shell reads the database (the workspace switcher): if it went away
        # while the error was being shown, the answer is the 503 page that needs nothing.
        return service_unavailable(exc)
    return page, code


# Seconds a client is told to wait before trying again when a backing service is down.
RETRY_AFTER_SECONDS = 5


def _unavailable_errors() -> tuple[type[Exception], ...]:
    """What "a backing service is down or restarting" looks like: the database (connection
    refused or lost, no free connection in the pool) and, when configured, Redis."""
    errors: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout
    except ImportError:  # redis is optional (the embedded default has no Redis)
        return errors
    return (*errors, RedisConnectionError, RedisTimeout)


def _rollback_quietly() -> None:
    """Roll back the request's session; with the database gone even that may fail."""
    try:
        db.session.rollback()
    except Exception:
        log.debug("rollback failed", exc_info=True)


def _select_locale() -> str:
    from app.factory import _select_locale as select

    return select()


def service_unavailable(exc: Exception) -> Any:
    """503 with a page that needs neither the database nor the signed-in person (both may be
    unreachable): nothing was saved, try again in a moment."""
    _rollback_quietly()
    # Whatever runs after this (logging, flask-login's hooks) must not load the signed-in
    # person from the database: treat the request as anonymous from here on.
    g._login_user = login_manager.anonymous_user()
    log.warning(
        "service unavailable: %s",
        type(exc).__name__,
        extra={"fields": {"route": request.url_rule.rule if request.url_rule else None}},
    )
    # Rendered without the context processors: some read the workspace's settings, which
    # would need the database again.
    template = current_app.jinja_env.get_template("web/unavailable.html")
    body = template.render(
        request=request,
        current_lang=_select_locale,
        title=_("Temporarily unavailable"),
        message=_(
            "The service is restarting or under maintenance. Nothing was saved. "
            "Try again in a moment."
        ),
    )
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def register_error_handlers(app: Flask) -> None:
    for error in _unavailable_errors():
        app.register_error_handler(error, service_unavailable)

    @app.errorhandler(CSRFError)
    def csrf_error(_exc: CSRFError) -> Any:
        db.session.rollback()
        return error_page(
            400,
            _("The form expired or was sent from another page. Reload the page and try again."),
        )

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(_exc: RateLimitExceeded) -> Any:
        db.session.rollback()
        if request.endpoint == "auth.login":
            from app.auth.forms import LoginForm

            form = LoginForm()
            # Not validated, so the field's errors are still an empty tuple: assign, not append.
            form.password.errors = [
                _("Too many sign-in attempts. Wait a few minutes and try again.")
            ]
            return render("auth/login.html", form=form), 429
        return error_page(429)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        db.session.rollback()
        return error_page(exc.code or 500)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        _rollback_quietly()
        # The route pattern, not the path: paths can carry tokens and search terms.
        route = request.url_rule.rule if request.url_rule else None
        log.exception("unhandled error on %s %s", request.method, route)
        return error_page(500)
