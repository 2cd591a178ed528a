"""The buyer portal: only the company's own records, nothing internal, quotes answered,
forecasts sent before (or after) the deadline, messages, requests for new work."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.deals.models import Deal, DealStage
from app.jp import today_jst
from app.mail import outbox
from app.notifications.models import Notification
from app.orders.models import OrderMonth
from app.orders.service import add_months, forecast_deadline
from app.portal.models import QuoteAnswer, QuoteDecision
from app.timeline.models import EntryKind, TimelineEntry
from tests.support.shop import PUBLIC_NOTE, SECRET_NOTE


def flashes(html: str) -> list[str]:
    return re.findall(r'<li class="flash flash-(\w+)">', html)


def key(month) -> str:
    return month.strftime("%Y-%m")


@pytest.fixture
def buyer(client, shop):
    return client.login_as(shop.buyer_a)


# --- what the company sees -------------------------------------------------------------------


def test_home_lists_the_quote_the_forecasts_due_and_the_orders(buyer, shop):
    page = buyer.get("/t/alpha/portal/").text
    assert "ギフト箱の組立" in page  # the quote waiting for an answer
    assert f"/t/alpha/portal/orders/1#month-{key(shop.this_month)}" in page
    assert "/t/alpha/portal/orders/1" in page
    assert "ビー商事" not in page


@pytest.mark.parametrize(
    "path", ["/", "/agreements", "/deals", "/orders", "/agreements/1", "/deals/1", "/orders/1"]
)
def test_no_other_company_and_nothing_internal_on_any_page(buyer, shop, path):
    response = buyer.get("/t/alpha/portal" + path)
    assert response.status_code == 200
    page = response.text
    assert "ビー商事" not in page
    assert SECRET_NOTE not in page  # internal entries, order and agreement notes
    assert "見積回答の確認" not in page  # the deal's next action


def test_other_company_records_are_not_found(client, shop):
    company_b = client.login_as(shop.buyer_b)
    for path in ("/orders/1", "/deals/1", f"/deals/{shop.quote_deal}", "/agreements/1"):
        assert company_b.get("/t/alpha/portal" + path).status_code == 404, path
    assert company_b.get(f"/t/alpha/portal/orders/{shop.order_b}").status_code == 200
    assert (
        company_b.post("/t/alpha/portal/orders/1/messages", data={"body": "x"}).status_code == 404
    )
    page = company_b.get("/t/alpha/portal/deals").text
    assert "ビー商事の検品作業" in page and "ギフト箱の組立" not in page


def test_deal_timeline_shows_public_notes_but_not_changes_or_internal(buyer, shop):
    page = buyer.get(f"/t/alpha/portal/deals/{shop.quote_deal}").text
    assert PUBLIC_NOTE in page
    assert "段階: 見積" not in page
    assert SECRET_NOTE not in page


def test_agreement_shows_action_plan_and_service_scope(buyer):
    page = buyer.get("/t/alpha/portal/agreements/1").text
    assert "月次定例会の開催" in page  # the sample action item
    assert 'id="scope"' in page and 'id="action-plan"' in page


def test_amounts_are_shown_only_where_they_are_the_buyers_price(buyer, shop, arrange):
    def set_lead(s):
        deal = s.get(Deal, (1, shop.quote_deal))
        deal.stage = DealStage.LEAD
        deal.amount = 7_777_000

    page = buyer.get("/t/alpha/portal/deals").text
    assert "1,800,000" in page  # the quote
    arrange(set_lead)
    page = buyer.get("/t/alpha/portal/deals").text
    assert "7,777,000" not in page  # an internal estimate while under discussion


def test_staff_screens_refuse_the_buyer(buyer):
    for path in ("/t/alpha/", "/t/alpha/orders/1", "/t/alpha/deals/", "/t/alpha/facility/"):
        assert buyer.get(path).status_code == 403, path


# --- quotes --------------------------------------------------------------------------------


def test_approving_a_quote_records_it_and_tells_the_owner(app, buyer, shop, read, world):
    url = f"/t/alpha/portal/deals/{shop.quote_deal}/answer"
    response = buyer.post(url, data={"answer": "approved", "comment": "よろしくお願いします"})
    assert response.status_code == 303

    def look(s):
        decision = s.scalars(
            select(QuoteDecision).where(QuoteDecision.deal_id == shop.quote_deal)
        ).one()
        entry = s.scalars(
            select(TimelineEntry).where(
                TimelineEntry.deal_id == shop.quote_deal, TimelineEntry.kind == EntryKind.DECISION
            )
        ).one()
        notes = s.scalars(select(Notification).where(Notification.kind == "quote_answer")).all()
        return decision, entry, notes, s.get(Deal, (world.alpha.id, shop.quote_deal))

    decision, entry, notes, deal = read(look)
    assert decision.answer == QuoteAnswer.APPROVED and decision.amount == 1_800_000
    assert not entry.internal and "よろしくお願いします" in entry.body
    assert entry.author_user_id == shop.buyer_a.id
    assert [n.membership_id for n in notes] == [world.memberships["coordinator"].id]
    assert deal.stage == DealStage.QUOTE  # winning stays the coordinator's decision
    with app.app_context():
        assert [m.to for m in outbox()] == ["coordinator@example.jp"]
    page = buyer.get(f"/t/alpha/portal/deals/{shop.quote_deal}").text
    assert 'id="quote-answer"' in page and 'id="answer-form"' not in page
    again = buyer.post(url, data={"answer": "declined", "comment": "やはり"})
    assert again.status_code == 422
    assert read(lambda s: s.scalar(select(func.count()).select_from(QuoteDecision))) == 2  # +sample


def test_declining_needs_a_reason_and_a_changed_amount_is_a_new_quote(buyer, shop, read, arrange):
    url = f"/t/alpha/portal/deals/{shop.quote_deal}/answer"
    assert buyer.post(url, data={"answer": "declined", "comment": ""}).status_code == 422
    assert buyer.post(url, data={"answer": "declined", "comment": "単価が高い"}).status_code == 303
    page = buyer.get(f"/t/alpha/portal/deals/{shop.quote_deal}").text
    assert 'id="answer-form"' not in page

    def requote(s):
        s.get(Deal, (1, shop.quote_deal)).amount = 1_500_000

    arrange(requote)
    page = buyer.get(f"/t/alpha/portal/deals/{shop.quote_deal}").text
    assert 'id="answer-form"' in page
    assert buyer.post(url, data={"answer": "approved"}).status_code == 303
    answers = read(
        lambda s: s.execute(
            select(QuoteDecision.answer, QuoteDecision.amount)
            .where(QuoteDecision.deal_id == shop.quote_deal)
            .order_by(QuoteDecision.id)
        ).all()
    )
    assert answers == [(QuoteAnswer.DECLINED, 1_800_000), (QuoteAnswer.APPROVED, 1_500_000)]


def test_a_deal_that_is_not_at_the_quote_stage_cannot_be_answered(buyer, read):
    assert (
        buyer.post("/t/alpha/portal/deals/1/answer", data={"answer": "approved"}).status_code == 422
    )
    assert read(lambda s: s.scalar(select(func.count()).select_from(QuoteDecision))) == 1


# --- forecasts -----------------------------------------------------------------------------


def test_forecast_before_the_deadline_is_on_time(buyer, shop, read):
    month = add_months(shop.this_month, 2)  # due on the 28th of next month
    url = "/t/alpha/portal/orders/1/forecast"
    response = buyer.post(url, data={"month": key(month), "amount": "３００，０００円"})
    assert response.status_code == 303
    row = read(lambda s: s.scalars(select(OrderMonth).where(OrderMonth.month == month)).one())
    assert row.forecast_amount == 300_000 and row.forecast_submitted_at is not None
    page = buyer.get("/t/alpha/portal/orders/1").text
    row_html = page.split(f'id="month-{key(month)}"')[1].split("</tr>")[0]
    assert 'value="300000"' in row_html and "badge-admin" not in row_html  # no Late badge


def test_forecast_after_the_deadline_is_accepted_and_marked_late(buyer, shop, read):
    month = shop.this_month  # its deadline, the 28th of last month, has passed
    response = buyer.post(
        "/t/alpha/portal/orders/1/forecast", data={"month": key(month), "amount": "120000"}
    )
    assert response.status_code == 303
    assert "warning" in flashes(buyer.get(response.headers["Location"]).text)
    page = buyer.get("/t/alpha/portal/orders/1").text
    row_html = page.split(f'id="month-{key(month)}"')[1].split("</tr>")[0]
    assert "badge-admin" in row_html  # the Late badge
    entry = read(
        lambda s: s.scalars(
            select(TimelineEntry).where(
                TimelineEntry.order_id == 1, TimelineEntry.kind == EntryKind.CHANGE
            )
        ).one()
    )
    deadline = forecast_deadline(month, 28)
    assert deadline.isoformat() in entry.body and not entry.internal


def test_forecast_gap_is_visible_to_the_buyer_and_the_coordinator(app, buyer, shop, arrange, world):
    month = shop.this_month
    buyer.post("/t/alpha/portal/orders/1/forecast", data={"month": key(month), "amount": "100000"})

    def place(s):
        s.scalars(select(OrderMonth).where(OrderMonth.month == month)).one().actual_amount = 90_000

    arrange(place)
    assert "-10,000" in buyer.get("/t/alpha/portal/orders/1").text
    staff = app.test_client().login_as(world.coordinator)
    assert "-10,000" in staff.get("/t/alpha/orders/1").text


@pytest.mark.parametrize(
    ("month_offset", "amount", "why"),
    [(-1, "1000", "past month"), (12, "1000", "outside the order"), (1, "-5", "negative"),
     (1, "たくさん", "unreadable"), (1, "", "missing")],
)  # fmt: skip
def test_bad_forecasts_are_refused_in_place(buyer, shop, read, month_offset, amount, why):
    month = add_months(shop.this_month, month_offset)
    response = buyer.post(
        "/t/alpha/portal/orders/1/forecast", data={"month": key(month), "amount": amount}
    )
    assert response.status_code == 422, why
    assert 'id="months"' in response.text
    assert read(lambda s: s.scalar(select(func.count()).select_from(OrderMonth))) == 0


def test_a_month_with_an_actual_is_closed_for_forecasts(buyer, shop, arrange, read):
    month = add_months(shop.this_month, 1)
    arrange(lambda s: s.add(OrderMonth(order_id=1, month=month, actual_amount=50_000)))
    response = buyer.post(
        "/t/alpha/portal/orders/1/forecast", data={"month": key(month), "amount": "70000"}
    )
    assert response.status_code == 422
    assert read(lambda s: s.scalars(select(OrderMonth)).one().forecast_amount) is None


def test_forecast_as_htmx_returns_the_months_fragment(buyer, shop):
    month = add_months(shop.this_month, 3)
    response = buyer.post(
        "/t/alpha/portal/orders/1/forecast",
        data={"month": key(month), "amount": "1"},
        headers={"HX-Request": "true", "HX-Target": "months"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="months"')


# --- messages and requests -------------------------------------------------------------------


def test_message_goes_on_the_timeline_and_to_the_coordinators(app, buyer, read, world):
    response = buyer.post(
        "/t/alpha/portal/orders/1/messages", data={"body": "納品場所を変更したい"}
    )
    assert response.status_code == 303
    entry = read(
        lambda s: s.scalars(
            select(TimelineEntry).where(TimelineEntry.body == "納品場所を変更したい")
        ).one()
    )
    assert not entry.internal and entry.order_id == 1
    notes = read(
        lambda s: s.scalars(select(Notification).where(Notification.kind == "buyer_message")).all()
    )
    # Deal 1 is owned by the admin: the owner is told.
    assert [n.membership_id for n in notes] == [world.memberships["admin"].id]
    assert buyer.post("/t/alpha/portal/orders/1/messages", data={"body": " "}).status_code == 422


def test_request_for_new_work_becomes_a_lead(buyer, shop, read, world):
    response = buyer.post(
        "/t/alpha/portal/requests/new",
        data={
            "title": "販促品の袋詰め",
            "description": "チラシと試供品を袋詰め",
            "volume": "月3,000袋",
            "wanted_from": (today_jst() + timedelta(days=30)).isoformat(),
        },
    )
    assert response.status_code == 303
    deal = read(lambda s: s.scalars(select(Deal).where(Deal.title == "販促品の袋詰め")).one())
    assert deal.stage == DealStage.LEAD and deal.buyer_id == 1 and deal.volume == "月3,000袋"
    assert response.headers["Location"] == f"/t/alpha/portal/deals/{deal.id}"
    notes = read(
        lambda s: s.scalars(select(Notification).where(Notification.kind == "work_request")).all()
    )
    assert {n.membership_id for n in notes} == {
        world.memberships["admin"].id,
        world.memberships["coordinator"].id,
    }
    page = buyer.get(response.headers["Location"]).text
    assert "販促品の袋詰め" in page


def test_request_needs_a_title_and_details(buyer, read):
    response = buyer.post("/t/alpha/portal/requests/new", data={"title": "", "description": ""})
    assert response.status_code == 422
    assert 'id="title-error"' in response.text and 'id="description-error"' in response.text
    assert read(lambda s: s.scalar(select(func.count()).select_from(Deal))) == 3


# --- cost ----------------------------------------------------------------------------------


def test_order_page_and_lists_cost_the_same_queries_with_more_rows(
    buyer, shop, arrange, query_counter
):
    def count_for(path):
        buyer.get(path)
        query_counter.clear()
        assert buyer.get(path).status_code == 200
        return len(query_counter)

    paths = ["/t/alpha/portal/", "/t/alpha/portal/orders", "/t/alpha/portal/orders/1"]
    before = {path: count_for(path) for path in paths}

    def grow(s):
        for n in range(12):
            s.add(TimelineEntry(order_id=1, body=f"連絡 {n}"))
            s.add(OrderMonth(order_id=1, month=add_months(shop.this_month, n), forecast_amount=n))

    arrange(grow)
    assert {path: count_for(path) for path in paths} == before
