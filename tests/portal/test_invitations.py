"""Inviting the people of a buyer company or a facility: the link is chosen with the role,
copied to the membership on acceptance, and the person lands in the portal."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.mail import outbox
from tenants.isolation import tenant_scope
from tenants.models import Invitation, Membership, Role

NEW_PASSWORD = "a long enough phrase"


def invite(client, **data):
    return client.post("/t/alpha/members/invite", data=data)


def accept(app, email: str) -> str:
    with app.app_context():
        mail = [m for m in outbox() if m.to == email][-1]
    link = re.search(r"http://localhost(/invite/\S+)", mail.body).group(1)
    invitee = app.test_client()
    response = invitee.post(
        link, data={"name": "新しい人", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert response.status_code == 303, response.text
    return response.headers["Location"]


def membership_of(app, tenant_id: int, email: str) -> Membership:
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        found = next(m for m in s.scalars(select(Membership)) if m.user.email == email)
        s.expunge_all()
        return found


@pytest.mark.parametrize(
    ("role", "field", "value", "home"),
    [
        ("buyer", "buyer_id", "1", "/t/alpha/portal/"),
        ("facility", "facility_id", "1", "/t/alpha/facility/"),
    ],
)
def test_portal_person_is_linked_and_lands_in_the_portal(
    app, client, world, samples, role, field, value, home
):
    admin = client.login_as(world.admin)
    # Both choices are sent, as the form sends them; only the one of the role is kept.
    data = {"email": "portal@example.jp", "role": role, "buyer_id": "1", "facility_id": "1"}
    assert invite(admin, **data).status_code == 303
    assert accept(app, "portal@example.jp") == home
    membership = membership_of(app, world.alpha.id, "portal@example.jp")
    assert membership.role == Role(role)
    assert (membership.buyer_id, membership.facility_id) == (
        (1, None) if role == "buyer" else (None, 1)
    )
    page = admin.get("/t/alpha/members").text
    assert "株式会社サンプル" in page if role == "buyer" else "さくら作業所" in page


@pytest.mark.parametrize(
    ("role", "field", "value"),
    [("buyer", "buyer_id", "7"), ("buyer", "buyer_id", ""), ("facility", "facility_id", "x")],
)
def test_only_this_workspaces_companies_and_facilities_can_be_chosen(
    app, client, world, samples, role, field, value
):
    """The choices are this workspace's records (ids are per workspace, and the composite
    foreign key ties the link to the same workspace)."""
    admin = client.login_as(world.admin)
    response = invite(admin, email="p@example.jp", role=role, **{field: value})
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        assert s.scalars(select(Invitation)).all() == []


def test_staff_role_change_drops_the_link_and_portal_roles_are_not_offered(
    app, client, world, samples
):
    admin = client.login_as(world.admin)
    assert invite(admin, email="p@example.jp", role="buyer", buyer_id="1").status_code == 303
    accept(app, "p@example.jp")
    member = membership_of(app, world.alpha.id, "p@example.jp")
    assert (
        admin.post(f"/t/alpha/members/{member.id}/role", data={"role": "buyer"}).status_code == 303
    )
    assert membership_of(app, world.alpha.id, "p@example.jp").role == Role.BUYER  # refused
    assert (
        admin.post(f"/t/alpha/members/{member.id}/role", data={"role": "viewer"}).status_code == 303
    )
    changed = membership_of(app, world.alpha.id, "p@example.jp")
    assert (changed.role, changed.buyer_id) == (Role.VIEWER, None)
