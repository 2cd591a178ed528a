"""A small shop floor for matching tests: order 1 with a spec of 120 h a month of 組立 in
July 2026 and five facilities around it (see the fixture's docstring)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.facilities.models import Facility, FacilityCapability, FacilityKind, FacilityStatus
from app.matching.models import Assignment, BuyerExclusion, WorkSpec
from app.notifications.models import Notification


@pytest.fixture
def floor(app, world, samples, arrange):
    """Order 1 (processes: 組立) runs from June 2026 without end; its spec asks 120 h a month
    of 組立 ≥ 1.  Facilities 2–4 can do it (60/60/40 h free, wages 15k/30k/45k); facility 5
    lacks the process; facility 6 is paused.  The sample assignment and exclusion are gone."""

    def build(s):
        for model in (Assignment, BuyerExclusion, Notification):
            for row in s.scalars(select(model)):
                s.delete(row)
        s.flush()
        spec = s.scalar(select(WorkSpec).where(WorkSpec.order_id == 1))
        spec.quantity = 120
        cap = samples["capabilities"]
        rows = [
            ("ひまわり作業所", 60, 15_000, True, "himawari@example.jp"),
            ("あおば工房", 60, 30_000, True, ""),
            ("みどり園", 40, 45_000, True, ""),
            ("つばさ", 100, 10_000, False, ""),
            ("休止中の事業所", 100, 10_000, True, ""),
        ]
        ids = []
        for name, hours, wage, capable, email in rows:
            f = Facility(
                name=name,
                kind=FacilityKind.TYPE_B,
                hours_per_month=hours,
                avg_monthly_wage=wage,
                workers=10,
                contact_email=email,
                status=(
                    FacilityStatus.PAUSED
                    if name == "休止中の事業所"
                    else FacilityStatus.PARTICIPATING
                ),
            )
            s.add(f)
            s.flush()
            if capable:
                s.add(FacilityCapability(facility_id=f.id, capability_id=cap, proficiency=2))
            ids.append(f.id)
        return ids

    return arrange(build)
