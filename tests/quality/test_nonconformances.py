"""Nonconformances: raised on a lot of this workspace only, worked through their status flow,
closed with evidence."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.orders.models import Delivery
from app.quality.models import (
    Nonconformance,
    NonconformanceAction,
    NonconformanceFile,
    NonconformanceStatus,
)
from app.storage.models import StoredFile
from app.timeline.models import TimelineEntry
from tests.quality.conftest import count, error_fields, photo
from tests.support.storage import PDF_BYTES, object_keys

NEW = "/t/alpha/quality/nonconformances/new"
NC = "/t/alpha/quality/nonconformances/2"


def nc_form(**changes):
    data = {
        "delivery_id": "1",
        "facility_id": "1",
        "inspection_id": "1",
        "source": "buyer",
        "severity": "major",
        "title": "端子の曲がり",
        "description": "受入検査で3個発見",
        "quantity_affected": "3",
        "found_on": "2026-11-19",
    }
    data.update(changes)
    return data


def raise_one(client, **changes):
    return client.post(NEW, data=nc_form(**changes), content_type="multipart/form-data")


def test_raising_a_nonconformance_from_its_lot(client, world, lot, read, storage):
    client.login_as(world.coordinator)
    form = client.get(NEW + "?delivery_id=1&inspection_id=1&facility_id=1")
    assert form.status_code == 200 and "L-001" in form.text
    response = raise_one(client, evidence=[photo("曲がり.jpg")])
    assert response.status_code == 303 and response.headers["Location"].endswith("/2")
    nc = read(lambda s: s.get(Nonconformance, (world.alpha.id, 2)))
    assert (nc.delivery_id, nc.facility_id, nc.inspection_id) == (1, 1, 1)
    assert nc.status == NonconformanceStatus.OPEN and nc.quantity_affected == 3
    assert read(count(NonconformanceFile)) == 2 and len(object_keys(storage)) == 2
    notes = read(
        lambda s: [
            e.body for e in s.scalars(select(TimelineEntry).where(TimelineEntry.order_id == 1))
        ]
    )
    assert any("端子の曲がり" in body for body in notes)


def test_without_a_lot_the_form_sends_you_to_choose_one(client, world, lot):
    client.login_as(world.coordinator)
    response = client.get(NEW)
    assert response.status_code == 303
    assert response.headers["Location"] == "/t/alpha/quality/lots/"


def test_a_nonconformance_on_another_workspaces_lot_is_refused(client, world, lot, arrange, read):
    def beta_lots(s):
        from app.buyers.models import Buyer
        from app.orders.models import Order

        buyer = Buyer(name="ベータ商事")
        s.add(buyer)
        s.flush()
        order = Order(buyer_id=buyer.id, title="ベータの案件", confirmed_on=date(2026, 5, 1))
        s.add(order)
        s.flush()
        s.add_all(
            Delivery(
                order_id=order.id, lot_no=f"BETA-{n}", quantity=50, original_due_on=date(2026, 6, n)
            )
            for n in range(1, 4)
        )

    arrange(beta_lots, world.beta.id)
    client.login_as(world.coordinator)
    for bad in ("3", "99", "x", "-1", "1" * 20):
        response = raise_one(client, delivery_id=bad, evidence=[photo()])
        assert response.status_code == 422, bad
        assert error_fields(response.text) == {"delivery_id"}
        assert "BETA" not in response.text and "ベータ" not in response.text
    assert read(count(Nonconformance)) == 1
    assert read(count(StoredFile)) == 1
    assert read(count(Nonconformance), world.beta.id) == 0
    # The outsider cannot write to alpha's lots at all.
    client.login_as(world.outsider)
    assert raise_one(client).status_code == 404
    assert client.get(NEW + "?delivery_id=1").status_code == 404


def test_bad_input_stores_nothing(client, world, lot, read, storage):
    client.login_as(world.coordinator)
    too_many = raise_one(client, quantity_affected="1001", evidence=[photo()])
    assert error_fields(too_many.text) == {"quantity_affected"}
    not_a_file = raise_one(client, evidence=[photo("報告.pdf", b"MZ\x90\x00 executable")])
    assert error_fields(not_a_file.text) == {"evidence"}
    wrong_inspection = raise_one(client, inspection_id="7")
    assert error_fields(wrong_inspection.text) == {"inspection_id"}
    assert read(count(Nonconformance)) == 1 and object_keys(storage) == []


def test_the_status_flow_and_closure_with_evidence(client, world, lot, read, storage):
    client.login_as(world.coordinator)
    assert raise_one(client).status_code == 303

    def status(value):
        return client.post(NC + "/status", data={"status": value})

    assert status("closed").status_code == 422  # closing has its own form
    assert status("investigating").status_code == 303
    no_cause = status("acting")
    assert no_cause.status_code == 422 and error_fields(no_cause.text) == {"status"}
    assert client.post(NC + "/analysis", data={"root_cause": "治具の摩耗"}).status_code == 303
    assert status("acting").status_code == 303
    assert error_fields(status("verifying").text) == {"status"}  # no corrective action yet
    action = {
        "kind": "corrective",
        "description": "治具交換",
        "owner": "さくら作業所",
        "due_on": "2026-11-25",
    }
    assert client.post(NC + "/actions", data=action).status_code == 303
    preventive = {
        **action,
        "kind": "preventive",
        "description": "点検表に追加",
        "due_on": "2026-12-10",
    }
    assert client.post(NC + "/actions", data=preventive).status_code == 303
    assert status("verifying").status_code == 303

    close = {"closure_note": "再検査で不良ゼロ", "closed_on": "2026-12-12"}
    open_actions = client.post(NC + "/close", data=close, content_type="multipart/form-data")
    assert open_actions.status_code == 422 and error_fields(open_actions.text) == {"closure_note"}
    for action_id in (2, 3):
        assert client.post(f"{NC}/actions/{action_id}/done").status_code == 303
    no_evidence = client.post(NC + "/close", data=close, content_type="multipart/form-data")
    assert no_evidence.status_code == 422 and error_fields(no_evidence.text) == {"evidence"}
    no_note = client.post(
        NC + "/close",
        data={**close, "closure_note": " ", "evidence": [photo()]},
        content_type="multipart/form-data",
    )
    assert error_fields(no_note.text) == {"closure_note"} and object_keys(storage) == []
    closed = client.post(
        NC + "/close",
        data={**close, "evidence": [photo("再検査.jpg"), photo("報告書.pdf", PDF_BYTES)]},
        content_type="multipart/form-data",
    )
    assert closed.status_code == 303
    nc = read(lambda s: s.get(Nonconformance, (world.alpha.id, 2)))
    assert nc.status == NonconformanceStatus.CLOSED and nc.closed_on == date(2026, 12, 12)
    assert read(count(NonconformanceFile)) == 1 + 2
    # Closed: no more changes until reopened.
    assert client.post(NC + "/actions", data=action).status_code == 422
    assert status("acting").status_code == 303
    reopened = read(lambda s: s.get(Nonconformance, (world.alpha.id, 2)))
    assert reopened.status == NonconformanceStatus.ACTING and reopened.closed_on is None
    assert read(count(NonconformanceAction)) == 3


def test_the_list_shows_open_ones_first_by_severity(client, world, lot, arrange):
    def more(s):
        for title, severity, status in [
            ("軽微なキズ", "minor", "open"),
            ("重大な欠品", "critical", "open"),
            ("済んだ件", "critical", "closed"),
        ]:
            s.add(
                Nonconformance(
                    delivery_id=1,
                    source="internal",
                    severity=severity,
                    title=title,
                    found_on=date(2026, 11, 1),
                    status=status,
                    closed_on=date(2026, 11, 2) if status == "closed" else None,
                )
            )

    arrange(more)
    client.login_as(world.viewer)
    html = client.get("/t/alpha/quality/nonconformances/").text
    assert html.index("重大な欠品") < html.index("軽微なキズ")
    assert "済んだ件" not in html
    closed = client.get("/t/alpha/quality/nonconformances/?status=closed").text
    assert "済んだ件" in closed and "重大な欠品" not in closed
    assert (
        "重大な欠品"
        in client.get("/t/alpha/quality/nonconformances/?severity=critical&q=欠品").text
    )


def test_outsiders_cannot_reach_nonconformances(client, world, lot):
    client.login_as(world.outsider)
    for method, url in [
        ("GET", "/t/alpha/quality/nonconformances/"),
        ("GET", "/t/alpha/quality/nonconformances/1"),
        ("POST", "/t/alpha/quality/nonconformances/1/analysis"),
        ("POST", "/t/alpha/quality/nonconformances/1/actions"),
        ("POST", "/t/alpha/quality/nonconformances/1/actions/1/done"),
        ("POST", "/t/alpha/quality/nonconformances/1/status"),
        ("POST", "/t/alpha/quality/nonconformances/1/evidence"),
        ("POST", "/t/alpha/quality/nonconformances/1/close"),
    ]:
        response = client.open(url, method=method, data={"status": "investigating"})
        assert response.status_code == 404, url
        assert "外観キズ" not in response.text
