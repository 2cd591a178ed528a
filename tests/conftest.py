"""Shared fixtures. The suite runs once per database: ``pytest --db=sqlite`` (default) and
``pytest --db=postgresql`` (a throwaway cluster unless TEST_DATABASE_URL names a server)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

import app.models
from app import create_app
from app import models as all_models  # noqa: F401  (every table on the metadata)
from app.auth.models import User
from app.auth.service import create_user
from app.config import Settings
from app.db import Base
from app.extensions import db, limiter
from app.mail import outbox
from app.reports import summaries
from tenants.isolation import tenant_scope
from tenants.models import Membership, Role, Tenant, TenantKind
from tests.support.database import DatabaseUnderTest, provide_database
from tests.support.samples import add_sample_records
from tests.support.storage import (  # noqa: F401  (fixtures: real S3 on loopback, both backends)
    down_storage,
    s3_endpoint,
    s3_storage,
    storage,
)

PASSWORD = "correct horse battery"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=("sqlite", "postgresql"), default="sqlite")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (run with --db=postgresql)")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseUnderTest]:
    with provide_database(request.config.getoption("--db"), tmp_path_factory.mktemp("db")) as dbt:
        yield dbt


def make_settings(database: DatabaseUnderTest, instance: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "testing",
        "instance_path": instance,
        "secret_key": "test-secret",
        "database_url": database.app_url,
        "migration_database_url": database.owner_url,
        "mail_backend": "memory",
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        "background_jobs": False,
        "testing": True,
    }
    values.update(overrides)
    return Settings(**values)


class CsrfClient(FlaskClient):
    """A test client that sends a valid CSRF token with unsafe requests, like the pages do."""

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", "a" * 40)
        secret = str(self.application.secret_key)
        return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)

    def open(self, *args: Any, **kwargs: Any) -> Any:
        method = kwargs.get("method", "GET").upper()
        csrf = kwargs.pop("csrf", True)
        if csrf and method not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def login_as(self, user: User) -> CsrfClient:
        with self.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return self


@pytest.fixture(scope="session")
def app(database: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    flask_app = create_app(make_settings(database, tmp_path_factory.mktemp("instance")))
    flask_app.test_client_class = CsrfClient
    yield flask_app
    dispose(flask_app)


def dispose(flask_app: Flask) -> None:
    """Close the app's pooled connections (psycopg warns about connections left open)."""
    with flask_app.app_context():
        db.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table, the outbox, the rate limits and the built reports after each test
    that touched the app."""
    yield
    if "app" not in request.fixturenames:
        return
    flask_app: Flask = request.getfixturevalue("app")
    database: DatabaseUnderTest = request.getfixturevalue("database")
    with flask_app.app_context():
        db.remove()
    engine = create_engine(database.owner_url)
    # Whatever the test wrote, through whichever screen or service, the report's monthly
    # summaries must still equal what the records give.
    with engine.connect() as connection:
        stale = summaries.differences(connection)
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if database.kind == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608
    engine.dispose()
    with flask_app.app_context():
        outbox().clear()
        limiter.reset()
    flask_app.extensions["renkei_report_cache"].clear()
    if stale:
        pytest.fail("report summaries out of date:\n" + "\n".join(stale[:20]))


@pytest.fixture
def client(app: Flask) -> CsrfClient:
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session outside requests, for arranging data and checking results."""
    with app.app_context(), db.new_session() as s:
        yield s


@dataclass
class World:
    """Two workspaces: alpha has an admin, a coordinator and a read-only viewer; beta's admin
    is the outsider to alpha."""

    alpha: Tenant
    beta: Tenant
    admin: User
    coordinator: User
    viewer: User
    outsider: User
    memberships: dict[str, Membership]


def add_tenant(session: Session, slug: str, name: str) -> Tenant:
    tenant = Tenant(slug=slug, name=name, kind=TenantKind.MUNICIPALITY, prefecture_code="22")
    session.add(tenant)
    session.flush()
    return tenant


def add_member(session: Session, tenant: Tenant, user: User, role: Role) -> Membership:
    with tenant_scope(session, tenant.id):
        membership = Membership(user_id=user.id, role=role)
        session.add(membership)
        session.flush()
    return membership


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context(), db.new_session() as s:
        alpha = add_tenant(s, "alpha", "アルファ市 共同受注窓口")
        beta = add_tenant(s, "beta", "ベータ町 共同受注窓口")
        people = {
            name: create_user(s, f"{name}@example.jp", name.title(), PASSWORD)
            for name in ("admin", "coordinator", "viewer", "outsider")
        }
        memberships = {
            "admin": add_member(s, alpha, people["admin"], Role.ADMIN),
            "coordinator": add_member(s, alpha, people["coordinator"], Role.COORDINATOR),
            "viewer": add_member(s, alpha, people["viewer"], Role.VIEWER),
            "outsider": add_member(s, beta, people["outsider"], Role.ADMIN),
        }
        s.commit()
        return World(alpha, beta, memberships=memberships, **people)


@pytest.fixture
def samples(app: Flask, world: World) -> dict[str, int]:
    """One record of every kind in alpha (see tests/support/samples.py); table → id."""
    with app.app_context(), db.new_session() as s:
        ids = add_sample_records(s, world.memberships["admin"])
        s.commit()
    return ids


@pytest.fixture
def arrange(app: Flask, world: World) -> Callable[..., Any]:
    """Run ``fn(session)`` inside alpha (or another tenant) and commit; returns its result."""

    def run(fn: Callable[[Any], Any], tenant_id: int | None = None) -> Any:
        with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id or world.alpha.id):
            result = fn(s)
            s.flush()
            s.commit()
            return result

    return run


@pytest.fixture
def read(app: Flask, world: World) -> Callable[..., Any]:
    """Run ``fn(session)`` inside alpha (or another tenant) to check results; the objects
    it returns are detached, so their loaded attributes stay readable."""

    def run(fn: Callable[[Any], Any], tenant_id: int | None = None) -> Any:
        with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id or world.alpha.id):
            result = fn(s)
            s.expunge_all()
            return result

    return run


@pytest.fixture
def query_counter(app: Flask) -> Iterator[list[str]]:
    """Statements the app sends while the test runs."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    yield statements
    event.remove(engine, "before_cursor_execute", count)
