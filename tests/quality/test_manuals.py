"""Versioned manuals per order: facilities notified of a new version, acknowledgements, and
the version a lot was made under."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.quality.models import (
    LotWork,
    Manual,
    ManualAcknowledgement,
    ManualNotice,
    ManualVersion,
)
from app.timeline.models import TimelineEntry
from tests.quality.conftest import add_facility, count, error_fields, photo
from tests.support.storage import PDF_BYTES, object_keys

MANUAL = "/t/alpha/quality/manuals/1"


def publish(client, **data):
    return client.post(
        MANUAL + "/versions",
        data={"changes": "検査手順を追加", "body": "手順2: 全長を測る", **data},
        content_type="multipart/form-data",
    )


def test_a_new_manual_with_its_document(client, world, samples, read, storage):
    client.login_as(world.coordinator)
    response = client.post(
        "/t/alpha/quality/manuals/new",
        data={
            "order_id": "1",
            "kind": "faq",
            "title": "よくある質問",
            "body": "",
            "file": photo("FAQ.pdf", PDF_BYTES),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    manual = read(lambda s: s.get(Manual, (world.alpha.id, 2)))
    version = read(
        lambda s: s.scalars(select(ManualVersion).where(ManualVersion.manual_id == 2)).one()
    )
    assert manual.title == "よくある質問" and version.version_no == 1 and version.file_id
    assert len(object_keys(storage)) == 1
    empty = client.post(
        "/t/alpha/quality/manuals/new",
        data={"order_id": "1", "kind": "manual", "title": "空", "body": " "},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 422 and error_fields(empty.text) == {"body"}


def test_a_new_version_notifies_the_facilities_on_the_job(client, world, samples, arrange, read):
    helper = add_facility(arrange)
    arrange(lambda s: s.add(LotWork(delivery_id=1, facility_id=helper, quantity=0)))
    client.login_as(world.coordinator)
    assert publish(client).status_code == 303
    versions = read(
        lambda s: [
            v.version_no
            for v in s.scalars(select(ManualVersion).where(ManualVersion.manual_id == 1))
        ]
    )
    assert sorted(versions) == [1, 2]
    notices = read(
        lambda s: sorted((n.version_id, n.facility_id) for n in s.scalars(select(ManualNotice)))
    )
    assert notices == [(1, 1), (2, 1), (2, helper)]
    timeline = read(
        lambda s: [
            e.body for e in s.scalars(select(TimelineEntry).where(TimelineEntry.order_id == 1))
        ]
    )
    assert any("検査手順を追加" in body for body in timeline)
    page = client.get(MANUAL).text
    sakura = re.search(r"<td>さくら作業所</td>\s*<td>(.*?)</td>", page, re.S).group(1)
    assert sakura.startswith("v1") and "badge-warning" in sakura  # acknowledged v1, not v2
    himawari = re.search(r"<td>ひまわり工房</td>\s*<td>(.*?)</td>", page, re.S).group(1)
    assert not himawari.startswith("v") and "badge-warning" in himawari
    # The next lot work defaults to the newest version.
    lot = client.get("/t/alpha/quality/lots/1")
    assert '<option selected value="2">' in lot.text


def test_acknowledging_a_version(client, world, samples, read):
    client.login_as(world.coordinator)
    assert publish(client).status_code == 303
    ack = {"version_id": "2", "facility_id": "1", "acknowledged_by": "さくら作業所 所長"}
    assert client.post(MANUAL + "/acknowledgements", data=ack).status_code == 303
    again = client.post(MANUAL + "/acknowledgements", data=ack)
    assert again.status_code == 422 and error_fields(again.text) == {"facility_id"}
    assert read(count(ManualAcknowledgement)) == 2
    notice = read(
        lambda s: s.scalars(select(ManualNotice).where(ManualNotice.version_id == 2)).one()
    )
    assert notice.seen_at is not None
    other_manual_version = client.post(
        MANUAL + "/acknowledgements", data={**ack, "version_id": "9"}
    )
    assert other_manual_version.status_code == 422 and error_fields(other_manual_version.text) == {
        "version_id"
    }


def test_a_manual_file_must_be_a_pdf_or_an_image(client, world, samples, read, storage):
    client.login_as(world.coordinator)
    response = publish(client, file=photo("手順.docx", b"PK\x03\x04 word document"))
    assert response.status_code == 422 and error_fields(response.text) == {"file"}
    assert read(count(ManualVersion)) == 1 and object_keys(storage) == []


def test_outsiders_cannot_reach_manuals(client, world, samples):
    client.login_as(world.outsider)
    for method, url in [
        ("GET", "/t/alpha/quality/manuals/"),
        ("GET", "/t/alpha/quality/manuals/new"),
        ("POST", "/t/alpha/quality/manuals/new"),
        ("GET", MANUAL),
        ("POST", MANUAL + "/versions"),
        ("POST", MANUAL + "/acknowledgements"),
    ]:
        response = client.open(url, method=method, data={"order_id": "1", "title": "x"})
        assert response.status_code == 404, url
        assert "作業マニュアル" not in response.text
