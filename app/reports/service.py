"""Loading what the report needs, in a fixed number of statements whatever the number of rows.

The large tables are read through their monthly summaries (``app.reports.models``: order
months by buyer and month, assignments by facility and month, priority-procurement shares,
kept exact on every write) or aggregated in SQL (deliveries by due day, lead times);
deals, facilities and wages come as plain rows. The arithmetic is in ``kpi.py``. No Flask
request here: callers pass the session (bound to the workspace), the year and today.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from sqlalchemy import String, and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from app.buyers.models import Buyer
from app.catalogs.models import LostReason
from app.deals.models import CLOSED_STAGES, Deal
from app.facilities.models import Facility, FacilityWage
from app.jp import fiscal_year_of, fiscal_year_range, to_jst
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
    MonthTotal,
    Period,
    ProcurementRow,
    WageRow,
)
from app.reports.models import (
    report_buyer_months,
    report_facility_months,
    report_procurement_months,
)
from tenants.isolation import current_tenant_id

# Fiscal years of the trend charts (the report's year and the ones before it).
TREND_YEARS: Final = 3


@dataclass
class Rows:
    """The plain rows of a window of fiscal years."""

    deal_figures: dict[int, dict[str, int]]  # by fiscal year (kpi.deal_figures)
    deals: list[DealRow]  # opened or decided in the year shown in detail
    buyer_months: list[BuyerMonth]
    facilities: list[FacilityRow]
    facility_months: list[FacilityMonth]  # by year (see load_facility_years)
    wages: list[WageRow]
    # For the year shown in detail (``load_rows(detail=...)``): forecasts per buyer and the
    # assigned hours of each of its months.
    forecasts: list[BuyerForecast] = field(default_factory=list)
    facility_months_of_year: list[FacilityMonth] = field(default_factory=list)


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


def years_between(first: Period, last: Period) -> list[Period]:
    return [kpi.period(year, last.today) for year in range(first.fiscal_year, last.fiscal_year + 1)]


def _closed_on() -> Any:
    """SQL for ``DealRow.closed``: the day a deal was won or lost (its opening day if never
    recorded); NULL while it is open."""
    return case(
        (Deal.stage.in_(CLOSED_STAGES), func.coalesce(Deal.closed_on, Deal.opened_on)), else_=None
    )


def load_deal_figures(session: Session, years: Sequence[Period]) -> dict[int, dict[str, int]]:
    """``kpi.deal_figures`` of each year, summed in SQL in one statement: the pipeline of a
    year reaches back to every deal still open, thousands of rows that need not travel.
    ``tests/reports/test_service.py`` holds the two to the same figures."""
    first, last = min(q.start for q in years), max(q.end for q in years)
    closed_on = _closed_on()
    # The closing day computed once per deal, not in each of the fifteen sums.
    window = (
        select(
            Deal.buyer_id,
            Deal.amount,
            type_coerce(Deal.stage, String).label("stage"),
            Deal.opened_on,
            closed_on.label("closed"),
        )
        .where(
            Deal.archived_at.is_(None),
            Deal.opened_on <= last,
            or_(closed_on.is_(None), closed_on >= first),
        )
        .subquery()
    )
    deal = window.c
    columns: list[Any] = []
    for q in years:
        in_pipeline = and_(
            deal.opened_on <= q.end, or_(deal.closed.is_(None), deal.closed >= q.start)
        )
        open_at_end = or_(deal.closed.is_(None), deal.closed > q.end)

        def amount_if(condition: Any) -> Any:
            return func.coalesce(func.sum(case((condition, deal.amount), else_=0)), 0)

        columns += [
            func.count(case((in_pipeline, deal.buyer_id), else_=None).distinct()),
            amount_if(in_pipeline),
            amount_if(and_(in_pipeline, ~open_at_end, deal.stage == kpi.WON)),
            amount_if(and_(in_pipeline, ~open_at_end, deal.stage == kpi.LOST)),
            amount_if(and_(in_pipeline, open_at_end)),
        ]
    row = session.execute(select(*columns)).one()
    keys = ("lead_customers", "deal_amount", "won_amount", "lost_amount", "open_amount")
    return {
        q.fiscal_year: {key: int(row[n * len(keys) + k] or 0) for k, key in enumerate(keys)}
        for n, q in enumerate(years)
    }


def load_deals(session: Session, p: Period) -> list[DealRow]:
    """Deals opened or decided in the year: what its conversion, funnel, win rates, lost
    reasons and up-sell count. Stages come as their stored strings (the enum conversion of
    thousands of rows is measurable)."""
    closed = _closed_on()
    rows = session.execute(
        select(
            Deal.id,
            Deal.buyer_id,
            Deal.amount,
            type_coerce(Deal.stage, String),
            Deal.opened_on,
            Deal.closed_on,
            Deal.lost_reason_id,
            type_coerce(Deal.furthest_stage, String),
        ).where(
            Deal.archived_at.is_(None),
            or_(Deal.opened_on.between(p.start, p.end), closed.between(p.start, p.end)),
        )
    )
    return [DealRow(*row) for row in rows]


def load_buyer_months(
    session: Session, first: Period, last: Period, forecast_year: Period | None = None
) -> tuple[list[BuyerMonth], list[BuyerForecast]]:
    """Actual amounts placed per buyer (from the monthly summaries): for each fiscal year
    from ``first`` to ``last`` one row dated the year's last day (March 31, never the first
    of a month), and one for the year's ARR month dated that month. That is all the headline
    figures, up-sell and procurement need, in a row or two per buyer and year. The same pass
    sums the forecasts of ``forecast_year`` per buyer (its months where forecast and actual
    are both known)."""
    summary = report_buyer_months.c
    month = summary.month
    years = [
        kpi.period(year, last.today) for year in range(first.fiscal_year, last.fiscal_year + 1)
    ]
    arr_months = [q.arr_month for q in years if q.arr_month is not None]
    bucket = case(
        (month.in_(arr_months), month),
        *((month.between(q.start, q.end), q.end) for q in years),
        else_=month,
    )
    rows = session.execute(
        select(
            summary.buyer_id,
            bucket,
            func.sum(summary.actual),
            func.sum(summary.forecast_months),
            func.sum(summary.forecast),
            func.sum(summary.forecast_error),
            func.sum(summary.forecast_actual),
        )
        .where(
            summary.tenant_id == current_tenant_id(session),
            month.between(first.start, last.end),
        )
        .group_by(summary.buyer_id, bucket)
    )
    buyer_months: list[BuyerMonth] = []
    sums: dict[int, list[int]] = {}
    for buyer_id, day, total, known, forecasts, errors, actuals in rows:
        buyer_months.append(BuyerMonth(buyer_id, day, int(total or 0)))
        if known and forecast_year is not None and forecast_year.contains(day):
            line = sums.setdefault(buyer_id, [0, 0, 0, 0])
            line[0] += int(known)
            line[1] += int(forecasts or 0)
            line[2] += int(errors or 0)
            line[3] += int(actuals or 0)
    forecast_rows = [BuyerForecast(buyer_id, *line) for buyer_id, line in sums.items()]
    return buyer_months, forecast_rows


def load_month_totals(session: Session, first: Period, last: Period) -> list[MonthTotal]:
    """The order total of each month from ``first`` to ``last`` (all buyers)."""
    summary = report_buyer_months.c
    rows = session.execute(
        select(summary.month, func.sum(summary.actual))
        .where(
            summary.tenant_id == current_tenant_id(session),
            summary.month.between(first.start, last.end),
        )
        .group_by(summary.month)
    )
    return [MonthTotal(month, int(total or 0)) for month, total in rows]


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


def load_facility_years(
    session: Session, first: Period, last: Period, detail: Period | None = None
) -> tuple[list[FacilityMonth], list[FacilityMonth]]:
    """Assigned hours per facility and fiscal year, each dated the first month of its year
    (enough for "received work in the year"), and per facility and month of ``detail``
    (utilisation): one pass over the monthly summaries."""
    summary = report_facility_months.c
    years = range(first.fiscal_year, last.fiscal_year + 1)
    bucket = case(
        *(((summary.month.between(detail.start, detail.end), summary.month),) if detail else ()),
        *((summary.month.between(*fiscal_year_range(year)), date(year, 4, 1)) for year in years),
        else_=None,
    )
    rows = session.execute(
        select(summary.facility_id, bucket, func.sum(summary.hours))
        .where(
            summary.tenant_id == current_tenant_id(session),
            summary.month.between(first.start, last.end),
        )
        .group_by(summary.facility_id, bucket)
    )
    by_year: dict[tuple[int, date], float] = {}
    months: list[FacilityMonth] = []
    for facility_id, day, summed in rows:
        hours = float(summed or 0)
        year_start = day
        if detail is not None and detail.contains(day):
            months.append(FacilityMonth(facility_id, day, hours))
            year_start = detail.start
        key = (facility_id, year_start)
        by_year[key] = by_year.get(key, 0.0) + hours
    years_rows = [FacilityMonth(f, day, hours) for (f, day), hours in by_year.items()]
    return years_rows, months


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


def load_rows(session: Session, first: Period, last: Period, detail: Period | None = None) -> Rows:
    """Five statements for any number of years and records (six with ``detail``: that year's
    deals; its forecasts and monthly hours come in the same statements)."""
    buyer_months, forecasts = load_buyer_months(session, first, last, detail)
    facility_years, facility_months = load_facility_years(session, first, last, detail)
    return Rows(
        deal_figures=load_deal_figures(session, years_between(first, last)),
        deals=load_deals(session, detail) if detail is not None else [],
        buyer_months=buyer_months,
        facilities=load_facilities(session),
        facility_months=facility_years,
        wages=load_wages(session, first, last),
        forecasts=forecasts,
        facility_months_of_year=facility_months,
    )


def headline(rows: Rows, p: Period) -> Headline:
    """One year's headline: its own rows only (the rows may span several years)."""
    return kpi.headline_of(
        p,
        rows.deal_figures[p.fiscal_year],
        [row for row in rows.buyer_months if p.start <= row.month <= p.end],
        rows.facilities,
        [row for row in rows.facility_months if p.start <= row.month <= p.end],
        rows.wages,
    )


