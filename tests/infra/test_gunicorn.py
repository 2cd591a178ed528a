"""The deployment as it runs: gunicorn with infra/gunicorn.conf.py, two worker processes, the
production settings and Redis for the state the workers share (rate-limit counters, job
progress). Requests go over loopback HTTP."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from app.facilities.models import Facility
from tests.conftest import PASSWORD
from tests.imports.conftest import count
from tests.support.live_server import Browser, Gunicorn
from tests.support.redis_server import ThrowawayRedis

DATA = "/t/alpha/data/facilities"
# An import that takes a few seconds (about 2,500 rows a second on the 2-core machine).
ROWS_FOR_A_FEW_SECONDS = 15_000


def server_env(database, instance: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database.app_url,
        "MIGRATION_DATABASE_URL": database.owner_url,
        "RENKEI_ENV": "production",
        "SECRET_KEY": "test-secret",
        "RENKEI_INSTANCE_PATH": str(instance),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "MAIL_BACKEND": "memory",
        **extra,
    }


def facilities_csv(rows: int) -> bytes:
    lines = ["事業所名,種別,利用者数"] + [f"作業所{i:05d},B型,{i % 40}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def start_import(browser: Browser, rows: int) -> str:
    """Upload and confirm; returns the progress page's path."""
    page = browser.upload(f"{DATA}/upload", "facilities-file", "f.csv", facilities_csv(rows))
    assert page.status == 303, page.text[:500]
    token = page.location.rsplit("/", 1)[1]
    page = browser.post(f"{DATA}/{token}/confirm", {"encoding": ""})
    assert page.status == 303, page.text[:500]
    return page.location


def wait_for(condition, timeout: float = 60.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def redis_server() -> Iterator[ThrowawayRedis]:
    with ThrowawayRedis() as server:
        yield server


@pytest.fixture(scope="module")
def server(database, redis_server, tmp_path_factory) -> Iterator[Gunicorn]:
    folder = tmp_path_factory.mktemp("gunicorn")
    env = server_env(database, folder / "instance", REDIS_URL=redis_server.url)
    with Gunicorn(env, folder / "gunicorn.log") as running:
        yield running


def test_production_headers_and_json_logs(server):
    with Browser(server.url) as browser:
        page = browser.get("/healthz", headers={"X-Request-ID": "probe-1"})
    assert page.status == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert page.headers["X-Request-ID"] == "probe-1"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    lines = server.json_lines()
    booted = [line for line in lines if str(line.get("message")).startswith("Booting worker")]
    assert len(booted) >= 2 and {line["logger"] for line in booted} == {"gunicorn.error"}
    (request,) = [line for line in lines if line.get("request_id") == "probe-1"]
    assert request["route"] == "/healthz" and request["status"] == 200
    # gunicorn's own access log (client addresses, raw paths) is off
    assert not any("GET /healthz HTTP" in line for line in server.log_lines())


def failed_sign_ins(server, email: str, attempts: int, tag: str) -> list[tuple[int, int]]:
    """(status, pid of the worker that answered) of each attempt with a wrong password."""
    answers = []
    for attempt in range(attempts):
        # a new connection each time: either worker may answer
        with Browser(server.url) as browser:
            browser.get("/login")
            page = browser.post(
                "/login",
                {"email": email, "password": "wrong password"},
                headers={"X-Request-ID": f"{tag}-{attempt}"},
            )
        (line,) = [
            line for line in server.json_lines() if line.get("request_id") == f"{tag}-{attempt}"
        ]
        answers.append((page.status, int(str(line["pid"]))))
    return answers


def test_sign_in_limits_are_shared_by_the_workers(server, world):
    """5 failed attempts per account in 10 minutes, counted in Redis by both workers: the
    sixth is refused even by a worker that saw fewer than five of them."""
    shown = False
    for n, person in enumerate((world.viewer, world.coordinator, world.outsider)):
        answers = failed_sign_ins(server, person.email, 6, f"limit{n}")
        assert [status for status, _pid in answers] == [422] * 5 + [429], answers
        refused_by = answers[-1][1]
        seen_there = sum(1 for _status, pid in answers[:5] if pid == refused_by)
        if seen_there < 5:  # that worker alone would have let it through
            shown = True
            break
    if not shown:
        # Which worker accepts a connection is the kernel's choice; now and then one worker
        # takes all 18. The limits held (every sixth attempt refused), but sharing was not
        # shown: that is a skip, not a failure (the per-address limit forbids more tries).
        pytest.skip("every attempt reached the same worker: sharing not exercised this run")


def test_import_progress_is_seen_by_every_worker(app, server, redis_server, world):
    with Browser(server.url) as browser:
        browser.sign_in(world.admin.email, PASSWORD)
        progress = start_import(browser, 3_000)
    job_id = progress.rsplit("/", 1)[1]

    def finished() -> str | None:
        # a new connection each time: either worker may answer
        with Browser(server.url, cookies=browser.cookies) as other:
            page = other.get(progress)
        assert page.status == 200 and "flash-error" not in page.text
        return page.text if "flash-success" in page.text else None

    wait_for(finished)
    assert count(app, world.alpha.id, Facility) == 3_000
    keys = redis.Redis.from_url(redis_server.url).keys(f"renkei:job:{world.alpha.id}:*")
    assert [key.decode() for key in keys] == [f"renkei:job:{world.alpha.id}:{job_id}"]


def test_when_redis_is_down_pages_still_work_or_say_try_again(
    request, app, server, redis_server, world
):
    browser = Browser(server.url)
    request.addfinalizer(browser.close)
    browser.sign_in(world.admin.email, PASSWORD)
    page = browser.upload(f"{DATA}/upload", "facilities-file", "f.csv", facilities_csv(10))
    token = page.location.rsplit("/", 1)[1]
    redis_server.stop()
    try:
        # Rate limits fall back to counting in each worker: signing in still works.
        with Browser(server.url) as stranger:
            stranger.get("/login")
            signing_in = {"email": "x@example.jp", "password": "wrong password"}
            assert stranger.post("/login", signing_in).status == 422
        assert browser.get("/t/alpha/facilities/").status == 200
        # Job state lives in Redis: the import says "try again", and writes nothing.
        page = browser.post(f"{DATA}/{token}/confirm", {"encoding": ""})
        assert page.status == 503 and "Retry-After" in page.headers
        assert count(app, world.alpha.id, Facility) == 0
    finally:
        redis_server.start()
    # Back: the same upload can be confirmed now.
    progress = browser.post(f"{DATA}/{token}/confirm", {"encoding": ""}).location
    wait_for(lambda: "flash-success" in browser.get(progress).text)
    assert count(app, world.alpha.id, Facility) == 10


def test_a_graceful_stop_lets_a_running_import_finish(app, database, world, tmp_path):
    """SIGTERM (a deploy, systemctl restart): gunicorn waits for the import's job before the
    worker exits, so the import is written completely."""
    env = server_env(database, tmp_path / "instance")
    with Gunicorn(env, tmp_path / "gunicorn.log") as running:
        with Browser(running.url) as browser:
            browser.sign_in(world.admin.email, PASSWORD)
            start_import(browser, ROWS_FOR_A_FEW_SECONDS)
        assert running.stop() == 0
        log = "\n".join(running.log_lines())
    assert re.search(r"waiting for \d+ background job", log), log[-2000:]
    assert count(app, world.alpha.id, Facility) == ROWS_FOR_A_FEW_SECONDS
