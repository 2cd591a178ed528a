"""The buyer portal in a real browser: a month's forecast sent in place (htmx swaps the
monthly table), and a quote approved."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.orders.models import OrderMonth
from app.orders.service import add_months
from app.portal.models import QuoteAnswer, QuoteDecision
from tests.support.people import PASSWORD

pytestmark = pytest.mark.e2e


def sign_in(page: Page, live_server: str, email: str) -> None:
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button.primary")
    expect(page).to_have_url(f"{live_server}/t/alpha/portal/")


def test_buyer_sends_a_forecast(page: Page, live_server: str, shop, read) -> None:
    sign_in(page, live_server, "buyer_a@example.jp")
    month = add_months(shop.this_month, 2)
    key = month.strftime("%Y-%m")
    page.click(f"#forecasts a[href$='#month-{key}']")
    expect(page).to_have_url(f"{live_server}/t/alpha/portal/orders/1#month-{key}")

    # A typo is refused in place; nothing is stored.
    page.fill(f"#forecast-{key}", "たくさん")
    page.click(f"#ff-{key} button")
    expect(page.locator(f"#forecast-{key}-error")).to_be_visible()

    page.fill(f"#forecast-{key}", "２５０，０００")
    page.click(f"#ff-{key} button")
    row = page.locator(f"#month-{key}")
    expect(row.locator("time")).to_have_count(1)  # the time it was received
    expect(row.locator(".badge-admin")).to_have_count(0)  # before the deadline: not late
    expect(page.locator(f"#forecast-{key}")).to_have_value("250000")
    expect(page).to_have_url(
        f"{live_server}/t/alpha/portal/orders/1#month-{key}"
    )  # swapped in place
    stored = read(lambda s: s.scalars(select(OrderMonth).where(OrderMonth.month == month)).one())
    assert stored.forecast_amount == 250_000

    # This month's deadline (the 28th of last month) has passed: accepted, marked late.
    this = shop.this_month.strftime("%Y-%m")
    page.fill(f"#forecast-{this}", "90000")
    page.click(f"#ff-{this} button")
    expect(page.locator(f"#month-{this} .badge-admin")).to_have_count(1)


def test_buyer_approves_a_quote(page: Page, live_server: str, shop, read) -> None:
    sign_in(page, live_server, "buyer_a@example.jp")
    page.click(f"#quotes a[href='/t/alpha/portal/deals/{shop.quote_deal}']")
    expect(page.locator("#quote")).to_contain_text("1,800,000")
    page.select_option("#answer", "approved")
    page.fill("#comment", "この金額でお願いします")
    page.click("#answer-form button.primary")
    expect(page.locator(".flashes .flash-success")).to_be_visible()
    expect(page.locator("#quote-answer")).to_be_visible()
    expect(page.locator("#answer-form")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("この金額でお願いします")
    decision = read(
        lambda s: s.scalars(
            select(QuoteDecision).where(QuoteDecision.deal_id == shop.quote_deal)
        ).one()
    )
    assert decision.answer == QuoteAnswer.APPROVED
    # Back on the home page the quote no longer waits.
    page.goto(f"{live_server}/t/alpha/portal/")
    expect(page.locator("#quotes a")).to_have_count(0)
