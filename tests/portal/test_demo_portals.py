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


def test_demo_buyer_sees_the_quality_of_its_delivered_lot(client, demo):
    sign_in(client, "buyer@demo.example")
    page = client.get("/t/demo/portal/quality").text
    row = page.split("L2610-01", 1)[1].split("</tr>", 1)[0]
    assert "26,380" in row and "26,500" in row  # partly accepted after sorting
    lot = re.search(r'href="(/t/demo/portal/lots/\d+)">L2610-01<', page).group(1)
    trace = client.get(lot).text
    assert "いっぽ製作所" in trace and "作業マニュアル v1" in trace
    ncs = client.get("/t/demo/portal/nonconformances").text
    assert "ラベルの貼り位置ずれ" in ncs
    support = client.get("/t/demo/portal/support").text
    assert "ラベル位置の基準をビデオ通話で確認したい" in support


def test_demo_facility_has_a_manual_to_confirm_and_a_lot_to_check(client, demo):
    sign_in(client, "facility@demo.example")
    home = client.get("/t/demo/facility/").text
    assert 'class="big-number">1<' in home.split('id="manuals-to-confirm"', 1)[1]
    manuals = client.get("/t/demo/facility/manuals").text
    assert "ラベルの位置を右上から左上に変更" in manuals
    lots = client.get("/t/demo/facility/lots").text
    card = lots.split("L2611-02", 1)[1].split("</li>", 1)[0]
    assert "5,000" in card  # its progress so far, its own check still to do
    figures = client.get("/t/demo/facility/quality").text
    assert "100.0%" in figures.split('id="first-pass-yield"', 1)[1].split("</div>", 1)[0]
