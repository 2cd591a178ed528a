"""Facility rules: the list query, profiles, capabilities with proficiency, wage history.

No Flask here: values come in as arguments, the session is bound to the workspace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from app.catalogs.models import Capability, DifficultyLevel
from app.db import utcnow
from app.facilities.models import (
    Facility,
    FacilityCapability,
    FacilityKind,
    FacilityStatus,
    FacilityWage,
)
from app.jp import fiscal_year_of
from app.reports import drill
from app.web.listing import ListParams, text_search

PROFICIENCY_LEVELS = (1, 2, 3)

# What a list may be sorted by: parameter -> column.
SORTABLE = {
    "name": Facility.name,
    "kind": Facility.kind,
    "workers": Facility.workers,
    "hours_per_month": Facility.hours_per_month,
    "avg_monthly_wage": Facility.avg_monthly_wage,
    "participating_since": Facility.participating_since,
}
FILTERS = ("kind", "status", "capability", "pc_experience", "archived", *drill.FACILITY_FILTERS)


class RuleBroken(Exception):
    """A request the rules refuse; ``field`` names the form field the message belongs to."""

    def __init__(self, field: str, message: Any) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


# --- the list ------------------------------------------------------------------------------


def list_query(params: ListParams) -> Select[Any]:
    """Facilities matching the search and filters, in the asked order (ties by id)."""
    query = select(Facility)
    filters = params.filters
    archived = filters.get("archived", "")
    if archived == "only":
        query = query.where(Facility.archived_at.is_not(None))
    elif archived != "all":
        query = query.where(Facility.archived_at.is_(None))
    condition = text_search(params.q, Facility.name, Facility.municipality, Facility.address)
    if condition is not None:
        query = query.where(condition)
    if filters.get("kind") in FacilityKind._value2member_map_:
        query = query.where(Facility.kind == FacilityKind(filters["kind"]))
    if filters.get("status") in FacilityStatus._value2member_map_:
        query = query.where(Facility.status == FacilityStatus(filters["status"]))
    if filters.get("pc_experience") in ("yes", "no"):
        query = query.where(Facility.pc_experience.is_(filters["pc_experience"] == "yes"))
    capability = filters.get("capability", "")
    if capability.isdigit():
        query = query.where(
            exists().where(
                FacilityCapability.facility_id == Facility.id,
                FacilityCapability.tenant_id == Facility.tenant_id,
                FacilityCapability.capability_id == int(capability),
            )
        )
    query = query.where(*drill.facility_conditions(filters))
    column = SORTABLE.get(params.sort, Facility.name)
    ordered = column.desc() if params.descending else column.asc()
    return query.order_by(ordered.nulls_last(), Facility.id)


@dataclass(frozen=True)
class HeldCapability:
    capability: Capability
    proficiency: int


def capabilities_of(
    session: Session, facility_ids: Iterable[int]
) -> dict[int, list[HeldCapability]]:
    """Capabilities of many facilities in one statement, in the catalogue's order."""
    ids = list(facility_ids)
    held: dict[int, list[HeldCapability]] = defaultdict(list)
    if not ids:
        return held
    rows = session.execute(
        select(FacilityCapability.facility_id, FacilityCapability.proficiency, Capability)
        .join(
            Capability,
            (Capability.id == FacilityCapability.capability_id)
            & (Capability.tenant_id == FacilityCapability.tenant_id),
        )
        .where(FacilityCapability.facility_id.in_(ids))
        .order_by(Capability.sort_order, Capability.id)
    ).all()
    for facility_id, proficiency, capability in rows:
        held[facility_id].append(HeldCapability(capability, proficiency))
    return held


# --- profile -------------------------------------------------------------------------------

PROFILE_FIELDS = (
    "name", "kind", "status", "postal_code", "prefecture_code", "municipality", "address",
    "latitude", "longitude", "contact_name", "contact_phone", "contact_email", "equipment",
    "certifications", "max_difficulty", "workers", "hours_per_month", "pc_experience",
    "participating_since", "notes",
)  # fmt: skip


def difficulty_level(session: Session, level: int | None) -> DifficultyLevel | None:
    if level is None:
        return None
    return session.scalars(select(DifficultyLevel).where(DifficultyLevel.level == level)).first()


def _check_profile(session: Session, values: dict[str, Any]) -> None:
    latitude, longitude = values.get("latitude"), values.get("longitude")
    if (latitude is None) != (longitude is None):
        missing = "longitude" if longitude is None else "latitude"
        raise RuleBroken(missing, _l("Enter both latitude and longitude, or neither."))
    if latitude is not None and not -90 <= latitude <= 90:
        raise RuleBroken("latitude", _l("Enter a number from %(min)s to %(max)s.", min=-90, max=90))
    if longitude is not None and not -180 <= longitude <= 180:
        raise RuleBroken(
            "longitude", _l("Enter a number from %(min)s to %(max)s.", min=-180, max=180)
        )
    for name in ("workers", "hours_per_month"):
        if (values.get(name) or 0) < 0:
            raise RuleBroken(name, _l("Enter zero or more."))
    level = values.get("max_difficulty")
    if level is not None and difficulty_level(session, level) is None:
        raise RuleBroken(
            "max_difficulty", _l("Choose a level of this workspace's difficulty scale.")
        )


