"""Order rules: orders from won deals, status, deliveries, monthly forecasts and actuals.

The arithmetic (month ranges, gaps, forecast accuracy, lateness, overdue lots) is in pure
functions at the top, tested with plain values. The functions below them read and write
through the session they are given; they never look at the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from app.agreements.models import Agreement
from app.buyers.models import Buyer
from app.db import utcnow
from app.deals.models import Deal, DealStage
from app.jp import (
    fiscal_year_of,
    fiscal_year_range,
    format_percent,
    format_signed_yen,
    to_jst,
)
from app.orders.models import Delivery, DeliveryStatus, Order, OrderMonth, OrderStatus
from app.reports import drill
from app.timeline import service as timeline
from app.timeline.models import EntryKind
from app.web.listing import text_search

# A schedule longer than this would make the monthly table unreadable (and is a typo).
MAX_SCHEDULE_MONTHS = 120


class RuleBroken(Exception):
    """A request that the rules refuse; the message is for the user."""


class QuantityBelowRecorded(RuleBroken):
    """A lot made smaller than the work and inspections already recorded for it."""


# --- pure arithmetic -------------------------------------------------------------------------


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month`` (may be negative)."""
    index = month.year * 12 + (month.month - 1) + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> list[date]:
    """First days of every month from ``start``'s month to ``end``'s month, inclusive."""
    first, last = first_of_month(start), first_of_month(end)
    months: list[date] = []
    while first <= last:
        months.append(first)
        first = add_months(first, 1)
    return months


def fiscal_year_first_days(fy: int) -> list[date]:
    """The twelve months of a fiscal year (April → March) as first days."""
    start, end = fiscal_year_range(fy)
    return months_between(start, end)


def schedule_months(starts_on: date | None, ends_on: date | None, fallback_fy: int) -> list[date]:
    """The months an order's monthly table shows.

    Both dates set: from the start month to the end month. One set: that date's fiscal year
    from or up to it. Neither: the fallback fiscal year (the year the order was confirmed).
    """
    if starts_on is not None and ends_on is not None:
        return months_between(starts_on, ends_on) if starts_on <= ends_on else []
    if starts_on is not None:
        return months_between(starts_on, fiscal_year_range(fiscal_year_of(starts_on))[1])
    if ends_on is not None:
        return months_between(fiscal_year_range(fiscal_year_of(ends_on))[0], ends_on)
    return fiscal_year_first_days(fallback_fy)


def schedule_problem(starts_on: date | None, ends_on: date | None) -> str | None:
    """Why a schedule cannot be kept, or None."""
    if starts_on is None or ends_on is None:
        return None
    if starts_on > ends_on:
        return "order"
    if len(months_between(starts_on, ends_on)) > MAX_SCHEDULE_MONTHS:
        return "length"
    return None


def gap(forecast: int | None, actual: int | None) -> int | None:
    """Actual minus forecast (yen); unknown when either is unknown."""
    if forecast is None or actual is None:
        return None
    return actual - forecast


def forecast_accuracy(pairs: Iterable[tuple[int | None, int | None]]) -> float | None:
    """How well forecasts matched actuals: 1 − Σ|actual − forecast| / Σ forecast.

    Only months where both are known count. 1.0 is a perfect forecast; the figure never drops
    below 0. None when there is nothing to compare or nothing was forecast.
    """
    known = [(f, a) for f, a in pairs if f is not None and a is not None]
    if not known:
        return None
    forecast_total = sum(f for f, _a in known)
    error_total = sum(abs(a - f) for f, a in known)
    if forecast_total == 0:
        return 1.0 if error_total == 0 else None
    return max(0.0, 1 - error_total / forecast_total)


def forecast_deadline(month: date, deadline_day: int) -> date:
    """The last day to submit the forecast of ``month``: that day of the previous month."""
    previous = add_months(first_of_month(month), -1)
    return previous.replace(day=deadline_day)


def forecast_is_late(month: date, submitted_at: datetime | None, deadline_day: int | None) -> bool:
    """Whether a forecast came in after the agreement's deadline (the whole day counts, JST)."""
    if submitted_at is None or deadline_day is None:
        return False
    return to_jst(submitted_at).date() > forecast_deadline(month, deadline_day)


def is_overdue(
    due_on: date, delivered_on: date | None, status: DeliveryStatus, today: date
) -> bool:
    """A lot past its due date that has not been delivered (or was sent back)."""
    undelivered = delivered_on is None or status == DeliveryStatus.REJECTED
    return undelivered and due_on < today


def signed_yen(amount: int | None) -> str:
    return "" if amount is None else format_signed_yen(amount)


