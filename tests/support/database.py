"""Test databases: a migrated SQLite file, or a PostgreSQL database with an owner role and an
app role that owns nothing (so row-level security holds it), on a given or throwaway server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import migrate
from tests.support.pgcluster import ThrowawayCluster

OWNER_ROLE = "renkei_owner"
APP_ROLE = "renkei_app"
ROLE_PASSWORD = "renkei-test"  # only for servers that ask for one (TEST_DATABASE_URL)


@dataclass(frozen=True)
class DatabaseUnderTest:
    kind: str  # sqlite | postgresql
    app_url: str  # what the app connects with
    owner_url: str  # schema owner: migrations, cleaning between tests
    admin_url: str | None = None  # superuser on the server (PostgreSQL only)


def _with_user(url: str, user: str, database: str) -> str:
    return (
        make_url(url)
        .set(username=user, password=ROLE_PASSWORD, database=database)
        .set(drivername="postgresql+psycopg")
        .render_as_string(hide_password=False)
    )


@contextmanager
def sqlite_database(directory: Path) -> Iterator[DatabaseUnderTest]:
    url = f"sqlite:///{directory / 'test.db'}"
    migrate.upgrade(url)
    yield DatabaseUnderTest("sqlite", url, url)


@contextmanager
def postgres_server() -> Iterator[str]:
    """A superuser URL: TEST_DATABASE_URL (or DATABASE_URL) if given, else a throwaway cluster."""
    given = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if given.startswith("postgres"):
        yield str(make_url(given).set(drivername="postgresql+psycopg").render_as_string(False))
        return
    with ThrowawayCluster() as cluster:
        yield cluster.url


def create_postgres_database(admin_url: str, name: str, migrated: bool = True) -> DatabaseUnderTest:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for role, extra in ((OWNER_ROLE, ""), (APP_ROLE, " NOBYPASSRLS")):
            exists = connection.scalar(
                text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
            )
            if not exists:
                connection.execute(
                    text(f"CREATE ROLE {role} LOGIN PASSWORD '{ROLE_PASSWORD}'{extra}")
                )
        connection.execute(text(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}"))
    admin.dispose()
    owner_url = _with_user(admin_url, OWNER_ROLE, name)
    owner = create_engine(owner_url)
    with owner.begin() as connection:
        for statement in migrate.app_role_grants(APP_ROLE):
            connection.execute(text(statement))
    owner.dispose()
    if migrated:
        migrate.upgrade(owner_url)
    return DatabaseUnderTest(
        "postgresql", _with_user(admin_url, APP_ROLE, name), owner_url, admin_url
    )


def drop_postgres_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@contextmanager
def provide_database(kind: str, directory: Path) -> Iterator[DatabaseUnderTest]:
    if kind == "sqlite":
        with sqlite_database(directory) as database:
            yield database
        return
    with ExitStack() as stack:
        admin_url = stack.enter_context(postgres_server())
        name = unique_name("renkei_test")
        database = create_postgres_database(admin_url, name)
        stack.callback(drop_postgres_database, admin_url, name)
        yield database
