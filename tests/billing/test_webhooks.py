"""Stripe's webhook: signatures verified by Stripe's library on the raw body, each event
applied once (its id stored with its effect), the state always re-read from Stripe so that
late, replayed or out-of-order events cannot set an old state, and 2xx as soon as it is done."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from app.billing.models import BillingEvent, BillingStatus, CollectionMethod
from tenants.audit import AuditEvent
from tests.billing.conftest import WEBHOOK_SECRET, WEBHOOK_URL, event, signature


@pytest.fixture
def subscription(stripe_fake, customer) -> str:
    """An active invoice-paid subscription of alpha's customer, not yet known to Renkei."""
    created = stripe_fake.make_subscription(
        customer=customer,
        price="price_municipal",
        collection_method="send_invoice",
        metadata={},
        days_until_due=30,
    )
    return str(created["id"])


def events_stored(read) -> list[str]:
    return read(lambda s: list(s.scalars(select(BillingEvent.stripe_event_id))))


def subscription_event(stripe_fake, subscription_id, event_type, event_id, **payload_changes):
    obj = dict(stripe_fake.subscriptions[subscription_id]) | payload_changes
    return event(event_type, obj, event_id)


# --- signatures ----------------------------------------------------------------------------------


def test_a_signed_event_is_applied(deliver, stripe_fake, subscription, customer, account_of, read):
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_1"
    )
    response = deliver(payload)
    assert response.status_code == 200
    assert response.json == {"received": True, "outcome": "applied"}
    account = account_of()
    assert account.stripe_subscription_id == subscription
    assert account.status == BillingStatus.ACTIVE
    assert account.plan == "municipal"
    assert account.collection_method == CollectionMethod.INVOICE
    assert account.current_period_end is not None
    assert events_stored(read) == ["evt_1"]


def test_tampered_body_is_refused(deliver, stripe_fake, subscription, account_of, read):
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_1"
    )
    header = signature(payload)
    tampered = payload.replace('"active"', '"trialing"')
    assert tampered != payload
    assert deliver(tampered, header).status_code == 400
    assert account_of().stripe_subscription_id is None
    assert events_stored(read) == []


def test_wrong_secret_is_refused(deliver, stripe_fake, subscription, account_of):
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_1"
    )
    assert deliver(payload, signature(payload, secret="whsec_someone_else")).status_code == 400
    assert account_of().stripe_subscription_id is None


def test_stale_timestamp_is_refused(deliver, stripe_fake, subscription, account_of):
    """A correctly signed event captured and sent again later than Stripe's 5-minute window."""
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_1"
    )
    stale = signature(payload, timestamp=int(time.time()) - 301)
    assert deliver(payload, stale).status_code == 400
    assert account_of().stripe_subscription_id is None
    fresh_enough = signature(payload, timestamp=int(time.time()) - 200)
    assert deliver(payload, fresh_enough).status_code == 200


@pytest.mark.parametrize("header", ["", "t=1,v0=abc", "garbage", "v1=deadbeef"])
def test_missing_or_malformed_signature_is_refused(deliver, stripe_fake, subscription, header):
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_1"
    )
    assert deliver(payload, header).status_code == 400


def test_no_signature_header_is_refused(client, stripe_fake, subscription):
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_1"
    )
    response = client.post(WEBHOOK_URL, data=payload, content_type="application/json", csrf=False)
    assert response.status_code == 400


def test_signed_body_that_is_not_json_is_refused(deliver):
    assert deliver("not json at all").status_code == 400


def test_rotated_secrets_both_sign(deliver, stripe_fake, subscription):
    """During a secret roll Stripe sends two v1 signatures; ours is one of them."""
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_1"
    )
    t = int(time.time())
    ours = signature(payload, timestamp=t).split(",")[1]
    other = signature(payload, secret="whsec_old", timestamp=t).split(",")[1]
    assert deliver(payload, f"t={t},{other},{ours}").status_code == 200


