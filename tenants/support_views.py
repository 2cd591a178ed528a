"""Support staff screens: the workspaces of an agent's regions (/support), and inside one
workspace the agent's support session (start with a reason, end) and the administrators'
power to end it. See ``tenants.support`` for the rules."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired

from app.auth.forms import REQUIRED
from app.db import utcnow
from app.extensions import db
from app.jp import format_jst, today_jst
from app.notifications import service as notifications
from app.web.fields import max_length
from app.web.htmx import redirect_303, render
from tenants import support
from tenants.context import admin_view, support_view, tenant_blueprint

public = Blueprint("support", __name__, template_folder="templates")
workspace = tenant_blueprint("support_access", __name__, "/support-session")


class SupportSessionForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you need to make changes?"),
        validators=[DataRequired(message=REQUIRED), max_length(support.MAX_REASON)],
        description=_l("The workspace's administrators see this reason."),
    )


def _minutes() -> int:
    minutes: int = current_app.extensions["renkei_settings"].support_session_minutes
    return minutes


@public.get("/support")
@login_required
def index() -> Any:
    session = db.session
    if support.agent_for(session, current_user.id) is None:
        abort(403)
    return render(
        "support/index.html",
        workspaces=support.workspaces_in_scope(session, current_user.id),
        regions=support.regions_of(session, current_user.id),
    )


@public.get("/support/rollup")
@login_required
def rollup() -> Any:
    """The KPIs summed over the workspaces of the agent's regions (aggregates only)."""
    from app.reports import kpi, presentation, region
    from app.reports.views import fiscal_year_arg

    session = db.session
    if support.agent_for(session, current_user.id) is None:
        abort(403)
    today = today_jst()
    fy = fiscal_year_arg(request.args.get("fy"), today)
    this_year = kpi.current_fiscal_year(today)
    return render(
        "support/rollup.html",
        fy=fy,
        regions=support.regions_of(session, current_user.id),
        rollup=region.support_rollup(session, current_user.id, fy, today),
        short=presentation.short_year,
        value_text=presentation.value_text,
        difference_text=presentation.difference_text,
        percent=presentation.percent,
        labels=presentation.LABELS,
        definitions=presentation.DEFINITIONS,
        keys=kpi.KPI_KEYS,
        years=list(range(this_year, this_year - 6, -1)),
    )


@workspace.get("/")
@support_view
def status() -> Any:
    return render(
        "support/session.html", form=SupportSessionForm(formdata=None), minutes=_minutes()
    )


@workspace.post("/start")
@support_view
def start() -> Any:
    session = db.session
    form = SupportSessionForm()
    if form.validate_on_submit():
        try:
            row = support.start_session(
                session, current_user.id, form.reason.data or "", utcnow(), _minutes()
            )
            notes = notifications.notify_members(
                session,
                notifications.admins(session),
                kind="support_session",
                title=_("Support session started by %(name)s", name=current_user.name),
                body=_(
                    "%(name)s (support staff) may change this workspace's data until %(until)s "
                    "(JST). Reason:\n%(reason)s",
                    name=current_user.name,
                    until=format_jst(row.expires_at),
                    reason=row.reason,
                ),
                link=url_for("workspace.settings") + "#support",
            )
            session.commit()
        except support.SupportRuleBroken as exc:
            session.rollback()
            form.reason.errors = [str(exc)]
        else:
            notifications.send_after_commit(notes)
            flash(_("Support session started. Every change is in the audit log."), "success")
            return redirect_303(url_for("workspace.dashboard"))
    return render("support/session.html", form=form, minutes=_minutes()), 422


@workspace.post("/end")
@support_view
def end() -> Any:
    session = db.session
    active = g.support.active
    if active is not None and support.end_session(session, active, current_user.id, utcnow()):
        session.commit()
        flash(_("Support session ended. You are back to read-only access."), "success")
    return redirect_303(url_for("support_access.status"))


@workspace.post("/<int:support_session_id>/end-by-admin")
@admin_view
def end_by_admin(support_session_id: int) -> Any:
    session = db.session
    row = session.get(support.SupportSession, (g.tenant.id, support_session_id))
    if row is None:
        abort(404)
    if support.end_session(session, row, current_user.id, utcnow()):
        session.commit()
        flash(_("The support session was ended."), "success")
    return redirect_303(url_for("workspace.settings") + "#support")
