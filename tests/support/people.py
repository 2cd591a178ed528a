"""People beyond the ``world`` fixture: portal members linked to a company or a facility, and
support agents of some prefectures (platform accounts, not members)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.service import create_user
from app.db import utcnow
from tenants.isolation import tenant_scope
from tenants.models import Membership, Role, Tenant
from tenants.support import SupportSession, save_agent

PASSWORD = "correct horse battery"


def add_person(session: Session, email: str, name: str | None = None) -> User:
    return create_user(session, email, name or email.split("@", maxsplit=1)[0].title(), PASSWORD)


def add_portal_member(
    session: Session,
    tenant: Tenant,
    user: User,
    *,
    buyer_id: int | None = None,
    facility_id: int | None = None,
) -> Membership:
    role = Role.BUYER if buyer_id is not None else Role.FACILITY
    with tenant_scope(session, tenant.id):
        membership = Membership(
            user_id=user.id, role=role, buyer_id=buyer_id, facility_id=facility_id
        )
        session.add(membership)
        session.flush()
    return membership


def add_agent(session: Session, email: str, regions: Sequence[str]) -> User:
    user = add_person(session, email)
    save_agent(session, user, regions)
    return user


def start_support_session(
    session: Session,
    tenant: Tenant,
    user: User,
    *,
    reason: str = "設定の確認",
    now: datetime | None = None,
    minutes: int = 120,
) -> SupportSession:
    now = now or utcnow()
    with tenant_scope(session, tenant.id):
        row = SupportSession(
            user_id=user.id,
            reason=reason,
            started_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
        session.add(row)
        session.flush()
    return row
