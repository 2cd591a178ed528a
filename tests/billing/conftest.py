"""Billing tests run with billing switched on, against a local fake of Stripe's HTTP API
(tests/billing/fake_stripe.py) that Stripe's own library reaches over a socket."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.billing.gateway import TENANT_METADATA_KEY
from app.billing.models import BillingAccount, BillingStatus
from app.db import utcnow
from tests.billing.fake_stripe import FakeStripe

WEBHOOK_SECRET = "whsec_renkei_test_secret"
WEBHOOK_URL = "/billing/stripe/webhook"


@pytest.fixture(scope="session")
def stripe_fake() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _billing_switched_on(request: pytest.FixtureRequest) -> None:
    """Every test here that uses the app runs with billing on (pure rule tests need neither)."""
    if "app" in request.fixturenames:
        request.getfixturevalue("billing_on")


@pytest.fixture
def billing_on(app, stripe_fake, monkeypatch) -> FakeStripe:
    """Billing switched on for this test, pointed at a fresh fake Stripe."""
    stripe_fake.reset()
    settings = app.extensions["renkei_settings"]
    for name, value in {
        "stripe_secret_key": stripe_fake.api_key,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_api_base": stripe_fake.base_url,
        "stripe_price_municipal": "price_municipal",
        "stripe_price_prefecture": "price_prefecture",
        "stripe_max_network_retries": 0,
        "stripe_timeout_seconds": 5.0,
    }.items():
        monkeypatch.setattr(settings, name, value)
    return stripe_fake


@pytest.fixture
def billing_off(app, billing_on, monkeypatch) -> None:
    """The embedded default: no Stripe keys."""
    settings = app.extensions["renkei_settings"]
    monkeypatch.setattr(settings, "stripe_secret_key", "")
    monkeypatch.setattr(settings, "stripe_webhook_secret", "")


@pytest.fixture
def admin(app, world):
    return app.test_client().login_as(world.admin)


@pytest.fixture
def coordinator(app, world):
    return app.test_client().login_as(world.coordinator)


@pytest.fixture
def viewer(app, world):
    return app.test_client().login_as(world.viewer)


# --- webhooks signed the way Stripe documents it ---------------------------------------------


def signature(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """``Stripe-Signature``: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> str:
    return json.dumps(
        {
            "id": event_id or f"evt_{abs(hash((event_type, json.dumps(obj)))) % 10**12:012d}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
            "data": {"object": obj},
        }
    )


@pytest.fixture
def deliver(client) -> Callable[..., Any]:
    """POST a webhook the way Stripe does: raw JSON body, signed header, no session."""

    def send(payload: str, header: str | None = None) -> Any:
        return client.post(
            WEBHOOK_URL,
            data=payload.encode(),
            headers={"Stripe-Signature": signature(payload) if header is None else header},
            content_type="application/json",
            csrf=False,
        )

    return send


# --- arranging accounts ---------------------------------------------------------------------


@pytest.fixture
def account_of(read) -> Callable[..., BillingAccount | None]:
    from sqlalchemy import select

    def get(tenant_id: int | None = None) -> BillingAccount | None:
        return read(lambda s: s.scalar(select(BillingAccount)), tenant_id)

    return get


@pytest.fixture
def customer(stripe_fake, world, set_account) -> str:
    """Alpha already has a Stripe customer (as after its admin's first choice of a plan)."""
    customer = stripe_fake.create_customer(
        {
            "name": world.alpha.name,
            "email": "keiri@alpha.example.jp",
            "metadata": {TENANT_METADATA_KEY: str(world.alpha.id)},
        }
    )
    set_account(
        stripe_customer_id=customer["id"],
        invoice_addressee=world.alpha.name,
        invoice_email="keiri@alpha.example.jp",
    )
    return str(customer["id"])


@pytest.fixture
def set_account(arrange, world) -> Callable[..., None]:
    """Change alpha's billing account (created with a running trial if it has none)."""
    from sqlalchemy import select

    def change(**values: Any) -> None:
        def run(s):
            account = s.scalar(select(BillingAccount))
            if account is None:
                account = BillingAccount(trial_ends_at=utcnow() + timedelta(days=20))
                s.add(account)
            for key, value in values.items():
                setattr(account, key, value)

        arrange(run)

    return change


@pytest.fixture
def canceled(set_account, stripe_fake, customer) -> str:
    """Alpha's subscription has ended: the workspace is read-only."""
    subscription = stripe_fake.make_subscription(
        customer=customer,
        price="price_municipal",
        collection_method="send_invoice",
        metadata={},
        days_until_due=30,
        status="canceled",
    )
    set_account(
        stripe_subscription_id=subscription["id"],
        subscription_created_at=datetime.fromtimestamp(subscription["created"]).astimezone(),
        status=BillingStatus.CANCELED,
        plan="municipal",
    )
    return str(subscription["id"])
