"""Quality rules. They read and write through the session they are given (never the request),
and refuse bad input with ``Refused`` naming the field the message belongs to.

Uploads go through ``app.storage.service.save_upload``: every file is checked before any is
written, objects are written before rows, and objects of a transaction that does not commit
are deleted again — so a refusal at any point leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from app.agreements.models import Agreement
from app.buyers.models import Buyer
from app.db import utcnow
from app.facilities.models import Facility
from app.jp import fiscal_year_of
from app.orders.models import Delivery, Order
from app.quality import scope
from app.quality.models import (
    ActionKind,
    Inspection,
    InspectionItem,
    InspectionMethod,
    InspectionPhoto,
    InspectionResult,
    InspectionStage,
    InspectionValue,
    ItemKind,
    LotWork,
    Manual,
    ManualAcknowledgement,
    ManualKind,
    ManualNotice,
    ManualVersion,
    Nonconformance,
    NonconformanceAction,
    NonconformanceFile,
    NonconformanceSource,
    NonconformanceStatus,
    QualityPlan,
    SamplingMode,
    ScopeVerdict,
    Severity,
    SupportMode,
    SupportRequest,
    SupportStatus,
)
from app.quality.sampling import SamplingError, SamplingPlan, normalise_aql, sampling_plan

# The matching engine's entry point: kept with the KPI queries, importable from here.
from app.quality.scores import facility_quality_scores  # noqa: F401
from app.storage.backends import Storage
from app.storage.checks import IMAGES, IMAGES_AND_DOCUMENTS, inspect_upload
from app.storage.models import StoredFile
from app.storage.service import save_upload
from app.timeline import service as timeline
from app.timeline.models import EntryKind
from app.web.listing import text_search
from tenants.isolation import USER_KEY

# Measured values are compared with a little slack: 10.1 typed is within 10.0 + 0.1.
TOLERANCE_EPSILON = 1e-9
MAX_PHOTOS = 10


class Refused(Exception):
    """Input the rules refuse; ``field`` is where the message is shown (None: the form)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Upload:
    """A file as received: its bytes and the name it came with."""

    data: bytes
    filename: str


# --- pure helpers -----------------------------------------------------------------------------


def within_tolerance(item: InspectionItem, value: float) -> bool:
    low, high = item.lower_limit, item.upper_limit
    if low is not None and value < low - TOLERANCE_EPSILON:
        return False
    return not (high is not None and value > high + TOLERANCE_EPSILON)


def suggested_plan(agreement: Agreement | None) -> tuple[SamplingMode, str, str]:
    """Mode, AQL and a note derived from the agreement's quality terms.

    "全数" / "100%" in the inspection level means 100 % inspection; "AQL 1.5" sets the AQL.
    """
    level = agreement.inspection_level if agreement is not None else ""
    mode = SamplingMode.ISO2859
    if re.search(r"全数|100\s*%|100\s*％", level):
        mode = SamplingMode.FULL
    aql = "1.0"
    found = re.search(r"AQL\s*[:：]?\s*([0-9]+(?:\.[0-9]+)?)", level, re.I)
    if found:
        with contextlib.suppress(SamplingError):  # an AQL the table lacks: keep the default
            aql = normalise_aql(found.group(1))
    note = agreement.acceptance_criteria if agreement is not None else ""
    return mode, aql, note


def lot_plan(plan: QualityPlan | None, lot_quantity: int) -> SamplingPlan | None:
    """The sampling plan for a lot of this size under the order's plan (None: 100 % or no
    plan, or an empty lot)."""
    if plan is None or plan.sampling_mode != SamplingMode.ISO2859 or lot_quantity < 1:
        return None
    return sampling_plan(lot_quantity, plan.aql, plan.inspection_level)


# --- plans ------------------------------------------------------------------------------------


def plan_of(session: Session, order_id: int) -> QualityPlan | None:
    return session.scalars(select(QualityPlan).where(QualityPlan.order_id == order_id)).first()


def save_plan(
    session: Session,
    order: Order,
    *,
    mode: SamplingMode,
    level: str,
    aql: str,
    notes: str,
) -> QualityPlan:
    try:
        aql = normalise_aql(aql)
    except SamplingError:
        raise Refused(_("Choose an AQL from the list."), "aql") from None
    plan = plan_of(session, order.id)
    if plan is None:
        plan = QualityPlan(order_id=order.id)
        session.add(plan)
    plan.sampling_mode = mode
    plan.inspection_level = level
    plan.aql = aql
    plan.notes = notes
    session.flush()
    return plan


def plan_items(
    session: Session, plan_id: int | None, include_archived: bool = False
) -> list[InspectionItem]:
    if plan_id is None:
        return []
    query = select(InspectionItem).where(InspectionItem.plan_id == plan_id)
    if not include_archived:
        query = query.where(InspectionItem.archived_at.is_(None))
    return list(session.scalars(query.order_by(InspectionItem.position, InspectionItem.id)))


def add_item(
    session: Session,
    plan: QualityPlan,
    *,
    kind: ItemKind,
    name: str,
    criteria: str = "",
    unit: str = "",
    nominal: float | None = None,
    tolerance_minus: float | None = None,
    tolerance_plus: float | None = None,
) -> InspectionItem:
    if kind == ItemKind.MEASURE:
        if nominal is None:
            raise Refused(_("A measurement needs its nominal value."), "nominal")
        if tolerance_minus is None and tolerance_plus is None:
            raise Refused(_("Give at least one tolerance."), "tolerance_plus")
    for name_, value in (("tolerance_minus", tolerance_minus), ("tolerance_plus", tolerance_plus)):
        if value is not None and value < 0:
            raise Refused(_("A tolerance is a distance from the nominal: 0 or more."), name_)
    position = session.scalar(
        select(func.coalesce(func.max(InspectionItem.position), 0)).where(
            InspectionItem.plan_id == plan.id
        )
    )
    item = InspectionItem(
        plan_id=plan.id,
        position=int(position or 0) + 1,
        kind=kind,
        name=name,
        criteria=criteria,
        unit=unit if kind == ItemKind.MEASURE else "",
        nominal=nominal if kind == ItemKind.MEASURE else None,
        tolerance_minus=tolerance_minus if kind == ItemKind.MEASURE else None,
        tolerance_plus=tolerance_plus if kind == ItemKind.MEASURE else None,
    )
    session.add(item)
    session.flush()
    return item


