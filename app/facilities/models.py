"""Facilities (事業所) and what they can do."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
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


class FacilityKind(enum.StrEnum):
    TYPE_A = "type_a"  # 就労継続支援A型
    TYPE_B = "type_b"  # 就労継続支援B型
    LIFE_CARE = "life_care"  # 生活介護
    MANUFACTURER = "manufacturer"  # 協力企業
    OTHER = "other"


class FacilityStatus(enum.StrEnum):
    PARTICIPATING = "participating"
    PAUSED = "paused"
    LEFT = "left"


class Facility(TenantScoped, Timestamps, Archivable, Base):
    __tablename__ = "facilities"
    __table_args__ = (
        Index("ix_facilities_tenant_name", "tenant_id", "name"),
        CheckConstraint("workers >= 0", name="workers_non_negative"),
        CheckConstraint("hours_per_month >= 0", name="hours_non_negative"),
        CheckConstraint("avg_monthly_wage >= 0", name="wage_non_negative"),
    )

    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[FacilityKind] = mapped_column(str_enum(FacilityKind))
    status: Mapped[FacilityStatus] = mapped_column(
        str_enum(FacilityStatus), default=FacilityStatus.PARTICIPATING
    )
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    prefecture_code: Mapped[str] = mapped_column(String(2), default="")
    municipality: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    equipment: Mapped[str] = mapped_column(Text, default="")
    certifications: Mapped[str] = mapped_column(Text, default="")
    # The highest level of the workspace's difficulty scale it takes (None: not assessed yet).
    max_difficulty: Mapped[int | None] = mapped_column(Integer, default=None)
    workers: Mapped[int] = mapped_column(Integer, default=0)
    hours_per_month: Mapped[int] = mapped_column(Integer, default=0)
    pc_experience: Mapped[bool] = mapped_column(Boolean, default=False)
    # Average monthly wage per worker (工賃, yen), the latest figure; history in FacilityWage.
    avg_monthly_wage: Mapped[int] = mapped_column(Integer, default=0)
    participating_since: Mapped[date | None] = mapped_column(Date, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")


class FacilityCapability(TenantScoped, Base):
    """A capability a facility has, with its proficiency (1 basic – 3 expert)."""

    __tablename__ = "facility_capabilities"
    __table_args__ = (
        tenant_fk("facility_id", "facilities"),
        tenant_fk("capability_id", "capabilities"),
        UniqueConstraint("tenant_id", "facility_id", "capability_id"),
        CheckConstraint("proficiency BETWEEN 1 AND 3", name="proficiency_range"),
    )

    facility_id: Mapped[int] = mapped_column(Integer)
    capability_id: Mapped[int] = mapped_column(Integer)
    proficiency: Mapped[int] = mapped_column(Integer, default=1)


class FacilityWage(TenantScoped, Base):
    """Average monthly wage per worker in one fiscal year (the KPI of wage uplift)."""

    __tablename__ = "facility_wages"
    __table_args__ = (
        tenant_fk("facility_id", "facilities"),
        UniqueConstraint("tenant_id", "facility_id", "fiscal_year"),
        CheckConstraint("avg_monthly_wage >= 0", name="wage_non_negative"),
    )

    facility_id: Mapped[int] = mapped_column(Integer)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    avg_monthly_wage: Mapped[int] = mapped_column(Integer)
    workers: Mapped[int | None] = mapped_column(Integer, default=None)
