"""Deal screens: the list, the board, the form, the detail page with its timeline, stage moves,
archive and restore, who may do what, and the query counts of the pages.

No assertions on wording (the Japanese catalogue is merged separately): status codes,
redirects, database state, the field an error is shown at, flash categories, query counts.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.buyers.models import Buyer
from app.catalogs.models import Capability, LostReason
from app.db import utcnow
from app.deals.models import CLOSED_STAGES, Deal, DealCapability, DealStage
from app.deals.service import BOARD_CARD_LIMIT
from app.jp import JST, fiscal_year_of, today_jst
from app.orders.models import Order
from app.timeline.models import EntryKind, TimelineEntry
from tests.deals.conftest import (
    HX,
    add_deals,
    assert_error_at,
    count,
    flashes,
    get_deal,
    new_deal,
    titles_in,
)

LIST = "/t/alpha/deals/"
BOARD = "/t/alpha/deals/board"
NEW = "/t/alpha/deals/new"
DEAL = "/t/alpha/deals/1"


def today() -> date:
    return datetime.now(JST).date()


def form(**values) -> dict[str, object]:
    """A valid one-off deal for alpha's buyer 1, with changes."""
    base: dict[str, object] = {
        "buyer_id": "1",
        "title": "梱包作業の委託",
        "description": "月末締めの梱包",
        "stage": "hearing",
        "recurrence": "one_off",
        "amount": "2,400,000",
        "difficulty_level": "1",
        "capability_ids": ["1"],
        "volume": "5,000個/月",
        "pricing_basis": "per_piece",
        "owner_id": "2",
        "next_action": "見積の提出",
        "next_action_on": "2026-12-01",
        "opened_on": "2026-05-10",
    }
    base.update(values)
    return {k: v for k, v in base.items() if v is not None}


def columns(html: str) -> dict[str, dict[str, int]]:
    """Board column → count, total and number of cards shown."""
    found = {}
    for stage, body in re.findall(
        r'<section class="card board-column stage-(\w+)"(.*?)</section>', html, re.S
    ):
        found[stage] = {
            "count": int(re.search(r'data-count="(\d+)"', body).group(1)),
            "total": int(re.search(r'data-total="(\d+)"', body).group(1)),
            "cards": body.count('class="card deal-card"'),
        }
    return found


def timeline_of(deal_id: int):
    return lambda s: list(
        s.scalars(
            select(TimelineEntry).where(TimelineEntry.deal_id == deal_id).order_by(TimelineEntry.id)
        )
    )


# --- who may do what ---------------------------------------------------------------------------


def test_readers_see_list_board_and_detail(client, world, samples):
    for person in (world.admin, world.coordinator, world.viewer):
        client.login_as(person)
        for url in (LIST, BOARD, DEAL):
            response = client.get(url)
            assert response.status_code == 200, url
            assert "部品の組立" in response.text


