"""Drill-down filters: the records behind each figure of the report, on the existing lists.

Each report figure links to a list page with one of these query parameters (e.g.
``/deals/?pipeline=2022``). The conditions here are the SQL form of the definitions in
``kpi.py``; a test checks that the lists show exactly the records each figure counts. The
list services add them to their query; the lists show what is applied (``describe``) and keep
it through searches and sorting (``hidden``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, exists, func, or_

from app.jp import JST, fiscal_year_label, fiscal_year_range

FIRST_YEAR, LAST_YEAR = 1989, 2200

DEAL_FILTERS: Final = ("pipeline", "closed", "open_at", "reason")
ORDER_FILTERS: Final = ("placed", "month")
FACILITY_FILTERS: Final = ("participating", "active", "inactive", "wages")
BUYER_FILTERS: Final = ("lead", "ordering")
ALL_FILTERS: Final = DEAL_FILTERS + ORDER_FILTERS + FACILITY_FILTERS + BUYER_FILTERS

LABELS: Final = {
    "pipeline": _l("Deals in the pipeline of %(year)s"),
    "closed": _l("Deals won or lost in %(year)s"),
    "open_at": _l("Deals still open at the end of %(year)s"),
    "reason": _l("Lost for one reason"),
    "placed": _l("Orders with amounts placed in %(year)s"),
    "month": _l("Orders with an amount placed in %(year)s"),
    "participating": _l("Facilities participating in %(year)s"),
    "active": _l("Facilities that received work in %(year)s"),
    "inactive": _l("Participating facilities without work in %(year)s"),
    "wages": _l("Facilities with wages recorded for %(year)s and the year before"),
    "lead": _l("Buyers with a deal in the pipeline of %(year)s"),
    "ordering": _l("Buyers with amounts placed in %(year)s"),
}


def fiscal_year(value: str | None) -> int | None:
    try:
        year = int(value or "")
    except ValueError:
        return None
    return year if FIRST_YEAR <= year <= LAST_YEAR else None


def month(value: str | None) -> date | None:
    """ "2023-03" → 2023-03-01; anything else → None."""
    try:
        year, number = (int(part) for part in (value or "").split("-"))
        day = date(year, number, 1)
    except ValueError:
        return None
    return day if FIRST_YEAR <= year <= LAST_YEAR else None


def _positive(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and 0 < int(value) < 2**31 else None


def _closed_day(model: Any) -> Any:
    return func.coalesce(model.closed_on, model.opened_on)


def _open(model: Any) -> Any:
    from app.deals.models import OPEN_STAGES

    return model.stage.in_(OPEN_STAGES)


def deal_conditions(values: Mapping[str, str]) -> list[ColumnElement[bool]]:
    from app.deals.models import CLOSED_STAGES, Deal, DealStage

    conditions: list[ColumnElement[bool]] = []
    if (year := fiscal_year(values.get("pipeline"))) is not None:
        start, end = fiscal_year_range(year)
        conditions.append(and_(Deal.opened_on <= end, or_(_open(Deal), _closed_day(Deal) >= start)))
    if (year := fiscal_year(values.get("closed"))) is not None:
        start, end = fiscal_year_range(year)
        conditions.append(
            and_(Deal.stage.in_(CLOSED_STAGES), _closed_day(Deal).between(start, end))
        )
    if (year := fiscal_year(values.get("open_at"))) is not None:
        _start, end = fiscal_year_range(year)
        conditions.append(and_(Deal.opened_on <= end, or_(_open(Deal), _closed_day(Deal) > end)))
    if (reason := _positive(values.get("reason"))) is not None:
        conditions.append(and_(Deal.stage == DealStage.LOST, Deal.lost_reason_id == reason))
    return conditions


def _placed(order_id: Any, tenant_id: Any, first: date, last: date) -> Any:
    from app.orders.models import OrderMonth

    return exists().where(
        OrderMonth.tenant_id == tenant_id,
        OrderMonth.order_id == order_id,
        OrderMonth.actual_amount > 0,
        OrderMonth.month.between(first, last),
    )


def order_conditions(values: Mapping[str, str]) -> list[ColumnElement[bool]]:
    from app.orders.models import Order

    conditions: list[ColumnElement[bool]] = []
    if (year := fiscal_year(values.get("placed"))) is not None:
        conditions.append(_placed(Order.id, Order.tenant_id, *fiscal_year_range(year)))
    if (first := month(values.get("month"))) is not None:
        conditions.append(_placed(Order.id, Order.tenant_id, first, first))
    return conditions


def _enrolled_by(facility: Any, end: date) -> Any:
    """Enrolled on or before ``end``: the participation day, else the JST day it was created."""
    next_day_jst = datetime.combine(end + timedelta(days=1), time(0, 0), tzinfo=JST)
    return or_(
        facility.participating_since <= end,
        and_(facility.participating_since.is_(None), facility.created_at < next_day_jst),
    )


def participating_condition(year: int) -> ColumnElement[bool]:
    from app.facilities.models import Facility, FacilityStatus

    _start, end = fiscal_year_range(year)
    return and_(Facility.status != FacilityStatus.LEFT, _enrolled_by(Facility, end))


def _worked(year: int) -> Any:
    from app.facilities.models import Facility
    from app.matching.models import Assignment

    start, end = fiscal_year_range(year)
    return exists().where(
        Assignment.tenant_id == Facility.tenant_id,
        Assignment.facility_id == Facility.id,
        Assignment.month.between(start, end),
    )


def facility_conditions(values: Mapping[str, str]) -> list[ColumnElement[bool]]:
    from app.facilities.models import Facility, FacilityWage

    conditions: list[ColumnElement[bool]] = []
    if (year := fiscal_year(values.get("participating"))) is not None:
        conditions.append(participating_condition(year))
    if (year := fiscal_year(values.get("active"))) is not None:
        conditions.append(and_(participating_condition(year), _worked(year)))
    if (year := fiscal_year(values.get("inactive"))) is not None:
        conditions.append(and_(participating_condition(year), ~_worked(year)))
    if (year := fiscal_year(values.get("wages"))) is not None:

        def wage(fy: int, *more: Any) -> Any:
            return exists().where(
                FacilityWage.tenant_id == Facility.tenant_id,
                FacilityWage.facility_id == Facility.id,
                FacilityWage.fiscal_year == fy,
                *more,
            )

        weighted = func.coalesce(FacilityWage.workers, Facility.workers) > 0
        conditions.append(and_(participating_condition(year), wage(year, weighted), wage(year - 1)))
    return conditions


def buyer_conditions(values: Mapping[str, str]) -> list[ColumnElement[bool]]:
    from app.buyers.models import Buyer
    from app.deals.models import Deal
    from app.orders.models import Order

    conditions: list[ColumnElement[bool]] = []
    if (year := fiscal_year(values.get("lead"))) is not None:
        start, end = fiscal_year_range(year)
        conditions.append(
            exists().where(
                Deal.tenant_id == Buyer.tenant_id,
                Deal.buyer_id == Buyer.id,
                Deal.archived_at.is_(None),
                Deal.opened_on <= end,
                or_(_open(Deal), _closed_day(Deal) >= start),
            )
        )
    if (year := fiscal_year(values.get("ordering"))) is not None:
        start, end = fiscal_year_range(year)
        conditions.append(
            exists().where(
                Order.tenant_id == Buyer.tenant_id,
                Order.buyer_id == Buyer.id,
                Order.archived_at.is_(None),
                _placed(Order.id, Order.tenant_id, start, end),
            )
        )
    return conditions


def active_filters(values: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The drill-down parameters of ``values`` among ``names`` that are well-formed."""
    found = {}
    for name in names:
        value = values.get(name, "")
        if name == "month":
            ok = month(value) is not None
        elif name == "reason":
            ok = _positive(value) is not None
        else:
            ok = fiscal_year(value) is not None
        if ok:
            found[name] = value
    return found


def describe(values: Mapping[str, str], names: tuple[str, ...]) -> list[str]:
    """What the applied drill-down filters mean, for the list's banner."""
    lines = []
    for name, value in active_filters(values, names).items():
        if name == "month":
            day = month(value)
            assert day is not None
            shown = _l("%(year)d/%(month)d", year=day.year, month=day.month)
            lines.append(str(LABELS[name] % {"year": str(shown)}))
        elif name == "reason":
            lines.append(str(LABELS[name]))
        else:
            lines.append(str(LABELS[name] % {"year": fiscal_year_label(int(value))}))
    return lines


def context(values: Mapping[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    """What a list template needs: the banner's lines and the parameters to keep."""
    return {"drill_notes": describe(values, names), "drill_values": active_filters(values, names)}
