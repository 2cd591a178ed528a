"""Access to every workspace route, generated from the URL map.

A new route under /t/<tenant_slug> is covered without anyone remembering: each view declares
who it is for (``staff_view``/``admin_view``, ``buyer_view``, ``facility_view``,
``support_view``), and every role of the issue is checked against real requests on every route
and method: allowed (no 403/404, no 5xx), 403 or 404. A failing cell names route and role.

The roles: alpha's admin, coordinator, quality and viewer; the buyer of company A (the sample
buyer, whose records all have id 1) and of company B; the person of facility X (the sample
facility); a support agent whose region includes alpha, read-only and with a running support
session; a support agent of another region; beta's admin (the outsider). Any
``<int:..._id>`` is filled with 1: the first record of its kind in alpha, company A's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from werkzeug.routing import Rule

from app.buyers.models import Buyer
from app.db import utcnow
from app.extensions import db
from app.orders.models import Delivery
from tenants.context import TENANT_URL_PREFIX
from tenants.isolation import tenant_scope
from tenants.models import Invitation, Role
from tests.conftest import add_member
from tests.support.people import add_agent, add_person, add_portal_member, start_support_session
from tests.support.samples import add_sample_records

STAFF = (Role.ADMIN, Role.COORDINATOR, Role.QUALITY, Role.VIEWER)
WRITERS = {Role.ADMIN, Role.COORDINATOR, Role.QUALITY}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ALLOW, FORBIDDEN, NOT_FOUND = "allow", 403, 404


@dataclass(frozen=True)
class Persona:
    name: str
    staff_role: Role | None = None  # staff member (or the role a support agent acts as)
    portal: str | None = None  # "buyer_a" | "buyer_b" | "facility"
    support: bool = False  # a support agent in scope (acts through the stand-in role)
    stranger: bool = False  # outsider or agent out of scope: 404 everywhere


PERSONAS = (
    Persona("admin", Role.ADMIN),
    Persona("coordinator", Role.COORDINATOR),
    Persona("quality", Role.QUALITY),
    Persona("viewer", Role.VIEWER),
    Persona("buyer_a", portal="buyer_a"),
    Persona("buyer_b", portal="buyer_b"),
    Persona("facility_x", portal="facility"),
    Persona("support_in", Role.VIEWER, support=True),
    Persona("support_in_session", Role.COORDINATOR, support=True),
    Persona("support_out", stranger=True),
    Persona("outsider", stranger=True),
)


def access_of(app: Flask, rule: Rule) -> dict:
    view = app.view_functions[rule.endpoint]
    access = getattr(view, "access", None)
    assert access is not None, f"{rule.endpoint} declares no access (staff_view, buyer_view, ...)"
    assert access.get("kind") in ("staff", "buyer", "facility", "support"), rule.endpoint
    return access


def staff_allowed(access: dict, method: str) -> set[Role]:
    """Which staff roles may use a staff view with this method (what it declares)."""
    if access["roles"] is not None:
        return set(STAFF) & set(access["roles"])
    if access["write"] or method in UNSAFE:
        return WRITERS
    return set(STAFF)


def expected(app: Flask, rule: Rule, method: str, persona: Persona) -> str | int:
    if persona.stranger:
        return NOT_FOUND
    access = access_of(app, rule)
    kind = access["kind"]
    if kind == "staff":
        # Portal people never reach the workspace's screens.
        allowed = persona.staff_role in staff_allowed(access, method)
        return ALLOW if persona.staff_role is not None and allowed else FORBIDDEN
    if kind == "support":
        return ALLOW if persona.support else FORBIDDEN
    if kind == "facility":
        return ALLOW if persona.portal == "facility" else FORBIDDEN
    # The buyer portal. Every id in a URL is one of company A's records: not found for B.
    outcomes = {
        "buyer_a": ALLOW,
        "buyer_b": NOT_FOUND if rule.arguments - {"tenant_slug"} else ALLOW,
    }
    return outcomes.get(persona.portal or "", FORBIDDEN)


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
        with tenant_scope(s, world.alpha.id):
            # The buyer portal shares a lot's quality record once it is delivered.
            s.get(Delivery, (world.alpha.id, 1)).delivered_on = date(2026, 7, 1)
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


@pytest.fixture
def people(app, world, targets):
    """The user of every persona (the world's people plus the portal and support ones)."""
    with app.app_context(), db.new_session() as s:
        users = {
            "admin": world.admin,
            "coordinator": world.coordinator,
            "viewer": world.viewer,
            "outsider": world.outsider,
            "quality": add_person(s, "quality@example.jp"),
            "buyer_a": add_person(s, "buyer.a@example.jp"),
            "buyer_b": add_person(s, "buyer.b@example.jp"),
            "facility_x": add_person(s, "facility.x@example.jp"),
            # alpha is in prefecture 22 (Shizuoka); 13 is Tokyo.
            "support_in": add_agent(s, "support.in@example.jp", ["22"]),
            "support_in_session": add_agent(s, "support.session@example.jp", ["22", "23"]),
            "support_out": add_agent(s, "support.out@example.jp", ["13"]),
        }
        add_member(s, world.alpha, users["quality"], Role.QUALITY)
        with tenant_scope(s, world.alpha.id):
            company_b = Buyer(name="株式会社ビー")
            s.add(company_b)
            s.flush()
        add_portal_member(s, world.alpha, users["buyer_a"], buyer_id=1)
        add_portal_member(s, world.alpha, users["buyer_b"], buyer_id=company_b.id)
        add_portal_member(s, world.alpha, users["facility_x"], facility_id=1)
        start_support_session(s, world.alpha, users["support_in_session"])
        s.commit()
        return users


def build(rule: Rule, slug: str, values: dict[str, object]) -> str:
    url = rule.rule.replace("<tenant_slug>", slug)
    for name in rule.arguments - {"tenant_slug"}:
        value = str(values[name])
        url = url.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
    return url


def test_every_tenant_route_declares_its_access(app):
    for rule in tenant_rules(app):
        for method in methods_of(rule):
            access = access_of(app, rule)
            reachable = [p.name for p in PERSONAS if expected(app, rule, method, p) == ALLOW]
            assert reachable, f"nobody may {method} {rule.rule} ({access['kind']})"


def test_portal_and_support_views_are_never_staff_views(app):
    """The staff screens refuse portal people; the portals refuse staff (generated check
    that no route of the portals is declared as a staff view by mistake)."""
    for rule in tenant_rules(app):
        kind = access_of(app, rule)["kind"]
        if rule.rule.startswith(f"{TENANT_URL_PREFIX}/portal"):
            assert kind == "buyer", rule.rule
        elif rule.rule.startswith(f"{TENANT_URL_PREFIX}/facility/"):
            assert kind == "facility", rule.rule


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_matrix(app, client, world, targets, people, persona):
    client.login_as(people[persona.name])
    failures = []
    cells = 0
    for rule in tenant_rules(app):
        url = build(rule, "alpha", targets)
        for method in methods_of(rule):
            want = expected(app, rule, method, persona)
            status = client.open(url, method=method).status_code
            cells += 1
            ok = status < 500 and status not in (403, 404) if want == ALLOW else status == want
            if not ok:
                failures.append(f"{persona.name} {method} {rule.rule}: want {want}, got {status}")
    assert cells > 100
    assert not failures, "\n".join(failures)


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


def test_ids_of_another_workspace_are_not_found(app, client, world, targets):
    """Invitation 3 exists only in beta: alpha's admin cannot reach it through alpha."""
    client.login_as(world.admin)
    assert client.post("/t/alpha/invitations/3/revoke").status_code == 404
    assert client.post("/t/alpha/invitations/1/revoke").status_code == 303
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.beta.id):
        assert s.get(Invitation, (world.beta.id, 3)).revoked_at is None
