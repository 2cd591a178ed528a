"""Billing rules over the session: a workspace's standing (plan, state, what it may do), its
limits, subscribing by card or by invoice, and following Stripe's state from webhooks.

No Flask request objects here; views pass the settings, the gateway and the URLs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.billing import rules
from app.billing.gateway import CustomerDetails, StripeGateway, SubscriptionState
from app.billing.models import BillingAccount, BillingEvent, BillingStatus, CollectionMethod
from app.billing.plans import TRIAL, Plan, plan_for_price, plan_named, price_ids
from app.billing.rules import Access, Usage
from app.config import Settings
from app.facilities.models import Facility
from tenants.audit import ACTOR_LABEL_KEY
from tenants.isolation import tenant_scope
from tenants.models import Tenant

log = logging.getLogger(__name__)

STRIPE_ACTOR = "stripe"

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "customer.subscription.trial_will_end",
        "customer.subscription.pending_update_applied",
        "customer.subscription.pending_update_expired",
    }
)
INVOICE_EVENTS = frozenset(
    {
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.payment_succeeded",
        "invoice.payment_action_required",
        "invoice.finalized",
        "invoice.overdue",
        "invoice.marked_uncollectible",
        "invoice.voided",
    }
)
CHECKOUT_EVENTS = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)


class BillingRefused(Exception):
    """A billing request the rules refuse; the message is for the user."""


# --- standing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """Where a workspace stands: what the pages, the write guard and the limits need."""

    enabled: bool
    plan: Plan | None  # None when billing is off: no limits
    status: BillingStatus
    access: Access
    trial_ends_at: datetime
    has_subscription: bool
    account: BillingAccount | None

    @property
    def on_free_trial(self) -> bool:
        return self.enabled and (not self.has_subscription or self.status in rules.NEVER_PAID)

    @property
    def live(self) -> bool:
        return self.has_subscription and self.status in rules.LIVE


def default_trial_end(tenant: Tenant, settings: Settings) -> datetime:
    """A workspace's free trial runs from its creation (until an operator moves it)."""
    return tenant.created_at + timedelta(days=settings.billing_trial_days)


def find_account(session: Session, lock: bool = False) -> BillingAccount | None:
    query = select(BillingAccount)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def ensure_account(session: Session, tenant: Tenant, settings: Settings) -> BillingAccount:
    account = find_account(session)
    if account is None:
        account = BillingAccount(trial_ends_at=default_trial_end(tenant, settings))
        session.add(account)
        session.flush()
    return account


def standing(session: Session, tenant: Tenant, settings: Settings, now: datetime) -> Standing:
    if not settings.billing_enabled:
        return Standing(
            enabled=False,
            plan=None,
            status=BillingStatus.ACTIVE,
            access=Access.FULL,
            trial_ends_at=default_trial_end(tenant, settings),
            has_subscription=False,
            account=None,
        )
    account = find_account(session)
    if account is None:
        status, trial_ends_at, subscribed = BillingStatus.TRIALING, None, False
    else:
        status, trial_ends_at = account.status, account.trial_ends_at
        subscribed = account.stripe_subscription_id is not None
    trial_ends_at = trial_ends_at or default_trial_end(tenant, settings)
    access = rules.access_for(status, subscribed, trial_ends_at, now)
    on_trial = not subscribed or status in rules.NEVER_PAID
    plan = plan_named(TRIAL.code if on_trial or account is None else account.plan)
    return Standing(True, plan, status, access, trial_ends_at, subscribed, account)


# --- limits --------------------------------------------------------------------------------


def facility_usage(session: Session, current: Standing) -> Usage:
    """Facilities in use (archived ones do not count) against the plan's limit."""
    used = session.scalar(
        select(func.count()).select_from(Facility).where(Facility.archived_at.is_(None))
    )
    limit = current.plan.max_facilities if current.plan is not None else None
    return Usage(int(used or 0), limit)


def check_facility_room(session: Session, current: Standing, adding: int = 1) -> None:
    """Raise ``BillingRefused`` when ``adding`` more facilities would pass the plan's limit."""
    if current.plan is None or current.plan.max_facilities is None:
        return
    usage = facility_usage(session, current)
    if not usage.allows(adding):
        raise BillingRefused(
            _(
                "The %(plan)s allows up to %(limit)d facilities and %(used)d are in use, so "
                "%(adding)d more cannot be added. Archive facilities that no longer take part, "
                "or ask an administrator to change the plan.",
                plan=current.plan.name,
                limit=usage.limit or 0,
                used=usage.used,
                adding=adding,
            )
        )


# --- details on the invoice ----------------------------------------------------------------


def _details(account: BillingAccount, tenant: Tenant) -> CustomerDetails:
    return CustomerDetails(
        name=account.invoice_addressee or tenant.name,
        email=account.invoice_email,
        registration_number=account.registration_number,
    )


