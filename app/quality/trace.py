"""Traceability of a lot (who made it, when, under which manual version, how it was inspected,
what went wrong) and the lot lists, each in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from app.buyers.models import Buyer
from app.facilities.models import Facility
from app.orders.models import Delivery, Order
from app.quality.models import (
    Inspection,
    InspectionItem,
    InspectionPhoto,
    InspectionResult,
    InspectionStage,
    InspectionValue,
    LotWork,
    Manual,
    ManualVersion,
    Nonconformance,
    NonconformanceAction,
    NonconformanceFile,
    NonconformanceStatus,
    QualityPlan,
    SupportRequest,
)
from app.quality.service import (
    acknowledgements_of,
    actions_of_many,
    evidence_of,
    inspections_of_lot,
    items_by_id,
    lot_works,
    nonconformances_of_lot,
    photos_of,
    plan_of,
    values_of,
)
from app.storage.models import StoredFile
from app.web.listing import text_search


@dataclass
class LotTrace:
    delivery: Delivery
    order: Order
    buyer: Buyer
    works: list[LotWork]
    facilities: dict[int, Facility]
    versions: dict[int, ManualVersion]
    manuals: dict[int, Manual]
    acknowledged: set[tuple[int, int]]  # (version id, facility id)
    inspections: list[Inspection]
    values: dict[int, list[InspectionValue]]
    photos: dict[int, list[tuple[InspectionPhoto, StoredFile]]]
    items: dict[int, InspectionItem]
    nonconformances: list[Nonconformance]
    actions: dict[int, list[NonconformanceAction]]
    evidence: dict[int, list[tuple[NonconformanceFile, StoredFile]]]
    support: list[SupportRequest]
    plan: QualityPlan | None

    @property
    def worked_quantity(self) -> int:
        return sum(w.quantity for w in self.works)


def lot_trace(session: Session, delivery: Delivery) -> LotTrace:
    """Everything about one lot, in a fixed number of queries whatever its size."""
    tenant_id = delivery.tenant_id
    order = session.get(Order, (tenant_id, delivery.order_id))
    assert order is not None
    buyer = session.get(Buyer, (tenant_id, order.buyer_id))
    assert buyer is not None
    works = lot_works(session, delivery.id)
    inspections = inspections_of_lot(session, delivery.id)
    ncs = nonconformances_of_lot(session, delivery.id)
    facility_ids = (
        {w.facility_id for w in works}
        | {i.facility_id for i in inspections}
        | {n.facility_id for n in ncs if n.facility_id is not None}
    )
    facilities = (
        {f.id: f for f in session.scalars(select(Facility).where(Facility.id.in_(facility_ids)))}
        if facility_ids
        else {}
    )
    version_ids = {w.manual_version_id for w in works if w.manual_version_id is not None}
    versions = (
        {
            v.id: v
            for v in session.scalars(select(ManualVersion).where(ManualVersion.id.in_(version_ids)))
        }
        if version_ids
        else {}
    )
    manual_ids = {v.manual_id for v in versions.values()}
    manuals = (
        {m.id: m for m in session.scalars(select(Manual).where(Manual.id.in_(manual_ids)))}
        if manual_ids
        else {}
    )
    acknowledged = {
        (a.version_id, a.facility_id) for a in acknowledgements_of(session, version_ids)
    }
    values = values_of(session, [i.id for i in inspections])
    item_ids = {v.item_id for vs in values.values() for v in vs}
    nc_ids = [n.id for n in ncs]
    support = (
        list(
            session.scalars(
                select(SupportRequest)
                .where(SupportRequest.nonconformance_id.in_(nc_ids))
                .order_by(SupportRequest.requested_at)
            )
        )
        if nc_ids
        else []
    )
    return LotTrace(
        delivery=delivery,
        order=order,
        buyer=buyer,
        works=works,
        facilities=facilities,
        versions=versions,
        manuals=manuals,
        acknowledged=acknowledged,
        inspections=inspections,
        values=values,
        photos=photos_of(session, [i.id for i in inspections]),
        items=items_by_id(session, item_ids),
        nonconformances=ncs,
        actions=actions_of_many(session, nc_ids),
        evidence=evidence_of(session, nc_ids),
        support=support,
        plan=plan_of(session, order.id),
    )


def lot_list(*, q: str = "", order_id: int | None = None) -> Select[Any]:
    """Rows of (delivery, order title, buyer name), newest due first."""
    query = (
        select(Delivery, Order.title.label("order_title"), Buyer.name.label("buyer_name"))
        .join(Order, and_(Order.tenant_id == Delivery.tenant_id, Order.id == Delivery.order_id))
        .join(Buyer, and_(Buyer.tenant_id == Order.tenant_id, Buyer.id == Order.buyer_id))
    )
    search = text_search(q, Delivery.lot_no, Order.title, Buyer.name)
    if search is not None:
        query = query.where(search)
    if order_id is not None:
        query = query.where(Delivery.order_id == order_id)
    due = func.coalesce(Delivery.revised_due_on, Delivery.original_due_on)
    return cast(Select[Any], query.order_by(due.desc(), Delivery.id.desc()))


@dataclass(frozen=True)
class LotSummary:
    facilities: int = 0
    inspections: int = 0
    central_result: InspectionResult | None = None  # of the latest central inspection
    open_nonconformances: int = 0


def lot_summaries(session: Session, delivery_ids: Sequence[int]) -> dict[int, LotSummary]:
    """Per lot of one page: facilities, inspections, latest central result, open NCs."""
    if not delivery_ids:
        return {}
    ids = list(delivery_ids)
    facilities = dict(
        session.execute(
            select(LotWork.delivery_id, func.count())
            .where(LotWork.delivery_id.in_(ids))
            .group_by(LotWork.delivery_id)
        ).all()
    )
    inspections: dict[int, int] = defaultdict(int)
    latest: dict[int, InspectionResult] = {}
    for delivery_id, stage, result in session.execute(
        select(Inspection.delivery_id, Inspection.stage, Inspection.result)
        .where(Inspection.delivery_id.in_(ids))
        .order_by(Inspection.inspected_on, Inspection.id)
    ):
        inspections[delivery_id] += 1
        if stage == InspectionStage.CENTRAL:
            latest[delivery_id] = result
    open_ncs = dict(
        session.execute(
            select(Nonconformance.delivery_id, func.count())
            .where(
                Nonconformance.delivery_id.in_(ids),
                Nonconformance.status != NonconformanceStatus.CLOSED,
            )
            .group_by(Nonconformance.delivery_id)
        ).all()
    )
    return {
        i: LotSummary(
            facilities=int(facilities.get(i, 0)),
            inspections=inspections.get(i, 0),
            central_result=latest.get(i),
            open_nonconformances=int(open_ncs.get(i, 0)),
        )
        for i in ids
    }
