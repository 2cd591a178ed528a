"""Matching in a real browser: exclude a facility and re-solve (htmx swaps the proposal in
place), then confirm; the order page lists the assignments."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def test_adjust_resolve_and_confirm(page: Page, live_server: str, world, floor) -> None:
    himawari, aoba, midori, *_ = floor
    page.goto(f"{live_server}/login")
    page.fill("#email", "coordinator@example.jp")
    page.fill("#password", PASSWORD)
    page.click("main button.primary")
    page.goto(f"{live_server}/t/alpha/matching/orders/1?month=2026-07")
    expect(page.locator(f"#q-{himawari}")).to_be_visible()
    expect(page.locator(f"#q-{aoba}")).to_be_visible()

    # Exclude aoba and re-solve: the proposal is replaced without leaving the page.
    page.check(f"input[name='ex-{aoba}']")
    page.click("button[formaction$='/propose']")
    expect(page.locator(f"#q-{aoba}")).to_have_count(0)
    expect(page.locator(f"input[name='ex-{aoba}'][checked]")).to_have_count(1)
    expect(page.locator(f"#q-{midori}")).to_have_value("40")
    expect(page).to_have_url(f"{live_server}/t/alpha/matching/orders/1?month=2026-07")

    page.click("#proposal button.primary")
    expect(page.locator(".flash-success")).to_contain_text("割当を確定しました")
    page.goto(f"{live_server}/t/alpha/orders/1")
    expect(page.locator("#assignments")).to_contain_text("ひまわり作業所")
    expect(page.locator("#assignments")).to_contain_text("みどり園")
