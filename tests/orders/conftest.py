"""Fixtures of the order tests: alpha's sample records (order 1 of buyer 1 from won deal 1,
lot L-001, the month 2026-07) and helpers to arrange more and read results."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select


def count(model: Any) -> Callable[[Any], int]:
    return lambda s: int(s.scalar(select(func.count()).select_from(model)) or 0)


def error_fields(html: str) -> set[str]:
    return set(re.findall(r'id="([\w-]+)-error"', html))


def assert_error_at(html: str, field_id: str) -> None:
    assert error_fields(html) == {field_id}, error_fields(html)
    wrapper = re.search(
        r'class="[^"]*has-error[^"]*">(?:(?!</(?:div|td)>).)*?id="' + re.escape(field_id) + '"',
        html,
        re.S,
    )
    assert wrapper is not None, f"{field_id} is not inside an element marked has-error"


def flashes(html: str) -> list[str]:
    return re.findall(r'<li class="flash flash-(\w+)">', html)


def month_key(day: date) -> str:
    return day.strftime("%Y-%m")
