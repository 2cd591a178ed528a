"""Workspace screens: sign-up, switching, members and invitations, settings, audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from wtforms import SelectChoice

from app.attention import needs_attention
from app.auth.models import User
from app.auth.service import create_user, find_user_by_email
from app.buyers.models import Buyer
from app.db import utcnow
from app.extensions import db
from app.facilities.models import Facility
from app.jp import today_jst
from app.notifications import service as notifications
from app.web.htmx import redirect_303, render
from tenants import service, support
from tenants.audit import AuditEvent
from tenants.context import admin_view, current_membership, staff_view, tenant_blueprint
from tenants.forms import InviteForm, RoleForm, SettingsForm, SignupForm, SignupWithAccountForm
from tenants.models import PORTAL_ROLES, Invitation, Membership, MembershipStatus, Role, TenantKind

public = Blueprint("workspaces", __name__, template_folder="templates")
workspace = tenant_blueprint("workspace", __name__)

AUDIT_PAGE_SIZE = 50


# --- outside any workspace -------------------------------------------------------------------


@public.get("/workspaces")
@login_required
def index() -> Any:
    return render(
        "workspace/list.html",
        workspaces=service.memberships_of(db.session, current_user.id),
        support_agent=support.agent_for(db.session, current_user.id) is not None,
    )


@public.route("/signup", methods=["GET", "POST"])
def signup() -> Any:
    signed_in = current_user.is_authenticated
    form = SignupForm() if signed_in else SignupWithAccountForm()
    if form.validate_on_submit():
        session = db.session
        try:
            if signed_in:
                admin = current_user._get_current_object()
            else:
                if find_user_by_email(session, form.email.data) is not None:
                    form.email.errors.append(
                        _("An account with this address exists. Sign in first, then create it.")
                    )
                    return render("workspace/signup.html", form=form), 422
                admin = create_user(
                    session, form.email.data, form.admin_name.data, form.password.data
                )
            tenant = service.create_workspace(
                session,
                name=form.name.data,
                kind=form.kind.data,
                prefecture_code=form.prefecture_code.data,
                slug=form.slug.data,
                admin=admin,
            )
            session.commit()
        except service.RuleBroken as exc:
            session.rollback()
            form.slug.errors.append(str(exc))
            return render("workspace/signup.html", form=form), 422
        except IntegrityError:
            # Someone took the same URL or address a moment ago: nothing was kept.
            session.rollback()
            form.slug.errors.append(_("This URL is already used by another workspace."))
            return render("workspace/signup.html", form=form), 422
        if not signed_in:
            login_user(admin)
        flash(_("Workspace %(name)s is ready.", name=tenant.name), "success")
        return redirect_303(url_for("workspace.dashboard", tenant_slug=tenant.slug))
    status = 422 if form.errors else 200
    return render("workspace/signup.html", form=form), status


# --- inside a workspace ----------------------------------------------------------------------


@workspace.get("/")
@staff_view()
def dashboard() -> Any:
    session = db.session
    member_count = session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.status == MembershipStatus.ACTIVE)
    )
    recent = session.execute(
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.actor_user_id)
        .order_by(AuditEvent.id.desc())
        .limit(5)
    ).all()
    membership = current_membership()
    return render(
        "workspace/dashboard.html",
        member_count=member_count,
        recent=recent,
        attention=needs_attention(session, today_jst()),
        today=today_jst(),
        unread=(
            notifications.unread_count(session, membership_id=membership.id) if membership.id else 0
        ),
        support_sessions=(
            [s for s in support.recent_sessions(session, 5) if s[0].is_active(utcnow())]
            if membership.is_admin
            else []
        ),
    )


def _with_links(model: Any) -> Any:
    """Rows of (record, linked company name, linked facility name): one statement."""
    buyer = aliased(Buyer)
    facility = aliased(Facility)
    return (
        select(model, buyer.name, facility.name)
        .outerjoin(buyer, and_(buyer.tenant_id == model.tenant_id, buyer.id == model.buyer_id))
        .outerjoin(
            facility,
            and_(facility.tenant_id == model.tenant_id, facility.id == model.facility_id),
        )
    )


def _prepare_invite_form(form: InviteForm) -> InviteForm:
    """Choices of this workspace's companies and facilities (archived ones are not offered)."""
    session = db.session
    buyers = session.execute(
        select(Buyer.id, Buyer.name).where(Buyer.archived_at.is_(None)).order_by(Buyer.name)
    ).all()
    facilities = session.execute(
        select(Facility.id, Facility.name)
        .where(Facility.archived_at.is_(None))
        .order_by(Facility.name)
    ).all()
    form.buyer_id.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(i), name) for i, name in buyers
    ]
    form.facility_id.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(i), name) for i, name in facilities
    ]
    return form


