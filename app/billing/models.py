"""A workspace's billing account (plan, subscription state, invoice details) and the Stripe
events already applied to it.

Both tables are tenant-owned: the account is read on every workspace request when billing is
on, and a webhook acts inside the workspace the Stripe customer belongs to.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.records import Timestamps
from tenants.isolation import TenantScoped
from tenants.models import str_enum


class BillingStatus(enum.StrEnum):
    """Stripe's subscription statuses; TRIALING without a subscription is our own trial."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    PAUSED = "paused"


class CollectionMethod(enum.StrEnum):
    CARD = "charge_automatically"  # Stripe Checkout, card charged automatically
    INVOICE = "send_invoice"  # 請求書払い: invoice sent, paid by bank transfer


class BillingAccount(TenantScoped, Timestamps, Base):
    __tablename__ = "billing_accounts"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    plan: Mapped[str] = mapped_column(String(32), default="trial")
    status: Mapped[BillingStatus] = mapped_column(
        str_enum(BillingStatus), default=BillingStatus.TRIALING
    )
    trial_ends_at: Mapped[datetime] = mapped_column()
    current_period_end: Mapped[datetime | None] = mapped_column(default=None)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    collection_method: Mapped[CollectionMethod | None] = mapped_column(
        str_enum(CollectionMethod), default=None
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), default=None)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), default=None)
    subscription_created_at: Mapped[datetime | None] = mapped_column(default=None)
    # What the invoice says: the addressee (宛名), where it is e-mailed, and the workspace's
    # qualified-invoice registration number (T + 13 digits), also sent to Stripe as a tax ID.
    invoice_addressee: Mapped[str] = mapped_column(String(200), default="")
    invoice_email: Mapped[str] = mapped_column(String(254), default="")
    registration_number: Mapped[str] = mapped_column(String(14), default="")
    synced_at: Mapped[datetime | None] = mapped_column(default=None)


class BillingEvent(TenantScoped, Base):
    """A Stripe event applied to the workspace. The unique key makes a redelivery a no-op:
    the row is written in the same transaction as the event's effect."""

    __tablename__ = "billing_events"
    __table_args__ = (UniqueConstraint("tenant_id", "stripe_event_id"),)

    stripe_event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(255), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