def save_invoice_details(
    session: Session,
    tenant: Tenant,
    settings: Settings,
    gateway: StripeGateway | None,
    *,
    addressee: str,
    email: str,
    registration_number: str,
) -> BillingAccount:
    """Store the addressee, e-mail and registration number; Stripe's customer follows, so the
    next invoice carries them. Raises ``StripeUnavailable`` (caller rolls back) if Stripe
    cannot be told."""
    account = ensure_account(session, tenant, settings)
    account.invoice_addressee = addressee
    account.invoice_email = email
    account.registration_number = registration_number
    session.flush()
    if gateway is not None and account.stripe_customer_id:
        gateway.update_customer(account.stripe_customer_id, _details(account, tenant))
    return account


def customer_for(
    session: Session, tenant: Tenant, account: BillingAccount, gateway: StripeGateway
) -> str:
    if account.stripe_customer_id is None:
        account.stripe_customer_id = gateway.create_customer(
            tenant.id, tenant.slug, _details(account, tenant)
        )
        session.flush()
    return account.stripe_customer_id


# --- subscribing ---------------------------------------------------------------------------


def _price_or_refuse(settings: Settings, plan_code: str) -> tuple[Plan, str]:
    plan = plan_named(plan_code)
    price = price_ids(settings).get(plan_code)
    if plan is None or not plan.paid or not price:
        raise BillingRefused(_("This plan cannot be chosen at the moment."))
    return plan, price


def _refuse_second_subscription(current: Standing) -> None:
    if current.live:
        raise BillingRefused(
            _(
                "This workspace already has a subscription. Change the plan or the payment "
                "method in the customer portal."
            )
        )


def _trial_end_for_stripe(account: BillingAccount, now: datetime) -> int | None:
    # Only a first subscription keeps what is left of the free trial.
    if account.stripe_subscription_id is not None:
        return None
    return rules.stripe_trial_end(account.trial_ends_at, now)


def start_card_checkout(
    session: Session,
    tenant: Tenant,
    settings: Settings,
    gateway: StripeGateway,
    *,
    plan_code: str,
    success_url: str,
    cancel_url: str,
    now: datetime,
) -> str:
    """The Stripe Checkout URL to pay the plan by card. The caller commits (the customer id
    must be stored before Stripe's webhooks about it arrive)."""
    _plan, price = _price_or_refuse(settings, plan_code)
    current = standing(session, tenant, settings, now)
    _refuse_second_subscription(current)
    account = ensure_account(session, tenant, settings)
    customer = customer_for(session, tenant, account, gateway)
    return gateway.checkout_url(
        tenant_id=tenant.id,
        customer_id=customer,
        price_id=price,
        success_url=success_url,
        cancel_url=cancel_url,
        trial_end=_trial_end_for_stripe(account, now),
    )


def subscribe_by_invoice(
    session: Session,
    tenant: Tenant,
    settings: Settings,
    gateway: StripeGateway,
    *,
    plan_code: str,
    now: datetime,
) -> BillingAccount:
    """請求書払い: a subscription whose invoices Stripe e-mails to the invoice address, paid by
    bank transfer to the customer's own virtual account within the days allowed."""
    _plan, price = _price_or_refuse(settings, plan_code)
    current = standing(session, tenant, settings, now)
    _refuse_second_subscription(current)
    account = ensure_account(session, tenant, settings)
    if not account.invoice_addressee or not account.invoice_email:
        raise BillingRefused(
            _("Enter the invoice addressee and the e-mail address for invoices first.")
        )
    customer = customer_for(session, tenant, account, gateway)
    state = gateway.subscribe_by_invoice(
        tenant_id=tenant.id,
        customer_id=customer,
        price_id=price,
        days_until_due=settings.invoice_days_until_due,
        trial_end=_trial_end_for_stripe(account, now),
        # The same form sent twice the same day makes one subscription.
        idempotency_key=(
            f"renkei-invoice-{tenant.id}-{plan_code}-"
            f"{account.stripe_subscription_id or 'first'}-{now.date().isoformat()}"
        ),
    )
    follow(account, state, settings, now)
    return account


# --- following Stripe ----------------------------------------------------------------------


def follow(
    account: BillingAccount, state: SubscriptionState, settings: Settings, now: datetime
) -> bool:
    """Take the account's state from Stripe's current subscription; False if not followed."""
    status = rules.status_from_stripe(state.status)
    if status is None:
        log.warning("subscription %s has an unknown status %r", state.id, state.status)
        return False
    if not rules.should_follow(
        account.stripe_subscription_id,
        account.status,
        account.subscription_created_at,
        state.id,
        status,
        state.created,
    ):
        return False
    account.stripe_subscription_id = state.id
    account.subscription_created_at = state.created
    account.status = status
    plan = plan_for_price(settings, state.price_id)
    if plan is not None:
        account.plan = plan.code
    else:
        log.warning("subscription %s bills an unknown price %s", state.id, state.price_id)
    account.current_period_end = state.current_period_end
    account.cancel_at_period_end = state.cancel_at_period_end
    account.ended_at = state.ended_at
    try:
        account.collection_method = CollectionMethod(state.collection_method or "")
    except ValueError:
        account.collection_method = None
    account.synced_at = now
    return True


