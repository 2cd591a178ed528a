"""Buyers (発注企業): list with search, filters, sort and pages; new; detail with the history of
agreements, deals and orders; edit; archive and restore; who may do what; query counts.

No assertions on wording (the Japanese catalogue is being written): status codes, redirects,
database state, and the field an error is shown at.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.agreements.models import Agreement, AgreementKind
from app.buyers import service
from app.buyers.models import Buyer
from app.db import utcnow
from app.deals.models import Deal, DealStage
from app.extensions import db
from app.orders.models import Order
from tenants.audit import AuditEvent
from tenants.isolation import tenant_scope

VALID = {
    "name": "株式会社テスト製作所",
    "name_kana": "ﾃｽﾄｾｲｻｸｼｮ",  # half-width: stored full-width
    "industry": "製造業",
    "postal_code": "４２００８５３",  # full-width digits, no hyphen: stored 420-0853
    "prefecture_code": "22",
    "address": "静岡市葵区追手町9-6",
    "website": "https://example.co.jp",
    "contact_name": "山田 太郎",
    "contact_email": "Yamada@Example.co.jp",
    "contact_phone": "054-221-1111",
    "notes": "  月末は繁忙期  ",
}


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


def add_buyers(app, tenant_id: int, *buyers: dict) -> list[int]:
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        rows = [Buyer(**values) for values in buyers]
        s.add_all(rows)
        s.commit()
        return [row.id for row in rows]


def load_buyers(app, tenant_id: int) -> list[Buyer]:
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        return list(s.scalars(select(Buyer).order_by(Buyer.id)))


def count_buyers(app, tenant_id: int) -> int:
    return len(load_buyers(app, tenant_id))


def statements(query_counter: list[str]) -> list[str]:
    """What the page asked of the database (PostgreSQL's per-transaction settings aside)."""
    return [sql for sql in query_counter if "set_config" not in sql]


def names_in(html: str) -> list[str]:
    return re.findall(r'<a href="/t/alpha/buyers/\d+">([^<]+)</a>', html)


def add_history(app, tenant_id: int, buyer_id: int, n: int) -> None:
    """n agreements, n deals and n orders for one buyer."""
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        for i in range(n):
            agreement = Agreement(
                buyer_id=buyer_id, title=f"協定{i}", kind=AgreementKind.INDIVIDUAL
            )
            deal = Deal(
                buyer_id=buyer_id,
                title=f"商談{i}",
                stage=DealStage.QUOTE,
                amount=100_000 * (i + 1),
                opened_on=date(2026, 4, 1),
            )
            s.add_all([agreement, deal])
            s.flush()
            s.add(
                Order(
                    buyer_id=buyer_id,
                    deal_id=deal.id,
                    agreement_id=agreement.id,
                    title=f"受注{i}",
                    confirmed_on=date(2026, 5, 1),
                )
            )
        s.commit()


# --- list --------------------------------------------------------------------------------------


def test_list_hides_archived_unless_asked(app, client, world):
    add_buyers(
        app,
        world.alpha.id,
        {"name": "アクティブ商事"},
        {"name": "アーカイブ商事", "archived_at": utcnow()},
    )
    client.login_as(world.viewer)
    response = client.get("/t/alpha/buyers/")
    assert response.status_code == 200
    assert names_in(response.text) == ["アクティブ商事"]
    assert names_in(client.get("/t/alpha/buyers/?show=archived").text) == ["アーカイブ商事"]
    assert sorted(names_in(client.get("/t/alpha/buyers/?show=all").text)) == sorted(
        ["アーカイブ商事", "アクティブ商事"]
    )


def test_search_filter_and_sort(app, client, world):
    add_buyers(
        app,
        world.alpha.id,
        {"name": "株式会社あおば", "name_kana": "アオバ", "industry": "食品"},
        {"name": "株式会社わかば", "name_kana": "ワカバ", "industry": "製造業"},
        {"name": "株式会社かえで", "name_kana": "カエデ", "industry": "製造業"},
    )
    client.login_as(world.coordinator)
    # By reading (kana), not by the registered name's characters.
    assert names_in(client.get("/t/alpha/buyers/").text) == [
        "株式会社あおば",
        "株式会社かえで",
        "株式会社わかば",
    ]
    assert names_in(client.get("/t/alpha/buyers/?sort=name&dir=desc").text) == [
        "株式会社わかば",
        "株式会社かえで",
        "株式会社あおば",
    ]
    assert names_in(client.get("/t/alpha/buyers/?q=ワカバ").text) == ["株式会社わかば"]
    assert names_in(client.get("/t/alpha/buyers/?q=食品").text) == ["株式会社あおば"]
    assert names_in(client.get("/t/alpha/buyers/?q=株式会社　かえで").text) == ["株式会社かえで"]
    assert names_in(client.get("/t/alpha/buyers/?industry=製造業").text) == [
        "株式会社かえで",
        "株式会社わかば",
    ]
    # By industry, then by reading: the two 製造業 companies are neighbours, かえで first.
    by_industry = names_in(client.get("/t/alpha/buyers/?sort=industry").text)
    makers = [by_industry.index("株式会社かえで"), by_industry.index("株式会社わかば")]
    assert makers[1] == makers[0] + 1
    reverse = names_in(client.get("/t/alpha/buyers/?sort=industry&dir=desc").text)
    assert reverse == by_industry[::-1]
    assert names_in(client.get("/t/alpha/buyers/?sort=created&dir=desc").text)[0] == (
        "株式会社かえで"
    )


def test_htmx_search_renders_only_the_rows(app, client, world):
    add_buyers(app, world.alpha.id, {"name": "株式会社あおば"})
    client.login_as(world.viewer)
    response = client.get(
        "/t/alpha/buyers/?q=あおば", headers={"HX-Request": "true", "HX-Target": "rows"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert names_in(response.text) == ["株式会社あおば"]
    assert "HX-Target" in response.headers["Vary"]


def test_fifty_per_page(app, client, world):
    add_buyers(app, world.alpha.id, *({"name": f"会社{i:03d}"} for i in range(60)))
    client.login_as(world.viewer)
    first = client.get("/t/alpha/buyers/")
    assert len(names_in(first.text)) == 50
    assert 'rel="next"' in first.text
    second = client.get("/t/alpha/buyers/?page=2")
    assert names_in(second.text) == [f"会社{i:03d}" for i in range(50, 60)]


def test_list_costs_the_same_for_3_and_60_buyers(app, client, world, query_counter):
    client.login_as(world.viewer)
    add_buyers(
        app, world.alpha.id, *({"name": f"会社{i}", "industry": f"業種{i}"} for i in range(3))
    )
    query_counter.clear()
    assert client.get("/t/alpha/buyers/").status_code == 200
    few = statements(query_counter)
    add_buyers(
        app, world.alpha.id, *({"name": f"会社x{i}", "industry": f"業種{i}"} for i in range(57))
    )
    query_counter.clear()
    assert client.get("/t/alpha/buyers/").status_code == 200
    assert len(statements(query_counter)) == len(few)
    # user, the person's workspaces (also the switcher's); count, page, industries
    assert len(few) == 5, "\n".join(few)


# --- new ---------------------------------------------------------------------------------------


def test_coordinator_adds_a_buyer(app, client, world):
    client.login_as(world.coordinator)
    assert client.get("/t/alpha/buyers/new").status_code == 200
    response = client.post("/t/alpha/buyers/new", data=VALID)
    assert response.status_code == 303, response.text
    [buyer] = load_buyers(app, world.alpha.id)
    assert response.headers["Location"] == f"/t/alpha/buyers/{buyer.id}"
    assert buyer.name == "株式会社テスト製作所"
    assert buyer.name_kana == "テストセイサクショ"
    assert buyer.postal_code == "420-0853"
    assert buyer.contact_email == "yamada@example.co.jp"
    assert buyer.notes == "月末は繁忙期"
    assert buyer.archived_at is None
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "buyers")
        ).all()
    assert actions == ["create"]


def test_only_a_name_is_required(app, client, world):
    client.login_as(world.admin)
    response = client.post("/t/alpha/buyers/new", data={"name": "最小限株式会社"})
    assert response.status_code == 303, response.text
    [buyer] = load_buyers(app, world.alpha.id)
    assert (buyer.industry, buyer.postal_code, buyer.contact_email) == ("", "", "")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "   "),
        ("name", "あ" * 121),
        ("name_kana", "Test"),
        ("name_kana", "テスト株式会社"),
        ("postal_code", "42-0853"),
        ("prefecture_code", "99"),
        ("website", "example.co.jp"),
        ("contact_email", "not-an-address"),
        ("contact_phone", "call me"),
        ("industry", "あ" * 61),
    ],
)
def test_bad_input_is_refused_at_the_field(app, client, world, field, value):
    client.login_as(world.coordinator)
    response = client.post("/t/alpha/buyers/new", data={**VALID, field: value})
    assert response.status_code == 422
    assert_error_at(response.text, field)
    assert count_buyers(app, world.alpha.id) == 0


