"""A database that cannot be reached: every page answers 503 with a clear page (no 500, no
stack trace), the health check says so, and nothing needs the database to render it."""

from __future__ import annotations

import socket

import pytest

from app import create_app
from tests.conftest import CsrfClient, dispose, make_settings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


@pytest.fixture(params=["postgresql", "sqlite"])
def unreachable_app(request, database, tmp_path):
    url = (
        f"postgresql+psycopg://renkei_app@127.0.0.1:{closed_port()}/renkei"
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path}/no/such/folder/renkei.db"
    )
    flask_app = create_app(make_settings(database, tmp_path / "instance", database_url=url))
    flask_app.test_client_class = CsrfClient
    yield flask_app
    dispose(flask_app)


def assert_unavailable_page(response, text="一時的に利用できません"):
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert text in response.text
    assert "Traceback" not in response.text


def test_health_check_reports_the_database(unreachable_app):
    response = unreachable_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "unreachable"}


def test_pages_say_try_again_instead_of_failing(unreachable_app):
    client = unreachable_app.test_client()
    assert client.get("/login").status_code == 200  # needs no database
    signing_in = {"email": "a@example.jp", "password": "x" * 12}
    assert_unavailable_page(client.post("/login", data=signing_in))
    client.set_cookie("lang", "en")
    assert_unavailable_page(client.post("/login", data=signing_in), "Temporarily unavailable")


def test_signed_in_pages_and_htmx_requests_too(unreachable_app):
    client = unreachable_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:" + "a" * 32
        session["_fresh"] = True
    assert_unavailable_page(client.get("/t/alpha/facilities/"))
    assert_unavailable_page(
        client.get("/t/alpha/deals/", headers={"HX-Request": "true", "HX-Target": "rows"})
    )
    assert_unavailable_page(client.post("/t/alpha/facilities/new", data={"name": "x"}))
