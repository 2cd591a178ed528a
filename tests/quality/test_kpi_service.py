"""Quality KPIs from the records: per facility (the matching engine's score) and per order,
on-time against the original due date, in a fixed number of queries, one workspace only."""

from __future__ import annotations

from datetime import date

import pytest

from app.extensions import db
from app.orders.models import Delivery
from app.quality import service
from app.quality.models import Inspection, InspectionStage, LotWork, Nonconformance
from app.quality.scores import facility_quality_scores, order_counts
from tenants.isolation import tenant_scope
from tests.quality.conftest import add_facility

TODAY = date(2026, 11, 21)


@pytest.fixture
def history(arrange, samples, world):
    """Facility 1 (sample) and 2 with a year of work; facility 3 with none."""
    second = add_facility(arrange, "ひまわり工房")
    third = add_facility(arrange, "もみじ工房")

    def make(s):
        lots = {
            "X": Delivery(
                order_id=1,
                lot_no="X",
                quantity=100,
                original_due_on=date(2026, 10, 1),
                delivered_on=date(2026, 9, 30),
            ),
            # Delivered before its revised date but after the original one: late.
            "Y": Delivery(
                order_id=1,
                lot_no="Y",
                quantity=100,
                original_due_on=date(2026, 10, 15),
                revised_due_on=date(2026, 10, 25),
                delivered_on=date(2026, 10, 20),
            ),
            "Z": Delivery(order_id=1, lot_no="Z", quantity=100, original_due_on=date(2026, 11, 1)),
            "W": Delivery(order_id=1, lot_no="W", quantity=100, original_due_on=date(2026, 12, 10)),
            "OLD": Delivery(
                order_id=1, lot_no="OLD", quantity=100, original_due_on=date(2025, 1, 1)
            ),
        }
        s.add_all(lots.values())
        s.flush()
        for name in ("X", "Y", "Z", "W", "OLD"):
            s.add(LotWork(delivery_id=lots[name].id, facility_id=1, quantity=50))
        s.add(LotWork(delivery_id=lots["X"].id, facility_id=second, quantity=50))

        def inspection(facility, lot, stage, day, sample, passed, reworked=0, failed=0):
            return Inspection(
                delivery_id=lots[lot].id, facility_id=facility, stage=stage, inspector="検査員",
                inspected_on=day, quantity=100, sample_size=sample, passed=passed,
                reworked=reworked, failed=failed,
            )  # fmt: skip

        central, own = InspectionStage.CENTRAL, InspectionStage.SELF
        s.add_all(
            [
                inspection(1, "X", central, date(2026, 9, 28), 60, 55, 3, 2),
                inspection(1, "Y", central, date(2026, 10, 18), 40, 35, 2, 3),
                inspection(1, "Y", own, date(2026, 10, 17), 100, 100),  # the facility's own
                inspection(1, "OLD", central, date(2024, 12, 20), 80, 0, 0, 80),  # too old
                inspection(second, "X", central, date(2026, 9, 29), 50, 50),
            ]
        )
        s.add_all(
            [
                Nonconformance(delivery_id=lots["Y"].id, facility_id=1, source="buyer",
                               severity="major", title="寸法不良", found_on=date(2026, 10, 22)),
                Nonconformance(delivery_id=lots["OLD"].id, facility_id=1, source="buyer",
                               severity="critical", title="昔の件", found_on=date(2024, 12, 24)),
            ]
        )  # fmt: skip

    arrange(make)
    return second, third


def scores(app, world, ids, tenant=None):
    with app.app_context(), db.new_session() as s, tenant_scope(s, (tenant or world.alpha).id):
        return facility_quality_scores(s, ids, today=TODAY)


def test_facility_scores_by_the_documented_formula(app, world, history):
    second, third = history
    result = scores(app, world, [1, second, third, 999])
    # Facility 1: central 100 inspected (90 passed, 5 reworked, 5 failed); lots due: L-001
    # (undelivered since July), X on time, Y late against its original date, Z undelivered;
    # W is not due, OLD is outside the window. Nonconformances: the sample's minor one and
    # the major one (the critical one is too old).
    fpy, good, on_time = (90 + 10) / 120, (95 + 10) / 120, (1 + 2) / (4 + 4)
    expected_first = 0.4 * fpy + 0.3 * good + 0.3 * on_time - 0.01 - 0.05
    assert result[1] == pytest.approx(expected_first)
    # Facility 2: 50 inspected, all passed; one lot due, on time.
    expected_second = 0.4 * (60 / 70) + 0.3 * (60 / 70) + 0.3 * (3 / 5)
    assert result[second] == pytest.approx(expected_second)
    assert result[third] is None and result[999] is None
    assert result[second] > result[1]


def test_scores_cost_three_queries_whatever_the_number_of_facilities(
    app, world, history, query_counter
):
    second, third = history
    query_counter.clear()
    scores(app, world, [1])
    one = len(query_counter)
    query_counter.clear()
    scores(app, world, [1, second, third, *range(10, 60)])
    assert len(query_counter) == one
    # Inspections, lots, nonconformances (PostgreSQL also sets the tenant per transaction).
    assert len([q for q in query_counter if "set_config" not in q]) == 3


def test_scores_see_one_workspace_only(app, world, history, arrange):
    from tests.support.samples import add_sample_records

    with app.app_context(), db.new_session() as s:
        add_sample_records(s, world.memberships["outsider"], label="β")
        s.commit()
    # Beta's facility 1 has beta's sample nonconformance only, alpha's history is not its own.
    beta = scores(app, world, [1], tenant=world.beta)
    assert beta[1] == pytest.approx(0.5 - 0.01 + 0.3 * ((0 + 2) / (1 + 4) - 0.5))


def test_the_matching_entry_point_is_a_service_function():
    assert service.facility_quality_scores is facility_quality_scores


def test_order_kpis_use_the_original_due_date(app, world, history):
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        counts = order_counts(s, [1], TODAY)[1]
    assert (counts.inspected, counts.passed, counts.reworked, counts.failed) == (150, 140, 5, 5)
    assert (counts.lots_due, counts.lots_on_time) == (4, 1)
    assert counts.nonconformances == {"minor": 1, "major": 1}


def test_the_kpi_page_by_facility_and_by_order(client, world, history):
    client.login_as(world.viewer)
    page = client.get("/t/alpha/quality/kpis")
    assert page.status_code == 200
    assert "ひまわり工房" in page.text and "もみじ工房" in page.text
    by_order = client.get("/t/alpha/quality/kpis?view=orders")
    assert by_order.status_code == 200 and "部品の組立" in by_order.text
