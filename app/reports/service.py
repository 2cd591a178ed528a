"""Loading what the report needs, in a fixed number of statements whatever the number of rows.

The large tables are aggregated in SQL (order months by buyer and month, assignments by
facility and month, deliveries by due day, forecasts by buyer, priority-procurement shares);
deals, facilities and wages come as plain rows. The arithmetic is in ``kpi.py``. No Flask
request here: callers pass the session (bound to the workspace), the year and today.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from sqlalchemy import Float, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from app.buyers.models import Buyer
from app.catalogs.models import LostReason
from app.deals.models import OPEN_STAGES, Deal
from app.facilities.models import Facility, FacilityWage
from app.jp import fiscal_year_of, to_jst
from app.matching.models import Assignment
from app.orders.models import Delivery, DeliveryStatus, Order, OrderMonth, OrderStatus
from app.reports import kpi
from app.reports.kpi import (
    BuyerForecast,
    BuyerMonth,
    DealRow,
    DeliveryDay,
    FacilityMonth,
    FacilityRow,
    Headline,
    Period,
    ProcurementRow,
    WageRow,
)

# Fiscal years of the trend charts (the report's year and the ones before it).
TREND_YEARS: Final = 5


@dataclass
class Rows:
    """The plain rows of a window of fiscal years."""

    deals: list[DealRow]
    buyer_months: list[BuyerMonth]
    facilities: list[FacilityRow]
    facility_months: list[FacilityMonth]
    wages: list[WageRow]


@dataclass
class Report:
    period: Period
    periods: list[Period]  # the trend's years, oldest first, ending with ``period``
    headlines: dict[int, Headline]
    monthly: list[int]
    monthly_previous: list[int]
    conversion: kpi.Conversion
    funnel: dict[str, int]
    win_rates: list[kpi.StageWinRate]
    lost_reasons: list[kpi.LostReasonLine]
    reason_labels: dict[int, str]
    up_sell: kpi.UpSell
    forecasts: list[kpi.ForecastLine]
    forecast_total: kpi.ForecastLine
    buyer_names: dict[int, str]
    lead_time: kpi.LeadTime
    utilisation: kpi.Utilisation
    hours_by_kind: dict[str, float]
    wages: kpi.WageDistribution
    on_time: kpi.OnTime
    quality: kpi.QualityExtension
    procurement: kpi.Procurement
    facility_names: dict[int, str] = field(default_factory=dict)

    @property
    def current(self) -> Headline:
        return self.headlines[self.period.fiscal_year]

    @property
    def previous(self) -> Headline:
        return self.headlines[self.period.fiscal_year - 1]

    @property
    def changes(self) -> dict[str, kpi.Change]:
        return kpi.changes(self.current, self.previous)


# --- rows ------------------------------------------------------------------------------------


def load_deals(session: Session, first: Period, last: Period) -> list[DealRow]:
    """Deals that can be in the pipeline of a year from ``first`` to ``last``."""
    rows = session.execute(
        select(
            Deal.id,
            Deal.buyer_id,
            Deal.amount,
            Deal.stage,
            Deal.opened_on,
            Deal.closed_on,
            Deal.lost_reason_id,
            Deal.furthest_stage,
        ).where(
            Deal.archived_at.is_(None),
            Deal.opened_on <= last.end,
            # Open deals have no closing day; a closed deal without one closes on opening.
            or_(
                Deal.stage.in_(OPEN_STAGES),
                func.coalesce(Deal.closed_on, Deal.opened_on) >= first.start,
            ),
        )
    )
    return [
        DealRow(
            id=r.id,
            buyer_id=r.buyer_id,
            amount=r.amount,
            stage=str(r.stage),
            opened_on=r.opened_on,
            closed_on=r.closed_on,
            lost_reason_id=r.lost_reason_id,
            furthest_stage=str(r.furthest_stage) if r.furthest_stage is not None else None,
        )
        for r in rows
    ]


def _live_orders() -> Any:
    return and_(
        Order.tenant_id == OrderMonth.tenant_id,
        Order.id == OrderMonth.order_id,
        Order.archived_at.is_(None),
    )


def load_buyer_months(session: Session, first: Period, last: Period) -> list[BuyerMonth]:
    rows = session.execute(
        select(Order.buyer_id, OrderMonth.month, func.sum(OrderMonth.actual_amount))
        .select_from(OrderMonth)
        .join(Order, _live_orders())
        .where(
            OrderMonth.actual_amount.is_not(None),
            OrderMonth.month.between(first.start, last.end),
        )
        .group_by(Order.buyer_id, OrderMonth.month)
    )
    return [BuyerMonth(buyer_id, month, int(total or 0)) for buyer_id, month, total in rows]


def enrolled_on(participating_since: date | None, created_at: Any) -> date:
    """When a facility joined: its participation day, else the JST day it was recorded."""
    if participating_since is not None:
        return participating_since
    day: date = to_jst(created_at).date()
    return day


def load_facilities(session: Session) -> list[FacilityRow]:
    rows = session.execute(
        select(
            Facility.id,
            Facility.name,
            Facility.kind,
            Facility.status,
            Facility.participating_since,
            Facility.created_at,
            Facility.workers,
            Facility.hours_per_month,
        ).where(Facility.archived_at.is_(None))
    )
    return [
        FacilityRow(
            id=r.id,
            kind=str(r.kind),
            status=str(r.status),
            enrolled_on=enrolled_on(r.participating_since, r.created_at),
            workers=r.workers,
            hours_per_month=r.hours_per_month,
            name=r.name,
        )
        for r in rows
    ]


def load_facility_months(session: Session, first: Period, last: Period) -> list[FacilityMonth]:
    rows = session.execute(
        select(Assignment.facility_id, Assignment.month, func.sum(Assignment.hours))
        .where(Assignment.month.between(first.start, last.end))
        .group_by(Assignment.facility_id, Assignment.month)
    )
    return [FacilityMonth(f, month, float(hours or 0)) for f, month, hours in rows]


def load_wages(session: Session, first: Period, last: Period) -> list[WageRow]:
    rows = session.execute(
        select(
            FacilityWage.facility_id,
            FacilityWage.fiscal_year,
            FacilityWage.avg_monthly_wage,
            FacilityWage.workers,
        ).where(FacilityWage.fiscal_year.between(first.fiscal_year - 1, last.fiscal_year))
    )
    return [WageRow(*row) for row in rows]


def load_rows(session: Session, first: Period, last: Period) -> Rows:
    """Five statements for any number of years and records."""
    return Rows(
        deals=load_deals(session, first, last),
        buyer_months=load_buyer_months(session, first, last),
        facilities=load_facilities(session),
        facility_months=load_facility_months(session, first, last),
        wages=load_wages(session, first, last),
    )


def headline(rows: Rows, p: Period) -> Headline:
    return kpi.headline(
        p, rows.deals, rows.buyer_months, rows.facilities, rows.facility_months, rows.wages
    )


# --- aggregates of one year ------------------------------------------------------------------


def load_forecasts(session: Session, p: Period) -> list[BuyerForecast]:
    both = and_(OrderMonth.forecast_amount.is_not(None), OrderMonth.actual_amount.is_not(None))
    rows = session.execute(
        select(
            Order.buyer_id,
            func.count(),
            func.sum(OrderMonth.forecast_amount),
            func.sum(func.abs(OrderMonth.actual_amount - OrderMonth.forecast_amount)),
            func.sum(OrderMonth.actual_amount),
        )
        .select_from(OrderMonth)
        .join(Order, _live_orders())
        .where(both, OrderMonth.month.between(p.start, p.end))
        .group_by(Order.buyer_id)
    )
    return [
        BuyerForecast(buyer_id, int(n), int(forecast or 0), int(error or 0), int(actual or 0))
        for buyer_id, n, forecast, error, actual in rows
    ]


def load_lead_times(session: Session, p: Period) -> list[tuple[date, date | None]]:
    rows = session.execute(
        select(Order.confirmed_on, Order.assigned_on).where(
            Order.archived_at.is_(None),
            Order.status != OrderStatus.CANCELLED,
            Order.confirmed_on.between(p.start, p.end),
        )
    )
    return [(confirmed, assigned) for confirmed, assigned in rows]


def load_first_orders(session: Session) -> dict[int, date]:
    rows = session.execute(
        select(Order.buyer_id, func.min(Order.confirmed_on))
        .where(Order.archived_at.is_(None), Order.status != OrderStatus.CANCELLED)
        .group_by(Order.buyer_id)
    )
    return {buyer_id: first for buyer_id, first in rows}


def load_delivery_days(session: Session, p: Period, today: date) -> list[DeliveryDay]:
    delivered = and_(Delivery.delivered_on.is_not(None), Delivery.status != DeliveryStatus.REJECTED)
    undelivered = ~delivered

    def count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    rows = session.execute(
        select(
            Delivery.original_due_on,
            count(and_(delivered, Delivery.delivered_on <= Delivery.original_due_on)),
            count(and_(delivered, Delivery.delivered_on > Delivery.original_due_on)),
            count(and_(undelivered, Delivery.original_due_on < today)),
            count(and_(undelivered, Delivery.original_due_on >= today)),
            count(Delivery.revised_due_on.is_not(None)),
        )
        .join(
            Order,
            and_(
                Order.tenant_id == Delivery.tenant_id,
                Order.id == Delivery.order_id,
                Order.archived_at.is_(None),
            ),
        )
        .where(Delivery.original_due_on.between(p.start, p.end))
        .group_by(Delivery.original_due_on)
    )
    return [DeliveryDay(due, *(int(n or 0) for n in counts)) for due, *counts in rows]


def load_procurement(session: Session, p: Period) -> list[ProcurementRow]:
    """Actual amounts of the year's order months by buyer type, shared among that month's
    assignments by hours (by quantity when none were recorded). Two statements."""
    in_year = Assignment.month.between(p.start, p.end)
    month_work = (
        select(
            Assignment.order_id.label("order_id"),
            Assignment.month.label("month"),
            func.sum(Assignment.hours).label("hours"),
            func.sum(Assignment.quantity).label("quantity"),
        )
        .where(Assignment.order_id.is_not(None), in_year)
        .group_by(Assignment.order_id, Assignment.month)
        .subquery()
    )
    kind_work = (
        select(
            Assignment.order_id.label("order_id"),
            Assignment.month.label("month"),
            Facility.kind.label("kind"),
            func.sum(Assignment.hours).label("hours"),
            func.sum(Assignment.quantity).label("quantity"),
        )
        .join(
            Facility,
            and_(Facility.tenant_id == Assignment.tenant_id, Facility.id == Assignment.facility_id),
        )
        .where(Assignment.order_id.is_not(None), in_year)
        .group_by(Assignment.order_id, Assignment.month, Facility.kind)
        .subquery()
    )
    share = case(
        (month_work.c.hours > 0, kind_work.c.hours / month_work.c.hours),
        else_=kind_work.c.quantity / month_work.c.quantity,
    )
    buyer_join = and_(Buyer.tenant_id == Order.tenant_id, Buyer.id == Order.buyer_id)
    actual = cast(OrderMonth.actual_amount, Float)
    in_months = and_(
        OrderMonth.actual_amount.is_not(None), OrderMonth.month.between(p.start, p.end)
    )
    allocated = session.execute(
        select(Buyer.is_municipality, kind_work.c.kind, func.sum(actual * share))
        .select_from(OrderMonth)
        .join(Order, _live_orders())
        .join(Buyer, buyer_join)
        .join(
            kind_work,
            and_(
                kind_work.c.order_id == OrderMonth.order_id, kind_work.c.month == OrderMonth.month
            ),
        )
        .join(
            month_work,
            and_(
                month_work.c.order_id == OrderMonth.order_id,
                month_work.c.month == OrderMonth.month,
            ),
        )
        .where(in_months)
        .group_by(Buyer.is_municipality, kind_work.c.kind)
    ).all()
    unassigned = session.execute(
        select(Buyer.is_municipality, func.sum(OrderMonth.actual_amount))
        .select_from(OrderMonth)
        .join(Order, _live_orders())
        .join(Buyer, buyer_join)
        .where(
            in_months,
            ~exists().where(
                Assignment.tenant_id == OrderMonth.tenant_id,
                Assignment.order_id == OrderMonth.order_id,
                Assignment.month == OrderMonth.month,
            ),
        )
        .group_by(Buyer.is_municipality)
    ).all()
    rows = [
        ProcurementRow(bool(municipal), str(kind), float(amount or 0))
        for municipal, kind, amount in allocated
    ]
    rows += [
        ProcurementRow(bool(municipal), None, float(amount or 0))
        for municipal, amount in unassigned
    ]
    return rows


def quality_extension(session: Session, p: Period) -> kpi.QualityExtension:
    """Defect rate and nonconformances by severity and status for the year.

    Extension point: the inspection and nonconformance records are built elsewhere; wire
    them here (aggregates only, a fixed number of statements) and the report's quality
    section, its exports and the PDF show them. Until then: empty.
    """
    del session, p
    return kpi.QualityExtension()


def _names(session: Session, model: Any, label: Any, ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(select(model.id, label).where(model.id.in_(sorted(set(ids)))))
    return {record_id: name for record_id, name in rows}


# --- the report ------------------------------------------------------------------------------


def build_report(session: Session, fiscal_year: int, today: date) -> Report:
    """Everything the report page, its charts and exports show: fifteen statements."""
    p = kpi.period(fiscal_year, today)
    periods = [kpi.period(fiscal_year - back, today) for back in range(TREND_YEARS - 1, -1, -1)]
    rows = load_rows(session, periods[0], p)
    headlines = {q.fiscal_year: headline(rows, q) for q in periods}
    previous = p.previous()
    forecasts, forecast_total = kpi.forecast_lines(load_forecasts(session, p))
    lost_reasons = kpi.lost_by_reason(rows.deals, p)
    reason_labels = {
        reason_id: label
        for reason_id, label in session.execute(select(LostReason.id, LostReason.label))
    }
    return Report(
        period=p,
        periods=periods,
        headlines=headlines,
        monthly=kpi.monthly_totals(rows.buyer_months, p),
        monthly_previous=kpi.monthly_totals(rows.buyer_months, previous),
        conversion=kpi.conversion(rows.deals, p),
        funnel=kpi.funnel(rows.deals, p),
        win_rates=kpi.win_rate_by_stage(rows.deals, p),
        lost_reasons=lost_reasons,
        reason_labels=reason_labels,
        up_sell=kpi.up_sell(rows.deals, rows.buyer_months, load_first_orders(session), p),
        forecasts=forecasts,
        forecast_total=forecast_total,
        buyer_names=_names(session, Buyer, Buyer.name, [line.buyer_id for line in forecasts]),
        lead_time=kpi.lead_time(load_lead_times(session, p), p),
        utilisation=kpi.utilisation(rows.facilities, rows.facility_months, p),
        hours_by_kind=kpi.hours_by_kind(rows.facilities, rows.facility_months, p),
        wages=kpi.wage_distribution(rows.facilities, rows.wages, p),
        on_time=kpi.on_time(load_delivery_days(session, p, today), p),
        quality=quality_extension(session, p),
        procurement=kpi.procurement(load_procurement(session, p)),
        facility_names={f.id: f.name for f in rows.facilities},
    )


def headline_for(session: Session, fiscal_year: int, today: date) -> Headline:
    """The headline figures of one year alone (the roll-up's per-workspace path on SQLite)."""
    p = kpi.period(fiscal_year, today)
    return headline(load_rows(session, p, p), p)


def years_with_records(session: Session, today: date) -> list[int]:
    """Fiscal years from the first deal or order month to this year, newest first."""
    first_deal = session.scalar(select(func.min(Deal.opened_on)).where(Deal.archived_at.is_(None)))
    first_month = session.scalar(select(func.min(OrderMonth.month)))
    this_year = kpi.current_fiscal_year(today)
    starts = [d for d in (first_deal, first_month) if d is not None]
    first_year = min((fiscal_year_of(d) for d in starts), default=this_year)
    first_year = min(first_year, this_year)
    return list(range(this_year, first_year - 1, -1))