def test_viewer_sees_no_write_controls_and_gets_403_on_writes(client, world, samples, read):
    client.login_as(world.viewer)
    page = client.get(DEAL).text
    assert "/deals/1/edit" not in page and "/deals/1/archive" not in page
    assert "/deals/1/notes" not in page and "/deals/1/stage" not in page
    assert 'href="/t/alpha/deals/new"' not in client.get(LIST).text
    assert "/deals/1/stage" not in client.get(BOARD).text
    for url in (NEW, DEAL + "/edit"):
        assert client.get(url).status_code == 403, url
    posts = {
        NEW: form(),
        DEAL + "/edit": form(),
        DEAL + "/stage": {"stage": "quote"},
        DEAL + "/archive": {},
        DEAL + "/restore": {},
        DEAL + "/notes": {"body": "メモ", "kind": "note"},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 403, url
    deal = read(get_deal(1))
    assert (deal.stage, deal.archived_at) == (DealStage.WON, None)
    assert read(count(Deal)) == 1
    assert len(read(timeline_of(1))) == 1


def test_outsider_gets_404(client, world, samples, read):
    client.login_as(world.outsider)
    assert client.get(LIST).status_code == 404
    assert client.get(DEAL).status_code == 404
    assert client.post(DEAL + "/stage", data={"stage": "quote"}).status_code == 404
    assert client.post(NEW, data=form()).status_code == 404
    assert read(get_deal(1)).stage == DealStage.WON
    assert read(count(Deal)) == 1


def test_deal_of_another_workspace_is_not_found(client, world, samples, arrange):
    def beta_buyer_and_deals(s):
        buyer = Buyer(name="ベータ商事")
        s.add(buyer)
        s.flush()
        s.add_all([new_deal(buyer_id=buyer.id, title=f"ベータ{i}") for i in range(3)])

    arrange(beta_buyer_and_deals, tenant_id=world.beta.id)
    client.login_as(world.admin)
    assert client.get("/t/alpha/deals/3").status_code == 404
    assert "ベータ" not in client.get(LIST).text


# --- the list ----------------------------------------------------------------------------------


def test_search_matches_title_description_and_buyer(client, world, samples, arrange):
    def more(s):
        buyer = Buyer(name="東海精機株式会社")
        s.add(buyer)
        s.flush()
        s.add_all(
            [
                new_deal(title="ラベル貼り", description="出荷前の検品を含む"),
                new_deal(title="部品加工", buyer_id=buyer.id),
            ]
        )

    arrange(more)
    client.login_as(world.viewer)
    assert titles_in(client.get(LIST + "?q=ラベル").text) == ["ラベル貼り"]
    assert titles_in(client.get(LIST + "?q=検品").text) == ["ラベル貼り"]
    assert titles_in(client.get(LIST + "?q=東海精機").text) == ["部品加工"]
    assert titles_in(client.get(LIST + "?q=部品　東海").text) == ["部品加工"]
    assert titles_in(client.get(LIST + "?q=100%").text) == []


def test_filters(client, world, samples, arrange):
    def more(s):
        buyer = Buyer(name="第二商事")
        s.add(buyer)
        s.flush()
        s.add_all(
            [
                new_deal(title="A", stage=DealStage.LEAD, owner_id=2, buyer_id=buyer.id),
                new_deal(
                    title="B",
                    stage=DealStage.LOST,
                    lost_reason_id=1,
                    closed_on=date(2026, 6, 1),
                    opened_on=date(2025, 10, 1),
                ),
                new_deal(
                    title="C",
                    stage=DealStage.QUOTE,
                    recurring=True,
                    monthly_amount=100_000,
                    expected_months=12,
                    amount=1_200_000,
                    opened_on=date(2026, 3, 31),
                ),
            ]
        )

    arrange(more)
    client.login_as(world.viewer)

    def shown(query: str) -> list[str]:
        return sorted(titles_in(client.get(LIST + "?" + query).text))

    assert shown("") == ["A", "B", "C", "部品の組立"]
    assert shown("stage=lead") == ["A"]
    assert shown("status=open") == ["A", "C"]
    assert shown("status=closed") == ["B", "部品の組立"]
    assert shown("buyer=2") == ["A"]
    assert shown("owner=2") == ["A"]
    assert shown("owner=1") == ["部品の組立"]
    assert shown("recurring=yes") == ["C"]
    assert shown("recurring=no") == ["A", "B", "部品の組立"]
    # Fiscal year of opened_on: April → March (C opened on 31 March 2026 is FY2025).
    assert shown("fy=2025") == ["B", "C"]
    assert shown("fy=2026") == ["A", "部品の組立"]
    assert shown("stage=bogus&fy=x") == ["A", "B", "C", "部品の組立"]


def test_sorting(client, world, samples, arrange):
    add_deals(
        arrange,
        new_deal(title="X", amount=5_000_000, next_action_on=date(2026, 12, 1),
                 opened_on=date(2026, 1, 5), stage=DealStage.QUOTE),
        new_deal(title="Y", amount=100_000, next_action_on=date(2026, 11, 25),
                 opened_on=date(2026, 8, 1), stage=DealStage.HEARING),
    )  # fmt: skip
    client.login_as(world.viewer)

    def order(query: str) -> list[str]:
        return titles_in(client.get(LIST + "?" + query).text)

    assert order("") == ["Y", "部品の組立", "X"]  # newest opened first
    assert order("sort=amount") == ["Y", "部品の組立", "X"]
    assert order("sort=amount&dir=desc") == ["X", "部品の組立", "Y"]
    assert order("sort=next_action_on") == ["Y", "X", "部品の組立"]  # no date: last
    assert order("sort=next_action_on&dir=desc") == ["X", "Y", "部品の組立"]
    assert order("sort=opened_on") == ["X", "部品の組立", "Y"]
    assert order("sort=stage") == ["Y", "X", "部品の組立"]  # hearing, quote, won


def test_pages_of_50_and_htmx_gets_the_rows_only(client, world, samples, arrange):
    add_deals(arrange, *(new_deal(title=f"案件{i:03d}") for i in range(60)))
    client.login_as(world.viewer)
    first = client.get(LIST + "?sort=amount")
    assert len(titles_in(first.text)) == 50
    assert "page=2" in first.text
    second = client.get(LIST + "?sort=amount&page=2")
    assert len(titles_in(second.text)) == 11
    fragment = client.get(LIST + "?q=案件", headers={**HX, "HX-Target": "rows"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="rows"' not in fragment.text
    assert len(titles_in(fragment.text)) == 50
    assert "HX-Request" in fragment.headers["Vary"]


def test_archived_deals_are_hidden_unless_asked_for(client, world, samples, arrange):
    add_deals(arrange, new_deal(title="保管済み", archived_at=utcnow()))
    client.login_as(world.viewer)
    assert titles_in(client.get(LIST).text) == ["部品の組立"]
    assert sorted(titles_in(client.get(LIST + "?archived=with").text)) == ["保管済み", "部品の組立"]
    assert titles_in(client.get(LIST + "?archived=only").text) == ["保管済み"]
    assert client.get("/t/alpha/deals/2").status_code == 200  # still viewable


def test_warnings_are_marked_in_the_list(client, world, samples, arrange):
    add_deals(
        arrange,
        new_deal(title="小口", amount=1_000_000),
        new_deal(title="短期", recurring=True, monthly_amount=500_000, expected_months=3,
                 amount=1_500_000),
    )  # fmt: skip
    client.login_as(world.viewer)
    page = client.get(LIST).text
    rows = dict(re.findall(r'/deals/\d+">([^<]+)</a>(.*?)</tr>', page, re.S))
    assert 'data-warning="below_minimum"' in rows["小口"]
    assert 'data-warning="short_continuation"' in rows["短期"]
    assert 'data-warning="below_minimum"' not in rows["短期"]  # 500,000 × 12 a year
    assert "data-warning" not in rows["部品の組立"]


def test_list_query_count_does_not_grow_with_rows(client, world, samples, arrange, query_counter):
    def deals_with_owners_and_buyers(n):
        def make(s):
            buyers = [Buyer(name=f"発注企業{i}") for i in range(3)]
            s.add_all(buyers)
            s.flush()
            s.add_all(
                new_deal(
                    title=f"案件{i:03d}",
                    buyer_id=buyers[i % 3].id,
                    owner_id=1 + i % 3,
                    recurring=i % 2 == 0,
                    monthly_amount=100_000,
                    expected_months=4,
                    next_action_on=date(2026, 12, 1),
                )
                for i in range(n)
            )

        return make

    client.login_as(world.viewer)
    arrange(deals_with_owners_and_buyers(2))
    query_counter.clear()
    assert len(titles_in(client.get(LIST).text)) == 3
    few = len(query_counter)
    arrange(deals_with_owners_and_buyers(57))
    query_counter.clear()
    assert len(titles_in(client.get(LIST).text)) == 50
    assert len(query_counter) == few, query_counter
    print(f"deal list: {few} statements per page")


# --- the board ---------------------------------------------------------------------------------


def test_board_shows_counts_totals_and_caps_the_columns(client, world, samples, arrange):
    add_deals(
        arrange,
        *(new_deal(title=f"リード{i:02d}", amount=100_000) for i in range(25)),
        new_deal(title="見積中", stage=DealStage.QUOTE, amount=3_000_000),
        new_deal(title="保管済み", stage=DealStage.QUOTE, amount=9_000_000, archived_at=utcnow()),
    )
    client.login_as(world.viewer)
    page = client.get(BOARD).text
    found = columns(page)
    assert list(found) == ["lead", "hearing", "trial", "quote", "won", "lost"]
    assert found["lead"] == {"count": 25, "total": 2_500_000, "cards": BOARD_CARD_LIMIT}
    assert found["quote"] == {"count": 1, "total": 3_000_000, "cards": 1}
    assert found["won"] == {"count": 1, "total": 2_400_000, "cards": 1}
    assert found["hearing"] == {"count": 0, "total": 0, "cards": 0}
    # The rest of a capped column is in the filtered list.
    assert 'href="/t/alpha/deals/?stage=lead"' in page
    assert "保管済み" not in page


def test_board_filters_and_htmx_fragment(client, world, samples, arrange):
    add_deals(arrange, new_deal(title="別担当", owner_id=2))
    client.login_as(world.viewer)
    page = client.get(BOARD + "?owner=2", headers={**HX, "HX-Target": "board"})
    assert "<html" not in page.text
    assert titles_in(page.text) == ["別担当"]
    assert 'href="/t/alpha/deals/?owner=2&amp;stage=lead"' in page.text


def test_board_query_count_does_not_grow_with_deals(client, world, samples, arrange, query_counter):
    stages = list(DealStage)

    def deals(n):
        return [
            new_deal(
                title=f"案件{i:03d}",
                stage=stages[i % len(stages)],
                lost_reason_id=1 if stages[i % len(stages)] == DealStage.LOST else None,
                # Decided this fiscal year, so won and lost deals are on the board.
                closed_on=today_jst() if stages[i % len(stages)] in CLOSED_STAGES else None,
                owner_id=1 + i % 3,
            )
            for i in range(n)
        ]

    client.login_as(world.coordinator)
    add_deals(arrange, *deals(2))
    query_counter.clear()
    assert client.get(BOARD).status_code == 200
    few = len(query_counter)
    add_deals(arrange, *deals(150))
    query_counter.clear()
    page = client.get(BOARD).text
    assert sum(column["cards"] for column in columns(page).values()) == 6 * BOARD_CARD_LIMIT
    assert len(query_counter) == few, query_counter
    print(f"deal board: {few} statements")


# --- stage moves -------------------------------------------------------------------------------


def test_move_from_the_board_with_htmx_rerenders_the_board(client, world, samples, arrange, read):
    [deal_id] = add_deals(arrange, new_deal(title="移動する案件", stage=DealStage.QUOTE))
    client.login_as(world.coordinator)
    response = client.post(
        f"/t/alpha/deals/{deal_id}/stage",
        data={"stage": "won", "next": BOARD + "?owner=&fy=2026"},
        headers={**HX, "HX-Target": "board"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert columns(response.text)["won"]["count"] == 2
    deal = read(get_deal(deal_id))
    assert (deal.stage, deal.closed_on) == (DealStage.WON, today())
    [change] = read(timeline_of(deal_id))
    assert change.kind == EntryKind.CHANGE


def test_move_without_htmx_redirects_back(client, world, samples, arrange, read):
    client.login_as(world.coordinator)
    response = client.post(DEAL + "/stage", data={"stage": "quote", "next": BOARD + "?fy=2026"})
    assert response.status_code == 303
    assert response.headers["Location"] == BOARD + "?fy=2026"
    deal = read(get_deal(1))
    assert (deal.stage, deal.closed_on) == (DealStage.QUOTE, None)
    # Somewhere outside the deals: back to the deal instead.
    response = client.post(
        DEAL + "/stage", data={"stage": "trial", "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == DEAL
    response = client.post(DEAL + "/stage", data={"stage": "hearing", "next": "/t/alpha//x"})
    assert response.headers["Location"] == DEAL
    assert flashes(client.get(DEAL).text) == ["success"] * 3
    assert len(read(timeline_of(1))) == 4


def test_moving_to_lost_asks_for_the_reason(client, world, samples, arrange, read):
    [deal_id] = add_deals(arrange, new_deal(stage=DealStage.QUOTE))
    client.login_as(world.coordinator)
    url = f"/t/alpha/deals/{deal_id}/stage"
    response = client.post(url, data={"stage": "lost", "next": BOARD})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/alpha/deals/{deal_id}/edit?stage=lost"
    assert read(get_deal(deal_id)).stage == DealStage.QUOTE
    htmx = client.post(url, data={"stage": "lost"}, headers={**HX, "HX-Target": "board"})
    assert htmx.headers["HX-Redirect"] == f"/t/alpha/deals/{deal_id}/edit?stage=lost"
    edit = client.get(f"/t/alpha/deals/{deal_id}/edit?stage=lost").text
    assert '<option selected value="lost">' in edit
    response = client.post(
        f"/t/alpha/deals/{deal_id}/edit", data=form(stage="lost", lost_reason_id="1")
    )
    assert response.status_code == 303
    deal = read(get_deal(deal_id))
    assert (deal.stage, deal.lost_reason_id, deal.closed_on) == (DealStage.LOST, 1, today())


def test_bad_moves_are_refused(client, world, samples, arrange, read):
    [archived] = add_deals(arrange, new_deal(stage=DealStage.LEAD, archived_at=utcnow()))
    client.login_as(world.coordinator)
    response = client.post(
        DEAL + "/stage", data={"stage": "nowhere"}, headers={**HX, "HX-Target": "board"}
    )
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    response = client.post(DEAL + "/stage", data={"stage": "nowhere"})
    assert response.status_code == 303
    response = client.post(f"/t/alpha/deals/{archived}/stage", data={"stage": "hearing"})
    assert response.status_code == 303
    assert flashes(client.get(DEAL).text) == ["error", "error"]
    assert read(get_deal(1)).stage == DealStage.WON
    assert read(get_deal(archived)).stage == DealStage.LEAD


# --- creating and editing ----------------------------------------------------------------------


def test_new_form_defaults(client, world, samples):
    client.login_as(world.coordinator)
    page = client.get(NEW).text
    assert f'name="opened_on" required type="date" value="{today().isoformat()}"' in page
    # The owner defaults to the person creating the deal (coordinator: membership 2).
    assert '<option selected value="2">Coordinator</option>' in page


def test_create_one_off_deal(client, world, samples, read):
    client.login_as(world.coordinator)
    response = client.post(NEW, data=form())
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/t/alpha/deals/2"
    deal = read(get_deal(2))
    assert (deal.title, deal.stage, deal.amount, deal.recurring) == (
        "梱包作業の委託",
        DealStage.HEARING,
        2_400_000,
        False,
    )
    assert (deal.owner_id, deal.difficulty_level, deal.volume) == (2, 1, "5,000個/月")
    assert (deal.opened_on, deal.next_action_on, deal.closed_on) == (
        date(2026, 5, 10),
        date(2026, 12, 1),
        None,
    )
    assert read(count(DealCapability, DealCapability.deal_id == 2)) == 1
    [entry] = read(timeline_of(2))
    assert entry.kind == EntryKind.CHANGE
    assert flashes(client.get("/t/alpha/deals/2").text) == ["success"]


def test_create_recurring_deal_computes_the_amount(client, world, samples, read):
    client.login_as(world.admin)
    response = client.post(
        NEW,
        data=form(
            recurrence="recurring",
            amount="",
            monthly_amount="１５０，０００円",
            expected_months="4",
            stage="won",
        ),
    )
    assert response.status_code == 303, response.text
    deal = read(get_deal(2))
    assert (deal.amount, deal.monthly_amount, deal.expected_months) == (600_000, 150_000, 4)
    assert deal.closed_on == today()
    page = client.get("/t/alpha/deals/2").text
    assert 'data-warning="below_minimum"' in page  # 150,000 × 12 < 2,000,000
    assert 'data-warning="short_continuation"' in page
    assert "600,000円" in page


@pytest.mark.parametrize(
    ("changes", "field_id"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"buyer_id": ""}, "buyer_id"),
        ({"buyer_id": "99"}, "buyer_id"),  # not a buyer of this workspace
        ({"buyer_id": "abc"}, "buyer_id"),
        ({"amount": ""}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "12.5"}, "amount"),
        ({"amount": "たくさん"}, "amount"),
        ({"amount": "3000000000"}, "amount"),
        ({"recurrence": "recurring", "monthly_amount": "100000"}, "expected_months"),
        ({"recurrence": "recurring", "expected_months": "12"}, "monthly_amount"),
        (
            {"recurrence": "recurring", "monthly_amount": "100000", "expected_months": "0"},
            "expected_months",
        ),
        (
            {"recurrence": "recurring", "monthly_amount": "100000", "expected_months": "3か月"},
            "expected_months",
        ),
        (
            {
                "recurrence": "recurring",
                "monthly_amount": "1000000000",
                "expected_months": "3",
            },
            "monthly_amount",
        ),
        ({"recurrence": "sometimes"}, "recurrence"),
        ({"stage": "maybe"}, "stage"),
        ({"stage": "lost"}, "lost_reason_id"),
        ({"stage": "lost", "lost_reason_id": "7"}, "lost_reason_id"),
        ({"owner_id": "4"}, "owner_id"),  # the outsider's membership lives in beta
        ({"owner_id": "x"}, "owner_id"),
        ({"difficulty_level": "9"}, "difficulty_level"),
        ({"capability_ids": ["1", "5"]}, "capability_ids"),
        ({"pricing_basis": "free"}, "pricing_basis"),
        ({"opened_on": ""}, "opened_on"),
        ({"opened_on": "2026-02-30"}, "opened_on"),
        ({"next_action_on": "来週"}, "next_action_on"),
        ({"next_action": "x" * 201}, "next_action"),
        ({"volume": "x" * 101}, "volume"),
    ],
)
def test_bad_input_is_shown_at_the_field_and_nothing_is_saved(
    client, world, samples, read, changes, field_id
):
    client.login_as(world.coordinator)
    response = client.post(NEW, data=form(**changes))
    assert response.status_code == 422
    assert_error_at(response.text, field_id)
    assert read(count(Deal)) == 1
    assert read(count(TimelineEntry)) == 1


def test_edit_changes_stage_and_amount_on_the_timeline(client, world, samples, arrange, read):
    [deal_id] = add_deals(arrange, new_deal(title="編集する案件", stage=DealStage.QUOTE))
    client.login_as(world.coordinator)
    url = f"/t/alpha/deals/{deal_id}/edit"
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="編集する案件"' in page.text
    response = client.post(url, data=form(stage="won", amount="3,200,000"))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/alpha/deals/{deal_id}"
    deal = read(get_deal(deal_id))
    assert (deal.stage, deal.amount, deal.closed_on) == (DealStage.WON, 3_200_000, today())
    assert [e.kind for e in read(timeline_of(deal_id))] == [EntryKind.CHANGE] * 2
    # Reopening clears the closing date; the same values again add nothing to the timeline.
    client.post(url, data=form(stage="quote", amount="3,200,000"))
    client.post(url, data=form(stage="quote", amount="3,200,000"))
    deal = read(get_deal(deal_id))
    assert (deal.stage, deal.closed_on) == (DealStage.QUOTE, None)
    assert len(read(timeline_of(deal_id))) == 3


def test_edit_with_bad_input_changes_nothing(client, world, samples, read):
    client.login_as(world.coordinator)
    response = client.post(DEAL + "/edit", data=form(amount="-5", stage="lead"))
    assert response.status_code == 422
    assert_error_at(response.text, "amount")
    deal = read(get_deal(1))
    assert (deal.stage, deal.amount) == (DealStage.WON, 2_400_000)
    assert len(read(timeline_of(1))) == 1


def test_edit_keeps_archived_choices_of_the_deal(client, world, samples, arrange, read):
    def archive_catalogues(s):
        s.get(Capability, (world.alpha.id, 1)).archived_at = utcnow()
        s.get(Buyer, (world.alpha.id, 1)).archived_at = utcnow()
        s.add(LostReason(label="その他"))

    arrange(archive_catalogues)
    client.login_as(world.coordinator)
    page = client.get(DEAL + "/edit").text
    assert '<option selected value="1">株式会社サンプル</option>' in page
    assert 'value="1"> <label for="capability_ids-0">組立' in page
    assert "株式会社サンプル" not in client.get(NEW).text
    response = client.post(DEAL + "/edit", data=form(stage="won"))
    assert response.status_code == 303, response.text
    assert read(count(DealCapability, DealCapability.deal_id == 1)) == 1


def test_archived_deal_cannot_be_edited(client, world, samples, arrange, read):
    client.login_as(world.coordinator)
    assert client.post(DEAL + "/archive").status_code == 303
    response = client.get(DEAL + "/edit")
    assert response.status_code == 303
    assert response.headers["Location"] == DEAL
    assert client.post(DEAL + "/edit", data=form()).status_code == 303
    assert read(get_deal(1)).title == "部品の組立"


def test_amount_preview(client, world, samples):
    client.login_as(world.viewer)
    url = "/t/alpha/deals/amount-preview"
    assert "1,800,000円" in client.get(url + "?monthly_amount=150,000&expected_months=12").text
    assert "円" not in client.get(url + "?monthly_amount=abc&expected_months=12").text
    assert "円" not in client.get(url + "?monthly_amount=100&expected_months=0").text
    assert "円" not in client.get(url).text


# --- the detail page, order, timeline, archive -------------------------------------------------


def test_detail_shows_everything(client, world, samples, arrange):
    [deal_id] = add_deals(
        arrange,
        new_deal(
            title="失注した案件",
            stage=DealStage.LOST,
            lost_reason_id=1,
            lost_comment="予算が付かなかった",
            closed_on=date(2026, 9, 1),
            difficulty_level=1,
            volume="300個/日",
            next_action="再提案",
            owner_id=2,
        ),
    )
    client.login_as(world.viewer)
    page = client.get(f"/t/alpha/deals/{deal_id}").text
    expected = (
        "失注した案件", "株式会社サンプル", "顧客都合で白紙", "予算が付かなかった", "やさしい",
        "300個/日", "再提案", "Coordinator", "令和8年9月1日", "3,000,000円",
    )  # fmt: skip
    for text in expected:
        assert text in page, text
    assert 'id="timeline"' in page


def test_won_deal_offers_to_create_the_order_or_links_to_it(client, world, samples, arrange):
    [deal_id] = add_deals(arrange, new_deal(stage=DealStage.WON, closed_on=date(2026, 10, 1)))
    client.login_as(world.coordinator)
    page = client.get(f"/t/alpha/deals/{deal_id}").text
    assert f'action="/t/alpha/orders/from-deal/{deal_id}"' in page
    # Deal 1 already has order 1: a link instead of the button.
    page = client.get(DEAL).text
    assert 'href="/t/alpha/orders/1"' in page
    assert "/orders/from-deal/" not in page
    client.login_as(world.viewer)
    assert "/orders/from-deal/" not in client.get(f"/t/alpha/deals/{deal_id}").text
    [open_deal] = add_deals(arrange, new_deal(stage=DealStage.QUOTE))
    client.login_as(world.coordinator)
    assert "/orders/from-deal/" not in client.get(f"/t/alpha/deals/{open_deal}").text


def test_detail_query_count_does_not_grow(client, world, samples, arrange, query_counter):
    client.login_as(world.coordinator)
    query_counter.clear()
    assert client.get(DEAL).status_code == 200
    few = len(query_counter)

    def more(s):
        caps = [Capability(name=f"工程{i}") for i in range(8)]
        s.add_all(caps)
        s.flush()
        s.add_all(DealCapability(deal_id=1, capability_id=c.id) for c in caps)
        s.add_all(TimelineEntry(deal_id=1, body=f"メモ{i}", author_user_id=None) for i in range(30))

    arrange(more)
    query_counter.clear()
    assert client.get(DEAL).status_code == 200
    assert len(query_counter) == few, query_counter
    print(f"deal detail: {few} statements")


def test_add_note_with_htmx_returns_the_timeline(client, world, samples, read):
    client.login_as(world.coordinator)
    response = client.post(
        DEAL + "/notes",
        data={"body": "見学日を調整中", "kind": "decision", "internal": "y"},
        headers={**HX, "HX-Target": "timeline"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="timeline"')
    assert "見学日を調整中" in response.text
    entry = read(timeline_of(1))[-1]
    assert (entry.body, entry.kind, entry.internal) == ("見学日を調整中", EntryKind.DECISION, True)
    assert entry.author_user_id == world.coordinator.id


def test_add_note_without_htmx_redirects(client, world, samples, read):
    client.login_as(world.admin)
    response = client.post(DEAL + "/notes", data={"body": "電話で確認", "kind": "note"})
    assert response.status_code == 303
    assert response.headers["Location"] == DEAL + "#timeline"
    assert read(timeline_of(1))[-1].body == "電話で確認"


def test_empty_note_is_refused_in_place(client, world, samples, read):
    client.login_as(world.coordinator)
    response = client.post(
        DEAL + "/notes", data={"body": " ", "kind": "note"}, headers={**HX, "HX-Target": "timeline"}
    )
    assert response.status_code == 422
    assert_error_at(response.text, "body")
    response = client.post(DEAL + "/notes", data={"body": "", "kind": "gossip"})
    assert response.status_code == 422
    assert "<html" in response.text
    assert len(read(timeline_of(1))) == 1


def test_archive_and_restore(client, world, samples, read):
    client.login_as(world.coordinator)
    response = client.post(DEAL + "/archive")
    assert response.status_code == 303
    assert response.headers["Location"] == DEAL
    archived_at = read(get_deal(1)).archived_at
    assert archived_at is not None
    assert titles_in(client.get(LIST).text) == []
    assert columns(client.get(BOARD).text)["won"]["count"] == 0
    page = client.get(DEAL).text
    assert "/deals/1/restore" in page and "/deals/1/edit" not in page
    client.post(DEAL + "/archive")  # twice: nothing changes
    assert read(get_deal(1)).archived_at == archived_at
    assert client.post(DEAL + "/restore").status_code == 303
    assert read(get_deal(1)).archived_at is None
    assert titles_in(client.get(LIST).text) == ["部品の組立"]
    assert read(count(Deal)) == 1


def test_fiscal_year_choices_cover_the_deals(client, world, samples, arrange):
    add_deals(arrange, new_deal(opened_on=date(2023, 6, 1)))
    client.login_as(world.viewer)
    page = client.get(LIST).text
    years = [int(y) for y in re.findall(r'<option value="(\d{4})"', page)]
    assert years == list(range(fiscal_year_of(today()), 2022, -1))


def test_next_action_dates_are_real_dates(client, world, samples, read):
    client.login_as(world.coordinator)
    response = client.post(NEW, data=form(next_action_on=(today() + timedelta(days=3)).isoformat()))
    assert response.status_code == 303
    assert read(get_deal(2)).next_action_on == today() + timedelta(days=3)
    assert urlsplit(response.headers["Location"]).path == "/t/alpha/deals/2"
    assert read(lambda s: s.scalar(select(Order).where(Order.deal_id == 2))) is None
