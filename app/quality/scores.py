"""Quality KPIs from the records, per facility and per order, and the quality score the
matching engine uses. The arithmetic is ``app.quality.kpi`` (pure); here are the queries:
three per call whatever the number of facilities or orders, inside the session's workspace."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.orders.models import Delivery
from app.quality import kpi
from app.quality.models import Inspection, InspectionStage, LotWork, Nonconformance


def _window_start(today: date) -> date:
    return today - timedelta(days=kpi.WINDOW_DAYS)


def _inspection_totals(
    session: Session, group: Any, ids: Sequence[int], today: date, join_delivery: bool
) -> dict[int, tuple[int, int, int, int]]:
    query = select(
        group,
        func.sum(Inspection.sample_size),
        func.sum(Inspection.passed),
        func.sum(Inspection.reworked),
        func.sum(Inspection.failed),
    ).where(
        Inspection.stage == InspectionStage.CENTRAL,
        Inspection.inspected_on >= _window_start(today),
        Inspection.inspected_on <= today,
        group.in_(ids),
    )
    if join_delivery:
        query = query.join(
            Delivery,
            and_(Delivery.tenant_id == Inspection.tenant_id, Delivery.id == Inspection.delivery_id),
        )
    rows = session.execute(query.group_by(group))
    return {int(k): (int(a or 0), int(b or 0), int(c or 0), int(d or 0)) for k, a, b, c, d in rows}


def _delivery_totals(
    session: Session, group: Any, ids: Sequence[int], today: date, via_works: bool
) -> dict[int, tuple[int, int]]:
    counted = and_(
        Delivery.original_due_on >= _window_start(today),
        (Delivery.delivered_on.is_not(None)) | (Delivery.original_due_on < today),
    )
    on_time = case(
        (
            and_(
                Delivery.delivered_on.is_not(None),
                Delivery.delivered_on <= Delivery.original_due_on,
            ),
            1,
        ),
        else_=0,
    )
    query = select(group, func.count(), func.sum(on_time)).where(counted, group.in_(ids))
    if via_works:
        query = query.select_from(LotWork).join(
            Delivery,
            and_(Delivery.tenant_id == LotWork.tenant_id, Delivery.id == LotWork.delivery_id),
        )
    rows = session.execute(query.group_by(group))
    return {int(k): (int(n or 0), int(ok or 0)) for k, n, ok in rows}


def _nonconformance_totals(
    session: Session, group: Any, ids: Sequence[int], today: date, join_delivery: bool
) -> dict[int, dict[str, int]]:
    query = select(group, Nonconformance.severity, func.count()).where(
        Nonconformance.found_on >= _window_start(today),
        Nonconformance.found_on <= today,
        group.in_(ids),
    )
    if join_delivery:
        query = query.join(
            Delivery,
            and_(
                Delivery.tenant_id == Nonconformance.tenant_id,
                Delivery.id == Nonconformance.delivery_id,
            ),
        )
    result: dict[int, dict[str, int]] = defaultdict(dict)
    for key, severity, n in session.execute(query.group_by(group, Nonconformance.severity)):
        result[int(key)][str(severity)] = int(n)
    return result


def _counts(
    ids: Sequence[int],
    inspections: dict[int, tuple[int, int, int, int]],
    deliveries: dict[int, tuple[int, int]],
    ncs: dict[int, dict[str, int]],
) -> dict[int, kpi.QualityCounts]:
    counts = {}
    for i in ids:
        inspected, passed, reworked, failed = inspections.get(i, (0, 0, 0, 0))
        due, on_time = deliveries.get(i, (0, 0))
        counts[i] = kpi.QualityCounts(
            inspected=inspected,
            passed=passed,
            reworked=reworked,
            failed=failed,
            lots_due=due,
            lots_on_time=on_time,
            nonconformances=dict(ncs.get(i, {})),
        )
    return counts


def facility_counts(
    session: Session, facility_ids: Iterable[int], today: date
) -> dict[int, kpi.QualityCounts]:
    """The KPI counts of each facility over the window: three queries for any number."""
    ids = sorted(set(facility_ids))
    if not ids:
        return {}
    return _counts(
        ids,
        _inspection_totals(session, Inspection.facility_id, ids, today, join_delivery=False),
        _delivery_totals(session, LotWork.facility_id, ids, today, via_works=True),
        _nonconformance_totals(
            session, Nonconformance.facility_id, ids, today, join_delivery=False
        ),
    )


def order_counts(
    session: Session, order_ids: Iterable[int], today: date
) -> dict[int, kpi.QualityCounts]:
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    return _counts(
        ids,
        _inspection_totals(session, Delivery.order_id, ids, today, join_delivery=True),
        _delivery_totals(session, Delivery.order_id, ids, today, via_works=False),
        _nonconformance_totals(session, Delivery.order_id, ids, today, join_delivery=True),
    )


def facility_quality_scores(
    session: Session, facility_ids: Iterable[int], today: date | None = None
) -> dict[int, float | None]:
    """Quality score 0..1 per facility for the matching engine; None = no history.

    The formula is ``app.quality.kpi.quality_score`` (documented there): first-pass yield,
    defect rate and on-time delivery against the original due date over the last 365 days,
    each pulled towards 0.5 while evidence is thin, minus a penalty per nonconformance by
    severity. Runs in the session's workspace; three queries whatever the number of ids.
    """
    from app.jp import today_jst

    day = today or today_jst()
    ids = list(facility_ids)
    counts = facility_counts(session, ids, day)
    return {i: kpi.quality_score(counts[i]) if i in counts else None for i in ids}
