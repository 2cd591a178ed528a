"""The state rules, end to end: trialing → active → past_due (banner on every workspace page,
everything works) → canceled (read-only: every unsafe workspace request answers with a clear
message, never a 500; nothing is deleted; the data export keeps working) → reactivation
restores writing. A free trial that ends unpaid is read-only too. Plan limits on facilities."""

from __future__ import annotations

import dataclasses
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.billing import plans
from app.billing.models import BillingStatus
from app.db import Base, utcnow
from app.facilities.models import Facility, FacilityKind
from tenants.audit import AuditEvent
from tenants.models import Tenant
from tests.billing.conftest import event
from tests.test_access_matrix import UNSAFE, build, methods_of, targets, tenant_rules

__all__ = ["targets"]  # the access matrix's fixture: one record of every kind, ids and values

NEW_FACILITY = "/t/alpha/facilities/new"
READ_ONLY_WORDS = "読み取り専用"
ENDED = "ご契約が終了したため"
TRIAL_OVER = "無料トライアル期間が終了したため"


def text(response) -> str:
    return response.get_data(as_text=True)


def add_facility(client, name: str = "あおば作業所"):
    return client.post(NEW_FACILITY, data={"name": name, "kind": "type_b", "workers": "10"})


def facility_names(read) -> list[str]:
    return read(lambda s: sorted(s.scalars(select(Facility.name))))


def banner(client, url: str = "/t/alpha/") -> str:
    body = text(client.get(url))
    start = body.find('class="flash flash-')
    return body[start : body.find("</p>", start)] if "billing-notice" in body else ""


def row_counts(read) -> dict[str, int]:
    """Rows of every table (as alpha sees them): the proof that nothing was written."""

    def count(s):
        return {
            table.name: s.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }

    return read(count)


@pytest.fixture
def subscribed(stripe_fake, customer, set_account):
    """Alpha pays by invoice; returns a function that makes Stripe change its state and
    tells Renkei through a signed webhook, the way it happens in production."""
    sub = stripe_fake.make_subscription(
        customer=customer,
        price="price_municipal",
        collection_method="send_invoice",
        metadata={},
        days_until_due=30,
    )
    set_account(stripe_subscription_id=sub["id"], status=BillingStatus.ACTIVE, plan="municipal")
    counter = iter(range(1, 1000))

    def stripe_says(**changes):
        stripe_fake.update(sub["id"], **changes)
        obj = stripe_fake.subscriptions[sub["id"]]
        return event("customer.subscription.updated", obj, f"evt_state_{next(counter)}")

    return stripe_says


# --- trialing -------------------------------------------------------------------------------------


def test_on_the_free_trial_everything_works(admin, read):
    assert add_facility(admin).status_code == 303
    assert "あおば作業所" in facility_names(read)
    assert banner(admin) == ""


def test_trial_ending_soon_is_announced(admin, set_account):
    set_account(trial_ends_at=utcnow() + timedelta(days=4, hours=1))
    assert "無料トライアルの終了まであと5日です" in banner(admin)


def test_trial_ended_unpaid_is_read_only(admin, coordinator, set_account, read):
    set_account(trial_ends_at=utcnow() - timedelta(minutes=1))
    for client in (admin, coordinator):
        response = add_facility(client)
        assert response.status_code == 403
        assert TRIAL_OVER in text(response)
    assert facility_names(read) == []
    assert TRIAL_OVER in banner(admin)
    assert admin.get("/t/alpha/facilities/").status_code == 200


def test_trial_counts_from_the_workspace_creation_when_no_account_exists(
    admin, arrange, world, account_of
):
    """Workspaces that never opened the billing page: 30 days from their creation."""

    def age(s):
        s.get(Tenant, world.alpha.id).created_at = utcnow() - timedelta(days=31)

    arrange(age)
    assert account_of() is None
    response = add_facility(admin)
    assert response.status_code == 403
    assert TRIAL_OVER in text(response)


# --- active, past due -----------------------------------------------------------------------------


def test_active_subscription_works_without_banner(admin, subscribed, read):
    assert add_facility(admin).status_code == 303
    assert banner(admin) == ""


def test_past_due_shows_a_banner_everywhere_and_everything_works(
    app, admin, viewer, subscribed, deliver, read, targets
):
    deliver(subscribed(status="past_due"))
    pages = [
        build(rule, "alpha", targets) for rule in tenant_rules(app) if "GET" in methods_of(rule)
    ]
    shown = 0
    for url in pages:
        response = admin.get(url)
        is_page = response.status_code == 200 and response.mimetype == "text/html"
        if is_page and text(response).startswith("<!doctype html>"):
            assert "支払いが期限を過ぎています" in text(response), url
            shown += 1
    assert shown >= 10
    assert "支払いが期限を過ぎています" in banner(viewer)
    assert add_facility(admin).status_code == 303
    assert "あおば作業所" in facility_names(read)


