"""The one module that talks to Stripe, through Stripe's own library.

Everything it returns is plain data read from Stripe's current objects (never from a webhook's
payload). Failures of any kind come out as ``StripeUnavailable`` with a message for the log;
callers show their own words to the user.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe

from app.config import Settings

log = logging.getLogger(__name__)

TENANT_METADATA_KEY = "renkei_tenant_id"
JP_REGISTRATION_TAX_ID = "jp_trn"  # Stripe's tax ID type for 適格請求書発行事業者登録番号


class StripeUnavailable(Exception):
    """Stripe could not be reached or refused the request."""


def _time(value: Any) -> datetime | None:
    return None if value in (None, "") else datetime.fromtimestamp(int(value), UTC)


def _id(value: Any) -> str | None:
    """An expandable field: an id string, or the expanded object's id."""
    if value is None or isinstance(value, str):
        return value
    return str(value.get("id")) if isinstance(value, dict) else None


@dataclass(frozen=True)
class SubscriptionState:
    id: str
    customer_id: str
    status: str
    created: datetime
    price_id: str | None
    current_period_end: datetime | None
    trial_end: datetime | None
    cancel_at_period_end: bool
    ended_at: datetime | None
    collection_method: str | None

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> SubscriptionState:
        items = (data.get("items") or {}).get("data") or []
        first = items[0] if items else {}
        # Since API version 2025-03-31 the billing period lives on the subscription items.
        period_ends = [item.get("current_period_end") for item in items]
        period_end = max((p for p in period_ends if p), default=data.get("current_period_end"))
        return cls(
            id=str(data["id"]),
            customer_id=str(_id(data.get("customer")) or ""),
            status=str(data.get("status") or ""),
            created=_time(data.get("created")) or datetime.fromtimestamp(0, UTC),
            price_id=_id(first.get("price") or None),
            current_period_end=_time(period_end),
            trial_end=_time(data.get("trial_end")),
            cancel_at_period_end=bool(data.get("cancel_at_period_end")),
            ended_at=_time(data.get("ended_at")),
            collection_method=data.get("collection_method"),
        )


@dataclass(frozen=True)
class InvoiceSummary:
    id: str
    number: str
    status: str
    currency: str
    amount_due: int
    amount_paid: int
    created: datetime | None
    due_date: datetime | None
    hosted_url: str
    pdf_url: str

    @classmethod
    def from_stripe(cls, data: dict[str, Any]) -> InvoiceSummary:
        return cls(
            id=str(data["id"]),
            number=str(data.get("number") or ""),
            status=str(data.get("status") or ""),
            currency=str(data.get("currency") or "jpy"),
            amount_due=int(data.get("amount_due") or 0),
            amount_paid=int(data.get("amount_paid") or 0),
            created=_time(data.get("created")),
            due_date=_time(data.get("due_date")),
            hosted_url=str(data.get("hosted_invoice_url") or ""),
            pdf_url=str(data.get("invoice_pdf") or ""),
        )


def invoice_subscription_id(data: dict[str, Any]) -> str | None:
    """The subscription an invoice bills (``parent`` since API version 2025-03-31)."""
    details = (data.get("parent") or {}).get("subscription_details") or {}
    return _id(details.get("subscription")) or _id(data.get("subscription"))


@dataclass(frozen=True)
class CustomerDetails:
    name: str
    email: str
    registration_number: str


