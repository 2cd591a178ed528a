"""The facility portal: its own assignments, schedule, notices and wage-relevant totals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.matching.models import Assignment
from app.notifications.models import Notification
from app.orders.models import OrderMonth
from app.orders.service import add_months


@pytest.fixture
def work(shop, arrange):
    """Facility X (1) and Y share order 1 this month: 30 and 90 h of 120; the month's
    forecast is 240,000 yen. Next month X has 20 h and the month has an actual of 100,000."""
    this, nxt = shop.this_month, add_months(shop.this_month, 1)

    def build(s):
        s.add_all(
            [
                Assignment(order_id=1, facility_id=1, month=this, quantity=30, hours=30),
                Assignment(
                    order_id=1, facility_id=shop.facility_y_id, month=this, quantity=90, hours=90
                ),
                Assignment(order_id=1, facility_id=1, month=nxt, quantity=20, hours=20),
                OrderMonth(order_id=1, month=this, forecast_amount=240_000),
                OrderMonth(order_id=1, month=nxt, forecast_amount=1, actual_amount=100_000),
            ]
        )

    arrange(build)
    return this, nxt


@pytest.fixture
def facility(client, shop):
    return client.login_as(shop.facility_x)


def test_home_shows_this_months_work_hours_amount_and_new_notices(facility, work):
    page = facility.get("/t/alpha/facility/").text
    assert "部品の組立" in page and "株式会社サンプル" in page
    assert "60,000" in page  # 240,000 × 30 / 120, an estimate from the forecast
    assert 'class="big-number">1<' in page  # the sample notification, unread


def test_totals_per_month_use_actuals_when_known(facility, work):
    this, nxt = work
    page = facility.get("/t/alpha/facility/totals").text
    this_row = page.split(f'id="total-{this.strftime("%Y-%m")}"')[1].split("</tr>")[0]
    next_row = page.split(f'id="total-{nxt.strftime("%Y-%m")}"')[1].split("</tr>")[0]
    assert "60,000" in this_row and "badge-info" in this_row  # estimate
    assert "100,000" in next_row and "badge-info" not in next_row  # all 20 h of 20: the actual
    assert facility.get("/t/alpha/facility/totals?fy=1").status_code == 200  # out of range: now


def test_schedule_shows_only_this_facilitys_work(client, shop, work):
    x = client.login_as(shop.facility_x).get("/t/alpha/facility/schedule").text
    assert x.count('class="work-card"') == 2
    y = client.login_as(shop.facility_y).get("/t/alpha/facility/schedule").text
    assert y.count('class="work-card"') == 1


def test_notices_are_the_facilitys_own_and_can_be_marked_read(facility, shop, read):
    page = facility.get("/t/alpha/facility/notices").text
    assert "作業の割当" in page and "わかば宛" not in page
    assert facility.post(f"/t/alpha/facility/notices/{shop.notice_y}/read").status_code == 404
    assert facility.post("/t/alpha/facility/notices/1/read").status_code == 303
    notes = read(lambda s: {n.id: n.read_at for n in s.scalars(select(Notification))})
    assert notes[1] is not None and notes[shop.notice_y] is None


def test_mark_all_read_touches_only_this_facility(facility, shop, read, arrange):
    arrange(lambda s: s.add(Notification(facility_id=1, kind="assignment", title="二通目")))
    assert facility.post("/t/alpha/facility/notices/read-all").status_code == 303
    unread = read(
        lambda s: s.scalars(select(Notification.id).where(Notification.read_at.is_(None))).all()
    )
    assert unread == [shop.notice_y]


def test_staff_and_buyers_are_refused_and_the_facility_sees_no_staff_screens(client, shop, world):
    assert client.login_as(world.coordinator).get("/t/alpha/facility/").status_code == 403
    assert client.login_as(shop.buyer_a).get("/t/alpha/facility/").status_code == 403
    facility = client.login_as(shop.facility_x)
    for path in ("/t/alpha/", "/t/alpha/facilities/1", "/t/alpha/portal/", "/t/alpha/matching/"):
        assert facility.get(path).status_code == 403, path


def test_pages_cost_the_same_queries_with_more_work(facility, shop, work, arrange, query_counter):
    paths = ["/t/alpha/facility/", "/t/alpha/facility/schedule", "/t/alpha/facility/totals"]

    def count_for(path):
        facility.get(path)
        query_counter.clear()
        assert facility.get(path).status_code == 200
        return len(query_counter)

    before = {path: count_for(path) for path in paths}

    def grow(s):
        for n in range(2, 6):
            month = add_months(shop.this_month, n)
            s.add(Assignment(order_id=1, facility_id=1, month=month, quantity=5, hours=5))
            s.add(OrderMonth(order_id=1, month=month, forecast_amount=10_000))
            s.add(Notification(facility_id=1, kind="assignment", title=f"通知 {n}"))

    arrange(grow)
    assert {path: count_for(path) for path in paths} == before