def test_viewer_cannot_add(app, client, world):
    client.login_as(world.viewer)
    assert client.get("/t/alpha/buyers/new").status_code == 403
    assert client.post("/t/alpha/buyers/new", data=VALID).status_code == 403
    assert count_buyers(app, world.alpha.id) == 0


# --- detail and history ------------------------------------------------------------------------


def test_detail_shows_profile_and_history(app, client, world):
    [buyer_id] = add_buyers(
        app,
        world.alpha.id,
        {"name": "株式会社れきし", "contact_name": "佐藤 花子", "notes": "品質に厳しい"},
    )
    add_history(app, world.alpha.id, buyer_id, 2)
    client.login_as(world.viewer)
    response = client.get(f"/t/alpha/buyers/{buyer_id}")
    assert response.status_code == 200
    page = response.text
    assert "佐藤 花子" in page and "品質に厳しい" in page
    assert '<a href="/t/alpha/agreements/1">協定0</a>' in page
    assert "商談1" in page and "受注1" in page
    assert "200,000円" in page  # deal amounts in yen
    for endpoint, path, title in (
        ("deals.detail", "/t/alpha/deals/2", "商談1"),
        ("orders.detail", "/t/alpha/orders/2", "受注1"),
    ):
        linked = f'<a href="{path}">{title}</a>' in page
        assert linked == (endpoint in app.view_functions), endpoint
    # Writers' buttons are not offered to a read-only member.
    assert f"/t/alpha/buyers/{buyer_id}/edit" not in page
    assert f"/t/alpha/buyers/{buyer_id}/archive" not in page


