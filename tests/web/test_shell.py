"""The web shell: health check, error pages, security headers, vendored htmx, CSRF."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from app import create_app
from tests.conftest import dispose, make_settings

STATIC = Path(__file__).resolve().parents[2] / "app" / "web" / "static"


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_unreachable(app, database, tmp_path):
    broken = create_app(
        make_settings(
            database,
            tmp_path,
            database_url="postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1",
        )
    )
    response = broken.test_client().get("/healthz")
    dispose(broken)
    assert response.status_code == 503
    assert response.json["status"] == "error"


def test_404_page_is_a_page_not_a_traceback(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "<h1>" in response.text and "Traceback" not in response.text


def test_security_headers_and_no_cdn(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # production only
    # Every script and stylesheet is ours.
    for url in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', response.text):
        assert url.startswith("/static/"), url


def test_htmx_is_vendored_pinned_2x(client):
    js = (STATIC / "vendor" / "htmx-2.0.11.min.js").read_bytes()
    assert b'version:"2.0.11"' in js
    digest = hashlib.sha384(js).digest()
    assert base64.b64encode(digest).decode() == (
        "2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
    )
    page = client.get("/login").text
    assert "/static/vendor/htmx-2.0.11.min.js" in page
    response = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert response.status_code == 200
    response.close()


def test_htmx_requests_carry_the_csrf_token(client):
    page = client.get("/login").text
    assert re.search(r"<body hx-headers='\{&#34;X-CSRFToken&#34;: &#34;[^&]+&#34;\}'>", page) or (
        '"X-CSRFToken"' in page
    )


def test_forged_csrf_token_is_refused_with_a_message(client, world):
    response = client.post(
        "/login",
        data={"email": "admin@example.jp", "password": "x"},
        headers={"X-CSRFToken": "forged"},
    )
    assert response.status_code == 400
    assert "<h1>" in response.text


def test_production_sets_hsts_and_secure_cookies(database, tmp_path):
    production = create_app(make_settings(database, tmp_path, env="production"))
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["SESSION_COOKIE_HTTPONLY"] is True
    assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    response = production.test_client().get("/healthz")
    dispose(production)
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_language_switch_rejects_open_redirects(client):
    response = client.get("/lang/en?next=//evil.example/")
    assert response.headers["Location"] == "/"
    assert "lang=en" in response.headers["Set-Cookie"]
