"""Deals (商談・案件) from lead to won or lost."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.records import Archivable, Timestamps
from tenants.isolation import TenantScoped, tenant_fk
from tenants.models import str_enum


class DealStage(enum.StrEnum):
    LEAD = "lead"  # リード
    HEARING = "hearing"  # ヒアリング
    TRIAL = "trial"  # 見学・トライアル
    QUOTE = "quote"  # 見積
    WON = "won"  # 受注
    LOST = "lost"  # 失注


OPEN_STAGES = (DealStage.LEAD, DealStage.HEARING, DealStage.TRIAL, DealStage.QUOTE)
CLOSED_STAGES = (DealStage.WON, DealStage.LOST)


class PricingBasis(enum.StrEnum):
    HOURLY = "hourly"
    PER_PIECE = "per_piece"


class Deal(TenantScoped, Timestamps, Archivable, Base):
    __tablename__ = "deals"
    __table_args__ = (
        tenant_fk("buyer_id", "buyers"),
        tenant_fk("owner_id", "memberships"),
        tenant_fk("lost_reason_id", "lost_reasons"),
        Index("ix_deals_tenant_stage", "tenant_id", "stage"),
        Index("ix_deals_tenant_buyer", "tenant_id", "buyer_id"),
        Index("ix_deals_tenant_opened", "tenant_id", "opened_on", "id"),
        # Covers the fiscal-year report's reads of deals (no table lookups per deal).
        Index(
            "ix_deals_report",
            "tenant_id",
            "opened_on",
            "stage",
            "closed_on",
            "buyer_id",
            "amount",
            "archived_at",
            "lost_reason_id",
            "furthest_stage",
            "id",
        ),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("monthly_amount >= 0", name="monthly_amount_non_negative"),
        CheckConstraint("expected_months >= 0", name="expected_months_non_negative"),
    )

    buyer_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[DealStage] = mapped_column(str_enum(DealStage), default=DealStage.LEAD)
    # 商談金額 (yen). For a recurring deal: monthly_amount × expected_months.
    amount: Mapped[int] = mapped_column(Integer, default=0)
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    monthly_amount: Mapped[int | None] = mapped_column(Integer, default=None)
    expected_months: Mapped[int | None] = mapped_column(Integer, default=None)
    difficulty_level: Mapped[int | None] = mapped_column(Integer, default=None)
    volume: Mapped[str] = mapped_column(String(100), default="")  # e.g. "5,000個/月"
    pricing_basis: Mapped[PricingBasis | None] = mapped_column(str_enum(PricingBasis), default=None)
    owner_id: Mapped[int | None] = mapped_column(Integer, default=None)  # a membership
    next_action: Mapped[str] = mapped_column(String(200), default="")
    next_action_on: Mapped[date | None] = mapped_column(Date, default=None)
    lost_reason_id: Mapped[int | None] = mapped_column(Integer, default=None)
    lost_comment: Mapped[str] = mapped_column(Text, default="")
    # When the buyer entered the pipeline, and when the deal was won or lost (fiscal-year KPIs).
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date, default=None)
    # The furthest open stage (lead … quote) the deal reached; None when not known (a deal
    # recorded as already won or lost). Conversion rate and win rate by stage read it.
    furthest_stage: Mapped[DealStage | None] = mapped_column(
        Enum(
            DealStage,
            name="deal_furthest_stage",  # its own CHECK name: "dealstage" is the stage's
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        ),
        default=None,
    )


class DealCapability(TenantScoped, Base):
    """A capability the deal's work requires."""

    __tablename__ = "deal_capabilities"
    __table_args__ = (
        tenant_fk("deal_id", "deals"),
        tenant_fk("capability_id", "capabilities"),
        UniqueConstraint("tenant_id", "deal_id", "capability_id"),
    )

    deal_id: Mapped[int] = mapped_column(Integer)
    capability_id: Mapped[int] = mapped_column(Integer)
