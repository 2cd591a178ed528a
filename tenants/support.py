"""Support staff across regions: platform accounts scoped to prefectures, not workspace members.

A support agent sees the workspaces of its prefectures and opens one at a time through the
normal tenant context (``tenants.context.enter_tenant``): the session is bound to that one
workspace exactly as for a member, so the ORM wall and PostgreSQL row-level security apply
unchanged. There is no bypass. What differs:

* the agent acts through an unsaved stand-in membership (``stand_in``): read-only staff by
  default; coordinator-level while a support session with a stated reason is running (never
  administrator);
* while read-only, the database session itself refuses writes (``READ_ONLY_KEY`` in
  ``tenants.isolation``: the flush is refused, and on PostgreSQL the transaction is READ ONLY);
* every request is recorded in that workspace's audit log (``support.access``), and support
  sessions are tenant rows the workspace's administrators see and can end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import ForeignKey, Index, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.auth.models import User
from app.db import Base, utcnow
from tenants import audit
from tenants.isolation import TenantScoped
from tenants.models import Membership, MembershipStatus, Role, Tenant
from tenants.prefectures import PREFECTURES

MAX_REASON = 500
ACTOR_LABEL = "support"  # audit rows written by an agent carry this label beside the name


class SupportRuleBroken(Exception):
    """A request the rules refuse; the message is for the user."""


class SupportAgent(Base):
    """A platform-level support account (not a member of any workspace)."""

    __tablename__ = "support_agents"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id"), primary_key=True, autoincrement=False
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)


class SupportAgentRegion(Base):
    """A prefecture an agent supports: the agent sees the workspaces located there."""

    __tablename__ = "support_agent_regions"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("support_agents.user_id"), primary_key=True, autoincrement=False
    )
    prefecture_code: Mapped[str] = mapped_column(String(2), primary_key=True)


class SupportSession(TenantScoped, Base):
    """A time-limited permission to change a workspace's data, started by an agent with a
    reason. Stored in the workspace, so its administrators see it (and may end it)."""

    __tablename__ = "support_sessions"
    __table_args__ = (Index("ix_support_sessions_user", "tenant_id", "user_id", "expires_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    def is_active(self, now: datetime) -> bool:
        return self.ended_at is None and self.expires_at > now


# --- agents (platform level: the CLI) -----------------------------------------------------


def agent_for(session: Session, user_id: int) -> SupportAgent | None:
    """The active support account of a person, or None."""
    agent = session.get(SupportAgent, user_id)
    if agent is None or agent.disabled_at is not None:
        return None
    return agent


def regions_of(session: Session, user_id: int) -> list[str]:
    return list(
        session.scalars(
            select(SupportAgentRegion.prefecture_code)
            .where(SupportAgentRegion.user_id == user_id)
            .order_by(SupportAgentRegion.prefecture_code)
        )
    )


def check_regions(codes: Iterable[str]) -> list[str]:
    """Prefecture codes as given (e.g. "22", "3" → "03"); refuses unknown ones."""
    cleaned = [code.strip().zfill(2) for code in codes]
    for code in cleaned:
        if code not in PREFECTURES:
            raise SupportRuleBroken(f"unknown prefecture code: {code}")
    if not cleaned:
        raise SupportRuleBroken("give at least one prefecture code (--region)")
    return sorted(set(cleaned))


def save_agent(session: Session, user: User, regions: Sequence[str]) -> SupportAgent:
    """Make ``user`` an active support agent of exactly ``regions`` (platform-level rows)."""
    codes = check_regions(regions)
    agent = session.get(SupportAgent, user.id)
    if agent is None:
        agent = SupportAgent(user_id=user.id)
        session.add(agent)
    agent.disabled_at = None
    session.flush()
    session.execute(delete(SupportAgentRegion).where(SupportAgentRegion.user_id == user.id))
    session.add_all(SupportAgentRegion(user_id=user.id, prefecture_code=c) for c in codes)
    session.flush()
    return agent


def disable_agent(session: Session, user: User) -> bool:
    agent = session.get(SupportAgent, user.id)
    if agent is None or agent.disabled_at is not None:
        return False
    agent.disabled_at = utcnow()
    return True


def workspaces_in_scope(session: Session, user_id: int) -> list[Tenant]:
    """The workspaces located in the agent's prefectures (the tenants table is global)."""
    codes = regions_of(session, user_id)
    if not codes:
        return []
    return list(
        session.scalars(
            select(Tenant)
            .where(Tenant.prefecture_code.in_(codes), Tenant.archived_at.is_(None))
            .order_by(Tenant.prefecture_code, Tenant.name)
        )
    )


