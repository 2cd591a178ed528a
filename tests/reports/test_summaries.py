"""The report's monthly summaries stay exact whatever is written, and only in its workspace.

Every test of the suite also ends with a check that the summaries equal what the records give
(``tests/conftest.py``); these tests pin what each kind of write does to them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from app.buyers.models import Buyer
from app.facilities.models import Facility, FacilityKind
from app.matching.models import Assignment
from app.orders.models import Order, OrderMonth
from app.reports import summaries
from app.reports.models import (
    report_buyer_months,
    report_facility_months,
    report_procurement_months,
)

JUNE, JULY, AUGUST = date(2026, 6, 1), date(2026, 7, 1), date(2026, 8, 1)


@pytest.fixture
def owner(database: Any):
    engine = create_engine(database.owner_url)
    yield engine
    engine.dispose()


def rows(owner, table, tenant_id: int) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    keys = len(table.primary_key.columns)
    with owner.connect() as connection:
        found = connection.execute(select(table).where(table.c.tenant_id == tenant_id))
        return {tuple(row[1:keys]): tuple(row[keys:]) for row in found}


def exact(owner) -> None:
    with owner.connect() as connection:
        assert summaries.differences(connection) == []


@pytest.fixture
def order(arrange, world):
    """An order of a new buyer: June and July (forecast 90,000, actual 100,000 / 80,000), each
    month worked by two facilities (type B 30 h and a manufacturer 10 h)."""

    def add(s):
        buyer = Buyer(name="集計テスト株式会社")
        workshop = Facility(name="集計B型", kind=FacilityKind.TYPE_B)
        maker = Facility(name="集計工場", kind=FacilityKind.MANUFACTURER)
        s.add_all([buyer, workshop, maker])
        s.flush()
        o = Order(buyer_id=buyer.id, title="集計", confirmed_on=date(2026, 5, 20))
        s.add(o)
        s.flush()
        for month, actual in ((JUNE, 100_000), (JULY, 80_000)):
            s.add(
                OrderMonth(order_id=o.id, month=month, forecast_amount=90_000, actual_amount=actual)
            )
            for facility, hours in ((workshop, 30), (maker, 10)):
                s.add(
                    Assignment(
                        order_id=o.id,
                        facility_id=facility.id,
                        month=month,
                        quantity=hours,
                        hours=hours,
                    )
                )
        return {"order": o.id, "buyer": buyer.id, "workshop": workshop.id, "maker": maker.id}

    return arrange(add)


def test_new_order_months_and_assignments_are_summed(owner, world, order):
    buyers = rows(owner, report_buyer_months, world.alpha.id)
    # actual, months with a forecast, forecast, |actual − forecast|, actual where forecast known
    assert buyers[(JUNE, order["buyer"])] == (100_000, 1, 90_000, 10_000, 100_000)
    assert buyers[(JULY, order["buyer"])] == (80_000, 1, 90_000, 10_000, 80_000)
    hours = rows(owner, report_facility_months, world.alpha.id)
    assert hours[(JUNE, order["workshop"])] == (30.0,)
    assert hours[(JULY, order["maker"])] == (10.0,)
    shares = rows(owner, report_procurement_months, world.alpha.id)
    assert shares[(JUNE, False, "type_b")][0] == pytest.approx(75_000)  # 30 of 40 hours
    assert shares[(JUNE, False, "manufacturer")][0] == pytest.approx(25_000)
    exact(owner)


def test_changes_move_the_sums_with_them(owner, arrange, world, order):
    def edit(s):
        june = s.scalars(select(OrderMonth).where(OrderMonth.month == JUNE)).one()
        june.actual_amount = 120_000
        july = s.scalars(select(OrderMonth).where(OrderMonth.month == JULY)).one()
        july.month = AUGUST  # the whole month moves: July's rows must go
        for assignment in s.scalars(select(Assignment).where(Assignment.month == JULY)):
            assignment.month = AUGUST
        maker_june = s.scalars(
            select(Assignment).where(
                Assignment.month == JUNE, Assignment.facility_id == order["maker"]
            )
        ).one()
        s.delete(maker_june)

    arrange(edit)
    buyers = rows(owner, report_buyer_months, world.alpha.id)
    assert buyers[(JUNE, order["buyer"])][0] == 120_000
    assert (JULY, order["buyer"]) not in buyers and buyers[(AUGUST, order["buyer"])][0] == 80_000
    hours = rows(owner, report_facility_months, world.alpha.id)
    assert (JUNE, order["maker"]) not in hours and (JULY, order["workshop"]) not in hours
    shares = rows(owner, report_procurement_months, world.alpha.id)
    assert shares[(JUNE, False, "type_b")][0] == pytest.approx(120_000)  # the only worker left
    assert (JUNE, False, "manufacturer") not in shares
    exact(owner)


def test_an_archived_or_reassigned_order_takes_its_months_along(owner, arrange, world, order):
    def reassign(s):
        other = Buyer(name="別の発注企業")
        s.add(other)
        s.flush()
        s.get(Order, (world.alpha.id, order["order"])).buyer_id = other.id
        return other.id

    other = arrange(reassign)
    buyers = rows(owner, report_buyer_months, world.alpha.id)
    assert (JUNE, order["buyer"]) not in buyers and (JUNE, other) in buyers
    exact(owner)

    def archive(s):
        from app.db import utcnow

        s.get(Order, (world.alpha.id, order["order"])).archived_at = utcnow()

    arrange(archive)
    buyers = rows(owner, report_buyer_months, world.alpha.id)
    assert (JUNE, other) not in buyers and (JULY, other) not in buyers
    assert not any(
        key[0] in (JUNE, JULY) for key in rows(owner, report_procurement_months, world.alpha.id)
    )
    assert (JUNE, order["workshop"]) in rows(owner, report_facility_months, world.alpha.id)
    exact(owner)


def test_deleting_an_order_and_its_records_empties_its_months(owner, arrange, world, order):
    def remove(s):
        for assignment in s.scalars(
            select(Assignment).where(Assignment.order_id == order["order"])
        ):
            s.delete(assignment)
        for month in s.scalars(select(OrderMonth).where(OrderMonth.order_id == order["order"])):
            s.delete(month)
        s.flush()
        s.delete(s.get(Order, (world.alpha.id, order["order"])))

    arrange(remove)
    assert not any(k[1] == order["buyer"] for k in rows(owner, report_buyer_months, world.alpha.id))
    exact(owner)


def test_buyer_type_and_facility_kind_resort_the_procurement_split(owner, arrange, world, order):
    arrange(
        lambda s: setattr(s.get(Buyer, (world.alpha.id, order["buyer"])), "is_municipality", True)
    )
    shares = rows(owner, report_procurement_months, world.alpha.id)
    assert shares[(JUNE, True, "type_b")][0] == pytest.approx(75_000)
    assert (JUNE, False, "type_b") not in shares
    arrange(
        lambda s: setattr(
            s.get(Facility, (world.alpha.id, order["maker"])), "kind", FacilityKind.TYPE_A
        )
    )
    shares = rows(owner, report_procurement_months, world.alpha.id)
    assert shares[(JUNE, True, "type_a")][0] == pytest.approx(25_000)
    exact(owner)


def test_another_workspaces_writes_leave_alphas_summaries_alone(owner, arrange, world, order):
    before = rows(owner, report_buyer_months, world.alpha.id)

    def add_in_beta(s):
        buyer = Buyer(name="ベータの企業")
        s.add(buyer)
        s.flush()
        o = Order(buyer_id=buyer.id, title="ベータ", confirmed_on=date(2026, 5, 1))
        s.add(o)
        s.flush()
        s.add(OrderMonth(order_id=o.id, month=JUNE, actual_amount=5_000))
        return buyer.id

    beta_buyer = arrange(add_in_beta, tenant_id=world.beta.id)
    assert rows(owner, report_buyer_months, world.alpha.id) == before
    assert rows(owner, report_buyer_months, world.beta.id)[(JUNE, beta_buyer)][0] == 5_000
    exact(owner)


def test_a_write_around_the_app_is_found_and_rebuilt(
    app, owner, arrange, world, order, monkeypatch
):
    monkeypatch.setattr(summaries, "refresh", lambda *_args: None)  # as if written around the ORM

    def edit(s):
        s.scalars(select(OrderMonth).where(OrderMonth.month == JUNE)).one().actual_amount = 1

    arrange(edit)
    monkeypatch.undo()
    with owner.connect() as connection:
        found = summaries.differences(connection)
    assert any("report_buyer_months" in line for line in found), found
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["report-summaries", "--check"])
    assert checked.exit_code == 1 and "summary rows differ" in checked.output
    rebuilt = runner.invoke(args=["report-summaries"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert runner.invoke(args=["report-summaries", "--check"]).exit_code == 0
    assert rows(owner, report_buyer_months, world.alpha.id)[(JUNE, order["buyer"])][0] == 1
    exact(owner)


@pytest.mark.postgres_only
def test_two_writers_of_one_workspace_take_turns(app, owner, arrange, world, order):
    """Two transactions changing the same month of a workspace: the second waits for the
    first to commit, then sums both (refreshing side by side, it would miss the first's
    change or collide with its rows)."""
    import threading

    from app.extensions import db
    from tenants.isolation import tenant_scope

    def second_order(s):
        o = Order(buyer_id=order["buyer"], title="二件目", confirmed_on=date(2026, 5, 21))
        s.add(o)
        s.flush()
        s.add(OrderMonth(order_id=o.id, month=JUNE, actual_amount=50_000))
        return o.id

    other = arrange(second_order)
    flushed, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def write(order_id: int, amount: int, hold: bool) -> None:
        try:
            with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
                month = s.scalars(
                    select(OrderMonth).where(
                        OrderMonth.order_id == order_id, OrderMonth.month == JUNE
                    )
                ).one()
                month.actual_amount = amount
                s.flush()
                if hold:
                    flushed.set()
                    release.wait(10)
                s.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    first = threading.Thread(target=write, args=(order["order"], 1_000, True))
    first.start()
    assert flushed.wait(10)
    second = threading.Thread(target=write, args=(other, 2_000, False))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the first transaction's turn
    release.set()
    first.join(10)
    second.join(10)
    assert errors == []
    assert rows(owner, report_buyer_months, world.alpha.id)[(JUNE, order["buyer"])][0] == 3_000
    exact(owner)
