"""url_builder gives exactly what url_for gives, for every id."""

from __future__ import annotations

from flask import Flask, url_for

from app.web.urls import url_builder


def test_builder_matches_url_for_for_path_ids(app: Flask) -> None:
    with app.test_request_context("/t/alpha/deals/board"):
        detail = url_builder("deals.detail", "deal_id", tenant_slug="alpha")
        for deal_id in (1, 7, 42, 987_654_321, 10**12):
            assert detail(deal_id) == url_for("deals.detail", deal_id=deal_id, tenant_slug="alpha")


def test_an_id_outside_the_path_is_built_in_full(app: Flask) -> None:
    with app.test_request_context("/"):
        # deals.index takes no deal_id: url_for puts it in the query string.
        listing = url_builder("deals.index", "deal_id", tenant_slug="alpha")
        assert listing(5) == url_for("deals.index", deal_id=5, tenant_slug="alpha")
        assert listing(5) != listing(6)
