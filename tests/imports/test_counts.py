"""Fixed query cost per page whatever the number of rows, and the speed of a large import."""

from __future__ import annotations

import pytest

from app.buyers.models import Buyer
from app.deals.models import Deal, DealStage
from app.extensions import db
from app.facilities.models import Facility, FacilityCapability, FacilityKind
from tenants.isolation import tenant_scope
from tests.imports.conftest import BASE, confirm, count, upload_ok


def add_records(app, tenant_id: int, n: int) -> None:
    from datetime import date

    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        buyers = [Buyer(name=f"発注企業{i}") for i in range(n)]
        facilities = [Facility(name=f"作業所{i}", kind=FacilityKind.TYPE_B) for i in range(n)]
        s.add_all([*buyers, *facilities])
        s.flush()
        s.add_all(
            Deal(
                buyer_id=buyer.id,
                title=f"案件{i}",
                stage=DealStage.LEAD,
                opened_on=date(2025, 4, 1),
            )
            for i, buyer in enumerate(buyers)
        )
        s.commit()


def facilities_csv(n: int, start: int = 0) -> bytes:
    lines = ["事業所名,種別,利用者数,能力"]
    lines += [f"作業所{i},B型,{i % 40},組立、梱包:2" for i in range(start, start + n)]
    return ("\n".join(lines) + "\n").encode()


def statements_for(client, query_counter, url: str) -> int:
    query_counter.clear()
    response = client.get(url)
    assert response.status_code == 200
    _ = response.data  # exports run while the body is read
    return len(query_counter)


@pytest.mark.parametrize("kind", ["facilities", "buyers", "deals"])
def test_export_costs_the_same_for_3_and_60_records(app, client, catalogue, query_counter, kind):
    client.login_as(catalogue.viewer)
    add_records(app, catalogue.alpha.id, 3)
    few = statements_for(client, query_counter, f"{BASE}/export/{kind}.csv")
    add_records_more(app, catalogue.alpha.id)
    many = statements_for(client, query_counter, f"{BASE}/export/{kind}.csv")
    assert few == many, (few, many)
    print(f"\nexport {kind}: {many} statements")


def add_records_more(app, tenant_id: int) -> None:
    from datetime import date

    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        buyers = [Buyer(name=f"追加企業{i}") for i in range(57)]
        s.add_all(buyers)
        s.add_all(Facility(name=f"追加作業所{i}", kind=FacilityKind.TYPE_A) for i in range(57))
        s.flush()
        s.add_all(Deal(buyer_id=b.id, title="追加", opened_on=date(2025, 4, 1)) for b in buyers)
        s.commit()


def test_preview_costs_the_same_for_3_and_60_rows(app, client, catalogue, query_counter):
    client.login_as(catalogue.admin)
    costs = []
    for n in (3, 60):
        token = upload_ok(client, "facilities", facilities_csv(n))
        costs.append(statements_for(client, query_counter, f"{BASE}/facilities/{token}"))
        add_records(app, catalogue.alpha.id, n)  # and more records in the workspace
    assert costs[0] == costs[1], costs
    print(f"\npreview: {costs[1]} statements")


def test_index_costs_a_fixed_number_of_statements(app, client, catalogue, query_counter):
    client.login_as(catalogue.admin)
    add_records(app, catalogue.alpha.id, 3)
    few = statements_for(client, query_counter, f"{BASE}/")
    add_records(app, catalogue.alpha.id, 60)
    assert statements_for(client, query_counter, f"{BASE}/") == few
    print(f"\nindex: {few} statements")


def test_confirm_costs_the_same_for_3_and_60_rows(app, client, catalogue, query_counter):
    client.login_as(catalogue.admin)
    costs = []
    for n, start in ((3, 0), (60, 100)):
        token = upload_ok(client, "facilities", facilities_csv(n, start))
        query_counter.clear()
        assert confirm(client, "facilities", token).status_code == 303
        costs.append(len(query_counter))
    assert costs[0] == costs[1], costs
    print(f"\nconfirm (new rows): {costs[1]} statements")


def test_a_thousand_facilities_in_one_go(app, client, catalogue):
    """Bulk: ids reserved in one statement, capabilities looked up once, one flush.
    (The 10,000-row timing is measured by `make bench`, not asserted here.)"""
    client.login_as(catalogue.admin)
    token = upload_ok(client, "facilities", facilities_csv(1_000))
    preview = client.get(f"{BASE}/facilities/{token}")
    assert 'id="preview"' in preview.text
    assert confirm(client, "facilities", token).status_code == 303
    assert count(app, catalogue.alpha.id, Facility) == 1_000
    assert count(app, catalogue.alpha.id, FacilityCapability) == 2_000