def retire_item(item: InspectionItem) -> None:
    """Items are retired, not deleted: past inspections keep their values."""
    if item.archived_at is None:
        item.archived_at = utcnow()


# --- manuals ----------------------------------------------------------------------------------


def manuals_of_order(session: Session, order_id: int) -> list[Manual]:
    return list(
        session.scalars(
            select(Manual)
            .where(Manual.order_id == order_id, Manual.archived_at.is_(None))
            .order_by(Manual.kind, Manual.id)
        )
    )


def versions_of_manuals(
    session: Session, manual_ids: Iterable[int]
) -> dict[int, list[ManualVersion]]:
    """Every version of the given manuals, newest first, per manual (one query)."""
    ids = list(manual_ids)
    result: dict[int, list[ManualVersion]] = defaultdict(list)
    if not ids:
        return result
    for version in session.scalars(
        select(ManualVersion)
        .where(ManualVersion.manual_id.in_(ids))
        .order_by(ManualVersion.manual_id, ManualVersion.version_no.desc())
    ):
        result[version.manual_id].append(version)
    return result


def current_work_version(session: Session, order_id: int) -> ManualVersion | None:
    """The newest version of the order's first work manual: the default a lot records."""
    return session.scalars(
        select(ManualVersion)
        .join(
            Manual,
            and_(Manual.tenant_id == ManualVersion.tenant_id, Manual.id == ManualVersion.manual_id),
        )
        .where(
            Manual.order_id == order_id,
            Manual.archived_at.is_(None),
            Manual.kind == ManualKind.MANUAL,
        )
        .order_by(Manual.id, ManualVersion.version_no.desc())
        .limit(1)
    ).first()


def job_facility_ids(session: Session, order_id: int) -> set[int]:
    """Facilities on the job: those with work on the order's lots or that acknowledged one of
    its manuals. They are the ones notified of a new version."""
    working = (
        select(LotWork.facility_id)
        .join(
            Delivery,
            and_(Delivery.tenant_id == LotWork.tenant_id, Delivery.id == LotWork.delivery_id),
        )
        .where(Delivery.order_id == order_id)
    )
    acknowledged = (
        select(ManualAcknowledgement.facility_id)
        .join(
            ManualVersion,
            and_(
                ManualVersion.tenant_id == ManualAcknowledgement.tenant_id,
                ManualVersion.id == ManualAcknowledgement.version_id,
            ),
        )
        .join(
            Manual,
            and_(Manual.tenant_id == ManualVersion.tenant_id, Manual.id == ManualVersion.manual_id),
        )
        .where(Manual.order_id == order_id)
    )
    return set(session.scalars(working.union(acknowledged)))


def _file_or_none(
    session: Session, storage: Storage, upload: Upload | None, allowed: frozenset[str], limit: int
) -> StoredFile | None:
    if upload is None:
        return None
    return save_upload(
        session,
        storage,
        data=upload.data,
        filename=upload.filename,
        allowed=allowed,
        max_bytes=limit,
    )


def create_manual(
    session: Session,
    order: Order,
    *,
    kind: ManualKind,
    title: str,
    body: str,
    upload: Upload | None,
    storage: Storage,
    max_bytes: int,
) -> Manual:
    """A manual and its version 1."""
    if not body.strip() and upload is None:
        raise Refused(_("Write the manual or attach it as a PDF or image."), "body")
    check_uploads([upload] if upload else [], IMAGES_AND_DOCUMENTS, max_bytes, "file")
    manual = Manual(order_id=order.id, kind=kind, title=title)
    session.add(manual)
    session.flush()
    publish_version(
        session,
        manual,
        order,
        changes=_("First version."),
        body=body,
        upload=upload,
        storage=storage,
        max_bytes=max_bytes,
    )
    return manual


def publish_version(
    session: Session,
    manual: Manual,
    order: Order,
    *,
    changes: str,
    body: str,
    upload: Upload | None,
    storage: Storage,
    max_bytes: int,
) -> ManualVersion:
    """A new version: numbered after the last, the job's facilities notified in the app, the
    order's timeline told."""
    if not body.strip() and upload is None:
        raise Refused(_("Write the manual or attach it as a PDF or image."), "body")
    check_uploads([upload] if upload else [], IMAGES_AND_DOCUMENTS, max_bytes, "file")
    last = session.scalar(
        select(func.coalesce(func.max(ManualVersion.version_no), 0)).where(
            ManualVersion.manual_id == manual.id
        )
    )
    stored = _file_or_none(session, storage, upload, IMAGES_AND_DOCUMENTS, max_bytes)
    version = ManualVersion(
        manual_id=manual.id,
        version_no=int(last or 0) + 1,
        changes=changes,
        body=body,
        file_id=stored.id if stored is not None else None,
        published_by_user_id=session.info.get(USER_KEY),
    )
    session.add(version)
    session.flush()
    facilities = sorted(job_facility_ids(session, order.id))
    session.add_all(ManualNotice(version_id=version.id, facility_id=f) for f in facilities)
    if version.version_no > 1:
        timeline.add_entry(
            session,
            body=_(
                "Manual %(title)s updated to version %(no)d: %(changes)s",
                title=manual.title,
                no=version.version_no,
                changes=changes,
            ),
            order_id=order.id,
            kind=EntryKind.CHANGE,
            internal=True,
        )
    session.flush()
    return version


def acknowledge(
    session: Session, version: ManualVersion, facility_id: int, by: str, now: datetime
) -> ManualAcknowledgement:
    if session.get(Facility, (version.tenant_id, facility_id)) is None:
        raise Refused(_("Choose a facility of this workspace."), "facility_id")
    existing = session.scalars(
        select(ManualAcknowledgement).where(
            ManualAcknowledgement.version_id == version.id,
            ManualAcknowledgement.facility_id == facility_id,
        )
    ).first()
    if existing is not None:
        raise Refused(_("This facility already acknowledged this version."), "facility_id")
    ack = ManualAcknowledgement(
        version_id=version.id, facility_id=facility_id, acknowledged_by=by, acknowledged_at=now
    )
    session.add(ack)
    notice = session.scalars(
        select(ManualNotice).where(
            ManualNotice.version_id == version.id, ManualNotice.facility_id == facility_id
        )
    ).first()
    if notice is not None and notice.seen_at is None:
        notice.seen_at = now
    session.flush()
    return ack