def test_cancel_at_period_end_is_announced(admin, subscribed, deliver):
    deliver(subscribed(cancel_at_period_end=True))
    assert "契約期間の終了をもって終了し" in banner(admin)
    assert add_facility(admin).status_code == 303


# --- canceled: read-only --------------------------------------------------------------------------


def test_every_unsafe_workspace_route_refuses_clearly_and_writes_nothing(
    app, admin, canceled, targets, read
):
    before = row_counts(read)
    checked = 0
    for rule in tenant_rules(app):
        view = app.view_functions[rule.endpoint]
        if getattr(view, "open_when_read_only", False):
            continue  # the billing page: where the workspace is reactivated
        url = build(rule, "alpha", targets)
        for method in set(methods_of(rule)) & UNSAFE:
            response = admin.open(url, method=method, data={"name": "x"})
            assert response.status_code == 403, f"{method} {url}: {response.status_code}"
            assert ENDED in text(response), f"{method} {url}"
            assert "プランと請求" in text(response)
            checked += 1
    assert checked >= 20
    assert row_counts(read) == before


def test_read_only_for_htmx_shows_the_message_on_the_same_page(admin, canceled, samples):
    response = admin.post(
        "/t/alpha/facilities/1/archive",
        headers={
            "HX-Request": "true",
            "HX-Current-URL": "http://localhost/t/alpha/facilities/1?tab=wages",
        },
    )
    assert response.status_code == 403
    assert response.headers["HX-Redirect"] == "/t/alpha/facilities/1?tab=wages"
    page = admin.get(response.headers["HX-Redirect"])
    assert ENDED in text(page)
    # a foreign page named in the header is not followed
    elsewhere = admin.post(
        "/t/alpha/facilities/1/archive",
        headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/x"},
    )
    assert elsewhere.headers["HX-Redirect"] == "/t/alpha/"


def test_read_only_keeps_reading_and_the_full_export(admin, viewer, canceled, samples, read):
    assert admin.get("/t/alpha/facilities/").status_code == 200
    assert admin.get("/t/alpha/facilities/1").status_code == 200
    assert viewer.get("/t/alpha/deals/").status_code == 200
    for kind in ("facilities", "buyers", "deals"):
        for fmt in ("csv", "xlsx"):
            export = admin.get(f"/t/alpha/data/export/{kind}.{fmt}")
            assert export.status_code == 200, (kind, fmt)
            assert len(export.get_data()) > 50
    assert "さくら作業所" in admin.get("/t/alpha/data/export/facilities.csv").get_data().decode(
        "utf-8-sig"
    )
    assert facility_names(read) == ["さくら作業所"]  # nothing deleted
    assert ENDED in banner(viewer)


def test_read_only_still_lets_the_admin_reach_billing(admin, canceled, stripe_fake):
    page = admin.get("/t/alpha/settings/billing")
    assert page.status_code == 200
    assert "契約を再開する" in text(page)
    assert admin.post("/t/alpha/settings/billing/portal").status_code == 303
    saved = admin.post(
        "/t/alpha/settings/billing/details",
        data={"invoice_addressee": "アルファ市 御中", "invoice_email": "keiri@alpha.example.jp"},
    )
    assert saved.status_code == 303


def test_reactivation_by_invoice_restores_writing(admin, canceled, stripe_fake, account_of, read):
    assert add_facility(admin).status_code == 403
    response = admin.post("/t/alpha/settings/billing/invoice", data={"plan": "municipal"})
    assert response.status_code == 303
    account = account_of()
    assert account.stripe_subscription_id != canceled
    assert account.status == BillingStatus.ACTIVE  # no second free trial
    (subscribe,) = stripe_fake.calls_to("POST", "/v1/subscriptions")
    assert "trial_end" not in subscribe.params
    assert add_facility(admin).status_code == 303
    assert facility_names(read) == ["あおば作業所"]


def test_reactivation_by_card_through_the_webhook_restores_writing(
    admin, canceled, stripe_fake, deliver, account_of
):
    response = admin.post("/t/alpha/settings/billing/checkout", data={"plan": "prefecture"})
    session_id = response.headers["Location"].rsplit("/", 1)[1]
    stripe_fake.complete_checkout(session_id)
    assert add_facility(admin).status_code == 403  # until Stripe says so
    session = stripe_fake.retrieve_session({}, session_id)
    deliver(event("checkout.session.completed", session, "evt_checkout"))
    assert account_of().plan == "prefecture"
    assert add_facility(admin).status_code == 303


# --- the whole life cycle, driven by Stripe's webhooks --------------------------------------------


