"""The database connection breaks in the middle of a request — at its first statement, in
the middle, or at its very last — on every page of the URL map: the answer is the 503 page,
never a 500 or an exception escaping to the server, and nothing is written."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from app.extensions import db
from tests.test_access_matrix import build, methods_of, tenant_rules


class BreakingConnection:
    """Makes the n-th statement sent by the app fail as a lost connection would."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.fail_at: int | None = None
        self.seen = 0

    def __call__(self, *_args: Any) -> None:
        self.seen += 1
        if self.fail_at is not None and self.seen == self.fail_at:
            if self.kind == "postgresql":
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            raise sqlite3.OperationalError("disk I/O error")

    def arm(self, fail_at: int | None) -> None:
        self.fail_at, self.seen = fail_at, 0


@pytest.fixture
def breaker(app, database) -> Iterator[BreakingConnection]:
    breaking = BreakingConnection(database.kind)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", breaking)
    yield breaking
    event.remove(engine, "before_cursor_execute", breaking)


def test_every_page_answers_503_when_the_database_breaks_mid_request(
    app, client, world, targets, breaker, monkeypatch
):
    client.login_as(world.admin)
    # Every page sends all its statements each time (no built report reused).
    monkeypatch.setattr(app.extensions["renkei_report_cache"], "entries", 0)
    checked = 0
    for rule in tenant_rules(app):
        if "GET" not in methods_of(rule):
            continue
        url = build(rule, "alpha", targets)
        breaker.arm(None)
        status = client.get(url).status_code
        statements = breaker.seen
        assert status < 500 and statements > 0, f"GET {url}: {status}"
        for fail_at in sorted({1, (statements + 1) // 2, statements}):
            breaker.arm(fail_at)
            response = client.get(url)
            assert response.status_code == 503, (
                f"GET {url} with statement {fail_at}/{statements} failing: {response.status_code}"
            )
            assert "一時的に利用できません" in response.text
            checked += 1
    assert checked > 30


def test_a_write_that_breaks_half_way_saves_nothing(app, client, world, breaker, read):
    """The last statement of creating a facility fails (after the row and its audit entry
    were sent): the transaction is gone, so neither the row nor the audit entry remain."""
    from sqlalchemy import func, select

    from app.facilities.models import Facility
    from tenants.audit import AuditEvent

    client.login_as(world.admin)
    data = {"name": "途中で止まる作業所", "kind": "type_b", "status": "participating"}
    breaker.arm(None)
    assert client.post("/t/alpha/facilities/new", data=data).status_code == 303
    statements = breaker.seen

    def counts(s):
        return [
            s.scalar(select(func.count()).select_from(model)) for model in (Facility, AuditEvent)
        ]

    before = read(counts)
    for fail_at in range(1, statements + 1):
        breaker.arm(fail_at)
        response = client.post("/t/alpha/facilities/new", data={**data, "name": f"x{fail_at}"})
        assert response.status_code == 503, f"statement {fail_at}: {response.status_code}"
        assert read(counts) == before, f"statement {fail_at} left a partial write"
