"""A member's own notifications: buyers' answers, messages and requests, support sessions."""

from __future__ import annotations

from typing import Any

from flask import flash, url_for
from flask_babel import gettext as _

from app.db import utcnow
from app.extensions import db
from app.notifications import service
from app.web.htmx import redirect_303, render
from tenants.context import current_membership, staff_view, tenant_blueprint

bp = tenant_blueprint("notifications", __name__, "/notifications")


@bp.get("/")
@staff_view()
def index() -> Any:
    membership = current_membership()
    notes = service.for_member(db.session, membership.id) if membership.id else []
    return render("notifications/index.html", notes=notes)


@bp.post("/read")
@staff_view(write=True)
def mark_all_read() -> Any:
    membership = current_membership()
    if membership.id:
        count = service.mark_all_read(db.session, utcnow(), membership_id=membership.id)
        db.session.commit()
        if count:
            flash(_("All notifications marked as read."), "success")
    return redirect_303(url_for("notifications.index"))
