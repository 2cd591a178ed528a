"""Deal rules: amounts, stages and closing dates, the seed report's guidance, list and board
queries. No Flask request or ``g`` here: callers pass the values in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.buyers.models import Buyer
from app.catalogs.models import Capability, DifficultyLevel, LostReason
from app.deals.models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    Deal,
    DealCapability,
    DealStage,
    PricingBasis,
)
from app.jp import fiscal_year_of, fiscal_year_range, format_yen
from app.reports import drill
from app.timeline.models import EntryKind
from app.timeline.service import add_entry
from app.web.listing import text_search
from tenants.models import DEFAULT_MIN_ANNUAL_VOLUME, STAFF_ROLES, Membership, MembershipStatus

# The seed report's guidance: decline deals that cannot reach about ¥2M a year, and secure at
# least six months of continuation. A constant for now; it should become a workspace setting.
MINIMUM_ANNUAL_VOLUME = DEFAULT_MIN_ANNUAL_VOLUME  # each workspace sets its own (settings)
MINIMUM_CONTINUATION_MONTHS = 6
# Upper bounds that keep amounts inside a 32-bit integer column (and catch typos).
MAX_YEN = 2_000_000_000
MAX_MONTHS = 120
# Cards shown per board column; the rest are one click away in the filtered list.
BOARD_CARD_LIMIT = 12

PIPELINE = (
    DealStage.LEAD,
    DealStage.HEARING,
    DealStage.TRIAL,
    DealStage.QUOTE,
    DealStage.WON,
    DealStage.LOST,
)
STAGE_LABELS = {
    DealStage.LEAD: _l("Lead"),
    DealStage.HEARING: _l("Hearing"),
    DealStage.TRIAL: _l("Site visit / trial"),
    DealStage.QUOTE: _l("Quote"),
    DealStage.WON: _l("Won"),
    DealStage.LOST: _l("Lost"),
}
PRICING_LABELS = {
    PricingBasis.HOURLY: _l("Hourly rate"),
    PricingBasis.PER_PIECE: _l("Per-piece rate"),
}
# Codes of the guidance warnings and what the pages call them.
BELOW_MINIMUM = "below_minimum"
SHORT_CONTINUATION = "short_continuation"
WARNING_LABELS = {
    BELOW_MINIMUM: _l("Below the minimum volume"),
    SHORT_CONTINUATION: _l("Continuation under 6 months"),
}


class RuleBroken(Exception):
    """A request that the rules refuse; the message is for the user."""


def stage_label(stage: DealStage | str) -> str:
    return str(STAGE_LABELS.get(DealStage(stage), stage))


# --- amounts and guidance ------------------------------------------------------------------


def compute_amount(
    recurring: bool, amount: int | None, monthly_amount: int | None, expected_months: int | None
) -> int:
    """The deal amount: monthly × expected months for a recurring deal, else the amount."""
    if recurring:
        return (monthly_amount or 0) * (expected_months or 0)
    return amount or 0


def annual_volume(deal: Deal) -> int:
    """What the deal brings in a year: monthly × 12 when recurring, the amount when one-off."""
    if deal.recurring:
        return (deal.monthly_amount or 0) * 12
    return deal.amount


def deal_warnings(deal: Deal, minimum: int = MINIMUM_ANNUAL_VOLUME) -> list[str]:
    """Codes of the report's guidance the deal does not meet (see WARNING_LABELS)."""
    found = []
    if annual_volume(deal) < minimum:
        found.append(BELOW_MINIMUM)
    if deal.recurring and (deal.expected_months or 0) < MINIMUM_CONTINUATION_MONTHS:
        found.append(SHORT_CONTINUATION)
    return found


def furthest_stage(reached: DealStage | None, stage: DealStage) -> DealStage | None:
    """The furthest open stage reached once the deal is at ``stage`` (won and lost leave it
    as it was: the stage the deal was at when it closed)."""
    if stage not in OPEN_STAGES:
        return reached
    if reached is None or PIPELINE.index(stage) > PIPELINE.index(reached):
        return stage
    return reached


