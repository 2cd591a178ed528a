"""The workspace's minimum annual volume: set in the settings, used by the deal warnings."""

from __future__ import annotations

from app.extensions import db
from tenants.models import Tenant
from tests.deals.conftest import add_deals, new_deal


def set_minimum(client, value: str):
    return client.post(
        "/t/alpha/settings",
        data={
            "name": "アルファ市",
            "kind": "municipality",
            "prefecture_code": "22",
            "min_annual_volume": value,
        },
    )


def test_admin_sets_the_minimum_and_deals_are_marked_against_it(
    app, client, world, samples, arrange
):
    [deal_id] = add_deals(arrange, new_deal(title="小口の検品", amount=1_500_000))
    client.login_as(world.admin)
    page = client.get(f"/t/alpha/deals/{deal_id}").text
    assert 'data-warning="below_minimum"' in page  # default ¥2,000,000
    assert set_minimum(client, "1,000,000円").status_code == 303
    with app.app_context(), db.new_session() as s:
        assert s.get(Tenant, world.alpha.id).min_annual_volume == 1_000_000
    page = client.get(f"/t/alpha/deals/{deal_id}").text
    assert 'data-warning="below_minimum"' not in page
    assert set_minimum(client, "0").status_code == 303  # no minimum at all is allowed


def test_a_negative_or_missing_minimum_is_refused_at_the_field(app, client, world):
    client.login_as(world.admin)
    for value in ("-1", "abc", ""):
        response = set_minimum(client, value)
        assert response.status_code == 422, value
        assert 'id="min_annual_volume-error"' in response.text
    with app.app_context(), db.new_session() as s:
        assert s.get(Tenant, world.alpha.id).min_annual_volume == 2_000_000
