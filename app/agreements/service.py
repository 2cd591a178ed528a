"""Agreement rules: renewal reminders, vagueness, terms, goals, the action plan, the list.

The rules at the top are pure functions of plain values (no Flask, no session) so they can be
tested on their own; the functions below them read and write through the session they are
given. No Flask request or ``g`` here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from app.agreements.models import (
    ActionItem,
    ActionStatus,
    Agreement,
    AgreementGoal,
    AgreementKind,
)
from app.buyers.models import Buyer
from app.catalogs.models import PlanGoal
from app.orders.models import Order
from app.web.listing import ListParams, text_search

SORTABLE = ("renewal", "title")
FILTERS = ("buyer_id", "kind", "due", "show")
# The seed report: secure at least six months of continuation at order time.
MIN_COMMITMENT_MONTHS = 6
MAX_DUE_DAYS = 3650
ORDERS_LIMIT = 50


class RuleBroken(Exception):
    """A request that the rules refuse; the message is for the user."""


# --- pure rules ------------------------------------------------------------------------------


class RenewalState(enum.StrEnum):
    UPCOMING = "upcoming"  # inside the reminder window, renewal date not passed
    OVERDUE = "overdue"  # the renewal date has passed and nobody moved it


def reminder_starts_on(renewal_on: date | None, remind_days: int) -> date | None:
    """The first day the renewal reminder shows."""
    if renewal_on is None:
        return None
    return renewal_on - timedelta(days=max(0, remind_days))


def renewal_state(
    renewal_on: date | None, remind_days: int, today: date, archived: bool = False
) -> RenewalState | None:
    """The reminder shows when today ≥ renewal date − reminder days (archived: never)."""
    starts = reminder_starts_on(renewal_on, remind_days)
    if archived or renewal_on is None or starts is None or today < starts:
        return None
    return RenewalState.OVERDUE if today > renewal_on else RenewalState.UPCOMING


def days_until(day: date | None, today: date) -> int | None:
    return None if day is None else (day - today).days


def is_vague(action_item_count: int, has_scope_terms: bool) -> bool:
    """The seed report's failure mode: no action plan and no stated service scope."""
    return action_item_count == 0 and not has_scope_terms


def short_commitment(minimum_commitment_months: int | None) -> bool:
    """A stated minimum commitment below the six months the seed report advises."""
    return (
        minimum_commitment_months is not None and minimum_commitment_months < MIN_COMMITMENT_MONTHS
    )


def term_problems(
    starts_on: date | None, ends_on: date | None, renewal_on: date | None
) -> dict[str, Any]:
    """Field name → message for dates that contradict each other."""
    problems: dict[str, Any] = {}
    if starts_on and ends_on and ends_on < starts_on:
        # Fix the term first: any renewal date would contradict a reversed term.
        problems["ends_on"] = _l("The end date must be on or after the start date.")
    elif renewal_on and starts_on and renewal_on < starts_on:
        problems["renewal_on"] = _l("The renewal date must be on or after the start date.")
    elif renewal_on and ends_on and renewal_on > ends_on:
        problems["renewal_on"] = _l("The renewal date must be on or before the end date.")
    return problems


def progress_for(status: ActionStatus, progress: int | None) -> int:
    """A done item is at 100%; no figure means 0%."""
    if status == ActionStatus.DONE:
        return 100
    return 0 if progress is None else progress


def action_overdue(due_on: date | None, status: ActionStatus, today: date) -> bool:
    return due_on is not None and due_on < today and status != ActionStatus.DONE


@dataclass(frozen=True)
class PlanSummary:
    total: int
    done: int
    overdue: int
    average_progress: int | None


def plan_summary(
    items: Iterable[tuple[ActionStatus, int, date | None]], today: date
) -> PlanSummary:
    """(status, progress, due date) of each item → counts and the average progress."""
    rows = list(items)
    done = sum(1 for status, _progress, _due in rows if status == ActionStatus.DONE)
    overdue = sum(1 for status, _progress, due in rows if action_overdue(due, status, today))
    average = round(sum(progress for _s, progress, _d in rows) / len(rows)) if rows else None
    return PlanSummary(total=len(rows), done=done, overdue=overdue, average_progress=average)


# --- the list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRow:
    agreement: Agreement
    buyer_name: str
    action_count: int
    renewal: RenewalState | None
    vague: bool


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def due_days(params: ListParams) -> int | None:
    """The "renewal due within N days" filter, bounded; None when absent or invalid."""
    days = _int_or_none(params.filters.get("due"))
    if days is None or days < 0:
        return None
    return min(days, MAX_DUE_DAYS)