def test_history_belongs_to_this_buyer_only(app, client, world):
    mine, other = add_buyers(app, world.alpha.id, {"name": "自社"}, {"name": "他社"})
    add_history(app, world.alpha.id, other, 1)
    client.login_as(world.viewer)
    page = client.get(f"/t/alpha/buyers/{mine}").text
    assert "協定0" not in page and "商談0" not in page and "受注0" not in page


def test_detail_costs_the_same_with_1_or_30_of_each(app, client, world, query_counter):
    client.login_as(world.viewer)
    small, big = add_buyers(app, world.alpha.id, {"name": "小"}, {"name": "大"})
    add_history(app, world.alpha.id, small, 1)
    add_history(app, world.alpha.id, big, 30)
    query_counter.clear()
    assert client.get(f"/t/alpha/buyers/{small}").status_code == 200
    few = statements(query_counter)
    query_counter.clear()
    assert client.get(f"/t/alpha/buyers/{big}").status_code == 200
    assert len(statements(query_counter)) == len(few)
    # user, the person's workspaces (also the switcher's); buyer, agreements, deals, orders
    assert len(few) == 6, "\n".join(few)


def test_history_shows_the_newest_and_says_there_are_more(app, world):
    [buyer_id] = add_buyers(app, world.alpha.id, {"name": "常連"})
    add_history(app, world.alpha.id, buyer_id, 3)
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        some = service.history(s, buyer_id, limit=2)
        every = service.history(s, buyer_id, limit=3)
    assert [deal.title for deal in some.deals] == ["商談2", "商談1"]
    assert (some.more_agreements, some.more_deals, some.more_orders) == (True, True, True)
    assert len(every.orders) == 3
    assert (every.more_agreements, every.more_deals, every.more_orders) == (False, False, False)


def test_missing_and_foreign_buyers_are_not_found(app, client, world):
    add_buyers(app, world.beta.id, {"name": "ベータ1"}, {"name": "ベータ2"})
    client.login_as(world.admin)
    assert client.get("/t/alpha/buyers/2").status_code == 404
    assert client.get("/t/alpha/buyers/2/edit").status_code == 404
    assert client.post("/t/alpha/buyers/2/archive").status_code == 404


