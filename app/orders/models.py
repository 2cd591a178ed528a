"""Orders won from buyers, deliveries with original and revised due dates, and per-month
amounts: the buyer's forecast (発注予測) next to what was actually placed."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.records import Archivable, Timestamps
from tenants.isolation import TenantScoped, tenant_fk
from tenants.models import str_enum


class OrderStatus(enum.StrEnum):
    CONFIRMED = "confirmed"  # 受注確定
    IN_PROGRESS = "in_progress"  # 作業中
    DELIVERED = "delivered"  # 納品済
    CLOSED = "closed"  # 完了
    CANCELLED = "cancelled"  # 取消


class Order(TenantScoped, Timestamps, Archivable, Base):
    __tablename__ = "orders"
    __table_args__ = (
        tenant_fk("buyer_id", "buyers"),
        tenant_fk("deal_id", "deals"),
        tenant_fk("agreement_id", "agreements"),
        UniqueConstraint("tenant_id", "deal_id"),
        # A buyer's orders by day: "had it ordered before this year?" stops at the first.
        Index("ix_orders_tenant_buyer_confirmed", "tenant_id", "buyer_id", "confirmed_on"),
        Index("ix_orders_tenant_status", "tenant_id", "status"),
        Index("ix_orders_tenant_confirmed", "tenant_id", "confirmed_on", "id"),
        # Covers the fiscal-year report's assignment lead times (orders of the year).
        Index(
            "ix_orders_report", "tenant_id", "confirmed_on", "assigned_on", "status", "archived_at"
        ),
    )

    buyer_id: Mapped[int] = mapped_column(Integer)
    deal_id: Mapped[int | None] = mapped_column(Integer, default=None)
    agreement_id: Mapped[int | None] = mapped_column(Integer, default=None)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[OrderStatus] = mapped_column(
        str_enum(OrderStatus), default=OrderStatus.CONFIRMED
    )
    confirmed_on: Mapped[date] = mapped_column(Date)
    starts_on: Mapped[date | None] = mapped_column(Date, default=None)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    # The day work was first assigned to facilities (assignment lead time = this − confirmed_on).
    assigned_on: Mapped[date | None] = mapped_column(Date, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")


class DeliveryStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PRODUCTION = "in_production"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


# Lots not delivered yet (the dashboard's overdue lots), and the same as SQL for the partial
# index below and its migration.
OPEN_LOT_STATUSES = (DeliveryStatus.PLANNED, DeliveryStatus.IN_PRODUCTION)
OPEN_LOT_CONDITION = "status IN ({})".format(", ".join(f"'{s}'" for s in OPEN_LOT_STATUSES))


class Delivery(TenantScoped, Timestamps, Base):
    """A delivery lot of an order. The original due date is kept when the date moves."""

    __tablename__ = "deliveries"
    __table_args__ = (
        tenant_fk("order_id", "orders"),
        UniqueConstraint("tenant_id", "order_id", "lot_no"),
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        # The dashboard's overdue lots: lots not yet delivered, by the day they are due.
        Index(
            "ix_deliveries_open_due",
            "tenant_id",
            text("coalesce(revised_due_on, original_due_on)"),
            "id",
            postgresql_where=text(OPEN_LOT_CONDITION),
            sqlite_where=text(OPEN_LOT_CONDITION),
        ),
        # Covers the fiscal-year report's on-time counts (lots of the year by due day).
        Index(
            "ix_deliveries_report",
            "tenant_id",
            "original_due_on",
            "order_id",
            "status",
            "delivered_on",
            "revised_due_on",
        ),
    )

    order_id: Mapped[int] = mapped_column(Integer)
    lot_no: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    original_due_on: Mapped[date] = mapped_column(Date)
    revised_due_on: Mapped[date | None] = mapped_column(Date, default=None)
    delivered_on: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), default=DeliveryStatus.PLANNED
    )

    @property
    def due_on(self) -> date:
        return self.revised_due_on or self.original_due_on


class OrderMonth(TenantScoped, Base):
    """One month of an order: the buyer's forecast and the amount actually placed (yen)."""

    __tablename__ = "order_months"
    __table_args__ = (
        tenant_fk("order_id", "orders"),
        UniqueConstraint("tenant_id", "order_id", "month"),
        CheckConstraint("forecast_amount >= 0", name="forecast_non_negative"),
        CheckConstraint("actual_amount >= 0", name="actual_non_negative"),
        Index("ix_order_months_tenant_month", "tenant_id", "month"),
        # Covers the fiscal-year report's monthly sums (no table lookups per month row).
        Index(
            "ix_order_months_report",
            "tenant_id",
            "month",
            "order_id",
            "actual_amount",
            "forecast_amount",
        ),
    )

    order_id: Mapped[int] = mapped_column(Integer)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    forecast_amount: Mapped[int | None] = mapped_column(Integer, default=None)
    forecast_submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    actual_amount: Mapped[int | None] = mapped_column(Integer, default=None)

    @property
    def gap(self) -> int | None:
        if self.forecast_amount is None or self.actual_amount is None:
            return None
        return self.actual_amount - self.forecast_amount
