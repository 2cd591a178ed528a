"""The quality parts of the facility portal: the manuals to work to, the facility's own work
and self-inspections on its lots, and its own quality figures.

A facility works on an order when it has an assignment on it or recorded work on one of its
lots; only those orders (not archived, not cancelled) and their lots are found here. Every
write is made as the facility of the person signed in (the views pass ``g.facility``): a
facility can neither acknowledge a manual nor record an inspection for another one.
No Flask request objects: the views pass ids, times and storage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, func, select, union
from sqlalchemy.orm import Session

from app.buyers.models import Buyer
from app.facilities.models import Facility
from app.matching.models import Assignment
from app.orders.models import Delivery, Order, OrderStatus
from app.quality import kpi, scores
from app.quality import service as quality
from app.quality.models import (
    Inspection,
    InspectionItem,
    InspectionMethod,
    InspectionPhoto,
    InspectionResult,
    InspectionStage,
    LotWork,
    Manual,
    ManualAcknowledgement,
    ManualNotice,
    ManualVersion,
)
from app.storage.backends import Storage
from app.storage.models import StoredFile

Refused = quality.Refused

# Orders whose manuals are to be worked to (the running ones).
RUNNING = (OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS)


# --- the facility's orders -----------------------------------------------------------------


def _order_ids_of(facility_id: int) -> Any:
    """A subquery of the ids of orders the facility works on."""
    assigned = select(Assignment.order_id.label("order_id")).where(
        Assignment.facility_id == facility_id, Assignment.order_id.is_not(None)
    )
    working = (
        select(Delivery.order_id.label("order_id"))
        .join(
            LotWork,
            and_(LotWork.tenant_id == Delivery.tenant_id, LotWork.delivery_id == Delivery.id),
        )
        .where(LotWork.facility_id == facility_id)
    )
    return select(union(assigned, working).subquery().c.order_id)


def _facility_orders(facility_id: int) -> Any:
    return and_(
        Order.id.in_(_order_ids_of(facility_id)),
        Order.archived_at.is_(None),
        Order.status != OrderStatus.CANCELLED,
    )


# --- manuals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManualToWork:
    """A manual of one of the facility's orders and the version to work to (the newest)."""

    order: Order
    manual: Manual
    latest: ManualVersion
    acknowledged: bool  # this facility confirmed the newest version
    changed: bool  # a new version was published and the facility has not seen it yet


def manuals_to_work_to(session: Session, facility_id: int) -> list[ManualToWork]:
    """Every manual of the facility's running orders with its newest version: five queries
    whatever the number of orders and manuals. Not yet confirmed ones first."""
    orders = {
        o.id: o
        for o in session.scalars(
            select(Order).where(_facility_orders(facility_id), Order.status.in_(RUNNING))
        )
    }
    if not orders:
        return []
    manuals = list(
        session.scalars(
            select(Manual)
            .where(Manual.order_id.in_(orders), Manual.archived_at.is_(None))
            .order_by(Manual.order_id, Manual.kind, Manual.id)
        )
    )
    versions = quality.versions_of_manuals(session, [m.id for m in manuals])
    latest = {m.id: versions[m.id][0] for m in manuals if versions.get(m.id)}
    acknowledged = (
        set(
            session.scalars(
                select(ManualAcknowledgement.version_id).where(
                    ManualAcknowledgement.facility_id == facility_id,
                    ManualAcknowledgement.version_id.in_([v.id for v in latest.values()]),
                )
            )
        )
        if latest
        else set()
    )
    unseen = (
        set(
            session.scalars(
                select(ManualNotice.version_id).where(
                    ManualNotice.facility_id == facility_id,
                    ManualNotice.seen_at.is_(None),
                    ManualNotice.version_id.in_([v.id for v in latest.values()]),
                )
            )
        )
        if latest
        else set()
    )
    found = [
        ManualToWork(
            order=orders[m.order_id],
            manual=m,
            latest=latest[m.id],
            acknowledged=latest[m.id].id in acknowledged,
            changed=latest[m.id].id in unseen,
        )
        for m in manuals
        if m.id in latest
    ]
    return sorted(found, key=lambda m: m.acknowledged)


