"""The database restarts while people are working: their requests fail cleanly (503 and a
page that says to try again, never a 500), and the app recovers by itself once the database
is back — no restart of the app, no stale connection left in its pool."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import text

from app import create_app
from app.auth.service import create_user
from app.extensions import db
from tenants.models import Role
from tests.conftest import PASSWORD, CsrfClient, add_member, add_tenant, dispose, make_settings
from tests.support.database import create_postgres_database
from tests.support.pgcluster import ThrowawayCluster

pytestmark = pytest.mark.postgres_only

PAGES = ("/t/alpha/facilities/", "/t/alpha/deals/", "/healthz")


@pytest.fixture
def cluster() -> Iterator[ThrowawayCluster]:
    with ThrowawayCluster() as throwaway:
        yield throwaway


@pytest.fixture
def restartable_app(cluster, tmp_path) -> Iterator[Flask]:
    database = create_postgres_database(cluster.url, "renkei_restart")
    flask_app = create_app(make_settings(database, tmp_path))
    flask_app.test_client_class = CsrfClient
    with flask_app.app_context(), db.new_session() as session:
        alpha = add_tenant(session, "alpha", "アルファ市")
        admin = create_user(session, "admin@example.jp", "Admin", PASSWORD)
        add_member(session, alpha, admin, Role.ADMIN)
        session.commit()
        flask_app.config["TEST_ADMIN"] = admin
    yield flask_app
    dispose(flask_app)


@dataclass
class Visitor:
    """A person clicking through pages in a loop, from another thread."""

    app: Flask
    # (started, finished, page, status, start of the body)
    results: list[tuple[float, float, str, int, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client: Any = self.app.test_client()
        client.login_as(self.app.config["TEST_ADMIN"])
        while not self.stop.is_set():
            for page in PAGES:
                started = time.monotonic()
                response = client.get(page)
                self.results.append(
                    (started, time.monotonic(), page, response.status_code, response.text[:4000])
                )
            time.sleep(0.01)

    def statuses_since(self, moment: float) -> list[int]:
        return [status for started, _f, _p, status, _t in self.results if started >= moment]


def test_requests_fail_cleanly_and_recover_after_a_restart(cluster, restartable_app):
    visitor = Visitor(restartable_app)
    thread = threading.Thread(target=visitor.run, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        assert set(visitor.statuses_since(0)) == {200}, "the pages work before the restart"

        cluster.stop_server("fast")  # closes every connection the app's pool holds
        down_at = time.monotonic()
        deadline = down_at + 15
        while 503 not in visitor.statuses_since(down_at) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # keep clicking while the database is away
        restarting_at = time.monotonic()
        cluster.start_server()
        up_at = time.monotonic()

        deadline = up_at + 20
        while time.monotonic() < deadline:
            recent = visitor.statuses_since(up_at)
            if len(recent) >= 6 and recent[-6:] == [200] * 6:
                break
            time.sleep(0.05)
    finally:
        visitor.stop.set()
        thread.join(timeout=30)

    # Requests made entirely while the database was down.
    during = [r for r in visitor.results if r[0] >= down_at and r[1] <= restarting_at]
    assert len(during) >= 3, "too few requests while the database was down"
    assert {status for _s, _f, _page, status, _text in during} == {503}
    for _s, _f, page, _status, body in during:
        if page == "/healthz":
            assert '"database":"unreachable"' in body.replace(" ", "")
        else:
            assert "一時的に利用できません" in body  # "try again in a moment"

    assert set(visitor.statuses_since(0)) <= {200, 503}  # never a 500
    after = visitor.statuses_since(up_at)
    assert after[-6:] == [200] * 6, f"did not recover: {after[-20:]}"
    # Connections are checked before use (pool_pre_ping): not even the first request after
    # the restart trips over a connection the restart closed.
    assert set(after) == {200}, after[:10]


def test_a_connection_that_dies_mid_request_is_discarded(cluster, restartable_app):
    """The database drops the connection while a request holds it (restart, failover, idle
    timeout): closing the session cannot roll back; the connection is thrown away instead of
    the response, and the next request gets a fresh one."""
    with restartable_app.app_context():
        session = db.session
        backend = session.scalar(text("SELECT pg_backend_pid()"))
        with psycopg.connect(cluster.conninfo, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [backend])
        # leaving the context closes the session on the dead connection: must not raise
    client = restartable_app.test_client()
    client.login_as(restartable_app.config["TEST_ADMIN"])
    assert client.get("/t/alpha/facilities/").status_code == 200
