"""The regional roll-up: a prefecture workspace sees the summed KPIs of the municipal
workspaces of its prefecture that chose to share — aggregates only, never a row.

On PostgreSQL the figures come from the SECURITY DEFINER function of migration 0007, called
by the app role under row-level security; the tests prove it refuses workspaces the caller
may not see, returns one row of sums per workspace, and agrees with the workspace's own
report (the Python arithmetic) on the seed's years and on awkward records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.auth.service import create_user
from app.buyers.models import Buyer
from app.db import make_engine
from app.deals.models import Deal, DealStage
from app.extensions import db
from app.facilities.models import Facility, FacilityKind, FacilityStatus, FacilityWage
from app.jp import JST
from app.matching.models import Assignment
from app.orders.models import Order, OrderMonth
from app.reports import region, service
from tenants.isolation import PG_TENANT_SETTING, PG_USER_SETTING, tenant_scope, use_user
from tenants.models import Role, Tenant, TenantKind
from tests.conftest import add_member
from tests.reports.seed import R3, R4

AFTER_R4 = date(2023, 6, 1)


@dataclass
class Region:
    pref: Tenant
    gamma: Tenant
    delta: Tenant
    staff: Any  # a coordinator of the prefecture's workspace
    stranger: Any  # a person of no workspace


def _tenant(s: Session, slug: str, kind: TenantKind, code: str, shares: bool) -> Tenant:
    tenant = Tenant(slug=slug, name=f"{slug}の窓口", kind=kind, prefecture_code=code)
    tenant.shares_with_prefecture = shares
    s.add(tenant)
    s.flush()
    return tenant


def awkward_records(s: Session) -> None:
    """Records at the edges of the definitions, for the SQL and Python to agree on."""
    buyer = Buyer(name="端の会社")
    s.add(buyer)
    s.flush()
    s.add_all(
        [
            # Closed without a closing day: closes on its opening day (2022-05-01).
            Deal(
                buyer_id=buyer.id,
                title="日付なし失注",
                stage=DealStage.LOST,
                amount=700,
                opened_on=date(2022, 5, 1),
            ),
            Deal(
                buyer_id=buyer.id,
                title="保管済み",
                stage=DealStage.LEAD,
                amount=99_999,
                opened_on=date(2022, 5, 1),
                archived_at=datetime(2023, 1, 1, tzinfo=JST),
            ),
            Deal(
                buyer_id=buyer.id,
                title="長期継続",
                stage=DealStage.HEARING,
                amount=1_234,
                opened_on=date(2018, 5, 1),
            ),
            Deal(
                buyer_id=buyer.id,
                title="翌年度受注",
                stage=DealStage.WON,
                amount=5_000,
                opened_on=date(2023, 3, 1),
                closed_on=date(2023, 4, 1),
            ),
        ]
    )
    # Recorded at 2023-03-31 20:00 JST (11:00 UTC): enrolled in R.4, by its JST day.
    late = Facility(name="年度末登録", kind=FacilityKind.TYPE_B, workers=0, hours_per_month=10)
    late.created_at = datetime(2023, 3, 31, 20, 0, tzinfo=JST)
    # Recorded at 2023-04-01 08:00 JST (2023-03-31 UTC): not yet enrolled in R.4.
    early = Facility(name="翌年度登録", kind=FacilityKind.TYPE_A, workers=4)
    early.created_at = datetime(2023, 4, 1, 8, 0, tzinfo=JST)
    gone = Facility(
        name="退会",
        kind=FacilityKind.TYPE_A,
        status=FacilityStatus.LEFT,
        participating_since=date(2020, 4, 1),
    )
    s.add_all([late, early, gone])
    s.flush()
    order = Order(buyer_id=buyer.id, title="端の受注", confirmed_on=date(2022, 4, 1))
    s.add(order)
    s.flush()
    s.add_all(
        [
            OrderMonth(order_id=order.id, month=date(2023, 3, 1), actual_amount=0),
            OrderMonth(order_id=order.id, month=date(2022, 4, 1), actual_amount=1_000),
            OrderMonth(order_id=order.id, month=date(2023, 4, 1), actual_amount=50_000),
            Assignment(
                order_id=order.id, facility_id=late.id, month=date(2023, 3, 1), quantity=1, hours=2
            ),
            Assignment(
                order_id=order.id, facility_id=gone.id, month=date(2022, 6, 1), quantity=1, hours=2
            ),
            # No workers on either side: left out of the wage average.
            FacilityWage(facility_id=late.id, fiscal_year=R3, avg_monthly_wage=10_000),
            FacilityWage(facility_id=late.id, fiscal_year=R4, avg_monthly_wage=11_000),
        ]
    )
    s.flush()  # inside this workspace's scope


@pytest.fixture
def prefecture(app, world) -> Region:
    with app.app_context(), db.new_session() as s:
        pref = _tenant(s, "shizuoka", TenantKind.PREFECTURE, "22", False)
        gamma = _tenant(s, "gamma", TenantKind.MUNICIPALITY, "22", True)
        delta = _tenant(s, "delta", TenantKind.MUNICIPALITY, "13", True)  # another prefecture
        with tenant_scope(s, world.alpha.id):  # the audit logs it to alpha
            s.get(Tenant, world.alpha.id).shares_with_prefecture = True
            s.flush()
        staff = create_user(s, "pref@example.jp", "県の職員", "correct horse battery")
        stranger = create_user(s, "nobody@example.jp", "他人", "correct horse battery")
        add_member(s, pref, staff, Role.COORDINATOR)
        for tenant in (gamma, delta, world.beta):
            with tenant_scope(s, tenant.id):
                awkward_records(s)
        s.commit()
        return Region(pref, gamma, delta, staff, stranger)


def _get(s: Session, tenant_id: int) -> Tenant:
    tenant = s.get(Tenant, tenant_id)
    assert tenant is not None
    return tenant


def _headline_python(app, tenant_id: int, fy: int):
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        return service.headline_for(s, fy, AFTER_R4)


def test_the_prefecture_sees_only_sharing_municipalities_of_its_prefecture(app, world, prefecture):
    with app.app_context(), db.new_session() as s, tenant_scope(s, prefecture.pref.id):
        seen = region.visible_tenants(s, _get(s, prefecture.pref.id), prefecture.staff.id)
        assert {t.slug for t in seen} == {"alpha", "gamma"}  # not beta (no consent), not delta
        assert region.visible_tenants(s, _get(s, prefecture.pref.id), world.admin.id) == []
        # A municipality sees nobody, even its own admin.
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        assert region.visible_tenants(s, _get(s, world.alpha.id), world.admin.id) == []


def test_roll_up_sums_each_workspaces_own_report(app, client, world, prefecture, seeded):
    with app.app_context(), db.new_session() as s, tenant_scope(s, prefecture.pref.id):
        use_user(s, prefecture.staff.id)  # as a request of the prefecture's staff does
        rollup = region.prefecture_rollup(
            s, _get(s, prefecture.pref.id), prefecture.staff.id, R4, AFTER_R4
        )
    by_slug = {w.name: w for w in rollup.workspaces}
    alpha = by_slug[world.alpha.name]
    # Each workspace's figures are its own report's (on PostgreSQL: the SQL function's).
    assert alpha.current == _headline_python(app, world.alpha.id, R4)
    assert alpha.previous == _headline_python(app, world.alpha.id, R3)
    gamma = by_slug[prefecture.gamma.name]
    assert gamma.current == _headline_python(app, prefecture.gamma.id, R4)
    assert gamma.previous == _headline_python(app, prefecture.gamma.id, R3)
    assert rollup.total.deal_amount == alpha.current.deal_amount + gamma.current.deal_amount
    assert rollup.total.order_total == 21_490_000 + 1_000
    assert rollup.total.participating == 96 + 1
    assert rollup.total.arr == alpha.current.arr  # gamma placed 0 in March 2023
    assert rollup.total.wage_increase == 19_878  # gamma's facility has no workers recorded


def test_awkward_records_the_same_in_sql_and_python(app, prefecture):
    gamma = _headline_python(app, prefecture.gamma.id, R4)
    # The long open deal, the undated loss, and the deal won on April 1 (open on March 31).
    assert gamma.deal_amount == 1_234 + 700 + 5_000
    assert gamma.lost_amount == 700 and gamma.open_amount == 1_234 + 5_000
    assert gamma.won_amount == 0
    assert gamma.order_total == 1_000 and gamma.ordering_customers == 1
    assert gamma.arr_month_total == 0
    assert (gamma.participating, gamma.active) == (1, 1)  # the late one, by its JST day
    assert gamma.wage_workers == 0


def test_region_page_for_the_prefecture(app, client, world, prefecture, seeded):
    client.login_as(prefecture.staff)
    response = client.get("/t/shizuoka/reports/region?fy=2022")
    assert response.status_code == 200
    html = response.text
    assert world.alpha.name in html and prefecture.gamma.name in html
    assert world.beta.name not in html and prefecture.delta.name not in html
    assert "2,149万円" in html  # alpha's order total (gamma's 1,000 yen rounds away)
    # Aggregates only: no record of a municipality appears.
    assert "発注企業103" not in html and "事業所001" not in html and "端の会社" not in html


def test_region_page_of_a_municipality_explains_itself(client, world):
    client.login_as(world.viewer)
    response = client.get("/t/alpha/reports/region")
    assert response.status_code == 200
    assert "都道府県のワークスペース向け" in response.text


def test_outsiders_of_the_prefecture_get_404(client, world, prefecture):
    client.login_as(world.admin)  # a member of alpha, not of the prefecture
    assert client.get("/t/shizuoka/reports/region").status_code == 404


def test_admin_turns_sharing_on_in_settings(app, client, world):
    client.login_as(world.admin)
    page = client.get("/t/alpha/settings")
    assert "都道府県のワークスペースと共有する" in page.text
    data = {
        "name": world.alpha.name,
        "kind": "municipality",
        "prefecture_code": "22",
        "min_annual_volume": "2000000",
        "shares_with_prefecture": "y",
    }
    assert client.post("/t/alpha/settings", data=data).status_code == 303
    with app.app_context(), db.new_session() as s:
        assert s.get(Tenant, world.alpha.id).shares_with_prefecture is True
    del data["shares_with_prefecture"]
    assert client.post("/t/alpha/settings", data=data).status_code == 303
    with app.app_context(), db.new_session() as s:
        assert s.get(Tenant, world.alpha.id).shares_with_prefecture is False
    client.login_as(world.viewer)
    assert client.post("/t/alpha/settings", data=data).status_code == 403


# --- PostgreSQL: the database wall holds, the function returns aggregates only -------------


@pytest.fixture
def app_role(database):
    engine = make_engine(database.app_url)
    yield engine
    engine.dispose()


CALL = text("SELECT * FROM region_kpi_components(CAST(:ids AS integer[]), :fy, :arr)")


def _as(connection: Any, tenant_id: int | None, user_id: int | None) -> None:
    connection.execute(
        text("SELECT set_config(:ts, :t, true), set_config(:us, :u, true)"),
        {
            "ts": PG_TENANT_SETTING,
            "t": "" if tenant_id is None else str(tenant_id),
            "us": PG_USER_SETTING,
            "u": "" if user_id is None else str(user_id),
        },
    )


def _call(engine: Any, tenant_id: int | None, user_id: int | None, ids: list[int]) -> list[Any]:
    with engine.begin() as connection:
        _as(connection, tenant_id, user_id)
        return (
            connection.execute(CALL, {"ids": ids, "fy": R4, "arr": date(2023, 3, 1)})
            .mappings()
            .all()
        )


FIELDS = {
    "tenant_id", "lead_customers", "deal_amount", "won_amount", "lost_amount", "open_amount",
    "ordering_customers", "order_total", "arr_month_total", "participating", "active",
    "wage_uplift_sum", "wage_workers",
}  # fmt: skip


@pytest.mark.postgres_only
def test_the_function_returns_one_row_of_sums_per_workspace(app_role, world, prefecture, seeded):
    rows = _call(app_role, prefecture.pref.id, prefecture.staff.id, [world.alpha.id])
    assert len(rows) == 1  # 95 deals, 32 orders, 96 facilities: still one row
    assert set(rows[0].keys()) == FIELDS  # numbers only: no names, ids of records or text
    assert rows[0]["order_total"] == 21_490_000 and rows[0]["active"] == 61
    both = _call(
        app_role, prefecture.pref.id, prefecture.staff.id, [prefecture.gamma.id, world.alpha.id]
    )
    assert [row["tenant_id"] for row in both] == sorted([world.alpha.id, prefecture.gamma.id])


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "who",
    [
        "not sharing",  # beta did not consent
        "other prefecture",  # delta shares, with Tokyo's prefecture
        "municipality asks",  # alpha's own admin, in alpha, asks for gamma
        "not a member",  # a person of no workspace, claiming the prefecture
        "no workspace",  # nothing set for the transaction
    ],
)
def test_the_function_refuses_what_the_caller_may_not_see(app_role, world, prefecture, who):
    from sqlalchemy.exc import DBAPIError

    tenant, user, ids = {
        "not sharing": (prefecture.pref.id, prefecture.staff.id, [world.beta.id]),
        "other prefecture": (prefecture.pref.id, prefecture.staff.id, [prefecture.delta.id]),
        "municipality asks": (world.alpha.id, world.admin.id, [prefecture.gamma.id]),
        "not a member": (prefecture.pref.id, prefecture.stranger.id, [world.alpha.id]),
        "no workspace": (None, None, [world.alpha.id]),
    }[who]
    with pytest.raises(DBAPIError) as caught:
        _call(app_role, tenant, user, ids)
    assert getattr(caught.value.orig, "sqlstate", None) == "42501"


@pytest.mark.postgres_only
def test_row_level_security_still_holds_for_the_prefecture(app_role, world, prefecture, seeded):
    with app_role.begin() as connection:
        _as(connection, prefecture.pref.id, prefecture.staff.id)
        for table in ("deals", "orders", "order_months", "facilities", "buyers", "assignments"):
            assert connection.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table  # noqa: S608
        # A sharing municipality's rows stay closed to the prefecture's transaction.
        assert (
            connection.scalar(
                text("SELECT count(*) FROM deals WHERE tenant_id = :t"), {"t": world.alpha.id}
            )
            == 0
        )


@pytest.mark.postgres_only
def test_the_functions_are_security_definer_with_a_fixed_search_path(app_role):
    with app_role.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT proname, prosecdef, proconfig FROM pg_proc "
                "WHERE proname IN ('region_kpi_components', 'region_visible_tenants')"
            )
        ).all()
    assert {name for name, *_rest in rows} == {"region_kpi_components", "region_visible_tenants"}
    for _name, definer, config in rows:
        assert definer and "search_path=public, pg_temp" in config


@pytest.mark.postgres_only
def test_a_reusable_roll_up_over_unseen_workspaces_is_refused(app, world, prefecture):
    """``region.rollup`` takes any list (support staff will bring theirs): the database
    still checks it."""
    with app.app_context(), db.new_session() as s, tenant_scope(s, prefecture.pref.id):
        use_user(s, prefecture.staff.id)
        beta = _get(s, world.beta.id)
        with pytest.raises(region.NotVisible):
            region.rollup(s, [beta], R4, AFTER_R4)
        # The session stays usable after the refusal.
        assert s.scalar(select(Tenant.slug).where(Tenant.id == world.alpha.id)) == "alpha"


# --- support staff: the workspaces of their regions ---------------------------------------


@pytest.fixture
def agent(app, prefecture):
    """A support agent of Shizuoka (22): alpha, beta, gamma and the prefecture are there;
    delta (Tokyo) is not."""
    from tenants import support

    with app.app_context(), db.new_session() as s:
        user = create_user(s, "agent@example.jp", "サポート 担当", "correct horse battery")
        support.save_agent(s, user, ["22"])
        s.commit()
        return user


def test_support_agent_sees_the_rollup_of_their_regions(client, world, prefecture, agent):
    client.login_as(agent)
    page = client.get("/support/rollup?fy=2022")
    assert page.status_code == 200
    names = set(re.findall(r'<th scope="row">([^<]+の窓口|[^<]*共同受注窓口)</th>', page.text))
    assert {"gammaの窓口", "shizuokaの窓口", world.alpha.name, world.beta.name} <= names
    assert "deltaの窓口" not in page.text
    assert 'id="region-total"' in page.text
    assert 'href="/support/rollup"' in client.get("/support").text


def test_only_support_agents_get_the_support_rollup(client, world, prefecture):
    assert client.get("/support/rollup").status_code == 302  # sign in first
    client.login_as(world.admin)
    assert client.get("/support/rollup").status_code == 403


@pytest.mark.postgres_only
def test_the_function_lets_an_agent_sum_only_their_regions(app, app_role, world, prefecture, agent):
    from sqlalchemy.exc import DBAPIError

    from tenants import support

    rows = _call(app_role, None, agent.id, [prefecture.gamma.id, world.beta.id])
    assert [row["tenant_id"] for row in rows] == sorted([prefecture.gamma.id, world.beta.id])
    for tenant, ids in ((None, [prefecture.delta.id]), (world.alpha.id, [prefecture.gamma.id])):
        # Tokyo is not the agent's region; inside a workspace the agent has no roll-up.
        with pytest.raises(DBAPIError) as caught:
            _call(app_role, tenant, agent.id, ids)
        assert getattr(caught.value.orig, "sqlstate", None) == "42501"
    with app.app_context(), db.new_session() as s:
        user = s.get(type(agent), agent.id)
        assert user is not None
        support.disable_agent(s, user)
        s.commit()
    with pytest.raises(DBAPIError):
        _call(app_role, None, agent.id, [prefecture.gamma.id])