def _members_context() -> dict[str, Any]:
    session = db.session
    members = session.execute(
        _with_links(Membership)
        .where(Membership.status == MembershipStatus.ACTIVE)
        .order_by(Membership.id)
    ).all()
    # Pending invitations are for administrators only.
    pending = (
        session.execute(
            _with_links(Invitation)
            .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
            .order_by(Invitation.id.desc())
        ).all()
        if current_membership().is_admin
        else []
    )
    return {
        "members": members,
        "invitations": pending,
        "role_form": RoleForm(),
        "portal_roles": PORTAL_ROLES,
    }


@workspace.get("/members")
@staff_view()
def members() -> Any:
    return render("workspace/members.html", **_members_context())


# The invitation form has a page of its own: its company and facility choices list every
# record of the workspace (thousands of facilities in the largest), which the members list
# should not carry.
@workspace.get("/members/invite")
@admin_view
def invite_page() -> Any:
    return render("workspace/invite.html", invite_form=_prepare_invite_form(InviteForm()))


@workspace.post("/members/invite")
@admin_view
def invite() -> Any:
    form = _prepare_invite_form(InviteForm())
    if form.validate_on_submit():
        settings = current_app.extensions["renkei_settings"]
        buyer_id, facility_id = form.link_ids()
        try:
            service.invite(
                db.session,
                tenant=g.tenant,
                inviter=current_membership(),
                email=form.email.data,
                role=Role(form.role.data),
                max_age_days=settings.invitation_max_age_days,
                link_for=lambda token: url_for(
                    "auth.accept_invitation", token=token, _external=True
                ),
                buyer_id=buyer_id,
                facility_id=facility_id,
            )
            db.session.commit()
        except service.RuleBroken as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
            return redirect_303(url_for("workspace.members"))
    return (
        render("workspace/invite.html", "workspace/_invite_form.html", "invite", invite_form=form),
        422,
    )


def _member_or_404(member_id: int) -> Membership:
    membership = db.session.get(Membership, (g.tenant.id, member_id))
    if membership is None or membership.status != MembershipStatus.ACTIVE:
        abort(404)
    return membership


@workspace.post("/members/<int:member_id>/role")
@admin_view
def change_role(member_id: int) -> Any:
    membership = _member_or_404(member_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose a valid role."), "error")
        return redirect_303(url_for("workspace.members"))
    try:
        service.change_role(db.session, membership, Role(form.role.data))
        db.session.commit()
    except service.RuleBroken as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("Role of %(name)s changed.", name=membership.user.name), "success")
    return redirect_303(url_for("workspace.members"))


@workspace.post("/members/<int:member_id>/remove")
@admin_view
def remove_member(member_id: int) -> Any:
    membership = _member_or_404(member_id)
    try:
        service.remove_member(db.session, membership)
        db.session.commit()
    except service.RuleBroken as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("%(name)s was removed from the workspace.", name=membership.user.name), "success")
    return redirect_303(url_for("workspace.members"))


@workspace.post("/invitations/<int:invitation_id>/revoke")
@admin_view
def revoke_invitation(invitation_id: int) -> Any:
    invitation = db.session.get(Invitation, (g.tenant.id, invitation_id))
    if invitation is None:
        abort(404)
    service.revoke_invitation(invitation)
    db.session.commit()
    flash(_("Invitation to %(email)s revoked.", email=invitation.email), "success")
    return redirect_303(url_for("workspace.members"))


@workspace.route("/settings", methods=["GET", "POST"])
@admin_view
def settings() -> Any:
    tenant = g.tenant
    form = SettingsForm(obj=tenant)
    if form.validate_on_submit():
        tenant.name = form.name.data
        tenant.kind = TenantKind(form.kind.data)
        tenant.prefecture_code = form.prefecture_code.data
        tenant.min_annual_volume = form.min_annual_volume.data
        tenant.shares_with_prefecture = bool(form.shares_with_prefecture.data)
        db.session.commit()
        flash(_("Settings saved."), "success")
        return redirect_303(url_for("workspace.settings"))
    return render(
        "workspace/settings.html",
        form=form,
        support_sessions=support.recent_sessions(db.session),
        now=utcnow(),
    ), 422 if form.errors else 200


@workspace.get("/audit")
@admin_view
def audit_log() -> Any:
    """Newest first, paged by id so every page costs the same two queries."""
    before = request.args.get("before", type=int)
    query = (
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.actor_user_id)
        .order_by(AuditEvent.id.desc())
        .limit(AUDIT_PAGE_SIZE + 1)
    )
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = db.session.execute(query).all()
    has_more = len(rows) > AUDIT_PAGE_SIZE
    rows = rows[:AUDIT_PAGE_SIZE]
    next_before = rows[-1][0].id if has_more else None
    return render("workspace/audit.html", rows=rows, next_before=next_before, before=before)
