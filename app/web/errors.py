"""Error pages in the user's language; never a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, request
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db
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
    return render(
        "web/error.html", code=code, title=title, message=message or default_message
    ), code


def register_error_handlers(app: Flask) -> None:
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
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_page(500)
