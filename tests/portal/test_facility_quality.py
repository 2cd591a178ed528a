"""The facility portal's quality pages: the manuals to work to (and confirming them), the
facility's own progress and self-inspections with photos, its quality figures — always as the
facility of the person signed in, never for another one."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.quality.models import (
    Inspection,
    InspectionItem,
    InspectionPhoto,
    InspectionStage,
    ItemKind,
    LotWork,
    ManualAcknowledgement,
    ManualNotice,
)
from app.storage.models import StoredFile
from tests.quality.conftest import count, error_fields
from tests.support.storage import jpeg_bytes, object_keys

FACILITY = "/t/alpha/facility"
ACK_V2 = f"{FACILITY}/manuals/1/versions/{{v}}/acknowledge"


@pytest.fixture
def facility_x(client, qshop):
    return client.login_as(qshop.shop.facility_x)


def acks(read):
    return read(
        lambda s: sorted(
            (a.version_id, a.facility_id) for a in s.scalars(select(ManualAcknowledgement))
        )
    )


# --- manuals -------------------------------------------------------------------------------


def test_the_manual_to_work_to_with_its_change_notice(facility_x, qshop):
    home = facility_x.get(f"{FACILITY}/").text
    tile = home.split('id="manuals-to-confirm"', 1)[1].split("</a>", 1)[0]
    assert 'class="big-number">1<' in tile
    page = facility_x.get(f"{FACILITY}/manuals").text
    card = page.split('id="manual-1"', 1)[1].split("</li>", 1)[0]
    assert "v2" in card and "ラベルの位置を左上に変更" in card  # what changed
    assert 'href="/t/alpha/facility/manuals/1"' in card
    manual = facility_x.get(f"{FACILITY}/manuals/1").text
    assert "手順2: ラベルは左上" in manual
    assert f'action="{ACK_V2.format(v=qshop.version2)}"' in manual


def test_acknowledging_the_newest_version(facility_x, qshop, read, world):
    response = facility_x.post(ACK_V2.format(v=qshop.version2))
    assert response.status_code == 303
    assert response.headers["Location"] == f"{FACILITY}/manuals/1"
    assert (qshop.version2, 1) in acks(read)
    ack = read(
        lambda s: s.scalars(
            select(ManualAcknowledgement).where(ManualAcknowledgement.version_id == qshop.version2)
        ).one()
    )
    assert ack.acknowledged_by == "Facility_X"
    seen = read(lambda s: {n.facility_id: n.seen_at for n in s.scalars(select(ManualNotice))})
    assert seen[1] is not None and seen[qshop.facility_z] is None  # Z was not the one
    page = facility_x.get(f"{FACILITY}/manuals/1").text
    assert 'id="acknowledge"' not in page
    home = facility_x.get(f"{FACILITY}/").text
    assert 'class="big-number">0<' in home.split('id="manuals-to-confirm"', 1)[1]
    # Again: nothing new, a message.
    again = facility_x.post(ACK_V2.format(v=qshop.version2), follow_redirects=True)
    assert again.status_code == 200 and "flash-warning" in again.text
    assert acks(read).count((qshop.version2, 1)) == 1


def test_a_replaced_version_cannot_be_acknowledged(client, qshop, read, app, world):
    """Facility Z works on the lot too; version 1 is no longer the one to work to."""
    from app.extensions import db
    from tests.support.people import add_person, add_portal_member

    with app.app_context(), db.new_session() as s:
        person = add_person(s, "facility_z@example.jp")
        add_portal_member(s, world.alpha, person, facility_id=qshop.facility_z)
        s.commit()
    z = client.login_as(person)
    before = acks(read)
    response = z.post(ACK_V2.format(v=1), follow_redirects=True)
    assert response.status_code == 200 and "flash-warning" in response.text
    assert "v2" in response.text
    assert acks(read) == before


def test_facility_y_cannot_acknowledge_for_facility_x(client, qshop, read, arrange):
    y = client.login_as(qshop.shop.facility_y)
    before = acks(read)
    # Not on the job: the manual is not found, whatever is posted.
    assert y.get(f"{FACILITY}/manuals/1").status_code == 404
    response = y.post(ACK_V2.format(v=qshop.version2), data={"facility_id": "1"})
    assert response.status_code == 404
    assert acks(read) == before
    assert "作業マニュアル" not in y.get(f"{FACILITY}/manuals").text
    # On the job, its confirmation is its own: facility X still has to confirm.
    arrange(
        lambda s: s.add(
            LotWork(delivery_id=qshop.lot_a2, facility_id=qshop.shop.facility_y_id, quantity=5)
        )
    )
    assert y.post(ACK_V2.format(v=qshop.version2), data={"facility_id": "1"}).status_code == 303
    assert acks(read) == sorted([*before, (qshop.version2, qshop.shop.facility_y_id)])


def test_a_version_of_another_manual_is_not_found(facility_x, qshop, arrange):
    from app.quality.models import Manual, ManualVersion

    def other(s):
        manual = Manual(order_id=qshop.shop.order_b, title="ビー商事の手順書")
        s.add(manual)
        s.flush()
        version = ManualVersion(manual_id=manual.id, version_no=1, body="手順")
        s.add(version)
        s.flush()
        return manual.id, version.id

    manual_id, version_id = arrange(other)
    assert facility_x.get(f"{FACILITY}/manuals/{manual_id}").status_code == 404
    assert facility_x.post(ACK_V2.format(v=version_id)).status_code == 404


# --- lots: progress and self-inspection ----------------------------------------------------


def test_the_lots_are_the_facilitys_own(facility_x, client, qshop):
    page = facility_x.get(f"{FACILITY}/lots").text
    assert "L-001" in page and "L-002" in page and "B-001" not in page
    y = client.login_as(qshop.shop.facility_y)
    assert "L-001" not in y.get(f"{FACILITY}/lots").text
    for path in ("/lots/1", f"/lots/{qshop.lot_a2}"):
        assert y.get(FACILITY + path).status_code == 404
    assert y.post(f"{FACILITY}/lots/1/progress", data={"quantity": "1"}).status_code == 404
    assert y.post(f"{FACILITY}/lots/1/self-inspection").status_code == 404


def test_the_facility_records_its_progress(facility_x, qshop, read):
    url = f"{FACILITY}/lots/{qshop.lot_a2}/progress"
    data = {
        "quantity": "３００",
        "lead_person": "作業 一郎",
        "started_on": qshop.today.isoformat(),
        "finished_on": "",
        "manual_version_id": str(qshop.version2),
    }
    assert facility_x.post(url, data=data).status_code == 303
    work = read(
        lambda s: s.scalars(select(LotWork).where(LotWork.delivery_id == qshop.lot_a2)).one()
    )
    assert (work.facility_id, work.quantity, work.manual_version_id) == (1, 300, qshop.version2)
    too_many = facility_x.post(url, data={**data, "quantity": "501"})
    assert too_many.status_code == 422 and error_fields(too_many.text) == {"quantity"}
    unknown = facility_x.post(url, data={**data, "manual_version_id": "999"})
    assert error_fields(unknown.text) == {"manual_version_id"}
    assert read(lambda s: s.get(LotWork, (work.tenant_id, work.id)).quantity) == 300


def test_progress_keeps_what_the_coordinator_recorded(facility_x, qshop, read):
    data = {"quantity": "600", "lead_person": "作業 二郎", "manual_version_id": "1"}
    assert facility_x.post(f"{FACILITY}/lots/1/progress", data=data).status_code == 303
    work = read(lambda s: s.scalars(select(LotWork).where(LotWork.facility_id == 1)).one())
    assert work.lead_person == "作業 二郎" and work.workers == 13 and work.notes


def inspection(qshop, **changes):
    data = {
        "inspector": "検品 太郎",
        "inspected_on": qshop.today.isoformat(),
        "quantity": "600",
        "sample_size": "600",
        "passed": "",
        "reworked": "2",
        "failed": "0",
        "result": "accepted",
        "accepted_quantity": "",
        "notes": "",
        "item_1": "ok",
    }
    data.update(changes)
    return data


SELF = f"{FACILITY}/lots/1/self-inspection"


def test_a_self_inspection_with_photos(facility_x, client, qshop, read, storage):
    photo = (io.BytesIO(jpeg_bytes()), "自主検査.jpg")
    response = facility_x.post(
        SELF, data={**inspection(qshop), "photos": [photo]}, content_type="multipart/form-data"
    )
    assert response.status_code == 303, error_fields(response.text)
    recorded = read(lambda s: s.scalars(select(Inspection).order_by(Inspection.id.desc())).first())
    assert recorded.stage == InspectionStage.SELF and recorded.facility_id == 1
    assert (recorded.sample_size, recorded.passed, recorded.reworked) == (600, 598, 2)
    assert recorded.accepted_quantity == 600
    file_id = read(
        lambda s: s.scalars(
            select(InspectionPhoto.file_id).where(InspectionPhoto.inspection_id == recorded.id)
        ).one()
    )
    assert len(object_keys(storage)) == 2
    page = facility_x.get(f"{FACILITY}/lots/1").text
    assert f'src="/t/alpha/facility/files/{file_id}/preview"' in page
    with facility_x.get(f"{FACILITY}/files/{file_id}/preview") as own:
        assert own.status_code == 200 and own.data.startswith(b"\xff\xd8\xff")
    # The buyer sees it on its delivered lot's record; facility Y does not.
    with client.login_as(qshop.shop.buyer_a).get(
        f"/t/alpha/portal/files/{file_id}/preview"
    ) as shared:
        assert shared.status_code == 200 and shared.data.startswith(b"\xff\xd8\xff")
    y = client.login_as(qshop.shop.facility_y)
    assert y.get(f"{FACILITY}/files/{file_id}/preview").status_code == 404
    assert y.get(f"{FACILITY}/files/{file_id}").status_code == 404


def stored_nothing(read, storage=None):
    assert read(count(Inspection)) == 3  # the sample's and the two central checks
    assert read(count(StoredFile)) == 1
    if storage is not None:
        assert object_keys(storage) == []


def test_a_photo_that_is_not_an_image_stores_nothing(facility_x, qshop, read, storage):
    good = (io.BytesIO(jpeg_bytes()), "良い.jpg")
    text = (io.BytesIO(b"this is not a photo"), "写真.jpg")
    response = facility_x.post(
        SELF, data={**inspection(qshop), "photos": [good, text]}, content_type="multipart/form-data"
    )
    assert response.status_code == 422 and error_fields(response.text) == {"photos"}
    assert "写真.jpg" in response.text
    stored_nothing(read, storage)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sample_size": "601", "quantity": "600"}, "sample_size"),  # a sample beyond it
        ({"quantity": "601", "sample_size": "601"}, "quantity"),  # more than it made
        ({"failed": "3", "reworked": "0"}, "result"),  # failures cannot be "all OK"
        ({"failed": "400", "reworked": "300"}, "failed"),  # more than the sample
        ({"passed": "10"}, "passed"),  # does not add up
        ({"result": "partial", "accepted_quantity": "600"}, "accepted_quantity"),
        ({"inspected_on": "2999-01-01"}, "inspected_on"),
        ({"quantity": "たくさん"}, "quantity"),
    ],
)
def test_bad_self_inspections_store_nothing(facility_x, qshop, read, changes, field):
    response = facility_x.post(SELF, data=inspection(qshop, **changes))
    assert response.status_code == 422
    assert error_fields(response.text) == {field}
    stored_nothing(read)


def test_a_measurement_that_is_not_a_number(facility_x, qshop, read, arrange):
    def measure(s):
        item = InspectionItem(
            plan_id=1,
            position=2,
            kind=ItemKind.MEASURE,
            name="全長",
            unit="mm",
            nominal=10.0,
            tolerance_minus=0.1,
            tolerance_plus=0.1,
        )
        s.add(item)
        s.flush()
        return item.id

    item_id = arrange(measure)
    page = facility_x.get(f"{FACILITY}/lots/1").text
    assert f'name="item_{item_id}"' in page
    response = facility_x.post(SELF, data=inspection(qshop, **{f"item_{item_id}": "10.0 ten"}))
    assert response.status_code == 422 and error_fields(response.text) == {f"item_{item_id}"}
    stored_nothing(read)


# --- figures -------------------------------------------------------------------------------


def test_the_facilitys_own_quality_figures(facility_x, client, qshop):
    page = facility_x.get(f"{FACILITY}/quality").text
    # Central check of X's share: 80 of 80 passed; lot 1 delivered on its due date.
    assert "100.0%" in page.split('id="first-pass-yield"', 1)[1].split("</div>", 1)[0]
    assert "0.0%" in page.split('id="defect-rate"', 1)[1].split("</div>", 1)[0]
    assert "100%" in page.split('id="on-time"', 1)[1].split("</div>", 1)[0]
    assert "みどり工房" not in page
    y_page = client.login_as(qshop.shop.facility_y).get(f"{FACILITY}/quality").text
    assert "—" in y_page.split('id="first-pass-yield"', 1)[1].split("</div>", 1)[0]


def test_outsiders_and_buyers_cannot_reach_the_facility_pages(client, world, qshop):
    outsider = client.login_as(world.outsider)
    for path in ("/manuals", "/manuals/1", "/lots", "/lots/1", "/quality", "/files/1"):
        assert outsider.get(FACILITY + path).status_code == 404, path
    assert outsider.post(ACK_V2.format(v=qshop.version2)).status_code == 404
    buyer = client.login_as(qshop.shop.buyer_a)
    assert buyer.get(f"{FACILITY}/manuals").status_code == 403


# --- cost ----------------------------------------------------------------------------------

# The request's own three (user, the person's workspaces, which the switcher shows too, and
# the facility) plus
# the page's: manuals — orders, manuals, versions, confirmations, notices; lots — count,
# rows, the facility's work and its inspections on them.
LIST_QUERIES = {"/manuals": 8, "/lots": 7}


def test_list_pages_cost_a_pinned_number_of_queries(facility_x, qshop, arrange, query_counter):
    from app.orders.models import Delivery, Order
    from app.quality.models import Manual, ManualVersion

    def cost(path):
        facility_x.get(FACILITY + path)
        query_counter.clear()
        assert facility_x.get(FACILITY + path).status_code == 200
        return len([q for q in query_counter if "set_config" not in q])

    few = {path: cost(path) for path in LIST_QUERIES}

    def grow(s):
        for n in range(20):
            order = Order(buyer_id=1, title=f"受注{n}", confirmed_on=qshop.today)
            s.add(order)
            s.flush()
            manual = Manual(order_id=order.id, title=f"手順書{n}")
            lot = Delivery(order_id=order.id, lot_no=f"N-{n}", original_due_on=qshop.today)
            s.add_all([manual, lot])
            s.flush()
            s.add_all(
                [
                    ManualVersion(manual_id=manual.id, version_no=1, body="手順"),
                    LotWork(delivery_id=lot.id, facility_id=1, quantity=1),
                    Inspection(
                        delivery_id=lot.id,
                        facility_id=1,
                        stage=InspectionStage.SELF,
                        inspector="検品 太郎",
                        inspected_on=qshop.today,
                        quantity=1,
                        sample_size=1,
                        passed=1,
                    ),
                ]
            )

    arrange(grow)
    many = {path: cost(path) for path in LIST_QUERIES}
    assert many == few, query_counter
    assert few == LIST_QUERIES
    assert facility_x.get(f"{FACILITY}/manuals").text.count('class="work-card manual-card') == 21


def test_the_manuals_document_opens_for_the_facilities_on_the_job_only(
    facility_x, client, qshop, app, world, storage
):
    from app.extensions import db
    from app.quality.models import ManualVersion
    from app.storage.checks import IMAGES_AND_DOCUMENTS
    from app.storage.service import save_upload
    from tenants.isolation import tenant_scope
    from tests.support.storage import PDF_BYTES

    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        stored = save_upload(
            s,
            storage,
            data=PDF_BYTES,
            filename="作業手順書.pdf",
            allowed=IMAGES_AND_DOCUMENTS,
            max_bytes=10**7,
        )
        s.get(ManualVersion, (world.alpha.id, qshop.version2)).file_id = stored.id
        s.commit()
        file_id = stored.id
    page = facility_x.get(f"{FACILITY}/manuals/1").text
    assert f'href="/t/alpha/facility/files/{file_id}"' in page
    with facility_x.get(f"{FACILITY}/files/{file_id}") as response:
        if response.status_code == 303:  # S3: a short-lived link to the object
            assert storage.name == "s3" and "X-Amz-Signature" in response.headers["Location"]
        else:
            assert response.status_code == 200 and response.data == PDF_BYTES
    y = client.login_as(qshop.shop.facility_y)
    assert y.get(f"{FACILITY}/files/{file_id}").status_code == 404
    buyer = client.login_as(qshop.shop.buyer_a)
    assert buyer.get(f"/t/alpha/portal/files/{file_id}/preview").status_code == 404


def test_another_workspaces_records_with_the_same_ids_never_count(facility_x, qshop, app, world):
    """In beta, facility 1 works on order 2 (ids are per workspace): in alpha, order 2 is
    company B's, which facility X does not work on — its lot and manual stay out of reach."""
    from datetime import date

    from app.extensions import db
    from app.matching.models import Assignment
    from app.orders.models import Order
    from app.quality.models import Manual, ManualVersion
    from tenants.isolation import tenant_scope
    from tests.support.samples import add_sample_records

    def manual_b(s):
        manual = Manual(order_id=qshop.shop.order_b, title="ビー商事の手順書")
        s.add(manual)
        s.flush()
        s.add(ManualVersion(manual_id=manual.id, version_no=1, body="手順"))
        return manual.id

    with app.app_context(), db.new_session() as s:
        add_sample_records(s, world.memberships["outsider"], label="β")
        with tenant_scope(s, world.beta.id):
            order = Order(buyer_id=1, title="β受注", confirmed_on=date(2026, 6, 1))
            s.add(order)
            s.flush()
            assert order.id == qshop.shop.order_b
            s.add(
                Assignment(
                    order_id=order.id, facility_id=1, month=date(2026, 7, 1), quantity=1, hours=1
                )
            )
            s.commit()
        with tenant_scope(s, world.alpha.id):
            manual_id = manual_b(s)
            s.commit()
    assert "B-001" not in facility_x.get(f"{FACILITY}/lots").text
    assert facility_x.get(f"{FACILITY}/lots/{qshop.lot_b}").status_code == 404
    assert "ビー商事の手順書" not in facility_x.get(f"{FACILITY}/manuals").text
    assert facility_x.get(f"{FACILITY}/manuals/{manual_id}").status_code == 404
