"""Long imports run as a job: a thread writes, the progress page polls until it is done."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app import create_app
from app.facilities.models import Facility
from app.jobs import STALE_AFTER_SECONDS, JobStore
from tests.conftest import CsrfClient, dispose, make_settings
from tests.imports.conftest import BASE, confirm, count, upload_ok
from tests.imports.test_counts import facilities_csv


def test_job_store_keeps_jobs_to_their_workspace_and_person(tmp_path: Path):
    store = JobStore(tmp_path)
    job = store.create(tenant_id=1, user_id=7, kind="facilities", total=10)
    assert store.load(1, job.id, 7) == job
    assert store.load(2, job.id, 7) is None  # another workspace
    assert store.load(1, job.id, 8) is None  # another person
    assert store.load(1, "../../etc/passwd", 7) is None
    job.done = 4
    store.save(job)
    assert store.load(1, job.id, 7).percent == 40


def test_a_job_that_stopped_moving_is_reported_failed(tmp_path: Path, monkeypatch):
    store = JobStore(tmp_path)
    job = store.create(tenant_id=1, user_id=7, kind="facilities", total=10)
    later = time.time() + STALE_AFTER_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    found = store.load(1, job.id, 7)
    assert found is not None and found.state == "failed"


@pytest.fixture
def threaded_app(database, tmp_path):
    """An app that runs jobs in a background thread, as in production."""
    flask_app = create_app(make_settings(database, tmp_path, background_jobs=True))
    flask_app.test_client_class = CsrfClient
    yield flask_app
    dispose(flask_app)


def test_import_runs_in_the_background_and_shows_progress(threaded_app, app, catalogue):
    client = threaded_app.test_client()
    client.login_as(catalogue.admin)
    token = upload_ok(client, "facilities", facilities_csv(2_500))
    response = confirm(client, "facilities", token)
    assert response.status_code == 303
    progress_url = response.headers["Location"]
    assert progress_url.startswith(f"{BASE}/facilities/jobs/")
    deadline = time.monotonic() + 60
    page = client.get(progress_url).text
    while "flash-success" not in page and time.monotonic() < deadline:
        assert "flash-error" not in page
        assert "<progress" in page and "hx-trigger" in page  # polls itself while running
        time.sleep(0.2)
        fragment = {"HX-Request": "true", "HX-Target": "progress"}
        page = client.get(progress_url, headers=fragment).text
    assert "flash-success" in page and "hx-trigger" not in page
    assert count(app, catalogue.alpha.id, Facility) == 2_500


def test_progress_of_someone_elses_import_is_not_shown(app, client, catalogue):
    client.login_as(catalogue.admin)
    token = upload_ok(client, "facilities", facilities_csv(3))
    progress_url = confirm(client, "facilities", token).headers["Location"]
    assert client.get(progress_url).status_code == 200
    client.login_as(catalogue.coordinator)
    assert client.get(progress_url).status_code == 410
    assert client.get(f"{BASE}/facilities/jobs/not-a-job").status_code == 410
