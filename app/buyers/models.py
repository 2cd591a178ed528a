"""Buyer companies (発注企業)."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.records import Archivable, Timestamps
from tenants.isolation import TenantScoped


class Buyer(TenantScoped, Timestamps, Archivable, Base):
    __tablename__ = "buyers"
    __table_args__ = (Index("ix_buyers_tenant_name", "tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(120))
    name_kana: Mapped[str] = mapped_column(String(120), default="")
    industry: Mapped[str] = mapped_column(String(60), default="")
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    prefecture_code: Mapped[str] = mapped_column(String(2), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    # The work site (distance to facilities, on-site work); None when not known.
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    website: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # The workspace's own municipality (one of its departments) buying: the 優先調達 figures
    # tell its purchases apart from the partner companies'.
    is_municipality: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
