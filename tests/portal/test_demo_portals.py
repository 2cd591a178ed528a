"""The demo's portal people: each lands in its portal and finds something to do there."""

from __future__ import annotations

import re

import pytest

from app.demo import DEMO_PASSWORD


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    for email in ("buyer@demo.example", "facility@demo.example", "support@demo.example"):
        assert email in result.output


def sign_in(client, email):
    return client.post("/login", data={"email": email, "password": DEMO_PASSWORD})


def test_demo_buyer_has_a_quote_to_answer_and_forecasts_to_send(app, client, demo):
    assert sign_in(client, "buyer@demo.example").headers["Location"] == "/t/demo/portal/"
    page = client.get("/t/demo/portal/").text
    assert "株式会社駿河フーズ" in page
    assert "販促品のキッティング・袋詰め" in page  # the quote waiting for an answer
    assert 'id="forecasts"' in page and "/t/demo/portal/orders/" in page
    assert client.get("/t/demo/").status_code == 403


def test_demo_facility_has_work_and_new_notices(client, demo):
    assert sign_in(client, "facility@demo.example").headers["Location"] == "/t/demo/facility/"
    assert "いっぽ製作所" in client.get("/t/demo/facility/").text
    # The demo is written as of 2026-11-21 (fiscal year 2026): its months have hours and yen.
    totals = client.get("/t/demo/facility/totals?fy=2026").text
    november = totals.split('id="total-2026-11"')[1].split("</tr>")[0]
    hours = [float(n.replace(",", "")) for n in re.findall(r'class="num">([\d,.]+)<', november)]
    assert hours and hours[0] > 0 and "円" in november
    notices = client.get("/t/demo/facility/notices").text
    assert notices.count('class="notice unread"') == 2


def test_demo_support_agent_sees_both_demo_workspaces_read_only(client, demo):
    assert sign_in(client, "support@demo.example").headers["Location"] == "/support"
    page = client.get("/support").text
    assert "デモ市 共同受注窓口" in page and "デモ県 セルプセンター" in page
    assert client.get("/t/demo/").status_code == 200
    assert client.post("/t/demo/buyers/1/archive").status_code == 403