def list_query(params: ListParams, today: date) -> Select[Any]:
    """Rows of (Agreement, buyer name, number of action items): one statement per page."""
    action_count = (
        select(func.count(ActionItem.id))
        .where(
            ActionItem.tenant_id == Agreement.tenant_id,
            ActionItem.agreement_id == Agreement.id,
        )
        .correlate(Agreement)
        .scalar_subquery()
    )
    statement = select(
        Agreement, Buyer.name.label("buyer_name"), action_count.label("action_count")
    ).join(Buyer, and_(Buyer.tenant_id == Agreement.tenant_id, Buyer.id == Agreement.buyer_id))
    show = params.filters.get("show", "")
    if show == "archived":
        statement = statement.where(Agreement.archived_at.is_not(None))
    elif show != "all":
        statement = statement.where(Agreement.archived_at.is_(None))
    if (buyer_id := _int_or_none(params.filters.get("buyer_id"))) is not None:
        statement = statement.where(Agreement.buyer_id == buyer_id)
    kind = params.filters.get("kind", "")
    if kind in {k.value for k in AgreementKind}:
        statement = statement.where(Agreement.kind == AgreementKind(kind))
    if (days := due_days(params)) is not None:
        # Passed renewal dates count as due: nobody has moved them yet.
        statement = statement.where(
            Agreement.renewal_on.is_not(None), Agreement.renewal_on <= today + timedelta(days)
        )
    condition = text_search(params.q, Agreement.title, Buyer.name, Buyer.name_kana)
    if condition is not None:
        statement = statement.where(condition)
    if params.sort == "title":
        order: list[Any] = [Agreement.title.desc() if params.descending else Agreement.title]
    else:
        renewal = Agreement.renewal_on.desc() if params.descending else Agreement.renewal_on
        order = [Agreement.renewal_on.is_(None), renewal, Agreement.title]
    return statement.order_by(*order, Agreement.id)


def list_rows(rows: Sequence[Any], today: date) -> list[ListRow]:
    result = []
    for agreement, buyer_name, action_count in rows:
        result.append(
            ListRow(
                agreement=agreement,
                buyer_name=buyer_name,
                action_count=int(action_count or 0),
                renewal=renewal_state(
                    agreement.renewal_on,
                    agreement.remind_days_before_renewal,
                    today,
                    agreement.archived,
                ),
                vague=is_vague(int(action_count or 0), agreement.has_scope_terms),
            )
        )
    return result


def buyer_options(session: Session) -> list[tuple[int, str, bool]]:
    """(id, name, archived) of every buyer, for the list's filter."""
    rows = session.execute(
        select(Buyer.id, Buyer.name, Buyer.archived_at).order_by(
            func.coalesce(func.nullif(Buyer.name_kana, ""), Buyer.name), Buyer.id
        )
    ).all()
    return [(row.id, row.name, row.archived_at is not None) for row in rows]


# --- goals of the comprehensive plan ---------------------------------------------------------


def goal_ids_of(session: Session, agreement_id: int) -> list[int]:
    return list(
        session.scalars(
            select(AgreementGoal.goal_id)
            .where(AgreementGoal.agreement_id == agreement_id)
            .order_by(AgreementGoal.goal_id)
        )
    )


def goal_choices(session: Session, keep_ids: Iterable[int] = ()) -> list[tuple[int, str]]:
    """Active goals, plus the archived ones the agreement already links to."""
    keep = list(keep_ids)
    condition: ColumnElement[bool] = PlanGoal.archived_at.is_(None)
    if keep:
        condition = or_(condition, PlanGoal.id.in_(keep))
    goals = session.scalars(select(PlanGoal).where(condition).order_by(PlanGoal.code))
    return [(goal.id, f"{goal.code} {goal.title}") for goal in goals]


def linked_goals(session: Session, agreement_id: int) -> list[PlanGoal]:
    return list(
        session.scalars(
            select(PlanGoal)
            .join(
                AgreementGoal,
                and_(
                    AgreementGoal.tenant_id == PlanGoal.tenant_id,
                    AgreementGoal.goal_id == PlanGoal.id,
                ),
            )
            .where(AgreementGoal.agreement_id == agreement_id)
            .order_by(PlanGoal.code)
        )
    )


def set_goals(session: Session, agreement_id: int, goal_ids: Iterable[int]) -> None:
    """Link exactly these goals. An unlinked goal's link row goes (the audit log keeps it)."""
    wanted = set(goal_ids)
    links = session.scalars(
        select(AgreementGoal).where(AgreementGoal.agreement_id == agreement_id)
    ).all()
    current = {link.goal_id for link in links}
    for link in links:
        if link.goal_id not in wanted:
            session.delete(link)
    for goal_id in sorted(wanted - current):
        session.add(AgreementGoal(agreement_id=agreement_id, goal_id=goal_id))


