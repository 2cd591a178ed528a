"""Quality records in the portals' world (``shop``), relative to today.

Company A's lot 1 (L-001, 1,000 items) was delivered ten days ago: facility X made 600 and
facility Z 400; the central check accepted X's share and accepted 380 of Z's (partial).
Lot L-002 of the same order is not delivered yet. Company B has its own delivered lot with a
nonconformance and a support request. Manual 1 has a version 2 that X and Z were told about
and have not confirmed. Internal words (work and inspection notes, the description of the
internal nonconformance) are ``SECRET_NOTE``; facility X's share was made by 13 workers.
Facility Y works on nothing of company A.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.facilities.models import Facility, FacilityKind
from app.jp import today_jst
from app.orders.models import Delivery, DeliveryStatus
from app.quality.models import (
    Inspection,
    InspectionResult,
    InspectionStage,
    LotWork,
    ManualNotice,
    ManualVersion,
    Nonconformance,
    NonconformanceSource,
    Severity,
    SupportMode,
    SupportRequest,
)
from tests.support.shop import SECRET_NOTE, Shop

WORKERS_OF_X = 13


@dataclass
class QualityShop:
    shop: Shop
    today: date
    delivered_on: date
    lot_a: int
    lot_a2: int
    lot_b: int
    facility_z: int
    version2: int
    nc_b: int
    support_b: int


@pytest.fixture
def qshop(shop: Shop, arrange) -> QualityShop:
    today = today_jst()
    delivered_on = today - timedelta(days=10)

    def build(s):
        lot = s.get(Delivery, (s.info["tenant_id"], 1))
        lot.quantity = 1000
        lot.original_due_on = delivered_on
        lot.delivered_on = delivered_on
        lot.status = DeliveryStatus.ACCEPTED
        later = Delivery(
            order_id=1, lot_no="L-002", quantity=500, original_due_on=today + timedelta(days=20)
        )
        lot_b = Delivery(
            order_id=shop.order_b,
            lot_no="B-001",
            quantity=200,
            original_due_on=delivered_on,
            delivered_on=delivered_on,
            status=DeliveryStatus.ACCEPTED,
        )
        facility_z = Facility(name="みどり工房", kind=FacilityKind.TYPE_A)
        s.add_all([later, lot_b, facility_z])
        s.flush()
        work_x = s.scalars(select(LotWork).where(LotWork.facility_id == 1)).one()
        work_x.quantity = 600
        work_x.lead_person = "作業 一郎"
        work_x.workers = WORKERS_OF_X
        work_x.notes = SECRET_NOTE
        work_x.started_on = delivered_on - timedelta(days=7)
        work_x.finished_on = delivered_on - timedelta(days=2)
        nc = s.get(Nonconformance, (s.info["tenant_id"], 1))
        nc.found_on = delivered_on - timedelta(days=1)
        nc.description = SECRET_NOTE
        nc.root_cause = "治具の摩耗"
        version2 = ManualVersion(
            manual_id=1,
            version_no=2,
            changes="ラベルの位置を左上に変更",
            body="手順2: ラベルは左上",
        )
        s.add(version2)
        s.flush()
        checked = delivered_on - timedelta(days=1)
        s.add_all(
            [
                LotWork(
                    delivery_id=1,
                    facility_id=facility_z.id,
                    quantity=400,
                    lead_person="緑 花子",
                    manual_version_id=1,
                ),
                Inspection(
                    delivery_id=1,
                    facility_id=1,
                    stage=InspectionStage.CENTRAL,
                    inspector="品質 花子",
                    inspected_on=checked,
                    quantity=600,
                    sample_size=80,
                    passed=80,
                    result=InspectionResult.ACCEPTED,
                    accepted_quantity=600,
                    notes=SECRET_NOTE,
                ),
                Inspection(
                    delivery_id=1,
                    facility_id=facility_z.id,
                    stage=InspectionStage.CENTRAL,
                    inspector="品質 花子",
                    inspected_on=checked,
                    quantity=400,
                    sample_size=50,
                    passed=47,
                    failed=3,
                    result=InspectionResult.PARTIAL,
                    accepted_quantity=380,
                ),
                ManualNotice(version_id=version2.id, facility_id=1),
                ManualNotice(version_id=version2.id, facility_id=facility_z.id),
            ]
        )
        nc_b = Nonconformance(
            delivery_id=lot_b.id,
            source=NonconformanceSource.INTERNAL,
            severity=Severity.MAJOR,
            title="ビー商事ロットの印字かすれ",
            found_on=delivered_on,
        )
        support_b = SupportRequest(
            order_id=shop.order_b,
            agreement_id=shop.agreement_b,
            subject="ビー商事の技術相談",
            mode=SupportMode.REMOTE,
        )
        s.add_all([nc_b, support_b])
        s.flush()
        return later.id, lot_b.id, facility_z.id, version2.id, nc_b.id, support_b.id

    lot_a2, lot_b, facility_z, version2, nc_b, support_b = arrange(build)
    return QualityShop(
        shop=shop,
        today=today,
        delivered_on=delivered_on,
        lot_a=1,
        lot_a2=lot_a2,
        lot_b=lot_b,
        facility_z=facility_z,
        version2=version2,
        nc_b=nc_b,
        support_b=support_b,
    )
