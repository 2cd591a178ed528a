"""The billing page (/t/<slug>/settings/billing, admin only): plan, state, renewal date and
invoices; paying by card through Stripe Checkout or by invoice with Japanese bank transfer;
the invoice addressee and registration number; the customer portal; and how it degrades
(billing off, Stripe unreachable) without ever failing."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from app.billing.models import BillingStatus, CollectionMethod
from app.db import utcnow

PAGE = "/t/alpha/settings/billing"
ROUTES = [
    ("GET", PAGE),
    ("POST", PAGE + "/details"),
    ("POST", PAGE + "/checkout"),
    ("GET", PAGE + "/return?session_id=cs_test_x"),
    ("POST", PAGE + "/invoice"),
    ("POST", PAGE + "/portal"),
    ("POST", PAGE + "/refresh"),
]


def text(response) -> str:
    return response.get_data(as_text=True)


def flashes(client) -> str:
    return text(client.get(PAGE))


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_outsiders_get_404(app, world, method, url):
    client = app.test_client().login_as(world.outsider)
    assert client.open(url, method=method).status_code == 404


@pytest.mark.parametrize("who", ["coordinator", "viewer"])
@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_only_admins(app, world, who, method, url):
    client = app.test_client().login_as(getattr(world, who))
    assert client.open(url, method=method).status_code == 403


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_anonymous_is_sent_to_login(client, world, method, url):
    response = client.open(url, method=method)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_settings_page_links_to_billing(admin):
    assert f'href="{PAGE}"' in text(admin.get("/t/alpha/settings"))


# --- billing off: the embedded default ------------------------------------------------------


def test_without_keys_the_page_says_billing_is_not_configured(billing_off, admin, stripe_fake):
    response = admin.get(PAGE)
    assert response.status_code == 200
    assert "課金は設定されていません" in text(response)
    assert "プランを選ぶ" not in text(response)
    assert stripe_fake.calls == []


@pytest.mark.parametrize(("method", "url"), [r for r in ROUTES if r[0] == "POST"])
def test_without_keys_no_billing_action_fails(billing_off, admin, stripe_fake, method, url):
    response = admin.open(url, method=method, data={"plan": "municipal"})
    assert response.status_code == 303
    assert "この環境では課金が設定されていません" in flashes(admin)
    assert stripe_fake.calls == []


def test_without_keys_an_ended_subscription_changes_nothing(billing_off, canceled, admin):
    """Billing off means every workspace works, whatever an old account row says."""
    response = admin.post("/t/alpha/facilities/new", data={"name": "あおば作業所"})
    assert response.status_code != 403
    assert "読み取り専用" not in text(admin.get("/t/alpha/"))


# --- the page ------------------------------------------------------------------------------------


def test_a_new_workspace_is_on_its_free_trial(admin, stripe_fake):
    body = text(admin.get(PAGE))
    assert "無料トライアル" in body
    assert "残り30日" in body
    assert "市町村プラン" in body
    assert "都道府県・支援センタープラン" in body
    assert "年額 360,000円（税別）" in body
    assert "このワークスペースにおすすめ" in body  # alpha is a municipality
    assert "請求書はまだありません" in body
    assert stripe_fake.calls == []  # nothing to ask Stripe before a customer exists


def test_plans_without_a_price_cannot_be_chosen(admin, app, monkeypatch):
    monkeypatch.setattr(app.extensions["renkei_settings"], "stripe_price_prefecture", "")
    body = text(admin.get(PAGE))
    assert body.count('name="plan" value="prefecture"') == 0
    assert body.count('name="plan" value="municipal"') == 2
    response = admin.post(PAGE + "/checkout", data={"plan": "prefecture"})
    assert response.status_code == 303
    assert "このプランは現在お申し込みいただけません" in flashes(admin)


@pytest.mark.parametrize("plan", ["", "trial", "enterprise"])
def test_unknown_or_free_plans_cannot_be_bought(admin, stripe_fake, plan):
    for route in ("/checkout", "/invoice"):
        response = admin.post(PAGE + route, data={"plan": plan})
        assert response.status_code == 303
        assert "このプランは現在お申し込みいただけません" in flashes(admin)
    assert stripe_fake.calls == []


# --- paying by card ------------------------------------------------------------------------------


def test_card_checkout_then_return_activates(admin, stripe_fake, account_of, world):
    response = admin.post(PAGE + "/checkout", data={"plan": "municipal"})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("https://checkout.stripe.test/c/pay/cs_test_")
    # The customer was made for alpha, with its name and a pointer back to the workspace.
    (created,) = stripe_fake.calls_to("POST", "/v1/customers")
    assert created.params["name"] == world.alpha.name
    assert created.params["metadata"] == {
        "renkei_tenant_id": str(world.alpha.id),
        "workspace": "alpha",
    }
    assert "idempotency-key" in created.headers
    (checkout,) = stripe_fake.calls_to("POST", "/v1/checkout/sessions")
    params = checkout.params
    assert params["mode"] == "subscription"
    assert params["line_items"] == [{"price": "price_municipal", "quantity": "1"}]
    assert params["locale"] == "ja"
    assert params["customer"] == account_of().stripe_customer_id
    assert params["success_url"].endswith(
        "/t/alpha/settings/billing/return?session_id={CHECKOUT_SESSION_ID}"
    )
    # What is left of the 30-day trial is kept: the first charge waits for its end.
    trial_end = int(params["subscription_data"]["trial_end"])
    assert abs(trial_end - (utcnow() + timedelta(days=30)).timestamp()) < 120
    assert params["subscription_data"]["metadata"] == {"renkei_tenant_id": str(world.alpha.id)}

    session_id = location.rsplit("/", 1)[1]
    subscription_id = stripe_fake.complete_checkout(session_id)
    success = urlsplit(stripe_fake.sessions[session_id]["success_url"])
    back = admin.get(f"{success.path}?{success.query}")
    assert back.status_code == 303
    account = account_of()
    assert account.stripe_subscription_id == subscription_id
    assert account.status == BillingStatus.TRIALING  # Stripe's trial until the free one ends
    assert account.collection_method == CollectionMethod.CARD
    body = text(admin.get(PAGE))
    assert "ありがとうございます。ご契約が有効になりました。" in body
    assert "市町村プラン" in body
    assert "次回更新日" in body
    assert "カード変更・プラン変更・領収書" in body


def test_card_checkout_near_the_trial_end_charges_at_once(admin, stripe_fake, set_account):
    set_account(trial_ends_at=utcnow() + timedelta(hours=30))
    admin.post(PAGE + "/checkout", data={"plan": "prefecture"})
    (checkout,) = stripe_fake.calls_to("POST", "/v1/checkout/sessions")
    assert "trial_end" not in checkout.params["subscription_data"]


def test_returning_before_stripe_finishes_says_so(admin, stripe_fake, account_of):
    response = admin.post(PAGE + "/checkout", data={"plan": "municipal"})
    session_id = response.headers["Location"].rsplit("/", 1)[1]
    admin.get(f"{PAGE}/return?session_id={session_id}")
    assert account_of().stripe_subscription_id is None
    assert "Stripe でお支払いの処理中です" in flashes(admin)


def test_a_checkout_session_of_another_customer_is_not_taken(
    admin, stripe_fake, customer, account_of
):
    stranger = stripe_fake.create_customer({"name": "よそ", "metadata": {}})
    other = stripe_fake.create_session(
        {
            "mode": "subscription",
            "customer": stranger["id"],
            "success_url": "https://elsewhere.example/",
            "line_items": [{"price": "price_prefecture"}],
        }
    )
    stripe_fake.complete_checkout(other["id"])
    admin.get(f"{PAGE}/return?session_id={other['id']}")
    assert account_of().stripe_subscription_id is None


# --- paying by invoice (請求書払い) ----------------------------------------------------------


def test_invoice_payment_needs_the_invoice_details_first(admin, stripe_fake):
    response = admin.post(PAGE + "/invoice", data={"plan": "municipal"})
    assert response.status_code == 303
    assert "先に請求書の宛名と送付先メールアドレスを登録してください" in flashes(admin)
    assert stripe_fake.calls_to("POST", "/v1/subscriptions") == []


def test_invoice_payment_with_japanese_bank_transfer(admin, stripe_fake, account_of, world):
    saved = admin.post(
        PAGE + "/details",
        data={
            "invoice_addressee": "アルファ市 産業振興課 御中",
            "invoice_email": "Keiri@Alpha.Example.JP",
            "registration_number": "Ｔ８０００－０２０１－３０００１",
        },
    )
    assert saved.status_code == 303
    response = admin.post(PAGE + "/invoice", data={"plan": "municipal"})
    assert response.status_code == 303
    (customer_call,) = stripe_fake.calls_to("POST", "/v1/customers")
    assert customer_call.params["name"] == "アルファ市 産業振興課 御中"
    assert customer_call.params["email"] == "keiri@alpha.example.jp"
    assert customer_call.params["tax_id_data"] == [{"type": "jp_trn", "value": "T8000020130001"}]
    (subscribe,) = stripe_fake.calls_to("POST", "/v1/subscriptions")
    params = subscribe.params
    assert params["collection_method"] == "send_invoice"
    assert params["days_until_due"] == "30"
    assert params["payment_settings"] == {
        "payment_method_types": ["customer_balance"],
        "payment_method_options": {
            "customer_balance": {
                "funding_type": "bank_transfer",
                "bank_transfer": {"type": "jp_bank_transfer"},
            }
        },
    }
    assert params["metadata"] == {"renkei_tenant_id": str(world.alpha.id)}
    account = account_of()
    assert account.collection_method == CollectionMethod.INVOICE
    assert account.plan == "municipal"
    body = flashes(admin)
    assert "keiri@alpha.example.jp に請求書をお送りします" in body
    assert "請求書払い（銀行振込）" in body
    assert "T8000020130001" in body


def test_invoices_are_listed_with_amount_due_date_and_links(
    admin, stripe_fake, customer, set_account
):
    stripe_fake.now -= 10 * 86400  # issued ten days ago
    sub = stripe_fake.make_subscription(
        customer=customer,
        price="price_prefecture",
        collection_method="send_invoice",
        metadata={},
        days_until_due=30,
    )
    set_account(stripe_subscription_id=sub["id"], status=BillingStatus.ACTIVE, plan="prefecture")
    invoice = stripe_fake.invoices[sub["latest_invoice"]]
    body = text(admin.get(PAGE))
    assert "960,000円" in body
    assert invoice["number"] in body
    assert "入金待ち" in body
    assert invoice["hosted_invoice_url"] in body
    assert invoice["invoice_pdf"] in body


def test_a_second_subscription_is_refused(admin, stripe_fake, customer, account_of):
    admin.post(PAGE + "/invoice", data={"plan": "municipal"})
    again = admin.post(PAGE + "/invoice", data={"plan": "municipal"})
    assert again.status_code == 303
    assert len(stripe_fake.subscriptions) == 1
    assert "すでに契約中です" in flashes(admin)


def test_invoice_subscription_during_trial_starts_with_stripes_trial(
    admin, stripe_fake, customer, account_of
):
    admin.post(PAGE + "/invoice", data={"plan": "prefecture"})
    (subscribe,) = stripe_fake.calls_to("POST", "/v1/subscriptions")
    assert int(subscribe.params["trial_end"]) > utcnow().timestamp() + 19 * 86400
    assert account_of().status == BillingStatus.TRIALING


# --- the invoice details -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("8000020130001", "T に続けて13桁の数字を入力してください"),
        ("T12345", "T に続けて13桁の数字を入力してください"),
        ("T7000020130001", "チェックデジットが一致しません"),
    ],
)
def test_bad_registration_numbers_are_refused_in_place(admin, account_of, number, message):
    response = admin.post(
        PAGE + "/details",
        data={"invoice_addressee": "アルファ市", "registration_number": number},
    )
    assert response.status_code == 422
    assert message in text(response)
    assert account_of() is None  # nothing saved


def test_bad_email_is_refused(admin, account_of):
    response = admin.post(PAGE + "/details", data={"invoice_email": "not-an-address"})
    assert response.status_code == 422
    assert account_of() is None


def test_changing_details_updates_stripes_customer(admin, stripe_fake, customer, account_of):
    admin.post(
        PAGE + "/details",
        data={
            "invoice_addressee": "アルファ市長 様",
            "invoice_email": "seikyu@alpha.example.jp",
            "registration_number": "T8000020130001",
        },
    )
    assert stripe_fake.customers[customer]["name"] == "アルファ市長 様"
    assert stripe_fake.customers[customer]["email"] == "seikyu@alpha.example.jp"
    assert [t["value"] for t in stripe_fake.tax_ids[customer]] == ["T8000020130001"]
    admin.post(
        PAGE + "/details",
        data={
            "invoice_addressee": "アルファ市長 様",
            "invoice_email": "seikyu@alpha.example.jp",
            "registration_number": "T7000012050002",
        },
    )
    assert [t["value"] for t in stripe_fake.tax_ids[customer]] == ["T7000012050002"]
    admin.post(
        PAGE + "/details",
        data={"invoice_addressee": "アルファ市長 様", "invoice_email": "seikyu@alpha.example.jp"},
    )
    assert stripe_fake.tax_ids[customer] == []
    assert account_of().registration_number == ""


def test_details_are_not_saved_when_stripe_cannot_be_told(admin, stripe_fake, customer, account_of):
    stripe_fake.fail("POST", f"/v1/customers/{customer}", status=500)
    response = admin.post(
        PAGE + "/details",
        data={"invoice_addressee": "新しい宛名", "invoice_email": "keiri@alpha.example.jp"},
    )
    assert response.status_code == 303
    assert "Stripe に接続できなかったため、何も変更していません" in flashes(admin)
    assert account_of().invoice_addressee != "新しい宛名"


# --- the portal, refreshing, Stripe down -------------------------------------------------------


def test_portal_link(admin, stripe_fake, customer):
    response = admin.post(PAGE + "/portal")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://billing.stripe.test/p/session/")
    (portal,) = stripe_fake.portal_sessions
    assert portal["customer"] == customer
    assert portal["return_url"].endswith(PAGE)
    assert portal["locale"] == "ja"


def test_portal_before_any_plan(admin, stripe_fake):
    response = admin.post(PAGE + "/portal")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(PAGE)
    assert "先にプランを選んでください" in flashes(admin)


def test_refresh_reads_stripe_again(admin, stripe_fake, customer, set_account, account_of):
    sub = stripe_fake.make_subscription(
        customer=customer, price="price_municipal", collection_method="send_invoice",
        metadata={}, days_until_due=30,
    )  # fmt: skip
    set_account(stripe_subscription_id=sub["id"], status=BillingStatus.ACTIVE, plan="municipal")
    stripe_fake.update(sub["id"], status="past_due")
    assert admin.post(PAGE + "/refresh").status_code == 303
    assert account_of().status == BillingStatus.PAST_DUE


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("POST", "/v1/checkout/sessions", "/checkout"),
        ("POST", "/v1/subscriptions", "/invoice"),
        ("POST", "/v1/billing_portal/sessions", "/portal"),
        ("GET", "/v1/subscriptions/", "/refresh"),
    ],
)
def test_stripe_down_never_fails_the_page(
    admin, stripe_fake, customer, set_account, method, path, route
):
    sub = stripe_fake.make_subscription(
        customer=customer, price="price_municipal", collection_method="send_invoice",
        metadata={}, days_until_due=30, status="canceled",
    )  # fmt: skip
    set_account(stripe_subscription_id=sub["id"], status=BillingStatus.CANCELED, plan="municipal")
    stripe_fake.fail(method, path, status=503)
    response = admin.post(PAGE + route, data={"plan": "municipal"})
    assert response.status_code == 303
    assert "Stripe に接続できなかったため" in flashes(admin)


def test_invoices_unavailable_still_shows_the_page(admin, stripe_fake, customer):
    stripe_fake.fail("GET", "/v1/invoices", status=500)
    response = admin.get(PAGE)
    assert response.status_code == 200
    assert "現在 Stripe から請求書を読み込めません" in text(response)


def test_a_wrong_secret_key_is_handled_like_stripe_down(admin, app, monkeypatch, stripe_fake):
    monkeypatch.setattr(app.extensions["renkei_settings"], "stripe_secret_key", "sk_test_wrong")
    response = admin.post(PAGE + "/checkout", data={"plan": "municipal"})
    assert response.status_code == 303
    assert "Stripe に接続できなかったため" in flashes(admin)


def test_the_page_costs_a_fixed_number_of_queries(admin, customer, query_counter, arrange):
    """User, the person's workspaces (the switcher's too), billing account, facility count:
    the same four whatever the number of facilities or invoices (PostgreSQL's per-transaction
    tenant settings aside)."""
    from app.facilities.models import Facility, FacilityKind

    def queries() -> list[str]:
        return [sql for sql in query_counter if "set_config" not in sql]

    admin.get(PAGE)  # warm
    query_counter.clear()
    assert admin.get(PAGE).status_code == 200
    few = len(queries())
    arrange(
        lambda s: s.add_all(
            [Facility(name=f"作業所{n}", kind=FacilityKind.TYPE_B) for n in range(30)]
        )
    )
    query_counter.clear()
    body = text(admin.get(PAGE))
    assert "30件 / 上限500件" in body
    assert len(queries()) == few == 4


# --- operators ------------------------------------------------------------------------------------


def test_operators_set_a_trial_from_the_command_line(app, world, account_of):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["billing", "trial", "alpha", "--days", "45"])
    assert result.exit_code == 0, result.output
    assert "alpha: free trial ends" in result.output
    ends = account_of().trial_ends_at
    assert timedelta(days=44) < ends - utcnow() <= timedelta(days=45)
    unknown = runner.invoke(args=["billing", "trial", "nowhere"])
    assert unknown.exit_code != 0
    assert "no workspace 'nowhere'" in unknown.output


def test_a_failed_checkout_retried_reuses_the_same_stripe_customer(admin, stripe_fake, account_of):
    """The customer made before Checkout failed is not kept locally (rolled back); the retry
    sends the same idempotency key, so Stripe answers with that customer, not a second one."""
    stripe_fake.fail("POST", "/v1/checkout/sessions", status=500)
    assert admin.post(PAGE + "/checkout", data={"plan": "municipal"}).status_code == 303
    assert account_of() is None
    retry = admin.post(PAGE + "/checkout", data={"plan": "municipal"})
    assert retry.headers["Location"].startswith("https://checkout.stripe.test/")
    assert len(stripe_fake.calls_to("POST", "/v1/customers")) == 2
    assert len(stripe_fake.customers) == 1
    assert account_of().stripe_customer_id == next(iter(stripe_fake.customers))
