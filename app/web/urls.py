"""Building many URLs that differ only in one id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import url_for

# An id no record has, to find where the id goes in a built URL.
_MARKER = 987_654_321_987


def url_builder(endpoint: str, id_arg: str, **values: Any) -> Callable[[int], str]:
    """``url_for(endpoint, **{id_arg: id}, **values)`` for many ids: the URL is built once and
    each id is put where the marker id was. A board of 70 cards needs 140 URLs, and each
    ``url_for`` costs about 50 µs of the request."""
    built = url_for(endpoint, **{**values, id_arg: _MARKER})
    head, found, tail = built.rpartition(f"/{_MARKER}")
    if not found:  # the id is not a path segment: build each URL in full
        return lambda id_: url_for(endpoint, **{**values, id_arg: id_})
    return lambda id_: f"{head}/{int(id_)}{tail}"
