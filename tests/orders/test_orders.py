"""Order screens: the list, orders from deals and without, the order page, status, archive.

No assertions on wording (the Japanese catalogue is merged separately): status codes,
redirects, database state, the field an error is shown at, flash categories, query counts.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.agreements.models import Agreement, AgreementKind
from app.buyers.models import Buyer
from app.db import utcnow
from app.deals.models import Deal, DealStage
from app.jp import fiscal_year_of, fiscal_year_range, today_jst
from app.orders.models import Order, OrderMonth, OrderStatus
from app.timeline.models import EntryKind, TimelineEntry
from app.web import listing
from tests.orders.conftest import assert_error_at, count, flashes
from tests.support.samples import add_sample_records

LIST = "/t/alpha/orders/"
ORDER = "/t/alpha/orders/1"
HX = {"HX-Request": "true"}


def this_fy() -> int:
    return fiscal_year_of(today_jst())


def add_orders(arrange, n: int, buyer_id: int = 1, **values) -> None:
    def make(s):
        s.add_all(
            Order(
                buyer_id=buyer_id,
                title=f"案件{i:03d}",
                confirmed_on=values.get("confirmed_on", date(2026, 6, 1)),
                **{k: v for k, v in values.items() if k != "confirmed_on"},
            )
            for i in range(n)
        )

    arrange(make)


def titles_in(html: str) -> list[str]:
    import re

    return re.findall(r'/orders/\d+">([^<]+)</a>', html)


# --- the list ----------------------------------------------------------------------------------


def test_list_shows_orders_to_members_and_readers(client, world, samples):
    for person in (world.coordinator, world.viewer):
        client.login_as(person)
        response = client.get(LIST)
        assert response.status_code == 200
        assert "部品の組立" in response.text
        assert "株式会社サンプル" in response.text
    client.login_as(world.viewer)
    assert 'href="/t/alpha/orders/new"' not in client.get(LIST).text
    client.login_as(world.coordinator)
    assert 'href="/t/alpha/orders/new"' in client.get(LIST).text


def test_outsider_cannot_see_alpha_orders(client, world, samples):
    client.login_as(world.outsider)
    assert client.get(LIST).status_code == 404
    assert client.get(ORDER).status_code == 404
    assert client.post("/t/alpha/orders/from-deal/1").status_code == 404
    assert client.post(ORDER + "/months", data={"month": "2026-07"}).status_code == 404


def test_list_search_filters_and_sort(client, world, samples, arrange):
    def more(s):
        other = Buyer(name="山田製作所")
        s.add(other)
        s.flush()
        s.add_all(
            [
                Order(buyer_id=other.id, title="箱の組立", confirmed_on=date(2025, 5, 1)),
                Order(
                    buyer_id=1,
                    title="検品作業",
                    confirmed_on=date(2026, 8, 1),
                    status=OrderStatus.IN_PROGRESS,
                ),
            ]
        )
        return other.id

    other_id = arrange(more)
    client.login_as(world.coordinator)
    assert set(titles_in(client.get(LIST + "?q=組立").text)) == {"部品の組立", "箱の組立"}
    assert titles_in(client.get(LIST + "?q=山田").text) == ["箱の組立"]
    assert titles_in(client.get(LIST + "?q=組立 山田").text) == ["箱の組立"]
    assert titles_in(client.get(LIST + "?status=in_progress").text) == ["検品作業"]
    assert titles_in(client.get(LIST + f"?buyer={other_id}").text) == ["箱の組立"]
    assert titles_in(client.get(LIST + "?fy=2025").text) == ["箱の組立"]
    assert set(titles_in(client.get(LIST + "?fy=2026").text)) == {"部品の組立", "検品作業"}
    # Newest confirmed first by default; sortable by title and status both ways.
    assert titles_in(client.get(LIST).text) == ["検品作業", "部品の組立", "箱の組立"]
    by_date = titles_in(client.get(LIST + "?sort=confirmed_on").text)
    assert by_date == ["箱の組立", "部品の組立", "検品作業"]
    by_title = titles_in(client.get(LIST + "?sort=title").text)
    assert by_title == sorted(by_title)
    assert titles_in(client.get(LIST + "?sort=title&dir=desc").text) == by_title[::-1]
    by_status = titles_in(client.get(LIST + "?sort=status&dir=desc").text)
    assert by_status[0] == "検品作業"  # in_progress sorts after confirmed
    # Nonsense filters are ignored, not errors.
    assert client.get(LIST + "?status=nope&buyer=x&fy=abc&sort=evil").status_code == 200


def test_list_htmx_search_renders_only_the_rows(client, world, samples):
    client.login_as(world.viewer)
    response = client.get(LIST + "?q=部品", headers={**HX, "HX-Target": "rows"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="rows">')
    assert "HX-Request" in response.headers["Vary"]
    full = client.get(LIST + "?q=部品")
    assert "<html" in full.text and 'id="rows"' in full.text
    # Sort links and the pager keep real hrefs next to hx-get.
    assert 'href="/t/alpha/orders/?q=%E9%83%A8%E5%93%81&amp;sort=title"' in full.text
    assert 'hx-get="/t/alpha/orders/?q=%E9%83%A8%E5%93%81&amp;sort=title"' in full.text


def test_archived_orders_are_hidden_unless_asked_for(client, world, samples, arrange):
    def archive_it(s):
        s.get(Order, (world.alpha.id, 1)).archived_at = utcnow()

    arrange(archive_it)
    client.login_as(world.coordinator)
    assert titles_in(client.get(LIST).text) == []
    assert titles_in(client.get(LIST + "?archived=1").text) == ["部品の組立"]
    assert client.get(ORDER).status_code == 200  # still viewable


def test_list_shows_this_fiscal_years_actual_total_per_order(client, world, samples, arrange):
    start, _end = fiscal_year_range(this_fy())

    def months(s):
        s.add_all(
            [
                OrderMonth(order_id=1, month=start, actual_amount=100_000, forecast_amount=1),
                OrderMonth(order_id=1, month=start.replace(month=5), actual_amount=23_456),
                OrderMonth(order_id=1, month=start.replace(month=6)),  # unknown: counts as 0
                # The previous fiscal year does not count.
                OrderMonth(order_id=1, month=start.replace(year=start.year - 1), actual_amount=9),
            ]
        )

    arrange(months)
    # Beta has an order 1 too (ids are per workspace): its figures must not mix in.
    with_beta = arrange(
        lambda s: add_sample_records(s, world.memberships["outsider"], label="β"),
        tenant_id=world.beta.id,
    )
    assert with_beta["orders"] == 1
    arrange(
        lambda s: s.add(OrderMonth(order_id=1, month=start, actual_amount=5_000_000)),
        tenant_id=world.beta.id,
    )
    client.login_as(world.viewer)
    html = client.get(LIST).text
    # Sample month 2026-07 adds 180,000 only when it falls in this fiscal year.
    expected = 100_000 + 23_456 + (180_000 if fiscal_year_of(date(2026, 7, 1)) == this_fy() else 0)
    assert f"{expected:,}円" in html
    assert "5,000,000円" not in html


def test_list_pages_fifty_rows(client, world, samples, arrange):
    add_orders(arrange, 59)
    client.login_as(world.viewer)
    assert len(titles_in(client.get(LIST).text)) == 50
    second = client.get(LIST + "?page=2").text
    assert len(titles_in(second)) == 10
    assert 'rel="prev"' in second and 'rel="next"' not in second


@pytest.mark.parametrize("sort", ["", "&sort=title", "&sort=status&dir=desc"])
def test_deep_pages_found_by_their_ids_show_the_same_rows(
    client, world, samples, arrange, monkeypatch, sort
):
    """Past DEEP_OFFSET rows, a page's ids are looked up first; the rows, their order and the
    paging must be what the plain OFFSET gives."""
    add_orders(arrange, 130)
    client.login_as(world.viewer)
    plain = [titles_in(client.get(f"{LIST}?page={n}{sort}").text) for n in (1, 2, 3)]
    monkeypatch.setattr(listing, "DEEP_OFFSET", 1)
    deep = [titles_in(client.get(f"{LIST}?page={n}{sort}").text) for n in (1, 2, 3)]
    assert deep == plain
    assert [len(page) for page in deep] == [50, 50, 31]  # 130 and the sample order


def test_list_query_count_does_not_grow_with_rows(client, world, samples, arrange, query_counter):
    client.login_as(world.viewer)
    add_orders(arrange, 2)

    def months_for_all(s):
        start, _end = fiscal_year_range(this_fy())
        for order in s.scalars(select(Order)).all():
            s.add(OrderMonth(order_id=order.id, month=start, actual_amount=1_000))

    arrange(months_for_all)
    query_counter.clear()
    assert client.get(LIST).status_code == 200
    few = len(query_counter)
    add_orders(arrange, 57)
    arrange(lambda s: None)
    query_counter.clear()
    response = client.get(LIST)
    assert len(titles_in(response.text)) == 50
    assert len(query_counter) == few, query_counter


# --- orders from won deals ---------------------------------------------------------------------


def add_deal(arrange, **values) -> int:
    def make(s):
        deal = Deal(
            buyer_id=values.pop("buyer_id", 1),
            title=values.pop("title", "検品の委託"),
            stage=values.pop("stage", DealStage.WON),
            opened_on=date(2026, 4, 1),
            **values,
        )
        s.add(deal)
        s.flush()
        return deal.id

    return arrange(make)


def test_won_deal_becomes_an_order_with_the_latest_agreement(client, world, samples, arrange, read):
    def agreements(s):
        s.add_all(
            [
                Agreement(
                    buyer_id=1,
                    title="業務委託契約 2024",
                    kind=AgreementKind.OUTSOURCING,
                    signed_on=date(2024, 4, 1),
                ),
                Agreement(
                    buyer_id=1,
                    title="破棄済み 2025",
                    kind=AgreementKind.INDIVIDUAL,
                    signed_on=date(2025, 4, 1),
                    archived_at=utcnow(),
                ),
            ]
        )
        s.flush()
        return s.scalar(select(Agreement.id).where(Agreement.title == "業務委託契約 2024"))

    latest_id = arrange(agreements)
    deal_id = add_deal(arrange, closed_on=date(2026, 9, 15), amount=1_000)
    client.login_as(world.coordinator)
    response = client.post(f"/t/alpha/orders/from-deal/{deal_id}")
    assert response.status_code == 303
    order = read(lambda s: s.scalars(select(Order).where(Order.deal_id == deal_id)).one())
    assert response.headers["Location"] == f"/t/alpha/orders/{order.id}"
    assert (order.title, order.buyer_id) == ("検品の委託", 1)
    assert order.confirmed_on == date(2026, 9, 15)
    assert order.agreement_id == latest_id
    assert order.status == OrderStatus.CONFIRMED
    entries = read(lambda s: s.scalars(select(TimelineEntry)).all())
    on_deal = [e for e in entries if e.deal_id == deal_id]
    on_order = [e for e in entries if e.order_id == order.id]
    assert [e.kind for e in on_deal] == [EntryKind.CHANGE]
    assert [e.kind for e in on_order] == [EntryKind.CHANGE]
    assert on_order[0].author_user_id == world.coordinator.id
    assert flashes(client.get(response.headers["Location"]).text) == ["success"]


def test_deal_without_close_date_is_confirmed_today_without_agreement(
    client, world, samples, arrange, read
):
    def other_buyer(s):
        buyer = Buyer(name="取引先B")
        s.add(buyer)
        s.flush()
        return buyer.id

    buyer_id = arrange(other_buyer)
    deal_id = add_deal(arrange, buyer_id=buyer_id)
    client.login_as(world.admin)
    assert client.post(f"/t/alpha/orders/from-deal/{deal_id}").status_code == 303
    order = read(lambda s: s.scalars(select(Order).where(Order.deal_id == deal_id)).one())
    assert order.confirmed_on == today_jst()
    assert order.agreement_id is None


def test_a_deal_has_one_order_at_most(client, world, samples, read):
    client.login_as(world.coordinator)
    before = read(count(Order))
    response = client.post("/t/alpha/orders/from-deal/1")  # the sample deal already has order 1
    assert response.status_code == 303
    assert response.headers["Location"] == "/t/alpha/orders/1"
    assert read(count(Order)) == before
    assert flashes(client.get("/t/alpha/orders/1").text) == ["info"]
    # With htmx the whole page changes to the existing order.
    response = client.post("/t/alpha/orders/from-deal/1", headers=HX)
    assert response.headers["HX-Redirect"] == "/t/alpha/orders/1"


def test_a_deal_that_is_not_won_makes_no_order(client, world, samples, arrange, read):
    before_orders, before_entries = read(count(Order)), read(count(TimelineEntry))
    client.login_as(world.coordinator)
    for stage in (DealStage.QUOTE, DealStage.LOST):
        deal_id = add_deal(arrange, stage=stage)
        response = client.post(f"/t/alpha/orders/from-deal/{deal_id}")
        assert response.status_code == 422
        assert flashes(response.text) == ["error"]
    assert read(count(Order)) == before_orders
    assert read(count(TimelineEntry)) == before_entries
    assert client.post("/t/alpha/orders/from-deal/999").status_code == 404


def test_readers_cannot_make_orders_from_deals(client, world, samples, arrange, read):
    deal_id = add_deal(arrange)
    client.login_as(world.viewer)
    assert client.post(f"/t/alpha/orders/from-deal/{deal_id}").status_code == 403
    assert read(count(Order)) == 1


# --- orders without a deal ---------------------------------------------------------------------


def test_new_order_without_a_deal(client, world, samples, read):
    client.login_as(world.coordinator)
    page = client.get("/t/alpha/orders/new")
    assert page.status_code == 200
    assert today_jst().isoformat() in page.text  # confirmed today by default
    response = client.post(
        "/t/alpha/orders/new",
        data={
            "buyer_id": "1",
            "title": " 封入作業 ",
            "confirmed_on": "２０２６/０５/０１",
            "starts_on": "2026-05-01",
            "ends_on": "2026-10-31",
            "notes": "月2回納品",
        },
    )
    assert response.status_code == 303, response.text
    order = read(lambda s: s.scalars(select(Order).where(Order.title == "封入作業")).one())
    assert response.headers["Location"] == f"/t/alpha/orders/{order.id}"
    assert order.deal_id is None
    assert order.agreement_id == 1  # the buyer's agreement, linked automatically
    assert (order.confirmed_on, order.starts_on, order.ends_on) == (
        date(2026, 5, 1),
        date(2026, 5, 1),
        date(2026, 10, 31),
    )


def test_new_order_bad_input(client, world, samples, arrange, read):
    def archived_buyer(s):
        buyer = Buyer(name="旧取引先", archived_at=utcnow())
        s.add(buyer)
        s.flush()
        return buyer.id

    archived_id = arrange(archived_buyer)
    client.login_as(world.coordinator)
    good = {"buyer_id": "1", "title": "封入", "confirmed_on": "2026-05-01"}
    cases = [
        ({"buyer_id": ""}, "buyer_id"),
        ({"buyer_id": "999"}, "buyer_id"),
        ({"buyer_id": str(archived_id)}, "buyer_id"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"confirmed_on": ""}, "confirmed_on"),
        ({"confirmed_on": "2026-02-30"}, "confirmed_on"),
        ({"starts_on": "tomorrow"}, "starts_on"),
        ({"starts_on": "2026-06-01", "ends_on": "2026-05-31"}, "ends_on"),
        ({"starts_on": "2026-06-01", "ends_on": "2040-05-31"}, "ends_on"),
    ]
    for change, field in cases:
        response = client.post("/t/alpha/orders/new", data={**good, **change})
        assert response.status_code == 422, (change, response.status_code)
        assert_error_at(response.text, field)
    assert read(count(Order)) == 1


def test_readers_cannot_add_orders(client, world, samples, read):
    client.login_as(world.viewer)
    assert client.get("/t/alpha/orders/new").status_code == 403
    data = {"buyer_id": "1", "title": "封入", "confirmed_on": "2026-05-01"}
    assert client.post("/t/alpha/orders/new", data=data).status_code == 403
    assert read(count(Order)) == 1


# --- editing, status, archive ------------------------------------------------------------------


def test_edit_order_and_schedule_change_on_the_timeline(client, world, samples, arrange, read):
    client.login_as(world.coordinator)
    assert client.get(ORDER + "/edit").status_code == 200
    data = {
        "title": "部品の組立（第2期）",
        "starts_on": "2026-06-01",
        "ends_on": "2027-03-31",
        "agreement_id": "",
        "notes": "",
    }
    response = client.post(ORDER + "/edit", data=data)
    assert response.status_code == 303
    order = read(lambda s: s.get(Order, (world.alpha.id, 1)))
    assert order.title == "部品の組立（第2期）"
    assert (order.starts_on, order.ends_on, order.agreement_id) == (
        date(2026, 6, 1),
        date(2027, 3, 31),
        None,
    )
    changes = read(
        lambda s: s.scalars(
            select(TimelineEntry).where(
                TimelineEntry.order_id == 1, TimelineEntry.kind == EntryKind.CHANGE
            )
        ).all()
    )
    assert len(changes) == 1
    # Same schedule again: no new change entry.
    client.post(ORDER + "/edit", data={**data, "agreement_id": "1"})
    assert read(lambda s: s.get(Order, (world.alpha.id, 1))).agreement_id == 1
    assert read(count(TimelineEntry)) == 2  # the sample deal's note + one change


def test_edit_order_bad_input(client, world, samples, arrange, read):
    def foreign_agreement(s):
        buyer = Buyer(name="別会社")
        s.add(buyer)
        s.flush()
        agreement = Agreement(buyer_id=buyer.id, title="他社の協定", kind=AgreementKind.INDIVIDUAL)
        s.add(agreement)
        s.flush()
        return agreement.id

    foreign_id = arrange(foreign_agreement)
    client.login_as(world.coordinator)
    good = {"title": "部品の組立", "agreement_id": "1"}
    cases = [
        ({"title": ""}, "title"),
        ({"starts_on": "2026-09-01", "ends_on": "2026-08-01"}, "ends_on"),
        ({"agreement_id": str(foreign_id)}, "agreement_id"),
        ({"ends_on": "31/12/2026"}, "ends_on"),
    ]
    for change, field in cases:
        response = client.post(ORDER + "/edit", data={**good, **change})
        assert response.status_code == 422, change
        assert_error_at(response.text, field)
    order = read(lambda s: s.get(Order, (world.alpha.id, 1)))
    assert (order.title, order.starts_on, order.ends_on) == ("部品の組立", None, None)


def test_status_moves_through_delivery(client, world, samples, read):
    client.login_as(world.coordinator)
    for status in ("in_progress", "delivered", "closed"):
        response = client.post(ORDER + "/status", data={"status": status})
        assert response.status_code == 303, response.text
        assert read(lambda s: s.get(Order, (world.alpha.id, 1))).status == OrderStatus(status)
    changes = read(
        lambda s: s.scalars(
            select(TimelineEntry).where(TimelineEntry.kind == EntryKind.CHANGE)
        ).all()
    )
    assert len(changes) == 3
    # Completed is final: no status form any more.
    assert 'action="/t/alpha/orders/1/status"' not in client.get(ORDER).text


def test_status_cannot_skip_steps(client, world, samples, read):
    client.login_as(world.coordinator)
    for bad in ("closed", "delivered", "nonsense", ""):
        response = client.post(ORDER + "/status", data={"status": bad})
        assert response.status_code == 422
        assert_error_at(response.text, "status")
    response = client.post(
        ORDER + "/status", data={"status": "closed"}, headers={**HX, "HX-Target": "status"}
    )
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<section id="status"')
    assert read(lambda s: s.get(Order, (world.alpha.id, 1))).status == OrderStatus.CONFIRMED
    assert read(count(TimelineEntry)) == 1
    # Cancelling is possible, and a cancelled order can be reopened.
    assert client.post(ORDER + "/status", data={"status": "cancelled"}).status_code == 303
    assert client.post(ORDER + "/status", data={"status": "confirmed"}).status_code == 303


def test_readers_cannot_change_orders(client, world, samples, read):
    client.login_as(world.viewer)
    page = client.get(ORDER)
    assert page.status_code == 200
    assert 'action="/t/alpha/orders/1/status"' not in page.text
    assert 'id="mf-' not in page.text
    assert client.get(ORDER + "/edit").status_code == 403
    assert client.post(ORDER + "/edit", data={"title": "x"}).status_code == 403
    assert client.post(ORDER + "/status", data={"status": "in_progress"}).status_code == 403
    assert client.post(ORDER + "/archive").status_code == 403
    assert client.post(ORDER + "/restore").status_code == 403
    order = read(lambda s: s.get(Order, (world.alpha.id, 1)))
    assert (order.title, order.status, order.archived_at) == (
        "部品の組立",
        OrderStatus.CONFIRMED,
        None,
    )


def test_archive_and_restore(client, world, samples, read):
    client.login_as(world.coordinator)
    assert client.post(ORDER + "/archive").status_code == 303
    assert read(lambda s: s.get(Order, (world.alpha.id, 1))).archived_at is not None
    page = client.get(ORDER)
    assert page.status_code == 200
    assert 'action="/t/alpha/orders/1/restore"' in page.text
    assert 'id="mf-' not in page.text  # read-only while archived
    # Writes to an archived order are refused, nothing changes.
    response = client.post(ORDER + "/status", data={"status": "in_progress"})
    assert response.status_code == 303
    assert flashes(client.get(ORDER).text) == ["error"]
    assert (
        client.post(ORDER + "/months", data={"month": "2026-07", "forecast": "1"}).status_code
        == 303
    )
    assert read(lambda s: s.get(Order, (world.alpha.id, 1))).status == OrderStatus.CONFIRMED
    assert read(lambda s: s.get(OrderMonth, (world.alpha.id, 1))).forecast_amount == 200_000
    assert client.post(ORDER + "/restore").status_code == 303
    assert read(lambda s: s.get(Order, (world.alpha.id, 1))).archived_at is None


def test_missing_order_is_404(client, world, samples):
    client.login_as(world.admin)
    assert client.get("/t/alpha/orders/99").status_code == 404
    assert (
        client.post("/t/alpha/orders/99/status", data={"status": "in_progress"}).status_code == 404
    )


def test_status_sorts_in_the_order_of_the_flow(client, world, samples, arrange):
    def more(s):
        for title, status in (
            ("取消分", OrderStatus.CANCELLED),
            ("完了分", OrderStatus.CLOSED),
            ("納品分", OrderStatus.DELIVERED),
            ("作業分", OrderStatus.IN_PROGRESS),
        ):
            s.add(Order(buyer_id=1, title=title, confirmed_on=date(2026, 6, 1), status=status))

    arrange(more)
    client.login_as(world.viewer)
    flow = ["部品の組立", "作業分", "納品分", "完了分", "取消分"]
    assert titles_in(client.get(LIST + "?sort=status").text) == flow
    assert titles_in(client.get(LIST + "?sort=status&dir=desc").text) == flow[::-1]
