"""Agreements between the workspace and a buyer, their action plans and service scope."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
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


class AgreementKind(enum.StrEnum):
    COMPREHENSIVE = "comprehensive"  # 包括連携協定
    OUTSOURCING = "outsourcing"  # 業務委託契約
    INDIVIDUAL = "individual"  # 個別契約


class Agreement(TenantScoped, Timestamps, Archivable, Base):
    __tablename__ = "agreements"
    __table_args__ = (
        tenant_fk("buyer_id", "buyers"),
        CheckConstraint(
            "forecast_deadline_day IS NULL OR forecast_deadline_day BETWEEN 1 AND 28",
            name="forecast_deadline_day_range",
        ),
        CheckConstraint("free_onsite_visits_per_year >= 0", name="free_visits_non_negative"),
        CheckConstraint("onsite_rate_yen >= 0", name="onsite_rate_non_negative"),
    )

    buyer_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AgreementKind] = mapped_column(str_enum(AgreementKind))
    fields_of_collaboration: Mapped[str] = mapped_column(Text, default="")
    signed_on: Mapped[date | None] = mapped_column(Date, default=None)
    starts_on: Mapped[date | None] = mapped_column(Date, default=None)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    renewal_on: Mapped[date | None] = mapped_column(Date, default=None)
    remind_days_before_renewal: Mapped[int] = mapped_column(Integer, default=60)
    price_review_at_renewal: Mapped[bool] = mapped_column(Boolean, default=False)
    # Service scope: technical support / engineer dispatch (技術支援・技術者派遣).
    remote_support_first: Mapped[bool | None] = mapped_column(Boolean, default=None)
    free_onsite_visits_per_year: Mapped[int | None] = mapped_column(Integer, default=None)
    onsite_rate_yen: Mapped[int | None] = mapped_column(Integer, default=None)
    response_time_hours: Mapped[int | None] = mapped_column(Integer, default=None)
    # Whether engineer dispatch to the buyer's site is part of the agreement at all (free
    # visits, paid at the rate); "no" makes every on-site request out of scope.
    onsite_support_included: Mapped[bool | None] = mapped_column(Boolean, default=None)
    support_scope_notes: Mapped[str] = mapped_column(Text, default="")  # what support covers
    # Quality terms.
    inspection_level: Mapped[str] = mapped_column(String(100), default="")
    acceptance_criteria: Mapped[str] = mapped_column(Text, default="")
    minimum_commitment_months: Mapped[int | None] = mapped_column(Integer, default=None)
    forecast_deadline_day: Mapped[int | None] = mapped_column(Integer, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")

    @property
    def has_scope_terms(self) -> bool:
        return any(
            value not in (None, "")
            for value in (
                self.remote_support_first,
                self.free_onsite_visits_per_year,
                self.onsite_rate_yen,
                self.response_time_hours,
                self.onsite_support_included,
                self.support_scope_notes,
                self.inspection_level,
                self.acceptance_criteria,
            )
        )


class AgreementGoal(TenantScoped, Base):
    """An agreement's link to a goal of the comprehensive plan (総合計画)."""

    __tablename__ = "agreement_goals"
    __table_args__ = (
        tenant_fk("agreement_id", "agreements"),
        tenant_fk("goal_id", "plan_goals"),
        UniqueConstraint("tenant_id", "agreement_id", "goal_id"),
    )

    agreement_id: Mapped[int] = mapped_column(Integer)
    goal_id: Mapped[int] = mapped_column(Integer)


class ActionStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    ON_HOLD = "on_hold"


class ActionItem(TenantScoped, Timestamps, Base):
    """One item of an agreement's action plan (アクションプラン)."""

    __tablename__ = "action_items"
    __table_args__ = (
        tenant_fk("agreement_id", "agreements"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
    )

    agreement_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(100), default="")
    due_on: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[ActionStatus] = mapped_column(
        str_enum(ActionStatus), default=ActionStatus.PLANNED
    )
    kpi: Mapped[str] = mapped_column(String(200), default="")
    progress: Mapped[int] = mapped_column(Integer, default=0)