@pytest.mark.parametrize(
    ("status", "writes"),
    [
        ("trialing", True),
        ("active", True),
        ("past_due", True),
        ("unpaid", False),
        ("canceled", False),
        ("paused", False),
    ],
)
def test_each_stripe_state_decides_writing(admin, subscribed, deliver, status, writes):
    assert deliver(subscribed(status=status)).json["outcome"] == "applied"
    response = add_facility(admin, f"作業所-{status}")
    assert response.status_code == (303 if writes else 403)


def test_trialing_active_past_due_canceled_reactivated(
    admin, subscribed, deliver, stripe_fake, customer, read
):
    steps = ["trialing", "active", "past_due", "active", "past_due", "canceled"]
    expected = [303, 303, 303, 303, 303, 403]
    got = []
    for n, status in enumerate(steps):
        deliver(subscribed(status=status))
        got.append(add_facility(admin, f"作業所{n}").status_code)
    assert got == expected
    stripe_fake.now += 60
    renewed = stripe_fake.make_subscription(
        customer=customer, price="price_municipal", collection_method="send_invoice",
        metadata={}, days_until_due=30,
    )  # fmt: skip
    deliver(event("customer.subscription.created", renewed, "evt_renewed"))
    assert add_facility(admin, "再開後").status_code == 303
    assert len(facility_names(read)) == 6  # five before the end, one after; none deleted


def test_outsiders_are_not_told_about_billing(app, world, canceled):
    outsider = app.test_client().login_as(world.outsider)
    response = add_facility(outsider)
    assert response.status_code == 404
    assert READ_ONLY_WORDS not in text(response)


# --- plan limits ----------------------------------------------------------------------------------


@pytest.fixture
def small_plan(monkeypatch, subscribed):
    """Alpha on the municipal plan, with its facility limit lowered to 2 for the test."""
    monkeypatch.setitem(
        plans.PLANS, "municipal", dataclasses.replace(plans.MUNICIPAL, max_facilities=2)
    )


def test_facility_limit_refuses_new_facilities_clearly(admin, small_plan, read):
    assert add_facility(admin, "一").status_code == 303
    assert add_facility(admin, "二").status_code == 303
    response = add_facility(admin, "三")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/t/alpha/facilities/")
    page = text(admin.get("/t/alpha/facilities/"))
    assert "登録できる事業所は2件までで、現在2件を使用しているため" in page
    assert facility_names(read) == ["一", "二"]
    refused_form = admin.get(NEW_FACILITY)
    assert refused_form.status_code == 303


def test_archived_facilities_do_not_count_and_restoring_is_limited(admin, small_plan, read):
    add_facility(admin, "一")
    add_facility(admin, "二")
    assert admin.post("/t/alpha/facilities/1/archive").status_code == 303
    assert add_facility(admin, "三").status_code == 303
    response = admin.post("/t/alpha/facilities/1/restore")
    assert response.status_code == 303
    assert "登録できる事業所は2件まで" in text(admin.get(response.headers["Location"]))
    archived = read(lambda s: s.get(Facility, (s.info["tenant_id"], 1)).archived_at)
    assert archived is not None


def test_facility_limit_counts_imports(admin, small_plan, read):
    csv = "事業所名,種別\nみどり作業所,就労継続支援B型\nひかり作業所,就労継続支援A型\n".encode()
    add_facility(admin, "一")
    upload = admin.post(
        "/t/alpha/data/facilities/upload",
        data={"facilities-file": (io.BytesIO(csv), "f.csv")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 303
    token = upload.headers["Location"].rsplit("/", 1)[1]
    response = admin.post(f"/t/alpha/data/facilities/{token}/confirm", data={"encoding": ""})
    assert response.status_code == 422
    assert "さらに2件は追加できません" in text(response)
    assert facility_names(read) == ["一"]


def test_no_limits_without_billing(billing_off, admin, monkeypatch, read, arrange):
    monkeypatch.setitem(plans.PLANS, "trial", dataclasses.replace(plans.TRIAL, max_facilities=0))
    assert add_facility(admin).status_code == 303
    arrange(lambda s: s.add(Facility(name="二", kind=FacilityKind.TYPE_B)))
    assert len(facility_names(read)) == 2


def test_trial_limit_applies_on_the_trial(admin, monkeypatch, read):
    monkeypatch.setitem(plans.PLANS, "trial", dataclasses.replace(plans.TRIAL, max_facilities=0))
    response = add_facility(admin)
    assert response.status_code == 303
    assert facility_names(read) == []


def test_audit_rows_are_untouched_by_refusals(admin, canceled, read):
    before = read(lambda s: s.scalar(select(func.count()).select_from(AuditEvent)))
    add_facility(admin)
    assert read(lambda s: s.scalar(select(func.count()).select_from(AuditEvent))) == before