# --- aggregates of one year ------------------------------------------------------------------


def load_lead_times(session: Session, p: Period) -> list[tuple[date, date | None]]:
    rows = session.execute(
        select(Order.confirmed_on, Order.assigned_on).where(
            Order.archived_at.is_(None),
            Order.status != OrderStatus.CANCELLED,
            Order.confirmed_on.between(p.start, p.end),
        )
    )
    return [(confirmed, assigned) for confirmed, assigned in rows]


def load_existing_customers(session: Session, p: Period) -> set[int]:
    """Buyers with an order confirmed before the year began: one probe per buyer along the
    orders' (buyer, confirmed day) index, which stops at the first such order."""
    earlier_order = (
        select(Order.id)
        .where(
            Order.tenant_id == Buyer.tenant_id,
            Order.buyer_id == Buyer.id,
            Order.confirmed_on < p.start,
            Order.archived_at.is_(None),
            Order.status != OrderStatus.CANCELLED,
        )
        .exists()
    )
    return set(session.scalars(select(Buyer.id).where(earlier_order)))


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


def load_procurement(
    session: Session, p: Period, buyer_months: Sequence[BuyerMonth]
) -> list[ProcurementRow]:
    """Actual amounts of the year's order months by buyer type, shared among that month's
    assignments by hours (by quantity when none were recorded; summed month by month in
    ``report_procurement_months``), and the buyers that are the municipality. What is not
    shared (months nobody was assigned to) is the rest of the year's order total."""
    summary = report_procurement_months.c
    allocated = session.execute(
        select(summary.municipality, summary.facility_kind, func.sum(summary.amount))
        .where(
            summary.tenant_id == current_tenant_id(session),
            summary.month.between(p.start, p.end),
        )
        .group_by(summary.municipality, summary.facility_kind)
    ).all()
    municipal = set(session.scalars(select(Buyer.id).where(Buyer.is_municipality.is_(True))))
    rows = [
        ProcurementRow(bool(is_municipal), str(kind), float(amount or 0))
        for is_municipal, kind, amount in allocated
    ]
    for is_municipal in (True, False):
        total = sum(
            row.actual
            for row in buyer_months
            if p.contains(row.month) and (row.buyer_id in municipal) == is_municipal
        )
        shared = sum(row.amount for row in rows if row.municipality == is_municipal)
        if total or shared:
            rows.append(ProcurementRow(is_municipal, None, total - shared))
    return rows


