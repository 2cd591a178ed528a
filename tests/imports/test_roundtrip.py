"""An export imports back unchanged, in every format: same records, nothing added, no change
written (so no audit entries either), rare characters (髙橋, ㈱, ①, 﨑) intact."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from app.buyers.models import Buyer
from app.catalogs.models import Capability, LostReason
from app.deals.models import Deal, DealCapability, DealStage, PricingBasis
from app.extensions import db
from app.facilities.models import Facility, FacilityCapability, FacilityKind, FacilityStatus
from tenants.audit import AuditEvent
from tenants.isolation import tenant_scope
from tests.imports.conftest import BASE, confirm, count, rows, upload_ok

FORMATS = [("csv", "export.csv"), ("csv-sjis", "export_sjis.csv"), ("xlsx", "export.xlsx")]


@pytest.fixture
def records(app, world):
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        assemble, pack = Capability(name="組立"), Capability(name="梱包①")
        reason = LostReason(label="単価が低く工賃向上に繋がらない")
        s.add_all([assemble, pack, reason])
        s.flush()
        facilities = [
            Facility(
                name="髙橋作業所",
                kind=FacilityKind.TYPE_B,
                status=FacilityStatus.PAUSED,
                postal_code="430-0001",
                prefecture_code="22",
                municipality="浜松市",
                address="中区 﨑町1-2",
                latitude=34.71,
                longitude=137.72,
                contact_name="髙橋 花子",
                contact_phone="053-000-0000",
                contact_email="hanako@example.jp",
                workers=12,
                hours_per_month=160,
                pc_experience=True,
                avg_monthly_wage=18_500,
                participating_since=date(2019, 5, 1),
                max_difficulty=2,
                equipment="ミシン 3台\n検品台",
                certifications="",
                notes="=注意: 数式ではありません",
            ),
            Facility(name="㈱サンプル工業", kind=FacilityKind.MANUFACTURER),
        ]
        s.add_all(facilities)
        buyers = [
            Buyer(
                name="㈱髙橋製作所",
                name_kana="タカハシセイサクショ",
                industry="製造業",
                prefecture_code="13",
                website="https://example.jp",
                contact_email="buyer@example.jp",
                notes="-",
            ),
            Buyer(name="株式会社サンプル"),
        ]
        s.add_all(buyers)
        s.flush()
        s.add_all(
            [
                FacilityCapability(facility_id=facilities[0].id, capability_id=assemble.id),
                FacilityCapability(
                    facility_id=facilities[0].id, capability_id=pack.id, proficiency=3
                ),
            ]
        )
        deals = [
            Deal(
                buyer_id=buyers[0].id,
                title="部品の組立（﨑工場向け）",
                stage=DealStage.WON,
                amount=2_400_000,
                recurring=True,
                monthly_amount=200_000,
                expected_months=12,
                difficulty_level=2,
                volume="5,000個/月",
                pricing_basis=PricingBasis.PER_PIECE,
                owner_id=world.memberships["coordinator"].id,
                next_action="月次定例会",
                next_action_on=date(2025, 7, 1),
                opened_on=date(2025, 4, 10),
                closed_on=date(2025, 6, 1),
                description="複数行の\n説明",
            ),
            Deal(
                buyer_id=buyers[1].id,
                title="失注した件",
                stage=DealStage.LOST,
                lost_reason_id=reason.id,
                lost_comment="単価が合わず",
                opened_on=date(2024, 4, 1),
                closed_on=date(2024, 9, 30),
            ),
            Deal(
                buyer_id=buyers[1].id,
                title="見積中",
                stage=DealStage.QUOTE,
                opened_on=date(2025, 1, 6),
            ),
        ]
        s.add_all(deals)
        s.flush()
        s.add(DealCapability(deal_id=deals[0].id, capability_id=pack.id))
        s.commit()
    return world


def snapshot(app, tenant_id: int) -> dict[str, list[dict]]:
    result = {}
    for model in (Facility, FacilityCapability, Buyer, Deal, DealCapability):
        result[model.__tablename__] = [
            {
                attr.key: getattr(obj, attr.key)
                for attr in obj.__mapper__.column_attrs
                if attr.key not in ("updated_at",)
            }
            for obj in rows(app, tenant_id, model)
        ]
    return result


@pytest.mark.parametrize(("fmt", "filename"), FORMATS)
@pytest.mark.parametrize("kind", ["facilities", "buyers", "deals"])
def test_export_then_import_changes_nothing(app, client, records, kind, fmt, filename):
    client.login_as(records.coordinator)
    before = snapshot(app, records.alpha.id)
    events_before = count(app, records.alpha.id, AuditEvent)

    exported = client.get(f"{BASE}/export/{kind}.{fmt}")
    assert exported.status_code == 200
    data = exported.data
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(data)).worksheets[0]
        text = "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row)
    else:
        text = data.decode("utf-8-sig" if fmt == "csv" else "cp932")
    assert "髙橋" in text and "㈱" in text

    token = upload_ok(client, kind, data, filename)
    page = client.get(f"{BASE}/{kind}/{token}")
    assert 'id="preview"' in page.text, page.text[:3000]
    assert confirm(client, kind, token).status_code == 303

    assert snapshot(app, records.alpha.id) == before
    assert count(app, records.alpha.id, AuditEvent) == events_before  # nothing was written


def test_export_columns_and_values(app, client, records):
    client.login_as(records.viewer)
    text = client.get(f"{BASE}/export/facilities.csv").data.decode("utf-8-sig")
    header, first, second = text.split("\r\n")[:3]
    assert header.split(",")[:5] == ["事業所名", "種別", "状態", "郵便番号", "都道府県"]
    cells = first.split(",")
    assert cells[:6] == ["髙橋作業所", "就労継続支援B型", "休止中", "430-0001", "静岡県", "浜松市"]
    assert "梱包①:3、組立" in first  # catalogue order; the level when not 1
    assert "'=注意: 数式ではありません" in first  # no formula in a spreadsheet
    assert second.startswith("㈱サンプル工業,協力企業,参加中,")

    deals = client.get(f"{BASE}/export/deals.csv").data.decode("utf-8-sig").split("\r\n")
    assert deals[0].startswith("番号,案件名,発注企業,段階,商談金額,商談開始日,受注・失注日")
    assert deals[1].startswith(
        "1,部品の組立（﨑工場向け）,㈱髙橋製作所,受注,2400000,2025-04-10,2025-06-01"
    )
    assert "coordinator@example.jp" in deals[1]
    assert ",失注,0,2024-04-01,2024-09-30," in deals[2]
    assert "単価が低く工賃向上に繋がらない" in deals[2]


def test_an_empty_workspace_exports_the_header_as_a_template(client, world):
    client.login_as(world.admin)
    text = client.get(f"{BASE}/export/buyers.csv").data.decode("utf-8-sig")
    assert text == (
        "企業名,フリガナ,業種,郵便番号,都道府県,住所,ウェブサイト,担当者,メール,電話,備考,自治体\r\n"
    )