NULLABLE_FIELDS = frozenset({"latitude", "longitude", "max_difficulty", "participating_since"})


def _stored(name: str, value: Any) -> Any:
    """A form value as the column keeps it (blank text is "", blank counts are 0)."""
    if name == "kind":
        return FacilityKind(value)
    if name == "status":
        return FacilityStatus(value)
    if name in ("workers", "hours_per_month"):
        return value or 0
    if name == "pc_experience":
        return bool(value)
    if value is None and name not in NULLABLE_FIELDS:
        return ""
    return value


def _apply(facility: Facility, values: dict[str, Any]) -> None:
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"not profile fields: {sorted(unknown)}")
    for name, value in values.items():
        setattr(facility, name, _stored(name, value))


def create_facility(session: Session, **values: Any) -> Facility:
    _check_profile(session, values)
    facility = Facility()
    _apply(facility, values)
    session.add(facility)
    session.flush()
    return facility


def update_facility(session: Session, facility: Facility, **values: Any) -> None:
    _check_profile(session, values)
    _apply(facility, values)
    session.flush()


def archive(facility: Facility) -> None:
    if facility.archived_at is None:
        facility.archived_at = utcnow()


def restore(facility: Facility) -> None:
    facility.archived_at = None


# --- capabilities --------------------------------------------------------------------------


def set_capability(
    session: Session, facility: Facility, capability_id: int, proficiency: int
) -> FacilityCapability:
    """Give the facility a capability, or change its proficiency if it has it already."""
    if proficiency not in PROFICIENCY_LEVELS:
        raise RuleBroken("proficiency", _l("Choose a proficiency from 1 to 3."))
    capability = session.get(Capability, (facility.tenant_id, capability_id))
    if capability is None:
        raise RuleBroken("capability_id", _l("Choose a process of this workspace."))
    held = _held(session, facility, capability_id)
    if held is None:
        if capability.archived_at is not None:
            raise RuleBroken(
                "capability_id", _l("This process is archived. Restore it in the catalogues first.")
            )
        held = FacilityCapability(
            facility_id=facility.id, capability_id=capability_id, proficiency=proficiency
        )
        session.add(held)
    else:
        held.proficiency = proficiency
    session.flush()
    return held


def _held(session: Session, facility: Facility, capability_id: int) -> FacilityCapability | None:
    return session.scalars(
        select(FacilityCapability).where(
            FacilityCapability.facility_id == facility.id,
            FacilityCapability.capability_id == capability_id,
        )
    ).first()


def remove_capability(session: Session, facility: Facility, capability_id: int) -> bool:
    """Take a capability off the facility (the audit log keeps the removed link)."""
    held = _held(session, facility, capability_id)
    if held is None:
        return False
    session.delete(held)
    session.flush()
    return True


# --- wages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WageYear:
    fiscal_year: int
    avg_monthly_wage: int
    workers: int | None
    change: int | None  # against the previous fiscal year on record, if it is the year before


def wage_history(session: Session, facility_id: int) -> list[WageYear]:
    """Newest fiscal year first, each with its change from the year before."""
    rows = list(
        session.scalars(
            select(FacilityWage)
            .where(FacilityWage.facility_id == facility_id)
            .order_by(FacilityWage.fiscal_year)
        )
    )
    history: list[WageYear] = []
    previous: FacilityWage | None = None
    for row in rows:
        change = None
        if previous is not None and previous.fiscal_year == row.fiscal_year - 1:
            change = row.avg_monthly_wage - previous.avg_monthly_wage
        history.append(WageYear(row.fiscal_year, row.avg_monthly_wage, row.workers, change))
        previous = row
    return history[::-1]


def save_wage(
    session: Session,
    facility: Facility,
    *,
    fiscal_year: int,
    avg_monthly_wage: int,
    workers: int | None = None,
) -> FacilityWage:
    """Record (or correct) a fiscal year's average monthly wage. The facility's current wage
    follows its latest fiscal year on record."""
    if avg_monthly_wage < 0:
        raise RuleBroken("avg_monthly_wage", _l("Enter zero or more."))
    if workers is not None and workers < 0:
        raise RuleBroken("workers", _l("Enter zero or more."))
    wage = session.scalars(
        select(FacilityWage).where(
            FacilityWage.facility_id == facility.id, FacilityWage.fiscal_year == fiscal_year
        )
    ).first()
    if wage is None:
        wage = FacilityWage(facility_id=facility.id, fiscal_year=fiscal_year)
        session.add(wage)
    wage.avg_monthly_wage = avg_monthly_wage
    wage.workers = workers
    session.flush()
    latest = session.scalar(
        select(func.max(FacilityWage.fiscal_year)).where(FacilityWage.facility_id == facility.id)
    )
    if latest == fiscal_year:
        facility.avg_monthly_wage = avg_monthly_wage
    session.flush()
    return wage


def fiscal_year_choices(today: date, back: int = 15) -> list[int]:
    """Fiscal years a wage can be recorded for: next year down to ``back`` years ago."""
    current = fiscal_year_of(today)
    return list(range(current + 1, current - back - 1, -1))
