"""Technical support requests against the agreement's service scope: flagged before they
are promised, free visits counted per fiscal year, the paid rate, the response deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.agreements.models import Agreement
from app.db import utcnow
from app.jp import today_jst
from app.orders.models import Order
from app.quality.models import ScopeVerdict, SupportRequest, SupportStatus
from tests.quality.conftest import count, error_fields

NEW = "/t/alpha/quality/support/new"


@pytest.fixture
def scoped(arrange, samples):
    """Agreement 1 (of order 1): remote first, one free visit a year, ¥30,000 a paid visit,
    an answer within 24 hours."""

    def make(s):
        agreement = s.get(Agreement, (s.info["tenant_id"], 1))
        agreement.remote_support_first = True
        agreement.onsite_support_included = True
        agreement.free_onsite_visits_per_year = 1
        agreement.onsite_rate_yen = 30_000
        agreement.response_time_hours = 24
        agreement.support_scope_notes = "納品物の不具合に限る"

    arrange(make)


def ask(client, **changes):
    data = {
        "order_id": "1",
        "nonconformance_id": "",
        "facility_id": "",
        "subject": "組立ラインで嵌合不良",
        "description": "現地で確認してほしい",
        "requested_by": "発注企業 製造部 田中",
        "mode": "onsite",
    }
    data.update(changes)
    response = client.post(NEW, data=data)
    assert response.status_code == 303, error_fields(response.text)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def promise(client, request_id, **data):
    visit = (today_jst() + timedelta(days=3)).isoformat()
    return client.post(
        f"/t/alpha/quality/support/{request_id}/promise", data={"visit_on": visit, **data}
    )


def get(read, world, request_id):
    return read(lambda s: s.get(SupportRequest, (world.alpha.id, request_id)))


def test_a_request_gets_its_response_deadline(client, world, scoped, read):
    client.login_as(world.coordinator)
    before = utcnow()
    request_id = ask(client, mode="remote")
    saved = get(read, world, request_id)
    assert saved.agreement_id == 1
    assert before + timedelta(hours=24) <= saved.response_due_at <= utcnow() + timedelta(hours=24)
    page = client.get(f"/t/alpha/quality/support/{request_id}")
    assert page.status_code == 200 and "納品物の不具合に限る" in page.text


def test_a_visit_before_remote_support_is_flagged_before_it_is_promised(
    client, world, scoped, read
):
    client.login_as(world.coordinator)
    request_id = ask(client, remote_tried="")
    page = client.get(f"/t/alpha/quality/support/{request_id}")
    assert 'class="alert alert-danger"' in page.text
    refused = promise(client, request_id)
    assert refused.status_code == 422 and error_fields(refused.text) == {"exception_note"}
    unconfirmed = promise(client, request_id, exception_note="部長判断")
    assert unconfirmed.status_code == 422
    assert get(read, world, request_id).status == SupportStatus.OPEN
    confirmed = promise(
        client, request_id, confirm_exception="y", exception_note="発注企業と合意、部長判断"
    )
    assert confirmed.status_code == 303
    saved = get(read, world, request_id)
    assert saved.status == SupportStatus.PROMISED
    assert saved.verdict == ScopeVerdict.OUT_OF_SCOPE and not saved.uses_free_visit
    assert saved.exception_note == "発注企業と合意、部長判断"
    assert saved.first_response_at is not None


def test_free_visit_then_paid_visit_in_the_same_fiscal_year(client, world, scoped, read):
    client.login_as(world.coordinator)
    first = ask(client, remote_tried="y")
    assert promise(client, first).status_code == 303
    saved = get(read, world, first)
    assert saved.verdict == ScopeVerdict.IN_SCOPE and saved.uses_free_visit
    assert saved.fee_yen == 0
    second = ask(client, remote_tried="y")
    page = client.get(f"/t/alpha/quality/support/{second}")
    assert "30,000円" in page.text and 'class="alert alert-danger"' in page.text
    assert promise(client, second).status_code == 422  # the buyer must agree to the fee
    assert (
        promise(client, second, confirm_exception="y", exception_note="有償で合意").status_code
        == 303
    )
    paid = get(read, world, second)
    assert (paid.verdict, paid.fee_yen, paid.uses_free_visit) == (ScopeVerdict.PAID, 30_000, False)
    # Declining the free one gives its visit back.
    assert (
        client.post(
            f"/t/alpha/quality/support/{first}/outcome",
            data={"action": "decline", "outcome": "不要になった"},
        ).status_code
        == 303
    )
    third = ask(client, remote_tried="y")
    assert promise(client, third).status_code == 303
    assert get(read, world, third).uses_free_visit


def test_an_order_without_agreement_has_no_scope(client, world, samples, arrange, read):
    def bare(s):
        s.get(Order, (world.alpha.id, 1)).agreement_id = None

    arrange(bare)
    client.login_as(world.coordinator)
    request_id = ask(client, mode="remote")
    page = client.get(f"/t/alpha/quality/support/{request_id}")
    assert 'class="alert alert-danger"' in page.text
    assert get(read, world, request_id).response_due_at is None
    assert promise(client, request_id).status_code == 422


def test_outcome_and_its_rules(client, world, scoped, read):
    client.login_as(world.coordinator)
    request_id = ask(client, mode="remote", nonconformance_id="1")
    outcome = f"/t/alpha/quality/support/{request_id}/outcome"
    early = client.post(outcome, data={"action": "done", "outcome": "解決"})
    assert early.status_code == 422  # promise first
    assert promise(client, request_id).status_code == 303
    empty = client.post(outcome, data={"action": "done", "outcome": ""})
    assert error_fields(empty.text) == {"outcome"}
    assert (
        client.post(
            outcome, data={"action": "done", "outcome": "治具の調整方法を動画で共有"}
        ).status_code
        == 303
    )
    done = get(read, world, request_id)
    assert done.status == SupportStatus.DONE and done.resolved_on == today_jst()
    assert done.nonconformance_id == 1


def test_a_nonconformance_of_another_order_is_refused(client, world, scoped, arrange, read):
    from datetime import date

    def other(s):
        order = Order(buyer_id=1, title="別の案件", confirmed_on=date(2026, 6, 1))
        s.add(order)
        s.flush()
        return order.id

    other_id = arrange(other)
    client.login_as(world.coordinator)
    response = client.post(
        NEW,
        data={
            "order_id": str(other_id),
            "nonconformance_id": "1",
            "subject": "x",
            "mode": "remote",
        },
    )
    assert response.status_code == 422
    assert read(count(SupportRequest)) == 1


def test_the_request_form_starts_from_a_nonconformance(client, world, scoped):
    client.login_as(world.coordinator)
    form = client.get(NEW + "?nonconformance_id=1")
    assert form.status_code == 200
    assert 'value="外観キズ"' in form.text
    assert '<option selected value="1">' in form.text


def test_outsiders_cannot_reach_support_requests(client, world, scoped):
    client.login_as(world.outsider)
    for method, url in [
        ("GET", "/t/alpha/quality/support/"),
        ("GET", NEW),
        ("POST", NEW),
        ("GET", "/t/alpha/quality/support/1"),
        ("POST", "/t/alpha/quality/support/1/respond"),
        ("POST", "/t/alpha/quality/support/1/promise"),
        ("POST", "/t/alpha/quality/support/1/outcome"),
    ]:
        response = client.open(url, method=method, data={"order_id": "1", "subject": "x"})
        assert response.status_code == 404, url
        assert "組立不良の原因調査" not in response.text


def test_the_agreement_form_records_the_support_scope(client, world, samples, read):
    client.login_as(world.admin)
    edit = client.get("/t/alpha/agreements/1/edit")
    assert 'name="onsite_support_included"' in edit.text
    assert 'name="support_scope_notes"' in edit.text
    data = {
        "buyer_id": "1",
        "title": "包括連携協定",
        "kind": "comprehensive",
        "remind_days_before_renewal": "60",
        "remote_support_first": "yes",
        "onsite_support_included": "no",
        "support_scope_notes": "遠隔支援のみ",
    }
    assert client.post("/t/alpha/agreements/1/edit", data=data).status_code == 303
    agreement = read(lambda s: s.get(Agreement, (world.alpha.id, 1)))
    assert agreement.onsite_support_included is False
    assert agreement.support_scope_notes == "遠隔支援のみ"
    page = client.get("/t/alpha/agreements/1")
    assert "遠隔支援のみ" in page.text
    # An on-site request is then out of scope whatever else the agreement says.
    client.login_as(world.coordinator)
    request_id = ask(client, remote_tried="y")
    assert promise(client, request_id).status_code == 422
