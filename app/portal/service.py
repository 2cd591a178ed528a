"""Portal rules: what a buyer company's people and a facility's people may see and do.

Every reader takes the company's or the facility's id and filters on it: a record of another
company (or facility) is simply not found. What the buyer never sees is left out here, not in
the templates: other buyers, internal timeline entries, order notes, deal owners, next
actions, lost reasons, the facilities on its work and what they are paid. No Flask request
objects; the views pass in ids, times and links.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.agreements.models import ActionItem, Agreement, AgreementGoal
from app.auth.models import User
from app.buyers.models import Buyer
from app.catalogs.models import PlanGoal
from app.deals import service as deals
from app.deals.models import Deal, DealStage
from app.jp import format_yen
from app.matching.models import Assignment, WorkSpec, WorkUnit
from app.notifications import service as notifications
from app.notifications.models import Notification
from app.orders import service as orders
from app.orders.models import Delivery, Order, OrderMonth, OrderStatus
from app.portal import wages
from app.portal.models import QuoteAnswer, QuoteDecision
from app.timeline import service as timeline
from app.timeline.models import EntryKind, TimelineEntry
from tenants.models import Membership

# Orders a buyer may still send forecasts for.
FORECAST_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS)
MAX_MESSAGE = timeline.MAX_BODY


class PortalRuleBroken(Exception):
    """A request the rules refuse; the message is for the user."""


# --- agreements ----------------------------------------------------------------------------


def buyer_agreements(session: Session, buyer_id: int) -> list[Agreement]:
    return list(
        session.scalars(
            select(Agreement)
            .where(Agreement.buyer_id == buyer_id, Agreement.archived_at.is_(None))
            .order_by(Agreement.signed_on.desc().nulls_last(), Agreement.id.desc())
        )
    )


def agreement_of(session: Session, buyer_id: int, agreement_id: int) -> Agreement | None:
    return session.scalars(
        select(Agreement).where(
            Agreement.id == agreement_id,
            Agreement.buyer_id == buyer_id,
            Agreement.archived_at.is_(None),
        )
    ).first()


def agreement_plan(session: Session, agreement_id: int) -> tuple[list[ActionItem], list[PlanGoal]]:
    items = list(
        session.scalars(
            select(ActionItem)
            .where(ActionItem.agreement_id == agreement_id)
            .order_by(ActionItem.due_on.asc().nulls_last(), ActionItem.id)
        )
    )
    goals = list(
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
    return items, goals


# --- deals and quotes ----------------------------------------------------------------------

# What the buyer reads for the coordinator's pipeline stages: the early stages are one.
BUYER_STAGE = {
    DealStage.LEAD: "discussion",
    DealStage.HEARING: "discussion",
    DealStage.TRIAL: "trial",
    DealStage.QUOTE: "quote",
    DealStage.WON: "ordered",
    DealStage.LOST: "closed",
}
# Stages where the amount is the buyer's own price (the quote, the agreed order).
PRICED_STAGES = (DealStage.QUOTE, DealStage.WON)


def buyer_deals(session: Session, buyer_id: int) -> list[Deal]:
    return list(
        session.scalars(
            select(Deal)
            .where(Deal.buyer_id == buyer_id, Deal.archived_at.is_(None))
            .order_by(Deal.opened_on.desc(), Deal.id.desc())
        )
    )


def deal_of(session: Session, buyer_id: int, deal_id: int) -> Deal | None:
    return session.scalars(
        select(Deal).where(
            Deal.id == deal_id, Deal.buyer_id == buyer_id, Deal.archived_at.is_(None)
        )
    ).first()


def latest_decisions(session: Session, deal_ids: Sequence[int]) -> dict[int, QuoteDecision]:
    """The newest answer per deal (one query)."""
    if not deal_ids:
        return {}
    latest: dict[int, QuoteDecision] = {}
    for decision in session.scalars(
        select(QuoteDecision)
        .where(QuoteDecision.deal_id.in_(deal_ids))
        .order_by(QuoteDecision.decided_at, QuoteDecision.id)
    ):
        latest[decision.deal_id] = decision
    return latest


def awaiting_answer(deal: Deal, latest: QuoteDecision | None) -> bool:
    """A quote waits for the buyer while the deal is at the quote stage and its amount has
    not been answered yet (a changed amount is a new quote)."""
    if deal.stage != DealStage.QUOTE or deal.archived:
        return False
    return latest is None or latest.amount != deal.amount


def answer_quote(
    session: Session,
    deal: Deal,
    membership: Membership,
    answer: QuoteAnswer,
    comment: str,
    *,
    now: datetime,
    link: str,
) -> tuple[QuoteDecision, list[Notification]]:
    """Record the buyer's answer on the deal and its timeline, and tell the coordinator.

    The stage is not moved: winning (and creating the order) or losing stays the
    coordinator's decision, taken with this answer in front of them.
    """
    latest = latest_decisions(session, [deal.id]).get(deal.id)
    if not awaiting_answer(deal, latest):
        raise PortalRuleBroken(_("This quote is not waiting for your answer."))
    comment = comment.strip()
    if answer == QuoteAnswer.DECLINED and not comment:
        raise PortalRuleBroken(_("Tell the coordinator why, so the quote can be reconsidered."))
    decision = QuoteDecision(
        deal_id=deal.id,
        amount=deal.amount,
        answer=answer,
        comment=comment,
        membership_id=membership.id,
        decided_at=now,
    )
    session.add(decision)
    name = membership.user.name
    if answer == QuoteAnswer.APPROVED:
        body = _(
            "Quote approved by %(name)s: %(amount)s", name=name, amount=format_yen(deal.amount)
        )
    else:
        body = _(
            "Quote declined by %(name)s: %(amount)s", name=name, amount=format_yen(deal.amount)
        )
    if comment:
        body += "\n" + comment
    timeline.add_entry(session, body=body, deal_id=deal.id, kind=EntryKind.DECISION)
    notes = notifications.notify_members(
        session,
        notifications.handlers(session, deal.owner_id),
        kind="quote_answer",
        title=_("Quote answered: %(title)s", title=deal.title),
        body=body,
        link=link,
    )
    session.flush()
    return decision, notes


def request_work(
    session: Session,
    buyer: Buyer,
    membership: Membership,
    *,
    title: str,
    description: str,
    volume: str,
    wanted_from: date | None,
    today: date,
    link_for: Any,
) -> tuple[Deal, list[Notification]]:
    """A new lead in the pipeline from the buyer's request; the coordinators are told.

    ``link_for(deal)`` gives the staff page of the new deal (for the notification)."""
    text = description.strip()
    if wanted_from is not None:
        text += "\n" + _("Wanted from: %(date)s", date=wanted_from.isoformat())
    deal = deals.create_deal(
        session,
        deals.DealData(
            buyer_id=buyer.id,
            title=title.strip(),
            opened_on=today,
            description=text,
            stage=DealStage.LEAD,
            volume=volume.strip(),
        ),
        today=today,
    )
    body = _("Requested through the portal by %(name)s.", name=membership.user.name)
    timeline.add_entry(session, body=body, deal_id=deal.id, kind=EntryKind.NOTE)
    notes = notifications.notify_members(
        session,
        notifications.handlers(session),
        kind="work_request",
        title=_("New work request from %(buyer)s: %(title)s", buyer=buyer.name, title=deal.title),
        body=body + "\n\n" + text,
        link=link_for(deal),
    )
    session.flush()
    return deal, notes


def buyer_entries(
    session: Session, *, deal_id: int | None = None, order_id: int | None = None
) -> list[Any]:
    """The timeline the buyer may read, newest first with the author's name (one query).

    Never entries marked internal. On a deal, not the system's change entries either: those
    are pipeline moves and amounts, the coordinator's sales information, whatever their flag.
    On an order they stay (status and due date changes are the buyer's business)."""
    query = (
        select(TimelineEntry, User.name)
        .outerjoin(User, User.id == TimelineEntry.author_user_id)
        .where(TimelineEntry.internal.is_(False))
        .order_by(TimelineEntry.at.desc(), TimelineEntry.id.desc())
        .limit(200)
    )
    if deal_id is not None:
        query = query.where(
            TimelineEntry.deal_id == deal_id, TimelineEntry.kind != EntryKind.CHANGE
        )
    elif order_id is not None:
        query = query.where(TimelineEntry.order_id == order_id)
    else:
        return []
    return list(session.execute(query).all())


# --- orders --------------------------------------------------------------------------------


def buyer_orders(session: Session, buyer_id: int) -> list[Order]:
    return list(
        session.scalars(
            select(Order)
            .where(Order.buyer_id == buyer_id, Order.archived_at.is_(None))
            .order_by(Order.confirmed_on.desc(), Order.id.desc())
        )
    )


def order_of(session: Session, buyer_id: int, order_id: int) -> Order | None:
    return session.scalars(
        select(Order).where(
            Order.id == order_id, Order.buyer_id == buyer_id, Order.archived_at.is_(None)
        )
    ).first()


def deadline_days(session: Session, agreement_ids: Iterable[int | None]) -> dict[int, int | None]:
    ids = sorted({i for i in agreement_ids if i is not None})
    if not ids:
        return {}
    rows = session.execute(
        select(Agreement.id, Agreement.forecast_deadline_day).where(Agreement.id.in_(ids))
    )
    return {agreement_id: day for agreement_id, day in rows}


def next_lots(session: Session, order_ids: Sequence[int], today: date) -> dict[int, Delivery]:
    """Per order, the next lot not yet delivered (overdue first): one query."""
    if not order_ids:
        return {}
    due = func.coalesce(Delivery.revised_due_on, Delivery.original_due_on)
    found: dict[int, Delivery] = {}
    for delivery in session.scalars(
        select(Delivery)
        .where(Delivery.order_id.in_(order_ids), Delivery.delivered_on.is_(None))
        .order_by(due, Delivery.id)
    ):
        found.setdefault(delivery.order_id, delivery)
    return found


def open_forecast_months(order: Order, months: Sequence[OrderMonth], today: date) -> list[date]:
    """Months the buyer may still send a forecast for: months of the order from this month
    on that have no actual amount yet. Only while the order runs (confirmed, in progress)."""
    if order.status not in FORECAST_STATUSES or order.archived:
        return []
    this_month = orders.first_of_month(today)
    with_actual = {m.month for m in months if m.actual_amount is not None}
    candidates = set(orders.months_of(order)) | {m.month for m in months}
    return sorted(m for m in candidates if m >= this_month and m not in with_actual)


def submit_forecast(
    session: Session,
    order: Order,
    month: date,
    amount: int,
    *,
    now: datetime,
    today: date,
    deadline_day: int | None,
) -> tuple[OrderMonth, bool]:
    """The buyer's forecast of one month (yen). Returns the row and whether it came late.

    A forecast after the agreement's deadline is accepted and marked late; the coordinator
    sees it on the order's timeline."""
    if amount < 0:
        raise PortalRuleBroken(_("Amounts cannot be negative."))
    stored = {m.month: m for m in orders.order_months(session, order.id)}
    month = orders.first_of_month(month)
    if month not in open_forecast_months(order, list(stored.values()), today):
        raise PortalRuleBroken(_("Choose a month of this order that is still open."))
    existing = stored.get(month)
    row = orders.set_month(
        session,
        order,
        month,
        forecast=amount,
        actual=existing.actual_amount if existing is not None else None,
        existing=existing,
        now=now,
    )
    late = orders.forecast_is_late(month, row.forecast_submitted_at, deadline_day)
    body = _(
        "Forecast for %(month)s received: %(amount)s",
        month=f"{month.year}/{month.month}",
        amount=format_yen(amount),
    )
    if late and deadline_day is not None:
        body += "\n" + _(
            "Late: due by %(date)s.",
            date=orders.forecast_deadline(month, deadline_day).isoformat(),
        )
    timeline.add_entry(session, body=body, order_id=order.id, kind=EntryKind.CHANGE)
    session.flush()
    return row, late


def post_message(
    session: Session, order: Order, membership: Membership, body: str, *, link: str
) -> tuple[TimelineEntry, list[Notification]]:
    """A message from the buyer on the order's timeline; the coordinator is told."""
    body = body.strip()
    if not body:
        raise PortalRuleBroken(_("Write a message."))
    entry = timeline.add_entry(session, body=body, order_id=order.id, kind=EntryKind.NOTE)
    owner_id = None
    if order.deal_id is not None:
        deal = session.get(Deal, (order.tenant_id, order.deal_id))
        owner_id = deal.owner_id if deal is not None else None
    notes = notifications.notify_members(
        session,
        notifications.handlers(session, owner_id),
        kind="buyer_message",
        title=_("Message from %(name)s: %(title)s", name=membership.user.name, title=order.title),
        body=body,
        link=link,
    )
    session.flush()
    return entry, notes


@dataclass(frozen=True)
class ForecastDue:
    order: Order
    month: date
    deadline: date | None
    overdue: bool


def forecasts_due(
    session: Session, order_list: Sequence[Order], today: date, horizon: int = 3
) -> list[ForecastDue]:
    """Per running order, the first ``horizon`` open months still without a forecast
    (two queries whatever the number of orders)."""
    running = [o for o in order_list if o.status in FORECAST_STATUSES]
    if not running:
        return []
    by_order: dict[int, list[OrderMonth]] = defaultdict(list)
    for row in session.scalars(
        select(OrderMonth).where(OrderMonth.order_id.in_([o.id for o in running]))
    ):
        by_order[row.order_id].append(row)
    days = deadline_days(session, [o.agreement_id for o in running])
    due: list[ForecastDue] = []
    for order in running:
        months = by_order[order.id]
        forecast_known = {m.month for m in months if m.forecast_amount is not None}
        day = days.get(order.agreement_id) if order.agreement_id is not None else None
        missing = [m for m in open_forecast_months(order, months, today) if m not in forecast_known]
        for month in missing[:horizon]:
            deadline = orders.forecast_deadline(month, day) if day else None
            due.append(ForecastDue(order, month, deadline, bool(deadline and deadline < today)))
    return sorted(due, key=lambda d: (d.deadline or d.month, d.order.id))


# --- the facility portal -------------------------------------------------------------------


@dataclass(frozen=True)
class FacilityWork:
    assignment: Assignment
    title: str
    buyer_name: str
    unit: str  # "h" or "pcs"
    order_id: int | None


def facility_work(
    session: Session, facility_id: int, first: date, last: date
) -> list[FacilityWork]:
    """The facility's confirmed assignments from month ``first`` to ``last`` (one query)."""
    spec_of_work = or_(
        and_(Assignment.order_id.is_not(None), WorkSpec.order_id == Assignment.order_id),
        and_(Assignment.deal_id.is_not(None), WorkSpec.deal_id == Assignment.deal_id),
    )
    rows = session.execute(
        select(Assignment, Order.title, Deal.title, Buyer.name, WorkSpec.unit)
        .outerjoin(Order, Order.id == Assignment.order_id)
        .outerjoin(Deal, Deal.id == Assignment.deal_id)
        .join(Buyer, Buyer.id == func.coalesce(Order.buyer_id, Deal.buyer_id))
        .outerjoin(WorkSpec, spec_of_work)
        .where(
            Assignment.facility_id == facility_id,
            Assignment.month >= first,
            Assignment.month <= last,
        )
        .order_by(Assignment.month, Assignment.id)
    )
    return [
        FacilityWork(
            assignment=a,
            title=order_title or deal_title or "",
            buyer_name=buyer_name,
            unit="pcs" if unit is WorkUnit.PIECES else "h",
            order_id=a.order_id,
        )
        for a, order_title, deal_title, buyer_name, unit in rows
    ]


def facility_totals(
    session: Session, facility_id: int, months: Sequence[date]
) -> list[wages.MonthTotal]:
    """Hours and amounts assigned per month (see ``app.portal.wages``): three queries."""
    if not months:
        return []
    first, last = min(months), max(months)
    own = list(
        session.scalars(
            select(Assignment).where(
                Assignment.facility_id == facility_id,
                Assignment.month >= first,
                Assignment.month <= last,
            )
        )
    )
    keys = {(a.order_id, a.month) for a in own if a.order_id is not None}
    order_ids = sorted({order_id for order_id, _month in keys})
    totals: dict[wages.Key, float] = {}
    amounts: dict[wages.Key, wages.MonthAmount] = {}
    if order_ids:
        for order_id, month, quantity in session.execute(
            select(Assignment.order_id, Assignment.month, func.sum(Assignment.quantity))
            .where(
                Assignment.order_id.in_(order_ids),
                Assignment.month >= first,
                Assignment.month <= last,
            )
            .group_by(Assignment.order_id, Assignment.month)
        ):
            if order_id is not None:  # the IN above leaves no None; this tells the type checker
                totals[(order_id, month)] = float(quantity or 0)
        for row in session.scalars(
            select(OrderMonth).where(
                OrderMonth.order_id.in_(order_ids),
                OrderMonth.month >= first,
                OrderMonth.month <= last,
            )
        ):
            amounts[(row.order_id, row.month)] = wages.MonthAmount(
                row.actual_amount, row.forecast_amount
            )
    works = [wages.Work(a.order_id, a.month, a.quantity, a.hours) for a in own]
    return wages.month_totals(works, totals, amounts, months)


def facility_notice(session: Session, facility_id: int, notice_id: int) -> Notification | None:
    return session.scalars(
        select(Notification).where(
            Notification.id == notice_id, Notification.facility_id == facility_id
        )
    ).first()