def facility_manual(
    session: Session, facility_id: int, manual_id: int
) -> tuple[Manual, Order] | None:
    """A manual of one of the facility's running orders, or None."""
    row = session.execute(
        select(Manual, Order)
        .join(Order, and_(Order.tenant_id == Manual.tenant_id, Order.id == Manual.order_id))
        .where(
            Manual.id == manual_id,
            Manual.archived_at.is_(None),
            _facility_orders(facility_id),
            Order.status.in_(RUNNING),
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


def acknowledged_versions(
    session: Session, facility_id: int, version_ids: Iterable[int]
) -> dict[int, ManualAcknowledgement]:
    ids = list(version_ids)
    if not ids:
        return {}
    return {
        a.version_id: a
        for a in session.scalars(
            select(ManualAcknowledgement).where(
                ManualAcknowledgement.facility_id == facility_id,
                ManualAcknowledgement.version_id.in_(ids),
            )
        )
    }


def acknowledge_newest(
    session: Session,
    facility: Facility,
    manual: Manual,
    version: ManualVersion,
    *,
    by: str,
    now: datetime,
) -> ManualAcknowledgement:
    """The facility confirms it works to ``version``, which must be the manual's newest: a
    version replaced in the meantime is not the one to work to. The notices of this manual's
    versions the facility had not seen yet are seen now."""
    versions = quality.versions_of_manuals(session, [manual.id])[manual.id]
    if version.manual_id != manual.id or version not in versions:
        raise Refused(_("Choose a version of this manual."))
    if versions[0].id != version.id:
        raise Refused(
            _("A newer version (v%(no)d) was published: read it first.", no=versions[0].version_no)
        )
    ack = quality.acknowledge(session, version, facility.id, by, now)
    for notice in session.scalars(
        select(ManualNotice).where(
            ManualNotice.facility_id == facility.id,
            ManualNotice.seen_at.is_(None),
            ManualNotice.version_id.in_([v.id for v in versions]),
        )
    ):
        notice.seen_at = now
    session.flush()
    return ack


def manuals_to_confirm(session: Session, facility_id: int) -> int:
    return sum(1 for m in manuals_to_work_to(session, facility_id) if not m.acknowledged)


# --- lots ----------------------------------------------------------------------------------


def _its_lots(facility_id: int) -> Any:
    """Lots of the facility's orders still to deliver, and delivered ones it worked on."""
    worked = select(LotWork.delivery_id).where(LotWork.facility_id == facility_id)
    return and_(
        _facility_orders(facility_id),
        Delivery.delivered_on.is_(None) | Delivery.id.in_(worked),
    )


def lot_list(facility_id: int) -> Select[Any]:
    """The facility's lots (``_its_lots``), the ones still to deliver first (soonest due
    first), then the delivered ones (latest first): rows of (delivery, order title, buyer
    name)."""
    due_on = func.coalesce(Delivery.revised_due_on, Delivery.original_due_on)
    delivered_last = case((Delivery.delivered_on.is_(None), 0), else_=1)
    return cast(
        Select[Any],
        select(Delivery, Order.title.label("order_title"), Buyer.name.label("buyer_name"))
        .join(Order, and_(Order.tenant_id == Delivery.tenant_id, Order.id == Delivery.order_id))
        .join(Buyer, and_(Buyer.tenant_id == Order.tenant_id, Buyer.id == Order.buyer_id))
        .where(_its_lots(facility_id))
        .order_by(
            delivered_last,
            case((Delivery.delivered_on.is_(None), due_on), else_=None),
            Delivery.delivered_on.desc(),
            Delivery.id,
        ),
    )


def facility_lot(
    session: Session, facility_id: int, delivery_id: int
) -> tuple[Delivery, Order] | None:
    row = session.execute(
        select(Delivery, Order)
        .join(Order, and_(Order.tenant_id == Delivery.tenant_id, Order.id == Delivery.order_id))
        .where(Delivery.id == delivery_id, _its_lots(facility_id))
    ).first()
    return (row[0], row[1]) if row is not None else None


@dataclass(frozen=True)
class LotState:
    """Where the facility stands on one lot."""

    work: LotWork | None = None
    self_inspected: int = 0  # self-inspections recorded
    central: InspectionResult | None = None  # the latest central verdict on its share


def lot_states(
    session: Session, facility_id: int, delivery_ids: Sequence[int]
) -> dict[int, LotState]:
    """Per lot of a page: the facility's work, its self-inspections and the latest central
    verdict on its share (two queries)."""
    ids = list(delivery_ids)
    if not ids:
        return {}
    works = {
        w.delivery_id: w
        for w in session.scalars(
            select(LotWork).where(LotWork.facility_id == facility_id, LotWork.delivery_id.in_(ids))
        )
    }
    selfs: dict[int, int] = defaultdict(int)
    central: dict[int, InspectionResult] = {}
    for delivery_id, stage, result in session.execute(
        select(Inspection.delivery_id, Inspection.stage, Inspection.result)
        .where(Inspection.facility_id == facility_id, Inspection.delivery_id.in_(ids))
        .order_by(Inspection.inspected_on, Inspection.id)
    ):
        if stage == InspectionStage.SELF:
            selfs[delivery_id] += 1
        else:
            central[delivery_id] = result
    return {i: LotState(works.get(i), selfs.get(i, 0), central.get(i)) for i in ids}


def own_work(session: Session, facility_id: int, delivery_id: int) -> LotWork | None:
    return session.scalars(
        select(LotWork).where(
            LotWork.delivery_id == delivery_id, LotWork.facility_id == facility_id
        )
    ).first()


def own_inspections(session: Session, facility_id: int, delivery_id: int) -> list[Inspection]:
    return list(
        session.scalars(
            select(Inspection)
            .where(Inspection.delivery_id == delivery_id, Inspection.facility_id == facility_id)
            .order_by(Inspection.inspected_on, Inspection.id)
        )
    )


def work_versions(session: Session, order_id: int) -> list[tuple[Manual, ManualVersion]]:
    """The versions a lot of the order can be made to: every version of its manuals,
    newest first (the newest is the one to work to)."""
    manuals = quality.manuals_of_order(session, order_id)
    versions = quality.versions_of_manuals(session, [m.id for m in manuals])
    return [(m, v) for m in manuals for v in versions.get(m.id, [])]


def save_progress(
    session: Session,
    facility_id: int,
    delivery: Delivery,
    *,
    quantity: int,
    lead_person: str,
    started_on: date | None,
    finished_on: date | None,
    manual_version_id: int | None,
    today: date,
) -> LotWork:
    """The facility's own share of a lot (how many made, by whom, when, to which manual).
    The number of workers and the coordinator's notes stay as they were."""
    if started_on is not None and started_on > today:
        raise Refused(_("The date cannot be in the future."), "started_on")
    if finished_on is not None and finished_on > today:
        raise Refused(_("The date cannot be in the future."), "finished_on")
    existing = own_work(session, facility_id, delivery.id)
    return quality.save_lot_work(
        session,
        delivery,
        facility_id=facility_id,
        quantity=quantity,
        lead_person=lead_person,
        workers=existing.workers if existing else None,
        started_on=started_on,
        finished_on=finished_on,
        manual_version_id=manual_version_id,
        notes=existing.notes if existing else "",
    )


@dataclass
class SelfInspection:
    """What the facility enters; ``passed`` left blank is the rest of the sample."""

    inspector: str
    inspected_on: date
    quantity: int
    sample_size: int
    passed: int | None
    reworked: int
    failed: int
    result: InspectionResult
    accepted_quantity: int | None
    notes: str
    measurements: dict[int, list[float]]
    checks: dict[int, bool]


def record_self_inspection(
    session: Session,
    facility_id: int,
    delivery: Delivery,
    data: SelfInspection,
    *,
    items: Sequence[InspectionItem],
    photos: Sequence[quality.Upload],
    storage: Storage,
    max_bytes: int,
    today: date,
) -> Inspection:
    """A self-inspection of the facility's share of the lot, with photos (checked by
    content). Everything is checked before anything is written: a refusal stores nothing."""
    if data.inspected_on > today:
        raise Refused(_("The date cannot be in the future."), "inspected_on")
    work = own_work(session, facility_id, delivery.id)
    if work is not None and data.quantity > work.quantity:
        raise Refused(
            _(
                "You recorded %(n)d items made for this lot: inspect at most that many.",
                n=work.quantity,
            ),
            "quantity",
        )
    if data.sample_size > data.quantity:
        raise Refused(
            _("The sample cannot be larger than the quantity inspected from."), "sample_size"
        )
    passed = data.passed
    if passed is None:
        passed = data.sample_size - data.reworked - data.failed
        if passed < 0:
            raise Refused(
                _("Reworked and failed together cannot be more than the sample."), "failed"
            )
    if data.result == InspectionResult.ACCEPTED and data.failed:
        raise Refused(
            _("Failed items cannot all be OK: choose “partly OK” and give the number that is OK."),
            "result",
        )
    return quality.record_inspection(
        session,
        delivery,
        quality.InspectionInput(
            facility_id=facility_id,
            stage=InspectionStage.SELF,
            method=InspectionMethod.ON_SITE,
            inspector=data.inspector,
            inspected_on=data.inspected_on,
            quantity=data.quantity,
            sample_size=data.sample_size,
            passed=passed,
            reworked=data.reworked,
            failed=data.failed,
            result=data.result,
            accepted_quantity=data.accepted_quantity,
            notes=data.notes,
            measurements=data.measurements,
            checks=data.checks,
        ),
        plan=quality.plan_of(session, delivery.order_id),
        items=items,
        photos=photos,
        storage=storage,
        max_bytes=max_bytes,
    )


# --- files ---------------------------------------------------------------------------------


def facility_file(session: Session, facility_id: int, file_id: int) -> StoredFile | None:
    """A stored file the facility may open: a photo of one of its own inspections, or the
    document of a manual version of one of its running orders."""
    photos = (
        select(InspectionPhoto.file_id)
        .join(
            Inspection,
            and_(
                Inspection.tenant_id == InspectionPhoto.tenant_id,
                Inspection.id == InspectionPhoto.inspection_id,
            ),
        )
        .where(Inspection.facility_id == facility_id, InspectionPhoto.file_id == file_id)
    )
    documents = (
        select(ManualVersion.file_id)
        .join(
            Manual,
            and_(Manual.tenant_id == ManualVersion.tenant_id, Manual.id == ManualVersion.manual_id),
        )
        .join(Order, and_(Order.tenant_id == Manual.tenant_id, Order.id == Manual.order_id))
        .where(
            ManualVersion.file_id == file_id,
            Manual.archived_at.is_(None),
            _facility_orders(facility_id),
            Order.status.in_(RUNNING),
        )
    )
    return session.scalars(
        select(StoredFile).where(
            StoredFile.id == file_id,
            StoredFile.id.in_(photos) | StoredFile.id.in_(documents),
        )
    ).first()


# --- figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The facility's own quality figures over the KPI window (``app.quality.kpi``)."""

    counts: kpi.QualityCounts
    defect_rate: float | None
    first_pass_yield: float | None
    on_time: float | None

    @property
    def nonconformances(self) -> int:
        return sum((self.counts.nonconformances or {}).values())


def own_figures(session: Session, facility_id: int, today: date) -> Figures:
    counts = scores.facility_counts(session, [facility_id], today)[facility_id]
    return Figures(
        counts=counts,
        defect_rate=kpi.defect_rate(counts.failed, counts.inspected),
        first_pass_yield=kpi.first_pass_yield(counts.passed, counts.inspected),
        on_time=kpi.on_time_rate(counts.lots_on_time, counts.lots_due),
    )