def sync_subscription(
    session: Session,
    settings: Settings,
    gateway: StripeGateway,
    subscription_id: str,
    now: datetime,
) -> bool:
    """Re-read one subscription of the session's workspace from Stripe and follow it."""
    account = find_account(session, lock=True)
    if account is None or account.stripe_customer_id is None:
        return False
    state = gateway.subscription(subscription_id)
    if state.customer_id != account.stripe_customer_id:
        return False
    return follow(account, state, settings, now)


def sync_checkout(
    session: Session, settings: Settings, gateway: StripeGateway, session_id: str, now: datetime
) -> bool:
    """After Checkout sends the admin back: follow the subscription it made, if any."""
    account = find_account(session)
    if account is None or account.stripe_customer_id is None:
        return False
    subscription_id, customer_id = gateway.checkout_subscription_id(session_id)
    if subscription_id is None or customer_id != account.stripe_customer_id:
        return False
    return sync_subscription(session, settings, gateway, subscription_id, now)


def refresh(session: Session, settings: Settings, gateway: StripeGateway, now: datetime) -> bool:
    account = find_account(session)
    if account is None or account.stripe_subscription_id is None:
        return False
    return sync_subscription(session, settings, gateway, account.stripe_subscription_id, now)


def _object_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


@dataclass(frozen=True)
class _EventTarget:
    event_id: str
    event_type: str
    object_id: str
    customer_id: str


def _event_target(event: dict[str, Any]) -> _EventTarget | None:
    """Which object and customer an event is about, or None for events billing ignores."""
    event_id, event_type = str(event.get("id") or ""), str(event.get("type") or "")
    if event_type not in SUBSCRIPTION_EVENTS | INVOICE_EVENTS | CHECKOUT_EVENTS:
        return None
    obj = (event.get("data") or {}).get("object") or {}
    object_id, customer_id = _object_id(obj), _object_id(obj.get("customer"))
    if not event_id or object_id is None or customer_id is None:
        return None
    return _EventTarget(event_id, event_type, object_id, customer_id)


def handle_event(
    session: Session,
    settings: Settings,
    gateway: StripeGateway,
    event: dict[str, Any],
    now: datetime,
) -> str:
    """Apply one verified Stripe event; returns what happened (for the response and the log).

    The event only says *which* subscription to look at: its state is read from Stripe now,
    so events arriving late or out of order cannot set an old state. The event id is stored
    in the same transaction as the change; a redelivered event finds it and changes nothing.
    """
    target = _event_target(event)
    if target is None:
        return "ignored"
    tenant_id = gateway.customer_tenant(target.customer_id)
    if tenant_id is None:
        return "unknown customer"
    session.info[ACTOR_LABEL_KEY] = STRIPE_ACTOR
    try:
        with tenant_scope(session, tenant_id):
            outcome = _apply_event(session, settings, gateway, target, now)
            if outcome in ("applied", "recorded"):
                session.commit()
            else:
                session.rollback()
    except IntegrityError:
        session.rollback()  # the same event, applied a moment ago by a parallel delivery
        outcome = "duplicate"
    finally:
        session.info.pop(ACTOR_LABEL_KEY, None)
    return outcome


def _apply_event(
    session: Session,
    settings: Settings,
    gateway: StripeGateway,
    target: _EventTarget,
    now: datetime,
) -> str:
    account = find_account(session, lock=True)  # one event of a workspace at a time
    if account is None or account.stripe_customer_id != target.customer_id:
        return "unknown customer"
    seen = session.scalar(
        select(BillingEvent.id).where(BillingEvent.stripe_event_id == target.event_id)
    )
    if seen is not None:
        return "duplicate"
    session.add(
        BillingEvent(
            stripe_event_id=target.event_id,
            event_type=target.event_type,
            object_id=target.object_id,
        )
    )
    subscription_id = _subscription_of(gateway, target.event_type, target.object_id)
    if subscription_id is None:
        return "recorded"
    state = gateway.subscription(subscription_id)
    if state.customer_id != target.customer_id:
        return "recorded"
    return "applied" if follow(account, state, settings, now) else "recorded"


def _subscription_of(gateway: StripeGateway, event_type: str, object_id: str) -> str | None:
    if event_type in SUBSCRIPTION_EVENTS:
        return object_id
    if event_type in INVOICE_EVENTS:
        return gateway.invoice_subscription_id(object_id)[0]
    return gateway.checkout_subscription_id(object_id)[0]


# --- operators -----------------------------------------------------------------------------


def set_trial(
    session: Session, tenant: Tenant, settings: Settings, ends_at: datetime
) -> BillingAccount:
    """Move a workspace's free-trial end (an operator's command)."""
    with tenant_scope(session, tenant.id):
        account = ensure_account(session, tenant, settings)
        account.trial_ends_at = ends_at
        session.flush()
    return account
