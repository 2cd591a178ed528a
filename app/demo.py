"""The demo workspace: deterministic, idempotent, created only by `flask demo`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.service import create_user, find_user_by_email
from app.catalogs.service import seed_defaults
from app.db import utcnow
from app.demo_records import load_demo_records
from app.portal.demo import load_portal_demo, load_support_agent
from tenants.audit import ACTOR_LABEL_KEY
from tenants.isolation import tenant_scope
from tenants.models import Invitation, Membership, Role, Tenant, TenantKind

DEMO_PASSWORD = "renkei-demo"  # noqa: S105  (documented demo password, demo data only)


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    role: Role


DEMO_PEOPLE = (
    DemoPerson("admin@demo.example", "山田 花子", Role.ADMIN),
    DemoPerson("coordinator@demo.example", "佐藤 健一", Role.COORDINATOR),
    DemoPerson("quality@demo.example", "髙橋 美咲", Role.QUALITY),
    DemoPerson("viewer@demo.example", "鈴木 一郎", Role.VIEWER),
)
# The portals' people: linked to a company and a facility of the demo records (app.portal.demo),
# and a platform support agent for the prefecture (no membership).
PORTAL_PEOPLE = (
    ("buyer@demo.example", "石川 直樹", "buyer"),
    ("facility@demo.example", "望月 由美", "facility"),
    ("support@demo.example", "小林 誠", "support"),
)

# (slug, name, kind, prefecture, members: email -> role)
DEMO_WORKSPACES = (
    (
        "demo",
        "デモ市 共同受注窓口",
        TenantKind.MUNICIPALITY,
        "22",
        {p.email: p.role for p in DEMO_PEOPLE},
    ),
    (
        "demo-pref",
        "デモ県 セルプセンター",
        TenantKind.PREFECTURE,
        "22",
        {"admin@demo.example": Role.COORDINATOR, "coordinator@demo.example": Role.VIEWER},
    ),
)

DEMO_LOGINS = [(p.email, p.role.value) for p in DEMO_PEOPLE] + [
    (email, role) for email, _name, role in PORTAL_PEOPLE
]


def load_demo(session: Session) -> list[str]:
    """Create what is missing of the demo data; running it again changes nothing."""
    session.info[ACTOR_LABEL_KEY] = "demo"
    created: list[str] = []
    users: dict[str, User] = {}
    for person in DEMO_PEOPLE:
        user = find_user_by_email(session, person.email)
        if user is None:
            user = create_user(session, person.email, person.name, DEMO_PASSWORD)
            created.append(person.email)
        users[person.email] = user
    for email, name, _role in PORTAL_PEOPLE:
        user = find_user_by_email(session, email)
        if user is None:
            user = create_user(session, email, name, DEMO_PASSWORD)
            created.append(email)
        users[email] = user
    if load_support_agent(session, users["support@demo.example"]):
        created.append("support agent")

    for slug, name, kind, prefecture, members in DEMO_WORKSPACES:
        tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            tenant = Tenant(slug=slug, name=name, kind=kind, prefecture_code=prefecture)
            # デモ市 shares its KPI totals with デモ県 (the regional roll-up shows them).
            tenant.shares_with_prefecture = slug == "demo"
            session.add(tenant)
            session.flush()
            created.append(slug)
        with tenant_scope(session, tenant.id):
            existing = set(session.scalars(select(Membership.user_id)))
            for email, role in members.items():
                if users[email].id not in existing:
                    session.add(Membership(user_id=users[email].id, role=role))
            session.flush()
            seed_defaults(session)
            if slug == "demo":
                _demo_invitation(session, users["admin@demo.example"])
                owners = [users["coordinator@demo.example"].id, users["admin@demo.example"].id]
                if load_demo_records(session, tenant.id, owners):
                    created.append(f"{slug}: records")
                created += load_portal_demo(
                    session, users, coordinator=users["coordinator@demo.example"]
                )
    session.commit()
    return created


def _demo_invitation(session: Session, admin: User) -> None:
    email = "new.colleague@demo.example"
    if session.scalar(select(Invitation.id).where(Invitation.email == email)) is not None:
        return
    inviter = session.scalars(select(Membership).where(Membership.user_id == admin.id)).one()
    session.add(
        Invitation(
            email=email,
            role=Role.COORDINATOR,
            invited_by_id=inviter.id,
            expires_at=utcnow() + timedelta(days=7),
        )
    )
    session.flush()
