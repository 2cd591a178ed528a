"""The deal pages in a real browser: moving a card on the board and searching the list are
swapped in place by htmx, and the recurring amount is shown while it is typed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.deals.models import DealStage
from tests.conftest import PASSWORD
from tests.deals.conftest import add_deals, get_deal, new_deal

pytestmark = pytest.mark.e2e


def sign_in(page: Page, live_server: str, email: str) -> None:
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{live_server}/t/alpha/")


def test_board_moves_and_list_search(page: Page, live_server: str, world, samples, arrange, read):
    [deal_id] = add_deals(arrange, new_deal(title="見積中の案件", stage=DealStage.QUOTE))
    sign_in(page, live_server, "coordinator@example.jp")
    page.goto(f"{live_server}/t/alpha/deals/board")
    page.evaluate("window.notReloaded = true")
    card = page.locator(f"#deal-{deal_id}")
    expect(page.locator(".stage-quote")).to_contain_text("見積中の案件")
    card.locator("button[name=stage][value=won]").click()
    expect(page.locator("section.stage-won")).to_contain_text("見積中の案件")
    expect(page.locator("section.stage-quote")).not_to_contain_text("見積中の案件")
    assert page.evaluate("window.notReloaded") is True  # swapped by htmx, not reloaded
    assert read(get_deal(deal_id)).stage == DealStage.WON

    # Any stage through the select; lost asks for the reason on the form.
    page.locator(f"#move-{deal_id}").select_option("lost")
    page.locator(f"#deal-{deal_id} form >> nth=1").locator("button").click()
    expect(page).to_have_url(f"{live_server}/t/alpha/deals/{deal_id}/edit?stage=lost")
    page.select_option("#lost_reason_id", "1")
    page.click("form.stack button[type=submit]")
    expect(page).to_have_url(f"{live_server}/t/alpha/deals/{deal_id}")
    assert read(get_deal(deal_id)).stage == DealStage.LOST

    page.goto(f"{live_server}/t/alpha/deals/")
    page.evaluate("window.notReloaded = true")
    page.fill("#q", "部品")
    expect(page.locator("#rows tbody tr")).to_have_count(1)
    expect(page.locator("#rows")).to_contain_text("部品の組立")
    assert page.evaluate("window.notReloaded") is True


def test_recurring_amount_preview_and_timeline(page: Page, live_server: str, world, samples):
    sign_in(page, live_server, "coordinator@example.jp")
    page.goto(f"{live_server}/t/alpha/deals/new")
    page.check("#recurrence-1")
    page.fill("#monthly_amount", "150000")
    page.fill("#expected_months", "12")
    expect(page.locator("#amount-preview")).to_contain_text("1,800,000円")

    page.goto(f"{live_server}/t/alpha/deals/1")
    page.evaluate("window.notReloaded = true")
    page.fill("#body", "見学日を調整中")
    page.click("#timeline button[type=submit]")
    expect(page.locator("#timeline .timeline-entry").first).to_contain_text("見学日を調整中")
    assert page.evaluate("window.notReloaded") is True