# Status flow: 受注確定 → 作業中 → 納品済 → 完了, one step back for corrections, 取消 until done.
STATUS_FLOW: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    OrderStatus.CONFIRMED: (OrderStatus.IN_PROGRESS, OrderStatus.CANCELLED),
    OrderStatus.IN_PROGRESS: (
        OrderStatus.DELIVERED,
        OrderStatus.CONFIRMED,
        OrderStatus.CANCELLED,
    ),
    OrderStatus.DELIVERED: (OrderStatus.CLOSED, OrderStatus.IN_PROGRESS, OrderStatus.CANCELLED),
    OrderStatus.CLOSED: (),
    OrderStatus.CANCELLED: (OrderStatus.CONFIRMED,),
}


def next_statuses(status: OrderStatus) -> tuple[OrderStatus, ...]:
    return STATUS_FLOW[status]


def can_move(current: OrderStatus, new: OrderStatus) -> bool:
    return new in STATUS_FLOW[current]


# --- the monthly table -----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthRow:
    month: date
    forecast: int | None
    actual: int | None
    submitted_at: datetime | None
    gap: int | None
    gap_text: str
    late: bool
    deadline: date | None

    @property
    def key(self) -> str:
        return self.month.strftime("%Y-%m")


@dataclass(frozen=True)
class MonthTable:
    rows: list[MonthRow]
    forecast_total: int
    actual_total: int
    gap_total: int | None
    gap_total_text: str
    accuracy: float | None
    accuracy_text: str
    late_count: int


def month_table(
    months: Sequence[date],
    stored: Mapping[date, tuple[int | None, int | None, datetime | None]],
    deadline_day: int | None,
) -> MonthTable:
    """Rows for ``months`` plus any stored month outside them (nothing recorded is hidden).

    ``stored`` maps a month's first day to (forecast, actual, forecast submitted at).
    """
    rows = []
    for month in sorted(set(months) | set(stored)):
        forecast, actual, submitted_at = stored.get(month, (None, None, None))
        difference = gap(forecast, actual)
        rows.append(
            MonthRow(
                month=month,
                forecast=forecast,
                actual=actual,
                submitted_at=submitted_at,
                gap=difference,
                gap_text=signed_yen(difference),
                late=forecast_is_late(month, submitted_at, deadline_day),
                deadline=forecast_deadline(month, deadline_day) if deadline_day else None,
            )
        )
    pairs = [(row.forecast, row.actual) for row in rows]
    gaps = [row.gap for row in rows if row.gap is not None]
    gap_total = sum(gaps) if gaps else None
    accuracy = forecast_accuracy(pairs)
    return MonthTable(
        rows=rows,
        forecast_total=sum(row.forecast or 0 for row in rows),
        actual_total=sum(row.actual or 0 for row in rows),
        gap_total=gap_total,
        gap_total_text=signed_yen(gap_total),
        accuracy=accuracy,
        accuracy_text=format_percent(accuracy),
        late_count=sum(1 for row in rows if row.late),
    )


# --- reading ---------------------------------------------------------------------------------


def fiscal_year_actuals(session: Session, order_ids: list[int], fy: int) -> dict[int, int]:
    """Actual amount placed in fiscal year ``fy`` for each of the given orders: one
    aggregate over the orders of one page (never per row, never over the whole table)."""
    if not order_ids:
        return {}
    start, end = fiscal_year_range(fy)
    rows = session.execute(
        select(OrderMonth.order_id, func.coalesce(func.sum(OrderMonth.actual_amount), 0))
        .where(
            OrderMonth.order_id.in_(order_ids),
            OrderMonth.month >= start,
            OrderMonth.month <= end,
        )
        .group_by(OrderMonth.order_id)
    )
    return {order_id: int(total or 0) for order_id, total in rows}


# Sort keys of the list. Status sorts in the order of the flow, not by name.
SORTS = ("confirmed_on", "status", "title")
STATUS_RANK = {status: rank for rank, status in enumerate(STATUS_FLOW)}
# Fiscal years a filter may ask for (Heisei 1 onwards; anything else is ignored).
FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR = 1989, 2200


def order_list(
    *,
    q: str = "",
    status: OrderStatus | None = None,
    buyer_id: int | None = None,
    fiscal_year: int | None = None,
    include_archived: bool = False,
    sort: str = "confirmed_on",
    descending: bool = True,
    drill_values: Mapping[str, str] | None = None,
) -> Select[Any]:
    """Rows of (order, buyer name); the page's yearly totals come from fiscal_year_actuals."""
    # Every order has its buyer (a composite foreign key); the outer join lets PostgreSQL
    # leave buyers out of the page count when no search needs the buyer's name.
    query = select(Order, Buyer.name.label("buyer_name")).outerjoin(
        Buyer, and_(Buyer.tenant_id == Order.tenant_id, Buyer.id == Order.buyer_id)
    )
    search = text_search(q, Order.title, Buyer.name)
    if search is not None:
        query = query.where(search)
    if status is not None:
        query = query.where(Order.status == status)
    if buyer_id is not None:
        query = query.where(Order.buyer_id == buyer_id)
    if fiscal_year is not None:
        start, end = fiscal_year_range(fiscal_year)
        query = query.where(Order.confirmed_on >= start, Order.confirmed_on <= end)
    if not include_archived:
        query = query.where(Order.archived_at.is_(None))
    query = query.where(*drill.order_conditions(drill_values or {}))
    columns: dict[str, Any] = {
        "confirmed_on": Order.confirmed_on,
        "status": case(STATUS_RANK, value=Order.status),
        "title": Order.title,
    }
    column = columns.get(sort, Order.confirmed_on)
    order_by = column.desc() if descending else column.asc()
    return cast(Select[Any], query.order_by(order_by, Order.id.desc()))


