"""Keeping the report's monthly summaries (``app.reports.models``) exact on every write.

Rather than adding and subtracting deltas (easy to get wrong once), a write marks the months
it touches, and after the flush those months' summary rows are computed again from the
records, in the same transaction, by the same statements a full rebuild uses. What marks a
month:

* an order month or an assignment created, changed or deleted (its month, and its old month
  if the month itself moved);
* an order archived, restored, deleted or moved to another buyer (all of its months);
* a buyer's municipality flag or a facility's kind changed (every month of the workspace:
  rare, and they re-sort the whole procurement split).

Every write of tenant rows goes through a flush (no Core-level bulk writes in the app; the
audit trail relies on the same fact). Bulk loads that bypass the ORM (the benchmarks' data
generators) call ``rebuild`` afterwards, as does ``flask --app wsgi report-summaries``.

Two transactions refreshing the same workspace must take turns, so that the second one's
statements see the first one's committed records and neither writes sums that miss the other's
write. They already do (each audited flush holds the workspace's audit id counter row until
commit); on PostgreSQL a transaction-level advisory lock per workspace says so explicitly, so
the summaries do not rest on how audit ids are numbered.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from datetime import date
from itertools import chain
from typing import Any, Final

from sqlalchemy import (
    Float,
    Select,
    and_,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.buyers.models import Buyer
from app.facilities.models import Facility
from app.matching.models import Assignment
from app.orders.models import Order, OrderMonth
from app.reports.models import (
    report_buyer_months,
    report_facility_months,
    report_procurement_months,
)
from tenants.isolation import register_flush_hook

# session.info key: {tenant id: set of months, or ALL_MONTHS} still to refresh after the flush.
PENDING_KEY: Final = "report_summary_months"
ALL_MONTHS: Final = "all"
# First key of the PostgreSQL advisory lock (the second is the workspace id).
LOCK_SPACE: Final = 72_001

_om = OrderMonth.__table__
_order = Order.__table__
_buyer = Buyer.__table__
_facility = Facility.__table__
_assignment = Assignment.__table__

MonthsOrAll = Collection[date] | str

# Order months count while their order is not archived.
_OF_A_LIVE_ORDER = and_(
    _order.c.tenant_id == _om.c.tenant_id,
    _order.c.id == _om.c.order_id,
    _order.c.archived_at.is_(None),
)


def _month_filter(column: Any, months: MonthsOrAll) -> Any:
    return True if months == ALL_MONTHS else column.in_(sorted(months))


def _tenant_filter(column: Any, tenant_id: int | None) -> Any:
    return True if tenant_id is None else column == tenant_id


# --- what the summaries hold: one SELECT each, for a workspace's months or for everything ----


def buyer_month_rows(tenant_id: int | None, months: MonthsOrAll = ALL_MONTHS) -> Select[Any]:
    forecast, actual = _om.c.forecast_amount, _om.c.actual_amount
    return (
        select(
            _om.c.tenant_id,
            _om.c.month,
            _order.c.buyer_id,
            func.sum(actual),
            func.count(forecast),
            func.coalesce(func.sum(forecast), 0),
            func.coalesce(func.sum(func.abs(actual - forecast)), 0),
            func.coalesce(func.sum(case((forecast.is_not(None), actual), else_=None)), 0),
        )
        .select_from(_om)
        .join(_order, _OF_A_LIVE_ORDER)
        .where(
            _tenant_filter(_om.c.tenant_id, tenant_id),
            actual.is_not(None),
            _month_filter(_om.c.month, months),
        )
        .group_by(_om.c.tenant_id, _om.c.month, _order.c.buyer_id)
    )


def facility_month_rows(tenant_id: int | None, months: MonthsOrAll = ALL_MONTHS) -> Select[Any]:
    return (
        select(
            _assignment.c.tenant_id,
            _assignment.c.month,
            _assignment.c.facility_id,
            func.sum(_assignment.c.hours),
        )
        .where(
            _tenant_filter(_assignment.c.tenant_id, tenant_id),
            _month_filter(_assignment.c.month, months),
        )
        .group_by(_assignment.c.tenant_id, _assignment.c.month, _assignment.c.facility_id)
    )


def procurement_month_rows(tenant_id: int | None, months: MonthsOrAll = ALL_MONTHS) -> Select[Any]:
    a = _assignment
    # "+ 0": the order id as an expression, so that SQLite reads the month's assignments
    # along the (month, ...) index rather than the whole workspace's in order id order.
    order_month = (a.c.tenant_id, a.c.month, a.c.order_id + 0)
    hours_of_month = func.sum(a.c.hours).over(partition_by=order_month)
    quantity_of_month = func.sum(a.c.quantity).over(partition_by=order_month)
    shares = (
        select(
            a.c.tenant_id,
            a.c.order_id,
            a.c.month,
            _facility.c.kind,
            case(
                (hours_of_month > 0, a.c.hours / hours_of_month),
                else_=a.c.quantity / quantity_of_month,
            ).label("share"),
        )
        .join(
            _facility,
            and_(_facility.c.tenant_id == a.c.tenant_id, _facility.c.id == a.c.facility_id),
        )
        # Assignments without an order (a deal's trial) share among themselves and then
        # join no order month. Not filtered out here: "order_id IS NOT NULL" leads SQLite
        # to walk the (order, month) index over the whole workspace instead of the month's.
        .where(_tenant_filter(a.c.tenant_id, tenant_id), _month_filter(a.c.month, months))
        .subquery()
    )
    return (
        select(
            _om.c.tenant_id,
            _om.c.month,
            _buyer.c.is_municipality,
            shares.c.kind,
            func.sum(cast(_om.c.actual_amount, Float) * shares.c.share),
        )
        .select_from(_om)
        .join(_order, _OF_A_LIVE_ORDER)
        .join(
            _buyer, and_(_buyer.c.tenant_id == _order.c.tenant_id, _buyer.c.id == _order.c.buyer_id)
        )
        .join(
            shares,
            and_(
                shares.c.tenant_id == _om.c.tenant_id,
                shares.c.order_id == _om.c.order_id,
                shares.c.month == _om.c.month,
            ),
        )
        .where(
            _tenant_filter(_om.c.tenant_id, tenant_id),
            _om.c.actual_amount.is_not(None),
            _month_filter(_om.c.month, months),
        )
        .group_by(_om.c.tenant_id, _om.c.month, _buyer.c.is_municipality, shares.c.kind)
    )


SOURCES: Final = (
    (report_buyer_months, buyer_month_rows),
    (report_facility_months, facility_month_rows),
    (report_procurement_months, procurement_month_rows),
)


def refresh(connection: Connection, tenant_id: int, months: MonthsOrAll) -> None:
    """Compute the summary rows of a workspace's months again from its records."""
    if months != ALL_MONTHS and not months:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:space, :tenant)"),
            {"space": LOCK_SPACE, "tenant": tenant_id},
        )
    for table, rows in SOURCES:
        connection.execute(
            delete(table).where(
                table.c.tenant_id == tenant_id, _month_filter(table.c.month, months)
            )
        )
        connection.execute(
            insert(table).from_select([c.name for c in table.c], rows(tenant_id, months))
        )