def test_outsider_gets_404(app, client, world):
    [buyer_id] = add_buyers(app, world.alpha.id, {"name": "アルファの会社"})
    client.login_as(world.outsider)
    assert client.get("/t/alpha/buyers/").status_code == 404
    assert client.get(f"/t/alpha/buyers/{buyer_id}").status_code == 404
    assert client.post(f"/t/alpha/buyers/{buyer_id}/archive").status_code == 404
    assert load_buyers(app, world.alpha.id)[0].archived_at is None


# --- edit --------------------------------------------------------------------------------------


def test_edit_shows_and_saves(app, client, world):
    [buyer_id] = add_buyers(app, world.alpha.id, {"name": "旧社名", "industry": "印刷"})
    client.login_as(world.coordinator)
    form = client.get(f"/t/alpha/buyers/{buyer_id}/edit")
    assert form.status_code == 200
    assert 'value="旧社名"' in form.text
    response = client.post(f"/t/alpha/buyers/{buyer_id}/edit", data={**VALID, "name": "新社名"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/alpha/buyers/{buyer_id}"
    [buyer] = load_buyers(app, world.alpha.id)
    assert (buyer.name, buyer.industry) == ("新社名", "製造業")


def test_edit_with_bad_input_changes_nothing(app, client, world):
    [buyer_id] = add_buyers(app, world.alpha.id, {"name": "そのまま"})
    client.login_as(world.coordinator)
    response = client.post(f"/t/alpha/buyers/{buyer_id}/edit", data={**VALID, "name": ""})
    assert response.status_code == 422
    assert_error_at(response.text, "name")
    assert load_buyers(app, world.alpha.id)[0].name == "そのまま"


def test_viewer_cannot_edit(app, client, world):
    [buyer_id] = add_buyers(app, world.alpha.id, {"name": "そのまま"})
    client.login_as(world.viewer)
    assert client.get(f"/t/alpha/buyers/{buyer_id}/edit").status_code == 403
    assert client.post(f"/t/alpha/buyers/{buyer_id}/edit", data=VALID).status_code == 403
    assert load_buyers(app, world.alpha.id)[0].name == "そのまま"


# --- archive and restore -----------------------------------------------------------------------


def test_archive_and_restore(app, client, world):
    [buyer_id] = add_buyers(app, world.alpha.id, {"name": "休止中"})
    client.login_as(world.coordinator)
    response = client.post(f"/t/alpha/buyers/{buyer_id}/archive")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/alpha/buyers/{buyer_id}"
    assert load_buyers(app, world.alpha.id)[0].archived_at is not None
    # Still viewable, hidden from the list, not editable until restored.
    assert client.get(f"/t/alpha/buyers/{buyer_id}").status_code == 200
    assert names_in(client.get("/t/alpha/buyers/").text) == []
    edit = client.post(f"/t/alpha/buyers/{buyer_id}/edit", data={**VALID, "name": "変更"})
    assert edit.status_code == 303
    assert load_buyers(app, world.alpha.id)[0].name == "休止中"
    # Archiving twice keeps the first date.
    first = load_buyers(app, world.alpha.id)[0].archived_at
    client.post(f"/t/alpha/buyers/{buyer_id}/archive")
    assert load_buyers(app, world.alpha.id)[0].archived_at == first

    assert client.post(f"/t/alpha/buyers/{buyer_id}/restore").status_code == 303
    assert load_buyers(app, world.alpha.id)[0].archived_at is None
    assert names_in(client.get("/t/alpha/buyers/").text) == ["休止中"]


def test_htmx_archive_redirects_the_whole_page(app, client, world):
    [buyer_id] = add_buyers(app, world.alpha.id, {"name": "休止中"})
    client.login_as(world.coordinator)
    response = client.post(f"/t/alpha/buyers/{buyer_id}/archive", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/t/alpha/buyers/{buyer_id}"


def test_viewer_cannot_archive_or_restore(app, client, world):
    active, archived = add_buyers(
        app, world.alpha.id, {"name": "稼働"}, {"name": "休止", "archived_at": utcnow()}
    )
    client.login_as(world.viewer)
    assert client.post(f"/t/alpha/buyers/{active}/archive").status_code == 403
    assert client.post(f"/t/alpha/buyers/{archived}/restore").status_code == 403
    first, second = load_buyers(app, world.alpha.id)
    assert first.archived_at is None and second.archived_at is not None
