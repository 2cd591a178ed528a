"""The quality records a buyer company sees in its portal, and what it may raise there.

What is shared with the buyer is decided here, not in the templates:

- **Its own lots, once delivered.** A lot of one of the company's orders (not archived) whose
  delivery date is recorded. Before delivery the lot's records are the network's work in
  progress; from delivery on, its quality record is the buyer's to see. Any other lot — of
  another company, another workspace, or not delivered yet — is simply not found.
- **The traceability record of such a lot**, as the quality module prints it
  (``app.quality.trace`` and ``quality/trace_pdf.html``, made to be shared with the buyer):
  the facilities that made it, by name (they are named on the traceability record), how many
  each made, the person in charge, when, and the manual version used; every inspection —
  the facility's self-inspection and the central quality check — with inspector, method,
  sample, counts, measured values, verdict, the quantity accepted (partial acceptance) and
  the photos; the nonconformances with their root cause and actions. Left out: the number of
  workers of each facility and who owns each action (the facilities' staffing and the
  team's internal task assignment), notes on works and inspections, and the marks of which
  facility acknowledged which manual version (internal process control).
- **Nonconformances** on its delivered lots: severity, what is wrong, status, root cause,
  actions, closure. The description only of those its own people raised (the internal ones
  carry the team's working notes), and photos only those its own people uploaded.
- **Its support requests** (on its orders): what was asked, the scope verdict, the fee,
  the answer due, the outcome. Not the internal note on why an exception was granted.

Never: other buyers, prices or wages of the facilities, internal timeline entries.
No Flask request objects: the views pass ids, times, storage and links.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from app.agreements.models import Agreement
from app.buyers.models import Buyer
from app.deals.models import Deal
from app.jp import fiscal_year_of
from app.notifications import service as notifications
from app.notifications.models import Notification
from app.orders.models import Delivery, Order, OrderStatus
from app.quality import scope
from app.quality import service as quality
from app.quality.models import (
    Inspection,
    InspectionPhoto,
    InspectionResult,
    InspectionStage,
    Nonconformance,
    NonconformanceFile,
    NonconformanceSource,
    NonconformanceStatus,
    Severity,
    SupportMode,
    SupportRequest,
    SupportStatus,
)
from app.storage.backends import Storage
from app.storage.checks import IMAGES
from app.storage.models import StoredFile
from app.web.listing import text_search
from tenants.models import Membership, MembershipStatus, Role

Refused = quality.Refused

# Who hears of what a buyer raises: the order's handlers and the quality-check team.
QUALITY_ROLES = (Role.QUALITY,)


# --- lots ----------------------------------------------------------------------------------


def _own_orders(buyer_id: int) -> Any:
    return and_(Order.buyer_id == buyer_id, Order.archived_at.is_(None))


def _lots_of(buyer_id: int) -> Select[Any]:
    """Rows of (delivery, order title) of the company's delivered lots."""
    return cast(
        Select[Any],
        select(Delivery, Order.title.label("order_title"))
        .join(Order, and_(Order.tenant_id == Delivery.tenant_id, Order.id == Delivery.order_id))
        .where(_own_orders(buyer_id), Delivery.delivered_on.is_not(None)),
    )


def shared_lot(session: Session, buyer_id: int, delivery_id: int | None) -> Delivery | None:
    """The company's delivered lot with this id, or None (another's, or not delivered)."""
    if delivery_id is None:
        return None
    row = session.execute(_lots_of(buyer_id).where(Delivery.id == delivery_id)).first()
    return row[0] if row is not None else None


def shared_lot_list(buyer_id: int, q: str = "") -> Select[Any]:
    """The company's delivered lots, newest delivery first: rows of (delivery, order title)."""
    query = _lots_of(buyer_id)
    search = text_search(q, Delivery.lot_no, Order.title)
    if search is not None:
        query = query.where(search)
    return query.order_by(Delivery.delivered_on.desc(), Delivery.id.desc())


def shared_lot_choices(session: Session, buyer_id: int, limit: int = 200) -> list[Any]:
    """The latest delivered lots, for the lot picker of a new nonconformance."""
    return list(session.execute(shared_lot_list(buyer_id).limit(limit)).all())


