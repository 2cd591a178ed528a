"""Workspace rules: sign-up, invitations, members and settings. No Flask views here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.tokens import InvalidToken, make_token, read_token
from app.catalogs.service import seed_defaults
from app.db import utcnow
from app.mail import send_mail
from tenants import audit
from tenants.isolation import ALL_TENANTS, tenant_scope, use_tenant
from tenants.models import (
    PORTAL_ROLES,
    Invitation,
    Membership,
    MembershipStatus,
    Role,
    Tenant,
    TenantKind,
)

INVITATION_PURPOSE = "invitation"


class RuleBroken(Exception):
    """A request that the rules refuse; the message is for the user."""


class InvitationUnusable(Exception):
    def __init__(self, reason: str) -> None:  # invalid | expired | accepted | revoked
        super().__init__(reason)
        self.reason = reason


def slug_taken(session: Session, slug: str) -> bool:
    return session.scalar(select(func.count()).where(Tenant.slug == slug)) != 0


def create_workspace(
    session: Session, *, name: str, kind: str, prefecture_code: str, slug: str, admin: User
) -> Tenant:
    """A new workspace with ``admin`` as its first administrator, in the caller's transaction."""
    if slug_taken(session, slug):
        raise RuleBroken(_("This URL is already used by another workspace. Choose another."))
    tenant = Tenant(name=name, kind=TenantKind(kind), prefecture_code=prefecture_code, slug=slug)
    session.add(tenant)
    session.flush()
    use_tenant(session, tenant.id, admin.id)
    session.add(Membership(user_id=admin.id, role=Role.ADMIN))
    audit.record(session, "workspace.create", "tenants", tenant.id, {"slug": slug})
    session.flush()
    seed_defaults(session)  # processes, difficulty scale and lost reasons to start from
    return tenant


def memberships_of(session: Session, user_id: int) -> list[tuple[Tenant, Membership]]:
    """Every workspace a person belongs to (the one cross-tenant read a person may make)."""
    rows = session.execute(
        select(Tenant, Membership)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(
            Membership.user_id == user_id,
            Membership.status == MembershipStatus.ACTIVE,
            Tenant.archived_at.is_(None),
        )
        .order_by(Tenant.name)
        .execution_options(**ALL_TENANTS)
    ).all()
    return [(tenant, membership) for tenant, membership in rows]


def active_admin_count(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.role == Role.ADMIN, Membership.status == MembershipStatus.ACTIVE)
        )
        or 0
    )


def _keep_an_admin(session: Session, membership: Membership) -> None:
    if membership.role == Role.ADMIN and active_admin_count(session) <= 1:
        raise RuleBroken(_("A workspace needs at least one administrator."))


def change_role(session: Session, membership: Membership, role: Role) -> None:
    """Change a member's role. Portal roles come with a company or facility and are only given
    by invitation; moving a portal member to a staff role drops the link."""
    if membership.role == role:
        return
    if role in PORTAL_ROLES:
        raise RuleBroken(_("Portal roles are given by invitation, with the company or facility."))
    if role != Role.ADMIN:
        _keep_an_admin(session, membership)
    membership.role = role
    membership.buyer_id = None
    membership.facility_id = None


def remove_member(session: Session, membership: Membership) -> None:
    """Members are never deleted: the membership is marked removed and history stays."""
    _keep_an_admin(session, membership)
    membership.status = MembershipStatus.REMOVED


# --- invitations ---------------------------------------------------------------------------


def invite(
    session: Session,
    *,
    tenant: Tenant,
    inviter: Membership,
    email: str,
    role: Role,
    max_age_days: int,
    link_for: Callable[[str], str],
    buyer_id: int | None = None,
    facility_id: int | None = None,
) -> Invitation:
    """Invite ``email`` with ``role``; a buyer's person is linked to ``buyer_id``, a
    facility's person to ``facility_id`` (the form checks both belong to this workspace)."""
    if (role == Role.BUYER) != (buyer_id is not None):
        raise RuleBroken(_("Choose the buyer company this person works for."))
    if (role == Role.FACILITY) != (facility_id is not None):
        raise RuleBroken(_("Choose the facility this person works for."))
    already = session.scalar(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(User.email == email, Membership.status == MembershipStatus.ACTIVE)
    )
    if already is not None:
        raise RuleBroken(_("%(email)s is already a member of this workspace.", email=email))
    now = utcnow()
    # A new invitation replaces any pending one for the same address (row by row, so the
    # flush audits each revocation).
    pending = session.scalars(
        select(Invitation).where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    )
    for old in pending:
        old.revoked_at = now
    invitation = Invitation(
        email=email,
        role=role,
        invited_by_id=inviter.id,
        expires_at=now + timedelta(days=max_age_days),
        buyer_id=buyer_id,
        facility_id=facility_id,
    )
    session.add(invitation)
    session.flush()
    token = make_token(INVITATION_PURPOSE, {"t": tenant.id, "i": invitation.id})
    send_mail(
        email,
        _("Invitation to %(workspace)s", workspace=tenant.name),
        _(
            "%(inviter)s invited you to the workspace %(workspace)s on Renkei.\n\n"
            "Open this link to join (valid for %(days)d days, usable once):\n%(link)s\n",
            inviter=inviter.user.name,
            workspace=tenant.name,
            days=max_age_days,
            link=link_for(token),
        ),
    )
    return invitation


def open_invitation(session: Session, token: str, max_age_days: int) -> tuple[Tenant, Invitation]:
    """The invitation behind a link; binds the session to its workspace. Raises when unusable."""
    try:
        data = read_token(INVITATION_PURPOSE, token, max_age_days * 86400)
    except InvalidToken as exc:
        raise InvitationUnusable("expired" if exc.expired else "invalid") from exc
    tenant_id, invitation_id = data.get("t"), data.get("i")
    if not isinstance(tenant_id, int) or not isinstance(invitation_id, int):
        raise InvitationUnusable("invalid")
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or tenant.archived_at is not None:
        raise InvitationUnusable("invalid")
    use_tenant(session, tenant.id)
    invitation = session.get(Invitation, (tenant.id, invitation_id))
    if invitation is None:
        raise InvitationUnusable("invalid")
    state = invitation.state(utcnow())
    if state != "pending":
        raise InvitationUnusable(state)
    return tenant, invitation


def accept_invitation(session: Session, invitation: Invitation, user: User) -> Membership:
    if user.email != invitation.email:
        raise RuleBroken(_("This invitation was sent to another e-mail address."))
    with tenant_scope(session, invitation.tenant_id):
        membership = session.scalar(select(Membership).where(Membership.user_id == user.id))
        if membership is None:
            membership = Membership(
                user_id=user.id,
                role=invitation.role,
                buyer_id=invitation.buyer_id,
                facility_id=invitation.facility_id,
            )
            session.add(membership)
        else:
            membership.role = invitation.role
            membership.buyer_id = invitation.buyer_id
            membership.facility_id = invitation.facility_id
            membership.status = MembershipStatus.ACTIVE
        session.flush()
        invitation.accepted_at = utcnow()
        invitation.membership_id = membership.id
        session.flush()
    return membership


def revoke_invitation(invitation: Invitation) -> None:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
