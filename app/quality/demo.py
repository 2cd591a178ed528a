"""A few quality records for the demo workspace, built on its orders and lots.

Deterministic (no randomness, dates relative to the demo's fixed "today"), no files (the
demo loader runs without a file storage), written through the ORM inside the workspace's
tenant scope like the rest of the demo.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.agreements.models import Agreement
from app.facilities.models import Facility
from app.jp import JST
from app.orders.models import Delivery, DeliveryStatus, Order
from app.quality.models import (
    ActionKind,
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
    NonconformanceAction,
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
from app.quality.service import suggested_plan

ORDERS_WITH_PLANS = 3
INSPECTORS = ("髙橋 美咲", "品質チーム 佐々木")


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=JST).astimezone(UTC)


def add_quality_records(session: Session, today: date) -> None:
    """Plans, manuals, lot work, inspections, one nonconformance and one support request."""
    facilities = list(
        session.scalars(
            select(Facility).where(Facility.archived_at.is_(None)).order_by(Facility.id)
        )
    )
    delivered = (
        select(Delivery.order_id)
        .where(Delivery.delivered_on.is_not(None))
        .group_by(Delivery.order_id)
    )
    orders = list(
        session.scalars(
            select(Order).where(Order.id.in_(delivered)).order_by(Order.confirmed_on, Order.id)
        )
    )[: ORDERS_WITH_PLANS - 1]
    # ... and the order of the first lot the buyer sent back, for its nonconformance.
    sent_back = session.scalars(
        select(Order)
        .join(Delivery, (Delivery.tenant_id == Order.tenant_id) & (Delivery.order_id == Order.id))
        .where(Delivery.status == DeliveryStatus.REJECTED)
        .order_by(Delivery.original_due_on, Delivery.id)
        .limit(1)
    ).first()
    if sent_back is not None and sent_back not in orders:
        orders.append(sent_back)
    if len(facilities) < 2 or not orders:
        return
    rejected_done = False
    for n, order in enumerate(orders):
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
            name="外観（キズ・汚れ・異物）",
            criteria="限度見本と照合。目視、30cm・明るい場所で。",
        )
        count = InspectionItem(
            plan_id=plan.id, position=2, kind=ItemKind.CHECK, name="数量・梱包・ラベル"
        )
        size = InspectionItem(
            plan_id=plan.id,
            position=3,
            kind=ItemKind.MEASURE,
            name="全長",
            unit="mm",
            nominal=120.0,
            tolerance_minus=0.5,
            tolerance_plus=0.5,
            criteria="ノギスで測定",
        )
        lots = list(
            session.scalars(
                select(Delivery)
                .where(Delivery.order_id == order.id, Delivery.delivered_on.is_not(None))
                .order_by(Delivery.original_due_on, Delivery.id)
            )
        )
        first_day = min(lot.original_due_on for lot in lots) - timedelta(days=30)
        v1 = ManualVersion(
            manual_id=manual.id,
            version_no=1,
            changes="初版",
            body="1. 部品と限度見本を確認する\n2. 作業手順書に沿って作業する\n"
            "3. 自主検査表に記入する",
            published_at=_at(first_day),
        )
        session.add_all([look, count, size, v1])
        session.flush()
        makers = [facilities[(2 * n) % len(facilities)], facilities[(2 * n + 1) % len(facilities)]]
        second_version = None
        if n == 0 and len(lots) > 1:
            second_version = ManualVersion(
                manual_id=manual.id,
                version_no=2,
                changes="外観検査の照明条件とラベル位置を追記（FAQより）",
                body=v1.body + "\n4. ラベルは箱の右上に貼る",
                published_at=_at(lots[0].delivered_on or lots[0].original_due_on, 15),
            )
            session.add(second_version)
            session.flush()
        for facility in makers:
            session.add(
                ManualAcknowledgement(
                    version_id=v1.id,
                    facility_id=facility.id,
                    acknowledged_by=f"{facility.name} 担当",
                    acknowledged_at=_at(first_day + timedelta(days=2)),
                )
            )
        if second_version is not None:
            session.add_all(
                ManualNotice(
                    version_id=second_version.id,
                    facility_id=f.id,
                    created_at=second_version.published_at,
                    seen_at=second_version.published_at + timedelta(days=1) if i == 0 else None,
                )
                for i, f in enumerate(makers)
            )
            session.add(
                ManualAcknowledgement(
                    version_id=second_version.id,
                    facility_id=makers[0].id,
                    acknowledged_by=f"{makers[0].name} 担当",
                    acknowledged_at=second_version.published_at + timedelta(days=1),
                )
            )
        for lot in lots:
            version = (
                second_version
                if second_version is not None
                and lot.delivered_on is not None
                and _at(lot.delivered_on) > second_version.published_at + timedelta(days=3)
                else v1
            )
            rejected_done = _lot_records(
                session,
                order,
                plan,
                (look, count, size),
                lot,
                makers,
                version,
                rejected_done,
                today,
            )
    session.flush()


def _lot_records(
    session: Session,
    order: Order,
    plan: QualityPlan,
    items: tuple[InspectionItem, InspectionItem, InspectionItem],
    lot: Delivery,
    makers: list[Facility],
    version: ManualVersion,
    rejected_done: bool,
    today: date,
) -> bool:
    """Two facilities' shares of a lot, their self- and central inspections; the first lot
    sent back gets its nonconformance. Returns whether that nonconformance exists now."""
    look, count, size = items
    shares = [lot.quantity - lot.quantity // 2, lot.quantity // 2]
    for facility, share in zip(makers, shares, strict=True):
        if share == 0:
            continue
        finished = (lot.delivered_on or lot.original_due_on) - timedelta(days=2)
        session.add(
            LotWork(
                delivery_id=lot.id,
                facility_id=facility.id,
                quantity=share,
                lead_person=f"{facility.name} 作業責任者",
                workers=3,
                started_on=finished - timedelta(days=10),
                finished_on=finished,
                manual_version_id=version.id,
            )
        )
        sample = (
            sampling_plan(share, plan.aql, plan.inspection_level)
            if plan.sampling_mode == SamplingMode.ISO2859
            else None
        )
        sample_size = sample.sample_size if sample else share
        sent_back = lot.status == DeliveryStatus.REJECTED and not rejected_done
        failed = min(3, sample_size) if sent_back and facility is makers[0] else 0
        reworked = 1 if sample_size - failed > 10 else 0
        # Sent back: the share was sorted and the failed items taken out.
        accepted = share - failed
        result = (
            InspectionResult.ACCEPTED
            if not failed
            else InspectionResult.PARTIAL
            if accepted
            else InspectionResult.REJECTED
        )
        self_check = Inspection(
            delivery_id=lot.id,
            facility_id=facility.id,
            stage=InspectionStage.SELF,
            inspector=f"{facility.name} 担当",
            inspected_on=finished,
            quantity=share,
            sample_size=share,
            passed=share,
            result=InspectionResult.ACCEPTED,
            accepted_quantity=share,
        )
        central = Inspection(
            delivery_id=lot.id,
            facility_id=facility.id,
            stage=InspectionStage.CENTRAL,
            inspector=INSPECTORS[lot.id % 2],
            inspected_on=finished + timedelta(days=1),
            quantity=share,
            sample_size=sample_size,
            passed=sample_size - failed - reworked,
            reworked=reworked,
            failed=failed,
            result=result,
            accepted_quantity=accepted,
            plan_code_letter=sample.plan_letter if sample else "",
            plan_sample_size=sample.sample_size if sample else None,
            plan_accept=sample.accept if sample else None,
            plan_reject=sample.reject if sample else None,
        )
        session.add_all([self_check, central])
        session.flush()
        session.add_all(
            [
                InspectionValue(inspection_id=central.id, item_id=look.id, ok=not failed),
                InspectionValue(inspection_id=central.id, item_id=count.id, ok=True),
                *(
                    InspectionValue(
                        inspection_id=central.id,
                        item_id=size.id,
                        sample_no=k + 1,
                        value=value,
                        ok=119.5 <= value <= 120.5,
                    )
                    for k, value in enumerate((120.1, 119.8, 120.3))
                ),
            ]
        )
        if failed:
            rejected_done = True
            _add_nonconformance(session, lot, facility, central, order, today)
    return rejected_done


def _add_nonconformance(
    session: Session,
    lot: Delivery,
    facility: Facility,
    inspection: Inspection,
    order: Order,
    today: date,
) -> None:
    found = lot.delivered_on + timedelta(days=2) if lot.delivered_on else today
    agreement = (
        session.get(Agreement, (order.tenant_id, order.agreement_id))
        if order.agreement_id
        else None
    )
    nc = Nonconformance(
        delivery_id=lot.id,
        facility_id=facility.id,
        inspection_id=inspection.id,
        source=NonconformanceSource.BUYER,
        severity=Severity.MAJOR,
        title="外観不良（キズ）",
        description="発注企業の受入検査で外観不良（キズ）3件。ロット差戻し。",
        quantity_affected=3,
        found_on=found,
        root_cause="作業台の養生マットが摩耗し、置き方によってキズが付いた。",
        status=NonconformanceStatus.ACTING,
    )
    session.add(nc)
    session.flush()
    session.add_all(
        [
            NonconformanceAction(
                nonconformance_id=nc.id,
                kind=ActionKind.CORRECTIVE,
                description="差戻しロットを全数再検品し、キズ品を交換して再納品",
                owner=f"{facility.name}",
                due_on=found + timedelta(days=5),
                done_on=found + timedelta(days=4),
            ),
            NonconformanceAction(
                nonconformance_id=nc.id,
                kind=ActionKind.PREVENTIVE,
                description="養生マットを交換し、始業点検表に摩耗の確認を追加",
                owner="品質チーム",
                due_on=min(found + timedelta(days=30), today + timedelta(days=14)),
            ),
            SupportRequest(
                order_id=order.id,
                agreement_id=order.agreement_id,
                nonconformance_id=nc.id,
                facility_id=facility.id,
                subject="キズの発生工程の確認（現地）",
                description="発注企業の品質担当が、組立ラインでの発生有無も含め現地確認を希望。",
                requested_by="発注企業 品質保証課",
                requested_at=_at(found, 11),
                mode=SupportMode.ONSITE,
                remote_tried=True,
                response_due_at=response_due(_at(found, 11), ServiceScope.of(agreement)),
                first_response_at=_at(found, 16),
            ),
        ]
    )
    session.flush()