def acknowledgements_of(
    session: Session, version_ids: Iterable[int]
) -> list[ManualAcknowledgement]:
    ids = list(version_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(ManualAcknowledgement)
            .where(ManualAcknowledgement.version_id.in_(ids))
            .order_by(ManualAcknowledgement.acknowledged_at)
        )
    )


def notices_of(session: Session, version_ids: Iterable[int]) -> list[ManualNotice]:
    ids = list(version_ids)
    if not ids:
        return []
    return list(session.scalars(select(ManualNotice).where(ManualNotice.version_id.in_(ids))))


def manual_list(*, q: str = "", include_archived: bool = False) -> Select[Any]:
    """Rows of (manual, order title, latest version number)."""
    latest = (
        select(ManualVersion.manual_id, func.max(ManualVersion.version_no).label("latest"))
        .group_by(ManualVersion.manual_id)
        .subquery()
    )
    query = (
        select(Manual, Order.title.label("order_title"), latest.c.latest)
        .join(Order, and_(Order.tenant_id == Manual.tenant_id, Order.id == Manual.order_id))
        .outerjoin(latest, latest.c.manual_id == Manual.id)
    )
    search = text_search(q, Manual.title, Order.title)
    if search is not None:
        query = query.where(search)
    if not include_archived:
        query = query.where(Manual.archived_at.is_(None))
    return cast(Select[Any], query.order_by(Manual.updated_at.desc(), Manual.id.desc()))


# --- uploads ----------------------------------------------------------------------------------


def check_uploads(
    uploads: Sequence[Upload], allowed: frozenset[str], max_bytes: int, field_name: str
) -> None:
    """Every file checked before any is written (a refusal leaves nothing behind)."""
    from app.storage.checks import UploadRefused

    if len(uploads) > MAX_PHOTOS:
        raise Refused(_("Attach at most %(n)d files at once.", n=MAX_PHOTOS), field_name)
    for upload in uploads:
        try:
            inspect_upload(upload.data, allowed=allowed, max_bytes=max_bytes)
        except UploadRefused as refused:
            raise Refused(upload_message(refused, upload.filename, allowed), field_name) from None


def upload_message(refused: Any, filename: str, allowed: frozenset[str]) -> str:
    from app.storage.checks import UploadRefused

    name = filename or _("the file")
    if refused.reason == UploadRefused.EMPTY:
        return _("%(name)s is empty.", name=name)
    if refused.reason == UploadRefused.TOO_LARGE:
        return _(
            "%(name)s is larger than %(limit)d MB.", name=name, limit=refused.params["limit_mb"]
        )
    if refused.reason == UploadRefused.TOO_MANY_PIXELS:
        return _("%(name)s has too many pixels; send a smaller photo.", name=name)
    if refused.reason == UploadRefused.BROKEN_IMAGE:
        return _("%(name)s is damaged and cannot be read as an image.", name=name)
    if allowed == IMAGES:
        return _("%(name)s is not a photo: use JPEG, PNG or WebP.", name=name)
    return _("%(name)s is not a photo or a PDF: use JPEG, PNG, WebP or PDF.", name=name)


def _save_all(
    session: Session,
    storage: Storage,
    uploads: Sequence[Upload],
    allowed: frozenset[str],
    limit: int,
) -> list[StoredFile]:
    return [
        save_upload(
            session, storage, data=u.data, filename=u.filename, allowed=allowed, max_bytes=limit
        )
        for u in uploads
    ]


# --- lot works --------------------------------------------------------------------------------


def lot_works(session: Session, delivery_id: int) -> list[LotWork]:
    return list(
        session.scalars(
            select(LotWork).where(LotWork.delivery_id == delivery_id).order_by(LotWork.id)
        )
    )


def save_lot_work(
    session: Session,
    delivery: Delivery,
    *,
    facility_id: int,
    quantity: int,
    lead_person: str,
    workers: int | None,
    started_on: date | None,
    finished_on: date | None,
    manual_version_id: int | None,
    notes: str,
) -> LotWork:
    """Record (or correct) a facility's share of a lot."""
    tenant_id = delivery.tenant_id
    if session.get(Facility, (tenant_id, facility_id)) is None:
        raise Refused(_("Choose a facility of this workspace."), "facility_id")
    if started_on and finished_on and finished_on < started_on:
        raise Refused(_("The work cannot finish before it starts."), "finished_on")
    if manual_version_id is not None:
        version = session.get(ManualVersion, (tenant_id, manual_version_id))
        manual = session.get(Manual, (tenant_id, version.manual_id)) if version else None
        if manual is None or manual.order_id != delivery.order_id:
            raise Refused(_("Choose a manual version of this order."), "manual_version_id")
    works = lot_works(session, delivery.id)
    existing = next((w for w in works if w.facility_id == facility_id), None)
    others = sum(w.quantity for w in works if w is not existing)
    if others + quantity > delivery.quantity:
        raise Refused(
            _(
                "The lot has %(lot)d items and the other facilities already made %(others)d: "
                "at most %(left)d here.",
                lot=delivery.quantity,
                others=others,
                left=max(0, delivery.quantity - others),
            ),
            "quantity",
        )
    work = existing or LotWork(delivery_id=delivery.id, facility_id=facility_id)
    work.quantity = quantity
    work.lead_person = lead_person
    work.workers = workers
    work.started_on = started_on
    work.finished_on = finished_on
    work.manual_version_id = manual_version_id
    work.notes = notes
    if existing is None:
        session.add(work)
    session.flush()
    return work


