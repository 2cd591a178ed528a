"""What needs attention today, for the workspace's home page: renewals in their reminder
window, overdue delivery lots and deals whose next action is due. A fixed number of
queries, each capped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from app.agreements.models import Agreement
from app.agreements.service import renewal_state
from app.buyers.models import Buyer
from app.deals.models import OPEN_STAGES, Deal
from app.orders.models import OPEN_LOT_STATUSES, Delivery, Order

LIMIT = 8
LONGEST_REMINDER_DAYS = 400  # agreements further out than this cannot be in their window


@dataclass
class Attention:
    renewals: list[tuple[Agreement, str]] = field(default_factory=list)
    overdue_lots: list[tuple[Delivery, Order]] = field(default_factory=list)
    due_deals: list[tuple[Deal, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.renewals or self.overdue_lots or self.due_deals)


def needs_attention(session: Session, today: date) -> Attention:
    attention = Attention()
    candidates = session.execute(
        select(Agreement, Buyer.name)
        .join(Buyer, and_(Buyer.tenant_id == Agreement.tenant_id, Buyer.id == Agreement.buyer_id))
        .where(
            Agreement.archived_at.is_(None),
            Agreement.renewal_on <= today + timedelta(days=LONGEST_REMINDER_DAYS),
        )
        .order_by(Agreement.renewal_on)
    ).all()
    attention.renewals = [
        (agreement, buyer)
        for agreement, buyer in candidates
        if renewal_state(agreement.renewal_on, agreement.remind_days_before_renewal, today)
    ][:LIMIT]
    due_on = func.coalesce(Delivery.revised_due_on, Delivery.original_due_on)
    attention.overdue_lots = [
        (delivery, order)
        for delivery, order in session.execute(
            select(Delivery, Order)
            .join(Order, and_(Order.tenant_id == Delivery.tenant_id, Order.id == Delivery.order_id))
            .where(
                due_on < today,
                # Written into the SQL (not bound): a prepared statement's generic plan could
                # not use the partial index of open lots otherwise.
                Delivery.status.in_(
                    bindparam(
                        "open_lots", list(OPEN_LOT_STATUSES), expanding=True, literal_execute=True
                    )
                ),
                Order.archived_at.is_(None),
            )
            .order_by(due_on, Delivery.id)
            .limit(LIMIT)
        ).all()
    ]
    attention.due_deals = [
        (deal, buyer)
        for deal, buyer in session.execute(
            select(Deal, Buyer.name)
            .join(Buyer, and_(Buyer.tenant_id == Deal.tenant_id, Buyer.id == Deal.buyer_id))
            .where(
                Deal.next_action_on <= today,
                Deal.stage.in_(OPEN_STAGES),
                Deal.archived_at.is_(None),
            )
            .order_by(Deal.next_action_on, Deal.id)
            .limit(LIMIT)
        ).all()
    ]
    return attention
