"""Timeline entries: the one place where sales and production see the same facts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from tenants.isolation import TenantScoped, tenant_fk
from tenants.models import str_enum


class EntryKind(enum.StrEnum):
    NOTE = "note"
    DECISION = "decision"
    CHANGE = "change"  # written by the system when a record changes (stage, due date, ...)


class TimelineEntry(TenantScoped, Base):
    __tablename__ = "timeline_entries"
    __table_args__ = (
        tenant_fk("deal_id", "deals"),
        tenant_fk("order_id", "orders"),
        CheckConstraint("(deal_id IS NULL) <> (order_id IS NULL)", name="exactly_one_subject"),
        Index("ix_timeline_deal", "tenant_id", "deal_id", "at"),
        Index("ix_timeline_order", "tenant_id", "order_id", "at"),
    )

    deal_id: Mapped[int | None] = mapped_column(Integer, default=None)
    order_id: Mapped[int | None] = mapped_column(Integer, default=None)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind), default=EntryKind.NOTE)
    body: Mapped[str] = mapped_column(Text)
    # Internal entries are never shown to the buyer's people (portal).
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
