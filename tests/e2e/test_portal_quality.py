"""The portals' quality pages in a real browser, at a tablet's size: the facility confirms the
new version of its manual; the buyer sees the scope of its support request change as it
chooses an on-site visit (htmx swaps the panel), then sends it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import select

from app.agreements.models import Agreement
from app.quality.models import ManualAcknowledgement, SupportMode, SupportRequest
from tests.support.people import PASSWORD

pytestmark = pytest.mark.e2e

TABLET: ViewportSize = {"width": 800, "height": 1280}
# The facility portal's targets are at least this tall (a finger, not a mouse).
MIN_TARGET = 56


def sign_in(page: Page, live_server: str, email: str, home: str) -> None:
    page.set_viewport_size(TABLET)
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button.primary")
    expect(page).to_have_url(f"{live_server}{home}")


def test_facility_confirms_the_new_manual_version(page: Page, live_server: str, qshop, read):
    sign_in(page, live_server, "facility_x@example.jp", "/t/alpha/facility/")
    expect(page.locator("#manuals-to-confirm .big-number")).to_have_text("1")

    page.click(".big-tabs a[href='/t/alpha/facility/manuals']")
    card = page.locator("#manual-1")
    expect(card).to_contain_text("ラベルの位置を左上に変更")  # what changed
    card.locator("a.big-button").click()
    expect(page).to_have_url(f"{live_server}/t/alpha/facility/manuals/1")
    expect(page.locator("#latest")).to_contain_text("手順2: ラベルは左上")

    button = page.locator("#acknowledge")
    # The URL changes before the stylesheet has loaded: measure the styled button.
    page.wait_for_load_state("load")
    box = button.bounding_box()
    assert box is not None and box["height"] >= MIN_TARGET
    button.click()
    expect(page.locator(".flashes .flash-success")).to_be_visible()
    expect(page.locator("#acknowledge")).to_have_count(0)
    expect(page.locator("#acknowledgement")).to_contain_text("Facility_X")
    ack = read(
        lambda s: s.scalars(
            select(ManualAcknowledgement).where(ManualAcknowledgement.version_id == qshop.version2)
        ).one()
    )
    assert ack.facility_id == 1

    page.click(".big-tabs a[href='/t/alpha/facility/']")
    expect(page.locator("#manuals-to-confirm .big-number")).to_have_text("0")


def test_buyer_sees_the_scope_before_sending(page: Page, live_server: str, qshop, arrange, read):
    def terms(s):
        agreement = s.get(Agreement, (s.info["tenant_id"], 1))
        agreement.remote_support_first = True
        agreement.onsite_rate_yen = 30_000

    arrange(terms)
    sign_in(page, live_server, "buyer_a@example.jp", "/t/alpha/portal/")
    page.goto(f"{live_server}/t/alpha/portal/support/new")
    expect(page.locator("#scope-flag")).to_have_count(0)  # remote: within the scope
    page.fill("#subject", "組立ラインの立会い")

    page.select_option("#mode", "onsite")  # htmx refreshes the panel
    expect(page.locator("#scope-flag")).to_be_visible()
    expect(page.locator("#scope-reasons")).to_contain_text("リモート")
    page.check("#remote_tried")  # tried remote: a free visit is left
    expect(page.locator("#scope-flag")).to_have_count(0)
    expect(page.locator("#scope-verdict")).to_be_visible()
    page.click("button[name=step][value=send]")
    expect(page.locator(".flashes .flash-success")).to_be_visible()
    sent = read(lambda s: s.scalars(select(SupportRequest).order_by(SupportRequest.id)).all())
    assert sent[-1].subject == "組立ラインの立会い" and sent[-1].mode == SupportMode.ONSITE
    assert sent[-1].remote_tried