class StripeGateway:
    def __init__(self, settings: Settings) -> None:
        base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self.client = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses=base,  # type: ignore[arg-type]
            max_network_retries=settings.stripe_max_network_retries,
            http_client=stripe.RequestsClient(timeout=settings.stripe_timeout_seconds),
        )

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            result = fn(*args, **kwargs)
        except stripe.StripeError as exc:
            log.warning("stripe %s failed: %s", what, exc)
            raise StripeUnavailable(f"{what}: {exc}") from exc
        return dict(result.to_dict())

    # --- customers ---------------------------------------------------------------------

    def create_customer(self, tenant_id: int, slug: str, details: CustomerDetails) -> str:
        params: dict[str, Any] = {
            "name": details.name,
            "metadata": {TENANT_METADATA_KEY: str(tenant_id), "workspace": slug},
            "preferred_locales": ["ja"],
        }
        if details.email:
            params["email"] = details.email
        if details.registration_number:
            params["tax_id_data"] = [
                {"type": JP_REGISTRATION_TAX_ID, "value": details.registration_number}
            ]
        customer = self._call(
            "create customer",
            self.client.v1.customers.create,
            params=params,
            # A double submit creates one customer, not two.
            options={"idempotency_key": f"renkei-customer-{tenant_id}-{hash_of(params)}"},
        )
        return str(customer["id"])

    def update_customer(self, customer_id: str, details: CustomerDetails) -> None:
        params: dict[str, Any] = {"name": details.name}
        if details.email:
            params["email"] = details.email
        self._call("update customer", self.client.v1.customers.update, customer_id, params=params)
        tax_ids = self._call(
            "list tax ids", self.client.v1.customers.tax_ids.list, customer_id
        ).get("data", [])
        wanted = details.registration_number
        kept = False
        for tax_id in tax_ids:
            if tax_id.get("type") != JP_REGISTRATION_TAX_ID:
                continue
            if tax_id.get("value") == wanted and not kept:
                kept = True
                continue
            self._call(
                "delete tax id",
                self.client.v1.customers.tax_ids.delete,
                customer_id,
                str(tax_id["id"]),
            )
        if wanted and not kept:
            self._call(
                "create tax id",
                self.client.v1.customers.tax_ids.create,
                customer_id,
                params={"type": JP_REGISTRATION_TAX_ID, "value": wanted},
            )

    def customer_tenant(self, customer_id: str) -> int | None:
        customer = self._call("retrieve customer", self.client.v1.customers.retrieve, customer_id)
        if customer.get("deleted"):
            return None
        tenant = str((customer.get("metadata") or {}).get(TENANT_METADATA_KEY, ""))
        return int(tenant) if tenant.isdigit() else None

    # --- subscriptions -----------------------------------------------------------------

    def subscription(self, subscription_id: str) -> SubscriptionState:
        data = self._call(
            "retrieve subscription", self.client.v1.subscriptions.retrieve, subscription_id
        )
        return SubscriptionState.from_stripe(data)

    def checkout_url(
        self,
        *,
        tenant_id: int,
        customer_id: str,
        price_id: str,
        success_url: str,
        cancel_url: str,
        trial_end: int | None,
    ) -> str:
        subscription_data: dict[str, Any] = {"metadata": {TENANT_METADATA_KEY: str(tenant_id)}}
        if trial_end is not None:
            subscription_data["trial_end"] = trial_end
        session = self._call(
            "create checkout session",
            self.client.v1.checkout.sessions.create,
            params={
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": str(tenant_id),
                "line_items": [{"price": price_id, "quantity": 1}],
                "subscription_data": subscription_data,
                "payment_method_types": ["card"],
                "locale": "ja",
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
        )
        return str(session["url"])

    def checkout_subscription_id(self, session_id: str) -> tuple[str | None, str | None]:
        """(subscription id, customer id) of a Checkout session, as Stripe has it now."""
        session = self._call(
            "retrieve checkout session", self.client.v1.checkout.sessions.retrieve, session_id
        )
        return _id(session.get("subscription")), _id(session.get("customer"))

    def subscribe_by_invoice(
        self,
        *,
        tenant_id: int,
        customer_id: str,
        price_id: str,
        days_until_due: int,
        trial_end: int | None,
        idempotency_key: str,
    ) -> SubscriptionState:
        """請求書払い: Stripe e-mails an invoice payable by Japanese bank transfer (振込)."""
        params: dict[str, Any] = {
            "customer": customer_id,
            "items": [{"price": price_id, "quantity": 1}],
            "collection_method": "send_invoice",
            "days_until_due": days_until_due,
            "payment_settings": {
                "payment_method_types": ["customer_balance"],
                "payment_method_options": {
                    "customer_balance": {
                        "funding_type": "bank_transfer",
                        "bank_transfer": {"type": "jp_bank_transfer"},
                    }
                },
            },
            "metadata": {TENANT_METADATA_KEY: str(tenant_id)},
        }
        if trial_end is not None:
            params["trial_end"] = trial_end
        data = self._call(
            "create subscription",
            self.client.v1.subscriptions.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return SubscriptionState.from_stripe(data)

    # --- invoices and the portal -------------------------------------------------------

    def invoice_subscription_id(self, invoice_id: str) -> tuple[str | None, str | None]:
        data = self._call("retrieve invoice", self.client.v1.invoices.retrieve, invoice_id)
        return invoice_subscription_id(data), _id(data.get("customer"))

    def invoices(self, customer_id: str, limit: int = 12) -> list[InvoiceSummary]:
        listing = self._call(
            "list invoices",
            self.client.v1.invoices.list,
            params={"customer": customer_id, "limit": limit},
        )
        return [InvoiceSummary.from_stripe(item) for item in listing.get("data", [])]

    def portal_url(self, customer_id: str, return_url: str) -> str:
        session = self._call(
            "create portal session",
            self.client.v1.billing_portal.sessions.create,
            params={"customer": customer_id, "return_url": return_url, "locale": "ja"},
        )
        return str(session["url"])


def hash_of(params: dict[str, Any]) -> str:
    """A short stable digest of request parameters, for idempotency keys."""
    text = json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
