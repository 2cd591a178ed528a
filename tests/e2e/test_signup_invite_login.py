"""The foundation's journey in a real browser: sign up a workspace, invite a colleague,
the colleague joins through the e-mailed link and signs in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.mail import outbox

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "sakura blossoms 2026"
COLLEAGUE_PASSWORD = "green tea ceremony"


def test_signup_invite_and_colleague_login(page: Page, live_server: str, app) -> None:
    page.goto(f"{live_server}/signup")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.fill("#name", "さくら市 共同受注窓口")
    page.select_option("#kind", "municipality")
    page.select_option("#prefecture_code", "13")
    page.fill("#slug", "sakura")
    page.fill("#admin_name", "桜井 陽子")
    page.fill("#email", "sakurai@sakura.example.jp")
    page.fill("#password", ADMIN_PASSWORD)
    page.fill("#password_confirm", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server}/t/sakura/")
    expect(page.locator("h1")).to_have_text("さくら市 共同受注窓口")

    # Invite through the htmx form, reached from the members page.
    page.goto(f"{live_server}/t/sakura/members")
    page.click("text=メンバーを招待")
    expect(page).to_have_url(f"{live_server}/t/sakura/members/invite")
    page.fill("#invite #email", "not-an-address")
    page.click("#invite button[type=submit]")
    expect(page.locator("#invite .field-error")).to_be_visible()  # swapped in place by htmx
    page.fill("#invite #email", "tanaka@sakura.example.jp")
    page.select_option("#invite #role", "coordinator")
    page.click("#invite button[type=submit]")
    expect(page.locator("table.data").last).to_contain_text("tanaka@sakura.example.jp")

    with app.app_context():
        mail = outbox()[-1]
    assert mail.to == "tanaka@sakura.example.jp"
    link = re.search(r"https?://\S+/invite/\S+", mail.body)
    assert link, mail.body

    # Sign out (the header menu), then join as the colleague.
    page.click("details.menu >> nth=1")
    page.click("form[action='/logout'] button")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(link.group(0))
    page.fill("#name", "田中 太郎")
    page.fill("#password", COLLEAGUE_PASSWORD)
    page.fill("#password_confirm", COLLEAGUE_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server}/t/sakura/")

    # A fresh browser session: the colleague signs in with the new password.
    page.context.clear_cookies()
    page.goto(f"{live_server}/login")
    page.fill("#email", "tanaka@sakura.example.jp")
    page.fill("#password", COLLEAGUE_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server}/t/sakura/")
    expect(page.locator("main .badge-coordinator")).to_be_visible()