def previous_stage(stage: DealStage) -> DealStage | None:
    """One step back: won and lost both go back to the quote."""
    if stage in CLOSED_STAGES:
        return DealStage.QUOTE
    index = PIPELINE.index(stage)
    return PIPELINE[index - 1] if index > 0 else None


def next_stage(stage: DealStage) -> DealStage | None:
    """One step forward along the open pipeline; the quote's next step is won."""
    if stage in CLOSED_STAGES:
        return None
    return PIPELINE[PIPELINE.index(stage) + 1]


# --- writing -------------------------------------------------------------------------------


@dataclass
class DealData:
    """What a deal form carries, as plain values."""

    buyer_id: int
    title: str
    opened_on: date
    description: str = ""
    stage: DealStage = DealStage.LEAD
    recurring: bool = False
    amount: int | None = None
    monthly_amount: int | None = None
    expected_months: int | None = None
    difficulty_level: int | None = None
    capability_ids: Sequence[int] = ()
    volume: str = ""
    pricing_basis: PricingBasis | None = None
    owner_id: int | None = None
    next_action: str = ""
    next_action_on: date | None = None
    lost_reason_id: int | None = None
    lost_comment: str = ""


def _check_amounts(data: DealData) -> None:
    values = (data.amount, data.monthly_amount, data.expected_months)
    if any(value is not None and value < 0 for value in values):
        raise RuleBroken(_("Amounts cannot be negative."))
    if data.recurring and (data.monthly_amount is None or not data.expected_months):
        raise RuleBroken(_("A recurring deal needs a monthly amount and the expected months."))
    if compute_amount(data.recurring, data.amount, data.monthly_amount, data.expected_months) > (
        MAX_YEN
    ):
        raise RuleBroken(_("The amount is too large."))


def _apply(deal: Deal, data: DealData) -> None:
    _check_amounts(data)
    deal.buyer_id = data.buyer_id
    deal.title = data.title
    deal.description = data.description
    deal.opened_on = data.opened_on
    deal.recurring = data.recurring
    if data.recurring:
        deal.monthly_amount = data.monthly_amount
        deal.expected_months = data.expected_months
    else:
        deal.monthly_amount = None
        deal.expected_months = None
    deal.amount = compute_amount(
        data.recurring, data.amount, data.monthly_amount, data.expected_months
    )
    deal.difficulty_level = data.difficulty_level
    deal.volume = data.volume
    deal.pricing_basis = data.pricing_basis
    deal.owner_id = data.owner_id
    deal.next_action = data.next_action
    deal.next_action_on = data.next_action_on


def _set_stage(
    deal: Deal,
    stage: DealStage,
    today: date,
    lost_reason_id: int | None,
    lost_comment: str,
) -> None:
    """The stage with its consequences: closing date, and the lost reason only while lost."""
    if stage == DealStage.LOST and lost_reason_id is None:
        raise RuleBroken(_("Choose why the deal was lost."))
    if stage in CLOSED_STAGES:
        if deal.stage != stage or deal.closed_on is None:
            deal.closed_on = today
    else:
        deal.closed_on = None
    if stage == DealStage.LOST:
        deal.lost_reason_id = lost_reason_id
        deal.lost_comment = lost_comment
    else:
        deal.lost_reason_id = None
        deal.lost_comment = ""
    deal.stage = stage
    deal.furthest_stage = furthest_stage(deal.furthest_stage, stage)


def _stage_change_note(
    session: Session, old: DealStage | None, deal: Deal, lost_comment: str
) -> str:
    if old is None:
        text = _("Stage: %(stage)s", stage=stage_label(deal.stage))
    else:
        text = _("Stage: %(old)s → %(new)s", old=stage_label(old), new=stage_label(deal.stage))
    if deal.stage == DealStage.LOST and deal.lost_reason_id is not None:
        reason = session.get(LostReason, (deal.tenant_id, deal.lost_reason_id))
        if reason is not None:
            text += "\n" + _("Lost reason: %(reason)s", reason=reason.label)
        if lost_comment:
            text += "\n" + lost_comment
    return text


