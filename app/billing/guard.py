"""Billing inside a workspace request: the workspace's standing (read once per request), the
read-only rule for unsafe requests, the banner, and the limit check other packages call.

``tenants.context.enter_tenant`` calls ``refuse_when_read_only`` for every workspace route,
so no view can forget the rule. Views that must keep working in a read-only workspace (the
billing page, to pay and reactivate) are marked ``open_when_read_only``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, flash, g, make_response, request, url_for
from flask_babel import gettext as _

from app.billing import rules, service
from app.billing.gateway import StripeGateway
from app.billing.rules import Access
from app.config import Settings
from app.db import utcnow
from app.extensions import db
from app.web.htmx import is_htmx, render

F = TypeVar("F", bound=Callable[..., Any])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_STATUS = 403


def open_when_read_only(view: F) -> F:
    """Let this view take unsafe requests in a read-only workspace (paying, reactivating)."""
    view.open_when_read_only = True  # type: ignore[attr-defined]
    return view


def settings() -> Settings:
    found: Settings = current_app.extensions["renkei_settings"]
    return found


def gateway() -> StripeGateway:
    return StripeGateway(settings())


def current_standing() -> service.Standing:
    """The request's workspace standing, read at most once per request."""
    if "billing_standing" not in g:
        g.billing_standing = service.standing(db.session, g.tenant, settings(), utcnow())
    found: service.Standing = g.billing_standing
    return found


def forget_standing() -> None:
    g.pop("billing_standing", None)


def read_only_message(current: service.Standing) -> str:
    if current.on_free_trial:
        return _(
            "The free trial of this workspace has ended, so it is read-only: everything can "
            "still be viewed and exported, and nothing has been deleted. An administrator can "
            "choose a plan on the billing page to continue editing."
        )
    return _(
        "The subscription of this workspace has ended, so it is read-only: everything can "
        "still be viewed and exported, and nothing has been deleted. An administrator can "
        "restart the subscription on the billing page to continue editing."
    )


def refuse_when_read_only() -> Any:
    """For an unsafe request in a read-only workspace: a clear page (or, for htmx, the same
    message on the page the person is on). None when the request may go ahead."""
    if request.method in SAFE_METHODS or not settings().billing_enabled:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "open_when_read_only", False):
        return None
    current = current_standing()
    if current.access != Access.READ_ONLY:
        return None
    message = read_only_message(current)
    if is_htmx():
        flash(message, "error")
        response = make_response("", READ_ONLY_STATUS)
        response.headers["HX-Redirect"] = _same_site_page()
        return response
    page = render("billing/read_only.html", message=message, read_only_page=True)
    return page, READ_ONLY_STATUS


def _same_site_page() -> str:
    """The page the htmx request came from (HX-Current-URL), if it is on this site."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    if current.netloc == request.host and current.path.startswith("/"):
        return current.path + (f"?{current.query}" if current.query else "")
    return url_for("workspace.dashboard")


@dataclass(frozen=True)
class Notice:
    category: str  # flash category: error | warning | info
    message: str


def billing_notice() -> Notice | None:
    """The banner every workspace page shows when billing needs attention."""
    if getattr(g, "tenant", None) is None or getattr(g, "membership", None) is None:
        return None
    if not settings().billing_enabled:
        return None
    return notice_for(current_standing(), utcnow())


def notice_for(current: service.Standing, now: datetime) -> Notice | None:
    if current.access == Access.READ_ONLY:
        return Notice("error", read_only_message(current))
    if current.access == Access.WARN:
        return Notice(
            "warning",
            _(
                "Payment for this workspace is overdue. Everything keeps working; an "
                "administrator can check the invoices on the billing page."
            ),
        )
    if current.on_free_trial and rules.trial_ending_soon(current.trial_ends_at, now):
        return Notice(
            "info",
            _(
                "The free trial ends in %(days)d days. An administrator can choose a plan on "
                "the billing page.",
                days=rules.trial_days_left(current.trial_ends_at, now),
            ),
        )
    account = current.account
    if current.live and account is not None and account.cancel_at_period_end:
        return Notice(
            "info",
            _(
                "The subscription ends at the end of the current period; the workspace then "
                "becomes read-only."
            ),
        )
    return None


def check_facility_room(adding: int = 1) -> str | None:
    """Why ``adding`` facilities cannot be added to the request's workspace, or None."""
    if not settings().billing_enabled:
        return None
    try:
        service.check_facility_room(db.session, current_standing(), adding)
    except service.BillingRefused as exc:
        return str(exc)
    return None
