"""Helpers of the quality tests. Alpha's samples: order 1 (buyer 1, agreement 1) with lot 1
(L-001), facility 1, quality plan 1 (ISO 2859-1, AQL 1.0, level II) with checklist item 1,
manual 1 v1, lot work 1, inspection 1, nonconformance 1, support request 1."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from app.facilities.models import Facility, FacilityKind
from app.orders.models import Delivery
from app.quality.models import InspectionItem, ItemKind
from tests.support.storage import jpeg_bytes

HX = {"HX-Request": "true"}


def count(model: Any):
    return lambda s: int(s.scalar(select(func.count()).select_from(model)) or 0)


def error_fields(html: str) -> set[str]:
    return set(re.findall(r'id="([\w-]+)-error"', html))


def flashes(html: str) -> list[str]:
    return re.findall(r'<li class="flash flash-(\w+)">', html)


@pytest.fixture
def lot(arrange, samples):
    """Lot 1 of order 1 with 1,000 items (the samples give it none)."""

    def make(s):
        delivery = s.get(Delivery, (s.info["tenant_id"], 1))
        delivery.quantity = 1000
        return delivery.id

    return arrange(make)


@pytest.fixture
def measure_item(arrange, samples) -> int:
    """Item 2 of plan 1: a length of 10.0 mm, −0.1 / +0.2."""

    def make(s):
        item = InspectionItem(
            plan_id=1,
            position=2,
            kind=ItemKind.MEASURE,
            name="全長",
            unit="mm",
            nominal=10.0,
            tolerance_minus=0.1,
            tolerance_plus=0.2,
        )
        s.add(item)
        s.flush()
        return item.id

    return arrange(make)


def add_facility(arrange, name: str = "ひまわり工房", tenant_id: int | None = None) -> int:
    def make(s):
        facility = Facility(name=name, kind=FacilityKind.TYPE_A, workers=8)
        s.add(facility)
        s.flush()
        return facility.id

    return arrange(make, tenant_id)


def inspection_form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "facility_id": "1",
        "stage": "central",
        "method": "on_site",
        "inspector": "品質 花子",
        "inspected_on": "2026-11-20",
        "quantity": "1000",
        "sample_size": "80",
        "passed": "79",
        "reworked": "1",
        "failed": "0",
        "result": "accepted",
        "accepted_quantity": "",
        "notes": "",
        "item_1": "ok",
    }
    data.update(changes)
    return data


def photo(name: str = "検品.jpg", data: bytes | None = None):
    import io

    return (io.BytesIO(data if data is not None else jpeg_bytes()), name)
