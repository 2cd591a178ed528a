"""A local fake of the part of Stripe's HTTP API that Renkei calls.

Stripe's own Python library talks to it over a real socket (``STRIPE_API_BASE``), so the
product's code path is the real one up to the network: form-encoded bodies, bearer keys,
idempotency keys, Stripe-shaped JSON objects, lists and errors. Only the endpoints the product
uses exist. Tests change its state directly (``complete_checkout``, ``update``...) the way
Stripe's own systems would, then send the matching signed webhook.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_KEY = "sk_test_renkei_fake_0123456789"
PRICES = {
    "price_municipal": 360_000,
    "price_prefecture": 960_000,
}
YEAR = 365 * 86400
DAY = 86400


class StripeError(Exception):
    def __init__(
        self, status: int, message: str, code: str = "", param: str = "", kind: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {
                "type": kind or ("invalid_request_error" if status < 500 else "api_error"),
                "message": message,
                **({"code": code} if code else {}),
                **({"param": param} if param else {}),
            }
        }


def missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        404 if param == "id" else 400,
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node = root
        for part, following in itertools.zip_longest(parts, parts[1:]):
            if following is None:
                node[part] = value
                break
            node = node.setdefault(part, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Failure:
    method: str
    path_prefix: str
    error: StripeError
    times: int = 1


@dataclass
class FakeStripe:
    api_key: str = API_KEY
    server: ThreadingHTTPServer | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.reset()

    # --- life cycle ----------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.customers: dict[str, dict[str, Any]] = {}
            self.tax_ids: dict[str, list[dict[str, Any]]] = {}
            self.sessions: dict[str, dict[str, Any]] = {}
            self.subscriptions: dict[str, dict[str, Any]] = {}
            self.invoices: dict[str, dict[str, Any]] = {}
            self.portal_sessions: list[dict[str, Any]] = []
            self.calls: list[Call] = []
            self.idempotent: dict[str, tuple[str, dict[str, Any], int, dict[str, Any]]] = {}
            self.failures: list[Failure] = []
            self.ids = itertools.count(1)
            self.invoice_numbers = itertools.count(1)
            self.now = int(time.time())

    def start(self) -> str:
        fake = self

        class Handler(_Handler):
            stripe = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # --- what tests do -------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self.ids):06d}"

    def fail(self, method: str, path_prefix: str, status: int = 500, times: int = 1) -> None:
        """The next ``times`` matching requests answer with a Stripe error."""
        message = "Something went wrong on Stripe's end." if status >= 500 else "Bad request."
        with self.lock:
            self.failures.append(Failure(method, path_prefix, StripeError(status, message), times))

    def calls_to(self, method: str, path_prefix: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method and c.path.startswith(path_prefix)]

    def complete_checkout(self, session_id: str, trial: bool = False) -> str:
        """The customer paid on Stripe's page: the session's subscription now exists."""
        with self.lock:
            session = self.sessions[session_id]
            data = session["_subscription_data"]
            trial_end = data.get("trial_end")
            subscription = self.make_subscription(
                customer=session["customer"],
                price=session["_price"],
                collection_method="charge_automatically",
                metadata=data.get("metadata") or {},
                trial_end=int(trial_end) if trial_end else None,
            )
            session.update(status="complete", payment_status="paid")
            session["subscription"] = subscription["id"]
            return str(subscription["id"])

    def update(self, subscription_id: str, **changes: Any) -> dict[str, Any]:
        """Stripe changed the subscription (a payment failed, it was canceled...)."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            subscription.update(changes)
            if changes.get("status") == "canceled" and not subscription.get("ended_at"):
                subscription["ended_at"] = self.now
                subscription["canceled_at"] = self.now
            return dict(subscription)

    def make_subscription(
        self,
        *,
        customer: str,
        price: str,
        collection_method: str,
        metadata: dict[str, Any],
        trial_end: int | None = None,
        days_until_due: int | None = None,
        created: int | None = None,
        status: str | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            start = created or self.now
            trialing = trial_end is not None and trial_end > self.now
            period_end = trial_end if trialing and trial_end else start + YEAR
            subscription_id = self.new_id("sub")
            subscription: dict[str, Any] = {
                "id": subscription_id,
                "object": "subscription",
                "customer": customer,
                "status": status or ("trialing" if trialing else "active"),
                "created": start,
                "start_date": start,
                "livemode": False,
                "cancel_at_period_end": False,
                "canceled_at": None,
                "ended_at": None,
                "trial_start": start if trialing else None,
                "trial_end": trial_end if trialing else None,
                "collection_method": collection_method,
                "days_until_due": days_until_due,
                "currency": "jpy",
                "metadata": dict(metadata),
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": self.new_id("si"),
                            "object": "subscription_item",
                            "quantity": 1,
                            "current_period_start": start,
                            "current_period_end": period_end,
                            "price": self.price(price),
                        }
                    ],
                    "has_more": False,
                    "url": f"/v1/subscription_items?subscription={subscription_id}",
                },
                "latest_invoice": None,
            }
            self.subscriptions[subscription_id] = subscription
            if not trialing:
                invoice = self.make_invoice(subscription, days_until_due)
                subscription["latest_invoice"] = invoice["id"]
            return subscription

    def make_invoice(
        self, subscription: dict[str, Any], days_until_due: int | None
    ) -> dict[str, Any]:
        with self.lock:
            invoice_id = self.new_id("in")
            amount = subscription["items"]["data"][0]["price"]["unit_amount"]
            by_card = subscription["collection_method"] == "charge_automatically"
            invoice = {
                "id": invoice_id,
                "object": "invoice",
                "customer": subscription["customer"],
                "number": f"RENKEI-{next(self.invoice_numbers):04d}",
                "status": "paid" if by_card else "open",
                "currency": "jpy",
                "amount_due": amount,
                "amount_paid": amount if by_card else 0,
                "amount_remaining": 0 if by_card else amount,
                "created": self.now,
                "due_date": None if by_card else self.now + (days_until_due or 30) * DAY,
                "collection_method": subscription["collection_method"],
                "hosted_invoice_url": f"https://invoice.stripe.test/i/{invoice_id}",
                "invoice_pdf": f"https://pay.stripe.test/invoice/{invoice_id}/pdf",
                "parent": {
                    "type": "subscription_details",
                    "quote_details": None,
                    "subscription_details": {
                        "subscription": subscription["id"],
                        "metadata": {},
                    },
                },
            }
            self.invoices[invoice_id] = invoice
            return invoice

    def price(self, price_id: str) -> dict[str, Any]:
        return {
            "id": price_id,
            "object": "price",
            "currency": "jpy",
            "unit_amount": PRICES[price_id],
            "recurring": {"interval": "year", "interval_count": 1},
            "type": "recurring",
        }

    # --- the API ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        for pattern, verb, action in self.routes():
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                return 200, action(params, *match.groups())
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def routes(self) -> list[tuple[str, str, Callable[..., Any]]]:
        return [
            (r"/v1/customers", "POST", self.create_customer),
            (r"/v1/customers/([^/]+)", "GET", self.retrieve_customer),
            (r"/v1/customers/([^/]+)", "POST", self.update_customer),
            (r"/v1/customers/([^/]+)/tax_ids", "GET", self.list_tax_ids),
            (r"/v1/customers/([^/]+)/tax_ids", "POST", self.create_tax_id),
            (r"/v1/customers/([^/]+)/tax_ids/([^/]+)", "DELETE", self.delete_tax_id),
            (r"/v1/checkout/sessions", "POST", self.create_session),
            (r"/v1/checkout/sessions/([^/]+)", "GET", self.retrieve_session),
            (r"/v1/subscriptions", "POST", self.create_subscription),
            (r"/v1/subscriptions/([^/]+)", "GET", self.retrieve_subscription),
            (r"/v1/invoices", "GET", self.list_invoices),
            (r"/v1/invoices/([^/]+)", "GET", self.retrieve_invoice),
            (r"/v1/billing_portal/sessions", "POST", self.create_portal_session),
        ]

    def _customer(self, customer_id: str, param: str = "id") -> dict[str, Any]:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise missing("customer", customer_id, param)
        return customer

    def _check_tax_id(self, data: dict[str, Any]) -> None:
        if data.get("type") != "jp_trn":
            raise StripeError(400, "Invalid tax id type.", "tax_id_invalid", "type")
        if not re.fullmatch(r"T[0-9]{13}", str(data.get("value", ""))):
            raise StripeError(
                400, f"Invalid value for jp_trn: {data.get('value')}", "tax_id_invalid", "value"
            )

    def create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        customer_id = self.new_id("cus")
        for data in params.get("tax_id_data", []):
            self._check_tax_id(data)
        self.customers[customer_id] = {
            "id": customer_id,
            "object": "customer",
            "created": self.now,
            "name": params.get("name"),
            "email": params.get("email"),
            "metadata": params.get("metadata", {}),
            "preferred_locales": params.get("preferred_locales", []),
            "livemode": False,
        }
        self.tax_ids[customer_id] = []
        for data in params.get("tax_id_data", []):
            self.create_tax_id(data, customer_id)
        return self.customers[customer_id]

    def retrieve_customer(self, _params: dict[str, Any], customer_id: str) -> dict[str, Any]:
        return self._customer(customer_id)

    def update_customer(self, params: dict[str, Any], customer_id: str) -> dict[str, Any]:
        customer = self._customer(customer_id)
        for key in ("name", "email"):
            if key in params:
                customer[key] = params[key]
        if "metadata" in params:
            customer["metadata"].update(params["metadata"])
        return customer

    def list_tax_ids(self, _params: dict[str, Any], customer_id: str) -> dict[str, Any]:
        self._customer(customer_id)
        return self._list(self.tax_ids[customer_id], f"/v1/customers/{customer_id}/tax_ids")

    def create_tax_id(self, params: dict[str, Any], customer_id: str) -> dict[str, Any]:
        self._customer(customer_id)
        self._check_tax_id(params)
        tax_id = {
            "id": self.new_id("txi"),
            "object": "tax_id",
            "customer": customer_id,
            "country": "JP",
            "type": params["type"],
            "value": params["value"],
            "verification": {"status": "unavailable"},
        }
        self.tax_ids[customer_id].append(tax_id)
        return tax_id

    def delete_tax_id(
        self, _params: dict[str, Any], customer_id: str, tax_id: str
    ) -> dict[str, Any]:
        self._customer(customer_id)
        before = len(self.tax_ids[customer_id])
        self.tax_ids[customer_id] = [t for t in self.tax_ids[customer_id] if t["id"] != tax_id]
        if len(self.tax_ids[customer_id]) == before:
            raise missing("tax_id", tax_id)
        return {"id": tax_id, "object": "tax_id", "deleted": True}

    def create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        for required in ("mode", "success_url", "line_items"):
            if not params.get(required):
                raise StripeError(400, f"Missing required param: {required}.", param=required)
        self._customer(params.get("customer", ""), "customer")
        price = params["line_items"][0].get("price", "")
        if price not in PRICES:
            raise missing("price", price, "line_items[0][price]")
        subscription_data = params.get("subscription_data", {})
        trial_end = subscription_data.get("trial_end")
        if trial_end and int(trial_end) < self.now + 2 * DAY:
            raise StripeError(
                400,
                "The `trial_end` date has to be at least 2 days in the future.",
                param="subscription_data[trial_end]",
            )
        session_id = self.new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "customer": params["customer"],
            "client_reference_id": params.get("client_reference_id"),
            "status": "open",
            "payment_status": "unpaid",
            "subscription": None,
            "locale": params.get("locale"),
            "success_url": params["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id),
            "cancel_url": params.get("cancel_url"),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "_subscription_data": subscription_data,
            "_price": price,
        }
        self.sessions[session_id] = session
        return self._public(session)

    def retrieve_session(self, _params: dict[str, Any], session_id: str) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise missing("checkout.session", session_id)
        return self._public(session)

    def create_subscription(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = self._customer(params.get("customer", ""), "customer")
        items = params.get("items") or []
        price = items[0].get("price", "") if items else ""
        if price not in PRICES:
            raise missing("price", price, "items[0][price]")
        method = params.get("collection_method", "charge_automatically")
        days = params.get("days_until_due")
        if method == "send_invoice":
            if not days:
                raise StripeError(
                    400,
                    "Missing required param: days_until_due.",
                    param="days_until_due",
                )
            if not customer.get("email"):
                raise StripeError(
                    400,
                    "Customer must have an email to send invoices.",
                    param="collection_method",
                )
        trial_end = params.get("trial_end")
        subscription = self.make_subscription(
            customer=customer["id"],
            price=price,
            collection_method=method,
            metadata=params.get("metadata", {}),
            trial_end=int(trial_end) if trial_end else None,
            days_until_due=int(days) if days else None,
        )
        subscription["payment_settings"] = params.get("payment_settings", {})
        return subscription

    def retrieve_subscription(
        self, _params: dict[str, Any], subscription_id: str
    ) -> dict[str, Any]:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            raise missing("subscription", subscription_id)
        return subscription

    def list_invoices(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = params.get("customer")
        found = [i for i in self.invoices.values() if customer in (None, i["customer"])]
        found.sort(key=lambda i: i["id"], reverse=True)
        return self._list(found[: int(params.get("limit", 10))], "/v1/invoices")

    def retrieve_invoice(self, _params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            raise missing("invoice", invoice_id)
        return invoice

    def create_portal_session(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = self._customer(params.get("customer", ""), "customer")
        session_id = self.new_id("bps")
        portal = {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": customer["id"],
            "return_url": params.get("return_url"),
            "locale": params.get("locale"),
            "url": f"https://billing.stripe.test/p/session/{session_id}",
        }
        self.portal_sessions.append(portal)
        return portal

    @staticmethod
    def _list(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
        return {"object": "list", "data": data, "has_more": False, "url": url}

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in obj.items() if not key.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    stripe: FakeStripe
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet test output

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        pairs = parse_qsl(url.query, keep_blank_values=True)
        if method == "POST":
            pairs += parse_qsl(body, keep_blank_values=True)
        params = decode_form(pairs)
        fake = self.stripe
        headers = {key.lower(): value for key, value in self.headers.items()}
        with fake.lock:
            fake.calls.append(Call(method, url.path, params, headers))
            status, payload, replayed = self._answer(fake, method, url.path, params, headers)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_fake{len(fake.calls):06d}")
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(data)

    def _answer(
        self,
        fake: FakeStripe,
        method: str,
        path: str,
        params: dict[str, Any],
        headers: dict[str, str],
    ) -> tuple[int, Any, bool]:
        if headers.get("authorization") != f"Bearer {fake.api_key}":
            error = StripeError(401, "Invalid API Key provided.", kind="invalid_request_error")
            return error.status, error.body, False
        for failure in fake.failures:
            matches = method == failure.method and path.startswith(failure.path_prefix)
            if failure.times > 0 and matches:
                failure.times -= 1
                return failure.error.status, failure.error.body, False
        key = headers.get("idempotency-key")
        if method == "POST" and key and key in fake.idempotent:
            old_path, old_params, status, payload = fake.idempotent[key]
            if (old_path, old_params) != (path, params):
                error = StripeError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with.",
                    kind="idempotency_error",
                )
                return error.status, error.body, False
            return status, payload, True
        try:
            status, payload = fake.handle(method, path, params)
        except StripeError as error:
            status, payload = error.status, error.body
        if method == "POST" and key:
            fake.idempotent[key] = (path, params, status, json.loads(json.dumps(payload)))
        return status, payload, False
