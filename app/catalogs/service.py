"""Catalogue rules: defaults for a new workspace, unique names, archiving and ordering.

No Flask here: the session must already be bound to the workspace (``tenant_scope`` or a
workspace request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalogs.models import (
    DEFAULT_CAPABILITIES,
    DEFAULT_DIFFICULTY,
    DEFAULT_LOST_REASONS,
    Capability,
    DifficultyLevel,
    LostReason,
    PlanGoal,
)
from app.db import utcnow
from app.facilities.models import FacilityCapability

Direction = Literal["up", "down"]
Ordered = Capability | LostReason


class Duplicate(Exception):
    """A name (or code, or level) that the workspace already uses; ``field`` is where to say so."""

    def __init__(self, field: str, message: Any) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


# --- defaults ------------------------------------------------------------------------------


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def seed_defaults(session: Session) -> dict[str, int]:
    """Give a workspace the default processes, difficulty scale and lost reasons.

    Each catalogue is filled only when the workspace has none of it (archived rows count), so
    running it again, or after the workspace edited its catalogues, changes nothing. Returns
    how many rows were created per table. Flushes; the caller commits.
    """
    created = {"capabilities": 0, "difficulty_levels": 0, "lost_reasons": 0}
    if _count(session, Capability) == 0:
        session.add_all(
            Capability(name=name, sort_order=n) for n, name in enumerate(DEFAULT_CAPABILITIES, 1)
        )
        created["capabilities"] = len(DEFAULT_CAPABILITIES)
    if _count(session, DifficultyLevel) == 0:
        session.add_all(
            DifficultyLevel(level=level, name=name, definition=definition)
            for level, name, definition in DEFAULT_DIFFICULTY
        )
        created["difficulty_levels"] = len(DEFAULT_DIFFICULTY)
    if _count(session, LostReason) == 0:
        session.add_all(
            LostReason(label=label, sort_order=n) for n, label in enumerate(DEFAULT_LOST_REASONS, 1)
        )
        created["lost_reasons"] = len(DEFAULT_LOST_REASONS)
    session.flush()
    return created


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogues:
    capabilities: list[Capability]
    facility_counts: dict[int, int]  # capability id -> facilities that have it
    levels: list[DifficultyLevel]
    goals: list[PlanGoal]
    lost_reasons: list[LostReason]


def load_catalogues(session: Session) -> Catalogues:
    """Everything the catalogue page shows, archived rows included: five statements."""
    counts = session.execute(
        select(FacilityCapability.capability_id, func.count()).group_by(
            FacilityCapability.capability_id
        )
    ).all()
    return Catalogues(
        capabilities=list(
            session.scalars(select(Capability).order_by(Capability.sort_order, Capability.id))
        ),
        facility_counts={capability_id: int(n) for capability_id, n in counts},
        levels=difficulty_scale(session),
        goals=list(session.scalars(select(PlanGoal).order_by(PlanGoal.code, PlanGoal.id))),
        lost_reasons=list(
            session.scalars(select(LostReason).order_by(LostReason.sort_order, LostReason.id))
        ),
    )


def difficulty_scale(session: Session) -> list[DifficultyLevel]:
    return list(session.scalars(select(DifficultyLevel).order_by(DifficultyLevel.level)))


def active_capabilities(session: Session) -> list[Capability]:
    return list(
        session.scalars(
            select(Capability)
            .where(Capability.archived_at.is_(None))
            .order_by(Capability.sort_order, Capability.id)
        )
    )


# --- uniqueness ----------------------------------------------------------------------------


def _taken(session: Session, column: Any, value: Any, model: type[Any], exclude: int | None) -> Any:
    query = select(model).where(column == value)
    if exclude is not None:
        query = query.where(model.id != exclude)
    return session.scalars(query.limit(1)).first()


def _check_unique(
    session: Session,
    model: type[Any],
    column: Any,
    value: Any,
    field: str,
    message: Any,
    exclude: int | None = None,
) -> None:
    existing = _taken(session, column, value, model, exclude)
    if existing is None:
        return
    if getattr(existing, "archived_at", None) is not None:
        raise Duplicate(field, _l("An archived entry already uses this. Restore it instead."))
    raise Duplicate(field, message)


# --- capabilities --------------------------------------------------------------------------


def _next_order(session: Session, model: type[Ordered]) -> int:
    return int(session.scalar(select(func.max(model.sort_order))) or 0) + 1


def add_capability(session: Session, *, name: str, description: str = "") -> Capability:
    _check_unique(
        session,
        Capability,
        Capability.name,
        name,
        "name",
        _l("This workspace already has a capability with this name."),
    )
    capability = Capability(
        name=name, description=description, sort_order=_next_order(session, Capability)
    )
    session.add(capability)
    session.flush()
    return capability


def update_capability(
    session: Session, capability: Capability, *, name: str, description: str
) -> None:
    _check_unique(
        session,
        Capability,
        Capability.name,
        name,
        "name",
        _l("This workspace already has a capability with this name."),
        exclude=capability.id,
    )
    capability.name = name
    capability.description = description
    session.flush()


# --- difficulty scale ----------------------------------------------------------------------


def add_level(session: Session, *, level: int, name: str, definition: str) -> DifficultyLevel:
    if not 1 <= level <= 10:
        raise ValueError("difficulty levels run from 1 to 10")
    _check_unique(
        session,
        DifficultyLevel,
        DifficultyLevel.level,
        level,
        "level",
        _l("This level is already defined. Edit it instead."),
    )
    row = DifficultyLevel(level=level, name=name, definition=definition)
    session.add(row)
    session.flush()
    return row


def update_level(row: DifficultyLevel, *, name: str, definition: str) -> None:
    """The number of a level never changes: facilities and deals refer to it."""
    row.name = name
    row.definition = definition


# --- comprehensive-plan goals --------------------------------------------------------------


def add_goal(session: Session, *, code: str, title: str) -> PlanGoal:
    _check_unique(
        session,
        PlanGoal,
        PlanGoal.code,
        code,
        "code",
        _l("This workspace already has a goal with this code."),
    )
    goal = PlanGoal(code=code, title=title)
    session.add(goal)
    session.flush()
    return goal


def update_goal(session: Session, goal: PlanGoal, *, code: str, title: str) -> None:
    _check_unique(
        session,
        PlanGoal,
        PlanGoal.code,
        code,
        "code",
        _l("This workspace already has a goal with this code."),
        exclude=goal.id,
    )
    goal.code = code
    goal.title = title
    session.flush()


# --- lost reasons --------------------------------------------------------------------------


def add_lost_reason(session: Session, *, label: str) -> LostReason:
    _check_unique(
        session,
        LostReason,
        LostReason.label,
        label,
        "label",
        _l("This workspace already has this lost reason."),
    )
    reason = LostReason(label=label, sort_order=_next_order(session, LostReason))
    session.add(reason)
    session.flush()
    return reason


def update_lost_reason(session: Session, reason: LostReason, *, label: str) -> None:
    _check_unique(
        session,
        LostReason,
        LostReason.label,
        label,
        "label",
        _l("This workspace already has this lost reason."),
        exclude=reason.id,
    )
    reason.label = label
    session.flush()


# --- archive, restore, order ---------------------------------------------------------------


def archive(row: Capability | PlanGoal | LostReason) -> None:
    if row.archived_at is None:
        row.archived_at = utcnow()


def restore(row: Capability | PlanGoal | LostReason) -> None:
    row.archived_at = None


def move(session: Session, row: Ordered, direction: Direction) -> None:
    """Swap a row with its visible (not archived) neighbour, then number the list 1..n.

    Numbering afresh keeps the order well defined even after rows were created with the same
    ``sort_order``; only rows whose number changes are written.
    """
    model: type[Ordered] = type(row)
    rows: list[Ordered] = list(session.scalars(select(model).order_by(model.sort_order, model.id)))
    index = rows.index(row)
    step = -1 if direction == "up" else 1
    other = index + step
    while 0 <= other < len(rows) and rows[other].archived_at is not None:
        other += step
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]
    for number, item in enumerate(rows, 1):
        if item.sort_order != number:
            item.sort_order = number
