"""Members and invitations: inviting, accepting, revoking, roles, removal, the last-admin rule,
who may do what, the audit log, settings, and the query count of the member and audit pages.

No assertions on wording (the Japanese catalogue is being written): status codes, redirects,
database state, the field an error is shown at, flash categories and mail in the outbox.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from app.auth.models import User
from app.auth.service import find_user_by_email
from app.auth.tokens import make_token
from app.db import utcnow
from app.extensions import db
from app.mail import outbox
from tenants.audit import ACTION_LABELS, OBJECT_LABELS, AuditEvent, label
from tenants.isolation import tenant_scope
from tenants.models import Invitation, Membership, MembershipStatus, Role, Tenant, TenantKind
from tenants.service import INVITATION_PURPOSE
from tests.conftest import PASSWORD, add_member

NEW_PASSWORD = "a long enough phrase"
INVITEE = "newcomer@example.jp"


# --- helpers -----------------------------------------------------------------------------------


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


def flashes(html: str) -> list[str]:
    return re.findall(r'<li class="flash flash-(\w+)">', html)


def mails(app) -> list:
    with app.app_context():
        return list(outbox())


def invite_link(mail) -> str:
    match = re.search(r"http://localhost(/invite/\S+)", mail.body)
    assert match is not None, mail.body
    return match.group(1)


def invite(client, email=INVITEE, role="quality", **kwargs):
    return client.post("/t/alpha/members/invite", data={"email": email, "role": role}, **kwargs)


def invite_and_link(app, client, email=INVITEE, role="quality") -> str:
    response = invite(client, email, role)
    assert response.status_code == 303, response.text
    sent = [mail for mail in mails(app) if mail.to == email]
    return invite_link(sent[-1])


def invitations(app, tenant_id: int) -> list[Invitation]:
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        rows = s.scalars(select(Invitation).order_by(Invitation.id)).all()
        s.expunge_all()
        return list(rows)


def memberships(app, tenant_id: int) -> dict[str, tuple[Role, MembershipStatus]]:
    """E-mail → (role, status) for every membership row of the workspace, removed ones too."""
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        rows = s.scalars(select(Membership)).all()
        return {m.user.email: (m.role, m.status) for m in rows}


def audit_events(app, tenant_id: int) -> list[AuditEvent]:
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        s.expunge_all()
        return list(rows)


def user_count(app) -> int:
    with app.app_context(), db.new_session() as s:
        return s.scalar(select(func.count()).select_from(User)) or 0


def as_admin(app, world):
    return app.test_client().login_as(world.admin)


# --- inviting ----------------------------------------------------------------------------------


def test_admin_invites_by_mail_and_the_invitation_is_pending(app, world):
    admin = as_admin(app, world)
    response = invite(admin)
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/t/alpha/members"

    sent = mails(app)
    assert [mail.to for mail in sent] == [INVITEE]
    link = invite_link(sent[0])
    assert link.startswith("/invite/")

    [invitation] = invitations(app, world.alpha.id)
    assert invitation.email == INVITEE
    assert invitation.role == Role.QUALITY
    assert invitation.invited_by_id == world.memberships["admin"].id
    assert invitation.state(utcnow()) == "pending"
    assert invitation.expires_at > utcnow() + timedelta(days=6)

    page = admin.get("/t/alpha/members")
    assert page.status_code == 200
    assert INVITEE in page.text
    assert f'action="/t/alpha/invitations/{invitation.id}/revoke"' in page.text


def test_invite_address_is_normalised(app, world):
    admin = as_admin(app, world)
    assert invite(admin, email="  NewComer@Example.JP ").status_code == 303
    assert [inv.email for inv in invitations(app, world.alpha.id)] == [INVITEE]
    assert [mail.to for mail in mails(app)] == [INVITEE]


@pytest.mark.parametrize(
    "email", ["coordinator@example.jp", "Viewer@Example.JP", "admin@example.jp"]
)
def test_inviting_a_member_is_refused_at_the_email_field(app, world, email):
    admin = as_admin(app, world)
    response = invite(admin, email=email)
    assert response.status_code == 422
    assert_error_at(response.text, "email")
    assert mails(app) == []
    assert invitations(app, world.alpha.id) == []


@pytest.mark.parametrize(
    ("email", "role", "field"),
    [
        ("not an address", "quality", "email"),
        ("", "quality", "email"),
        (INVITEE, "buyer", "buyer_id"),  # a buyer's person needs the company
        (INVITEE, "facility", "facility_id"),
        (INVITEE, "owner", "role"),
    ],
)
def test_invalid_invitation_is_refused_at_the_field(app, world, email, role, field):
    admin = as_admin(app, world)
    response = invite(admin, email=email, role=role)
    assert response.status_code == 422
    assert_error_at(response.text, field)
    assert mails(app) == []
    assert invitations(app, world.alpha.id) == []


def test_invite_form_error_as_htmx_fragment(app, world):
    admin = as_admin(app, world)
    response = invite(
        admin, email="coordinator@example.jp", headers={"HX-Request": "true", "HX-Target": "invite"}
    )
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<form id="invite"')
    assert_error_at(response.text, "email")


def test_invite_without_csrf_token_sends_nothing(app, world):
    admin = as_admin(app, world)
    assert invite(admin, csrf=False).status_code == 400
    assert mails(app) == []
    assert invitations(app, world.alpha.id) == []


def test_inviting_a_member_of_another_workspace_is_allowed(app, world):
    admin = as_admin(app, world)
    assert invite(admin, email="outsider@example.jp").status_code == 303
    assert [inv.email for inv in invitations(app, world.alpha.id)] == ["outsider@example.jp"]


def test_reinviting_replaces_the_older_pending_invitation(app, world):
    admin = as_admin(app, world)
    first = invite_and_link(app, admin, role="viewer")
    second = invite_and_link(app, admin, role="coordinator")
    assert first != second
    older, newer = invitations(app, world.alpha.id)
    assert older.state(utcnow()) == "revoked"
    assert newer.state(utcnow()) == "pending"
    assert newer.role == Role.COORDINATOR

    page = admin.get("/t/alpha/members")
    assert f'/invitations/{older.id}/revoke"' not in page.text
    assert f'/invitations/{newer.id}/revoke"' in page.text
    assert page.text.count(f"<td>{INVITEE}</td>") == 1

    visitor = app.test_client()
    assert visitor.get(first).status_code == 400
    assert visitor.get(second).status_code == 200

    # The replacement is an audited write like any other.
    revocations = [
        e
        for e in audit_events(app, world.alpha.id)
        if (e.action, e.object_type, e.object_id) == ("update", "invitations", str(older.id))
    ]
    assert len(revocations) == 1
    assert revocations[0].actor_user_id == world.admin.id
    assert list(revocations[0].changes or {}) == ["revoked_at"]


# --- accepting ---------------------------------------------------------------------------------


def test_invitee_without_account_joins_with_the_invited_role(app, world):
    link = invite_and_link(app, as_admin(app, world), role="quality")
    users_before = user_count(app)
    invitee = app.test_client()
    page = invitee.get(link)
    assert page.status_code == 200
    assert 'id="name"' in page.text
    assert 'id="password"' in page.text

    response = invitee.post(
        link, data={"name": "新人 花子", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/t/alpha/"
    assert user_count(app) == users_before + 1

    with app.app_context(), db.new_session() as s:
        user = find_user_by_email(s, INVITEE)
        assert user is not None
        assert user.name == "新人 花子"
        user_id = user.id
    assert memberships(app, world.alpha.id)[INVITEE] == (Role.QUALITY, MembershipStatus.ACTIVE)
    [invitation] = invitations(app, world.alpha.id)
    assert invitation.state(utcnow()) == "accepted"
    assert invitation.membership_id is not None
    assert INVITEE not in memberships(app, world.beta.id)

    assert invitee.get("/t/alpha/").status_code == 200
    assert invitee.get("/t/beta/").status_code == 404
    # The password chosen works.
    other = app.test_client()
    response = other.post("/login", data={"email": INVITEE, "password": NEW_PASSWORD})
    assert response.status_code == 303

    events = audit_events(app, world.alpha.id)
    joined = [e for e in events if e.object_type == "memberships" and e.action == "create"]
    assert [e.actor_user_id for e in joined][-1] == user_id


def test_invitation_link_is_single_use(app, world):
    link = invite_and_link(app, as_admin(app, world))
    invitee = app.test_client()
    data = {"name": "Newcomer", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    assert invitee.post(link, data=data).status_code == 303
    assert invitee.get(link).status_code == 400
    assert app.test_client().get(link).status_code == 400
    second_try = app.test_client()
    users = user_count(app)
    assert second_try.post(link, data=data).status_code == 400
    assert user_count(app) == users


@pytest.mark.parametrize(
    ("password", "confirm", "field"),
    [
        ("short", "short", "password"),
        ("1234567890", "1234567890", "password"),
        ("newcomer-phrase-x", "newcomer-phrase-x", "password"),
        (NEW_PASSWORD, NEW_PASSWORD + "?", "password_confirm"),
    ],
)
def test_weak_password_on_acceptance_creates_nothing(app, world, password, confirm, field):
    link = invite_and_link(app, as_admin(app, world))
    users = user_count(app)
    invitee = app.test_client()
    response = invitee.post(
        link, data={"name": "Newcomer", "password": password, "password_confirm": confirm}
    )
    assert response.status_code == 422
    assert_error_at(response.text, field)
    assert user_count(app) == users
    [invitation] = invitations(app, world.alpha.id)
    assert invitation.state(utcnow()) == "pending"
    assert invitee.get(link).status_code == 200


def test_revoked_invitation_cannot_be_used(app, world):
    admin = as_admin(app, world)
    link = invite_and_link(app, admin)
    [invitation] = invitations(app, world.alpha.id)
    response = admin.post(f"/t/alpha/invitations/{invitation.id}/revoke")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/t/alpha/members"
    assert invitations(app, world.alpha.id)[0].state(utcnow()) == "revoked"
    assert f'/invitations/{invitation.id}/revoke"' not in admin.get("/t/alpha/members").text

    users = user_count(app)
    invitee = app.test_client()
    assert invitee.get(link).status_code == 400
    data = {"name": "Newcomer", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    assert invitee.post(link, data=data).status_code == 400
    assert user_count(app) == users


def test_revoking_an_unknown_invitation_is_404(app, world):
    assert as_admin(app, world).post("/t/alpha/invitations/999/revoke").status_code == 404


def test_expired_invitation_cannot_be_used(app, world):
    link = invite_and_link(app, as_admin(app, world))
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        invitation = s.scalar(select(Invitation))
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        s.commit()
    invitee = app.test_client()
    assert invitee.get(link).status_code == 400
    data = {"name": "Newcomer", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    assert invitee.post(link, data=data).status_code == 400
    assert INVITEE not in memberships(app, world.alpha.id)


@pytest.mark.parametrize(("age_days", "status"), [(6, 200), (8, 400)])
def test_invitation_token_older_than_the_max_age_is_refused(
    app, world, monkeypatch, age_days, status
):
    assert app.extensions["renkei_settings"].invitation_max_age_days == 7
    issued = int(time.time()) - age_days * 86400
    with monkeypatch.context() as patch:
        # The session cookie is timestamped too: sign in while the clock is turned back.
        patch.setattr(TimestampSigner, "get_timestamp", lambda _self: issued)
        link = invite_and_link(app, as_admin(app, world))
    assert app.test_client().get(link).status_code == status


def test_forged_or_garbled_invitation_links_are_refused(app, world):
    link = invite_and_link(app, as_admin(app, world))
    token = link.removeprefix("/invite/")
    payload, timestamp, signature = token.split(".")
    flipped = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]
    with app.app_context():
        other_purpose = make_token("password-reset", {"t": world.alpha.id, "i": 1})
        no_such_invitation = make_token(INVITATION_PURPOSE, {"t": world.alpha.id, "i": 999})
        no_such_tenant = make_token(INVITATION_PURPOSE, {"t": 999, "i": 1})
        wrong_types = make_token(INVITATION_PURPOSE, {"t": str(world.alpha.id), "i": "1"})
        not_a_dict = make_token(INVITATION_PURPOSE, [world.alpha.id, 1])  # type: ignore[arg-type]
    visitor = app.test_client()
    for bad in (
        "garbage",
        "a.b.c",
        f"{payload}.{timestamp}.{flipped}",
        f"{payload}x.{timestamp}.{signature}",
        other_purpose,
        no_such_invitation,
        no_such_tenant,
        wrong_types,
        not_a_dict,
    ):
        assert visitor.get(f"/invite/{bad}").status_code == 400, bad
        assert visitor.post(f"/invite/{bad}", data={"name": "x"}).status_code == 400, bad
    assert visitor.get(link).status_code == 200  # the genuine link still works


def test_invitation_to_an_archived_workspace_is_refused(app, world):
    link = invite_and_link(app, as_admin(app, world))
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        s.get(Tenant, world.alpha.id).archived_at = utcnow()
        s.commit()
    assert app.test_client().get(link).status_code == 400


def test_existing_user_signs_in_then_accepts_with_one_post(app, world):
    link = invite_and_link(app, as_admin(app, world), email="outsider@example.jp", role="viewer")
    invitee = app.test_client()
    response = invitee.get(link)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == [link]

    response = invitee.post(
        response.headers["Location"],
        data={"email": "outsider@example.jp", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == link
    assert invitations(app, world.alpha.id)[0].state(utcnow()) == "pending"

    page = invitee.get(link)
    assert page.status_code == 200
    assert 'id="password"' not in page.text  # no account form for an existing account
    users = user_count(app)
    response = invitee.post(link)
    assert response.status_code == 303
    assert response.headers["Location"] == "/t/alpha/"
    assert user_count(app) == users

    assert memberships(app, world.alpha.id)["outsider@example.jp"] == (
        Role.VIEWER,
        MembershipStatus.ACTIVE,
    )
    assert invitations(app, world.alpha.id)[0].state(utcnow()) == "accepted"
    assert invitee.get("/t/alpha/").status_code == 200
    assert invitee.get("/t/beta/").status_code == 200  # still in the own workspace
    assert invitee.get("/t/alpha/settings").status_code == 403  # viewer


def test_signed_in_as_someone_else_gets_403_and_nothing_changes(app, world):
    link = invite_and_link(app, as_admin(app, world))
    wrong_person = app.test_client().login_as(world.coordinator)
    users = user_count(app)
    assert wrong_person.get(link).status_code == 403
    data = {"name": "Newcomer", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    assert wrong_person.post(link, data=data).status_code == 403
    assert user_count(app) == users
    assert invitations(app, world.alpha.id)[0].state(utcnow()) == "pending"
    assert INVITEE not in memberships(app, world.alpha.id)
    assert memberships(app, world.alpha.id)["coordinator@example.jp"] == (
        Role.COORDINATOR,
        MembershipStatus.ACTIVE,
    )


def test_existing_invitee_account_is_not_overwritten_by_the_anonymous_form(app, world):
    link = invite_and_link(app, as_admin(app, world), email="outsider@example.jp")
    stranger = app.test_client()
    data = {"name": "Mallory", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    response = stranger.post(link, data=data)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    with app.app_context(), db.new_session() as s:
        user = find_user_by_email(s, "outsider@example.jp")
        assert user.name == "Outsider"
    assert "outsider@example.jp" not in memberships(app, world.alpha.id)
    assert invitations(app, world.alpha.id)[0].state(utcnow()) == "pending"


def test_removed_member_can_be_invited_back(app, world):
    admin = as_admin(app, world)
    coordinator_id = world.memberships["coordinator"].id
    assert admin.post(f"/t/alpha/members/{coordinator_id}/remove").status_code == 303
    link = invite_and_link(app, admin, email="coordinator@example.jp", role="viewer")
    returning = app.test_client().login_as(world.coordinator)
    assert returning.get("/t/alpha/").status_code == 404
    assert returning.post(link).status_code == 303
    assert memberships(app, world.alpha.id)["coordinator@example.jp"] == (
        Role.VIEWER,
        MembershipStatus.ACTIVE,
    )
    assert returning.get("/t/alpha/").status_code == 200


# --- roles and removal -------------------------------------------------------------------------


def test_admin_changes_a_role(app, world):
    admin = as_admin(app, world)
    coordinator_id = world.memberships["coordinator"].id
    response = admin.post(f"/t/alpha/members/{coordinator_id}/role", data={"role": "viewer"})
    assert response.status_code == 303
    assert flashes(admin.get(response.headers["Location"]).text) == ["success"]
    assert memberships(app, world.alpha.id)["coordinator@example.jp"] == (
        Role.VIEWER,
        MembershipStatus.ACTIVE,
    )
    demoted = app.test_client().login_as(world.coordinator)
    assert demoted.post("/t/alpha/members/invite", data={"email": INVITEE}).status_code == 403


def test_invalid_role_is_refused(app, world):
    admin = as_admin(app, world)
    coordinator_id = world.memberships["coordinator"].id
    response = admin.post(f"/t/alpha/members/{coordinator_id}/role", data={"role": "buyer"})
    assert response.status_code == 303
    assert flashes(admin.get(response.headers["Location"]).text) == ["error"]
    assert memberships(app, world.alpha.id)["coordinator@example.jp"][0] == Role.COORDINATOR


def test_admin_removes_a_member_who_then_gets_404(app, world):
    member = app.test_client().login_as(world.coordinator)
    assert member.get("/t/alpha/").status_code == 200
    admin = as_admin(app, world)
    coordinator_id = world.memberships["coordinator"].id
    response = admin.post(f"/t/alpha/members/{coordinator_id}/remove")
    assert response.status_code == 303
    assert flashes(admin.get(response.headers["Location"]).text) == ["success"]

    # Marked removed, not deleted.
    assert memberships(app, world.alpha.id)["coordinator@example.jp"] == (
        Role.COORDINATOR,
        MembershipStatus.REMOVED,
    )
    assert member.get("/t/alpha/").status_code == 404
    assert member.get("/t/alpha/members").status_code == 404
    assert "coordinator@example.jp" not in admin.get("/t/alpha/members").text
    # A removed membership cannot be changed or removed again.
    assert (
        admin.post(f"/t/alpha/members/{coordinator_id}/role", data={"role": "admin"}).status_code
        == 404
    )
    assert admin.post(f"/t/alpha/members/{coordinator_id}/remove").status_code == 404
    assert admin.post("/t/alpha/members/999/remove").status_code == 404


def test_last_admin_cannot_be_demoted_or_removed(app, world):
    admin = as_admin(app, world)
    admin_id = world.memberships["admin"].id
    for url, data in (
        (f"/t/alpha/members/{admin_id}/role", {"role": "coordinator"}),
        (f"/t/alpha/members/{admin_id}/role", {"role": "viewer"}),
        (f"/t/alpha/members/{admin_id}/remove", {}),
    ):
        response = admin.post(url, data=data)
        assert response.status_code == 303
        assert urlsplit(response.headers["Location"]).path == "/t/alpha/members"
        assert flashes(admin.get(response.headers["Location"]).text) == ["error"]
        assert memberships(app, world.alpha.id)["admin@example.jp"] == (
            Role.ADMIN,
            MembershipStatus.ACTIVE,
        )
    assert admin.get("/t/alpha/settings").status_code == 200


def test_an_admin_can_step_down_when_another_admin_remains(app, world):
    admin = as_admin(app, world)
    coordinator_id = world.memberships["coordinator"].id
    admin_id = world.memberships["admin"].id
    assert (
        admin.post(f"/t/alpha/members/{coordinator_id}/role", data={"role": "admin"}).status_code
        == 303
    )
    response = admin.post(f"/t/alpha/members/{admin_id}/role", data={"role": "coordinator"})
    assert response.status_code == 303
    assert memberships(app, world.alpha.id)["admin@example.jp"][0] == Role.COORDINATOR
    assert admin.get("/t/alpha/settings").status_code == 403
    # The other admin is now the last one.
    other = app.test_client().login_as(world.coordinator)
    response = other.post(f"/t/alpha/members/{coordinator_id}/remove")
    assert flashes(other.get(response.headers["Location"]).text) == ["error"]
    assert memberships(app, world.alpha.id)["coordinator@example.jp"] == (
        Role.ADMIN,
        MembershipStatus.ACTIVE,
    )


# --- who may do what ---------------------------------------------------------------------------

ADMIN_ONLY = [
    ("post", "/t/alpha/members/invite", {"email": INVITEE, "role": "admin"}),
    ("post", "/t/alpha/members/1/role", {"role": "viewer"}),
    ("post", "/t/alpha/members/2/role", {"role": "admin"}),
    ("post", "/t/alpha/members/1/remove", {}),
    ("post", "/t/alpha/invitations/{invitation}/revoke", {}),
    ("get", "/t/alpha/settings", None),
    (
        "post",
        "/t/alpha/settings",
        {"name": "Hijacked", "kind": "prefecture", "prefecture_code": "01"},
    ),
    ("get", "/t/alpha/audit", None),
]


@pytest.mark.parametrize("who", ["coordinator", "viewer"])
@pytest.mark.parametrize(("method", "url", "data"), ADMIN_ONLY)
def test_only_admins_manage_the_workspace(app, world, who, method, url, data):
    invite_and_link(app, as_admin(app, world))
    [invitation] = invitations(app, world.alpha.id)
    before = (memberships(app, world.alpha.id), len(mails(app)), len(audit_events(app, 1)))

    client = app.test_client().login_as(getattr(world, who))
    response = getattr(client, method)(url.format(invitation=invitation.id), data=data)
    assert response.status_code == 403

    after = (memberships(app, world.alpha.id), len(mails(app)), len(audit_events(app, 1)))
    assert after == before
    assert invitations(app, world.alpha.id)[0].state(utcnow()) == "pending"
    with app.app_context(), db.new_session() as s:
        assert s.get(Tenant, world.alpha.id).name == world.alpha.name


def test_the_invitation_form_has_its_own_page_with_the_workspaces_choices(app, world, arrange):
    from app.buyers.models import Buyer
    from app.facilities.models import Facility, FacilityKind

    arrange(
        lambda s: s.add_all(
            [Buyer(name="株式会社みなと"), Facility(name="作業所ひかり", kind=FacilityKind.TYPE_B)]
        )
    )
    arrange(lambda s: s.add(Buyer(name="ベータ商事")), tenant_id=world.beta.id)
    admin = as_admin(app, world)
    members_page = admin.get("/t/alpha/members")
    assert 'href="/t/alpha/members/invite"' in members_page.text
    # The members list carries no company or facility choices (thousands in a large one).
    assert 'id="invite"' not in members_page.text
    assert "作業所ひかり" not in members_page.text

    page = admin.get("/t/alpha/members/invite")
    assert page.status_code == 200
    assert '<form id="invite"' in page.text
    assert "株式会社みなと" in page.text and "作業所ひかり" in page.text
    assert "ベータ商事" not in page.text
    assert 'href="/t/alpha/members"' in page.text  # the way back


@pytest.mark.parametrize("who", ["coordinator", "viewer"])
def test_only_admins_open_the_invitation_page(app, world, who):
    assert (
        app.test_client().login_as(getattr(world, who)).get("/t/alpha/members/invite").status_code
        == 403
    )
    assert (
        app.test_client().login_as(world.outsider).get("/t/alpha/members/invite").status_code == 404
    )


@pytest.mark.parametrize("who", ["coordinator", "viewer"])
def test_staff_see_members_without_admin_controls(app, world, who):
    invite_and_link(app, as_admin(app, world))
    page = app.test_client().login_as(getattr(world, who)).get("/t/alpha/members")
    assert page.status_code == 200
    assert "admin@example.jp" in page.text
    assert 'id="invite"' not in page.text
    assert "/members/invite" not in page.text
    assert "/remove" not in page.text
    assert INVITEE not in page.text  # pending invitations are for admins
    assert 'href="/t/alpha/audit"' not in page.text


def test_outsider_cannot_manage_another_workspace(app, world):
    outsider = app.test_client().login_as(world.outsider)  # admin of beta
    assert outsider.post("/t/alpha/members/1/remove").status_code == 404
    assert outsider.post("/t/alpha/members/invite", data={"email": INVITEE}).status_code == 404
    assert outsider.get("/t/alpha/audit").status_code == 404
    assert memberships(app, world.alpha.id)["admin@example.jp"][1] == MembershipStatus.ACTIVE
    assert mails(app) == []


# --- settings and audit ------------------------------------------------------------------------


def test_settings_change_is_saved_and_audited(app, world):
    admin = as_admin(app, world)
    assert admin.get("/t/alpha/settings").status_code == 200
    response = admin.post(
        "/t/alpha/settings",
        data={
            "name": "  アルファ県 支援センター ",
            "kind": "support_center",
            "prefecture_code": "27",
        },
    )
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/t/alpha/settings"
    with app.app_context(), db.new_session() as s:
        tenant = s.get(Tenant, world.alpha.id)
        assert tenant.name == "アルファ県 支援センター"
        assert tenant.kind == TenantKind.SUPPORT_CENTER
        assert tenant.prefecture_code == "27"
        assert tenant.slug == "alpha"
    [event] = [e for e in audit_events(app, world.alpha.id) if e.object_type == "tenants"]
    assert event.action == "update"
    assert event.actor_user_id == world.admin.id
    assert event.object_id == str(world.alpha.id)
    assert event.changes["name"] == [world.alpha.name, "アルファ県 支援センター"]
    assert event.changes["prefecture_code"] == ["22", "27"]
    assert [e for e in audit_events(app, world.beta.id) if e.object_type == "tenants"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [({"name": ""}, "name"), ({"prefecture_code": ""}, "prefecture_code"), ({"kind": "x"}, "kind")],
)
def test_invalid_settings_are_refused_at_the_field(app, world, change, field):
    admin = as_admin(app, world)
    data = {"name": "New name", "kind": "municipality", "prefecture_code": "22", **change}
    response = admin.post("/t/alpha/settings", data=data)
    assert response.status_code == 422
    assert_error_at(response.text, field)
    with app.app_context(), db.new_session() as s:
        assert s.get(Tenant, world.alpha.id).name == world.alpha.name
    assert [
        (e.action, e.changes)
        for e in audit_events(app, world.alpha.id)
        if e.object_type == "tenants"
    ] == []


def audit_rows(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr>\s*<td><time.*?</tr>", html, re.S)
    return [[cell.strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)] for row in rows]


def test_audit_log_lists_the_writes_and_who_made_them(app, world):
    admin = as_admin(app, world)
    coordinator_id = world.memberships["coordinator"].id
    viewer_id = world.memberships["viewer"].id
    invite_and_link(app, admin, role="viewer")
    [invitation] = invitations(app, world.alpha.id)
    assert admin.post(f"/t/alpha/invitations/{invitation.id}/revoke").status_code == 303
    assert (
        admin.post(f"/t/alpha/members/{coordinator_id}/role", data={"role": "quality"}).status_code
        == 303
    )
    assert admin.post(f"/t/alpha/members/{viewer_id}/remove").status_code == 303
    settings = {"name": "Alpha renamed", "kind": "municipality", "prefecture_code": "22"}
    assert admin.post("/t/alpha/settings", data=settings).status_code == 303

    written = [e for e in audit_events(app, world.alpha.id) if e.actor_user_id is not None]
    assert {e.actor_user_id for e in written} == {world.admin.id}
    assert [(e.action, e.object_type, e.object_id) for e in written] == [
        ("create", "invitations", str(invitation.id)),
        ("update", "invitations", str(invitation.id)),
        ("update", "memberships", str(coordinator_id)),
        ("update", "memberships", str(viewer_id)),
        ("update", "tenants", str(world.alpha.id)),
    ]
    assert written[2].changes == {"role": ["coordinator", "quality"]}
    assert written[3].changes == {"status": ["active", "removed"]}
    assert written[4].changes == {"name": [world.alpha.name, "Alpha renamed"]}

    page = admin.get("/t/alpha/audit")
    assert page.status_code == 200
    rows = audit_rows(page.text)
    by_admin = [row for row in rows if row[1] == "Admin"]  # the actor's name, newest first
    with app.test_request_context():
        expected = [
            (
                label(ACTION_LABELS, e.action),
                f"{label(OBJECT_LABELS, e.object_type)} #{e.object_id}",
            )
            for e in reversed(written)
        ]
    assert [(row[2], row[3]) for row in by_admin] == expected
    assert "quality" in by_admin[2][4]
    assert "removed" in by_admin[1][4]
    assert "Alpha renamed" in by_admin[0][4]


def test_audit_log_does_not_show_other_workspaces(app, world):
    admin = as_admin(app, world)
    invite_and_link(app, admin)
    beta_admin = app.test_client().login_as(world.outsider)
    page = beta_admin.get("/t/beta/audit")
    assert page.status_code == 200
    rows = audit_rows(page.text)
    assert rows  # beta's own membership event
    assert all(row[1] != "Admin" for row in rows)
    assert INVITEE not in page.text


# --- no N+1 ------------------------------------------------------------------------------------


def grow_alpha(app, world, extra: int) -> None:
    """``extra`` more members in alpha, each with an audit event and a pending invitation."""
    with app.app_context(), db.new_session() as s:
        people = [
            User(email=f"member{n}@example.jp", name=f"Member {n}", password_hash="x")
            for n in range(extra)
        ]
        s.add_all(people)
        s.flush()
        for person in people:
            add_member(s, world.alpha, person, Role.COORDINATOR)
        with tenant_scope(s, world.alpha.id):
            for n, person in enumerate(people):
                s.add(
                    AuditEvent(
                        actor_user_id=person.id,
                        action="update",
                        object_type="memberships",
                        object_id=str(n),
                        changes={"role": ["viewer", "coordinator"]},
                    )
                )
                s.add(
                    Invitation(
                        email=f"pending{n}@example.jp",
                        role=Role.VIEWER,
                        invited_by_id=world.memberships["admin"].id,
                        expires_at=utcnow() + timedelta(days=3),
                    )
                )
            s.commit()


def statements_for(client, url: str, query_counter: list[str]) -> int:
    client.get(url)  # warm-up
    query_counter.clear()
    response = client.get(url)
    assert response.status_code == 200
    return len(query_counter)


@pytest.mark.parametrize("url", ["/t/alpha/members", "/t/alpha/audit"])
def test_pages_cost_the_same_queries_for_3_and_30_members(app, world, query_counter, url):
    admin = as_admin(app, world)
    small = statements_for(admin, url, query_counter)
    assert small > 0
    page = admin.get(url).text
    assert page.count("@example.jp") >= 3 or url.endswith("audit")

    grow_alpha(app, world, 27)
    assert len(memberships(app, world.alpha.id)) == 30
    large = statements_for(admin, url, query_counter)
    page = admin.get(url).text
    if url.endswith("/members"):
        assert "member26@example.jp" in page
        assert "pending26@example.jp" in page
    else:
        assert "Member 26" in page
    assert large == small, query_counter
