"""Quality records the demo's portal people see: on the demo buyer's running order, which the
demo facility works on with two others.

- a quality plan and a work manual whose version 2 (a changed label position) the demo
  facility has not confirmed yet — the others have;
- the order's delivered lot made by the three facilities, with self-inspections and the
  central check (one share partly accepted after sorting), shown to the buyer as its
  traceability record;
- a nonconformance the buyer reported on that lot and a support request it raised about it;
- the next lot in production, with the demo facility's progress recorded and its own check
  still to do.

Deterministic and added once, with the portal people (``app.portal.demo``). No files: the
demo loader runs without a file storage. The data is Japanese because it is what people
would type; it is not UI text.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.agreements.models import Agreement
from app.auth.models import User
from app.buyers.models import Buyer
from app.demo_records import at
from app.facilities.models import Facility
from app.matching.models import Assignment
from app.orders.models import Delivery, Order, OrderStatus
from app.quality.models import (
    Inspection,
    InspectionItem,
    InspectionResult,
    InspectionStage,
    InspectionValue,
    ItemKind,
    LotWork,
    Manual,
    ManualAcknowledgement,
    ManualNotice,
    ManualVersion,
    Nonconformance,
    NonconformanceSource,
    NonconformanceStatus,
    QualityPlan,
    SamplingMode,
    Severity,
    SupportMode,
    SupportRequest,
)
from app.quality.sampling import sampling_plan
from app.quality.scope import ServiceScope, response_due
from app.quality.service import plan_of, suggested_plan

MANUAL_V1 = (
    "1. 箱と商品ラベルの品番を照合する\n"
    "2. ラベルは箱の右上、角から1cmの位置に貼る\n"
    "3. 10箱ごとに外観とラベル位置を自主検査表に記入する"
)
MANUAL_V2_CHANGES = "ラベルの位置を右上から左上に変更（発注企業の物流ラインに合わせるため）"


def add_portal_quality(
    session: Session, buyer: Buyer, facility: Facility, buyer_user: User
) -> bool:
    """Add the records (once); returns whether anything was added."""
    order = session.scalars(
        select(Order)
        .where(Order.buyer_id == buyer.id, Order.status == OrderStatus.IN_PROGRESS)
        .order_by(Order.id)
    ).first()
    if order is None or plan_of(session, order.id) is not None:
        return False
    lots = list(
        session.scalars(
            select(Delivery)
            .where(Delivery.order_id == order.id)
            .order_by(Delivery.original_due_on, Delivery.id)
        )
    )
    delivered = [d for d in lots if d.delivered_on is not None]
    waiting = [d for d in lots if d.delivered_on is None]
    if not delivered:
        return False
    others = list(
        session.scalars(
            select(Facility)
            .where(
                Facility.id.in_(
                    select(Assignment.facility_id).where(Assignment.order_id == order.id)
                ),
                Facility.id != facility.id,
            )
            .order_by(Facility.id)
            .limit(2)
        )
    )
    makers = [facility, *others]
    agreement = (
        session.get(Agreement, (order.tenant_id, order.agreement_id))
        if order.agreement_id
        else None
    )
    mode, aql, note = suggested_plan(agreement)
    plan = QualityPlan(order_id=order.id, sampling_mode=mode, aql=aql, notes=note)
    manual = Manual(order_id=order.id, title=f"{order.title} 作業マニュアル")
    session.add_all([plan, manual])
    session.flush()
    look = InspectionItem(
        plan_id=plan.id,
        position=1,
        kind=ItemKind.CHECK,
        name="外観（汚れ・破れ）",
        criteria="限度見本と照合",
    )
    label = InspectionItem(
        plan_id=plan.id, position=2, kind=ItemKind.CHECK, name="ラベルの品番・位置"
    )
    first = delivered[0]
    start = (first.delivered_on or first.original_due_on) - timedelta(days=30)
    v1 = ManualVersion(
        manual_id=manual.id, version_no=1, changes="初版", body=MANUAL_V1, published_at=at(start)
    )
    v2 = ManualVersion(
        manual_id=manual.id,
        version_no=2,
        changes=MANUAL_V2_CHANGES,
        body=MANUAL_V1.replace("右上", "左上"),
        published_at=at(date(2026, 11, 16), 14),
    )
    session.add_all([look, label, v1, v2])
    session.flush()
    for n, maker in enumerate(makers):
        session.add(
            ManualAcknowledgement(
                version_id=v1.id,
                facility_id=maker.id,
                acknowledged_by=f"{maker.name} 担当",
                acknowledged_at=at(start + timedelta(days=1 + n)),
            )
        )
        # The demo facility was told of version 2 and has not confirmed it yet.
        seen = maker is not facility
        session.add(
            ManualNotice(
                version_id=v2.id,
                facility_id=maker.id,
                created_at=v2.published_at,
                seen_at=v2.published_at + timedelta(days=1) if seen else None,
            )
        )
        if seen:
            session.add(
                ManualAcknowledgement(
                    version_id=v2.id,
                    facility_id=maker.id,
                    acknowledged_by=f"{maker.name} 担当",
                    acknowledged_at=v2.published_at + timedelta(days=1),
                )
            )
    lot = delivered[-1]
    central = _made_and_checked(session, plan, (look, label), lot, makers, v1)
    _buyer_findings(session, order, lot, central, buyer, buyer_user, agreement)
    if waiting:
        _in_production(session, waiting[0], facility, v2)
    session.flush()
    return True


def _made_and_checked(
    session: Session,
    plan: QualityPlan,
    items: tuple[InspectionItem, InspectionItem],
    lot: Delivery,
    makers: list[Facility],
    version: ManualVersion,
) -> Inspection:
    """The makers' shares of a delivered lot, their self-inspections and the central check:
    the last share is partly accepted after sorting. Returns that central inspection."""
    look, label = items
    done = (lot.delivered_on or lot.original_due_on) - timedelta(days=2)
    shares = [lot.quantity // len(makers)] * len(makers)
    shares[0] += lot.quantity - sum(shares)
    partial: Inspection | None = None
    for n, (maker, share) in enumerate(zip(makers, shares, strict=True)):
        session.add(
            LotWork(
                delivery_id=lot.id,
                facility_id=maker.id,
                quantity=share,
                lead_person=f"{maker.name} 作業責任者",
                workers=4,
                started_on=done - timedelta(days=12),
                finished_on=done,
                manual_version_id=version.id,
            )
        )
        sample = (
            sampling_plan(share, plan.aql, plan.inspection_level)
            if plan.sampling_mode == SamplingMode.ISO2859
            else None
        )
        size = sample.sample_size if sample else share
        sorted_out = n == len(makers) - 1 and len(makers) > 1
        failed = min(4, size) if sorted_out else 0
        self_check = Inspection(
            delivery_id=lot.id,
            facility_id=maker.id,
            stage=InspectionStage.SELF,
            inspector=f"{maker.name} 担当",
            inspected_on=done,
            quantity=share,
            sample_size=share,
            passed=share,
            result=InspectionResult.ACCEPTED,
            accepted_quantity=share,
        )
        check = Inspection(
            delivery_id=lot.id,
            facility_id=maker.id,
            stage=InspectionStage.CENTRAL,
            inspector="品質チーム 佐々木",
            inspected_on=done + timedelta(days=1),
            quantity=share,
            sample_size=size,
            passed=size - failed,
            failed=failed,
            result=InspectionResult.PARTIAL if failed else InspectionResult.ACCEPTED,
            accepted_quantity=share - 120 if failed else share,
            plan_code_letter=sample.plan_letter if sample else "",
            plan_sample_size=sample.sample_size if sample else None,
            plan_accept=sample.accept if sample else None,
            plan_reject=sample.reject if sample else None,
            notes="選別の上、120個を除いて合格" if failed else "",
        )
        session.add_all([self_check, check])
        session.flush()
        session.add_all(
            [
                InspectionValue(inspection_id=check.id, item_id=look.id, ok=True),
                InspectionValue(inspection_id=check.id, item_id=label.id, ok=not failed),
            ]
        )
        if failed:
            partial = check
    return partial or check


def _buyer_findings(
    session: Session,
    order: Order,
    lot: Delivery,
    central: Inspection,
    buyer: Buyer,
    buyer_user: User,
    agreement: Agreement | None,
) -> None:
    found = (lot.delivered_on or lot.original_due_on) + timedelta(days=2)
    nc = Nonconformance(
        delivery_id=lot.id,
        source=NonconformanceSource.BUYER,
        severity=Severity.MINOR,
        title="ラベルの貼り位置ずれ（一部の箱）",
        description="受入検査で、ラベルが箱の角から2cm以上ずれている箱が40箱ありました。"
        "出荷には使えますが、次回から位置をそろえてください。",
        quantity_affected=40,
        found_on=found,
        status=NonconformanceStatus.INVESTIGATING,
        raised_by_user_id=buyer_user.id,
    )
    session.add(nc)
    session.flush()
    requested = at(date(2026, 11, 19), 9, 30)
    session.add(
        SupportRequest(
            order_id=order.id,
            agreement_id=order.agreement_id,
            nonconformance_id=nc.id,
            subject="ラベル位置の基準をビデオ通話で確認したい",
            description="物流ラインのスキャナーに合わせた貼り位置を、現物を見せながら決めたい。",
            requested_by=f"{buyer.name} {buyer_user.name}",
            requested_at=requested,
            mode=SupportMode.REMOTE,
            response_due_at=response_due(requested, ServiceScope.of(agreement)),
        )
    )


def _in_production(
    session: Session, lot: Delivery, facility: Facility, version: ManualVersion
) -> None:
    session.add(
        LotWork(
            delivery_id=lot.id,
            facility_id=facility.id,
            quantity=min(lot.quantity, 5000),
            lead_person=f"{facility.name} 作業責任者",
            started_on=date(2026, 11, 17),
            manual_version_id=version.id,
        )
    )
