"""The deployment files agree with each other and with the app (Docker is not available here:
the Dockerfile and compose file are read, not built; gunicorn's configuration really runs in
tests/infra/test_gunicorn.py). Backups are restored for real on PostgreSQL."""

from __future__ import annotations

import configparser
import os
import re
import runpy
import subprocess
from pathlib import Path

import pytest
import yaml
from gunicorn.config import KNOWN_SETTINGS
from sqlalchemy import create_engine, func, select, text

import app.models  # noqa: F401  (every table on the metadata)
from app.config import PROJECT_ROOT
from app.db import Base
from app.facilities.models import Facility
from tenants.isolation import tenant_scope
from tests.support.database import (
    APP_ROLE,
    create_postgres_database,
    drop_postgres_database,
    unique_name,
)

INFRA = PROJECT_ROOT / "infra"


def gunicorn_settings() -> dict[str, object]:
    return runpy.run_path(str(INFRA / "gunicorn.conf.py"))


def compose() -> dict:
    return yaml.safe_load((INFRA / "compose.yaml").read_text())


def systemd_unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(INFRA / "systemd" / name)
    return parser


def test_gunicorn_config_names_only_real_settings():
    known = {setting.name for setting in KNOWN_SETTINGS}
    values = gunicorn_settings()
    ours = {
        name
        for name, value in values.items()
        if not name.startswith("_") and not callable(value) and not hasattr(value, "__spec__")
        and name not in ("annotations",)
    }  # fmt: skip
    assert ours - known == set(), "misspelt settings are silently ignored by gunicorn"
    assert callable(values["worker_exit"])  # waits for background jobs
    assert callable(values["post_worker_init"])  # freezes start-up objects
    assert values["worker_class"] == "gthread"
    assert values["accesslog"] is None  # the app logs requests itself, without addresses
    assert values["preload_app"] is False


def test_a_worker_takes_its_start_up_objects_out_of_the_collectors_sight():
    import gc

    from flask import request_finished

    from app import factory

    before = gc.get_freeze_count()
    try:
        gunicorn_settings()["post_worker_init"](None)  # type: ignore[operator]
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
        request_finished.disconnect(factory._freeze_once_warm)


def test_a_worker_freezes_once_more_when_warm(app, monkeypatch):
    """What the first requests build (compiled templates, cached SQL, translations) lives
    as long as the start-up objects: frozen after WARM_UP_REQUESTS requests, once."""
    import gc
    import itertools

    from flask import request_finished

    from app import factory

    freezes = []
    monkeypatch.setattr(factory, "WARM_UP_REQUESTS", 3)
    monkeypatch.setattr(factory, "_served", itertools.count(1))
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append("freeze"))
    monkeypatch.setattr(gc, "collect", lambda *args: 0)
    try:
        factory.freeze_startup_objects()
        assert freezes == ["freeze"]
        client = app.test_client()
        for _ in range(2):
            client.get("/login")
        assert freezes == ["freeze"]
        client.get("/login")
        assert freezes == ["freeze", "freeze"]
        for _ in range(5):
            client.get("/login")
        assert freezes == ["freeze", "freeze"]
    finally:
        request_finished.disconnect(factory._freeze_once_warm)


def test_stop_timeouts_leave_room_for_the_graceful_timeout():
    graceful = int(gunicorn_settings()["graceful_timeout"])  # type: ignore[call-overload]
    unit = systemd_unit("renkei.service")
    assert int(unit["Service"]["TimeoutStopSec"]) > graceful
    grace = compose()["services"]["app"]["stop_grace_period"]
    assert int(str(grace).rstrip("s")) > graceful