def rebuild(connection: Connection) -> None:
    """Every summary row of every workspace from scratch (as the schema owner)."""
    for table, rows in SOURCES:
        connection.execute(delete(table))
        connection.execute(insert(table).from_select([c.name for c in table.c], rows(None)))


# --- marking the months a flush touches ----------------------------------------------------


def _changed(obj: Any, *keys: str) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[key].history.has_changes() for key in keys)


def _reshuffles_procurement(obj: Any) -> bool:
    return (isinstance(obj, Buyer) and _changed(obj, "is_municipality")) or (
        isinstance(obj, Facility) and _changed(obj, "kind")
    )


def _months_of(obj: Any) -> Iterable[date]:
    yield obj.month
    yield from inspect(obj).attrs.month.history.deleted  # the month it moved from


def _note_flush(session: Session, new: list[Any], dirty: list[Any], deleted: list[Any]) -> None:
    """Before the flush: which months of which workspace the flush's writes touch."""
    pending: dict[int, Any] = session.info.setdefault(PENDING_KEY, {})
    orders: dict[int, set[int]] = {}
    for obj in chain(new, dirty, deleted):
        if isinstance(obj, OrderMonth | Assignment):
            _add(pending, obj.tenant_id, _months_of(obj))
    for obj in dirty:
        if isinstance(obj, Order) and _changed(obj, "archived_at", "buyer_id"):
            orders.setdefault(obj.tenant_id, set()).add(obj.id)
        elif _reshuffles_procurement(obj):
            pending[obj.tenant_id] = ALL_MONTHS
    for obj in deleted:
        if isinstance(obj, Order):
            orders.setdefault(obj.tenant_id, set()).add(obj.id)
    for tenant_id, order_ids in orders.items():
        # Read before the flush: a deleted order's months are still there.
        months = session.connection().scalars(
            select(_om.c.month)
            .where(_om.c.tenant_id == tenant_id, _om.c.order_id.in_(sorted(order_ids)))
            .distinct()
        )
        _add(pending, tenant_id, months)
    if not pending:
        session.info.pop(PENDING_KEY, None)


def _add(pending: dict[int, Any], tenant_id: int, months: Iterable[date]) -> None:
    current = pending.setdefault(tenant_id, set())
    if current != ALL_MONTHS:
        current.update(months)


@event.listens_for(Session, "after_flush")
def _refresh_after_flush(session: Session, _context: Any) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    connection = session.connection()
    for tenant_id, months in sorted(pending.items()):
        refresh(connection, tenant_id, months)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


register_flush_hook(_note_flush)


def differences(connection: Connection, tenant_id: int | None = None) -> list[str]:
    """Summary rows that differ from what the records give now (empty when all are exact):
    the check behind the tests' after-each-test guard and ``flask reports check-summaries``."""
    found: list[str] = []
    for table, rows in SOURCES:
        key_count = len(table.primary_key.columns)
        stored_rows = connection.execute(
            select(table).where(_tenant_filter(table.c.tenant_id, tenant_id))
        )
        stored = {tuple(row[:key_count]): tuple(row[key_count:]) for row in stored_rows}
        fresh = {
            tuple(row[:key_count]): tuple(row[key_count:])
            for row in connection.execute(rows(tenant_id))
        }
        for key in sorted(stored.keys() | fresh.keys(), key=repr):
            kept, computed = stored.get(key), fresh.get(key)
            if kept is None or computed is None or not _same(kept, computed):
                found.append(f"{table.name} {key}: stored {kept}, records give {computed}")
    return found


def _same(kept: tuple[Any, ...], computed: tuple[Any, ...]) -> bool:
    return all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6) if isinstance(a, float) else a == b
        for a, b in zip(kept, computed, strict=True)
    )
