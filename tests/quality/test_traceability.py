"""Lot works, the traceability page and its A4 PDF in Japanese."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest

from app.quality.models import (
    Inspection,
    InspectionPhoto,
    InspectionStage,
    LotWork,
    Manual,
    ManualVersion,
)
from app.storage.checks import IMAGES
from app.storage.service import save_upload
from tests.quality.conftest import add_facility, count, error_fields
from tests.support.storage import installed, jpeg_bytes

LOT = "/t/alpha/quality/lots/1"


def work_form(**changes):
    data = {
        "facility_id": "1",
        "quantity": "600",
        "lead_person": "作業 一郎",
        "workers": "6",
        "started_on": "2026-11-01",
        "finished_on": "2026-11-10",
        "manual_version_id": "1",
        "notes": "",
    }
    data.update(changes)
    return data


def test_facilities_shares_of_a_lot(client, world, lot, arrange, read):
    second = add_facility(arrange)
    client.login_as(world.coordinator)
    assert client.post(LOT + "/works", data=work_form()).status_code == 303
    # The same facility again corrects its share instead of adding one.
    assert client.post(LOT + "/works", data=work_form(quantity="700")).status_code == 303
    assert read(count(LotWork)) == 1
    assert read(lambda s: s.get(LotWork, (world.alpha.id, 1)).quantity) == 700
    too_many = client.post(LOT + "/works", data=work_form(facility_id=str(second), quantity="301"))
    assert too_many.status_code == 422 and error_fields(too_many.text) == {"quantity"}
    assert "300" in too_many.text  # what is left
    ok = client.post(LOT + "/works", data=work_form(facility_id=str(second), quantity="300"))
    assert ok.status_code == 303
    backwards = client.post(
        LOT + "/works", data=work_form(started_on="2026-11-10", finished_on="2026-11-01")
    )
    assert error_fields(backwards.text) == {"finished_on"}
    assert read(count(LotWork)) == 2


def test_a_lot_records_only_its_own_orders_manual_versions(client, world, lot, arrange, read):
    def other_orders_manual(s):
        from app.orders.models import Order

        order = Order(buyer_id=1, title="別案件", confirmed_on=date(2026, 6, 1))
        s.add(order)
        s.flush()
        manual = Manual(order_id=order.id, title="別のマニュアル")
        s.add(manual)
        s.flush()
        version = ManualVersion(manual_id=manual.id, version_no=1)
        s.add(version)
        s.flush()
        return version.id

    foreign = arrange(other_orders_manual)
    client.login_as(world.coordinator)
    response = client.post(LOT + "/works", data=work_form(manual_version_id=str(foreign)))
    assert response.status_code == 422
    assert error_fields(response.text) == {"manual_version_id"}


def test_another_workspaces_facility_cannot_be_recorded(client, world, lot, arrange, read):
    beta_facility = add_facility(arrange, "ベータ作業所", world.beta.id)
    beta_only = add_facility(arrange, "ベータ第二", world.beta.id)
    assert beta_only == 2 and beta_facility == 1
    client.login_as(world.coordinator)
    response = client.post(LOT + "/works", data=work_form(facility_id="2"))
    assert response.status_code == 422 and error_fields(response.text) == {"facility_id"}
    assert "ベータ" not in response.text


def add_trace_records(arrange, storage, photos=1, inspections=1):
    def make(s):
        for n in range(inspections):
            inspection = Inspection(
                delivery_id=1,
                facility_id=1,
                stage=InspectionStage.CENTRAL,
                inspector=f"検査員{n}",
                inspected_on=date(2026, 11, 18),
                quantity=1000,
                sample_size=80,
                passed=80,
            )
            s.add(inspection)
            s.flush()
            for k in range(photos):
                stored = save_upload(
                    s,
                    storage,
                    data=jpeg_bytes((120, 90), color=("red", "blue", "green")[k % 3]),
                    filename=f"写真{k}.jpg",
                    allowed=IMAGES,
                    max_bytes=1024 * 1024,
                )
                s.add(InspectionPhoto(inspection_id=inspection.id, file_id=stored.id))

    arrange(make)


def test_the_traceability_page_tells_who_when_how(client, world, lot, arrange, storage):
    add_trace_records(arrange, storage, photos=2)
    client.login_as(world.viewer)
    page = client.get(LOT)
    assert page.status_code == 200
    for expected in (
        "さくら作業所",
        "作業マニュアル v1",
        "検査員0",
        "外観キズ",
        "組立不良の原因調査",
    ):
        assert expected in page.text
    assert page.text.count('/preview"') == 3  # the sample's photo and two new ones
    assert 'href="/t/alpha/quality/lots/1/trace.pdf"' in page.text
    # Viewers read; they get no forms.
    assert 'action="/t/alpha/quality/lots/1/works"' not in page.text


def test_the_page_costs_the_same_whatever_the_lot_holds(
    client, world, lot, arrange, storage, query_counter
):
    client.login_as(world.viewer)
    query_counter.clear()
    assert client.get(LOT).status_code == 200
    few = len(query_counter)
    add_trace_records(arrange, storage, photos=3, inspections=4)
    add_facility(arrange, "もみじ工房")
    arrange(lambda s: s.add(LotWork(delivery_id=1, facility_id=2, quantity=10)))
    query_counter.clear()
    assert client.get(LOT).status_code == 200
    assert len(query_counter) == few, query_counter


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_the_printable_record_is_an_a4_pdf_in_japanese(client, world, lot, arrange, storage):
    add_trace_records(arrange, storage, photos=2)
    client.login_as(world.viewer)
    response = client.get(LOT + "/trace.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode()
    for expected in ("L-001", "株式会社サンプル", "さくら作業所", "検査員0", "外観キズ"):
        assert expected in text
    info = subprocess.run(
        ["pdfinfo", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode()
    assert "595.276 x 841.89 pts (A4)" in info
    images = subprocess.run(
        ["pdfimages", "-list", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode()
    assert len(images.strip().splitlines()) - 2 == 2  # the two photos with a stored preview
    fonts = subprocess.run(
        ["pdffonts", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode()
    assert "Noto-Sans-CJK-JP" in fonts


def test_the_pdf_prints_without_photos_when_the_storage_is_down(
    app, client, world, lot, arrange, storage, down_storage
):
    add_trace_records(arrange, storage, photos=1)
    client.login_as(world.viewer)
    with installed(app, down_storage):
        response = client.get(LOT + "/trace.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")


def test_the_order_page_links_each_lot_to_its_traceability(client, world, lot):
    client.login_as(world.viewer)
    page = client.get("/t/alpha/orders/1")
    assert 'href="/t/alpha/quality/lots/1"' in page.text


def test_outsiders_cannot_reach_lots(client, world, lot):
    client.login_as(world.outsider)
    for method, url in [
        ("GET", LOT),
        ("GET", LOT + "/trace.pdf"),
        ("POST", LOT + "/works"),
        ("GET", "/t/alpha/quality/lots/"),
    ]:
        response = client.open(url, method=method, data=work_form())
        assert response.status_code == 404, url
        assert "さくら作業所" not in response.text and not response.data.startswith(b"%PDF")


def test_a_lot_cannot_shrink_below_what_was_made_and_inspected(client, world, lot, read):
    client.login_as(world.coordinator)
    assert client.post(LOT + "/works", data=work_form(quantity="600")).status_code == 303
    edit = "/t/alpha/orders/1/deliveries/1/edit"
    form = {"lot_no": "L-001", "due_on": "2026-07-01", "delivered_on": "", "status": "planned"}
    refused = client.post(edit, data={**form, "quantity": "599"})
    assert refused.status_code == 422
    assert error_fields(refused.text) == {"quantity"} and "600" in refused.text
    from app.orders.models import Delivery

    assert read(lambda s: s.get(Delivery, (world.alpha.id, 1)).quantity) == 1000
    assert client.post(edit, data={**form, "quantity": "600"}).status_code == 303


def test_each_share_shows_where_its_inspections_stand(client, world, lot, arrange):
    second = add_facility(arrange, "もみじ工房")
    arrange(lambda s: s.add(LotWork(delivery_id=1, facility_id=second, quantity=10)))
    client.login_as(world.coordinator)
    page = client.get(LOT).text
    sakura = page[page.index("<td>さくら作業所</td>") : page.index("<td>もみじ工房</td>")]
    momiji = page[page.index("<td>もみじ工房</td>") :].split("</tr>")[0]
    assert "badge-info" in sakura  # its self-inspection is recorded
    assert "badge-warning" in momiji  # no self-inspection yet
    assert f"/inspections/new?facility_id={second}" in momiji