def dockerfile_stages() -> list[list[str]]:
    lines = (INFRA / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    instructions = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    stages: list[list[str]] = []
    for instruction in instructions:
        if instruction.startswith("FROM "):
            stages.append([])
        stages[-1].append(instruction)
    return stages


def test_dockerfile_runs_gunicorn_as_an_unprivileged_user():
    stages = dockerfile_stages()
    assert all(stage[0].startswith("FROM python:3.11-slim") for stage in stages)
    final = stages[-1]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert final.index(next(line for line in final if line.startswith("USER "))) < len(final) - 1
    assert any("fonts-noto-cjk" in line for line in final if line.startswith("RUN "))
    (command,) = [line for line in final if line.startswith("CMD ")]
    assert "infra/gunicorn.conf.py" in command and "wsgi:app" in command
    assert any("/healthz" in line for line in final if line.startswith("HEALTHCHECK"))
    assert any("RENKEI_ENV=production" in line for line in final if line.startswith("ENV "))


def test_dockerfile_copies_what_exists_and_ignores_local_state():
    for stage in dockerfile_stages():
        for line in stage:
            if line.startswith("COPY ") and "--from=" not in line:
                for source in line.split()[1:-1]:
                    if not source.startswith("--"):
                        assert (PROJECT_ROOT / source).exists(), source
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    for private in (".git", ".venv", "instance", ".env", "infra/.env", "tests"):
        assert private in ignored, private


def test_compose_has_the_whole_stack():
    services = compose()["services"]
    assert {"app", "postgres", "redis", "objects", "migrate"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert "minio" in services["objects"]["image"]
    app = services["app"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert app["read_only"] is True
    env = app["environment"]
    assert env["RENKEI_ENV"] == "production" and env["REDIS_URL"].startswith("redis://")
    # The app connects as the role RLS holds; migrations run as the owner.
    assert "//renkei_app:" in env["DATABASE_URL"]
    assert "//renkei_owner:" in env["MIGRATION_DATABASE_URL"]
    for service in services.values():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{port} is open to the network"
    assert "docker-entrypoint-initdb.d" in " ".join(services["postgres"]["volumes"])


def test_every_required_variable_is_in_the_example_env():
    text_ = (INFRA / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text_))
    example = {
        line.split("=", 1)[0]
        for line in (INFRA / "env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert required and required <= example, required - example


def test_systemd_unit():
    service = systemd_unit("renkei.service")["Service"]
    assert service["User"] == "renkei"
    assert "gunicorn -c /opt/renkei/infra/gunicorn.conf.py wsgi:app" in service["ExecStart"]
    assert "db-upgrade" in service["ExecStartPre"]
    assert service["Type"] == "notify"  # gunicorn tells systemd when it is ready
    assert service["NoNewPrivileges"] == "true" and service["ProtectSystem"] == "strict"
    assert systemd_unit("renkei-backup.timer")["Timer"]["OnCalendar"]


@pytest.mark.parametrize("script", sorted(INFRA.rglob("*.sh")), ids=lambda p: p.name)
def test_shell_scripts_parse(script: Path):
    assert os.access(script, os.X_OK), f"{script} is not executable"
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_the_runbook_covers_the_operations():
    runbook = (INFRA / "RUNBOOK.md").read_text()
    for heading in (
        "First deploy",
        "Upgrades and migrations",
        "Backups",
        "Restore",
        "Secret rotation",
        "Logs",
        "Metrics",
        "Several workers and machines",
        "Beyond one database machine (Citus)",
    ):
        assert re.search(rf"^#+ .*{re.escape(heading)}", runbook, re.M), heading


@pytest.mark.postgres_only
def test_a_backup_restores_into_an_empty_database(database, samples, world, tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "BACKUP_DATABASE_URL": database.owner_url,
        "BACKUP_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [str(INFRA / "scripts" / "backup.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    (dump,) = tmp_path.glob("renkei-*.dump")

    name = unique_name("renkei_restore")
    target = create_postgres_database(str(database.admin_url), name, migrated=False)
    try:
        done = subprocess.run(
            [str(INFRA / "scripts" / "restore.sh"), str(dump), target.owner_url, APP_ROLE],
            env={"PATH": os.environ["PATH"]},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        again = subprocess.run(
            [str(INFRA / "scripts" / "restore.sh"), str(dump), target.owner_url, APP_ROLE],
            env={"PATH": os.environ["PATH"]},
            capture_output=True,
            text=True,
            check=False,
        )
        assert again.returncode == 1 and "not empty" in again.stderr  # never over data

        def row_counts(url: str) -> dict[str, int | None]:
            engine = create_engine(url)
            with engine.connect() as connection:
                counts = {
                    table.name: connection.scalar(select(func.count()).select_from(table))
                    for table in Base.metadata.sorted_tables
                }
            engine.dispose()
            return counts

        assert row_counts(target.owner_url) == row_counts(database.owner_url)
        # The app's role reads the restored rows through row-level security, as before.
        from sqlalchemy.orm import Session

        engine = create_engine(target.app_url)
        with Session(engine) as session, tenant_scope(session, world.alpha.id):
            names = session.scalars(select(Facility.name)).all()
            raw_sql = session.connection().scalar(text("SELECT count(*) FROM facilities"))
        engine.dispose()
        assert names == ["さくら作業所"] and raw_sql == 1
    finally:
        drop_postgres_database(str(database.admin_url), name)
