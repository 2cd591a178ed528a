"""A crash in the middle of an import leaves no partial data.

Two ways to die half-way, after rows were already sent to the database: an exception in the
import's write (inline and in the background thread), and the worker process killed with
SIGKILL while its job writes. Either way no facility, no audit entry and no reserved id is
left, the progress page says the import stopped and nothing was saved, and importing again
works."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app import create_app
from app.facilities.models import Facility
from app.imports import service
from tenants.audit import AuditEvent
from tenants.isolation import TenantIdCounter
from tests.conftest import PASSWORD, CsrfClient, dispose, make_settings
from tests.imports.conftest import confirm, upload_ok
from tests.infra.test_gunicorn import facilities_csv, server_env, start_import, wait_for
from tests.support.live_server import Browser, Gunicorn

ROWS = 2_500


def workspace_state(read: Callable[..., Any]) -> dict[str, Any]:
    def snapshot(session):
        return {
            "facilities": session.scalar(select(func.count()).select_from(Facility)),
            "audit": session.scalar(select(func.count()).select_from(AuditEvent)),
            "counters": sorted(
                (c.table_name, c.last_id) for c in session.scalars(select(TenantIdCounter))
            ),
        }

    return read(snapshot)


class CrashMidway:
    """Wraps the import's write: after ``after_rows`` rows are flushed, fail."""

    def __init__(self, after_rows: int) -> None:
        self.after_rows = after_rows
        self.rows_in_database_at_crash: int | None = None
        self.original = service._write

    def __call__(self, session, updated, new_objects, links, progress):
        def progress_then_crash(done: int) -> None:
            progress(done)
            if done >= self.after_rows:
                # The rows really are in the (uncommitted) transaction at this point.
                self.rows_in_database_at_crash = session.scalar(
                    select(func.count()).select_from(Facility)
                )
                raise RuntimeError("the worker fell over half-way")

        return self.original(session, updated, new_objects, links, progress_then_crash)


@pytest.fixture
def threaded_app(database, tmp_path):
    flask_app = create_app(make_settings(database, tmp_path, background_jobs=True))
    flask_app.test_client_class = CsrfClient
    yield flask_app
    dispose(flask_app)


@pytest.mark.parametrize("where", ["inline", "background thread"])
def test_an_exception_half_way_writes_nothing(app, threaded_app, world, read, monkeypatch, where):
    client = (app if where == "inline" else threaded_app).test_client()
    client.login_as(world.admin)
    monkeypatch.setattr(service, "FLUSH_CHUNK", 500)
    crash = CrashMidway(after_rows=1_000)
    monkeypatch.setattr(service, "_write", crash)
    before = workspace_state(read)

    token = upload_ok(client, "facilities", facilities_csv(ROWS))
    progress_url = confirm(client, "facilities", token).headers["Location"]
    page = wait_for(lambda: (p := client.get(progress_url).text) and "hx-trigger" not in p and p)
    assert "flash-error" in page  # "stopped before the end. Nothing was saved"

    assert crash.rows_in_database_at_crash is not None
    assert crash.rows_in_database_at_crash >= 1_000
    assert workspace_state(read) == before

    # The file was given back: confirming it again (without the fault) imports everything.
    monkeypatch.setattr(service, "_write", crash.original)
    progress_url = confirm(client, "facilities", token).headers["Location"]
    wait_for(lambda: "flash-success" in client.get(progress_url).text)
    assert workspace_state(read)["facilities"] == ROWS


def test_a_worker_killed_half_way_writes_nothing(app, database, world, read, tmp_path):
    instance = tmp_path / "instance"
    before = workspace_state(read)
    env = server_env(database, instance, WEB_CONCURRENCY="1")
    with Gunicorn(env, tmp_path / "gunicorn.log") as server, Browser(server.url) as browser:
        browser.sign_in(world.admin.email, PASSWORD)
        progress = start_import(browser, 20_000)
        job_file = next(Path(instance, "jobs").glob("*/*.json"))

        def half_way() -> dict[str, Any] | None:
            job = json.loads(job_file.read_text())
            return job if 0 < job["done"] < job["total"] else None

        job = wait_for(half_way, every=0.02)
        _host, _, pid = job["owner"].rpartition(":")
        assert int(pid) in server.worker_pids()
        os.kill(int(pid), signal.SIGKILL)  # no cleanup, no rollback: the process is gone

        # The master starts a new worker; the job is reported at once as stopped.
        page = wait_for(lambda: (p := browser.get(progress)).status == 200 and p.text)
        assert "flash-error" in page and "hx-trigger" not in page

        time.sleep(0.5)  # let the database notice the dead connection
        assert workspace_state(read) == before

        # Nothing stuck: the same rows import from a new upload.
        progress = start_import(browser, 20)
        wait_for(lambda: "flash-success" in browser.get(progress).text)
    assert workspace_state(read)["facilities"] == 20