def _amount_text(deal: Deal) -> str:
    if deal.recurring:
        return _(
            "%(amount)s (%(monthly)s × %(months)d months)",
            amount=format_yen(deal.amount),
            monthly=format_yen(deal.monthly_amount or 0),
            months=deal.expected_months or 0,
        )
    return format_yen(deal.amount)


def _record_change(session: Session, deal: Deal, body: str) -> None:
    # Pipeline changes are sales information: never shown to the buyer's people.
    add_entry(session, body=body, deal_id=deal.id, kind=EntryKind.CHANGE, internal=True)


def _sync_capabilities(session: Session, deal: Deal, capability_ids: Sequence[int]) -> None:
    wanted = set(capability_ids)
    current = {
        link.capability_id: link
        for link in session.scalars(select(DealCapability).where(DealCapability.deal_id == deal.id))
    }
    for capability_id in sorted(wanted - current.keys()):
        session.add(DealCapability(deal_id=deal.id, capability_id=capability_id))
    for capability_id in sorted(current.keys() - wanted):
        session.delete(current[capability_id])


def create_deal(session: Session, data: DealData, *, today: date) -> Deal:
    """A new deal with its capabilities and a first timeline entry, in the caller's
    transaction."""
    deal = Deal(stage=DealStage.LEAD)
    _apply(deal, data)
    _set_stage(deal, data.stage, today, data.lost_reason_id, data.lost_comment)
    session.add(deal)
    session.flush()
    _sync_capabilities(session, deal, data.capability_ids)
    body = _("Deal created.") + "\n" + _stage_change_note(session, None, deal, data.lost_comment)
    body += "\n" + _("Amount: %(amount)s", amount=_amount_text(deal))
    _record_change(session, deal, body)
    session.flush()
    return deal


def update_deal(session: Session, deal: Deal, data: DealData, *, today: date) -> None:
    """Apply the form; a stage or amount change is written to the deal's timeline."""
    if deal.archived:
        raise RuleBroken(_("This deal is archived. Restore it to change it."))
    old_stage, old_amount_text, old_amount = deal.stage, _amount_text(deal), deal.amount
    old_terms = (deal.recurring, deal.monthly_amount, deal.expected_months)
    _apply(deal, data)
    _set_stage(deal, data.stage, today, data.lost_reason_id, data.lost_comment)
    _sync_capabilities(session, deal, data.capability_ids)
    if deal.stage != old_stage:
        _record_change(
            session, deal, _stage_change_note(session, old_stage, deal, data.lost_comment)
        )
    new_terms = (deal.recurring, deal.monthly_amount, deal.expected_months)
    if deal.amount != old_amount or new_terms != old_terms:
        _record_change(
            session,
            deal,
            _("Amount: %(old)s → %(new)s", old=old_amount_text, new=_amount_text(deal)),
        )
    session.flush()


def move_stage(
    session: Session,
    deal: Deal,
    stage: DealStage,
    *,
    today: date,
    lost_reason_id: int | None = None,
    lost_comment: str = "",
) -> bool:
    """Move a deal to another stage (board, detail page). Returns whether anything changed."""
    if deal.archived:
        raise RuleBroken(_("This deal is archived. Restore it to change it."))
    if stage == deal.stage:
        return False
    old_stage = deal.stage
    _set_stage(deal, stage, today, lost_reason_id, lost_comment)
    _record_change(session, deal, _stage_change_note(session, old_stage, deal, lost_comment))
    session.flush()
    return True


def archive_deal(deal: Deal, now: datetime) -> None:
    if deal.archived_at is None:
        deal.archived_at = now


def restore_deal(deal: Deal) -> None:
    deal.archived_at = None


# --- reading -------------------------------------------------------------------------------

