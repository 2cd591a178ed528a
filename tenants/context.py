"""The request's tenant: resolved once from the URL and the user's membership, kept on ``g``.

Every workspace route lives on a blueprint made by ``tenant_blueprint``: its URLs start with
``/t/<tenant_slug>``, and before any view runs the tenant is looked up, the user's membership
checked, and the session bound to that tenant. Unknown slug or not a member: 404, always.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, g
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db, login_manager
from tenants.isolation import use_tenant
from tenants.models import Membership, MembershipStatus, Role, Tenant

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
    tenant = session.scalar(
        select(Tenant).where(Tenant.slug == g.tenant_slug, Tenant.archived_at.is_(None))
    )
    if tenant is None:
        abort(404)
    use_tenant(session, tenant.id, current_user.id)
    membership = session.scalar(
        select(Membership).where(
            Membership.user_id == current_user.id, Membership.status == MembershipStatus.ACTIVE
        )
    )
    if membership is None:
        use_tenant(session, None)
        abort(404)
    g.tenant = tenant
    g.membership = membership
    return _refuse_writes_when_read_only()


def _refuse_writes_when_read_only() -> Any:
    """A canceled (or unpaid, trial-ended) workspace takes no unsafe request: billing decides.
    Imported here because the billing package itself builds on this module."""
    from app.billing.guard import refuse_when_read_only

    return refuse_when_read_only()


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

        wrapper.access = {"write": write, "roles": roles}  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorate


admin_view = staff_view(write=True, roles=frozenset({Role.ADMIN}))