def test_no_session_and_no_csrf_token_needed(client, stripe_fake, subscription):
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_1"
    )
    response = client.post(
        WEBHOOK_URL,
        data=payload,
        headers={"Stripe-Signature": signature(payload, WEBHOOK_SECRET)},
        content_type="application/json",
        csrf=False,
    )
    assert response.status_code == 200


# --- once, and from Stripe's current state -------------------------------------------------------


def test_replayed_event_is_a_no_op(deliver, stripe_fake, subscription, account_of, read):
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_1"
    )
    assert deliver(payload).json["outcome"] == "applied"
    audit_rows = read(lambda s: s.scalar(select(func.count()).select_from(AuditEvent)))
    # Stripe changes state without telling us yet; the replay must not pick it up.
    stripe_fake.update(subscription, status="past_due")
    replay = deliver(payload)
    assert replay.status_code == 200
    assert replay.json["outcome"] == "duplicate"
    assert account_of().status == BillingStatus.ACTIVE
    assert events_stored(read) == ["evt_1"]
    assert read(lambda s: s.scalar(select(func.count()).select_from(AuditEvent))) == audit_rows


def test_out_of_order_events_end_in_stripes_current_state(
    deliver, stripe_fake, subscription, account_of
):
    """Stripe sent created (active), then deleted; they arrive deleted first, then created
    with its old 'active' payload. The workspace ends canceled, as Stripe has it."""
    created = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_created"
    )
    stripe_fake.update(subscription, status="canceled")
    deleted = subscription_event(
        stripe_fake, subscription, "customer.subscription.deleted", "evt_deleted"
    )
    assert deliver(deleted).json["outcome"] == "applied"
    assert account_of().status == BillingStatus.CANCELED
    assert deliver(created).json["outcome"] == "applied"
    assert account_of().status == BillingStatus.CANCELED
    assert json.loads(created)["data"]["object"]["status"] == "active"  # what it claimed


def test_the_payload_is_never_trusted_for_state(deliver, stripe_fake, subscription, account_of):
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.updated", "evt_1", status="canceled"
    )
    deliver(payload)
    assert account_of().status == BillingStatus.ACTIVE


def test_late_news_of_an_old_subscription_does_not_undo_a_reactivation(
    deliver, stripe_fake, customer, subscription, account_of
):
    deliver(subscription_event(stripe_fake, subscription, "customer.subscription.created", "e1"))
    stripe_fake.update(subscription, status="canceled")
    deliver(subscription_event(stripe_fake, subscription, "customer.subscription.deleted", "e2"))
    assert account_of().status == BillingStatus.CANCELED
    stripe_fake.now += 10
    renewed = stripe_fake.make_subscription(
        customer=customer,
        price="price_prefecture",
        collection_method="charge_automatically",
        metadata={},
    )
    deliver(subscription_event(stripe_fake, renewed["id"], "customer.subscription.created", "e3"))
    assert account_of().stripe_subscription_id == renewed["id"]
    assert account_of().status == BillingStatus.ACTIVE
    # A retried delivery of the old subscription's update arrives now.
    late = deliver(
        subscription_event(stripe_fake, subscription, "customer.subscription.updated", "e4")
    )
    assert late.json["outcome"] == "recorded"
    account = account_of()
    assert account.stripe_subscription_id == renewed["id"]
    assert account.status == BillingStatus.ACTIVE
    assert account.plan == "prefecture"


def test_invoice_events_follow_the_invoices_subscription(
    deliver, stripe_fake, subscription, account_of
):
    deliver(subscription_event(stripe_fake, subscription, "customer.subscription.created", "e1"))
    invoice_id = stripe_fake.subscriptions[subscription]["latest_invoice"]
    stripe_fake.update(subscription, status="past_due")
    invoice = dict(stripe_fake.invoices[invoice_id])
    response = deliver(event("invoice.payment_failed", invoice, "e2"))
    assert response.json["outcome"] == "applied"
    assert account_of().status == BillingStatus.PAST_DUE
    stripe_fake.invoices[invoice_id]["status"] = "paid"
    stripe_fake.update(subscription, status="active")
    assert deliver(event("invoice.paid", invoice, "e3")).json["outcome"] == "applied"
    assert account_of().status == BillingStatus.ACTIVE