ARCHIVED_WITH = "with"
ARCHIVED_ONLY = "only"
STATUS_OPEN = "open"
STATUS_CLOSED = "closed"


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@dataclass(frozen=True)
class DealFilters:
    """The list's and board's filters, parsed from the query string (bad values are ignored)."""

    q: str = ""
    stage: DealStage | None = None
    buyer_id: int | None = None
    owner_id: int | None = None
    recurring: bool | None = None
    status: str | None = None
    fiscal_year: int | None = None
    archived: str = ""
    # The report's drill-down (e.g. deals in the pipeline of a year): name → value.
    drill: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, q: str, values: Mapping[str, str]) -> DealFilters:
        stage = values.get("stage", "")
        recurring = values.get("recurring", "")
        status = values.get("status", "")
        archived = values.get("archived", "")
        fiscal_year = _int_or_none(values.get("fy"))
        return cls(
            q=q,
            stage=next((member for member in DealStage if member.value == stage), None),
            buyer_id=_int_or_none(values.get("buyer")),
            owner_id=_int_or_none(values.get("owner")),
            recurring={"yes": True, "no": False}.get(recurring),
            status=status if status in (STATUS_OPEN, STATUS_CLOSED) else None,
            fiscal_year=fiscal_year if fiscal_year and 1989 <= fiscal_year <= 2200 else None,
            archived=archived if archived in (ARCHIVED_WITH, ARCHIVED_ONLY) else "",
            drill=tuple(sorted(drill.active_filters(values, drill.DEAL_FILTERS).items())),
        )


FILTER_NAMES = (
    "stage",
    "buyer",
    "owner",
    "recurring",
    "status",
    "fy",
    "archived",
    *drill.DEAL_FILTERS,
)
SORTABLE = ("amount", "next_action_on", "opened_on", "stage")

_STAGE_ORDER = case({stage: index for index, stage in enumerate(PIPELINE)}, value=Deal.stage)


def _rows_statement() -> Select[*tuple[Any, ...]]:
    """Deal, buyer name and owner name: one statement, whatever the number of rows.

    Every deal has its buyer (a composite foreign key) and at most one owner; the outer
    joins let PostgreSQL leave both out of the page count when no search needs them."""
    return (
        select(Deal, Buyer.name.label("buyer_name"), User.name.label("owner_name"))
        .outerjoin(Buyer, and_(Buyer.tenant_id == Deal.tenant_id, Buyer.id == Deal.buyer_id))
        .outerjoin(
            Membership,
            and_(Membership.tenant_id == Deal.tenant_id, Membership.id == Deal.owner_id),
        )
        .outerjoin(User, User.id == Membership.user_id)
    )


