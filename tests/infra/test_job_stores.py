"""Job state that every worker can read: files (one machine) or Redis (several), kept to its
workspace and person; a job whose process died is reported stopped at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from app import jobs
from app.jobs import REDIS_TTL_SECONDS, JobStore, RedisJobStore
from tests.support.redis_server import ThrowawayRedis


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with ThrowawayRedis() as server:
        yield server.url


@pytest.fixture(params=["files", "redis"])
def two_workers(request, tmp_path: Path, redis_url) -> tuple[JobStore, JobStore]:
    """Two stores over the same state, as two worker processes have."""
    if request.param == "files":
        return JobStore(tmp_path), JobStore(tmp_path)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    return RedisJobStore(client), RedisJobStore(redis.Redis.from_url(redis_url))


def test_a_job_started_by_one_worker_is_seen_by_another(two_workers):
    started_by, asked = two_workers
    job = started_by.create(tenant_id=3, user_id=7, kind="facilities", total=200)
    job.done = 50
    started_by.save(job)
    seen = asked.load(3, job.id, 7)
    assert seen is not None and (seen.done, seen.percent, seen.state) == (50, 25, "running")
    assert seen.owner == f"{socket.gethostname()}:{os.getpid()}"
    assert asked.load(4, job.id, 7) is None  # another workspace
    assert asked.load(3, job.id, 8) is None  # another person
    assert asked.load(3, "../" + job.id, 7) is None
    assert asked.load(3, "f" * 32, 7) is None


def test_redis_keeps_jobs_for_a_day(redis_url):
    client = redis.Redis.from_url(redis_url)
    job = RedisJobStore(client).create(tenant_id=3, user_id=7, kind="buyers", total=1)
    assert 0 < client.ttl(f"renkei:job:3:{job.id}") <= REDIS_TTL_SECONDS


def test_a_job_whose_process_died_is_reported_stopped_at_once(two_workers):
    started_by, asked = two_workers
    job = started_by.create(tenant_id=3, user_id=7, kind="facilities", total=10)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    job.owner = f"{socket.gethostname()}:{gone.stdout.strip()}"  # that process has exited
    started_by.save(job)
    seen = asked.load(3, job.id, 7)
    assert seen is not None and (seen.state, seen.message) == ("failed", "interrupted")
    job.owner = f"another-machine:{os.getpid()}"  # not ours to judge: wait for staleness
    started_by.save(job)
    assert asked.load(3, job.id, 7).state == "running"


def test_drain_waits_for_the_jobs_of_this_process(app, tmp_path):
    release = threading.Event()
    store = JobStore(tmp_path)
    job = store.create(tenant_id=1, user_id=1, kind="facilities", total=1)

    def work(_session, _progress):
        release.wait(5)
        return "done"

    jobs.run(app, store, job, work, background=True)
    assert jobs.running() == 1
    assert jobs.drain(0.05) is False  # still working
    release.set()
    assert jobs.drain(5) is True and jobs.running() == 0
