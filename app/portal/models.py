"""What the portals store beyond the records they show: a buyer's decision on a quote."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from tenants.isolation import TenantScoped, tenant_fk
from tenants.models import str_enum


class QuoteAnswer(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"


class QuoteDecision(TenantScoped, Base):
    """The buyer's answer to a deal's quote (the deal in stage quote with its amount).

    ``amount`` is the quoted amount the answer was given to: when the coordinator changes the
    amount, the new quote waits for a new answer. The stage itself stays the coordinator's.
    """

    __tablename__ = "quote_decisions"
    __table_args__ = (
        tenant_fk("deal_id", "deals"),
        tenant_fk("membership_id", "memberships"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        Index("ix_quote_decisions_deal", "tenant_id", "deal_id", "decided_at"),
    )

    deal_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)
    answer: Mapped[QuoteAnswer] = mapped_column(str_enum(QuoteAnswer))
    comment: Mapped[str] = mapped_column(Text, default="")
    membership_id: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