def latest_agreement(session: Session, buyer_id: int) -> Agreement | None:
    """The buyer's most recent agreement that is not archived (by signing or start date)."""
    return session.scalars(
        select(Agreement)
        .where(Agreement.buyer_id == buyer_id, Agreement.archived_at.is_(None))
        .order_by(
            func.coalesce(Agreement.signed_on, Agreement.starts_on).desc().nulls_last(),
            Agreement.id.desc(),
        )
        .limit(1)
    ).first()


def order_for_deal(session: Session, deal_id: int) -> Order | None:
    return session.scalars(select(Order).where(Order.deal_id == deal_id)).first()


def order_months(session: Session, order_id: int) -> list[OrderMonth]:
    return list(
        session.scalars(
            select(OrderMonth).where(OrderMonth.order_id == order_id).order_by(OrderMonth.month)
        )
    )


def order_deliveries(session: Session, order_id: int) -> list[Delivery]:
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.order_id == order_id)
            .order_by(func.coalesce(Delivery.revised_due_on, Delivery.original_due_on), Delivery.id)
        )
    )


def months_of(order: Order) -> list[date]:
    return schedule_months(order.starts_on, order.ends_on, fiscal_year_of(order.confirmed_on))


def build_month_table(
    order: Order, months: Sequence[OrderMonth], deadline_day: int | None
) -> MonthTable:
    stored = {
        m.month: (m.forecast_amount, m.actual_amount, m.forecast_submitted_at) for m in months
    }
    return month_table(months_of(order), stored, deadline_day)


# --- writing ---------------------------------------------------------------------------------


def _change(session: Session, order: Order, body: str) -> None:
    timeline.add_entry(session, body=body, order_id=order.id, kind=EntryKind.CHANGE)


def create_order(
    session: Session,
    *,
    buyer: Buyer,
    title: str,
    confirmed_on: date,
    starts_on: date | None = None,
    ends_on: date | None = None,
    notes: str = "",
    deal: Deal | None = None,
) -> Order:
    """A new order of ``buyer``, under the buyer's latest agreement if there is one."""
    problem = schedule_problem(starts_on, ends_on)
    if problem is not None:
        raise RuleBroken(_("The end date must be on or after the start date."))
    agreement = latest_agreement(session, buyer.id)
    order = Order(
        buyer_id=buyer.id,
        deal_id=deal.id if deal is not None else None,
        agreement_id=agreement.id if agreement is not None else None,
        title=title,
        confirmed_on=confirmed_on,
        starts_on=starts_on,
        ends_on=ends_on,
        notes=notes,
    )
    session.add(order)
    session.flush()
    return order


def create_order_from_deal(session: Session, deal: Deal, today: date) -> Order:
    """Turn a won deal into its order and say so on both timelines.

    Raises RuleBroken when the deal is not won. The caller checks ``order_for_deal`` first:
    a deal has one order at most (the schema enforces it too).
    """
    if deal.stage != DealStage.WON:
        raise RuleBroken(_("Only a won deal can become an order."))
    buyer = session.get(Buyer, (deal.tenant_id, deal.buyer_id))
    assert buyer is not None  # the composite foreign key guarantees it
    order = create_order(
        session,
        buyer=buyer,
        title=deal.title,
        confirmed_on=deal.closed_on or today,
        deal=deal,
    )
    timeline.add_entry(
        session,
        body=_("Order created from this deal: %(title)s", title=order.title),
        deal_id=deal.id,
        kind=EntryKind.CHANGE,
    )
    _change(session, order, _("Order created from the deal %(title)s.", title=deal.title))
    return order


