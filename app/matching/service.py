"""Matching rules around the pure engine: turn records into the engine's plain data, and
record what the coordinator confirms.

Free capacity of a facility in a month = its hours per month − confirmed assignments of
other work in that month − forecast volume.  Forecast volume is the work an open order is
expected to keep bringing: when an order's month has no confirmed assignment yet, every
facility keeps the hours it had on that order in the order's latest confirmed month (a
recurring order is planned against the same facilities unless re-planned).  The package being
planned never counts against itself.

Every loader below takes a fixed number of queries, whatever the number of facilities.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app import matching as engine
from app.buyers.models import Buyer
from app.catalogs.models import Capability
from app.deals.models import OPEN_STAGES, Deal, DealCapability
from app.facilities.models import Facility, FacilityCapability, FacilityStatus
from app.jp import fiscal_year_of, fiscal_year_range, today_jst
from app.matching.engine import EPS
from app.matching.models import (
    Assignment,
    BuyerExclusion,
    MatchingSettings,
    WorkSpec,
    WorkSpecCapability,
    WorkUnit,
)
from app.notifications.models import Notification
from app.orders.models import Order, OrderStatus
from app.orders.service import add_months
from app.timeline import service as timeline
from app.timeline.models import EntryKind
from tenants.isolation import current_tenant_id

OPEN_ORDER_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS)
EARTH_RADIUS_KM = 6371.0


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Marks a message for the catalogue; the view translates it with its parameters."""
    return message


class MatchingError(Exception):
    """A request the rules refuse; the message (English, translated by the view) says why."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


# --- months ----------------------------------------------------------------------------------


def month_key(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def parse_month(text: str | None) -> date | None:
    """ "2026-05" (or "2026/5") → date(2026, 5, 1); None when unreadable."""
    if not text:
        return None
    raw = text.strip().replace("/", "-")
    year, _, month = raw.partition("-")
    if not (year.isdigit() and month.isdigit()):
        return None
    y, m = int(year), int(month)
    if not (2000 <= y <= 2100 and 1 <= m <= 12):
        return None
    return date(y, m, 1)


def order_months(order: Order) -> tuple[date, date | None]:
    """The first month an order's work runs in, and the last (None: open-ended)."""
    start = (order.starts_on or order.confirmed_on).replace(day=1)
    end = order.ends_on.replace(day=1) if order.ends_on else None
    return start, end


def order_runs_in(order: Order, month: date) -> bool:
    start, end = order_months(order)
    return start <= month and (end is None or month <= end)


def default_month(order: Order, today: date) -> date:
    """The month a proposal opens on: this month while the order runs, else its first."""
    this_month = today.replace(day=1)
    start, end = order_months(order)
    if this_month < start:
        return start
    if end is not None and this_month > end:
        return end
    return this_month


# --- geography -------------------------------------------------------------------------------


