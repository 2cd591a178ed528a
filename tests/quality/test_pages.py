"""The quality screens: navigation, plans per order, list pages at a fixed query cost, and
outsiders kept out of every route."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from flask import Flask

from app.db import utcnow
from app.orders.models import Delivery, Order
from app.quality.models import (
    InspectionItem,
    ItemKind,
    Manual,
    ManualVersion,
    Nonconformance,
    QualityPlan,
    SamplingMode,
    SupportMode,
    SupportRequest,
)
from tenants.context import TENANT_URL_PREFIX
from tests.quality.conftest import count, error_fields
from tests.test_access_matrix import build, methods_of

ORDER = "/t/alpha/quality/orders/1"


def test_the_workspace_navigation_has_quality(client, world, samples):
    client.login_as(world.viewer)
    home = client.get("/t/alpha/")
    assert 'href="/t/alpha/quality/"' in home.text
    page = client.get("/t/alpha/quality/")
    assert page.status_code == 200
    assert re.search(r'<a href="/t/alpha/quality/" aria-current="page">', page.text)
    assert "外観キズ" in page.text  # the open nonconformance


def test_a_plan_suggested_from_the_agreement_then_saved(client, world, samples, arrange, read):
    def terms(s):
        from app.agreements.models import Agreement

        agreement = s.get(Agreement, (world.alpha.id, 1))
        agreement.inspection_level = "抜き取り検査 AQL 2.5"
        agreement.acceptance_criteria = "キズ・打痕なきこと"
        order = Order(buyer_id=1, agreement_id=1, title="新しい案件", confirmed_on=date(2026, 9, 1))
        s.add(order)
        s.flush()
        return order.id

    order_id = arrange(terms)
    url = f"/t/alpha/quality/orders/{order_id}"
    client.login_as(world.coordinator)
    page = client.get(url)
    assert '<option selected value="2.5">' in page.text
    assert "キズ・打痕なきこと" in page.text
    saved = client.post(
        url + "/plan",
        data={"sampling_mode": "iso2859", "inspection_level": "II", "aql": "2.5", "notes": "x"},
    )
    assert saved.status_code == 303
    plan = read(lambda s: s.query(QualityPlan).filter_by(order_id=order_id).one())
    assert (plan.sampling_mode, plan.aql, plan.inspection_level) == (
        SamplingMode.ISO2859,
        "2.5",
        "II",
    )
    bad = client.post(
        url + "/plan", data={"sampling_mode": "iso2859", "inspection_level": "IV", "aql": "3"}
    )
    assert bad.status_code == 422 and error_fields(bad.text) == {"inspection_level", "aql"}
    assert read(count(QualityPlan)) == 2


def test_inspection_items_with_tolerances(client, world, samples, read):
    client.login_as(world.coordinator)
    item = {
        "kind": "measure",
        "name": "穴径",
        "unit": "mm",
        "nominal": "５．０",
        "tolerance_minus": "0.05",
        "tolerance_plus": "0.05",
        "criteria": "",
    }
    assert client.post(ORDER + "/items", data=item).status_code == 303
    saved = read(lambda s: s.get(InspectionItem, (world.alpha.id, 2)))
    assert (saved.kind, saved.nominal, saved.lower_limit, saved.upper_limit) == (
        ItemKind.MEASURE,
        5.0,
        4.95,
        5.05,
    )
    no_nominal = client.post(ORDER + "/items", data={**item, "nominal": ""})
    assert error_fields(no_nominal.text) == {"nominal"}
    not_number = client.post(ORDER + "/items", data={**item, "tolerance_plus": "０.０五"})
    assert error_fields(not_number.text) == {"tolerance_plus"}
    negative = client.post(ORDER + "/items", data={**item, "tolerance_minus": "-0.1"})
    assert error_fields(negative.text) == {"tolerance_minus"}
    assert read(count(InspectionItem)) == 2
    assert client.post(ORDER + "/items/2/retire").status_code == 303
    assert read(lambda s: s.get(InspectionItem, (world.alpha.id, 2)).archived_at) is not None
    assert client.post("/t/alpha/quality/orders/1/items/99/retire").status_code == 404


def test_the_order_page_shows_each_lots_sampling_plan(client, world, lot):
    client.login_as(world.viewer)
    page = client.get(ORDER)
    assert page.status_code == 200
    row = re.search(r'href="/t/alpha/quality/lots/1">L-001</a>.*?</tr>', page.text, re.S).group(0)
    assert "J" in row and "80" in row  # 1,000 items at AQL 1.0: code J, 80 in the sample


# --- list pages: a fixed number of statements whatever the number of rows ----------------------


def add_rows(arrange, n: int) -> None:
    def make(s):
        for i in range(n):
            order = Order(
                buyer_id=1, agreement_id=1, title=f"案件{i:03d}", confirmed_on=date(2026, 5, 1)
            )
            s.add(order)
            s.flush()
            lot = Delivery(
                order_id=order.id,
                lot_no=f"L{i:03d}",
                quantity=100,
                original_due_on=date(2026, 9, 1),
            )
            manual = Manual(order_id=order.id, title=f"手順書{i:03d}")
            s.add_all([lot, manual, QualityPlan(order_id=order.id)])
            s.flush()
            s.add_all(
                [
                    ManualVersion(manual_id=manual.id, version_no=1),
                    Nonconformance(
                        delivery_id=lot.id,
                        facility_id=1,
                        source="internal",
                        severity="major",
                        title=f"不具合{i:03d}",
                        found_on=date(2026, 9, 2),
                    ),
                    SupportRequest(
                        order_id=order.id,
                        agreement_id=1,
                        subject=f"支援{i:03d}",
                        mode=SupportMode.ONSITE,
                        requested_at=utcnow() - timedelta(days=2),
                        response_due_at=utcnow() - timedelta(days=1),
                    ),
                ]
            )

    arrange(make)


LISTS = [
    "/t/alpha/quality/",
    "/t/alpha/quality/orders/",
    "/t/alpha/quality/lots/",
    "/t/alpha/quality/nonconformances/",
    "/t/alpha/quality/support/",
    "/t/alpha/quality/manuals/",
    "/t/alpha/quality/kpis",
    "/t/alpha/quality/kpis?view=orders",
]


@pytest.mark.parametrize("url", LISTS)
def test_list_pages_cost_the_same_with_more_rows(
    client, world, samples, arrange, query_counter, url
):
    client.login_as(world.viewer)
    add_rows(arrange, 2)
    query_counter.clear()
    assert client.get(url).status_code == 200
    few = len(query_counter)
    add_rows(arrange, 60)
    query_counter.clear()
    response = client.get(url)
    assert response.status_code == 200
    assert len(query_counter) == few, (url, query_counter)


def test_lists_page_search_and_htmx(client, world, samples, arrange):
    add_rows(arrange, 3)
    client.login_as(world.viewer)
    rows = client.get(
        "/t/alpha/quality/lots/?q=L001", headers={"HX-Request": "true", "HX-Target": "rows"}
    )
    assert (
        rows.text.lstrip().startswith('<div id="rows">')
        and "L001" in rows.text
        and "L002" not in rows.text
    )
    overdue = client.get("/t/alpha/quality/support/")
    assert "badge-danger" in overdue.text  # answers overdue, visits outside the scope


# --- outsiders --------------------------------------------------------------------------------


def test_outsiders_get_404_on_every_quality_and_file_route(app: Flask, client, world, lot):
    client.login_as(world.outsider)
    names = ("order_id", "item_id", "delivery_id", "inspection_id", "nc_id", "action_id")
    values: dict[str, object] = dict.fromkeys((*names, "request_id", "manual_id", "file_id"), 1)
    routes = [
        r
        for r in app.url_map.iter_rules()
        if r.rule.startswith(TENANT_URL_PREFIX + "/quality")
        or r.rule.startswith(TENANT_URL_PREFIX + "/files")
    ]
    assert len(routes) >= 30
    for rule in routes:
        url = build(rule, "alpha", values)
        for method in methods_of(rule):
            response = client.open(url, method=method, data={"order_id": "1", "delivery_id": "1"})
            assert response.status_code == 404, f"{method} {url}"
            for secret in ("部品の組立", "L-001", "さくら作業所", "外観キズ", "株式会社サンプル"):
                assert secret not in response.text, f"{method} {url} shows {secret}"


def test_stamps_are_timezone_aware(world, samples, read):
    request = read(lambda s: s.get(SupportRequest, (world.alpha.id, 1)))
    assert isinstance(request.requested_at, datetime) and request.requested_at.tzinfo is not None
