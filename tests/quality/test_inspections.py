"""Inspections of a lot: recording, the sampling rules, photos and remote verification, and
bad input that stores nothing — on the local folder and on S3."""

from __future__ import annotations

import io
import re

from app.quality.models import (
    Inspection,
    InspectionMethod,
    InspectionPhoto,
    InspectionResult,
    InspectionStage,
    InspectionValue,
)
from app.storage.models import StoredFile
from tests.conftest import add_member
from tests.quality.conftest import count, error_fields, inspection_form, photo
from tests.support.storage import installed, object_keys, png_bytes

NEW = "/t/alpha/quality/lots/1/inspections/new"


def post_inspection(client, **changes):
    data = inspection_form(**changes)
    return client.post(NEW, data=data, content_type="multipart/form-data")


def stored_nothing(read, storage, inspections_before=1):
    assert read(count(Inspection)) == inspections_before
    assert read(count(InspectionValue)) == 1  # the sample's
    assert read(count(InspectionPhoto)) == 1
    assert read(count(StoredFile)) == 1
    assert object_keys(storage) == []


def test_the_form_offers_the_lots_sampling_plan(client, world, lot, measure_item):
    client.login_as(world.coordinator)
    response = client.get(NEW)
    assert response.status_code == 200
    # Lot of 1,000 at AQL 1.0, level II: code J, 80 items, Ac 2, Re 3.
    assert re.search(r'<input id="sample_size"[^>]* value="80"', response.text)
    assert 'name="item_2"' in response.text and 'name="item_1"' in response.text


def test_a_central_inspection_with_measurements_checks_and_photos(
    client, world, lot, measure_item, read, storage
):
    client.login_as(world.coordinator)
    response = post_inspection(
        client,
        item_2="10.05 ９．８５ 10.2",
        photos=[photo("表.jpg"), photo("裏.png", png_bytes())],
    )
    assert response.status_code == 303, error_fields(response.text)
    assert response.headers["Location"] == "/t/alpha/quality/inspections/2"
    inspection = read(lambda s: s.get(Inspection, (world.alpha.id, 2)))
    assert inspection.stage == InspectionStage.CENTRAL
    assert inspection.result == InspectionResult.ACCEPTED
    assert inspection.accepted_quantity == 1000
    assert (inspection.plan_code_letter, inspection.plan_sample_size) == ("J", 80)
    assert (inspection.plan_accept, inspection.plan_reject) == (2, 3)
    values = read(
        lambda s: [
            (v.item_id, v.sample_no, v.value, v.ok)
            for v in s.query(InspectionValue)
            .filter_by(inspection_id=2)
            .order_by("item_id", "sample_no")
        ]
    )
    assert values == [
        (1, 1, None, True),
        (measure_item, 1, 10.05, True),
        (measure_item, 2, 9.85, False),  # below 10.0 − 0.1
        (measure_item, 3, 10.2, True),  # the upper limit itself is within
    ]
    assert read(count(InspectionPhoto)) == 3
    assert len(object_keys(storage)) == 4  # two photos and their previews
    page = client.get("/t/alpha/quality/inspections/2")
    assert page.status_code == 200
    assert page.text.count('/preview"') == 2 and "out-of-tolerance" in page.text


def test_a_lot_quantity_below_the_inspected_count_is_refused(client, world, lot, read, storage):
    client.login_as(world.coordinator)
    response = post_inspection(client, quantity="1001", photos=[photo()])
    assert response.status_code == 422
    assert error_fields(response.text) == {"quantity"}
    stored_nothing(read, storage)


def test_a_measurement_that_is_not_a_number_is_refused(
    client, world, lot, measure_item, read, storage
):
    client.login_as(world.coordinator)
    response = post_inspection(client, item_2="10.01 十 10.02", photos=[photo()])
    assert response.status_code == 422
    assert error_fields(response.text) == {f"item_{measure_item}"}
    assert "十" in response.text
    stored_nothing(read, storage)


def test_a_photo_that_is_not_an_image_is_refused(client, world, lot, read, storage):
    client.login_as(world.coordinator)
    fake = photo("写真.jpg", "これは画像ではありません".encode())
    response = post_inspection(client, photos=[photo("本物.jpg"), fake])
    assert response.status_code == 422
    assert error_fields(response.text) == {"photos"}
    assert "写真.jpg" in response.text
    stored_nothing(read, storage)


