"""Creating a workspace: anonymously (with a new account) or as a signed-in person.

No assertions on wording (the Japanese catalogue is being written): status codes, redirects,
database state and the field an error is shown at.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.auth.service import find_user_by_email
from app.extensions import db
from tenants.audit import AuditEvent
from tenants.isolation import tenant_scope, use_user
from tenants.models import Membership, MembershipStatus, Role, Tenant, TenantKind
from tenants.service import memberships_of
from tests.conftest import PASSWORD

NEW_PASSWORD = "a long enough phrase"

WORKSPACE = {
    "name": "さくら市 共同受注窓口",
    "kind": "municipality",
    "prefecture_code": "13",
    "slug": "sakura-city",
}
ACCOUNT = {
    "admin_name": "佐藤 一郎",
    "email": "sato@example.jp",
    "password": NEW_PASSWORD,
    "password_confirm": NEW_PASSWORD,
}


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


def counts(app) -> tuple[int, int]:
    with app.app_context(), db.new_session() as s:
        tenants = s.scalar(select(func.count()).select_from(Tenant))
        users = s.scalar(select(func.count()).select_from(User))
        return tenants or 0, users or 0


def tenant_by_slug(app, slug: str) -> Tenant | None:
    with app.app_context(), db.new_session() as s:
        tenant = s.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is not None:
            s.expunge(tenant)
        return tenant


def is_signed_in(client) -> bool:
    return client.get("/account").status_code == 200


# --- anonymous sign-up -----------------------------------------------------------------------


def test_signup_page_shows_the_account_fields_to_visitors_only(client, world):
    page = client.get("/signup")
    assert page.status_code == 200
    assert 'id="admin_name"' in page.text
    assert 'id="email"' in page.text
    client.login_as(world.admin)
    page = client.get("/signup")
    assert page.status_code == 200
    assert 'id="slug"' in page.text
    assert 'id="admin_name"' not in page.text
    assert 'id="password"' not in page.text


def test_anonymous_signup_creates_workspace_admin_and_signs_in(client, app):
    response = client.post("/signup", data={**WORKSPACE, **ACCOUNT})
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/t/sakura-city/"

    with app.app_context(), db.new_session() as s:
        tenant = s.scalar(select(Tenant).where(Tenant.slug == "sakura-city"))
        assert tenant is not None
        assert tenant.name == WORKSPACE["name"]
        assert tenant.kind == TenantKind.MUNICIPALITY
        assert tenant.prefecture_code == "13"
        user = find_user_by_email(s, "sato@example.jp")
        assert user is not None
        assert user.name == "佐藤 一郎"
        assert user.password_hash != NEW_PASSWORD
        with tenant_scope(s, tenant.id):
            memberships = s.scalars(select(Membership)).all()
            assert [(m.user_id, m.role, m.status) for m in memberships] == [
                (user.id, Role.ADMIN, MembershipStatus.ACTIVE)
            ]
            events = s.scalars(
                select(AuditEvent).where(AuditEvent.action == "workspace.create")
            ).all()
            assert len(events) == 1
            assert events[0].actor_user_id == user.id
            assert events[0].object_type == "tenants"
            assert events[0].object_id == str(tenant.id)
            assert events[0].changes == {"slug": "sakura-city"}

    assert is_signed_in(client)
    dashboard = client.get("/t/sakura-city/")
    assert dashboard.status_code == 200
    assert WORKSPACE["name"] in dashboard.text
    # The new password signs in from elsewhere too.
    other = app.test_client()
    response = other.post("/login", data={"email": "sato@example.jp", "password": NEW_PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/t/sakura-city/"


def test_signup_slug_is_lower_cased_and_trimmed(client, app):
    response = client.post("/signup", data={**WORKSPACE, **ACCOUNT, "slug": "  Sakura-City "})
    assert response.status_code == 303
    assert response.headers["Location"] == "/t/sakura-city/"
    assert tenant_by_slug(app, "sakura-city") is not None


def test_signup_new_workspace_is_not_visible_to_others(app, client, world):
    assert client.post("/signup", data={**WORKSPACE, **ACCOUNT}).status_code == 303
    outsider = app.test_client().login_as(world.admin)
    assert outsider.get("/t/sakura-city/").status_code == 404


# --- a signed-in person's second workspace ---------------------------------------------------


def test_signed_in_user_creates_a_second_workspace(client, world, app):
    before = counts(app)
    client.login_as(world.admin)
    response = client.post("/signup", data={**WORKSPACE, "slug": "second-ws"})
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/t/second-ws/"
    assert counts(app) == (before[0] + 1, before[1])  # a workspace, no new account

    with app.app_context(), db.new_session() as s:
        use_user(s, world.admin.id)  # RLS shows a person their own memberships
        rows = memberships_of(s, world.admin.id)
        assert sorted((t.slug, m.role) for t, m in rows) == [
            ("alpha", Role.ADMIN),
            ("second-ws", Role.ADMIN),
        ]
        tenant = s.scalar(select(Tenant).where(Tenant.slug == "second-ws"))
        with tenant_scope(s, tenant.id):
            event = s.scalar(select(AuditEvent).where(AuditEvent.action == "workspace.create"))
            assert event is not None
            assert event.actor_user_id == world.admin.id

    assert client.get("/t/second-ws/").status_code == 200
    assert client.get("/t/alpha/").status_code == 200

    listing = client.get("/workspaces")
    assert listing.status_code == 200
    assert 'href="/t/alpha/"' in listing.text
    assert 'href="/t/second-ws/"' in listing.text

    page = client.get("/t/alpha/")
    switcher = re.search(r'<details class="menu">.*?</details>', page.text, re.S)
    assert switcher is not None
    assert 'href="/t/alpha/"' in switcher.group(0)
    assert 'href="/t/second-ws/"' in switcher.group(0)
    assert 'href="/t/beta/"' not in switcher.group(0)

    # With two workspaces, signing in lands on the list.
    other = app.test_client()
    response = other.post("/login", data={"email": "admin@example.jp", "password": PASSWORD})
    assert response.headers["Location"] == "/workspaces"


def test_signed_in_user_signup_ignores_account_fields(client, world, app):
    before = counts(app)
    client.login_as(world.admin)
    response = client.post(
        "/signup", data={**WORKSPACE, **ACCOUNT, "email": "someone-else@example.jp"}
    )
    assert response.status_code == 303
    assert counts(app) == (before[0] + 1, before[1])
    with app.app_context(), db.new_session() as s:
        assert find_user_by_email(s, "someone-else@example.jp") is None


def test_signed_in_user_cannot_take_a_used_slug(client, world, app):
    before = counts(app)
    client.login_as(world.admin)
    response = client.post("/signup", data={**WORKSPACE, "slug": "beta"})
    assert response.status_code == 422
    assert_error_at(response.text, "slug")
    assert counts(app) == before


def test_signup_without_csrf_token_creates_nothing(client, world, app):
    before = counts(app)
    response = client.post("/signup", data={**WORKSPACE, **ACCOUNT}, csrf=False)
    assert response.status_code == 400
    assert counts(app) == before
    assert not is_signed_in(client)


# --- refusals --------------------------------------------------------------------------------

BAD_INPUTS = {
    "taken slug": ({"slug": "alpha"}, "slug"),
    "reserved slug admin": ({"slug": "admin"}, "slug"),
    "reserved slug demo": ({"slug": "demo"}, "slug"),
    "reserved slug signup": ({"slug": "signup"}, "slug"),
    "slug with space": ({"slug": "A B"}, "slug"),
    "slug with hyphens at the ends": ({"slug": "-x-"}, "slug"),
    "slug too short": ({"slug": "ab"}, "slug"),
    "slug too long": ({"slug": "a" * 41}, "slug"),
    "slug with underscore": ({"slug": "sakura_city"}, "slug"),
    "slug with kana": ({"slug": "さくら"}, "slug"),
    "missing slug": ({"slug": ""}, "slug"),
    "bad e-mail": ({"email": "sato-at-example.jp"}, "email"),
    "missing e-mail": ({"email": ""}, "email"),
    "password too short": ({"password": "short1", "password_confirm": "short1"}, "password"),
    "common password": (
        {"password": "password123", "password_confirm": "password123"},
        "password",
    ),
    "password with the e-mail": (
        {"password": "sato-secret-words", "password_confirm": "sato-secret-words"},
        "password",
    ),
    "mismatched confirmation": ({"password_confirm": NEW_PASSWORD + "!"}, "password_confirm"),
    "missing prefecture": ({"prefecture_code": ""}, "prefecture_code"),
    "unknown prefecture": ({"prefecture_code": "99"}, "prefecture_code"),
    "unknown kind": ({"kind": "company"}, "kind"),
    "missing workspace name": ({"name": "   "}, "name"),
    "missing own name": ({"admin_name": ""}, "admin_name"),
    "existing account's e-mail": ({"email": "Viewer@Example.jp"}, "email"),
}


@pytest.mark.parametrize(("change", "field"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_signup_creates_nothing(client, world, app, change, field):
    before = counts(app)
    response = client.post("/signup", data={**WORKSPACE, **ACCOUNT, **change})
    assert response.status_code == 422
    assert_error_at(response.text, field)
    assert counts(app) == before
    with app.app_context(), db.new_session() as s:
        assert find_user_by_email(s, ACCOUNT["email"]) is None
    assert tenant_by_slug(app, "sakura-city") is None
    assert not is_signed_in(client)


def test_the_same_form_succeeds_once_corrected(client, world, app):
    """The refusals above are about the one bad value, not the rest of the form."""
    assert client.post("/signup", data={**WORKSPACE, **ACCOUNT, "slug": "admin"}).status_code == 422
    assert client.post("/signup", data={**WORKSPACE, **ACCOUNT}).status_code == 303


# --- unknown workspaces ----------------------------------------------------------------------


def test_unknown_slug_is_404_for_a_signed_in_user(client, world):
    client.login_as(world.admin)
    assert client.get("/t/nope/").status_code == 404
    assert client.get("/t/nope/members").status_code == 404
    assert client.get("/t/beta/").status_code == 404  # exists, but not a member: the same


def test_unknown_slug_sends_a_visitor_to_sign_in(client, world):
    response = client.get("/t/nope/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