# --- agreements ------------------------------------------------------------------------------

COLUMNS = (
    "buyer_id",
    "title",
    "kind",
    "fields_of_collaboration",
    "signed_on",
    "starts_on",
    "ends_on",
    "renewal_on",
    "remind_days_before_renewal",
    "price_review_at_renewal",
    "remote_support_first",
    "free_onsite_visits_per_year",
    "onsite_rate_yen",
    "response_time_hours",
    "onsite_support_included",
    "support_scope_notes",
    "inspection_level",
    "acceptance_criteria",
    "minimum_commitment_months",
    "forecast_deadline_day",
    "notes",
)


def _check_values(values: dict[str, Any]) -> None:
    problems = term_problems(
        values.get("starts_on"), values.get("ends_on"), values.get("renewal_on")
    )
    if problems:
        raise RuleBroken(str(next(iter(problems.values()))))
    for name in ("free_onsite_visits_per_year", "onsite_rate_yen", "response_time_hours"):
        if values.get(name) is not None and values[name] < 0:
            raise RuleBroken(_("Amounts and counts cannot be negative."))
    day = values.get("forecast_deadline_day")
    if day is not None and not 1 <= day <= 28:
        raise RuleBroken(_("The forecast deadline is a day from 1 to 28."))


def _active_buyer(session: Session, buyer_id: int) -> None:
    archived_at = session.execute(
        select(Buyer.archived_at).where(Buyer.id == buyer_id)
    ).one_or_none()
    if archived_at is None or archived_at[0] is not None:
        raise RuleBroken(_("Choose an active buyer."))


def create_agreement(
    session: Session, values: dict[str, Any], goal_ids: Iterable[int] = ()
) -> Agreement:
    _check_values(values)
    _active_buyer(session, values["buyer_id"])
    agreement = Agreement(**{name: values[name] for name in COLUMNS if name in values})
    session.add(agreement)
    session.flush()
    set_goals(session, agreement.id, goal_ids)
    session.flush()
    return agreement


def update_agreement(
    session: Session, agreement: Agreement, values: dict[str, Any], goal_ids: Iterable[int]
) -> None:
    if agreement.archived:
        raise RuleBroken(_("This record is archived. Restore it before editing."))
    _check_values(values)
    if values.get("buyer_id", agreement.buyer_id) != agreement.buyer_id:
        _active_buyer(session, values["buyer_id"])
    for name in COLUMNS:
        if name in values and getattr(agreement, name) != values[name]:
            setattr(agreement, name, values[name])
    set_goals(session, agreement.id, goal_ids)
    session.flush()


def archive(agreement: Agreement, now: datetime) -> bool:
    if agreement.archived_at is not None:
        return False
    agreement.archived_at = now
    return True


def restore(agreement: Agreement) -> bool:
    if agreement.archived_at is None:
        return False
    agreement.archived_at = None
    return True


def orders_under(session: Session, agreement_id: int, limit: int = ORDERS_LIMIT) -> list[Order]:
    return list(
        session.scalars(
            select(Order)
            .where(Order.agreement_id == agreement_id)
            .order_by(Order.confirmed_on.desc(), Order.id.desc())
            .limit(limit)
        )
    )


# --- the action plan -------------------------------------------------------------------------


def action_items(session: Session, agreement_id: int) -> list[ActionItem]:
    return list(
        session.scalars(
            select(ActionItem)
            .where(ActionItem.agreement_id == agreement_id)
            .order_by(ActionItem.due_on.is_(None), ActionItem.due_on, ActionItem.id)
        )
    )


ITEM_COLUMNS = ("title", "owner", "due_on", "status", "kpi")


def add_action_item(session: Session, agreement: Agreement, values: dict[str, Any]) -> ActionItem:
    if agreement.archived:
        raise RuleBroken(_("This agreement is archived. Restore it before changing its plan."))
    status = ActionStatus(values.get("status", ActionStatus.PLANNED))
    fields = {name: values[name] for name in ITEM_COLUMNS if name in values}
    fields["status"] = status
    item = ActionItem(
        agreement_id=agreement.id, progress=progress_for(status, values.get("progress")), **fields
    )
    session.add(item)
    session.flush()
    return item


def update_action_item(agreement: Agreement, item: ActionItem, values: dict[str, Any]) -> None:
    if agreement.archived:
        raise RuleBroken(_("This agreement is archived. Restore it before changing its plan."))
    for name in ITEM_COLUMNS:
        if name in values and getattr(item, name) != values[name]:
            setattr(item, name, values[name])
    progress = progress_for(item.status, values.get("progress", item.progress))
    if item.progress != progress:
        item.progress = progress