def test_a_200_mb_upload_gets_a_clear_413_page(client, world, lot, read, storage):
    size = 200 * 1024 * 1024

    class Endless(io.RawIOBase):
        """200 MB that would only exist if someone read it."""

        read_bytes = 0
        position = 0

        def readable(self):
            return True

        def seekable(self):
            return True

        def seek(self, offset, whence=io.SEEK_SET):
            self.position = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: size}[
                whence
            ] + offset
            return self.position

        def tell(self):
            return self.position

        def readinto(self, buffer):
            self.read_bytes += len(buffer)
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    body = Endless()
    client.login_as(world.coordinator)
    response = client.post(
        NEW,
        input_stream=body,
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 413
    assert "20 MB" in response.text and 'lang="ja"' in response.text
    assert body.read_bytes < 1024 * 1024  # refused before reading the body
    stored_nothing(read, storage)


def test_the_acceptance_number_decides_whole_acceptance(client, world, lot, read, storage):
    client.login_as(world.coordinator)
    # 3 nonconforming (2 failed, 1 reworked) reach Re 3: not acceptable as a whole.
    refused = post_inspection(client, passed="77", failed="2", reworked="1")
    assert refused.status_code == 422 and error_fields(refused.text) == {"result"}
    too_small = post_inspection(client, sample_size="50", passed="50", reworked="0")
    assert too_small.status_code == 422 and error_fields(too_small.text) == {"sample_size"}
    bad_partial = post_inspection(
        client, passed="77", failed="2", reworked="1", result="partial", accepted_quantity="1000"
    )
    assert error_fields(bad_partial.text) == {"accepted_quantity"}
    partial = post_inspection(
        client, passed="77", failed="2", reworked="1", result="partial", accepted_quantity="950"
    )
    assert partial.status_code == 303
    saved = read(lambda s: s.get(Inspection, (world.alpha.id, 2)))
    assert (saved.result, saved.accepted_quantity) == (InspectionResult.PARTIAL, 950)


def test_counts_must_add_up(client, world, lot):
    client.login_as(world.coordinator)
    response = post_inspection(client, passed="70")
    assert response.status_code == 422 and error_fields(response.text) == {"passed"}
    over = post_inspection(client, sample_size="1001", quantity="1000")
    assert error_fields(over.text) == {"sample_size"}


def test_self_inspections_are_recorded_as_the_facility_reports_them(client, world, lot, read):
    client.login_as(world.coordinator)
    response = post_inspection(client, stage="self", sample_size="10", passed="10", reworked="0")
    assert response.status_code == 303
    saved = read(lambda s: s.get(Inspection, (world.alpha.id, 2)))
    assert saved.stage == InspectionStage.SELF and saved.plan_sample_size is None


def test_remote_verification_from_photos(client, world, lot, read, storage):
    client.login_as(world.coordinator)
    without = post_inspection(client, method="remote_photo", result="pending")
    assert without.status_code == 422 and error_fields(without.text) == {"photos"}
    with_photos = post_inspection(
        client, method="remote_photo", result="pending", photos=[photo(), photo("2.jpg")]
    )
    assert with_photos.status_code == 303
    pending = read(lambda s: s.get(Inspection, (world.alpha.id, 2)))
    assert pending.method == InspectionMethod.REMOTE_PHOTO
    assert (pending.result, pending.accepted_quantity) == (InspectionResult.PENDING, None)
    page = client.get("/t/alpha/quality/inspections/2")
    assert 'action="/t/alpha/quality/inspections/2/result"' in page.text
    verdict = client.post("/t/alpha/quality/inspections/2/result", data={"result": "accepted"})
    assert verdict.status_code == 303
    done = read(lambda s: s.get(Inspection, (world.alpha.id, 2)))
    assert (done.result, done.accepted_quantity, done.plan_code_letter) == (
        InspectionResult.ACCEPTED,
        1000,
        "J",
    )
    more = client.post(
        "/t/alpha/quality/inspections/2/photos",
        data={"photos": [photo("追加.jpg")], "caption": "梱包"},
        content_type="multipart/form-data",
    )
    assert more.status_code == 303
    assert read(count(InspectionPhoto)) == 4
    refused = client.post(
        "/t/alpha/quality/inspections/2/photos",
        data={"photos": [photo("x.jpg", b"%PDF-1.4 not a photo")]},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and error_fields(refused.text) == {"photos"}
    assert read(count(InspectionPhoto)) == 4


def test_storage_down_stores_nothing_and_says_so(app, client, world, lot, read, down_storage):
    client.login_as(world.coordinator)
    with installed(app, down_storage):
        response = post_inspection(client, photos=[photo()])
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert read(count(Inspection)) == 1 and read(count(StoredFile)) == 1
    # Without photos, inspections still work while the storage is down.
    with installed(app, down_storage):
        assert post_inspection(client).status_code == 303


def test_the_quality_role_records_and_the_viewer_cannot(app, client, world, lot, read):
    from app.auth.service import create_user
    from app.extensions import db
    from tenants.models import Role

    with app.app_context(), db.new_session() as s:
        person = create_user(s, "quality@example.jp", "Quality", "correct horse battery")
        add_member(s, world.alpha, person, Role.QUALITY)
        s.commit()
    client.login_as(person)
    assert post_inspection(client).status_code == 303
    client.login_as(world.viewer)
    assert client.get(NEW).status_code == 403
    assert post_inspection(client).status_code == 403
    assert read(count(Inspection)) == 2


def test_outsiders_cannot_reach_inspections(client, world, lot):
    client.login_as(world.outsider)
    for method, url in [
        ("GET", NEW),
        ("POST", NEW),
        ("GET", "/t/alpha/quality/inspections/1"),
        ("POST", "/t/alpha/quality/inspections/1/photos"),
        ("POST", "/t/alpha/quality/inspections/1/result"),
    ]:
        response = client.open(url, method=method, data=inspection_form())
        assert response.status_code == 404, url
        assert "検品 太郎" not in response.text
