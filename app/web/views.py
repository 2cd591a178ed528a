"""Home, health check and language switch."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import text

from app.auth.views import home_for, safe_next
from app.extensions import db
from app.web.htmx import render

bp = Blueprint("web", __name__, template_folder="templates")

LANGUAGES = ("ja", "en")
LANG_COOKIE = "lang"


@bp.get("/")
def home() -> Any:
    if current_user.is_authenticated:
        return redirect(home_for(current_user.id))
    return render("web/home.html")


@bp.get("/healthz")
def healthz() -> Any:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception:  # any database failure means "not ready"
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/lang/<code>")
def set_language(code: str) -> Any:
    """Only sets a preference cookie, so a plain link is enough."""
    target = safe_next(request.args.get("next")) or url_for("web.home")
    response = redirect(target)
    if code in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 86400,
            httponly=True,
            samesite="Lax",
            secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        )
    return response