def recorded_lot_quantity(session: Session, delivery_id: int) -> int:
    """The least a lot can hold: what its facilities made, and the largest share inspected."""
    made = session.scalar(
        select(func.coalesce(func.sum(LotWork.quantity), 0)).where(
            LotWork.delivery_id == delivery_id
        )
    )
    inspected = session.scalar(
        select(func.coalesce(func.max(Inspection.quantity), 0)).where(
            Inspection.delivery_id == delivery_id
        )
    )
    return max(int(made or 0), int(inspected or 0))


# --- inspections ------------------------------------------------------------------------------


@dataclass
class InspectionInput:
    facility_id: int
    stage: InspectionStage
    method: InspectionMethod
    inspector: str
    inspected_on: date
    quantity: int
    sample_size: int
    passed: int
    reworked: int
    failed: int
    result: InspectionResult
    accepted_quantity: int | None = None
    notes: str = ""
    measurements: dict[int, list[float]] = field(default_factory=dict)  # item id → values
    checks: dict[int, bool] = field(default_factory=dict)  # item id → OK


def _check_counts(data: InspectionInput, delivery: Delivery) -> None:
    if data.quantity > delivery.quantity:
        raise Refused(
            _(
                "The lot has %(lot)d items: an inspection cannot cover %(n)d.",
                lot=delivery.quantity,
                n=data.quantity,
            ),
            "quantity",
        )
    if data.sample_size > data.quantity:
        raise Refused(
            _("The sample cannot be larger than the quantity inspected from."), "sample_size"
        )
    if data.passed + data.reworked + data.failed != data.sample_size:
        raise Refused(
            _(
                "Passed, reworked and failed must add up to the sample size (%(n)d).",
                n=data.sample_size,
            ),
            "passed",
        )


def _check_values(data: InspectionInput, items: Sequence[InspectionItem]) -> None:
    by_id = {item.id: item for item in items}
    for item_id, values in data.measurements.items():
        if item_id not in by_id or by_id[item_id].kind != ItemKind.MEASURE:
            raise Refused(_("Measurements must belong to this plan's items."))
        if len(values) > max(data.sample_size, 1):
            raise Refused(
                _("More values than items in the sample (%(n)d).", n=data.sample_size),
                f"item_{item_id}",
            )
        for value in values:
            if not math.isfinite(value):
                raise Refused(_("Enter a number."), f"item_{item_id}")
    for item_id in data.checks:
        if item_id not in by_id or by_id[item_id].kind != ItemKind.CHECK:
            raise Refused(_("Checks must belong to this plan's items."))


def _check_result(data: InspectionInput, plan: QualityPlan | None) -> SamplingPlan | None:
    """The lot-acceptance rules; returns the sampling plan applied (central, ISO 2859-1)."""
    result = data.result
    if result == InspectionResult.PARTIAL:
        accepted = data.accepted_quantity
        if accepted is None or not 0 < accepted < data.quantity:
            raise Refused(
                _(
                    "A partial acceptance accepts more than 0 and fewer than %(n)d items.",
                    n=data.quantity,
                ),
                "accepted_quantity",
            )
    applied: SamplingPlan | None = None
    if data.stage != InspectionStage.CENTRAL or plan is None or data.quantity < 1:
        return None
    if plan.sampling_mode == SamplingMode.FULL:
        if result == InspectionResult.ACCEPTED and data.sample_size < data.quantity:
            raise Refused(
                _("The plan is full inspection: inspect all %(n)d items.", n=data.quantity),
                "sample_size",
            )
        if result == InspectionResult.ACCEPTED and data.failed:
            raise Refused(
                _("Failed items cannot be accepted: record a partial acceptance."), "result"
            )
        return None
    applied = sampling_plan(data.quantity, plan.aql, plan.inspection_level)
    if result == InspectionResult.ACCEPTED:
        if data.sample_size < applied.sample_size:
            raise Refused(
                _(
                    "The sampling plan needs %(n)d items in the sample (code letter %(letter)s).",
                    n=applied.sample_size,
                    letter=applied.plan_letter,
                ),
                "sample_size",
            )
        nonconforming = data.failed + data.reworked
        if not applied.verdict(nonconforming):
            raise Refused(
                _(
                    "%(found)d nonconforming items reach the rejection number %(re)d: the lot "
                    "cannot be accepted as a whole. Reject it, or sort it and record a partial "
                    "acceptance.",
                    found=nonconforming,
                    re=applied.reject,
                ),
                "result",
            )
    return applied


def record_inspection(
    session: Session,
    delivery: Delivery,
    data: InspectionInput,
    *,
    plan: QualityPlan | None,
    items: Sequence[InspectionItem],
    photos: Sequence[Upload],
    storage: Storage,
    max_bytes: int,
) -> Inspection:
    if session.get(Facility, (delivery.tenant_id, data.facility_id)) is None:
        raise Refused(_("Choose a facility of this workspace."), "facility_id")
    _check_counts(data, delivery)
    _check_values(data, items)
    applied = _check_result(data, plan)
    if data.method == InspectionMethod.REMOTE_PHOTO and not photos:
        raise Refused(_("A remote verification is made from photos: attach them."), "photos")
    check_uploads(photos, IMAGES, max_bytes, "photos")
    accepted = {
        InspectionResult.ACCEPTED: data.quantity,
        InspectionResult.REJECTED: 0,
        InspectionResult.PARTIAL: data.accepted_quantity,
        InspectionResult.PENDING: None,
    }[data.result]
    stored = _save_all(session, storage, photos, IMAGES, max_bytes)
    inspection = Inspection(
        delivery_id=delivery.id,
        facility_id=data.facility_id,
        stage=data.stage,
        method=data.method,
        inspector=data.inspector,
        inspected_on=data.inspected_on,
        quantity=data.quantity,
        sample_size=data.sample_size,
        passed=data.passed,
        reworked=data.reworked,
        failed=data.failed,
        result=data.result,
        accepted_quantity=accepted,
        plan_code_letter=applied.plan_letter if applied else "",
        plan_sample_size=applied.sample_size if applied else None,
        plan_accept=applied.accept if applied else None,
        plan_reject=applied.reject if applied else None,
        notes=data.notes,
        recorded_by_user_id=session.info.get(USER_KEY),
    )
    session.add(inspection)
    session.flush()
    by_id = {item.id: item for item in items}
    rows: list[Any] = []
    for item_id, values in data.measurements.items():
        rows += [
            InspectionValue(
                inspection_id=inspection.id,
                item_id=item_id,
                sample_no=n,
                value=value,
                ok=within_tolerance(by_id[item_id], value),
            )
            for n, value in enumerate(values, start=1)
        ]
    rows += [
        InspectionValue(inspection_id=inspection.id, item_id=item_id, sample_no=1, ok=ok)
        for item_id, ok in data.checks.items()
    ]
    rows += [InspectionPhoto(inspection_id=inspection.id, file_id=f.id) for f in stored]
    session.add_all(rows)
    session.flush()
    return inspection


