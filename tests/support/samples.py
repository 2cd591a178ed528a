"""One record of every kind in a workspace: for tests generated over tables and routes.

Ids are numbered per workspace, so in a fresh workspace every record made here has id 1 —
which lets URL-map tests fill any ``<int:..._id>`` with 1.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.agreements.models import ActionItem, Agreement, AgreementGoal, AgreementKind
from app.billing.models import BillingAccount, BillingEvent
from app.buyers.models import Buyer
from app.catalogs.models import Capability, DifficultyLevel, LostReason, PlanGoal
from app.db import utcnow
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
from app.portal.models import QuoteAnswer, QuoteDecision
from app.quality.models import (
    ActionKind,
    Inspection,
    InspectionItem,
    InspectionPhoto,
    InspectionStage,
    InspectionValue,
    ItemKind,
    LotWork,
    Manual,
    ManualAcknowledgement,
    ManualNotice,
    ManualVersion,
    Nonconformance,
    NonconformanceAction,
    NonconformanceFile,
    NonconformanceSource,
    QualityPlan,
    Severity,
    SupportMode,
    SupportRequest,
)
from app.storage.models import StoredFile
from app.timeline.models import TimelineEntry
from tenants.isolation import tenant_scope
from tenants.models import Membership
from tenants.support import SupportSession


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
                spec := WorkSpec(order_id=order.id, quantity=100),
                BuyerExclusion(buyer_id=buyer.id, facility_id=facility.id, reason="品質要件"),
                Assignment(
                    order_id=order.id,
                    facility_id=facility.id,
                    month=date(2026, 7, 1),
                    quantity=40,
                    hours=40,
                ),
                Notification(facility_id=facility.id, kind="assignment", title="作業の割当"),
                MatchingSettings(),
            ]
        )
        session.flush()
        session.add(WorkSpecCapability(spec_id=spec.id, capability_id=capability.id))
        # One billing account per workspace (kept if a test made it first), trial running.
        if session.scalar(select(BillingAccount.id)) is None:
            session.add(BillingAccount(trial_ends_at=utcnow() + timedelta(days=30)))
        session.add(BillingEvent(stripe_event_id=f"evt_sample{label}", event_type="sample"))
        # A buyer's answer and a support session that ended long ago (no access today).
        started = utcnow() - timedelta(days=30)
        session.add_all(
            [
                QuoteDecision(
                    deal_id=deal.id,
                    amount=deal.amount,
                    answer=QuoteAnswer.APPROVED,
                    membership_id=member.id,
                ),
                SupportSession(
                    user_id=member.user_id,
                    reason="操作説明のため",
                    started_at=started,
                    expires_at=started + timedelta(hours=2),
                    ended_at=started + timedelta(hours=1),
                ),
            ]
        )
        session.flush()
        _add_quality_samples(session, order, facility, label)
    return {
        "capabilities": capability.id,
        "facilities": facility.id,
        "buyers": buyer.id,
        "agreements": agreement.id,
        "deals": deal.id,
        "orders": order.id,
    }


def _add_quality_samples(session: Session, order: Order, facility: Facility, label: str) -> None:
    """Quality records of the sample order's lot. The file row has no object in any storage:
    its download routes answer 410 (gone), which is what a lost object looks like."""
    stored = StoredFile(
        key=f"tenants/0/sample{label}.jpg",
        preview_key=f"tenants/0/sample{label}-preview.jpg",
        original_name="検品写真.jpg",
        content_type="image/jpeg",
        size_bytes=10,
        sha256="0" * 64,
    )
    plan = QualityPlan(order_id=order.id)
    manual = Manual(order_id=order.id, title="作業マニュアル")
    session.add_all([stored, plan, manual])
    session.flush()
    item = InspectionItem(plan_id=plan.id, kind=ItemKind.CHECK, name="外観（キズ・汚れ）")
    version = ManualVersion(manual_id=manual.id, version_no=1, body="手順1: 部品を確認する")
    delivery = session.scalars(select(Delivery).where(Delivery.order_id == order.id)).one()
    inspection = Inspection(
        delivery_id=delivery.id,
        facility_id=facility.id,
        stage=InspectionStage.SELF,
        inspector="検品 太郎",
        inspected_on=date(2026, 6, 30),
        quantity=0,
        sample_size=0,
    )
    session.add_all([item, version, inspection])
    session.flush()
    nc = Nonconformance(
        delivery_id=delivery.id,
        facility_id=facility.id,
        source=NonconformanceSource.INTERNAL,
        severity=Severity.MINOR,
        title="外観キズ",
        found_on=date(2026, 6, 30),
    )
    session.add_all(
        [
            nc,
            LotWork(delivery_id=delivery.id, facility_id=facility.id, manual_version_id=version.id),
            InspectionValue(inspection_id=inspection.id, item_id=item.id, ok=True),
            InspectionPhoto(inspection_id=inspection.id, file_id=stored.id),
            ManualAcknowledgement(version_id=version.id, facility_id=facility.id),
            ManualNotice(version_id=version.id, facility_id=facility.id),
        ]
    )
    session.flush()
    session.add_all(
        [
            NonconformanceAction(
                nonconformance_id=nc.id,
                kind=ActionKind.CORRECTIVE,
                description="全数再検品",
                owner="品質チーム",
                due_on=date(2026, 7, 10),
            ),
            NonconformanceFile(nonconformance_id=nc.id, file_id=stored.id),
            SupportRequest(
                order_id=order.id,
                agreement_id=order.agreement_id,
                nonconformance_id=nc.id,
                subject="組立不良の原因調査",
                mode=SupportMode.REMOTE,
            ),
        ]
    )
    session.flush()
