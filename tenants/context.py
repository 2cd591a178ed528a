"""The request's tenant: resolved once from the URL and the user's membership, kept on ``g``.

Every workspace route lives on a blueprint made by ``tenant_blueprint``: its URLs start with
``/t/<tenant_slug>``, and before any view runs the tenant is looked up, the user's membership
checked, and the session bound to that tenant. Unknown slug or not a member: 404, always.

A support agent whose regions include the workspace enters the same way, through an unsaved
stand-in membership (``tenants.support``): read-only unless a support session is running,
every request audited. Every view declares who it is for: ``staff_view``/``admin_view``
(staff, never portal roles), ``buyer_view``/``facility_view`` (the portals, with the linked
company or facility on ``g``), ``support_view`` (an agent's own support-session screens).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, current_app, g, request
from flask_login import current_user
from sqlalchemy import select

from app.buyers.models import Buyer
from app.db import utcnow
from app.extensions import db, login_manager
from app.facilities.models import Facility
from tenants import support
from tenants.audit import ACTOR_LABEL_KEY
from tenants.isolation import make_read_only, use_tenant
from tenants.models import Membership, Role, Tenant

F = TypeVar("F", bound=Callable[..., Any])

TENANT_URL_PREFIX = "/t/<tenant_slug>"


def tenant_blueprint(name: str, import_name: str, url_prefix: str = "") -> Blueprint:
    blueprint = Blueprint(
        name, import_name, url_prefix=TENANT_URL_PREFIX + url_prefix, template_folder="templates"
    )
    blueprint.url_value_preprocessor(_take_slug)
    blueprint.url_defaults(_give_slug)
    blueprint.before_request(enter_tenant)
    return blueprint


def _take_slug(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.tenant_slug = (values or {}).pop("tenant_slug", None)


def _give_slug(_endpoint: str, values: dict[str, Any]) -> None:
    if "tenant_slug" not in values and getattr(g, "tenant", None) is not None:
        values["tenant_slug"] = g.tenant.slug


def enter_tenant() -> Any:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    session = db.session
    # The person's own workspaces are read once per request anyway (the switcher lists
    # them), so a member's workspace and membership come from that one query.
    tenant, membership = next(
        ((t, m) for t, m in _read_my_workspaces() if t.slug == g.tenant_slug), (None, None)
    )
    if tenant is None:
        tenant = session.scalar(
            select(Tenant).where(Tenant.slug == g.tenant_slug, Tenant.archived_at.is_(None))
        )
        if tenant is None:
            abort(404)
    use_tenant(session, tenant.id, current_user.id)
    if membership is None:
        membership = _enter_as_support(tenant)
    if membership is None:
        use_tenant(session, None)
        abort(404)
    g.tenant = tenant
    g.membership = membership
    return _refuse_writes_when_read_only()


@dataclass(frozen=True)
class MyWorkspace:
    """One entry of the workspace switcher: plain values, so that a rollback later in the
    request (which expires every loaded row) cannot send the page back to the database."""

    tenant_id: int
    slug: str
    name: str
    role: Role


def my_workspaces() -> list[MyWorkspace]:
    """The signed-in person's active memberships in live workspaces, read once a request."""
    if not current_user.is_authenticated:
        return []
    if "my_workspaces" not in g:
        _read_my_workspaces()
    workspaces: list[MyWorkspace] = g.my_workspaces
    return workspaces


def _read_my_workspaces() -> list[tuple[Tenant, Membership]]:
    from tenants.service import memberships_of

    rows = memberships_of(db.session, current_user.id)
    g.my_workspaces = [MyWorkspace(t.id, t.slug, t.name, m.role) for t, m in rows]
    return rows


def _refuse_writes_when_read_only() -> Any:
    """A canceled (or unpaid, trial-ended) workspace takes no unsafe request: billing decides.
    Imported here because the billing package itself builds on this module."""
    from app.billing.guard import refuse_when_read_only

    return refuse_when_read_only()


def _enter_as_support(tenant: Tenant) -> Membership | None:
    """A support agent of the workspace's prefecture: audited, read-only unless a support
    session runs (or the view is the agent's own support-session screen)."""
    session = db.session
    user = current_user._get_current_object()
    if not support.in_scope(session, user.id, tenant):
        return None
    access = support.SupportAccess(user.id, support.active_session(session, user.id, utcnow()))
    session.info[ACTOR_LABEL_KEY] = support.ACTOR_LABEL
    support.record_access(session, access, request.method, request.path, request.endpoint)
    session.commit()  # the access is on record even if the request then fails
    if not access.can_write and _view_kind() != "support":
        make_read_only(session)
    g.support = access
    return support.stand_in(tenant, user, access)


def _view_kind() -> str | None:
    view = current_app.view_functions.get(request.endpoint or "")
    access = getattr(view, "access", None) or {}
    kind: str | None = access.get("kind")
    return kind


def current_membership() -> Membership:
    membership: Membership | None = getattr(g, "membership", None)
    if membership is None:
        abort(404)
    return membership


def staff_view(write: bool = False, roles: frozenset[Role] | None = None) -> Callable[[F], F]:
    """Staff-only view. ``write`` turns read-only members away with 403; ``roles`` narrows it."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            membership = current_membership()
            if not membership.is_staff:
                abort(403)
            if write and not membership.can_write:
                abort(403)
            if roles is not None and membership.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        access = {"kind": "staff", "write": write, "roles": roles}
        wrapper.access = access  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorate


admin_view = staff_view(write=True, roles=frozenset({Role.ADMIN}))


def buyer_view(view: F) -> F:
    """The buyer portal: only a buyer company's person; ``g.buyer`` is that company."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        membership = current_membership()
        if not membership.is_buyer or membership.is_support:
            abort(403)
        buyer = db.session.get(Buyer, (g.tenant.id, membership.buyer_id))
        if buyer is None:
            abort(403)
        g.buyer = buyer
        return view(*args, **kwargs)

    access = {"kind": "buyer", "write": False, "roles": frozenset({Role.BUYER})}
    wrapper.access = access  # type: ignore[attr-defined]
    return cast(F, wrapper)


def facility_view(view: F) -> F:
    """The facility portal: only a facility's person; ``g.facility`` is that facility."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        membership = current_membership()
        if not membership.is_facility or membership.is_support:
            abort(403)
        facility = db.session.get(Facility, (g.tenant.id, membership.facility_id))
        if facility is None:
            abort(403)
        g.facility = facility
        return view(*args, **kwargs)

    access = {"kind": "facility", "write": False, "roles": frozenset({Role.FACILITY})}
    wrapper.access = access  # type: ignore[attr-defined]
    return cast(F, wrapper)


def support_view(view: F) -> F:
    """An agent's own support-session screens in a workspace (members get 403)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if getattr(g, "support", None) is None:
            abort(403)
        return view(*args, **kwargs)

    wrapper.access = {"kind": "support", "write": False, "roles": None}  # type: ignore[attr-defined]
    return cast(F, wrapper)


# Where each role lands in a workspace (the switcher, sign-in, the workspace list).
HOME_ENDPOINTS = {Role.BUYER: "portal.home", Role.FACILITY: "facility_portal.home"}


def home_endpoint(role: Role) -> str:
    return HOME_ENDPOINTS.get(role, "workspace.dashboard")