def add_inspection_photos(
    session: Session,
    inspection: Inspection,
    photos: Sequence[Upload],
    *,
    caption: str,
    storage: Storage,
    max_bytes: int,
) -> list[InspectionPhoto]:
    if not photos:
        raise Refused(_("Choose one or more photos."), "photos")
    check_uploads(photos, IMAGES, max_bytes, "photos")
    stored = _save_all(session, storage, photos, IMAGES, max_bytes)
    rows = [
        InspectionPhoto(inspection_id=inspection.id, file_id=f.id, caption=caption) for f in stored
    ]
    session.add_all(rows)
    session.flush()
    return rows


def set_inspection_result(
    session: Session,
    inspection: Inspection,
    *,
    result: InspectionResult,
    accepted_quantity: int | None,
    plan: QualityPlan | None,
) -> None:
    """The verdict of an inspection recorded as pending (e.g. photos reviewed later)."""
    data = InspectionInput(
        facility_id=inspection.facility_id,
        stage=inspection.stage,
        method=inspection.method,
        inspector=inspection.inspector,
        inspected_on=inspection.inspected_on,
        quantity=inspection.quantity,
        sample_size=inspection.sample_size,
        passed=inspection.passed,
        reworked=inspection.reworked,
        failed=inspection.failed,
        result=result,
        accepted_quantity=accepted_quantity,
    )
    if result == InspectionResult.PENDING:
        raise Refused(_("Choose the verdict."), "result")
    if inspection.method == InspectionMethod.REMOTE_PHOTO and not session.scalar(
        select(func.count()).where(InspectionPhoto.inspection_id == inspection.id)
    ):
        raise Refused(_("A remote verification is made from photos: attach them."), "result")
    applied = _check_result(data, plan)
    inspection.result = result
    inspection.accepted_quantity = {
        InspectionResult.ACCEPTED: inspection.quantity,
        InspectionResult.REJECTED: 0,
        InspectionResult.PARTIAL: accepted_quantity,
    }[result]
    if applied is not None:
        inspection.plan_code_letter = applied.plan_letter
        inspection.plan_sample_size = applied.sample_size
        inspection.plan_accept = applied.accept
        inspection.plan_reject = applied.reject
    session.flush()


def inspections_of_lot(session: Session, delivery_id: int) -> list[Inspection]:
    return list(
        session.scalars(
            select(Inspection)
            .where(Inspection.delivery_id == delivery_id)
            .order_by(Inspection.inspected_on, Inspection.id)
        )
    )


def values_of(session: Session, inspection_ids: Iterable[int]) -> dict[int, list[InspectionValue]]:
    ids = list(inspection_ids)
    result: dict[int, list[InspectionValue]] = defaultdict(list)
    if not ids:
        return result
    for value in session.scalars(
        select(InspectionValue)
        .where(InspectionValue.inspection_id.in_(ids))
        .order_by(InspectionValue.item_id, InspectionValue.sample_no)
    ):
        result[value.inspection_id].append(value)
    return result


def photos_of(
    session: Session, inspection_ids: Iterable[int]
) -> dict[int, list[tuple[InspectionPhoto, StoredFile]]]:
    ids = list(inspection_ids)
    result: dict[int, list[tuple[InspectionPhoto, StoredFile]]] = defaultdict(list)
    if not ids:
        return result
    rows = session.execute(
        select(InspectionPhoto, StoredFile)
        .join(
            StoredFile,
            and_(
                StoredFile.tenant_id == InspectionPhoto.tenant_id,
                StoredFile.id == InspectionPhoto.file_id,
            ),
        )
        .where(InspectionPhoto.inspection_id.in_(ids))
        .order_by(InspectionPhoto.id)
    )
    for photo, stored in rows:
        result[photo.inspection_id].append((photo, stored))
    return result


def items_by_id(session: Session, item_ids: Iterable[int]) -> dict[int, InspectionItem]:
    ids = set(item_ids)
    if not ids:
        return {}
    return {
        i.id: i for i in session.scalars(select(InspectionItem).where(InspectionItem.id.in_(ids)))
    }


# --- nonconformances --------------------------------------------------------------------------

NC_FLOW: dict[NonconformanceStatus, tuple[NonconformanceStatus, ...]] = {
    NonconformanceStatus.OPEN: (NonconformanceStatus.INVESTIGATING,),
    NonconformanceStatus.INVESTIGATING: (NonconformanceStatus.ACTING, NonconformanceStatus.OPEN),
    NonconformanceStatus.ACTING: (
        NonconformanceStatus.VERIFYING,
        NonconformanceStatus.INVESTIGATING,
    ),
    NonconformanceStatus.VERIFYING: (NonconformanceStatus.ACTING,),
    # Closing has its own form (evidence); a closed one can be reopened into action.
    NonconformanceStatus.CLOSED: (NonconformanceStatus.ACTING,),
}


