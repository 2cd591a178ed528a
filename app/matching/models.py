"""What matching stores: the work package of an order or a deal's trial (its spec), the
buyers' exclusions, confirmed assignments and the workspace's weights."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.records import Timestamps
from tenants.isolation import TenantScoped, tenant_fk
from tenants.models import str_enum


class WorkUnit(enum.StrEnum):
    HOURS = "hours"
    PIECES = "pieces"


class WorkSpec(TenantScoped, Timestamps, Base):
    """The work of an order (per month) or of a deal's trial (once), as matching needs it."""

    __tablename__ = "work_specs"
    __table_args__ = (
        tenant_fk("order_id", "orders"),
        tenant_fk("deal_id", "deals"),
        UniqueConstraint("tenant_id", "order_id"),
        UniqueConstraint("tenant_id", "deal_id"),
        CheckConstraint("(order_id IS NULL) <> (deal_id IS NULL)", name="exactly_one_subject"),
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        CheckConstraint("hours_per_unit > 0", name="hours_per_unit_positive"),
        CheckConstraint("min_lot >= 0", name="min_lot_non_negative"),
        CheckConstraint("max_distance_km >= 0", name="max_distance_non_negative"),
    )

    order_id: Mapped[int | None] = mapped_column(Integer, default=None)
    deal_id: Mapped[int | None] = mapped_column(Integer, default=None)
    unit: Mapped[WorkUnit] = mapped_column(str_enum(WorkUnit), default=WorkUnit.HOURS)
    # An order: quantity per month. A deal: the trial's quantity, in ``trial_month``.
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    hours_per_unit: Mapped[float] = mapped_column(Float, default=1.0)
    difficulty_level: Mapped[int | None] = mapped_column(Integer, default=None)
    needs_pc: Mapped[bool] = mapped_column(Boolean, default=False)
    on_site: Mapped[bool] = mapped_column(Boolean, default=False)
    max_distance_km: Mapped[int | None] = mapped_column(Integer, default=None)
    # The smallest share worth handing to one facility (same unit as quantity).
    min_lot: Mapped[int] = mapped_column(Integer, default=0)
    trial_month: Mapped[date | None] = mapped_column(Date, default=None)


class WorkSpecCapability(TenantScoped, Base):
    """A capability the work needs, with the minimum proficiency (1 basic – 3 expert)."""

    __tablename__ = "work_spec_capabilities"
    __table_args__ = (
        tenant_fk("spec_id", "work_specs"),
        tenant_fk("capability_id", "capabilities"),
        UniqueConstraint("tenant_id", "spec_id", "capability_id"),
        CheckConstraint("min_proficiency BETWEEN 1 AND 3", name="proficiency_range"),
    )

    spec_id: Mapped[int] = mapped_column(Integer)
    capability_id: Mapped[int] = mapped_column(Integer)
    min_proficiency: Mapped[int] = mapped_column(Integer, default=1)


class BuyerExclusion(TenantScoped, Base):
    """A facility the buyer does not want on its work (a hard constraint of matching)."""

    __tablename__ = "buyer_exclusions"
    __table_args__ = (
        tenant_fk("buyer_id", "buyers"),
        tenant_fk("facility_id", "facilities"),
        UniqueConstraint("tenant_id", "buyer_id", "facility_id"),
    )

    buyer_id: Mapped[int] = mapped_column(Integer)
    facility_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assignment(TenantScoped, Base):
    """Confirmed work: a facility takes ``quantity`` (the spec's unit) of an order's month or
    of a deal's trial. ``score`` keeps the engine's reasons as they were when confirmed."""

    __tablename__ = "assignments"
    __table_args__ = (
        tenant_fk("order_id", "orders"),
        tenant_fk("deal_id", "deals"),
        tenant_fk("facility_id", "facilities"),
        tenant_fk("confirmed_by_id", "memberships"),
        CheckConstraint("(order_id IS NULL) <> (deal_id IS NULL)", name="exactly_one_subject"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("hours >= 0", name="hours_non_negative"),
        Index("ix_assignments_facility_month", "tenant_id", "facility_id", "month"),
        Index("ix_assignments_order_month", "tenant_id", "order_id", "month"),
        Index("ix_assignments_deal", "tenant_id", "deal_id"),
        Index("ix_assignments_month", "tenant_id", "month"),
        # Covers the fiscal-year report's sums of assigned work by facility and by order.
        Index(
            "ix_assignments_report",
            "tenant_id",
            "month",
            "facility_id",
            "order_id",
            "hours",
            "quantity",
        ),
    )

    order_id: Mapped[int | None] = mapped_column(Integer, default=None)
    deal_id: Mapped[int | None] = mapped_column(Integer, default=None)
    facility_id: Mapped[int] = mapped_column(Integer)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    quantity: Mapped[float] = mapped_column(Float)
    hours: Mapped[float] = mapped_column(Float)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(Integer, default=None)


class MatchingSettings(TenantScoped, Base):
    """The workspace's weights of the matching objective (defaults: ``Weights()``)."""

    __tablename__ = "matching_settings"
    __table_args__ = (
        UniqueConstraint("tenant_id", name="uq_matching_settings_tenant"),
        CheckConstraint(
            "distance >= 0 AND quality >= 0 AND wage_uplift >= 0 AND idle_bonus >= 0 "
            "AND concentration >= 0",
            name="weights_non_negative",
        ),
    )

    distance: Mapped[float] = mapped_column(Float, default=1.0)
    quality: Mapped[float] = mapped_column(Float, default=1.0)
    wage_uplift: Mapped[float] = mapped_column(Float, default=1.0)
    idle_bonus: Mapped[float] = mapped_column(Float, default=5.0)
    concentration: Mapped[float] = mapped_column(Float, default=0.25)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