def distance_km(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float | None:
    """Great-circle distance (haversine), or None when either point is unknown."""
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def site_of(buyer: Buyer | None) -> tuple[float, float] | None:
    if buyer is None or buyer.latitude is None or buyer.longitude is None:
        return None
    return (buyer.latitude, buyer.longitude)


# --- weights ---------------------------------------------------------------------------------


WEIGHT_FIELDS = ("distance", "quality", "wage_uplift", "idle_bonus", "concentration")


def workspace_settings(session: Session) -> MatchingSettings | None:
    return session.scalar(select(MatchingSettings))


def load_weights(session: Session) -> engine.Weights:
    row = workspace_settings(session)
    if row is None:
        return engine.Weights()
    return engine.Weights(**{name: getattr(row, name) for name in WEIGHT_FIELDS})


def save_weights(session: Session, values: Mapping[str, float]) -> MatchingSettings:
    engine.Weights(**values)  # the engine's own checks (non-negative)
    row = workspace_settings(session)
    if row is None:
        row = MatchingSettings()
        session.add(row)
    for name in WEIGHT_FIELDS:
        setattr(row, name, float(values[name]))
    session.flush()
    return row


# --- work specs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What a package is about: an order (monthly work) or a deal (its trial)."""

    kind: str  # "order" | "deal"
    id: int

    @property
    def package_id(self) -> str:
        return f"{self.kind}-{self.id}"

    @staticmethod
    def parse(package_id: str) -> Subject | None:
        kind, _, raw = package_id.partition("-")
        if kind not in ("order", "deal") or not raw.isdigit():
            return None
        return Subject(kind, int(raw))

    def where(self, model: Any) -> Any:
        column = model.order_id if self.kind == "order" else model.deal_id
        return column == self.id


def spec_of(session: Session, subject: Subject) -> WorkSpec | None:
    return session.scalar(select(WorkSpec).where(subject.where(WorkSpec)))


def spec_requirements(session: Session, spec_ids: Sequence[int]) -> dict[int, list[Any]]:
    """spec id → [(capability id, name, min proficiency)], one query."""
    out: dict[int, list[Any]] = defaultdict(list)
    if not spec_ids:
        return out
    rows = session.execute(
        select(
            WorkSpecCapability.spec_id,
            WorkSpecCapability.capability_id,
            Capability.name,
            WorkSpecCapability.min_proficiency,
        )
        .join(Capability, Capability.id == WorkSpecCapability.capability_id)
        .where(WorkSpecCapability.spec_id.in_(spec_ids))
        .order_by(WorkSpecCapability.spec_id, Capability.name)
    ).all()
    for spec_id, capability_id, name, level in rows:
        out[spec_id].append((capability_id, name, level))
    return out


def deal_defaults(session: Session, deal: Deal) -> dict[str, Any]:
    """What a new spec starts from: the deal's processes and difficulty."""
    capability_ids = session.scalars(
        select(DealCapability.capability_id).where(DealCapability.deal_id == deal.id)
    ).all()
    return {"capabilities": {cid: 1 for cid in capability_ids}, "difficulty": deal.difficulty_level}


def save_spec(
    session: Session,
    subject: Subject,
    *,
    unit: WorkUnit,
    quantity: int,
    hours_per_unit: float,
    difficulty_level: int | None,
    needs_pc: bool,
    on_site: bool,
    max_distance_km: int | None,
    min_lot: int,
    trial_month: date | None,
    capabilities: Mapping[int, int],
) -> WorkSpec:
    """Create or replace the spec of an order or a deal, with its required processes."""
    if unit is WorkUnit.HOURS:
        hours_per_unit = 1.0
    if hours_per_unit <= 0:
        raise MatchingError(N_("Hours per piece must be more than zero."))
    if min_lot > quantity:
        raise MatchingError(N_("The minimum lot cannot be larger than the quantity."))
    if on_site and max_distance_km is None:
        raise MatchingError(N_("On-site work needs a maximum distance."))
    spec = spec_of(session, subject)
    if spec is None:
        spec = WorkSpec(order_id=subject.id if subject.kind == "order" else None)
        spec.deal_id = subject.id if subject.kind == "deal" else None
        session.add(spec)
    spec.unit = unit
    spec.quantity = quantity
    spec.hours_per_unit = hours_per_unit
    spec.difficulty_level = difficulty_level
    spec.needs_pc = needs_pc
    spec.on_site = on_site
    spec.max_distance_km = max_distance_km if on_site else None
    spec.min_lot = min_lot
    spec.trial_month = trial_month if subject.kind == "deal" else None
    session.flush()
    existing = {
        row.capability_id: row
        for row in session.scalars(
            select(WorkSpecCapability).where(WorkSpecCapability.spec_id == spec.id)
        )
    }
    for capability_id, row in existing.items():
        if capability_id not in capabilities:
            session.delete(row)
        elif row.min_proficiency != capabilities[capability_id]:
            row.min_proficiency = capabilities[capability_id]
    for capability_id, level in capabilities.items():
        if capability_id not in existing:
            session.add(
                WorkSpecCapability(
                    spec_id=spec.id, capability_id=capability_id, min_proficiency=level
                )
            )
    session.flush()
    return spec


# --- buyer exclusions ------------------------------------------------------------------------


def buyer_exclusions(session: Session, buyer_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    ids = sorted(set(buyer_ids))
    rows = session.execute(
        select(BuyerExclusion.buyer_id, BuyerExclusion.facility_id).where(
            BuyerExclusion.buyer_id.in_(ids)
        )
    ).all()
    out: dict[int, set[int]] = defaultdict(set)
    for buyer_id, facility_id in rows:
        out[buyer_id].add(facility_id)
    return {buyer_id: frozenset(out[buyer_id]) for buyer_id in ids}


def exclude_facility(session: Session, buyer_id: int, facility_id: int, reason: str) -> None:
    exists = session.scalar(
        select(BuyerExclusion.id).where(
            BuyerExclusion.buyer_id == buyer_id, BuyerExclusion.facility_id == facility_id
        )
    )
    if exists is not None:
        raise MatchingError(N_("This facility is already excluded for this buyer."))
    session.add(BuyerExclusion(buyer_id=buyer_id, facility_id=facility_id, reason=reason))
    session.flush()


def include_facility(session: Session, buyer_id: int, facility_id: int) -> bool:
    """Remove a buyer's exclusion (through the ORM, so the audit log records it)."""
    row = session.scalar(
        select(BuyerExclusion).where(
            BuyerExclusion.buyer_id == buyer_id, BuyerExclusion.facility_id == facility_id
        )
    )
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


# --- packages --------------------------------------------------------------------------------


@dataclass
class PackageInfo:
    """A package with the records behind it, for the engine and for the screens."""

    subject: Subject
    title: str
    buyer: Buyer
    spec: WorkSpec
    month: date
    package: engine.WorkPackage
    order: Order | None = None
    deal: Deal | None = None

    @property
    def unit_label(self) -> str:
        return "h" if self.spec.unit is WorkUnit.HOURS else "pcs"


def _package(
    subject: Subject,
    spec: WorkSpec,
    month: date,
    requirements: Sequence[Any],
    difficulty: int | None,
    excluded_by_buyer: frozenset[int],
    *,
    locked: Mapping[int, float] | None = None,
    excluded: Iterable[int] = (),
    distances: Mapping[int, float] | None = None,
) -> engine.WorkPackage:
    return engine.WorkPackage(
        id=subject.package_id,
        month=month_key(month),
        quantity=float(spec.quantity),
        requirements=tuple(
            engine.Requirement(capability_id=cid, name=name, min_proficiency=level)
            for cid, name, level in requirements
        ),
        difficulty=difficulty,
        needs_pc=spec.needs_pc,
        on_site=spec.on_site,
        max_distance_km=float(spec.max_distance_km) if spec.max_distance_km is not None else None,
        excluded_by_buyer=excluded_by_buyer,
        min_lot=float(spec.min_lot),
        locked=dict(locked or {}),
        excluded_by_coordinator=frozenset(excluded),
        unit="h" if spec.unit is WorkUnit.HOURS else "pcs",
        hours_per_unit=spec.hours_per_unit,
        distances_km=distances,
    )


def open_orders_in(session: Session, month: date) -> list[Order]:
    """Open orders whose work runs in the month (one query)."""
    orders = session.scalars(
        select(Order)
        .where(
            Order.archived_at.is_(None),
            Order.status.in_(OPEN_ORDER_STATUSES),
            func.coalesce(Order.starts_on, Order.confirmed_on) < add_months(month, 1),
            or_(Order.ends_on.is_(None), Order.ends_on >= month),
        )
        .order_by(Order.id)
    ).all()
    return list(orders)


def trial_deals_in(session: Session, month: date) -> list[tuple[Deal, WorkSpec]]:
    """Open deals whose trial is planned in the month (one query)."""
    rows = session.execute(
        select(Deal, WorkSpec)
        .join(WorkSpec, WorkSpec.deal_id == Deal.id)
        .where(
            Deal.archived_at.is_(None),
            Deal.stage.in_(OPEN_STAGES),
            WorkSpec.trial_month == month,
        )
        .order_by(Deal.id)
    ).all()
    return [(deal, spec) for deal, spec in rows]


def build_packages(
    session: Session,
    items: Sequence[tuple[Subject, WorkSpec, Order | None, Deal | None]],
    month: date,
    *,
    adjustments: Mapping[str, tuple[Mapping[int, float], Iterable[int]]] | None = None,
    facility_sites: Mapping[int, tuple[float, float] | None] | None = None,
) -> list[PackageInfo]:
    """Engine packages for specs in a month, with buyers, requirements and exclusions
    (a fixed number of queries).  ``adjustments`` maps package id → (locked, excluded)."""
    buyer_ids = {
        record.buyer_id
        for _, _, order, deal in items
        if (record := order if order is not None else deal) is not None
    }
    buyers = {
        b.id: b for b in session.scalars(select(Buyer).where(Buyer.id.in_(sorted(buyer_ids))))
    }
    exclusions = buyer_exclusions(session, buyer_ids)
    requirements = spec_requirements(session, [spec.id for _, spec, _, _ in items])
    deal_ids = {order.deal_id for _, _, order, _ in items if order and order.deal_id}
    deal_levels = dict(
        session.execute(
            select(Deal.id, Deal.difficulty_level).where(Deal.id.in_(sorted(deal_ids)))
        ).all()
    )
    out = []
    for subject, spec, order, deal in items:
        record = order if order is not None else deal
        assert record is not None
        buyer = buyers[record.buyer_id]
        difficulty = spec.difficulty_level
        if difficulty is None:
            difficulty = (
                deal.difficulty_level
                if deal is not None
                else deal_levels.get(order.deal_id)
                if order and order.deal_id
                else None
            )
        site = site_of(buyer)
        distances = None
        if facility_sites is not None:
            distances = {
                fid: km
                for fid, point in facility_sites.items()
                if (km := distance_km(point, site)) is not None
            }
        locked, excluded = (adjustments or {}).get(subject.package_id, ({}, ()))
        out.append(
            PackageInfo(
                subject=subject,
                title=record.title,
                buyer=buyer,
                spec=spec,
                month=month,
                package=_package(
                    subject,
                    spec,
                    month,
                    requirements.get(spec.id, []),
                    difficulty,
                    exclusions.get(buyer.id, frozenset()),
                    locked=locked,
                    excluded=excluded,
                    distances=distances,
                ),
                order=order,
                deal=deal,
            )
        )
    return out


# --- facilities ------------------------------------------------------------------------------


def quality_scores(session: Session, facility_ids: Sequence[int]) -> dict[int, float | None]:
    """Quality 0..1 per facility from its quality records (first-pass yield, defects, on-time
    delivery, nonconformances; see ``app.quality.kpi``); None = no history, which the engine
    counts as the neutral prior."""
    from app.quality.scores import facility_quality_scores

    return facility_quality_scores(session, facility_ids, today_for_quality())


def today_for_quality() -> date:
    """The day quality history is counted back from (the JST date)."""
    return today_jst()


def committed_hours(session: Session, month: date, planning: Sequence[Subject]) -> dict[int, float]:
    """Hours per facility in the month already taken by confirmed work and forecast volume,
    leaving out the packages being planned (two queries)."""
    planned_orders = [s.id for s in planning if s.kind == "order"]
    planned_deals = [s.id for s in planning if s.kind == "deal"]
    confirmed = select(Assignment.facility_id, func.sum(Assignment.hours)).where(
        Assignment.month == month
    )
    if planned_orders:
        confirmed = confirmed.where(
            or_(Assignment.order_id.is_(None), Assignment.order_id.not_in(planned_orders))
        )
    if planned_deals:
        confirmed = confirmed.where(
            or_(Assignment.deal_id.is_(None), Assignment.deal_id.not_in(planned_deals))
        )
    hours: dict[int, float] = defaultdict(float)
    for facility_id, total in session.execute(confirmed.group_by(Assignment.facility_id)):
        hours[facility_id] += float(total or 0)
    for facility_id, total in forecast_hours(session, month, planned_orders).items():
        hours[facility_id] += total
    return hours


def forecast_hours(session: Session, month: date, leave_out: Sequence[int]) -> dict[int, float]:
    """Forecast volume per facility in the month: open orders running in the month without
    a confirmed assignment there keep last confirmed month's hours at each facility."""
    latest = (
        select(Assignment.order_id, func.max(Assignment.month).label("month"))
        .where(Assignment.order_id.is_not(None), Assignment.month < month)
        .group_by(Assignment.order_id)
        .subquery()
    )
    assigned_now = select(Assignment.order_id).where(
        Assignment.order_id.is_not(None), Assignment.month == month
    )
    query = (
        select(Assignment.facility_id, func.sum(Assignment.hours))
        .join(
            latest,
            and_(Assignment.order_id == latest.c.order_id, Assignment.month == latest.c.month),
        )
        .join(Order, Order.id == Assignment.order_id)
        .where(
            Order.archived_at.is_(None),
            Order.status.in_(OPEN_ORDER_STATUSES),
            or_(Order.ends_on.is_(None), Order.ends_on >= month),
            Assignment.order_id.not_in(assigned_now),
        )
        .group_by(Assignment.facility_id)
    )
    if leave_out:
        query = query.where(Assignment.order_id.not_in(list(leave_out)))
    return {fid: float(total or 0) for fid, total in session.execute(query)}


def facilities_with_work(session: Session, month: date, planning: Sequence[Subject]) -> set[int]:
    """Facilities with confirmed work in the month's fiscal year, other than the packages
    being planned (they keep the idle bonus until they have work)."""
    start, end = fiscal_year_range(fiscal_year_of(month))
    query = select(Assignment.facility_id).where(Assignment.month.between(start, end))
    orders = [s.id for s in planning if s.kind == "order"]
    deals = [s.id for s in planning if s.kind == "deal"]
    if orders:
        query = query.where(or_(Assignment.order_id.is_(None), Assignment.order_id.not_in(orders)))
    if deals:
        query = query.where(or_(Assignment.deal_id.is_(None), Assignment.deal_id.not_in(deals)))
    return set(session.scalars(query.distinct()))


def active_facility_ids(session: Session, fiscal_year: int) -> set[int]:
    """Facilities that received work (a confirmed assignment) in the fiscal year."""
    start, end = fiscal_year_range(fiscal_year)
    return set(
        session.scalars(
            select(Assignment.facility_id).where(Assignment.month.between(start, end)).distinct()
        )
    )


@dataclass
class FacilityData:
    records: dict[int, Facility]
    engine: list[engine.Facility]
    sites: dict[int, tuple[float, float] | None] = field(default_factory=dict)


def load_facilities(
    session: Session,
    month: date,
    planning: Sequence[Subject],
    site: tuple[float, float] | None = None,
) -> FacilityData:
    """Every facility that takes part (participating or paused) as the engine sees it in the
    month; a fixed number of queries."""
    facilities = session.scalars(
        select(Facility)
        .where(Facility.archived_at.is_(None), Facility.status != FacilityStatus.LEFT)
        .order_by(Facility.id)
    ).all()
    capabilities: dict[int, dict[int, int]] = defaultdict(dict)
    for facility_id, capability_id, level in session.execute(
        select(
            FacilityCapability.facility_id,
            FacilityCapability.capability_id,
            FacilityCapability.proficiency,
        )
    ):
        capabilities[facility_id][capability_id] = level
    taken = committed_hours(session, month, planning)
    busy = facilities_with_work(session, month, planning)
    quality = quality_scores(session, [f.id for f in facilities])
    key = month_key(month)
    data = FacilityData(records={f.id: f for f in facilities}, engine=[])
    for f in facilities:
        point = (
            (f.latitude, f.longitude)
            if f.latitude is not None and f.longitude is not None
            else None
        )
        data.sites[f.id] = point
        data.engine.append(
            engine.Facility(
                id=f.id,
                name=f.name,
                capabilities=capabilities.get(f.id, {}),
                max_difficulty=f.max_difficulty,
                pc_experience=f.pc_experience,
                free_hours={key: max(0.0, f.hours_per_month - taken.get(f.id, 0.0))},
                available=f.status is FacilityStatus.PARTICIPATING,
                distance_km=distance_km(point, site),
                avg_monthly_wage=f.avg_monthly_wage,
                has_work=f.id in busy,
                quality=quality.get(f.id),
                workers=f.workers,
            )
        )
    return data


# --- proposals -------------------------------------------------------------------------------


@dataclass
class Proposal:
    info: PackageInfo
    plan: engine.Plan
    facilities: FacilityData
    confirmed: list[Assignment]


def subject_records(session: Session, subject: Subject) -> tuple[Order | None, Deal | None]:
    if subject.kind == "order":
        return session.get(Order, _key(session, subject.id)), None
    return None, session.get(Deal, _key(session, subject.id))


def _key(session: Session, record_id: int) -> tuple[int, int]:
    return (current_tenant_id(session), record_id)


def confirmed_assignments(session: Session, subject: Subject, month: date) -> list[Assignment]:
    query = select(Assignment).where(subject.where(Assignment))
    if subject.kind == "order":
        query = query.where(Assignment.month == month)
    return list(session.scalars(query.order_by(Assignment.facility_id)))


def propose(
    session: Session,
    subject: Subject,
    record: Order | Deal,
    spec: WorkSpec,
    month: date,
    *,
    locked: Mapping[int, float] | None = None,
    excluded: Iterable[int] = (),
    options: engine.SolveOptions | None = None,
) -> Proposal:
    """A proposal for one order's month or one deal's trial."""
    order = record if isinstance(record, Order) else None
    deal = record if isinstance(record, Deal) else None
    info = build_packages(
        session,
        [(subject, spec, order, deal)],
        month,
        adjustments={subject.package_id: (locked or {}, excluded)},
    )[0]
    facilities = load_facilities(session, month, [subject], site_of(info.buyer))
    plan = engine.propose_single(
        info.package, facilities.engine, load_weights(session), options or engine.SolveOptions()
    )
    return Proposal(info, plan, facilities, confirmed_assignments(session, subject, month))


@dataclass
class MonthlyPlan:
    month: date
    packages: list[PackageInfo]
    plan: engine.Plan | None
    facilities: FacilityData | None
    missing_spec: list[Order]


def monthly_items(
    session: Session, month: date, include_assigned: bool
) -> tuple[list[tuple[Subject, WorkSpec, Order | None, Deal | None]], list[Order]]:
    """The month's packages: open orders running in it (with a spec) and deals' trials
    planned in it; already assigned ones only when re-planning."""
    orders = open_orders_in(session, month)
    specs = {
        s.order_id: s
        for s in session.scalars(
            select(WorkSpec).where(WorkSpec.order_id.in_([o.id for o in orders]))
        )
    }
    assigned_orders = set(
        session.scalars(
            select(Assignment.order_id).where(
                Assignment.month == month, Assignment.order_id.is_not(None)
            )
        )
    )
    assigned_deals = set(
        session.scalars(select(Assignment.deal_id).where(Assignment.deal_id.is_not(None)))
    )
    items: list[tuple[Subject, WorkSpec, Order | None, Deal | None]] = []
    missing = []
    for order in orders:
        spec = specs.get(order.id)
        if spec is None:
            missing.append(order)
        elif spec.quantity > 0 and (include_assigned or order.id not in assigned_orders):
            items.append((Subject("order", order.id), spec, order, None))
    for deal, spec in trial_deals_in(session, month):
        if spec.quantity > 0 and (include_assigned or deal.id not in assigned_deals):
            items.append((Subject("deal", deal.id), spec, None, deal))
    return items, missing


def plan_month(
    session: Session,
    month: date,
    *,
    include_assigned: bool = False,
    options: engine.SolveOptions | None = None,
) -> MonthlyPlan:
    """Re-plan every open package of the month at once against free capacity."""
    items, missing = monthly_items(session, month, include_assigned)
    subjects = [subject for subject, _, _, _ in items]
    facilities = load_facilities(session, month, subjects)
    packages = build_packages(session, items, month, facility_sites=facilities.sites)
    if not packages:
        return MonthlyPlan(month, [], None, facilities, missing)
    plan = engine.solve(
        [p.package for p in packages],
        facilities.engine,
        load_weights(session),
        options or engine.SolveOptions(),
    )
    return MonthlyPlan(month, packages, plan, facilities, missing)


# --- confirming ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    assignments: list[Assignment]
    notified: list[Notification]


def format_quantity(value: float) -> str:
    """1200 → "1,200", 12.5 → "12.5" (one decimal at most)."""
    return f"{value:,.1f}".rstrip("0").rstrip(".")


def confirm(
    session: Session,
    subject: Subject,
    record: Order | Deal,
    spec: WorkSpec,
    month: date,
    quantities: Mapping[int, float],
    *,
    membership_id: int | None,
    today: date,
    link: str,
) -> Confirmation:
    """Record the coordinator's assignment of one package (replacing what was confirmed for
    it before), notify the facilities whose work changed, stamp the order's first assignment.
    Refuses quantities that break a hard constraint or a facility's free capacity."""
    quantities = {fid: q for fid, q in quantities.items() if q > EPS}
    if not quantities:
        raise MatchingError(N_("Choose at least one facility with a quantity."))
    if any(not math.isfinite(q) for q in quantities.values()):
        raise MatchingError(N_("Quantities must be zero or more."))
    total = sum(quantities.values())
    if total > spec.quantity + EPS:
        raise MatchingError(
            N_("The quantities add up to %(total)s, more than the work's %(quantity)s."),
            total=format_quantity(total),
            quantity=format_quantity(spec.quantity),
        )
    proposal = propose(session, subject, record, spec, month, locked=quantities)
    known = proposal.facilities.records
    unknown = [fid for fid in quantities if fid not in known]
    if unknown:
        raise MatchingError(N_("A chosen facility does not exist or has left the program."))
    for warning in proposal.plan.lock_warnings:
        name = known[warning.facility_id].name
        if warning.reason is not None:
            raise MatchingError(
                N_("%(facility)s cannot take this work: %(reason)s."),
                facility=name,
                reason=str(warning.reason),
            )
        if warning.over_hours > EPS:
            raise MatchingError(
                N_("%(facility)s has only %(free)s h free in this month."),
                facility=name,
                free=format_quantity(_free_hours(proposal, warning.facility_id)),
            )
    return _record(session, proposal, quantities, membership_id, today, link)


def _free_hours(proposal: Proposal, facility_id: int) -> float:
    key = proposal.info.package.month
    for f in proposal.facilities.engine:
        if f.id == facility_id:
            return f.free_hours.get(key, 0.0)
    return 0.0


def _score_json(allocation: engine.Allocation | None) -> dict[str, Any]:
    if allocation is None:
        return {}
    s = allocation.score
    return {
        "distance": round(s.distance, 4),
        "quality": round(s.quality, 4),
        "wage_uplift": round(s.wage_uplift, 4),
        "idle_bonus": round(s.idle_bonus, 4),
        "concentration": round(s.concentration, 4),
        "total": round(s.total, 4),
        "distance_km": None if allocation.distance_km is None else round(allocation.distance_km, 1),
        "quality_used": round(allocation.quality, 3),
        "avg_monthly_wage": allocation.avg_monthly_wage,
        "first_work": allocation.first_work,
    }


def _record(
    session: Session,
    proposal: Proposal,
    quantities: Mapping[int, float],
    membership_id: int | None,
    today: date,
    link: str,
) -> Confirmation:
    info = proposal.info
    subject = info.subject
    by_facility = {a.facility_id: a for a in proposal.plan.allocations}
    before = {a.facility_id: a.quantity for a in proposal.confirmed}
    for old in proposal.confirmed:
        session.delete(old)
    session.flush()
    now = datetime.now().astimezone()
    created = []
    for facility_id, quantity in sorted(quantities.items()):
        assignment = Assignment(
            order_id=subject.id if subject.kind == "order" else None,
            deal_id=subject.id if subject.kind == "deal" else None,
            facility_id=facility_id,
            month=info.month,
            quantity=round(quantity, 3),
            hours=round(quantity * info.spec.hours_per_unit, 3),
            locked=True,
            score=_score_json(by_facility.get(facility_id)),
            confirmed_at=now,
            confirmed_by_id=membership_id,
        )
        session.add(assignment)
        created.append(assignment)
    session.flush()
    changed = {
        fid
        for fid in set(before) | set(quantities)
        if abs(before.get(fid, 0.0) - quantities.get(fid, 0.0)) > EPS
    }
    notified = [
        _notify(session, proposal, fid, quantities.get(fid, 0.0), link) for fid in sorted(changed)
    ]
    if info.order is not None and info.order.assigned_on is None:
        info.order.assigned_on = today
    summary = "、".join(
        f"{proposal.facilities.records[fid].name} {format_quantity(q)}{info.unit_label}"
        for fid, q in sorted(quantities.items())
    )
    # Internal: which facilities do the work, and how much, is not the buyer's to read.
    timeline.add_entry(
        session,
        body=f"{month_key(info.month)} 割当確定: {summary}",
        kind=EntryKind.DECISION,
        internal=True,
        order_id=subject.id if subject.kind == "order" else None,
        deal_id=subject.id if subject.kind == "deal" else None,
    )
    session.flush()
    return Confirmation(created, notified)


def _notify(
    session: Session, proposal: Proposal, facility_id: int, quantity: float, link: str
) -> Notification:
    info = proposal.info
    facility = proposal.facilities.records[facility_id]
    month = f"{info.month.year}年{info.month.month}月"
    unit = "時間" if info.spec.unit is WorkUnit.HOURS else "個"
    if quantity > 0:
        title = f"作業の割当: {info.title}（{month}）"
        body = (
            f"{facility.name} 様\n\n{info.buyer.name} の「{info.title}」について、"
            f"{month}分 {format_quantity(quantity)}{unit} をお願いすることになりました。\n"
            "詳しくは担当コーディネーターからご連絡します。"
        )
    else:
        title = f"割当の取消: {info.title}（{month}）"
        body = (
            f"{facility.name} 様\n\n{info.buyer.name} の「{info.title}」{month}分の"
            "割当はなくなりました。"
        )
    note = Notification(
        facility_id=facility_id,
        kind="assignment",
        title=title,
        body=body,
        link=link,
        emailed_to=facility.contact_email or "",
    )
    session.add(note)
    return note


# --- assignments shown on other pages --------------------------------------------------------


@dataclass(frozen=True)
class AssignmentRow:
    assignment: Assignment
    facility_name: str
    unit: str  # "h" or "pcs"


def assignment_rows(
    session: Session,
    *,
    order_id: int | None = None,
    deal_id: int | None = None,
    facility_id: int | None = None,
    limit: int = 36,
) -> list[AssignmentRow]:
    """The latest confirmed assignments of an order, a deal or a facility (one query)."""
    spec_of_work = or_(
        and_(Assignment.order_id.is_not(None), WorkSpec.order_id == Assignment.order_id),
        and_(Assignment.deal_id.is_not(None), WorkSpec.deal_id == Assignment.deal_id),
    )
    query = (
        select(Assignment, Facility.name, WorkSpec.unit)
        .join(Facility, Facility.id == Assignment.facility_id)
        .outerjoin(WorkSpec, spec_of_work)
        .order_by(Assignment.month.desc(), Facility.name)
        .limit(limit)
    )
    if order_id is not None:
        query = query.where(Assignment.order_id == order_id)
    if deal_id is not None:
        query = query.where(Assignment.deal_id == deal_id)
    if facility_id is not None:
        query = query.where(Assignment.facility_id == facility_id)
    return [
        AssignmentRow(a, name, "pcs" if unit is WorkUnit.PIECES else "h")
        for a, name, unit in session.execute(query)
    ]
