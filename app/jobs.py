"""Long work with visible progress (imports today).

A job runs in a thread of the worker process that accepted it, with its own database session
and one transaction: all or nothing. Its state (a small JSON record: how far, done or failed)
is kept where every worker can read it, so the progress page works whichever worker answers:

- a file under ``instance/jobs/<tenant id>/`` by default (every worker on one machine);
- Redis when ``REDIS_URL`` is set (several machines), kept for a day.

With several gunicorn workers: the job stays in the worker that started it; a graceful
restart (deploy, ``max_requests``) waits for running jobs (``drain``, called from gunicorn's
``worker_exit`` hook) up to the graceful timeout. A worker that is killed takes its job's
uncommitted transaction with it — nothing is half-written — and the job is reported as
interrupted: at once on the same machine (its process is gone), else when its state has not
moved for ``STALE_AFTER_SECONDS``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flask import Flask, g, has_app_context
from sqlalchemy.orm import Session

from app import logs
from app.extensions import db
from tenants.isolation import use_tenant

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
# A running job whose state has not moved for this long died with its process.
STALE_AFTER_SECONDS = 120
# Finished jobs are kept this long in Redis (the file store's files stay until cleaned up).
REDIS_TTL_SECONDS = 86400

Progress = Callable[[int], None]
# The work: (session bound to the tenant, progress callback) → message for the user.
Work = Callable[[Session, Progress], str]


@dataclass
class Job:
    id: str
    tenant_id: int
    user_id: int
    kind: str
    total: int
    done: int = 0
    state: str = "running"  # running | done | failed
    message: str = ""
    updated_at: float = 0.0
    request_id: str = ""  # of the request that started it: its log lines carry it too
    owner: str = ""  # "<host>:<pid>" of the process running it

    def owner_is_gone(self) -> bool:
        """The process that runs the job is known to have died (same machine only: another
        machine's job is judged by its staleness)."""
        host, _, pid = self.owner.rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, someone else's
            return False
        return False

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def percent(self) -> int:
        return 100 if self.total <= 0 else min(100, round(100 * self.done / self.total))


class JobStore:
    """Job state as files on this machine's disk (shared by the workers of one machine)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, tenant_id: int, job_id: str) -> Path:
        return self.root / str(int(tenant_id)) / f"{job_id}.json"

    def create(self, tenant_id: int, user_id: int, kind: str, total: int) -> Job:
        request_id = str(g.get("request_id") or "") if has_app_context() else ""
        job = Job(
            secrets.token_hex(16),
            tenant_id,
            user_id,
            kind,
            total,
            request_id=request_id,
            owner=f"{socket.gethostname()}:{os.getpid()}",
        )
        self.save(job)
        return job

    def save(self, job: Job) -> None:
        job.updated_at = time.time()
        self._write(job.tenant_id, job.id, json.dumps(asdict(job)))

    def _write(self, tenant_id: int, job_id: str, data: str) -> None:
        path = self._path(tenant_id, job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(data)
        os.replace(temporary, path)  # readers never see half a file

    def _read(self, tenant_id: int, job_id: str) -> str | None:
        try:
            return self._path(tenant_id, job_id).read_text()
        except OSError:
            return None

    def load(self, tenant_id: int, job_id: str, user_id: int) -> Job | None:
        """The job, if it exists in this workspace and was started by this person."""
        if not JOB_ID.match(job_id):
            return None
        raw = self._read(tenant_id, job_id)
        try:
            data: dict[str, Any] = json.loads(raw) if raw is not None else {}
            job = Job(**data) if data else None
        except (TypeError, ValueError):
            return None
        if job is None or job.tenant_id != tenant_id or job.user_id != user_id:
            return None
        stale = time.time() - job.updated_at > STALE_AFTER_SECONDS
        if not job.finished and (stale or job.owner_is_gone()):
            job.state, job.message = "failed", "interrupted"
        return job


class RedisJobStore(JobStore):
    """Job state in Redis: readable from every worker of every machine."""

    def __init__(self, client: Any, prefix: str = "renkei:job:") -> None:
        super().__init__(Path())
        self.client = client
        self.prefix = prefix

    def _key(self, tenant_id: int, job_id: str) -> str:
        return f"{self.prefix}{int(tenant_id)}:{job_id}"

    def _write(self, tenant_id: int, job_id: str, data: str) -> None:
        self.client.set(self._key(tenant_id, job_id), data, ex=REDIS_TTL_SECONDS)

    def _read(self, tenant_id: int, job_id: str) -> str | None:
        raw = self.client.get(self._key(tenant_id, job_id))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)


def store_for(app: Flask) -> JobStore:
    """The app's job store: Redis when configured, else files under the instance folder."""
    store: JobStore | None = app.extensions.get("renkei_jobs")
    if store is None:
        redis_url = app.extensions["renkei_settings"].redis_url
        if redis_url:
            import redis

            store = RedisJobStore(redis.Redis.from_url(redis_url, socket_timeout=5))
        else:
            store = JobStore(Path(app.instance_path) / "jobs")
        app.extensions["renkei_jobs"] = store
    return store


# Job threads still running in this process (for a graceful worker exit).
_running: set[threading.Thread] = set()
_running_lock = threading.Lock()


def running() -> int:
    with _running_lock:
        return sum(1 for thread in _running if thread.is_alive())


def drain(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for this process's jobs to finish; True if none is left."""
    deadline = time.monotonic() + timeout
    with _running_lock:
        threads = list(_running)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return running() == 0


def run(app: Flask, store: JobStore, job: Job, work: Work, *, background: bool) -> None:
    """Run ``work`` for ``job``, in a thread when ``background`` (the embedded default and
    production), inline otherwise (tests). One transaction: all or nothing."""

    def target() -> None:
        with app.app_context(), db.new_session() as session:
            logs.bind_job(job.request_id, job.tenant_id, job.user_id)
            use_tenant(session, job.tenant_id, job.user_id)

            def progress(done: int) -> None:
                job.done = done
                store.save(job)

            try:
                job.message = work(session, progress)
                session.commit()
                job.state, job.done = "done", job.total
            except Exception:
                session.rollback()
                app.logger.exception("job %s failed", job.id)
                job.state, job.message = "failed", "error"
            try:
                store.save(job)
            except Exception:  # the store is down: the page reports it stale later
                app.logger.exception("job %s: state not saved", job.id)

    if not background:
        target()
        return

    def tracked() -> None:
        try:
            target()
        finally:
            with _running_lock:
                _running.discard(threading.current_thread())

    thread = threading.Thread(target=tracked, name=f"job-{job.id[:8]}", daemon=True)
    with _running_lock:
        _running.add(thread)
    thread.start()
