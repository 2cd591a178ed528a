"""Long work with visible progress (imports today).

A job runs in a thread of the process that accepted it, with its own database session; its
state lives in a small JSON file under ``instance/jobs/<tenant id>/`` so that any worker
process on the machine can show its progress. Several machines would need a shared store
(Redis) and a worker queue: that arrives with the production-readiness work.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from app.extensions import db
from tenants.isolation import use_tenant

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
# A running job whose file has not moved for this long died with its process.
STALE_AFTER_SECONDS = 120

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

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def percent(self) -> int:
        return 100 if self.total <= 0 else min(100, round(100 * self.done / self.total))


class JobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, tenant_id: int, job_id: str) -> Path:
        return self.root / str(int(tenant_id)) / f"{job_id}.json"

    def create(self, tenant_id: int, user_id: int, kind: str, total: int) -> Job:
        job = Job(secrets.token_hex(16), tenant_id, user_id, kind, total)
        self.save(job)
        return job

    def save(self, job: Job) -> None:
        job.updated_at = time.time()
        path = self._path(job.tenant_id, job.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(job)))
        os.replace(temporary, path)  # readers never see half a file

    def load(self, tenant_id: int, job_id: str, user_id: int) -> Job | None:
        """The job, if it exists in this workspace and was started by this person."""
        if not JOB_ID.match(job_id):
            return None
        try:
            data: dict[str, Any] = json.loads(self._path(tenant_id, job_id).read_text())
        except (OSError, ValueError):
            return None
        job = Job(**data)
        if job.tenant_id != tenant_id or job.user_id != user_id:
            return None
        if not job.finished and time.time() - job.updated_at > STALE_AFTER_SECONDS:
            job.state, job.message = "failed", "interrupted"
        return job


def run(app: Flask, store: JobStore, job: Job, work: Work, *, background: bool) -> None:
    """Run ``work`` for ``job``, in a thread when ``background`` (the embedded default and
    production), inline otherwise (tests). One transaction: all or nothing."""

    def target() -> None:
        with app.app_context(), db.new_session() as session:
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
            store.save(job)

    if background:
        threading.Thread(target=target, name=f"job-{job.id[:8]}", daemon=True).start()
    else:
        target()