@dataclass(frozen=True)
class Share:
    """One facility's share of a lot as the central quality check left it."""

    result: InspectionResult
    quantity: int
    accepted: int | None


@dataclass(frozen=True)
class LotVerdict:
    """The central quality check of a whole lot: the shares' verdicts added up."""

    result: InspectionResult | None  # None: no central check recorded
    inspected: int = 0  # items presented to the check
    accepted: int | None = None  # None while a verdict is pending

    @property
    def partial(self) -> bool:
        return self.result == InspectionResult.PARTIAL


def lot_verdict(shares: Sequence[Share]) -> LotVerdict:
    """Pure. Every share accepted → accepted; every share rejected → rejected; any share still
    pending → pending; otherwise partly accepted, with the accepted quantities added up."""
    if not shares:
        return LotVerdict(None)
    inspected = sum(s.quantity for s in shares)
    results = {s.result for s in shares}
    if InspectionResult.PENDING in results:
        return LotVerdict(InspectionResult.PENDING, inspected)
    accepted = sum(s.accepted or 0 for s in shares)
    if results == {InspectionResult.ACCEPTED}:
        return LotVerdict(InspectionResult.ACCEPTED, inspected, accepted)
    if results == {InspectionResult.REJECTED}:
        return LotVerdict(InspectionResult.REJECTED, inspected, 0)
    return LotVerdict(InspectionResult.PARTIAL, inspected, accepted)


def lot_verdicts(session: Session, delivery_ids: Iterable[int]) -> dict[int, LotVerdict]:
    """Per lot, the latest central inspection of each facility's share, added up (one query)."""
    ids = sorted(set(delivery_ids))
    if not ids:
        return {}
    latest: dict[int, dict[int, Share]] = defaultdict(dict)
    for delivery_id, facility_id, result, quantity, accepted in session.execute(
        select(
            Inspection.delivery_id,
            Inspection.facility_id,
            Inspection.result,
            Inspection.quantity,
            Inspection.accepted_quantity,
        )
        .where(Inspection.delivery_id.in_(ids), Inspection.stage == InspectionStage.CENTRAL)
        .order_by(Inspection.inspected_on, Inspection.id)
    ):
        latest[delivery_id][facility_id] = Share(result, quantity, accepted)
    return {i: lot_verdict(list(latest[i].values())) for i in ids}


def open_nonconformance_counts(session: Session, delivery_ids: Iterable[int]) -> dict[int, int]:
    ids = sorted(set(delivery_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Nonconformance.delivery_id, func.count())
        .where(
            Nonconformance.delivery_id.in_(ids),
            Nonconformance.status != NonconformanceStatus.CLOSED,
        )
        .group_by(Nonconformance.delivery_id)
    )
    return {int(i): int(n) for i, n in rows}


# --- nonconformances -----------------------------------------------------------------------


def nonconformance_list(buyer_id: int, q: str = "") -> Select[Any]:
    """Nonconformances on the company's delivered lots, open ones first, the most severe
    first: rows of (nonconformance, lot no, order title)."""
    query = (
        select(Nonconformance, Delivery.lot_no, Order.title.label("order_title"))
        .join(
            Delivery,
            and_(
                Delivery.tenant_id == Nonconformance.tenant_id,
                Delivery.id == Nonconformance.delivery_id,
            ),
        )
        .join(Order, and_(Order.tenant_id == Delivery.tenant_id, Order.id == Delivery.order_id))
        .where(_own_orders(buyer_id), Delivery.delivered_on.is_not(None))
    )
    search = text_search(q, Nonconformance.title, Delivery.lot_no, Order.title)
    if search is not None:
        query = query.where(search)
    closed_last = case((Nonconformance.status == NonconformanceStatus.CLOSED, 1), else_=0)
    severity_rank = case(
        {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2},
        value=Nonconformance.severity,
    )
    return cast(
        Select[Any],
        query.order_by(
            closed_last, severity_rank, Nonconformance.found_on.desc(), Nonconformance.id.desc()
        ),
    )


