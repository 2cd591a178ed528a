"""Agreements (連携協定・契約): list with filters and the renewal reminder; new and edit with goals
and service scope; the detail page's reminder and vagueness flags; the action plan edited in
place with htmx; archive and restore; who may do what; query counts.

No assertions on wording (the Japanese catalogue is being written): status codes, redirects,
database state, element ids, and the field an error is shown at.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.agreements.models import ActionItem, ActionStatus, Agreement, AgreementGoal, AgreementKind
from app.agreements.views import today
from app.buyers.models import Buyer
from app.catalogs.models import PlanGoal
from app.db import utcnow
from app.extensions import db
from app.orders.models import Order
from tenants.isolation import tenant_scope

HTMX_BODY = {"HX-Request": "true", "HX-Target": "agreement-body"}


# --- helpers -----------------------------------------------------------------------------------


def error_fields(html: str) -> set[str]:
    return set(re.findall(r'id="([\w-]+)-error"', html))


def assert_error_at(html: str, field_id: str) -> None:
    assert error_fields(html) == {field_id}, error_fields(html)
    wrapper = re.search(
        r'<div class="field has-error">(?:(?!</div>).)*?id="' + re.escape(field_id) + '"',
        html,
        re.S,
    )
    assert wrapper is not None, f"{field_id} is not inside a field marked has-error"


def statements(query_counter: list[str]) -> list[str]:
    """What the page asked of the database (PostgreSQL's per-transaction settings aside)."""
    return [sql for sql in query_counter if "set_config" not in sql]


class Data:
    """Arrange rows in one workspace; every call commits."""

    def __init__(self, app, tenant_id: int):
        self.app = app
        self.tenant_id = tenant_id

    def add(self, *rows):
        with self.app.app_context(), db.new_session() as s, tenant_scope(s, self.tenant_id):
            s.add_all(rows)
            s.commit()
            return [row.id for row in rows]

    def buyer(self, name="株式会社テスト", **values) -> int:
        return self.add(Buyer(name=name, **values))[0]

    def goal(self, code="G1", title="障害者の就労と工賃向上", **values) -> int:
        return self.add(PlanGoal(code=code, title=title, **values))[0]

    def agreement(self, buyer_id: int, title="包括連携協定", **values) -> int:
        values.setdefault("kind", AgreementKind.COMPREHENSIVE)
        return self.add(Agreement(buyer_id=buyer_id, title=title, **values))[0]

    def item(self, agreement_id: int, title="定例会の開催", **values) -> int:
        return self.add(ActionItem(agreement_id=agreement_id, title=title, **values))[0]

    def all(self, model, *where):
        with self.app.app_context(), db.new_session() as s, tenant_scope(s, self.tenant_id):
            return list(s.scalars(select(model).where(*where).order_by(model.id)))

    def get(self, model, row_id: int):
        with self.app.app_context(), db.new_session() as s, tenant_scope(s, self.tenant_id):
            return s.get(model, (self.tenant_id, row_id))


@pytest.fixture
def alpha(app, world) -> Data:
    return Data(app, world.alpha.id)


def form_data(buyer: int, /, **changes) -> dict:
    data = {
        "buyer_id": str(buyer),
        "title": "障害者就労支援に関する包括連携協定",
        "kind": "comprehensive",
        "fields_of_collaboration": "共同受注の拡大",
        "signed_on": "２０２６/3/20",  # typed, not picked: still a date
        "starts_on": "2026-04-01",
        "ends_on": "2027-03-31",
        "renewal_on": "2027-01-31",
        "remind_days_before_renewal": "60",
        "price_review_at_renewal": "y",
        "remote_support_first": "yes",
        "free_onsite_visits_per_year": "２",  # full-width digit
        "onsite_rate_yen": "30,000円",
        "response_time_hours": "24",
        "inspection_level": "全数検査",
        "acceptance_criteria": "外観不良ゼロ",
        "minimum_commitment_months": "12",
        "forecast_deadline_day": "20",
        "notes": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def titles_in(html: str) -> list[str]:
    return re.findall(r'<a href="/t/alpha/agreements/\d+">([^<]+)</a>', html)


# --- list --------------------------------------------------------------------------------------


def test_list_filters_and_sorts(app, client, world, alpha):
    day = today()
    aoba = alpha.buyer("株式会社あおば")
    kaede = alpha.buyer("株式会社かえで")
    alpha.agreement(aoba, "A 包括", renewal_on=day + timedelta(days=200))
    alpha.agreement(aoba, "B 委託", kind=AgreementKind.OUTSOURCING, renewal_on=day + timedelta(10))
    alpha.agreement(kaede, "C 個別", kind=AgreementKind.INDIVIDUAL)
    alpha.agreement(kaede, "D 過去", renewal_on=day - timedelta(days=3))
    alpha.agreement(kaede, "E 終了", archived_at=utcnow())
    client.login_as(world.viewer)

    # Default: by renewal date, soonest first, no date last; archived hidden.
    assert titles_in(client.get("/t/alpha/agreements/").text) == [
        "D 過去",
        "B 委託",
        "A 包括",
        "C 個別",
    ]
    assert titles_in(client.get("/t/alpha/agreements/?sort=title&dir=desc").text) == [
        "D 過去",
        "C 個別",
        "B 委託",
        "A 包括",
    ]
    assert titles_in(client.get(f"/t/alpha/agreements/?buyer_id={aoba}").text) == [
        "B 委託",
        "A 包括",
    ]
    assert titles_in(client.get("/t/alpha/agreements/?kind=individual").text) == ["C 個別"]
    # Renewal due within 30 days, a passed date included.
    assert titles_in(client.get("/t/alpha/agreements/?due=30").text) == ["D 過去", "B 委託"]
    assert titles_in(client.get("/t/alpha/agreements/?show=archived").text) == ["E 終了"]
    assert len(titles_in(client.get("/t/alpha/agreements/?show=all").text)) == 5
    assert titles_in(client.get("/t/alpha/agreements/?q=かえで").text) == ["D 過去", "C 個別"]
    # Nonsense filters are ignored, not errors.
    nonsense = client.get("/t/alpha/agreements/?due=soon&buyer_id=x&kind=other&sort=evil")
    assert nonsense.status_code == 200
    assert len(titles_in(nonsense.text)) == 4


def test_list_flags_reminders_and_vague_agreements(app, client, world, alpha):
    day = today()
    buyer = alpha.buyer()
    soon = alpha.agreement(
        buyer, "更新間近", renewal_on=day + timedelta(days=5), price_review_at_renewal=True
    )
    later = alpha.agreement(
        buyer, "更新は先", renewal_on=day + timedelta(days=90), response_time_hours=24
    )
    alpha.item(later)
    client.login_as(world.viewer)
    page = client.get("/t/alpha/agreements/").text
    rows = {title: row for row in page.split("<tr>")[2:] for title in titles_in(row)}
    assert "badge-warning" in rows["更新間近"] and "badge-info" in rows["更新間近"]
    assert "badge-danger" in rows["更新間近"]  # no plan, no scope: vague
    assert "badge-warning" not in rows["更新は先"] and "badge-danger" not in rows["更新は先"]
    assert soon != later


def test_htmx_filter_renders_only_the_rows(app, client, world, alpha):
    alpha.agreement(alpha.buyer(), "協定")
    client.login_as(world.viewer)
    response = client.get(
        "/t/alpha/agreements/?kind=comprehensive",
        headers={"HX-Request": "true", "HX-Target": "rows"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert titles_in(response.text) == ["協定"]


def test_list_costs_the_same_for_3_and_60_agreements(app, client, world, alpha, query_counter):
    buyers = [alpha.buyer(f"会社{i}") for i in range(3)]
    for i in range(3):
        agreement = alpha.agreement(buyers[i], f"協定{i}", renewal_on=today())
        alpha.item(agreement)
    client.login_as(world.viewer)
    query_counter.clear()
    assert client.get("/t/alpha/agreements/").status_code == 200
    few = statements(query_counter)
    for i in range(57):
        agreement = alpha.agreement(buyers[i % 3], f"追加{i}", renewal_on=today())
        alpha.item(agreement)
    query_counter.clear()
    response = client.get("/t/alpha/agreements/")
    assert response.status_code == 200
    assert len(titles_in(response.text)) == 50
    assert len(statements(query_counter)) == len(few)
    # user, the person's workspaces (also the switcher's); count, page, buyers for the filter
    assert len(few) == 5, "\n".join(few)


# --- new ---------------------------------------------------------------------------------------


def test_coordinator_adds_an_agreement_with_goals_and_scope(app, client, world, alpha):
    buyer = alpha.buyer()
    goals = [alpha.goal("G1"), alpha.goal("G2", "地域産業の振興")]
    client.login_as(world.coordinator)
    page = client.get(f"/t/alpha/agreements/new?buyer_id={buyer}")
    assert page.status_code == 200
    assert f'<option selected value="{buyer}">' in page.text
    response = client.post(
        "/t/alpha/agreements/new", data={**form_data(buyer), "goal_ids": [str(g) for g in goals]}
    )
    assert response.status_code == 303, response.text
    [agreement] = alpha.all(Agreement)
    assert response.headers["Location"] == f"/t/alpha/agreements/{agreement.id}"
    assert agreement.kind == AgreementKind.COMPREHENSIVE
    assert (agreement.starts_on, agreement.ends_on) == (date(2026, 4, 1), date(2027, 3, 31))
    assert agreement.remote_support_first is True
    assert agreement.free_onsite_visits_per_year == 2
    assert agreement.onsite_rate_yen == 30_000
    assert agreement.price_review_at_renewal is True
    assert agreement.forecast_deadline_day == 20
    assert agreement.signed_on == date(2026, 3, 20)
    assert sorted(link.goal_id for link in alpha.all(AgreementGoal)) == goals


def test_unset_scope_stays_unset(app, client, world, alpha):
    buyer = alpha.buyer()
    client.login_as(world.admin)
    data = form_data(
        buyer,
        remote_support_first="",
        free_onsite_visits_per_year="",
        onsite_rate_yen="",
        response_time_hours="",
        inspection_level="",
        acceptance_criteria="",
        minimum_commitment_months="",
        forecast_deadline_day="",
        price_review_at_renewal=None,
        signed_on="",
        starts_on="",
        ends_on="",
        renewal_on="",
    )
    assert client.post("/t/alpha/agreements/new", data=data).status_code == 303
    [agreement] = alpha.all(Agreement)
    assert agreement.remote_support_first is None
    assert agreement.onsite_rate_yen is None
    assert agreement.price_review_at_renewal is False
    assert agreement.has_scope_terms is False
    # "No" is a stated term, unlike "not decided".
    data["remote_support_first"] = "no"
    client.post("/t/alpha/agreements/new", data=data)
    assert alpha.all(Agreement)[1].remote_support_first is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("buyer_id", ""),
        ("buyer_id", "999"),
        ("title", ""),
        ("title", "あ" * 201),
        ("kind", "treaty"),
        ("starts_on", "2026-13-01"),
        ("ends_on", "2026-03-31"),  # before the start
        ("renewal_on", "2027-04-30"),  # after the end
        ("remind_days_before_renewal", ""),
        ("remind_days_before_renewal", "400"),
        ("remote_support_first", "maybe"),
        ("free_onsite_visits_per_year", "-1"),
        ("onsite_rate_yen", "-5000"),
        ("onsite_rate_yen", "三万円"),
        ("onsite_rate_yen", "99999999999"),
        ("response_time_hours", "1.5"),
        ("minimum_commitment_months", "121"),
        ("forecast_deadline_day", "0"),
        ("forecast_deadline_day", "29"),
        ("goal_ids", "999"),
    ],
)
def test_bad_input_is_refused_at_the_field(app, client, world, alpha, field, value):
    buyer = alpha.buyer()
    client.login_as(world.coordinator)
    response = client.post("/t/alpha/agreements/new", data=form_data(buyer, **{field: value}))
    assert response.status_code == 422
    assert_error_at(response.text, field)
    assert alpha.all(Agreement) == []
    assert alpha.all(AgreementGoal) == []


def test_archived_and_foreign_buyers_cannot_be_chosen(app, client, world, alpha):
    archived = alpha.buyer("休止中", archived_at=utcnow())
    foreign = Data(app, world.beta.id).buyer("ベータの会社")
    client.login_as(world.coordinator)
    page = client.get("/t/alpha/agreements/new").text
    assert f'value="{archived}"' not in page
    for buyer in (archived, foreign):
        response = client.post("/t/alpha/agreements/new", data=form_data(buyer))
        assert response.status_code == 422
        assert_error_at(response.text, "buyer_id")
    assert alpha.all(Agreement) == []


def test_viewer_cannot_add(app, client, world, alpha):
    buyer = alpha.buyer()
    client.login_as(world.viewer)
    assert client.get("/t/alpha/agreements/new").status_code == 403
    assert client.post("/t/alpha/agreements/new", data=form_data(buyer)).status_code == 403
    assert alpha.all(Agreement) == []


# --- edit --------------------------------------------------------------------------------------


def test_edit_shows_stored_terms_and_relinks_goals(app, client, world, alpha):
    buyer = alpha.buyer()
    g1, g2, g3 = alpha.goal("G1"), alpha.goal("G2"), alpha.goal("G3", archived_at=utcnow())
    agreement = alpha.agreement(buyer, remote_support_first=False, onsite_rate_yen=15_000)
    alpha.add(AgreementGoal(agreement_id=agreement, goal_id=g1))
    client.login_as(world.coordinator)
    page = client.get(f"/t/alpha/agreements/{agreement}/edit").text
    assert '<option selected value="no">' in page
    assert f'<option selected value="{g1}">' in page
    assert f'value="{g3}"' not in page  # archived goals are not offered
    assert 'value="15000"' in page

    response = client.post(
        f"/t/alpha/agreements/{agreement}/edit",
        data={**form_data(buyer, title="改定後"), "goal_ids": [str(g2)]},
    )
    assert response.status_code == 303, response.text
    stored = alpha.get(Agreement, agreement)
    assert stored.title == "改定後"
    assert stored.remote_support_first is True
    assert [link.goal_id for link in alpha.all(AgreementGoal)] == [g2]


def test_edit_with_bad_input_changes_nothing(app, client, world, alpha):
    buyer = alpha.buyer()
    goal = alpha.goal()
    agreement = alpha.agreement(buyer, "元の題名")
    client.login_as(world.coordinator)
    response = client.post(
        f"/t/alpha/agreements/{agreement}/edit",
        data={**form_data(buyer, ends_on="2025-01-01"), "goal_ids": [str(goal)]},
    )
    assert response.status_code == 422
    assert_error_at(response.text, "ends_on")
    assert alpha.get(Agreement, agreement).title == "元の題名"
    assert alpha.all(AgreementGoal) == []


def test_archived_agreements_are_not_edited(app, client, world, alpha):
    buyer = alpha.buyer()
    agreement = alpha.agreement(buyer, "終了", archived_at=utcnow())
    client.login_as(world.coordinator)
    assert client.get(f"/t/alpha/agreements/{agreement}/edit").status_code == 303
    response = client.post(
        f"/t/alpha/agreements/{agreement}/edit", data=form_data(buyer, title="変更")
    )
    assert response.status_code == 303
    assert alpha.get(Agreement, agreement).title == "終了"


def test_viewer_cannot_edit(app, client, world, alpha):
    buyer = alpha.buyer()
    agreement = alpha.agreement(buyer, "元の題名")
    client.login_as(world.viewer)
    assert client.get(f"/t/alpha/agreements/{agreement}/edit").status_code == 403
    response = client.post(f"/t/alpha/agreements/{agreement}/edit", data=form_data(buyer))
    assert response.status_code == 403
    assert alpha.get(Agreement, agreement).title == "元の題名"


# --- detail: reminder and vagueness ------------------------------------------------------------


def test_reminder_shows_inside_the_window_with_the_price_review(app, client, world, alpha):
    day = today()
    buyer = alpha.buyer()
    inside = alpha.agreement(
        buyer,
        renewal_on=day + timedelta(days=30),
        remind_days_before_renewal=30,
        price_review_at_renewal=True,
    )
    outside = alpha.agreement(
        buyer, renewal_on=day + timedelta(days=31), remind_days_before_renewal=30
    )
    passed = alpha.agreement(buyer, renewal_on=day - timedelta(days=1))
    client.login_as(world.viewer)
    page = client.get(f"/t/alpha/agreements/{inside}").text
    reminder = re.search(
        r'<div class="flash flash-warning" id="renewal-reminder".*?</div>', page, re.S
    )
    assert reminder is not None
    assert "<br>" in reminder.group(0)  # the price-review line
    assert 'id="renewal-reminder"' not in client.get(f"/t/alpha/agreements/{outside}").text
    overdue = client.get(f"/t/alpha/agreements/{passed}").text
    assert '<div class="flash flash-error" id="renewal-reminder"' in overdue


def test_vague_agreement_is_flagged_until_it_has_a_plan_or_a_scope(app, client, world, alpha):
    buyer = alpha.buyer()
    vague = alpha.agreement(buyer, "曖昧な協定")
    scoped = alpha.agreement(buyer, "範囲あり", free_onsite_visits_per_year=0)
    planned = alpha.agreement(buyer, "計画あり")
    alpha.item(planned)
    client.login_as(world.viewer)
    page = client.get(f"/t/alpha/agreements/{vague}").text
    assert 'id="vague-warning"' in page
    scoped_page = client.get(f"/t/alpha/agreements/{scoped}").text
    assert 'id="vague-warning"' not in scoped_page and 'id="no-plan"' in scoped_page
    planned_page = client.get(f"/t/alpha/agreements/{planned}").text
    assert 'id="vague-warning"' not in planned_page and 'id="no-scope"' in planned_page


def test_short_commitment_is_pointed_out(app, client, world, alpha):
    buyer = alpha.buyer()
    short = alpha.agreement(buyer, minimum_commitment_months=3)
    enough = alpha.agreement(buyer, minimum_commitment_months=6)
    client.login_as(world.viewer)
    assert 'id="short-commitment"' in client.get(f"/t/alpha/agreements/{short}").text
    assert 'id="short-commitment"' not in client.get(f"/t/alpha/agreements/{enough}").text


def test_detail_shows_terms_goals_and_orders(app, client, world, alpha):
    buyer = alpha.buyer("株式会社みどり")
    goal = alpha.goal("G7", "地域産業の振興")
    agreement = alpha.agreement(buyer, onsite_rate_yen=30_000, response_time_hours=48)
    alpha.add(AgreementGoal(agreement_id=agreement, goal_id=goal))
    alpha.add(
        Order(
            buyer_id=buyer, agreement_id=agreement, title="梱包作業", confirmed_on=date(2026, 6, 1)
        )
    )
    client.login_as(world.viewer)
    page = client.get(f"/t/alpha/agreements/{agreement}").text
    assert "株式会社みどり" in page and f'href="/t/alpha/buyers/{buyer}"' in page
    assert "G7 地域産業の振興" in page
    assert "30,000円" in page
    assert "梱包作業" in page
    # No writer's controls for a read-only member.
    assert 'id="add-action"' not in page
    assert f"/t/alpha/agreements/{agreement}/edit" not in page


def test_detail_costs_the_same_with_1_or_40_actions(app, client, world, alpha, query_counter):
    buyer = alpha.buyer()
    small, big = alpha.agreement(buyer, "小"), alpha.agreement(buyer, "大")
    goals = [alpha.goal(f"G{i}") for i in range(5)]
    alpha.item(small)
    alpha.add(*(ActionItem(agreement_id=big, title=f"行動{i}") for i in range(40)))
    alpha.add(*(AgreementGoal(agreement_id=big, goal_id=goal) for goal in goals))
    alpha.add(
        *(
            Order(buyer_id=buyer, agreement_id=big, title=f"受注{i}", confirmed_on=date(2026, 6, 1))
            for i in range(10)
        )
    )
    client.login_as(world.coordinator)
    query_counter.clear()
    assert client.get(f"/t/alpha/agreements/{small}").status_code == 200
    few = statements(query_counter)
    query_counter.clear()
    assert client.get(f"/t/alpha/agreements/{big}").status_code == 200
    assert len(statements(query_counter)) == len(few)
    # user, the person's workspaces (also the switcher's); agreement, items, buyer, goals, orders
    assert len(few) == 7, "\n".join(few)


def test_missing_and_foreign_agreements_are_not_found(app, client, world, alpha):
    beta = Data(app, world.beta.id)
    beta_buyer = beta.buyer()
    beta.agreement(beta_buyer)
    beta_agreement = beta.agreement(beta_buyer)
    beta.item(beta_agreement)
    client.login_as(world.admin)
    assert client.get(f"/t/alpha/agreements/{beta_agreement}").status_code == 404
    assert client.post(f"/t/alpha/agreements/{beta_agreement}/archive").status_code == 404
    assert (
        client.post(
            f"/t/alpha/agreements/{beta_agreement}/actions", data={"new-title": "x"}
        ).status_code
        == 404
    )


def test_outsider_gets_404(app, client, world, alpha):
    agreement = alpha.agreement(alpha.buyer())
    client.login_as(world.outsider)
    assert client.get("/t/alpha/agreements/").status_code == 404
    assert client.get(f"/t/alpha/agreements/{agreement}").status_code == 404
    response = client.post(f"/t/alpha/agreements/{agreement}/actions", data={"new-title": "侵入"})
    assert response.status_code == 404
    assert alpha.all(ActionItem) == []


# --- the action plan ---------------------------------------------------------------------------


def test_add_an_action_without_javascript(app, client, world, alpha):
    agreement = alpha.agreement(alpha.buyer())
    client.login_as(world.coordinator)
    response = client.post(
        f"/t/alpha/agreements/{agreement}/actions",
        data={
            "new-title": "月次定例会の開催",
            "new-owner": "事務局 田中",
            "new-due_on": "2026-07-31",
            "new-status": "in_progress",
            "new-kpi": "参加率 90%",
            "new-progress": "３０",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/alpha/agreements/{agreement}#action-plan"
    [item] = alpha.all(ActionItem)
    assert (item.agreement_id, item.title, item.owner) == (
        agreement,
        "月次定例会の開催",
        "事務局 田中",
    )
    assert (item.due_on, item.status, item.progress) == (
        date(2026, 7, 31),
        ActionStatus.IN_PROGRESS,
        30,
    )


def test_add_an_action_with_htmx_swaps_the_page_body(app, client, world, alpha):
    agreement = alpha.agreement(alpha.buyer())
    client.login_as(world.coordinator)
    assert 'id="vague-warning"' in client.get(f"/t/alpha/agreements/{agreement}").text
    response = client.post(
        f"/t/alpha/agreements/{agreement}/actions",
        data={"new-title": "工程表の作成", "new-status": "planned"},
        headers=HTMX_BODY,
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "工程表の作成" in response.text
    assert 'id="vague-warning"' not in response.text  # a plan now exists
    assert 'id="new-title"' in response.text and 'value="工程表の作成"' not in response.text
    assert len(alpha.all(ActionItem)) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "あ" * 201),
        ("owner", "あ" * 101),
        ("due_on", "someday"),
        ("status", "forgotten"),
        ("kpi", "あ" * 201),
        ("progress", "101"),
        ("progress", "-1"),
        ("progress", "half"),
    ],
)
def test_bad_action_is_refused_at_the_field(app, client, world, alpha, field, value):
    agreement = alpha.agreement(alpha.buyer())
    client.login_as(world.coordinator)
    data = {"new-title": "行動", "new-status": "planned", f"new-{field}": value}
    for headers in ({}, HTMX_BODY):
        response = client.post(
            f"/t/alpha/agreements/{agreement}/actions", data=data, headers=headers
        )
        assert response.status_code == 422
        assert_error_at(response.text, f"new-{field}")
    assert alpha.all(ActionItem) == []


def test_edit_an_action_in_place(app, client, world, alpha):
    agreement = alpha.agreement(alpha.buyer())
    item = alpha.item(agreement, "初回打合せ", progress=20)
    client.login_as(world.coordinator)
    # The edit link works without JavaScript and with htmx (body only).
    page = client.get(f"/t/alpha/agreements/{agreement}?edit={item}")
    assert 'id="edit-title"' in page.text and 'value="初回打合せ"' in page.text
    fragment = client.get(f"/t/alpha/agreements/{agreement}?edit={item}", headers=HTMX_BODY)
    assert "<html" not in fragment.text and 'id="edit-title"' in fragment.text

    response = client.post(
        f"/t/alpha/agreements/{agreement}/actions/{item}",
        data={"edit-title": "初回打合せ", "edit-status": "done", "edit-progress": "50"},
        headers=HTMX_BODY,
    )
    assert response.status_code == 200
    assert 'id="edit-title"' not in response.text
    stored = alpha.get(ActionItem, item)
    assert (stored.status, stored.progress) == (ActionStatus.DONE, 100)  # done means 100%

    plain = client.post(
        f"/t/alpha/agreements/{agreement}/actions/{item}",
        data={"edit-title": "保留中", "edit-status": "on_hold", "edit-progress": "60"},
    )
    assert plain.status_code == 303
    stored = alpha.get(ActionItem, item)
    assert (stored.title, stored.status, stored.progress) == ("保留中", ActionStatus.ON_HOLD, 60)


def test_bad_edit_changes_nothing(app, client, world, alpha):
    agreement = alpha.agreement(alpha.buyer())
    item = alpha.item(agreement, "そのまま", progress=20)
    client.login_as(world.coordinator)
    response = client.post(
        f"/t/alpha/agreements/{agreement}/actions/{item}",
        data={"edit-title": "変更", "edit-status": "planned", "edit-progress": "150"},
        headers=HTMX_BODY,
    )
    assert response.status_code == 422
    assert_error_at(response.text, "edit-progress")
    stored = alpha.get(ActionItem, item)
    assert (stored.title, stored.progress) == ("そのまま", 20)


def test_an_action_belongs_to_its_agreement(app, client, world, alpha):
    buyer = alpha.buyer()
    first, second = alpha.agreement(buyer), alpha.agreement(buyer)
    item = alpha.item(first, "一つ目の行動")
    client.login_as(world.coordinator)
    response = client.post(
        f"/t/alpha/agreements/{second}/actions/{item}",
        data={"edit-title": "乗っ取り", "edit-status": "planned"},
    )
    assert response.status_code == 404
    assert client.post(f"/t/alpha/agreements/{first}/actions/99", data={}).status_code == 404
    assert alpha.get(ActionItem, item).title == "一つ目の行動"


def test_viewer_cannot_change_the_plan(app, client, world, alpha):
    agreement = alpha.agreement(alpha.buyer())
    item = alpha.item(agreement, "そのまま")
    client.login_as(world.viewer)
    add = client.post(f"/t/alpha/agreements/{agreement}/actions", data={"new-title": "追加"})
    assert add.status_code == 403
    edit = client.post(
        f"/t/alpha/agreements/{agreement}/actions/{item}",
        data={"edit-title": "変更", "edit-status": "planned"},
    )
    assert edit.status_code == 403
    # The edit link does nothing for a read-only member.
    assert 'id="edit-title"' not in client.get(f"/t/alpha/agreements/{agreement}?edit={item}").text
    assert [row.title for row in alpha.all(ActionItem)] == ["そのまま"]


def test_archived_agreement_plan_is_frozen(app, client, world, alpha):
    agreement = alpha.agreement(alpha.buyer(), archived_at=utcnow())
    item = alpha.item(agreement, "そのまま")
    client.login_as(world.coordinator)
    page = client.get(f"/t/alpha/agreements/{agreement}?edit={item}").text
    assert 'id="add-action"' not in page and 'id="edit-title"' not in page
    add = client.post(
        f"/t/alpha/agreements/{agreement}/actions",
        data={"new-title": "追加", "new-status": "planned"},
    )
    assert add.status_code == 303
    edit = client.post(
        f"/t/alpha/agreements/{agreement}/actions/{item}",
        data={"edit-title": "変更", "edit-status": "planned"},
    )
    assert edit.status_code == 303
    assert [row.title for row in alpha.all(ActionItem)] == ["そのまま"]
    assert "flash-error" in client.get(f"/t/alpha/agreements/{agreement}").text


# --- archive and restore -----------------------------------------------------------------------


def test_archive_and_restore(app, client, world, alpha):
    agreement = alpha.agreement(alpha.buyer(), "協定")
    client.login_as(world.coordinator)
    response = client.post(f"/t/alpha/agreements/{agreement}/archive")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/alpha/agreements/{agreement}"
    assert alpha.get(Agreement, agreement).archived_at is not None
    assert client.get(f"/t/alpha/agreements/{agreement}").status_code == 200
    assert titles_in(client.get("/t/alpha/agreements/").text) == []
    assert client.post(f"/t/alpha/agreements/{agreement}/restore").status_code == 303
    assert alpha.get(Agreement, agreement).archived_at is None
    assert titles_in(client.get("/t/alpha/agreements/").text) == ["協定"]


def test_viewer_cannot_archive_or_restore(app, client, world, alpha):
    buyer = alpha.buyer()
    active = alpha.agreement(buyer)
    archived = alpha.agreement(buyer, archived_at=utcnow())
    client.login_as(world.viewer)
    assert client.post(f"/t/alpha/agreements/{active}/archive").status_code == 403
    assert client.post(f"/t/alpha/agreements/{archived}/restore").status_code == 403
    assert alpha.get(Agreement, active).archived_at is None
    assert alpha.get(Agreement, archived).archived_at is not None