def test_checkout_completed_follows_the_new_subscription(
    admin, deliver, stripe_fake, customer, account_of
):
    response = admin.post("/t/alpha/settings/billing/checkout", data={"plan": "prefecture"})
    assert response.status_code == 303
    session_id = response.headers["Location"].rsplit("/", 1)[1]
    subscription_id = stripe_fake.complete_checkout(session_id)
    session = stripe_fake.retrieve_session({}, session_id)
    assert deliver(event("checkout.session.completed", session, "e1")).status_code == 200
    account = account_of()
    assert account.stripe_subscription_id == subscription_id
    assert account.plan == "prefecture"
    assert account.status in (BillingStatus.ACTIVE, BillingStatus.TRIALING)


def test_events_of_unknown_customers_and_other_types_are_acknowledged(deliver, stripe_fake, read):
    stranger = stripe_fake.create_customer({"name": "よその会社", "metadata": {}})
    foreign = stripe_fake.make_subscription(
        customer=stranger["id"],
        price="price_municipal",
        collection_method="charge_automatically",
        metadata={},
    )
    response = deliver(event("customer.subscription.updated", foreign, "e1"))
    assert response.status_code == 200
    assert response.json["outcome"] == "unknown customer"
    other = deliver(event("charge.refunded", {"id": "ch_1", "object": "charge"}, "e2"))
    assert other.status_code == 200
    assert other.json["outcome"] == "ignored"


def test_a_customer_claiming_another_workspace_is_not_followed(
    deliver, stripe_fake, world, customer, account_of, read
):
    """A customer whose metadata names beta, while beta has no such customer: ignored."""
    impostor = stripe_fake.create_customer(
        {"name": "x", "metadata": {"renkei_tenant_id": str(world.beta.id)}}
    )
    sub = stripe_fake.make_subscription(
        customer=impostor["id"],
        price="price_prefecture",
        collection_method="charge_automatically",
        metadata={},
    )
    response = deliver(event("customer.subscription.created", sub, "e1"))
    assert response.json["outcome"] == "unknown customer"
    assert account_of(world.beta.id) is None
    assert events_stored(read) == []


def test_stripe_unreachable_answers_503_and_nothing_is_half_stored(
    deliver, stripe_fake, subscription, account_of, read
):
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_1"
    )
    stripe_fake.fail("GET", "/v1/subscriptions/", status=500)
    response = deliver(payload)
    assert response.status_code == 503
    assert events_stored(read) == []  # the id is stored only with its effect
    assert account_of().stripe_subscription_id is None
    retry = deliver(payload)  # Stripe retries later
    assert retry.json["outcome"] == "applied"
    assert events_stored(read) == ["evt_1"]


def test_webhook_is_off_without_keys(billing_off, deliver, stripe_fake, subscription):
    payload = subscription_event(
        stripe_fake, subscription, "customer.subscription.created", "evt_1"
    )
    assert deliver(payload).status_code == 404


def test_the_event_and_its_effect_are_audited_as_stripes(deliver, stripe_fake, subscription, read):
    before = read(lambda s: s.scalar(select(func.max(AuditEvent.id))))
    deliver(subscription_event(stripe_fake, subscription, "customer.subscription.created", "e1"))
    rows = read(
        lambda s: s.execute(
            select(
                AuditEvent.action,
                AuditEvent.object_type,
                AuditEvent.actor_label,
                AuditEvent.actor_user_id,
            ).where(AuditEvent.id > before)
        ).all()
    )
    assert set(rows) == {
        ("create", "billing_events", "stripe", None),
        ("update", "billing_accounts", "stripe", None),
    }
