"""The order page: delivery lots (original and revised due dates, overdue), the monthly
forecast-and-actual table (inline htmx edits, lateness), the timeline, and its query count."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from app.agreements.models import Agreement
from app.db import utcnow
from app.jp import today_jst
from app.orders import service
from app.orders.models import Delivery, DeliveryStatus, Order, OrderMonth
from app.timeline.models import EntryKind, TimelineEntry
from tests.orders.conftest import assert_error_at, count, error_fields, flashes

ORDER = "/t/alpha/orders/1"
HX = {"HX-Request": "true"}


def lot(read, lot_id: int = 1) -> Delivery:
    return read(lambda s: s.get(Delivery, (s.info["tenant_id"], lot_id)))


def changes(read) -> list[TimelineEntry]:
    return read(
        lambda s: list(
            s.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.order_id == 1, TimelineEntry.kind == EntryKind.CHANGE)
                .order_by(TimelineEntry.id)
            )
        )
    )


# --- deliveries --------------------------------------------------------------------------------


def test_add_a_lot(client, world, samples, read):
    client.login_as(world.coordinator)
    data = {"lot_no": "L-002", "quantity": "1,200", "due_on": "2026-12-01"}
    response = client.post(ORDER + "/deliveries", data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == ORDER + "#deliveries"
    added = lot(read, 2)
    assert (added.lot_no, added.quantity, added.original_due_on) == (
        "L-002",
        1200,
        date(2026, 12, 1),
    )
    assert added.revised_due_on is None and added.status == DeliveryStatus.PLANNED
    assert "L-002" in client.get(ORDER).text


def test_add_a_lot_bad_input(client, world, samples, read):
    client.login_as(world.coordinator)
    good = {"lot_no": "L-002", "quantity": "10", "due_on": "2026-12-01"}
    cases = [
        ({"lot_no": "L-001"}, "lot_no"),  # lot numbers are unique per order
        ({"lot_no": ""}, "lot_no"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "many"}, "quantity"),
        ({"quantity": "3000000000"}, "quantity"),  # more than the column holds
        ({"quantity": ""}, "quantity"),
        ({"due_on": ""}, "due_on"),
        ({"due_on": "2026-13-01"}, "due_on"),
    ]
    for change, field in cases:
        response = client.post(ORDER + "/deliveries", data={**good, **change})
        assert response.status_code == 422, change
        assert_error_at(response.text, field)
    # htmx gets the deliveries section alone, errors in place.
    response = client.post(
        ORDER + "/deliveries",
        data={**good, "lot_no": "L-001"},
        headers={**HX, "HX-Target": "deliveries"},
    )
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<section id="deliveries"')
    assert read(count(Delivery)) == 1


def test_the_same_lot_number_is_fine_on_another_order(client, world, samples, arrange, read):
    def second(s):
        order = Order(buyer_id=1, title="別の受注", confirmed_on=date(2026, 6, 1))
        s.add(order)
        s.flush()
        return order.id

    order_id = arrange(second)
    client.login_as(world.coordinator)
    data = {"lot_no": "L-001", "quantity": "5", "due_on": "2026-12-01"}
    assert client.post(f"/t/alpha/orders/{order_id}/deliveries", data=data).status_code == 303
    assert read(count(Delivery)) == 2


def test_moving_a_due_date_keeps_the_original(client, world, samples, read):
    client.login_as(world.coordinator)
    url = ORDER + "/deliveries/1/edit"
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="2026-07-01"' in page.text
    data = {"lot_no": "L-001", "quantity": "100", "due_on": "2026-07-15", "status": "planned"}
    assert client.post(url, data=data).status_code == 303
    moved = lot(read)
    assert (moved.original_due_on, moved.revised_due_on, moved.due_on) == (
        date(2026, 7, 1),
        date(2026, 7, 15),
        date(2026, 7, 15),
    )
    assert moved.quantity == 100
    assert len(changes(read)) == 1
    # Moving it again keeps the first original.
    client.post(url, data={**data, "due_on": "2026-08-01"})
    assert (lot(read).original_due_on, lot(read).revised_due_on) == (
        date(2026, 7, 1),
        date(2026, 8, 1),
    )
    # Back to the original date: no revision any more.
    client.post(url, data={**data, "due_on": "2026-07-01"})
    assert (lot(read).original_due_on, lot(read).revised_due_on) == (date(2026, 7, 1), None)
    assert len(changes(read)) == 3
    # Same date, same status: nothing on the timeline.
    client.post(url, data={**data, "due_on": "2026-07-01", "quantity": "120"})
    assert len(changes(read)) == 3


def test_lot_status_and_delivery_date(client, world, samples, read):
    client.login_as(world.coordinator)
    url = ORDER + "/deliveries/1/edit"
    data = {"lot_no": "L-001", "quantity": "0", "due_on": "2026-07-01"}
    client.post(url, data={**data, "status": "in_production"})
    assert lot(read).status == DeliveryStatus.IN_PRODUCTION
    # Delivered without a date: delivered today.
    client.post(url, data={**data, "status": "delivered"})
    assert (lot(read).status, lot(read).delivered_on) == (
        DeliveryStatus.DELIVERED,
        today_jst(),
    )
    client.post(url, data={**data, "status": "accepted", "delivered_on": "2026-06-30"})
    assert (lot(read).status, lot(read).delivered_on) == (
        DeliveryStatus.ACCEPTED,
        date(2026, 6, 30),
    )
    assert len(changes(read)) == 3


def test_edit_lot_bad_input(client, world, samples, arrange, read):
    arrange(lambda s: s.add(Delivery(order_id=1, lot_no="L-002", original_due_on=date(2026, 9, 1))))
    client.login_as(world.coordinator)
    url = ORDER + "/deliveries/1/edit"
    good = {"lot_no": "L-001", "quantity": "10", "due_on": "2026-07-01", "status": "planned"}
    cases = [
        ({"lot_no": "L-002"}, "lot_no"),
        ({"quantity": "-5"}, "quantity"),
        ({"due_on": ""}, "due_on"),
        ({"delivered_on": "yesterday"}, "delivered_on"),
        ({"status": "lost"}, "status"),
    ]
    for change, field in cases:
        response = client.post(url, data={**good, **change})
        assert response.status_code == 422, change
        assert_error_at(response.text, field)
    unchanged = lot(read)
    assert (unchanged.lot_no, unchanged.quantity, unchanged.revised_due_on) == ("L-001", 0, None)
    assert changes(read) == []


def test_a_lot_belongs_to_its_order(client, world, samples, arrange):
    def second(s):
        order = Order(buyer_id=1, title="別の受注", confirmed_on=date(2026, 6, 1))
        s.add(order)
        s.flush()
        return order.id

    order_id = arrange(second)
    client.login_as(world.coordinator)
    assert client.get(f"/t/alpha/orders/{order_id}/deliveries/1/edit").status_code == 404
    assert client.get(ORDER + "/deliveries/99/edit").status_code == 404


def test_readers_cannot_change_lots(client, world, samples, read):
    client.login_as(world.viewer)
    page = client.get(ORDER).text
    assert "/deliveries/1/edit" not in page
    assert 'action="/t/alpha/orders/1/deliveries"' not in page
    data = {"lot_no": "L-009", "quantity": "1", "due_on": "2026-12-01"}
    assert client.post(ORDER + "/deliveries", data=data).status_code == 403
    assert client.get(ORDER + "/deliveries/1/edit").status_code == 403
    edit = {**data, "status": "delivered"}
    assert client.post(ORDER + "/deliveries/1/edit", data=edit).status_code == 403
    assert read(count(Delivery)) == 1
    assert lot(read).status == DeliveryStatus.PLANNED


def test_overdue_lots_are_highlighted(client, world, samples, arrange):
    today = today_jst()

    def lots(s):
        s.add_all(
            [
                Delivery(order_id=1, lot_no="LATE", original_due_on=today - timedelta(days=1)),
                Delivery(order_id=1, lot_no="TODAY", original_due_on=today),
                Delivery(
                    order_id=1,
                    lot_no="DONE",
                    original_due_on=today - timedelta(days=5),
                    delivered_on=today - timedelta(days=6),
                    status=DeliveryStatus.DELIVERED,
                ),
                Delivery(
                    order_id=1,
                    lot_no="MOVED",
                    original_due_on=today - timedelta(days=5),
                    revised_due_on=today + timedelta(days=5),
                ),
            ]
        )

    arrange(lots)
    client.login_as(world.viewer)
    html = client.get(ORDER).text
    pattern = r'<tr id="lot-\d+" class="(\w*)">\s*<td>([\w-]+)</td>'
    classes = {lot_no: cls for cls, lot_no in re.findall(pattern, html)}
    # L-001 is the sample lot due 2026-07-01, undelivered.
    expected_l001 = "overdue" if date(2026, 7, 1) < today else ""
    assert classes == {
        "L-001": expected_l001,
        "LATE": "overdue",
        "TODAY": "",
        "DONE": "",
        "MOVED": "",
    }


# --- the monthly table -------------------------------------------------------------------------


def month_row(html: str, key: str) -> str:
    match = re.search(rf'<tr id="month-{key}">(.*?)</tr>', html, re.S)
    assert match is not None, key
    return match.group(1)


def test_monthly_table_covers_the_schedule(client, world, samples, arrange):
    client.login_as(world.viewer)
    # No schedule: the fiscal year the order was confirmed in (2026-06-01 → FY2026).
    html = client.get(ORDER).text
    keys = re.findall(r'<tr id="month-(\d{4}-\d{2})">', html)
    assert keys[0] == "2026-04" and keys[-1] == "2027-03" and len(keys) == 12
    assert "-20,000円" in month_row(html, "2026-07")

    def schedule(s):
        order = s.get(Order, (world.alpha.id, 1))
        order.starts_on, order.ends_on = date(2026, 9, 10), date(2027, 1, 20)

    arrange(schedule)
    html = client.get(ORDER).text
    keys = re.findall(r'<tr id="month-(\d{4}-\d{2})">', html)
    # The schedule, plus July where figures are recorded (nothing recorded is hidden).
    assert keys == ["2026-07", "2026-09", "2026-10", "2026-11", "2026-12", "2027-01"]


def test_enter_a_forecast_inline_with_htmx(client, world, samples, read):
    client.login_as(world.coordinator)
    before = utcnow()
    response = client.post(
        ORDER + "/months",
        data={"month": "2026-08", "forecast": "２５０，０００円", "actual": ""},
        headers={**HX, "HX-Target": "months"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="months"')
    row = month_row(response.text, "2026-08")
    assert 'value="250000"' in row
    month = read(
        lambda s: s.scalars(select(OrderMonth).where(OrderMonth.month == date(2026, 8, 1))).one()
    )
    assert (month.forecast_amount, month.actual_amount) == (250_000, None)
    assert month.forecast_submitted_at is not None and month.forecast_submitted_at >= before
    stamped = month.forecast_submitted_at
    # Entering the actual later does not restamp the forecast.
    client.post(ORDER + "/months", data={"month": "2026-08", "forecast": "250000", "actual": "1"})
    again = read(lambda s: s.get(OrderMonth, (world.alpha.id, month.id)))
    assert (again.actual_amount, again.forecast_submitted_at) == (1, stamped)
    # Clearing the forecast clears its stamp; blank means unknown.
    client.post(ORDER + "/months", data={"month": "2026-08", "forecast": "", "actual": "1"})
    cleared = read(lambda s: s.get(OrderMonth, (world.alpha.id, month.id)))
    assert (cleared.forecast_amount, cleared.forecast_submitted_at) == (None, None)


def test_month_form_without_javascript_redirects(client, world, samples, read):
    client.login_as(world.coordinator)
    response = client.post(
        ORDER + "/months", data={"month": "2026-07", "forecast": "210000", "actual": "180000"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == ORDER + "#months"
    assert read(lambda s: s.get(OrderMonth, (world.alpha.id, 1))).forecast_amount == 210_000
    assert flashes(client.get(ORDER).text) == ["success"]


def test_month_form_bad_input(client, world, samples, read):
    client.login_as(world.coordinator)
    cases = [
        ({"forecast": "-1"}, "forecast-2026-07"),
        ({"actual": "-100"}, "actual-2026-07"),
        ({"forecast": "12.5"}, "forecast-2026-07"),
        ({"actual": "たくさん"}, "actual-2026-07"),
        ({"forecast": "2147483648"}, "forecast-2026-07"),
    ]
    for change, field in cases:
        data = {"month": "2026-07", "forecast": "1", "actual": "2", **change}
        response = client.post(ORDER + "/months", data=data, headers={**HX, "HX-Target": "months"})
        assert response.status_code == 422, change
        assert response.text.lstrip().startswith('<section id="months"')
        assert_error_at(response.text, field)
        # The row keeps what was typed.
        typed = change[next(iter(change))]
        assert f'value="{typed}"' in month_row(response.text, "2026-07")
    # A month outside the order, or no month at all.
    for month in ("2030-01", "2026-13", "", "July"):
        response = client.post(ORDER + "/months", data={"month": month, "forecast": "1"})
        assert response.status_code == 422, month
        assert error_fields(response.text) == {"month"}
    saved = read(lambda s: s.get(OrderMonth, (world.alpha.id, 1)))
    assert (saved.forecast_amount, saved.actual_amount) == (200_000, 180_000)
    assert read(count(OrderMonth)) == 1


def test_forecasts_after_the_deadline_are_late(client, world, samples, arrange, read):
    def deadline(s):
        s.get(Agreement, (world.alpha.id, 1)).forecast_deadline_day = 20

    arrange(deadline)
    client.login_as(world.coordinator)
    today = today_jst()
    this_month = today.replace(day=1)
    late_key = this_month.strftime("%Y-%m")  # its deadline (last month) has passed
    future = service.add_months(this_month, 2)
    future_key = future.strftime("%Y-%m")
    schedule = {"title": "部品の組立", "agreement_id": "1"}
    schedule |= {"starts_on": this_month.isoformat(), "ends_on": future.isoformat()}
    assert client.post(ORDER + "/edit", data=schedule).status_code == 303
    for key in (late_key, future_key):
        response = client.post(ORDER + "/months", data={"month": key, "forecast": "100000"})
        assert response.status_code == 303
    html = client.get(ORDER).text
    assert 'class="badge badge-admin"' in month_row(html, late_key)
    assert "badge-admin" not in month_row(html, future_key)


def test_readers_see_the_table_but_cannot_edit(client, world, samples, read):
    client.login_as(world.viewer)
    html = client.get(ORDER).text
    row = month_row(html, "2026-07")
    assert "200,000円" in row and "180,000円" in row and "<input" not in row
    response = client.post(ORDER + "/months", data={"month": "2026-07", "forecast": "1"})
    assert response.status_code == 403
    assert read(lambda s: s.get(OrderMonth, (world.alpha.id, 1))).forecast_amount == 200_000


# --- the timeline ------------------------------------------------------------------------------


def test_notes_on_the_order_timeline(client, world, samples, read):
    client.login_as(world.coordinator)
    response = client.post(
        ORDER + "/notes",
        data={"body": "納期を先方と調整済み", "kind": "decision"},
        headers={**HX, "HX-Target": "timeline"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="timeline"')
    assert "納期を先方と調整済み" in response.text
    response = client.post(
        ORDER + "/notes", data={"body": "社内メモ", "kind": "note", "internal": "y"}
    )
    assert response.status_code == 303
    entries = read(
        lambda s: list(s.scalars(select(TimelineEntry).where(TimelineEntry.order_id == 1)))
    )
    assert {(e.body, e.kind, e.internal) for e in entries} == {
        ("納期を先方と調整済み", EntryKind.DECISION, False),
        ("社内メモ", EntryKind.NOTE, True),
    }
    assert all(e.author_user_id == world.coordinator.id for e in entries)


def test_note_bad_input(client, world, samples, read):
    client.login_as(world.coordinator)
    before = read(count(TimelineEntry))
    for data in ({"body": "  ", "kind": "note"}, {"body": "x" * 4001, "kind": "note"}):
        response = client.post(ORDER + "/notes", data=data, headers={**HX, "HX-Target": "timeline"})
        assert response.status_code == 422
        assert_error_at(response.text, "body")
    response = client.post(ORDER + "/notes", data={"body": "ok", "kind": "change"})
    assert response.status_code == 422
    assert_error_at(response.text, "kind")
    assert read(count(TimelineEntry)) == before


def test_readers_cannot_write_on_the_timeline(client, world, samples, read):
    client.login_as(world.viewer)
    assert 'action="/t/alpha/orders/1/notes"' not in client.get(ORDER).text
    assert client.post(ORDER + "/notes", data={"body": "x", "kind": "note"}).status_code == 403
    assert read(count(TimelineEntry)) == 1


# --- cost --------------------------------------------------------------------------------------


def test_order_page_query_count_does_not_grow(client, world, samples, arrange, query_counter):
    client.login_as(world.coordinator)
    query_counter.clear()
    assert client.get(ORDER).status_code == 200
    few = len(query_counter)

    def lots_and_months(s):
        for n in range(2, 42):
            s.add(Delivery(order_id=1, lot_no=f"L-{n:03d}", original_due_on=date(2026, 8, 1)))
        for month in service.fiscal_year_first_days(2026):
            if month != date(2026, 7, 1):
                s.add(OrderMonth(order_id=1, month=month, forecast_amount=1, actual_amount=2))
        for n in range(30):
            s.add(TimelineEntry(order_id=1, body=f"メモ{n}", author_user_id=world.admin.id))

    arrange(lots_and_months)
    query_counter.clear()
    response = client.get(ORDER)
    assert response.status_code == 200
    assert response.text.count('<tr id="lot-') == 41
    assert len(query_counter) == few, query_counter