def raise_nonconformance(
    session: Session,
    *,
    delivery_id: int | None,
    facility_id: int | None,
    inspection_id: int | None,
    source: NonconformanceSource,
    severity: Severity,
    title: str,
    description: str,
    quantity_affected: int | None,
    found_on: date,
    tenant_id: int,
    evidence: Sequence[Upload] = (),
    storage: Storage | None = None,
    max_bytes: int = 0,
) -> Nonconformance:
    """A new nonconformance on a lot of this workspace. A lot, facility or inspection id of
    another workspace is simply not found here: the same message as a typo, nothing leaked."""
    delivery = session.get(Delivery, (tenant_id, delivery_id)) if delivery_id else None
    if delivery is None:
        raise Refused(_("Choose a lot of this workspace."), "delivery_id")
    if facility_id is not None and session.get(Facility, (tenant_id, facility_id)) is None:
        raise Refused(_("Choose a facility of this workspace."), "facility_id")
    if inspection_id is not None:
        inspection = session.get(Inspection, (tenant_id, inspection_id))
        if inspection is None or inspection.delivery_id != delivery.id:
            raise Refused(_("Choose an inspection of this lot."), "inspection_id")
    if quantity_affected is not None and quantity_affected > delivery.quantity:
        raise Refused(_("The lot has only %(n)d items.", n=delivery.quantity), "quantity_affected")
    if evidence:
        assert storage is not None
        check_uploads(evidence, IMAGES_AND_DOCUMENTS, max_bytes, "evidence")
    nc = Nonconformance(
        delivery_id=delivery.id,
        facility_id=facility_id,
        inspection_id=inspection_id,
        source=source,
        severity=severity,
        title=title,
        description=description,
        quantity_affected=quantity_affected,
        found_on=found_on,
        raised_by_user_id=session.info.get(USER_KEY),
    )
    session.add(nc)
    session.flush()
    if evidence and storage is not None:
        stored = _save_all(session, storage, evidence, IMAGES_AND_DOCUMENTS, max_bytes)
        session.add_all(NonconformanceFile(nonconformance_id=nc.id, file_id=f.id) for f in stored)
    timeline.add_entry(
        session,
        body=_("Nonconformance on lot %(lot)s: %(title)s", lot=delivery.lot_no, title=title),
        order_id=delivery.order_id,
        kind=EntryKind.CHANGE,
        internal=True,
    )
    session.flush()
    return nc


def actions_of(session: Session, nc_id: int) -> list[NonconformanceAction]:
    return list(
        session.scalars(
            select(NonconformanceAction)
            .where(NonconformanceAction.nonconformance_id == nc_id)
            .order_by(
                NonconformanceAction.kind, NonconformanceAction.due_on, NonconformanceAction.id
            )
        )
    )


def evidence_of(
    session: Session, nc_ids: Iterable[int]
) -> dict[int, list[tuple[NonconformanceFile, StoredFile]]]:
    ids = list(nc_ids)
    result: dict[int, list[tuple[NonconformanceFile, StoredFile]]] = defaultdict(list)
    if not ids:
        return result
    rows = session.execute(
        select(NonconformanceFile, StoredFile)
        .join(
            StoredFile,
            and_(
                StoredFile.tenant_id == NonconformanceFile.tenant_id,
                StoredFile.id == NonconformanceFile.file_id,
            ),
        )
        .where(NonconformanceFile.nonconformance_id.in_(ids))
        .order_by(NonconformanceFile.id)
    )
    for attached, stored in rows:
        result[attached.nonconformance_id].append((attached, stored))
    return result


def set_root_cause(nc: Nonconformance, root_cause: str) -> None:
    _refuse_closed(nc)
    nc.root_cause = root_cause


def add_action(
    session: Session,
    nc: Nonconformance,
    *,
    kind: ActionKind,
    description: str,
    owner: str,
    due_on: date,
) -> NonconformanceAction:
    _refuse_closed(nc)
    action = NonconformanceAction(
        nonconformance_id=nc.id, kind=kind, description=description, owner=owner, due_on=due_on
    )
    session.add(action)
    session.flush()
    return action


def complete_action(nc: Nonconformance, action: NonconformanceAction, done_on: date) -> None:
    _refuse_closed(nc)
    action.done_on = done_on


def _refuse_closed(nc: Nonconformance) -> None:
    if nc.status == NonconformanceStatus.CLOSED:
        raise Refused(_("This nonconformance is closed: reopen it to change it."))


def move_nonconformance(session: Session, nc: Nonconformance, new: NonconformanceStatus) -> None:
    if new not in NC_FLOW[nc.status]:
        raise Refused(_("This status cannot follow the current one."), "status")
    reopening = nc.status == NonconformanceStatus.CLOSED
    if new == NonconformanceStatus.ACTING and not reopening and not nc.root_cause.strip():
        raise Refused(_("Record the root cause before acting on it."), "status")
    if new == NonconformanceStatus.VERIFYING:
        actions = actions_of(session, nc.id)
        if not any(a.kind == ActionKind.CORRECTIVE for a in actions):
            raise Refused(_("Add a corrective action before verifying."), "status")
    if nc.status == NonconformanceStatus.CLOSED:
        nc.closed_on = None
    nc.status = new


def close_nonconformance(
    session: Session,
    nc: Nonconformance,
    *,
    closure_note: str,
    closed_on: date,
    evidence: Sequence[Upload],
    storage: Storage,
    max_bytes: int,
) -> None:
    """Close with evidence: a root cause, a corrective action, every action done, a note on
    the verification and at least one evidence file (attached before or now)."""
    if nc.status == NonconformanceStatus.CLOSED:
        raise Refused(_("This nonconformance is already closed."))
    if not nc.root_cause.strip():
        raise Refused(_("Record the root cause before closing."), "closure_note")
    actions = actions_of(session, nc.id)
    if not any(a.kind == ActionKind.CORRECTIVE for a in actions):
        raise Refused(_("Add a corrective action before closing."), "closure_note")
    open_actions = [a for a in actions if a.done_on is None]
    if open_actions:
        raise Refused(_("%(n)d actions are not done yet.", n=len(open_actions)), "closure_note")
    if not closure_note.strip():
        raise Refused(_("Say how the fix was verified."), "closure_note")
    check_uploads(evidence, IMAGES_AND_DOCUMENTS, max_bytes, "evidence")
    has_evidence = bool(
        session.scalar(select(func.count()).where(NonconformanceFile.nonconformance_id == nc.id))
    )
    if not evidence and not has_evidence:
        raise Refused(_("Attach evidence of the fix (a photo or a report)."), "evidence")
    stored = _save_all(session, storage, evidence, IMAGES_AND_DOCUMENTS, max_bytes)
    session.add_all(NonconformanceFile(nonconformance_id=nc.id, file_id=f.id) for f in stored)
    nc.status = NonconformanceStatus.CLOSED
    nc.closed_on = closed_on
    nc.closure_note = closure_note
    delivery = session.get(Delivery, (nc.tenant_id, nc.delivery_id))
    assert delivery is not None
    timeline.add_entry(
        session,
        body=_("Nonconformance closed: %(title)s", title=nc.title),
        order_id=delivery.order_id,
        kind=EntryKind.CHANGE,
        internal=True,
    )
    session.flush()