def quality_extension(session: Session, p: Period) -> kpi.QualityExtension:
    """Defect rate and nonconformances by severity and status for the year: central
    inspections (units inspected, units failed) and nonconformances found in the year, as in
    ``app.quality.kpi``. Aggregates only, two statements."""
    from app.quality.models import Inspection, InspectionStage, Nonconformance

    last = min(p.end, p.today)
    inspected, failed = session.execute(
        select(func.sum(Inspection.sample_size), func.sum(Inspection.failed)).where(
            Inspection.stage == InspectionStage.CENTRAL,
            Inspection.inspected_on.between(p.start, last),
        )
    ).one()
    by_severity: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for severity, status, count in session.execute(
        select(Nonconformance.severity, Nonconformance.status, func.count())
        .where(Nonconformance.found_on.between(p.start, last))
        .group_by(Nonconformance.severity, Nonconformance.status)
    ):
        by_severity[str(severity)] = by_severity.get(str(severity), 0) + int(count)
        by_status[str(status)] = by_status.get(str(status), 0) + int(count)
    return kpi.QualityExtension(
        inspected=int(inspected) if inspected is not None else None,
        defective=int(failed or 0) if inspected is not None else None,
        nonconformances_by_severity=by_severity,
        nonconformances_by_status=by_status,
    )