def shared_nonconformance(
    session: Session, buyer_id: int, nc_id: int
) -> tuple[Nonconformance, Delivery, Order] | None:
    row = session.execute(
        select(Nonconformance, Delivery, Order)
        .join(
            Delivery,
            and_(
                Delivery.tenant_id == Nonconformance.tenant_id,
                Delivery.id == Nonconformance.delivery_id,
            ),
        )
        .join(Order, and_(Order.tenant_id == Delivery.tenant_id, Order.id == Delivery.order_id))
        .where(
            Nonconformance.id == nc_id,
            _own_orders(buyer_id),
            Delivery.delivered_on.is_not(None),
        )
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


def company_people(session: Session, buyer_id: int) -> set[int]:
    """User ids of the company's people in this workspace (past ones included: what they
    uploaded stays the company's)."""
    return set(session.scalars(select(Membership.user_id).where(Membership.buyer_id == buyer_id)))


def raised_by_company(nc: Nonconformance, people: set[int]) -> bool:
    return nc.source == NonconformanceSource.BUYER and nc.raised_by_user_id in people


def company_photos(
    session: Session, nc_ids: Iterable[int], people: set[int]
) -> dict[int, list[tuple[NonconformanceFile, StoredFile]]]:
    """Files attached to these nonconformances by the company's own people."""
    return {
        nc_id: [(a, f) for a, f in files if f.uploaded_by_user_id in people]
        for nc_id, files in quality.evidence_of(session, nc_ids).items()
    }


def raise_nonconformance(
    session: Session,
    buyer_id: int,
    *,
    delivery_id: int | None,
    severity: Severity,
    title: str,
    description: str,
    quantity_affected: int | None,
    found_on: date,
    today: date,
    photos: Sequence[quality.Upload],
    storage: Storage,
    max_bytes: int,
) -> Nonconformance:
    """A nonconformance the buyer found on one of its delivered lots (source: buyer). Photos
    are optional and must be photos. Everything is checked before anything is written."""
    delivery = shared_lot(session, buyer_id, delivery_id)
    if delivery is None:
        # Another company's lot, another workspace's, or one not delivered: the same answer.
        raise Refused(_("Choose one of your delivered lots."), "delivery_id")
    if found_on > today:
        raise Refused(_("The date cannot be in the future."), "found_on")
    assert delivery.delivered_on is not None  # shared lots are delivered
    if found_on < delivery.delivered_on:
        raise Refused(
            _(
                "The lot was delivered on %(date)s: choose that day or later.",
                date=delivery.delivered_on.isoformat(),
            ),
            "found_on",
        )
    quality.check_uploads(photos, IMAGES, max_bytes, "photos")
    return quality.raise_nonconformance(
        session,
        delivery_id=delivery.id,
        facility_id=None,
        inspection_id=None,
        source=NonconformanceSource.BUYER,
        severity=severity,
        title=title,
        description=description,
        quantity_affected=quantity_affected,
        found_on=found_on,
        tenant_id=delivery.tenant_id,
        evidence=photos,
        storage=storage,
        max_bytes=max_bytes,
    )


# --- technical support ---------------------------------------------------------------------


def support_orders(session: Session, buyer_id: int) -> list[Order]:
    """Orders a support request can be about: the company's, not archived, not cancelled."""
    return list(
        session.scalars(
            select(Order)
            .where(_own_orders(buyer_id), Order.status != OrderStatus.CANCELLED)
            .order_by(Order.confirmed_on.desc(), Order.id.desc())
        )
    )


def support_list(buyer_id: int) -> Select[Any]:
    """The company's support requests, open ones first: rows of (request, order title)."""
    finished_last = case(
        (SupportRequest.status.in_((SupportStatus.DONE, SupportStatus.DECLINED)), 1), else_=0
    )
    return cast(
        Select[Any],
        select(SupportRequest, Order.title.label("order_title"))
        .join(
            Order,
            and_(Order.tenant_id == SupportRequest.tenant_id, Order.id == SupportRequest.order_id),
        )
        .where(_own_orders(buyer_id))
        .order_by(finished_last, SupportRequest.requested_at.desc(), SupportRequest.id.desc()),
    )


def shared_support_request(
    session: Session, buyer_id: int, request_id: int
) -> tuple[SupportRequest, Order] | None:
    row = session.execute(
        select(SupportRequest, Order)
        .join(
            Order,
            and_(Order.tenant_id == SupportRequest.tenant_id, Order.id == SupportRequest.order_id),
        )
        .where(SupportRequest.id == request_id, _own_orders(buyer_id))
    ).first()
    return (row[0], row[1]) if row is not None else None


def support_of_nonconformance(session: Session, nc_id: int) -> list[SupportRequest]:
    """Support requests raised from a nonconformance (they are on the same order)."""
    return list(
        session.scalars(
            select(SupportRequest)
            .where(SupportRequest.nonconformance_id == nc_id)
            .order_by(SupportRequest.requested_at)
        )
    )


@dataclass(frozen=True)
class ScopePreview:
    """The service scope that applies to a request before it is sent."""

    agreement: Agreement | None
    terms: scope.ServiceScope | None
    decision: scope.ScopeDecision
    fiscal_year: int
    visits_used: int
    response_due_at: datetime | None

    @property
    def flagged(self) -> bool:
        return self.decision.flagged


def scope_preview(
    session: Session, order: Order, *, onsite: bool, remote_tried: bool, now: datetime
) -> ScopePreview:
    """What the agreement of the order says for this request, with this fiscal year's free
    visits used: the same rules (``app.quality.scope``) the coordinator promises by."""
    agreement = quality.agreement_of(session, order)
    terms = scope.ServiceScope.of(agreement)
    fiscal_year = fiscal_year_of(now)
    used = quality.free_visits_used(session, agreement.id if agreement else None, fiscal_year)
    decision = scope.evaluate(
        terms, onsite=onsite, remote_tried=remote_tried, free_visits_used=used
    )
    return ScopePreview(
        agreement=agreement,
        terms=terms,
        decision=decision,
        fiscal_year=fiscal_year,
        visits_used=used,
        response_due_at=scope.response_due(now, terms),
    )


def raise_support_request(
    session: Session,
    buyer_id: int,
    order: Order,
    *,
    requested_by: str,
    subject: str,
    description: str,
    mode: SupportMode,
    remote_tried: bool,
    nonconformance_id: int | None,
    accept_outside_scope: bool,
    now: datetime,
) -> tuple[SupportRequest, ScopePreview]:
    """A support request from the buyer. The scope that applies was shown before sending; a
    request outside it is only sent once the buyer said it understands (the coordinator then
    confirms what applies, and any fee, before promising anything)."""
    facility_id = None
    if nonconformance_id is not None:
        found = shared_nonconformance(session, buyer_id, nonconformance_id)
        if found is None or found[2].id != order.id:
            raise Refused(
                _("Choose one of your nonconformances on this order."), "nonconformance_id"
            )
        facility_id = found[0].facility_id
    preview = scope_preview(
        session, order, onsite=mode == SupportMode.ONSITE, remote_tried=remote_tried, now=now
    )
    if preview.flagged and not accept_outside_scope:
        raise Refused(
            _(
                "This request is outside the scope of your agreement. Tick the box to send it "
                "anyway: the coordinator will confirm with you what applies before promising it."
            ),
            "accept_outside_scope",
        )
    request = quality.create_support_request(
        session,
        order,
        subject=subject,
        description=description,
        requested_by=requested_by,
        mode=mode,
        remote_tried=remote_tried,
        nonconformance_id=nonconformance_id,
        facility_id=facility_id,
        requested_at=now,
    )
    return request, preview


# --- photos --------------------------------------------------------------------------------


def shared_file(session: Session, buyer_id: int, file_id: int) -> StoredFile | None:
    """A stored file the company may see: a photo of an inspection of one of its delivered
    lots, or a file its own people attached to a nonconformance on one."""
    own_lot = and_(_own_orders(buyer_id), Delivery.delivered_on.is_not(None))
    inspection_photos = (
        select(InspectionPhoto.file_id)
        .join(
            Inspection,
            and_(
                Inspection.tenant_id == InspectionPhoto.tenant_id,
                Inspection.id == InspectionPhoto.inspection_id,
            ),
        )
        .join(
            Delivery,
            and_(Delivery.tenant_id == Inspection.tenant_id, Delivery.id == Inspection.delivery_id),
        )
        .join(Order, and_(Order.tenant_id == Delivery.tenant_id, Order.id == Delivery.order_id))
        .where(own_lot, InspectionPhoto.file_id == file_id)
    )
    people = select(Membership.user_id).where(Membership.buyer_id == buyer_id)
    their_files = (
        select(NonconformanceFile.file_id)
        .join(
            Nonconformance,
            and_(
                Nonconformance.tenant_id == NonconformanceFile.tenant_id,
                Nonconformance.id == NonconformanceFile.nonconformance_id,
            ),
        )
        .join(
            Delivery,
            and_(
                Delivery.tenant_id == Nonconformance.tenant_id,
                Delivery.id == Nonconformance.delivery_id,
            ),
        )
        .join(Order, and_(Order.tenant_id == Delivery.tenant_id, Order.id == Delivery.order_id))
        .where(own_lot, NonconformanceFile.file_id == file_id)
    )
    return session.scalars(
        select(StoredFile).where(
            StoredFile.id == file_id,
            StoredFile.id.in_(inspection_photos)
            | (StoredFile.id.in_(their_files) & StoredFile.uploaded_by_user_id.in_(people)),
        )
    ).first()


# --- notifications -------------------------------------------------------------------------


def staff_to_tell(session: Session, order: Order) -> list[Membership]:
    """The order's handlers (the deal's owner, or every coordinator and administrator) and
    the quality-check team: what a buyer raises about quality is theirs to answer."""
    owner_id = None
    if order.deal_id is not None:
        deal = session.get(Deal, (order.tenant_id, order.deal_id))
        owner_id = deal.owner_id if deal is not None else None
    handlers = notifications.handlers(session, owner_id)
    team = session.scalars(
        select(Membership)
        .where(Membership.status == MembershipStatus.ACTIVE, Membership.role.in_(QUALITY_ROLES))
        .order_by(Membership.id)
    )
    seen = {m.id for m in handlers}
    return handlers + [m for m in team if m.id not in seen]


def tell_staff_of_nonconformance(
    session: Session, nc: Nonconformance, buyer: Buyer, person: str, *, link: str
) -> list[Notification]:
    delivery = session.get(Delivery, (nc.tenant_id, nc.delivery_id))
    assert delivery is not None
    order = session.get(Order, (nc.tenant_id, delivery.order_id))
    assert order is not None
    body = _(
        "%(buyer)s (%(person)s) reported a nonconformance on lot %(lot)s of %(order)s.",
        buyer=buyer.name,
        person=person,
        lot=delivery.lot_no,
        order=order.title,
    )
    if nc.description:
        body += "\n\n" + nc.description
    return notifications.notify_members(
        session,
        staff_to_tell(session, order),
        kind="buyer_nonconformance",
        title=_("Nonconformance from %(buyer)s: %(title)s", buyer=buyer.name, title=nc.title),
        body=body,
        link=link,
    )


def tell_staff_of_support_request(
    session: Session,
    request: SupportRequest,
    order: Order,
    buyer: Buyer,
    preview: ScopePreview,
    *,
    verdict_label: str,
    link: str,
) -> list[Notification]:
    body = _(
        "%(buyer)s asked for technical support on %(order)s. Scope: %(verdict)s.",
        buyer=buyer.name,
        order=order.title,
        verdict=verdict_label,
    )
    if preview.flagged:
        body += "\n" + _("Outside the agreed scope: the buyer was told you will confirm first.")
    if request.description:
        body += "\n\n" + request.description
    return notifications.notify_members(
        session,
        staff_to_tell(session, order),
        kind="buyer_support_request",
        title=_(
            "Support request from %(buyer)s: %(subject)s", buyer=buyer.name, subject=request.subject
        ),
        body=body,
        link=link,
    )
