"""One record of every kind in a workspace: for tests generated over tables and routes.

Ids are numbered per workspace, so in a fresh workspace every record made here has id 1 —
which lets URL-map tests fill any ``<int:..._id>`` with 1.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from app.agreements.models import ActionItem, Agreement, AgreementGoal, AgreementKind
from app.buyers.models import Buyer
from app.catalogs.models import Capability, DifficultyLevel, LostReason, PlanGoal
from app.deals.models import Deal, DealCapability, DealStage
from app.facilities.models import Facility, FacilityCapability, FacilityKind, FacilityWage
from app.matching.models import (
    Assignment,
    BuyerExclusion,
    MatchingSettings,
    WorkSpec,
    WorkSpecCapability,
)
from app.notifications.models import Notification
from app.orders.models import Delivery, Order, OrderMonth
from app.timeline.models import TimelineEntry
from tenants.isolation import tenant_scope
from tenants.models import Membership


def add_sample_records(session: Session, member: Membership, label: str = "") -> dict[str, int]:
    """Create one of every record in the member's workspace; returns table name → id."""
    with tenant_scope(session, member.tenant_id):
        capability = Capability(name=f"組立{label}")
        level = DifficultyLevel(level=1, name="やさしい", definition="見本を見て作業できる")
        goal = PlanGoal(code=f"G1{label}", title="障害者の就労と工賃向上")
        reason = LostReason(label=f"顧客都合で白紙{label}")
        facility = Facility(name=f"さくら作業所{label}", kind=FacilityKind.TYPE_B, workers=12)
        buyer = Buyer(name=f"株式会社サンプル{label}", industry="製造業")
        session.add_all([capability, level, goal, reason, facility, buyer])
        session.flush()
        agreement = Agreement(
            buyer_id=buyer.id, title="包括連携協定", kind=AgreementKind.COMPREHENSIVE
        )
        deal = Deal(
            buyer_id=buyer.id,
            title="部品の組立",
            stage=DealStage.WON,
            amount=2_400_000,
            opened_on=date(2026, 4, 10),
            closed_on=date(2026, 6, 1),
            owner_id=member.id,
        )
        session.add_all([agreement, deal])
        session.flush()
        order = Order(
            buyer_id=buyer.id,
            deal_id=deal.id,
            agreement_id=agreement.id,
            title="部品の組立",
            confirmed_on=date(2026, 6, 1),
        )
        session.add_all(
            [
                order,
                FacilityCapability(
                    facility_id=facility.id, capability_id=capability.id, proficiency=2
                ),
                FacilityWage(facility_id=facility.id, fiscal_year=2025, avg_monthly_wage=18_000),
                AgreementGoal(agreement_id=agreement.id, goal_id=goal.id),
                ActionItem(agreement_id=agreement.id, title="月次定例会の開催"),
                DealCapability(deal_id=deal.id, capability_id=capability.id),
            ]
        )
        session.flush()
        session.add_all(
            [
                Delivery(order_id=order.id, lot_no="L-001", original_due_on=date(2026, 7, 1)),
                OrderMonth(
                    order_id=order.id,
                    month=date(2026, 7, 1),
                    forecast_amount=200_000,
                    actual_amount=180_000,
                ),
                TimelineEntry(deal_id=deal.id, body="初回ヒアリング", author_user_id=None),
                # Matching: the order's work, its confirmed assignment, the weights, a buyer's
                # exclusion and a notification (every tenant table has a row).
                spec := WorkSpec(order_id=order.id, quantity=100),
                Assignment(
                    order_id=order.id,
                    facility_id=facility.id,
                    month=date(2026, 7, 1),
                    quantity=100,
                    hours=40,
                ),
                MatchingSettings(),
                BuyerExclusion(buyer_id=buyer.id, facility_id=facility.id, reason="過去の品質"),
                Notification(facility_id=facility.id, kind="assignment", title="作業の依頼"),
            ]
        )
        session.flush()
        session.add(WorkSpecCapability(spec_id=spec.id, capability_id=capability.id))
        session.flush()
    return {
        "capabilities": capability.id,
        "facilities": facility.id,
        "buyers": buyer.id,
        "agreements": agreement.id,
        "deals": deal.id,
        "orders": order.id,
    }