def _conditions(filters: DealFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    search = text_search(filters.q, Deal.title, Deal.description, Buyer.name)
    if search is not None:
        conditions.append(search)
    if filters.stage is not None:
        conditions.append(Deal.stage == filters.stage)
    if filters.buyer_id is not None:
        conditions.append(Deal.buyer_id == filters.buyer_id)
    if filters.owner_id is not None:
        conditions.append(Deal.owner_id == filters.owner_id)
    if filters.recurring is not None:
        conditions.append(Deal.recurring.is_(filters.recurring))
    if filters.status == STATUS_OPEN:
        conditions.append(Deal.stage.in_(OPEN_STAGES))
    elif filters.status == STATUS_CLOSED:
        conditions.append(Deal.stage.in_(CLOSED_STAGES))
    if filters.fiscal_year is not None:
        first, last = fiscal_year_range(filters.fiscal_year)
        conditions.append(Deal.opened_on.between(first, last))
    conditions.extend(drill.deal_conditions(dict(filters.drill)))
    if filters.archived == ARCHIVED_ONLY:
        conditions.append(Deal.archived_at.is_not(None))
    elif filters.archived != ARCHIVED_WITH:
        conditions.append(Deal.archived_at.is_(None))
    return conditions


def list_statement(
    filters: DealFilters, sort: str = "", descending: bool = False
) -> Select[*tuple[Any, ...]]:
    """The deal list as a statement to paginate: rows of (Deal, buyer_name, owner_name)."""
    columns: dict[str, Any] = {
        "amount": Deal.amount,
        "next_action_on": Deal.next_action_on,
        "opened_on": Deal.opened_on,
        "stage": _STAGE_ORDER,
    }
    statement = _rows_statement().where(*_conditions(filters))
    column = columns.get(sort)
    if column is None:
        return statement.order_by(Deal.opened_on.desc(), Deal.id.desc())
    ordered = column.desc() if descending else column.asc()
    return statement.order_by(ordered.nulls_last(), Deal.id.desc())


@dataclass
class BoardColumn:
    stage: DealStage
    count: int = 0
    total: int = 0
    cards: list[Any] = field(default_factory=list)

    @property
    def label(self) -> str:
        return stage_label(self.stage)

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


def board(
    session: Session,
    filters: DealFilters,
    limit: int = BOARD_CARD_LIMIT,
    closed_since: date | None = None,
) -> list[BoardColumn]:
    """One column per stage with its count and total, and at most ``limit`` cards each
    (open stages: next action first; won and lost: most recently closed first).
    Two statements, whatever the number of deals. Archived deals are not on the board."""
    active = replace(filters, stage=None, status=None, archived="")
    conditions = _conditions(active)
    if closed_since is not None:
        # Won and lost columns show what was decided recently, not ten years of history.
        conditions.append(or_(Deal.stage.in_(OPEN_STAGES), Deal.closed_on >= closed_since))
    # One pass over the board's deals ranks them within their stage and counts and sums each
    # stage; only the first ``limit`` of each stage come back, carrying their stage's totals.
    closed_first = case((Deal.stage.in_(CLOSED_STAGES), Deal.closed_on), else_=None)
    by_stage = (Deal.tenant_id, Deal.stage)
    ranked = select(
        Deal.id.label("id"),
        Deal.stage.label("stage"),
        func.row_number()
        .over(
            partition_by=by_stage,
            order_by=(
                closed_first.desc().nulls_last(),
                Deal.next_action_on.asc().nulls_last(),
                Deal.id.desc(),
            ),
        )
        .label("position"),
        func.count().over(partition_by=by_stage).label("count"),
        func.sum(Deal.amount).over(partition_by=by_stage).label("total"),
    ).where(*conditions)
    if active.q.strip():  # the search also looks at the buyer's name
        ranked = ranked.join(
            Buyer, and_(Buyer.tenant_id == Deal.tenant_id, Buyer.id == Deal.buyer_id)
        )
    ranked_rows = ranked.subquery()
    shown = session.execute(
        select(ranked_rows.c.id, ranked_rows.c.stage, ranked_rows.c["count"], ranked_rows.c.total)
        .where(ranked_rows.c.position <= limit)
        .order_by(ranked_rows.c.position)
    ).all()
    columns = {stage: BoardColumn(stage) for stage in PIPELINE}
    for _id, stage, count, total in shown:
        columns[DealStage(stage)].count = int(count)
        columns[DealStage(stage)].total = int(total or 0)
    # The cards themselves by id: the planner then reads just those rows, where joining the
    # ranking to the deals made it hash every deal of the workspace.
    ids = [row[0] for row in shown]
    if ids:
        cards = session.execute(_rows_statement().where(Deal.id.in_(ids))).all()
        by_id = {row[0].id: row for row in cards}
        for deal_id in ids:
            row = by_id[deal_id]
            columns[row[0].stage].cards.append(row)
    return [columns[stage] for stage in PIPELINE]


def fiscal_years(session: Session, today: date) -> list[int]:
    """Fiscal years that have deals (by opened_on), and the current one; newest first."""
    first, last = session.execute(select(func.min(Deal.opened_on), func.max(Deal.opened_on))).one()
    years = {fiscal_year_of(today)}
    if first is not None and last is not None:
        years.update(range(fiscal_year_of(first), fiscal_year_of(last) + 1))
    return sorted(years, reverse=True)


# --- choices for forms and filters ---------------------------------------------------------


def buyer_choices(session: Session, keep: int | None = None) -> list[tuple[int, str]]:
    """Buyers that are not archived (plus ``keep``, the deal's own), by name."""
    condition: ColumnElement[bool] = Buyer.archived_at.is_(None)
    if keep is not None:
        condition = or_(condition, Buyer.id == keep)
    rows = session.execute(select(Buyer.id, Buyer.name).where(condition).order_by(Buyer.name))
    return [(buyer_id, name) for buyer_id, name in rows]


def owner_choices(session: Session, keep: int | None = None) -> list[tuple[int, str]]:
    """Active staff memberships (plus ``keep``) with the person's name."""
    condition: ColumnElement[bool] = and_(
        Membership.status == MembershipStatus.ACTIVE, Membership.role.in_(STAFF_ROLES)
    )
    if keep is not None:
        condition = or_(condition, Membership.id == keep)
    rows = session.execute(
        select(Membership.id, User.name, Membership.status)
        .join(User, User.id == Membership.user_id)
        .where(condition)
        .order_by(User.name, Membership.id)
    )
    return [
        (member_id, name if status == MembershipStatus.ACTIVE else _("%(name)s (left)", name=name))
        for member_id, name, status in rows
    ]


def capability_choices(session: Session, keep: Sequence[int] = ()) -> list[tuple[int, str]]:
    condition: ColumnElement[bool] = Capability.archived_at.is_(None)
    if keep:
        condition = or_(condition, Capability.id.in_(keep))
    rows = session.execute(
        select(Capability.id, Capability.name)
        .where(condition)
        .order_by(Capability.sort_order, Capability.name)
    )
    return [(capability_id, name) for capability_id, name in rows]


def difficulty_choices(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(
        select(DifficultyLevel.level, DifficultyLevel.name).order_by(DifficultyLevel.level)
    )
    return [(level, f"{level} — {name}") for level, name in rows]


def lost_reason_choices(session: Session, keep: int | None = None) -> list[tuple[int, str]]:
    condition: ColumnElement[bool] = LostReason.archived_at.is_(None)
    if keep is not None:
        condition = or_(condition, LostReason.id == keep)
    rows = session.execute(
        select(LostReason.id, LostReason.label)
        .where(condition)
        .order_by(LostReason.sort_order, LostReason.label)
    )
    return [(reason_id, label) for reason_id, label in rows]


@dataclass
class DealDetail:
    deal: Deal
    buyer_name: str
    owner_name: str | None
    lost_reason: str | None
    difficulty: str | None
    capabilities: list[str]


def deal_detail(session: Session, deal: Deal) -> DealDetail:
    """Everything the detail page shows about a deal besides its timeline: two statements."""
    difficulty = select(DifficultyLevel.name).where(
        DifficultyLevel.tenant_id == deal.tenant_id,
        DifficultyLevel.level == deal.difficulty_level,
    )
    row = session.execute(
        select(
            Buyer.name,
            User.name,
            LostReason.label,
            difficulty.scalar_subquery(),
        )
        .select_from(Deal)
        .join(Buyer, and_(Buyer.tenant_id == Deal.tenant_id, Buyer.id == Deal.buyer_id))
        .outerjoin(
            Membership,
            and_(Membership.tenant_id == Deal.tenant_id, Membership.id == Deal.owner_id),
        )
        .outerjoin(User, User.id == Membership.user_id)
        .outerjoin(
            LostReason,
            and_(LostReason.tenant_id == Deal.tenant_id, LostReason.id == Deal.lost_reason_id),
        )
        .where(Deal.id == deal.id)
    ).one()
    capabilities = session.scalars(
        select(Capability.name)
        .join(
            DealCapability,
            and_(
                DealCapability.tenant_id == Capability.tenant_id,
                DealCapability.capability_id == Capability.id,
            ),
        )
        .where(DealCapability.deal_id == deal.id)
        .order_by(Capability.sort_order, Capability.name)
    ).all()
    return DealDetail(deal, row[0], row[1], row[2], row[3], list(capabilities))


def capability_ids(session: Session, deal: Deal) -> list[int]:
    return list(
        session.scalars(
            select(DealCapability.capability_id)
            .where(DealCapability.deal_id == deal.id)
            .order_by(DealCapability.capability_id)
        )
    )