def in_scope(session: Session, user_id: int, tenant: Tenant) -> bool:
    if agent_for(session, user_id) is None:
        return False
    found = session.get(SupportAgentRegion, (user_id, tenant.prefecture_code))
    return found is not None


# --- inside one workspace (the session is bound to it) ------------------------------------


@dataclass
class SupportAccess:
    """What the request knows about an agent inside a workspace (``g.support``)."""

    user_id: int
    active: SupportSession | None

    @property
    def can_write(self) -> bool:
        return self.active is not None


def active_session(session: Session, user_id: int, now: datetime) -> SupportSession | None:
    return session.scalars(
        select(SupportSession)
        .where(
            SupportSession.user_id == user_id,
            SupportSession.ended_at.is_(None),
            SupportSession.expires_at > now,
        )
        .order_by(SupportSession.expires_at.desc())
        .limit(1)
    ).first()


def stand_in(tenant: Tenant, user: User, access: SupportAccess) -> Membership:
    """The unsaved membership an agent acts through: read-only staff, or a coordinator while a
    support session runs. It is never added to the session, so it is never stored."""
    membership = Membership(
        tenant_id=tenant.id,
        user_id=user.id,
        role=Role.COORDINATOR if access.can_write else Role.VIEWER,
        status=MembershipStatus.ACTIVE,
    )
    membership.user = user
    membership.is_support = True
    return membership


def record_access(
    session: Session, access: SupportAccess, method: str, path: str, endpoint: str | None
) -> None:
    """One audit row per request an agent makes in the workspace."""
    audit.record(
        session,
        "support.access",
        SupportSession.__tablename__,
        access.active.id if access.active is not None else None,
        {
            "method": method,
            "path": path[:200],
            "endpoint": endpoint or "",
            "mode": "session" if access.can_write else "read-only",
        },
    )


def start_session(
    session: Session, user_id: int, reason: str, now: datetime, minutes: int
) -> SupportSession:
    reason = reason.strip()
    if not reason:
        raise SupportRuleBroken(_("State why you need to make changes."))
    if active_session(session, user_id, now) is not None:
        raise SupportRuleBroken(_("A support session is already running."))
    row = SupportSession(
        user_id=user_id,
        reason=reason[:MAX_REASON],
        started_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    session.add(row)
    session.flush()
    audit.record(session, "support.session.start", SupportSession.__tablename__, row.id)
    return row


def end_session(session: Session, row: SupportSession, by_user_id: int, now: datetime) -> bool:
    if not row.is_active(now):
        return False
    row.ended_at = now
    row.ended_by_user_id = by_user_id
    audit.record(session, "support.session.end", SupportSession.__tablename__, row.id)
    return True


def recent_sessions(session: Session, limit: int = 20) -> list[tuple[SupportSession, str, str]]:
    """The workspace's support sessions, newest first, with the agent's name and address."""
    rows = session.execute(
        select(SupportSession, User.name, User.email)
        .join(User, User.id == SupportSession.user_id)
        .order_by(SupportSession.started_at.desc(), SupportSession.id.desc())
        .limit(limit)
    ).all()
    return [(row, name, email) for row, name, email in rows]


def admins_of_workspace(session: Session) -> list[Membership]:
    return list(
        session.scalars(
            select(Membership).where(
                Membership.role == Role.ADMIN, Membership.status == MembershipStatus.ACTIVE
            )
        )
    )
