"""Fixtures of the deal tests: alpha's sample records (buyer 1, capability 1, difficulty level 1,
lost reason 1, won deal 1 with order 1) and helpers to arrange more and read results."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select

from app.deals.models import Deal, DealStage
from tests.e2e import conftest as e2e

HX = {"HX-Request": "true"}

# The browser tests here use the e2e package's live server and system Chromium.
browser_type_launch_args = e2e.browser_type_launch_args
live_server = e2e.live_server


def count(model: Any, *where: Any) -> Callable[[Any], int]:
    return lambda s: int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def get_deal(deal_id: int) -> Callable[[Any], Deal]:
    return lambda s: s.get(Deal, (s.info["tenant_id"], deal_id))


def new_deal(**values: Any) -> Deal:
    defaults: dict[str, Any] = {
        "buyer_id": 1,
        "title": "検品作業",
        "stage": DealStage.LEAD,
        "amount": 3_000_000,
        "opened_on": date(2026, 4, 10),
    }
    return Deal(**{**defaults, **values})


def add_deals(arrange: Callable[..., Any], *deals: Deal) -> list[int]:
    def make(s: Any) -> list[int]:
        s.add_all(deals)
        s.flush()
        return [deal.id for deal in deals]

    return arrange(make)


def error_fields(html: str) -> set[str]:
    return set(re.findall(r'id="([\w-]+)-error"', html))


def assert_error_at(html: str, field_id: str) -> None:
    assert error_fields(html) == {field_id}, error_fields(html)
    wrapper = re.search(
        r'<div class="field has-error">(?:(?!</div>).)*?id="' + re.escape(field_id) + '"',
        html,
        re.S,
    )
    assert wrapper is not None, f"{field_id} is not inside a field marked has-error"


def flashes(html: str) -> list[str]:
    return re.findall(r'<li class="flash flash-(\w+)">', html)


def titles_in(html: str) -> list[str]:
    return re.findall(r'/deals/\d+">([^<]+)</a>', html)
