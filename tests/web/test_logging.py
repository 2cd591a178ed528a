"""Structured logs: JSON lines with the request id (accepted from the proxy or made here), the
workspace and user ids — and never personal data: no names, e-mail addresses, IP addresses,
query strings, tokens in paths or SQL parameters."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.exc import IntegrityError

from app import logs
from app.db import make_engine
from app.facilities.models import Facility
from app.imports import service as import_service
from tests.imports.conftest import BASE as DATA_URL
from tests.imports.conftest import count, upload_ok

HEX_ID = re.compile(r"[0-9a-f]{32}")


class Lines(logging.Handler):
    """Formats records with the production formatter, inside the request that logged them."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def entries(self, logger: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in self.lines]
        return [e for e in found if logger is None or e["logger"] == logger]

    def requests(self) -> list[dict[str, Any]]:
        return self.entries("renkei.request")


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    previous = {name: logging.getLogger(name).level for name in logs.APP_LOGGERS}
    for name in logs.APP_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    for name, level in previous.items():
        logging.getLogger(name).setLevel(level)


def test_a_request_line_carries_ids_not_people(app, client, world, log_lines):
    client.login_as(world.admin)
    response = client.get(
        "/t/alpha/facilities/?q=山田太郎&contact=admin@example.jp",
        headers={"X-Request-ID": "lb-7f3a.2", "X-Forwarded-For": "198.51.100.23"},
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "lb-7f3a.2"
    (line,) = log_lines.requests()
    assert line == {
        "ts": line["ts"],
        "level": "info",
        "logger": "renkei.request",
        "message": "request",
        "pid": line["pid"],
        "request_id": "lb-7f3a.2",
        "tenant_id": world.alpha.id,
        "user_id": world.admin.id,
        "method": "GET",
        "route": "/t/<tenant_slug>/facilities/",
        "endpoint": "facilities.index",
        "status": 200,
        "duration_ms": line["duration_ms"],
        "htmx": False,
    }
    raw = "\n".join(log_lines.lines)
    for personal in ("山田太郎", "admin@example.jp", "198.51.100.23", "Admin", "alpha"):
        assert personal not in raw


def test_a_request_id_is_made_when_none_or_a_strange_one_comes(client, log_lines):
    first = client.get("/login").headers["X-Request-ID"]
    second = client.get("/login").headers["X-Request-ID"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second
    for strange in ("a b", "x" * 129, "id\tforged line", "<script>", ""):
        returned = client.get("/login", headers={"X-Request-ID": strange}).headers["X-Request-ID"]
        assert HEX_ID.fullmatch(returned), strange
    assert [line["request_id"] for line in log_lines.requests()[:2]] == [first, second]
    assert "forged" not in "\n".join(log_lines.lines)


def test_tokens_in_paths_stay_out_of_the_log(client, log_lines):
    token = "secret-reset-token-" + "9" * 20
    client.get(f"/password/reset/{token}")
    (line,) = log_lines.requests()
    assert line["route"] == "/password/reset/<token>"
    assert token not in "\n".join(log_lines.lines)


def test_a_write_logs_no_values(app, client, world, log_lines):
    client.login_as(world.coordinator)
    response = client.post(
        "/t/alpha/facilities/new",
        data={
            "name": "ひまわり工房",
            "kind": "type_b",
            "status": "participating",
            "prefecture_code": "22",
            "contact_name": "鈴木花子",
            "contact_email": "hanako@himawari.example.jp",
            "contact_phone": "054-123-4567",
        },
    )
    assert response.status_code == 303, response.text[:500]
    raw = "\n".join(log_lines.lines)
    for value in ("ひまわり工房", "鈴木花子", "hanako@", "054-123-4567"):
        assert value not in raw
    (line,) = log_lines.requests()
    assert (line["method"], line["status"], line["user_id"]) == (
        "POST",
        303,
        world.coordinator.id,
    )


def test_an_outsider_404_has_no_workspace_id(client, world, log_lines):
    client.login_as(world.outsider)
    assert client.get("/t/alpha/facilities/").status_code == 404
    (line,) = log_lines.requests()
    assert line["status"] == 404 and "tenant_id" not in line
    assert line["user_id"] == world.outsider.id


def test_a_background_job_logs_with_the_request_that_started_it(
    app, client, world, log_lines, monkeypatch
):
    client.login_as(world.admin)
    token = upload_ok(client, "facilities", "事業所名,種別\n失敗する作業所,B型\n".encode())

    def broken_apply(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk on fire while writing for hanako@example.jp")

    monkeypatch.setattr(import_service, "apply", broken_apply)
    response = client.post(
        f"{DATA_URL}/facilities/{token}/confirm",
        data={"encoding": ""},
        headers={"X-Request-ID": "job-trace-1"},
    )
    assert response.status_code == 303
    (failure,) = [e for e in log_lines.entries() if e["level"] == "error"]
    assert failure["request_id"] == "job-trace-1"
    assert failure["tenant_id"] == world.alpha.id
    assert failure["user_id"] == world.admin.id
    assert failure["exc_type"] == "RuntimeError"
    assert "<email>" in failure["traceback"] and "hanako@" not in failure["traceback"]
    assert count(app, world.alpha.id, Facility) == 0


def test_exceptions_are_scrubbed():
    try:
        raise ValueError("could not mail taro.yamada@city.example.lg.jp from 10.1.2.3")
    except ValueError:
        record = logging.LogRecord(
            "app.x", logging.ERROR, __file__, 1, "failed for %s", ("jiro@example.jp",),
            sys.exc_info(),
        )  # fmt: skip
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["message"] == "failed for <email>"
    assert "taro.yamada" not in entry["traceback"] and "10.1.2.3" not in entry["traceback"]
    assert "<email> from <ip>" in entry["traceback"]


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("mail to a.b+c@example.co.jp failed", "mail to <email> failed"),
        ("client 192.0.2.44 refused", "client <ip> refused"),
        ("client 2001:db8::1 refused", "client <ip> refused"),
        ("at 12:30:45 on 2026-11-21, 20 rows", "at 12:30:45 on 2026-11-21, 20 rows"),
        ("deal 1234 moved to won", "deal 1234 moved to won"),
    ],
)
def test_scrub(text, scrubbed):
    assert logs.scrub(text) == scrubbed


def test_sql_parameters_stay_out_of_error_messages(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    people = Table(
        "people",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("email", String, unique=True),
    )
    people.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(people), {"email": "hanako@example.jp"})
    with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
        connection.execute(insert(people), {"email": "hanako@example.jp"})
    engine.dispose()
    assert "hanako" not in str(caught.value)
    assert "hidden" in str(caught.value)


def test_json_is_the_production_default():
    from app.config import Settings

    production = Settings.from_env({"RENKEI_ENV": "production", "SECRET_KEY": "x"})
    assert production.log_format == "json"
    assert Settings.from_env({"SECRET_KEY": "x"}).log_format == "text"
    assert Settings.from_env({"LOG_FORMAT": "json", "SECRET_KEY": "x"}).log_format == "json"