def update_order(
    session: Session,
    order: Order,
    *,
    title: str,
    starts_on: date | None,
    ends_on: date | None,
    agreement_id: int | None,
    notes: str,
) -> None:
    if schedule_problem(starts_on, ends_on) is not None:
        raise RuleBroken(_("The end date must be on or after the start date."))
    if (order.starts_on, order.ends_on) != (starts_on, ends_on):
        _change(
            session,
            order,
            _(
                "Schedule changed: %(old)s → %(new)s",
                old=_schedule_text(order.starts_on, order.ends_on),
                new=_schedule_text(starts_on, ends_on),
            ),
        )
    order.title = title
    order.starts_on = starts_on
    order.ends_on = ends_on
    order.agreement_id = agreement_id
    order.notes = notes


def _schedule_text(starts_on: date | None, ends_on: date | None) -> str:
    def text(day: date | None) -> str:
        return day.isoformat() if day is not None else "—"

    return f"{text(starts_on)} – {text(ends_on)}"


def change_status(
    session: Session, order: Order, new: OrderStatus, labels: dict[OrderStatus, str]
) -> None:
    if new == order.status:
        return
    if not can_move(order.status, new):
        raise RuleBroken(
            _(
                "An order cannot go from %(old)s to %(new)s.",
                old=labels[order.status],
                new=labels[new],
            )
        )
    _change(
        session,
        order,
        _("Status changed: %(old)s → %(new)s", old=labels[order.status], new=labels[new]),
    )
    order.status = new


def archive(order: Order) -> None:
    if order.archived_at is None:
        order.archived_at = utcnow()


def restore(order: Order) -> None:
    order.archived_at = None


def lot_taken(session: Session, order_id: int, lot_no: str, except_id: int | None = None) -> bool:
    query = select(func.count()).where(Delivery.order_id == order_id, Delivery.lot_no == lot_no)
    if except_id is not None:
        query = query.where(Delivery.id != except_id)
    return bool(session.scalar(query))


def add_delivery(
    session: Session, order: Order, *, lot_no: str, quantity: int, due_on: date
) -> Delivery:
    if lot_taken(session, order.id, lot_no):
        raise RuleBroken(_("This order already has a lot %(lot)s.", lot=lot_no))
    delivery = Delivery(order_id=order.id, lot_no=lot_no, quantity=quantity, original_due_on=due_on)
    session.add(delivery)
    session.flush()
    return delivery


def update_delivery(
    session: Session,
    order: Order,
    delivery: Delivery,
    *,
    lot_no: str,
    quantity: int,
    due_on: date,
    delivered_on: date | None,
    status: DeliveryStatus,
    labels: dict[DeliveryStatus, str],
    today: date,
) -> None:
    """Edit a lot. A new due date keeps the original and becomes the revised date; moving the
    date back to the original clears the revision. Due date and status changes go on the
    order's timeline. A lot marked delivered or accepted gets today's date if it has none."""
    if lot_no != delivery.lot_no and lot_taken(session, order.id, lot_no, except_id=delivery.id):
        raise RuleBroken(_("This order already has a lot %(lot)s.", lot=lot_no))
    if quantity < delivery.quantity:
        from app.quality.service import recorded_lot_quantity

        recorded = recorded_lot_quantity(session, delivery.id)
        if quantity < recorded:
            raise QuantityBelowRecorded(
                _(
                    "Facilities' work and inspections already account for %(n)d items of this "
                    "lot: the quantity cannot be lower.",
                    n=recorded,
                )
            )
    if due_on != delivery.due_on:
        _change(
            session,
            order,
            _(
                "Due date of lot %(lot)s changed: %(old)s → %(new)s",
                lot=lot_no,
                old=delivery.due_on.isoformat(),
                new=due_on.isoformat(),
            ),
        )
        delivery.revised_due_on = None if due_on == delivery.original_due_on else due_on
    if status != delivery.status:
        _change(
            session,
            order,
            _(
                "Lot %(lot)s: %(old)s → %(new)s",
                lot=lot_no,
                old=labels[delivery.status],
                new=labels[status],
            ),
        )
    if status in (DeliveryStatus.DELIVERED, DeliveryStatus.ACCEPTED) and delivered_on is None:
        delivered_on = today
    delivery.lot_no = lot_no
    delivery.quantity = quantity
    delivery.delivered_on = delivered_on
    delivery.status = status


def set_month(
    session: Session,
    order: Order,
    month: date,
    *,
    forecast: int | None,
    actual: int | None,
    existing: OrderMonth | None,
    now: datetime,
) -> OrderMonth:
    """Record a month's forecast and actual (blank = unknown). A forecast that is entered or
    changed is stamped with ``now``: that is what its lateness is judged by."""
    if (forecast is not None and forecast < 0) or (actual is not None and actual < 0):
        raise RuleBroken(_("Amounts cannot be negative."))
    row = existing
    if row is None:
        row = OrderMonth(order_id=order.id, month=first_of_month(month))
        session.add(row)
    if forecast != row.forecast_amount:
        row.forecast_submitted_at = now if forecast is not None else None
    row.forecast_amount = forecast
    row.actual_amount = actual
    return row