def add_evidence(
    session: Session,
    nc: Nonconformance,
    uploads: Sequence[Upload],
    *,
    caption: str,
    storage: Storage,
    max_bytes: int,
) -> None:
    if not uploads:
        raise Refused(_("Choose one or more files."), "evidence")
    check_uploads(uploads, IMAGES_AND_DOCUMENTS, max_bytes, "evidence")
    stored = _save_all(session, storage, uploads, IMAGES_AND_DOCUMENTS, max_bytes)
    session.add_all(
        NonconformanceFile(nonconformance_id=nc.id, file_id=f.id, caption=caption) for f in stored
    )
    session.flush()


def nonconformance_list(
    *,
    q: str = "",
    status: NonconformanceStatus | None = None,
    severity: Severity | None = None,
    open_only: bool = False,
    order_id: int | None = None,
) -> Select[Any]:
    """Rows of (nonconformance, lot no, order id, order title, facility name)."""
    query = (
        select(
            Nonconformance,
            Delivery.lot_no,
            Order.id.label("order_id"),
            Order.title.label("order_title"),
            Facility.name.label("facility_name"),
        )
        .join(
            Delivery,
            and_(
                Delivery.tenant_id == Nonconformance.tenant_id,
                Delivery.id == Nonconformance.delivery_id,
            ),
        )
        .join(Order, and_(Order.tenant_id == Delivery.tenant_id, Order.id == Delivery.order_id))
        .outerjoin(
            Facility,
            and_(
                Facility.tenant_id == Nonconformance.tenant_id,
                Facility.id == Nonconformance.facility_id,
            ),
        )
    )
    search = text_search(q, Nonconformance.title, Delivery.lot_no, Order.title, Facility.name)
    if search is not None:
        query = query.where(search)
    if status is not None:
        query = query.where(Nonconformance.status == status)
    elif open_only:
        query = query.where(Nonconformance.status != NonconformanceStatus.CLOSED)
    if severity is not None:
        query = query.where(Nonconformance.severity == severity)
    if order_id is not None:
        query = query.where(Delivery.order_id == order_id)
    severity_rank = case(
        {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2},
        value=Nonconformance.severity,
    )
    closed_last = case((Nonconformance.status == NonconformanceStatus.CLOSED, 1), else_=0)
    return cast(
        Select[Any],
        query.order_by(
            closed_last, severity_rank, Nonconformance.found_on.desc(), Nonconformance.id.desc()
        ),
    )


def nonconformances_of_lot(session: Session, delivery_id: int) -> list[Nonconformance]:
    return list(
        session.scalars(
            select(Nonconformance)
            .where(Nonconformance.delivery_id == delivery_id)
            .order_by(Nonconformance.found_on, Nonconformance.id)
        )
    )


def actions_of_many(
    session: Session, nc_ids: Iterable[int]
) -> dict[int, list[NonconformanceAction]]:
    ids = list(nc_ids)
    result: dict[int, list[NonconformanceAction]] = defaultdict(list)
    if not ids:
        return result
    for action in session.scalars(
        select(NonconformanceAction)
        .where(NonconformanceAction.nonconformance_id.in_(ids))
        .order_by(NonconformanceAction.kind, NonconformanceAction.due_on)
    ):
        result[action.nonconformance_id].append(action)
    return result


# --- technical support ------------------------------------------------------------------------


def agreement_of(session: Session, order: Order) -> Agreement | None:
    if order.agreement_id is None:
        return None
    return session.get(Agreement, (order.tenant_id, order.agreement_id))


def free_visits_used(
    session: Session, agreement_id: int | None, fiscal_year: int, except_id: int | None = None
) -> int:
    """Free on-site visits already promised (or made) under the agreement in a fiscal year."""
    if agreement_id is None:
        return 0
    query = select(func.count()).where(
        SupportRequest.agreement_id == agreement_id,
        SupportRequest.fiscal_year == fiscal_year,
        SupportRequest.uses_free_visit.is_(True),
        SupportRequest.status.in_((SupportStatus.PROMISED, SupportStatus.DONE)),
    )
    if except_id is not None:
        query = query.where(SupportRequest.id != except_id)
    return int(session.scalar(query) or 0)


def decide_scope(
    session: Session, request: SupportRequest, today: date
) -> tuple[scope.ScopeDecision, scope.ServiceScope | None]:
    """The scope verdict for the request now, with this fiscal year's free visits used."""
    agreement = (
        session.get(Agreement, (request.tenant_id, request.agreement_id))
        if request.agreement_id
        else None
    )
    terms = scope.ServiceScope.of(agreement)
    visit_day = request.visit_on or today
    used = free_visits_used(
        session, request.agreement_id, fiscal_year_of(visit_day), except_id=request.id
    )
    decision = scope.evaluate(
        terms,
        onsite=request.mode == SupportMode.ONSITE,
        remote_tried=request.remote_tried,
        free_visits_used=used,
    )
    return decision, terms


