"""Security headers and cookie flags.

A strict Content-Security-Policy that htmx works under (scripts and styles from this site
only, no inline code, no eval), framing refused, HSTS in production only, and cookies that
scripts cannot read, that stay on this site and, in production, travel over HTTPS only.
Checked on every page the app shows (crawled from the URL map) and on error pages."""

from __future__ import annotations

from collections.abc import Iterator
from http.cookies import SimpleCookie

import pytest

from app import create_app
from tests.conftest import PASSWORD, CsrfClient, dispose, make_settings
from tests.security.crawl import csp_problems


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def assert_strict_headers(headers, where: str) -> None:
    policy = directives(headers.get("Content-Security-Policy", ""))
    assert policy.get("default-src") == ["'self'"], where
    assert policy.get("script-src") == ["'self'"], where  # no inline code, no eval
    assert policy.get("style-src") == ["'self'"], where
    assert policy.get("frame-ancestors") == ["'none'"], where
    assert policy.get("object-src") == ["'none'"], where
    assert policy.get("base-uri") == ["'self'"], where
    assert policy.get("form-action") == ["'self'"], where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "same-origin", where


def test_every_page_sends_the_headers_and_works_under_them(crawled):
    assert len(crawled.pages) > 30
    for url, html in crawled.pages.items():
        assert_strict_headers(crawled.headers[url], url)
        assert csp_problems(html) == [], url
        assert "Strict-Transport-Security" not in crawled.headers[url]  # not in development


def test_htmx_is_served_from_this_site_and_told_not_to_eval(crawled):
    html = next(iter(crawled.pages.values()))
    assert '<script src="/static/vendor/htmx-' in html
    assert '"allowEval": false' in html and '"allowScriptTags": false' in html
    assert '"includeIndicatorStyles": false' in html  # htmx would add an inline <style>


@pytest.mark.parametrize(
    "url", ["/no-such-page", "/t/no-such-town/facilities/", "/static/app.css", "/healthz"]
)
def test_errors_static_files_and_the_health_check_too(client, url):
    with client.get(url) as response:
        assert_strict_headers(response.headers, url)


@pytest.fixture
def production_app(database, tmp_path) -> Iterator:
    flask_app = create_app(make_settings(database, tmp_path, env="production"))
    flask_app.test_client_class = CsrfClient
    yield flask_app
    dispose(flask_app)


def set_cookies(response) -> dict[str, str]:
    """name → the whole Set-Cookie header (attributes lower-cased)."""
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        found[name] = header.lower()
    return found


def sign_in(client, email: str, remember: bool = False, https: bool = False):
    # Secure cookies come back only over HTTPS; over HTTPS, CSRF also checks the Referer.
    over = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/login"}}
    extra = over if https else {}
    client.get("/login", **extra)
    data = {"email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data, **extra)
    assert response.status_code == 303, response.text[:500]
    return response


def test_hsts_in_production_only(production_app, client):
    for url in ("/login", "/no-such-page", "/healthz"):
        response = production_app.test_client().get(url)
        assert response.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains"
        ), url
        assert_strict_headers(response.headers, url)
        assert "Strict-Transport-Security" not in client.get(url).headers


def test_cookies_in_production(production_app, world):
    client = production_app.test_client()
    cookies = set_cookies(sign_in(client, world.admin.email, remember=True, https=True))
    cookies |= set_cookies(client.get("/lang/en?next=/login", base_url="https://localhost"))
    assert {"session", "remember_token", "lang"} <= set(cookies)
    for name, header in cookies.items():
        assert "; secure" in header, name
        assert "; httponly" in header, name
        assert "; samesite=lax" in header, name


def test_cookies_in_development(client, world):
    cookies = set_cookies(sign_in(client, world.admin.email))
    cookies |= set_cookies(client.get("/lang/en?next=/login"))
    for name, header in cookies.items():
        assert "; httponly" in header and "; samesite=lax" in header, name
        assert "; secure" not in header, name  # plain http on a developer's machine
    assert SimpleCookie(cookies["session"]).get("session") is not None


def test_the_session_changes_at_sign_in(client, world):
    """No session fixation: the cookie a visitor had before signing in is not the one after."""
    client.get("/login")
    before = client.get_cookie("session")
    sign_in(client, world.admin.email)
    after = client.get_cookie("session")
    assert before is not None and after is not None and before.value != after.value
