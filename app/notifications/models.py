"""A notification: to a facility (its people read it in the facility portal, and its contact
address gets a mail) or to one member of the workspace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from tenants.isolation import TenantScoped, tenant_fk


class Notification(TenantScoped, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        tenant_fk("facility_id", "facilities"),
        tenant_fk("membership_id", "memberships"),
        CheckConstraint(
            "(facility_id IS NULL) <> (membership_id IS NULL)", name="exactly_one_recipient"
        ),
        Index("ix_notifications_facility", "tenant_id", "facility_id", "created_at"),
        Index("ix_notifications_membership", "tenant_id", "membership_id", "created_at"),
    )

    facility_id: Mapped[int | None] = mapped_column(Integer, default=None)
    membership_id: Mapped[int | None] = mapped_column(Integer, default=None)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. "assignment"
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")  # a path inside the app
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    emailed_to: Mapped[str] = mapped_column(String(254), default="")
    read_at: Mapped[datetime | None] = mapped_column(default=None)
