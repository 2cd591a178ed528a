"""The demo workspace's records: realistic, consistent, deterministic and loaded only once."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.agreements.models import ActionItem, Agreement, AgreementGoal, AgreementKind
from app.buyers.models import Buyer
from app.catalogs.models import (
    DEFAULT_CAPABILITIES,
    DEFAULT_LOST_REASONS,
    Capability,
    DifficultyLevel,
    LostReason,
    PlanGoal,
)
from app.deals.models import OPEN_STAGES, Deal, DealCapability, DealStage
from app.demo import load_demo
from app.demo_records import DEMO_TODAY, LAST_ACTUAL_MONTH, load_demo_records, months_between
from app.extensions import db
from app.facilities.models import (
    Facility,
    FacilityCapability,
    FacilityKind,
    FacilityStatus,
    FacilityWage,
)
from app.jp import JST
from app.orders.models import Delivery, DeliveryStatus, Order, OrderMonth, OrderStatus
from app.timeline.models import TimelineEntry
from tenants.audit import AuditEvent
from tenants.isolation import tenant_scope
from tenants.models import Tenant
from tests.support.samples import add_sample_records

MODELS = (
    Capability, DifficultyLevel, PlanGoal, LostReason, Facility, FacilityCapability,
    FacilityWage, Buyer, Agreement, AgreementGoal, ActionItem, Deal, DealCapability, Order,
    Delivery, OrderMonth, TimelineEntry,
)  # fmt: skip
LOW_PRICE = "単価が低く工賃向上に繋がらない"


def counts(session: Session, tenant_id: int) -> dict[str, int]:
    with tenant_scope(session, tenant_id):
        return {
            model.__tablename__: session.scalars(select(func.count()).select_from(model)).one()
            for model in MODELS
        }


def demo_id(session: Session) -> int:
    return session.scalars(select(Tenant.id).where(Tenant.slug == "demo")).one()


@pytest.fixture
def demo(app):
    """A session on the loaded demo data, scoped to the demo workspace."""
    with app.app_context(), db.new_session() as session:
        load_demo(session)
        with tenant_scope(session, demo_id(session)):
            yield session


def all_rows(session: Session, model):
    return list(session.scalars(select(model).order_by(model.id)))


def test_loads_once_and_again_changes_nothing(app):
    with app.app_context(), db.new_session() as session:
        created = load_demo(session)
        assert "demo: records" in created
        first = counts(session, demo_id(session))
        assert load_demo(session) == []
        assert counts(session, demo_id(session)) == first
    assert first["capabilities"] == len(DEFAULT_CAPABILITIES)
    assert first["difficulty_levels"] == 4
    assert 4 <= first["plan_goals"] <= 6
    assert first["lost_reasons"] == len(DEFAULT_LOST_REASONS)
    assert 35 <= first["facilities"] <= 45
    assert 20 <= first["buyers"] <= 30
    assert 6 <= first["agreements"] <= 8
    assert 70 <= first["deals"] <= 90
    assert 20 <= first["orders"] <= 30
    assert first["deliveries"] >= first["orders"]
    assert first["order_months"] > 100
    assert first["timeline_entries"] >= first["deals"]
    assert first["facility_wages"] >= 3 * 30


CATALOGUE_TABLES = {"capabilities", "difficulty_levels", "lost_reasons", "plan_goals"}


def test_other_workspace_gets_only_the_default_catalogues(app):
    with app.app_context(), db.new_session() as session:
        load_demo(session)
        pref = session.scalars(select(Tenant.id).where(Tenant.slug == "demo-pref")).one()
        found = counts(session, pref)
        records = {table: n for table, n in found.items() if table not in CATALOGUE_TABLES}
        assert set(records.values()) == {0}
        assert found["capabilities"] > 0 and found["lost_reasons"] > 0


def test_same_seed_same_records(app, world):
    """Loaded into another workspace, the loader writes exactly the same records."""

    def fingerprint(session: Session, tenant_id: int) -> tuple:
        with tenant_scope(session, tenant_id):
            return (
                session.execute(
                    select(Deal.id, Deal.title, Deal.stage, Deal.amount, Deal.opened_on)
                    .order_by(Deal.id)
                ).all(),
                session.execute(
                    select(Facility.id, Facility.name, Facility.avg_monthly_wage, Facility.latitude)
                    .order_by(Facility.id)
                ).all(),
                session.execute(
                    select(OrderMonth.order_id, OrderMonth.month, OrderMonth.actual_amount)
                    .order_by(OrderMonth.order_id, OrderMonth.month)
                ).all(),
            )  # fmt: skip

    with app.app_context(), db.new_session() as session:
        load_demo(session)
        owners = [world.coordinator.id, world.admin.id]
        assert load_demo_records(session, world.alpha.id, owners) is True
        session.commit()
        assert fingerprint(session, world.alpha.id) == fingerprint(session, demo_id(session))
        assert load_demo_records(session, world.alpha.id, owners) is False


def test_a_workspace_with_facilities_is_left_alone(app, world, session):
    add_sample_records(session, world.memberships["admin"])
    before = counts(session, world.alpha.id)
    assert load_demo_records(session, world.alpha.id, [world.admin.id]) is False
    assert counts(session, world.alpha.id) == before


def test_existing_catalogue_entries_are_reused(app, world, session):
    with tenant_scope(session, world.alpha.id):
        session.add_all(
            [
                Capability(name="組立"),
                LostReason(label=LOW_PRICE),
                PlanGoal(code="1-3-1", title="x"),
            ]
        )
        session.flush()
    assert load_demo_records(session, world.alpha.id, [world.admin.id]) is True
    session.commit()
    after = counts(session, world.alpha.id)
    assert after["capabilities"] == len(DEFAULT_CAPABILITIES)
    assert after["lost_reasons"] == len(DEFAULT_LOST_REASONS)
    assert after["plan_goals"] == 5


def test_the_loader_writes_through_the_audited_orm(demo):
    actors = Counter(
        demo.scalars(select(AuditEvent.actor_label).where(AuditEvent.object_type == "deals"))
    )
    assert actors == {"demo": demo.scalar(select(func.count()).select_from(Deal))}


def test_catalogues(demo):
    assert [c.name for c in demo.scalars(select(Capability).order_by(Capability.sort_order))] == [
        *DEFAULT_CAPABILITIES
    ]
    levels = all_rows(demo, DifficultyLevel)
    assert sorted(level.level for level in levels) == [1, 2, 3, 4]
    assert all(level.definition for level in levels)
    titles = [goal.title for goal in all_rows(demo, PlanGoal)]
    assert "障害のある人が働き続けられるまち" in titles
    assert {r.label for r in all_rows(demo, LostReason)} == set(DEFAULT_LOST_REASONS)


def test_facilities(demo):
    facilities = all_rows(demo, Facility)
    kinds = Counter(f.kind for f in facilities)
    assert kinds.most_common(1)[0][0] == FacilityKind.TYPE_B
    assert kinds[FacilityKind.TYPE_A] >= 3 and kinds[FacilityKind.LIFE_CARE] >= 2
    assert kinds[FacilityKind.MANUFACTURER] >= 3
    statuses = Counter(f.status for f in facilities)
    assert statuses[FacilityStatus.PARTICIPATING] > 0.8 * len(facilities)
    assert statuses[FacilityStatus.PAUSED] >= 1 and statuses[FacilityStatus.LEFT] >= 1
    assert {f.prefecture_code for f in facilities} == {"22"}
    located = [f for f in facilities if f.latitude is not None]
    assert 0 < len(located) < len(facilities)
    assert all(34.5 < f.latitude < 35.5 and 137.4 < f.longitude < 139.2 for f in located)
    for facility in facilities:
        if facility.kind == FacilityKind.TYPE_B:
            assert 15_000 <= facility.avg_monthly_wage <= 25_000
        if facility.kind == FacilityKind.TYPE_A:
            assert facility.avg_monthly_wage >= 80_000
    skills = Counter(fc.facility_id for fc in all_rows(demo, FacilityCapability))
    assert set(skills) == {f.id for f in facilities}
    assert {fc.proficiency for fc in all_rows(demo, FacilityCapability)} == {1, 2, 3}


def test_wage_history_rises_modestly_to_the_latest_figure(demo):
    history: dict[int, list[FacilityWage]] = {}
    for wage in demo.scalars(select(FacilityWage).order_by(FacilityWage.fiscal_year)):
        history.setdefault(wage.facility_id, []).append(wage)
    facilities = {f.id: f for f in all_rows(demo, Facility)}
    welfare = [f for f in facilities.values() if f.kind != FacilityKind.MANUFACTURER]
    assert set(history) == {f.id for f in welfare}
    for facility_id, years in history.items():
        assert [w.fiscal_year for w in years] == [2023, 2024, 2025]
        amounts = [w.avg_monthly_wage for w in years]
        assert amounts == sorted(amounts) and amounts[-1] <= amounts[0] * 1.2
        assert amounts[-1] == facilities[facility_id].avg_monthly_wage


def test_buyers(demo):
    buyers = all_rows(demo, Buyer)
    # Companies, and the city itself (its purchases are the report's 優先調達 figures).
    city = [b for b in buyers if b.is_municipality]
    assert [b.name for b in city] == ["デモ市役所 障害福祉課"]
    assert all("株式会社" in b.name or "有限会社" in b.name for b in buyers if b not in city)
    assert {"製造業", "印刷業", "食品", "物流", "小売", "IT"} <= {b.industry for b in buyers}
    deals_per_buyer = Counter(demo.scalars(select(Deal.buyer_id)))
    assert set(deals_per_buyer) == {b.id for b in buyers}


def test_agreements(demo):
    agreements = all_rows(demo, Agreement)
    planned = set(demo.scalars(select(ActionItem.agreement_id)))
    linked = set(demo.scalars(select(AgreementGoal.agreement_id)))
    vague = [a for a in agreements if a.id not in planned and not a.has_scope_terms]
    assert len(vague) == 1 and vague[0].kind == AgreementKind.COMPREHENSIVE
    comprehensive = [a for a in agreements if a.kind == AgreementKind.COMPREHENSIVE]
    assert len([a for a in comprehensive if a.id in planned and a.id in linked]) >= 2
    full_scope = [
        a
        for a in agreements
        if a.kind == AgreementKind.OUTSOURCING
        and None
        not in (
            a.remote_support_first,
            a.free_onsite_visits_per_year,
            a.onsite_rate_yen,
            a.response_time_hours,
            a.minimum_commitment_months,
            a.forecast_deadline_day,
        )
        and a.inspection_level
        and a.acceptance_criteria
    ]
    assert len(full_scope) >= 2
    due = [
        a
        for a in agreements
        if a.renewal_on is not None
        and (a.renewal_on - DEMO_TODAY).days <= a.remind_days_before_renewal
        and a.renewal_on >= DEMO_TODAY
    ]
    assert len(due) == 1 and due[0].price_review_at_renewal


def test_deal_amounts_are_consistent(demo):
    for deal in all_rows(demo, Deal):
        if deal.recurring:
            assert deal.amount == deal.monthly_amount * deal.expected_months, deal.title
            assert 50_000 <= deal.monthly_amount <= 600_000
            assert 6 <= deal.expected_months <= 24
        else:
            assert deal.monthly_amount is None and deal.expected_months is None
            assert 100_000 <= deal.amount <= 3_000_000


def test_deals_cover_both_fiscal_years_and_every_stage(demo):
    deals = all_rows(demo, Deal)
    stages = Counter(d.stage for d in deals)
    assert set(stages) == set(DealStage)
    assert stages[DealStage.WON] >= 20 and stages[DealStage.LOST] >= 10
    assert min(d.opened_on for d in deals) >= date(2025, 4, 1)
    assert max(d.opened_on for d in deals) <= DEMO_TODAY
    assert any(d.opened_on < date(2026, 4, 1) for d in deals)
    assert sum(d.opened_on >= date(2026, 4, 1) for d in deals) > len(deals) / 2
    assert len({d.owner_id for d in deals}) == 2 and None not in {d.owner_id for d in deals}
    assert set(demo.scalars(select(DealCapability.deal_id))) == {d.id for d in deals}


def test_closed_and_open_deals(demo):
    reasons = {r.id: r.label for r in all_rows(demo, LostReason)}
    lost_for: Counter[str] = Counter()
    for deal in all_rows(demo, Deal):
        if deal.stage in OPEN_STAGES:
            assert deal.closed_on is None and deal.next_action and deal.next_action_on
        else:
            assert deal.opened_on <= deal.closed_on < DEMO_TODAY
            assert not deal.next_action
        if deal.stage == DealStage.LOST:
            assert deal.lost_reason_id in reasons and deal.lost_comment
            lost_for[reasons[deal.lost_reason_id]] += 1
            if reasons[deal.lost_reason_id] == LOW_PRICE:
                assert deal.recurring and 80_000 <= deal.monthly_amount <= 120_000
        else:
            assert deal.lost_reason_id is None
    assert set(lost_for) == set(DEFAULT_LOST_REASONS)
    assert lost_for[LOW_PRICE] >= 3


def test_orders_come_from_won_deals(demo):
    deals = {d.id: d for d in all_rows(demo, Deal)}
    orders = all_rows(demo, Order)
    assert len({o.deal_id for o in orders}) == len(orders)
    for order in orders:
        deal = deals[order.deal_id]
        assert deal.stage == DealStage.WON
        assert order.buyer_id == deal.buyer_id and order.title == deal.title
        assert order.confirmed_on == deal.closed_on
        assert order.starts_on <= order.ends_on
    won = [d for d in deals.values() if d.stage == DealStage.WON]
    assert 0 < len(won) - len(orders) <= 3  # a couple of fresh wins wait for their order
    statuses = Counter(o.status for o in orders)
    assert {OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS, OrderStatus.CLOSED} <= set(statuses)
    assert statuses[OrderStatus.CANCELLED] == 1


def test_order_months_actuals_until_october_then_three_forecasts(demo):
    months_of: dict[int, list[OrderMonth]] = {}
    for row in demo.scalars(select(OrderMonth).order_by(OrderMonth.month)):
        months_of.setdefault(row.order_id, []).append(row)
    horizon = date(2027, 1, 1)
    gaps = 0
    for order in all_rows(demo, Order):
        rows = months_of[order.id]
        expected = [m for m in months_between(order.starts_on, order.ends_on) if m <= horizon]
        assert [r.month for r in rows] == expected
        for row in rows:
            if row.month <= LAST_ACTUAL_MONTH:
                assert row.actual_amount is not None and row.actual_amount > 0
            else:
                assert row.actual_amount is None and row.forecast_amount
            if row.forecast_amount is None:
                assert row.forecast_submitted_at is None
            else:
                submitted = row.forecast_submitted_at.astimezone(JST).date()
                assert submitted < DEMO_TODAY
            gaps += row.gap not in (None, 0)
    forecast_only = {
        r.month for rows in months_of.values() for r in rows if r.actual_amount is None
    }
    assert forecast_only == {date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)}
    assert gaps >= 20


def test_deliveries_include_revised_and_overdue_lots(demo):
    deliveries = all_rows(demo, Delivery)
    assert set(Counter(d.order_id for d in deliveries)) == {o.id for o in all_rows(demo, Order)}
    revised = [d for d in deliveries if d.revised_due_on is not None]
    assert revised and all(d.revised_due_on > d.original_due_on for d in revised)
    overdue = [d for d in deliveries if d.due_on < DEMO_TODAY and d.delivered_on is None]
    assert overdue
    assert all(d.delivered_on <= DEMO_TODAY for d in deliveries if d.delivered_on)
    assert any(d.status == DeliveryStatus.REJECTED for d in deliveries)


def test_timelines(demo):
    entries = all_rows(demo, TimelineEntry)
    assert {e.deal_id for e in entries if e.deal_id} == {d.id for d in all_rows(demo, Deal)}
    assert {e.order_id for e in entries if e.order_id} == {o.id for o in all_rows(demo, Order)}
    end_of_today = datetime(2026, 11, 21, 23, 59, tzinfo=JST)
    assert all(e.at <= end_of_today for e in entries)
    assert any(e.internal for e in entries) and not all(e.internal for e in entries)
    assert None not in {e.author_user_id for e in entries}
