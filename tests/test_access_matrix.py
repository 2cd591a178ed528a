"""Access to every workspace route, generated from the URL map.

A new route under /t/<tenant_slug> is covered without anyone remembering: the outsider,
anonymous and unknown-workspace cases run for it automatically, and the roles it declares
(``staff_view``/``admin_view``) are checked against real requests by admin, coordinator and
read-only viewer. Any ``<int:..._id>`` is filled with 1: the first record of its kind in alpha.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from flask import Flask
from werkzeug.routing import Rule

from app.db import utcnow
from app.extensions import db
from tenants.context import TENANT_URL_PREFIX
from tenants.isolation import tenant_scope
from tenants.models import Invitation, Role
from tests.support.samples import add_sample_records

WRITERS = {Role.ADMIN, Role.COORDINATOR}  # of alpha's people: admin, coordinator, viewer
READERS = {Role.ADMIN, Role.COORDINATOR, Role.VIEWER}
ADMIN = {Role.ADMIN}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def expected_roles(app: Flask, rule: Rule, method: str) -> set[Role]:
    """Who of alpha's admin, coordinator and viewer may use this route with this method.

    Read from the access declared on the view (``staff_view``/``admin_view``): the test then
    proves each view really enforces what it declares. A view that declares nothing fails.
    """
    view = app.view_functions[rule.endpoint]
    access = getattr(view, "access", None)
    assert access is not None, f"{rule.endpoint} has no staff_view/admin_view declaration"
    if access["roles"] is not None:
        allowed = READERS & set(access["roles"])
    elif access["write"] or method in UNSAFE:
        allowed = WRITERS
    else:
        allowed = READERS
    return allowed


def tenant_rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.rule.startswith(TENANT_URL_PREFIX)]


def methods_of(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


@pytest.fixture
def targets(app, world):
    """One record of every kind in alpha (all with id 1) and three invitations in beta, so
    invitation 3 exists only in beta."""
    with app.app_context(), db.new_session() as s:
        add_sample_records(s, world.memberships["admin"])
        for tenant, count in ((world.alpha, 1), (world.beta, 3)):
            with tenant_scope(s, tenant.id):
                inviter = world.memberships["admin" if tenant is world.alpha else "outsider"]
                for n in range(count):
                    s.add(
                        Invitation(
                            email=f"guest{n}@example.jp",
                            role=Role.VIEWER,
                            invited_by_id=inviter.id,
                            expires_at=utcnow() + timedelta(days=7),
                        )
                    )
                s.flush()
        s.commit()
    values: defaultdict[str, object] = defaultdict(lambda: 1)
    # String parameters: a kind and a format of the data import/export, and a well-formed
    # upload token that does not exist (allowed roles get a clear 410 page).
    values.update(kind="facilities", fmt="csv", token="0" * 32)
    # A table of the fiscal-year report (its exports' job id stays "1": a clear 410 page).
    values.update(table="kpi")
    return values


def build(rule: Rule, slug: str, values: dict[str, object]) -> str:
    url = rule.rule.replace("<tenant_slug>", slug)
    for name in rule.arguments - {"tenant_slug"}:
        value = str(values[name])
        url = url.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
    return url


def test_every_tenant_route_declares_its_access(app):
    for rule in tenant_rules(app):
        for method in methods_of(rule):
            assert expected_roles(app, rule, method), f"nobody may {method} {rule.rule}"


def test_outsider_gets_404_everywhere(app, client, world, targets):
    client.login_as(world.outsider)
    for rule in tenant_rules(app):
        url = build(rule, "alpha", targets)
        for method in methods_of(rule):
            response = client.open(url, method=method)
            assert response.status_code == 404, f"{method} {url}: {response.status_code}"


def test_unknown_workspace_is_404_for_members_too(app, client, world, targets):
    client.login_as(world.admin)
    for rule in tenant_rules(app):
        url = build(rule, "no-such-town", targets)
        for method in methods_of(rule):
            assert client.open(url, method=method).status_code == 404, f"{method} {url}"


def test_anonymous_is_sent_to_login(app, client, world, targets):
    for rule in tenant_rules(app):
        url = build(rule, "alpha", targets)
        for method in methods_of(rule):
            response = client.open(url, method=method)
            assert response.status_code == 302, f"{method} {url}"
            assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["admin", "coordinator", "viewer"])
def test_roles(app, client, world, targets, role):
    client.login_as(getattr(world, role))
    for rule in tenant_rules(app):
        url = build(rule, "alpha", targets)
        for method in methods_of(rule):
            allowed = Role(role) in expected_roles(app, rule, method)
            status = client.open(url, method=method).status_code
            if allowed:
                assert status < 500 and status not in (403, 404), f"{role} {method} {url}: {status}"
            else:
                assert status == 403, f"{role} {method} {url}: {status}"


def test_ids_of_another_workspace_are_not_found(app, client, world, targets):
    """Invitation 3 exists only in beta: alpha's admin cannot reach it through alpha."""
    client.login_as(world.admin)
    assert client.post("/t/alpha/invitations/3/revoke").status_code == 404
    assert client.post("/t/alpha/invitations/1/revoke").status_code == 303
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.beta.id):
        assert s.get(Invitation, (world.beta.id, 3)).revoked_at is None
