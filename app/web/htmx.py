"""The one place that knows htmx request headers."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def htmx_target() -> str | None:
    return request.headers.get("HX-Target") if is_htmx() else None


def render(
    template: str, /, fragment: str | None = None, target: str | None = None, **context: Any
) -> Response:
    """Render the page, or only its fragment when htmx asks for that fragment's target.

    The page template includes the fragment, so both share one source.
    """
    wants_fragment = (
        fragment is not None and is_htmx() and (target is None or htmx_target() == target)
    )
    chosen = fragment if wants_fragment and fragment is not None else template
    response = make_response(render_template(chosen, **context))
    response.vary.add("HX-Request")
    response.vary.add("HX-Target")
    return response


def redirect_303(location: str) -> Response:
    """After a non-GET: a 303 for browsers, HX-Redirect for htmx (so the whole page changes)."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    response = make_response("", 303)
    response.headers["Location"] = location
    return response