def create_support_request(
    session: Session,
    order: Order,
    *,
    subject: str,
    description: str,
    requested_by: str,
    mode: SupportMode,
    remote_tried: bool,
    nonconformance_id: int | None,
    facility_id: int | None,
    requested_at: datetime,
) -> SupportRequest:
    tenant_id = order.tenant_id
    if nonconformance_id is not None:
        nc = session.get(Nonconformance, (tenant_id, nonconformance_id))
        delivery = session.get(Delivery, (tenant_id, nc.delivery_id)) if nc else None
        if delivery is None or delivery.order_id != order.id:
            raise Refused(_("Choose a nonconformance of this order."), "nonconformance_id")
    if facility_id is not None and session.get(Facility, (tenant_id, facility_id)) is None:
        raise Refused(_("Choose a facility of this workspace."), "facility_id")
    agreement = agreement_of(session, order)
    request = SupportRequest(
        order_id=order.id,
        agreement_id=agreement.id if agreement else None,
        nonconformance_id=nonconformance_id,
        facility_id=facility_id,
        subject=subject,
        description=description,
        requested_by=requested_by,
        requested_at=requested_at,
        mode=mode,
        remote_tried=remote_tried,
        response_due_at=scope.response_due(requested_at, scope.ServiceScope.of(agreement)),
    )
    session.add(request)
    session.flush()
    return request


def record_response(request: SupportRequest, now: datetime) -> None:
    if request.first_response_at is None:
        request.first_response_at = now


def promise_support(
    session: Session,
    request: SupportRequest,
    *,
    visit_on: date | None,
    confirm_exception: bool,
    exception_note: str,
    today: date,
    now: datetime,
) -> scope.ScopeDecision:
    """Promise the support. A request outside the plain scope (paid, out of scope, no terms)
    is only promised when the exception is confirmed with a note (who agreed to what)."""
    if request.status != SupportStatus.OPEN:
        raise Refused(_("Only an open request can be promised."))
    if request.mode == SupportMode.ONSITE and visit_on is None:
        raise Refused(_("Give the date of the visit."), "visit_on")
    if visit_on is not None and visit_on < request.requested_at.date() - timedelta(days=1):
        raise Refused(_("The visit cannot be before the request."), "visit_on")
    request.visit_on = visit_on
    decision, _terms = decide_scope(session, request, today)
    if decision.flagged and not (confirm_exception and exception_note.strip()):
        raise Refused(
            _(
                "This request is outside the agreed scope. Confirm the exception and say who "
                "agreed to it (and to any fee) before promising it."
            ),
            "exception_note",
        )
    request.status = SupportStatus.PROMISED
    request.verdict = decision.verdict
    request.fee_yen = decision.fee_yen
    request.uses_free_visit = decision.uses_free_visit and not decision.flagged
    request.fiscal_year = fiscal_year_of(visit_on or today)
    request.exception_note = exception_note.strip() if decision.flagged else ""
    request.promised_at = now
    record_response(request, now)
    session.flush()
    return decision


def decline_support(request: SupportRequest, note: str, now: datetime) -> None:
    if request.status not in (SupportStatus.OPEN, SupportStatus.PROMISED):
        raise Refused(_("This request is already finished."))
    if not note.strip():
        raise Refused(_("Say why the request is declined."), "outcome")
    request.status = SupportStatus.DECLINED
    request.outcome = note
    request.uses_free_visit = False
    record_response(request, now)


def complete_support(
    request: SupportRequest, outcome: str, resolved_on: date, now: datetime
) -> None:
    if request.status != SupportStatus.PROMISED:
        raise Refused(_("Promise the support before recording its outcome."))
    if not outcome.strip():
        raise Refused(_("Record the outcome."), "outcome")
    request.status = SupportStatus.DONE
    request.outcome = outcome
    request.resolved_on = resolved_on
    record_response(request, now)


def support_list(
    *, q: str = "", status: SupportStatus | None = None, open_only: bool = False
) -> Select[Any]:
    """Rows of (request, order title, buyer name)."""
    query = (
        select(SupportRequest, Order.title.label("order_title"), Buyer.name.label("buyer_name"))
        .join(
            Order,
            and_(Order.tenant_id == SupportRequest.tenant_id, Order.id == SupportRequest.order_id),
        )
        .join(Buyer, and_(Buyer.tenant_id == Order.tenant_id, Buyer.id == Order.buyer_id))
    )
    search = text_search(q, SupportRequest.subject, Order.title, Buyer.name)
    if search is not None:
        query = query.where(search)
    if status is not None:
        query = query.where(SupportRequest.status == status)
    elif open_only:
        query = query.where(SupportRequest.status.in_((SupportStatus.OPEN, SupportStatus.PROMISED)))
    finished_last = case(
        (SupportRequest.status.in_((SupportStatus.DONE, SupportStatus.DECLINED)), 1), else_=0
    )
    return cast(
        Select[Any],
        query.order_by(finished_last, SupportRequest.requested_at.desc(), SupportRequest.id.desc()),
    )


def live_verdicts(
    session: Session, requests: Sequence[SupportRequest], today: date
) -> dict[int, ScopeVerdict]:
    """Scope verdicts of a page of requests: stored ones for promised requests, evaluated now
    for open ones — with one query for the agreements and one for the visits used."""
    verdicts = {r.id: r.verdict for r in requests if r.verdict is not None}
    open_ones = [r for r in requests if r.verdict is None]
    agreement_ids = {r.agreement_id for r in open_ones if r.agreement_id is not None}
    agreements = (
        {a.id: a for a in session.scalars(select(Agreement).where(Agreement.id.in_(agreement_ids)))}
        if agreement_ids
        else {}
    )
    fy = fiscal_year_of(today)
    used: dict[int, int] = {}
    if agreement_ids:
        rows = session.execute(
            select(SupportRequest.agreement_id, func.count())
            .where(
                SupportRequest.agreement_id.in_(agreement_ids),
                SupportRequest.fiscal_year == fy,
                SupportRequest.uses_free_visit.is_(True),
                SupportRequest.status.in_((SupportStatus.PROMISED, SupportStatus.DONE)),
            )
            .group_by(SupportRequest.agreement_id)
        )
        used = {int(a): int(n) for a, n in rows if a is not None}
    for r in open_ones:
        agreement = agreements.get(r.agreement_id) if r.agreement_id else None
        decision = scope.evaluate(
            scope.ServiceScope.of(agreement),
            onsite=r.mode == SupportMode.ONSITE,
            remote_tried=r.remote_tried,
            free_visits_used=used.get(r.agreement_id or 0, 0),
        )
        verdicts[r.id] = decision.verdict
    return verdicts