def _names(session: Session, model: Any, label: Any, ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(select(model.id, label).where(model.id.in_(sorted(set(ids)))))
    return {record_id: name for record_id, name in rows}


# --- the report ------------------------------------------------------------------------------


def build_report(session: Session, fiscal_year: int, today: date) -> Report:
    """Everything the report page, its charts and exports show: sixteen statements."""
    p = kpi.period(fiscal_year, today)
    periods = [kpi.period(fiscal_year - back, today) for back in range(TREND_YEARS - 1, -1, -1)]
    previous = p.previous()
    rows = load_rows(session, periods[0], p, detail=p)
    month_totals = load_month_totals(session, previous, p)
    headlines = {q.fiscal_year: headline(rows, q) for q in periods}
    forecasts, forecast_total = kpi.forecast_lines(rows.forecasts)
    lost_reasons = kpi.lost_by_reason(rows.deals, p)
    reason_labels = {
        reason_id: label
        for reason_id, label in session.execute(select(LostReason.id, LostReason.label))
    }
    return Report(
        period=p,
        periods=periods,
        headlines=headlines,
        monthly=kpi.monthly_totals(month_totals, p),
        monthly_previous=kpi.monthly_totals(month_totals, previous),
        conversion=kpi.conversion(rows.deals, p),
        funnel=kpi.funnel(rows.deals, p),
        win_rates=kpi.win_rate_by_stage(rows.deals, p),
        lost_reasons=lost_reasons,
        reason_labels=reason_labels,
        up_sell=kpi.up_sell(rows.deals, rows.buyer_months, load_existing_customers(session, p), p),
        forecasts=forecasts,
        forecast_total=forecast_total,
        buyer_names=_names(session, Buyer, Buyer.name, [line.buyer_id for line in forecasts]),
        lead_time=kpi.lead_time(load_lead_times(session, p), p),
        utilisation=kpi.utilisation(rows.facilities, rows.facility_months_of_year, p),
        hours_by_kind=kpi.hours_by_kind(rows.facilities, rows.facility_months, p),
        wages=kpi.wage_distribution(rows.facilities, rows.wages, p),
        on_time=kpi.on_time(load_delivery_days(session, p, today), p),
        quality=quality_extension(session, p),
        procurement=kpi.procurement(load_procurement(session, p, rows.buyer_months)),
        facility_names={f.id: f.name for f in rows.facilities},
    )


def data_version(session: Session) -> tuple[int, Any]:
    """The workspace's newest audit event (id and time): it moves with every write to its
    records (each flush is audited in the same transaction), so it versions what a report is
    built from. The time as well as the id: a database restored from a backup numbers its
    next events as before, but not at the same moment."""
    from tenants.audit import AuditEvent

    newest = session.execute(
        select(AuditEvent.id, AuditEvent.at).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (0, None) if newest is None else (int(newest.id), newest.at)


def report_key(session: Session, fiscal_year: int, today: date) -> tuple[Any, ...]:
    """What a built report depends on: workspace, year, day and the data's version."""
    return (current_tenant_id(session), fiscal_year, today, data_version(session))


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
