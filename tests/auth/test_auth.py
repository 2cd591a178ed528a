"""Sign-in, throttling, sign-out, CSRF, password reset and change, account name.

Nothing here asserts on message wording (the Japanese catalogue is still being written):
status codes, redirects, cookies, database state, the field an error is shown at, and mail.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode, urlsplit

import pytest
from itsdangerous import TimestampSigner

from app.auth import service
from app.auth.models import User
from app.auth.passwords import verify_password
from app.db import utcnow
from app.extensions import db
from app.mail import outbox
from tests.conftest import PASSWORD, add_member

NEW_PASSWORD = "a much longer new phrase"
ADMIN_EMAIL = "admin@example.jp"


# --- helpers -----------------------------------------------------------------------------------


def login(client, email=ADMIN_EMAIL, password=PASSWORD, next_=None, address=None, **kwargs):
    url = "/login" if next_ is None else "/login?" + _query(next_)
    if address is not None:
        kwargs["environ_base"] = {"REMOTE_ADDR": address}
    return client.post(url, data={"email": email, "password": password}, **kwargs)


def _query(next_: str) -> str:
    return urlencode({"next": next_})


def error_fields(html: str) -> set[str]:
    """Ids of the fields that show an error (the macro renders ``<id>-error``)."""
    return set(re.findall(r'id="([\w-]+)-error"', html))


def assert_error_at(html: str, field_id: str) -> None:
    assert error_fields(html) == {field_id}, error_fields(html)
    wrapper = re.search(
        r'<div class="field has-error">(?:(?!</div>).)*?id="' + re.escape(field_id) + '"',
        html,
        re.S,
    )
    assert wrapper is not None, f"{field_id} is not inside a field marked has-error"


def without_tokens(html: str) -> str:
    """The page with CSRF tokens blanked (they are signed with a timestamp)."""
    html = re.sub(r'(name="csrf_token" type="hidden" value=")[^"]*"', r'\1"', html)
    html = re.sub(r'(name="csrf_token" value=")[^"]*"', r'\1"', html)
    return re.sub(r'("X-CSRFToken": ")[^"]*"', r'\1"', html)


def location(response) -> str:
    return response.headers["Location"]


def user_row(app, email: str) -> User:
    with app.app_context(), db.new_session() as s:
        user = service.find_user_by_email(s, email)
        assert user is not None
        s.expunge(user)
        return user


def password_is(app, email: str, password: str) -> bool:
    with app.app_context():
        return verify_password(user_row(app, email).password_hash, password)


def is_signed_in(client) -> bool:
    response = client.get("/account")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def reset_link(app, email: str) -> str:
    with app.app_context():
        mails = [m for m in outbox() if m.to == email]
    assert len(mails) == 1, mails
    match = re.search(r"http://localhost(/password/reset/\S+)", mails[0].body)
    assert match is not None, mails[0].body
    return match.group(1)


# --- signing in --------------------------------------------------------------------------------


def test_login_success_sets_a_safe_session_cookie(client, world, app):
    response = login(client)
    assert response.status_code == 303
    assert location(response) == "/t/alpha/"
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert len(cookies) == 1
    attributes = [part.strip().lower() for part in cookies[0].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert client.get("/t/alpha/").status_code == 200
    assert user_row(app, ADMIN_EMAIL).last_login_at is not None


def test_login_email_is_case_and_space_insensitive(client, world):
    response = login(client, email="  Admin@Example.JP ")
    assert response.status_code == 303
    assert is_signed_in(client)


def test_wrong_password_and_unknown_email_give_the_same_page(app, world):
    wrong = login(app.test_client(), email=ADMIN_EMAIL, password="wrong password here")
    unknown = login(app.test_client(), email="nobody@example.jp", password="wrong password here")
    assert wrong.status_code == unknown.status_code == 422
    assert_error_at(wrong.text, "password")
    assert "Set-Cookie" not in wrong.headers or "_user_id" not in wrong.headers["Set-Cookie"]
    same_wrong = without_tokens(wrong.text).replace(ADMIN_EMAIL, "EMAIL")
    same_unknown = without_tokens(unknown.text).replace("nobody@example.jp", "EMAIL")
    assert same_wrong == same_unknown


def test_failed_login_does_not_sign_in(client, world, app):
    login(client, password="wrong password here")
    assert not is_signed_in(client)
    assert user_row(app, ADMIN_EMAIL).last_login_at is None


def test_disabled_account_cannot_sign_in(client, world, app):
    with app.app_context(), db.new_session() as s:
        s.get(User, world.admin.id).disabled_at = utcnow()
        s.commit()
    assert login(client).status_code == 422
    assert not is_signed_in(client)


def test_next_is_honoured_for_same_site_paths(client, world):
    response = login(client, next_="/t/alpha/members?x=1")
    assert response.status_code == 303
    assert location(response) == "/t/alpha/members?x=1"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/t/alpha/",
        "https://evil.example",
        "https://evil.example/t/alpha/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "http:evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_never_redirects_off_site(client, world, target):
    response = login(client, next_=target)
    assert response.status_code == 303
    assert location(response) == "/t/alpha/"
    assert "evil" not in location(response)


def test_open_redirect_is_refused_for_a_signed_in_visitor_too(client, world):
    client.login_as(world.admin)
    response = client.get("/login?" + _query("//evil.example"))
    assert response.status_code in (302, 303)
    assert location(response) == "/t/alpha/"


def test_person_in_two_workspaces_lands_on_the_list(client, world, app):
    with app.app_context(), db.new_session() as s:
        admin = s.get(User, world.admin.id)
        assert admin is not None
        add_member(s, world.beta, admin, role=world.memberships["admin"].role)
        s.commit()
    response = login(client)
    assert response.status_code == 303
    assert location(response) == "/workspaces"


# --- throttling --------------------------------------------------------------------------------


def test_sixth_failure_for_one_account_is_refused_from_any_address(app, world):
    for attempt in range(5):
        response = login(
            app.test_client(), password="wrong password here", address=f"10.0.0.{attempt + 1}"
        )
        assert response.status_code == 422, attempt
    response = login(app.test_client(), password="wrong password here", address="10.0.1.1")
    assert response.status_code == 429
    assert 'id="email"' in response.text
    assert 'id="password"' in response.text
    assert "password" in error_fields(response.text)
    # Even the right password waits now, and the session stays anonymous.
    client = app.test_client()
    response = login(client, address="10.0.2.2")
    assert response.status_code == 429
    assert not is_signed_in(client)
    # Another account is not affected.
    assert (
        login(app.test_client(), email="viewer@example.jp", address="10.0.3.3").status_code == 303
    )


def test_account_throttle_ignores_case_of_the_address(app, world):
    spellings = ["admin@example.jp", "ADMIN@example.jp", "Admin@Example.jp", " admin@example.jp"]
    for index, spelling in enumerate([*spellings, "admin@EXAMPLE.JP"]):
        response = login(app.test_client(), email=spelling, password="wrong password here")
        assert response.status_code == 422, index
    assert login(app.test_client(), email="aDmIn@example.jp", password="x").status_code == 429


def test_many_accounts_from_one_address_are_throttled(app, world):
    for index in range(20):
        response = login(
            app.test_client(),
            email=f"guess{index}@example.jp",
            password="wrong password here",
            address="192.0.2.7",
        )
        assert response.status_code == 422, index
    response = login(
        app.test_client(), email="guess99@example.jp", password="whatever", address="192.0.2.7"
    )
    assert response.status_code == 429
    assert 'id="email"' in response.text
    # A different address is still served.
    response = login(
        app.test_client(), email="guess99@example.jp", password="whatever", address="192.0.2.8"
    )
    assert response.status_code == 422


def test_successful_logins_do_not_count(app, world):
    for _ in range(25):  # more than both the account and the address limit
        assert login(app.test_client(), address="198.51.100.1").status_code == 303
    for attempt in range(5):
        response = login(app.test_client(), password="nope nope nope", address="198.51.100.1")
        assert response.status_code == 422, attempt
    response = login(app.test_client(), password="nope nope nope", address="198.51.100.1")
    assert response.status_code == 429


# --- signing out and CSRF ----------------------------------------------------------------------


def test_logout_is_post_only_and_ends_the_session(client, world):
    assert login(client).status_code == 303
    assert client.get("/logout").status_code == 405
    assert is_signed_in(client)
    response = client.post("/logout")
    assert response.status_code == 303
    assert urlsplit(location(response)).path == "/login"
    assert not is_signed_in(client)
    assert client.get("/t/alpha/").status_code == 302


def test_logout_without_csrf_token_is_refused(client, world):
    client.login_as(world.admin)
    response = client.post("/logout", csrf=False)
    assert response.status_code == 400
    assert is_signed_in(client)


def test_login_without_csrf_token_is_refused(client, world, app):
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert not is_signed_in(client)
    assert user_row(app, ADMIN_EMAIL).last_login_at is None


def test_account_change_without_csrf_token_changes_nothing(client, world, app):
    client.login_as(world.admin)
    response = client.post("/account", data={"name": "Mallory"}, csrf=False)
    assert response.status_code == 400
    response = client.post(
        "/account/password",
        data={
            "pw-current_password": PASSWORD,
            "pw-password": NEW_PASSWORD,
            "pw-password_confirm": NEW_PASSWORD,
        },
        csrf=False,
    )
    assert response.status_code == 400
    user = user_row(app, ADMIN_EMAIL)
    assert user.name == "Admin"
    assert password_is(app, ADMIN_EMAIL, PASSWORD)
    assert is_signed_in(client)


# --- password reset ----------------------------------------------------------------------------


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(app, world):
    answers = []
    for email in (ADMIN_EMAIL, "nobody@example.jp"):
        client = app.test_client()
        response = client.post("/password/forgot", data={"email": email})
        assert response.status_code == 303
        answers.append((location(response), without_tokens(client.get(location(response)).text)))
    assert answers[0] == answers[1]
    with app.app_context():
        assert [mail.to for mail in outbox()] == [ADMIN_EMAIL]
        assert "/password/reset/" in outbox()[0].body


def test_forgot_password_sends_nothing_for_a_disabled_account(client, world, app):
    with app.app_context(), db.new_session() as s:
        s.get(User, world.admin.id).disabled_at = utcnow()
        s.commit()
    assert client.post("/password/forgot", data={"email": ADMIN_EMAIL}).status_code == 303
    with app.app_context():
        assert outbox() == []


def test_forgot_password_with_a_malformed_address_shows_the_field_error(client, world, app):
    response = client.post("/password/forgot", data={"email": "not an address"})
    assert response.status_code == 422
    assert_error_at(response.text, "email")
    with app.app_context():
        assert outbox() == []


def test_reset_link_works_once(client, world, app):
    client.post("/password/forgot", data={"email": ADMIN_EMAIL})
    link = reset_link(app, ADMIN_EMAIL)
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert urlsplit(location(response)).path == "/login"
    assert password_is(app, ADMIN_EMAIL, NEW_PASSWORD)
    assert not password_is(app, ADMIN_EMAIL, PASSWORD)
    # Used: the link is dead now, for GET and POST.
    assert client.get(link).status_code == 400
    response = client.post(
        link, data={"password": "another long phrase", "password_confirm": "another long phrase"}
    )
    assert response.status_code == 400
    assert password_is(app, ADMIN_EMAIL, NEW_PASSWORD)
    # The new password signs in, the old one does not.
    assert login(app.test_client(), password=PASSWORD).status_code == 422
    assert login(app.test_client(), password=NEW_PASSWORD).status_code == 303


def test_reset_signs_out_existing_sessions(app, world):
    elsewhere = app.test_client()
    assert login(elsewhere).status_code == 303
    client = app.test_client()
    client.post("/password/forgot", data={"email": ADMIN_EMAIL})
    link = reset_link(app, ADMIN_EMAIL)
    response = client.post(link, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert not is_signed_in(elsewhere)


@pytest.mark.parametrize(("age_minutes", "status"), [(59, 200), (61, 400)])
def test_reset_link_expires(client, world, app, monkeypatch, *, age_minutes, status):
    settings = app.extensions["renkei_settings"]
    assert settings.password_reset_max_age_minutes == 60
    with monkeypatch.context() as patch:
        patch.setattr(
            TimestampSigner, "get_timestamp", lambda _self: int(time.time()) - age_minutes * 60
        )
        with app.app_context(), db.new_session() as s:
            user = s.get(User, world.admin.id)
            assert user is not None
            token = service.make_reset_token(user)
    link = f"/password/reset/{token}"
    assert client.get(link).status_code == status
    response = client.post(link, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == (303 if status == 200 else 400)
    changed = password_is(app, ADMIN_EMAIL, NEW_PASSWORD)
    assert changed is (status == 200)


def test_reset_link_expires_when_the_setting_is_shortened(client, world, app, monkeypatch):
    client.post("/password/forgot", data={"email": ADMIN_EMAIL})
    link = reset_link(app, ADMIN_EMAIL)
    assert client.get(link).status_code == 200
    monkeypatch.setattr(app.extensions["renkei_settings"], "password_reset_max_age_minutes", -1)
    assert client.get(link).status_code == 400


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "eyJ1IjoxLCJmIjoiMDAwMDAwMDAwMDAwMDAwMCJ9.Zz9Zz9.abcdefabcdefabcdefabcdefabc",
    ],
)
def test_forged_reset_link_is_refused(client, world, token):
    assert client.get(f"/password/reset/{token}").status_code == 400


def test_tampered_reset_link_is_refused(client, world, app):
    client.post("/password/forgot", data={"email": ADMIN_EMAIL})
    link = reset_link(app, ADMIN_EMAIL)
    payload, timestamp, signature = link.rsplit("/", 1)[1].split(".")
    flipped = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]
    tampered = f"/password/reset/{payload}.{timestamp}.{flipped}"
    assert client.get(tampered).status_code == 400
    assert client.get(link).status_code == 200


@pytest.mark.parametrize(
    ("password", "confirm", "field"),
    [
        ("short", "short", "password"),
        ("password123", "password123", "password"),
        ("aaaaaaaaaaaa", "aaaaaaaaaaaa", "password"),
        ("admin-secret-phrase", "admin-secret-phrase", "password"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "password_confirm"),
    ],
)
def test_weak_or_mismatched_reset_password_is_refused(
    client, world, app, *, password, confirm, field
):
    client.post("/password/forgot", data={"email": ADMIN_EMAIL})
    link = reset_link(app, ADMIN_EMAIL)
    response = client.post(link, data={"password": password, "password_confirm": confirm})
    assert response.status_code == 422
    assert_error_at(response.text, field)
    assert password_is(app, ADMIN_EMAIL, PASSWORD)
    # The link was not used up by the failed attempt.
    assert client.get(link).status_code == 200


# --- changing the password and the name --------------------------------------------------------


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post(
        "/account/password",
        data={
            "pw-current_password": current,
            "pw-password": new,
            "pw-password_confirm": new if confirm is None else confirm,
        },
    )


def test_password_change_ends_other_sessions(app, world):
    here = app.test_client()
    there = app.test_client()
    assert login(here).status_code == 303
    assert login(there).status_code == 303
    assert is_signed_in(here) and is_signed_in(there)

    response = change_password(here)
    assert response.status_code == 303
    assert urlsplit(location(response)).path == "/account"
    assert password_is(app, ADMIN_EMAIL, NEW_PASSWORD)

    assert is_signed_in(here)
    assert here.get("/t/alpha/").status_code == 200
    assert not is_signed_in(there)
    assert there.get("/t/alpha/").status_code == 302


def test_remembered_session_ends_with_a_password_change(app, world):
    remembered = app.test_client()
    response = remembered.post(
        "/login", data={"email": ADMIN_EMAIL, "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 303
    assert remembered.get_cookie("remember_token") is not None
    here = app.test_client()
    assert login(here).status_code == 303
    assert change_password(here).status_code == 303
    assert not is_signed_in(remembered)
    assert is_signed_in(here)


def test_wrong_current_password_changes_nothing(app, world):
    here = app.test_client()
    there = app.test_client()
    login(here)
    login(there)
    before = user_row(app, ADMIN_EMAIL)
    response = change_password(here, current="not the password")
    assert response.status_code == 422
    assert_error_at(response.text, "pw-current_password")
    after = user_row(app, ADMIN_EMAIL)
    assert after.password_hash == before.password_hash
    assert after.session_token == before.session_token
    assert is_signed_in(here) and is_signed_in(there)


@pytest.mark.parametrize(
    ("new", "confirm", "field"),
    [
        ("too short", None, "pw-password"),
        ("qwertyuiop", None, "pw-password"),
        (NEW_PASSWORD, "something else entirely", "pw-password_confirm"),
    ],
)
def test_weak_or_mismatched_new_password_changes_nothing(
    client, world, app, *, new, confirm, field
):
    client.login_as(world.admin)
    before = user_row(app, ADMIN_EMAIL)
    response = change_password(client, new=new, confirm=confirm)
    assert response.status_code == 422
    assert_error_at(response.text, field)
    after = user_row(app, ADMIN_EMAIL)
    assert after.password_hash == before.password_hash
    assert after.session_token == before.session_token


def test_account_page_needs_sign_in(client, world):
    response = client.get("/account")
    assert response.status_code == 302
    assert urlsplit(location(response)).path == "/login"


def test_account_name_change_is_saved(client, world, app):
    client.login_as(world.admin)
    response = client.post("/account", data={"name": "  山田 花子 "})
    assert response.status_code == 303
    assert urlsplit(location(response)).path == "/account"
    assert user_row(app, ADMIN_EMAIL).name == "山田 花子"
    assert "山田 花子" in client.get("/account").text


def test_blank_account_name_is_refused(client, world, app):
    client.login_as(world.admin)
    response = client.post("/account", data={"name": ""})
    assert response.status_code == 422
    assert_error_at(response.text, "name")
    assert user_row(app, ADMIN_EMAIL).name == "Admin"
