"""Workspaces (tenants), memberships, roles and invitations."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from tenants.isolation import TenantScoped, tenant_fk

if TYPE_CHECKING:
    from app.auth.models import User


def str_enum(enum_class: type[enum.Enum]) -> Enum:
    """Store an enum by its value in a VARCHAR with a CHECK constraint (portable, readable)."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


DEFAULT_MIN_ANNUAL_VOLUME = 2_000_000


class TenantKind(enum.StrEnum):
    MUNICIPALITY = "municipality"
    PREFECTURE = "prefecture"
    SUPPORT_CENTER = "support_center"


class Role(enum.StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    QUALITY = "quality"
    VIEWER = "viewer"  # read-only staff
    BUYER = "buyer"  # a buyer company's person (portal)
    FACILITY = "facility"  # a facility's person (portal)


STAFF_ROLES = frozenset({Role.ADMIN, Role.COORDINATOR, Role.QUALITY, Role.VIEWER})
WRITE_ROLES = frozenset({Role.ADMIN, Role.COORDINATOR, Role.QUALITY})
PORTAL_ROLES = frozenset({Role.BUYER, Role.FACILITY})
# Roles a member's role can be changed to on the members page (a portal member is linked to a
# company or a facility when invited, so portal roles are only given by invitation).
STAFF_ROLE_ORDER = (Role.ADMIN, Role.COORDINATOR, Role.QUALITY, Role.VIEWER)
# Roles an admin can give by invitation.
INVITABLE_ROLES = (*STAFF_ROLE_ORDER, Role.BUYER, Role.FACILITY)


def portal_link_constraints() -> tuple[Any, ...]:
    """A buyer's person is linked to exactly one buyer company and a facility's person to one
    facility of the same workspace; staff are linked to neither (memberships, invitations)."""
    return (
        tenant_fk("buyer_id", "buyers"),
        tenant_fk("facility_id", "facilities"),
        CheckConstraint("(role = 'buyer') = (buyer_id IS NOT NULL)", name="buyer_link"),
        CheckConstraint("(role = 'facility') = (facility_id IS NOT NULL)", name="facility_link"),
    )


class MembershipStatus(enum.StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"


class Tenant(Base):
    """A workspace: one municipality, prefecture or support center running a program."""

    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("length(prefecture_code) = 2", name="prefecture_code"),
        CheckConstraint("min_annual_volume >= 0", name="min_annual_volume_non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[TenantKind] = mapped_column(str_enum(TenantKind))
    prefecture_code: Mapped[str] = mapped_column(String(2))
    # The seed report's guidance: decline deals that cannot reach this volume a year (yen).
    min_annual_volume: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_MIN_ANNUAL_VOLUME, server_default=str(DEFAULT_MIN_ANNUAL_VOLUME)
    )
    # A municipal workspace lets its prefecture's workspace see its aggregate KPI figures
    # (never its records) in the regional roll-up.
    shares_with_prefecture: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class Membership(TenantScoped, Base):
    """A person's role in one workspace. A person may belong to several workspaces."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"), *portal_link_constraints())

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    status: Mapped[MembershipStatus] = mapped_column(
        str_enum(MembershipStatus), default=MembershipStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The company (role buyer) or facility (role facility) whose portal this person uses.
    buyer_id: Mapped[int | None] = mapped_column(Integer, default=None)
    facility_id: Mapped[int | None] = mapped_column(Integer, default=None)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    # True only on the unsaved stand-in a support agent acts through (tenants.support).
    is_support = False

    @property
    def can_write(self) -> bool:
        return self.status == MembershipStatus.ACTIVE and self.role in WRITE_ROLES

    @property
    def is_admin(self) -> bool:
        return self.status == MembershipStatus.ACTIVE and self.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_buyer(self) -> bool:
        return (
            self.status == MembershipStatus.ACTIVE
            and self.role == Role.BUYER
            and self.buyer_id is not None
        )

    @property
    def is_facility(self) -> bool:
        return (
            self.status == MembershipStatus.ACTIVE
            and self.role == Role.FACILITY
            and self.facility_id is not None
        )


class Invitation(TenantScoped, Base):
    """An e-mailed, signed, expiring, single-use invitation to join a workspace."""

    __tablename__ = "invitations"
    __table_args__ = (
        # Composite keys: an invitation can only point at memberships of its own workspace.
        ForeignKeyConstraint(
            ["tenant_id", "invited_by_id"], ["memberships.tenant_id", "memberships.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "membership_id"], ["memberships.tenant_id", "memberships.id"]
        ),
        *portal_link_constraints(),
    )

    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    invited_by_id: Mapped[int] = mapped_column(Integer)
    membership_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # Portal invitations: the company or facility the new member will be linked to.
    buyer_id: Mapped[int | None] = mapped_column(Integer, default=None)
    facility_id: Mapped[int | None] = mapped_column(Integer, default=None)

    def state(self, now: datetime) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "pending"

    def audit_label(self) -> dict[str, Any]:
        return {"role": self.role.value}
