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
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import Session

import app.models
from app import create_app
from app import models as all_models  # noqa: F401  (every table on the metadata)
from app.auth.models import User
from app.auth.service import create_user
from app.config import Settings
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
from tests.support.tables import Snapshot, Tables

PASSWORD = "correct horse battery"

# The tables the report summaries are computed from, and the summaries themselves: while all
# are empty there is nothing to compare after a test.
SUMMARY_INPUTS = frozenset(
    {"order_months", "assignments"} | {table.name for table, _rows in summaries.SOURCES}
)


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


@pytest.fixture(scope="session")
def tables(database: DatabaseUnderTest) -> Iterator[Tables]:
    """The schema's tables, seen through the owner's connection (cleaning, snapshots)."""
    engine = create_engine(database.owner_url)
    yield Tables(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table, the outbox, the rate limits and the built reports after each test
    that touched the app."""
    yield
    if "app" not in request.fixturenames:
        return
    flask_app: Flask = request.getfixturevalue("app")
    tables: Tables = request.getfixturevalue("tables")
    with flask_app.app_context():
        db.remove()
    with tables.engine.begin() as connection:
        written = tables.non_empty(connection)
        # Whatever the test wrote, through whichever screen or service, the report's monthly
        # summaries must still equal what the records give.
        stale = summaries.differences(connection) if written & SUMMARY_INPUTS else []
        tables.empty(connection, written)
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
    # Set when the rows of ``samples`` were copied in together with the world's.
    sample_ids: dict[str, int] | None = None

    @classmethod
    def of(
        cls,
        alpha: Tenant,
        beta: Tenant,
        people: dict[str, User],
        memberships: dict[str, Membership],
        sample_ids: dict[str, int] | None = None,
    ) -> World:
        """The world from its people by name (admin, coordinator, viewer, outsider)."""
        return cls(
            alpha,
            beta,
            admin=people["admin"],
            coordinator=people["coordinator"],
            viewer=people["viewer"],
            outsider=people["outsider"],
            memberships=memberships,
            sample_ids=sample_ids,
        )


@dataclass
class SavedWorld:
    """What ``world`` (and ``world`` + ``samples``) left in an empty database, to copy back."""

    snapshot: Snapshot
    tenant_ids: tuple[int, int]
    user_ids: dict[str, int]
    sample_ids: dict[str, int] | None = None


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


def build_world(app: Flask) -> World:
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
        return World.of(alpha, beta, people, memberships)


def load_world(app: Flask, saved: SavedWorld) -> World:
    """The world's objects read back from copied-in rows (fresh objects for every test)."""
    with app.app_context(), db.new_session() as s:
        tenants = {
            t.id: t for t in s.scalars(select(Tenant).where(Tenant.id.in_(saved.tenant_ids)))
        }
        users = {
            u.id: u for u in s.scalars(select(User).where(User.id.in_(saved.user_ids.values())))
        }
        people = {name: users[user_id] for name, user_id in saved.user_ids.items()}
        memberships: dict[str, Membership] = {}
        for tenant_id in saved.tenant_ids:
            with tenant_scope(s, tenant_id):
                for membership in s.scalars(select(Membership)):
                    name = next(n for n, u in people.items() if u.id == membership.user_id)
                    memberships[name] = membership
        alpha, beta = (tenants[tenant_id] for tenant_id in saved.tenant_ids)
        sample_ids = dict(saved.sample_ids) if saved.sample_ids is not None else None
        return World.of(alpha, beta, people, memberships, sample_ids)


@pytest.fixture
def world(app: Flask, tables: Tables, request: pytest.FixtureRequest) -> World:
    """Built through the services the first time; later, its rows are copied back in (with the
    sample records' too when the test also asks for ``samples``)."""
    saved_key = "samples" if "samples" in request.fixturenames else "world"
    saved: SavedWorld | None = tables.saved.get(saved_key)
    with tables.engine.begin() as connection:
        starts_empty = not tables.non_empty(connection)
        if starts_empty and saved is not None:
            saved.snapshot.restore(tables, connection)
    if starts_empty and saved is not None:
        return load_world(app, saved)
    built = build_world(app)
    if starts_empty and "world" not in tables.saved:
        with tables.engine.connect() as connection:
            tables.saved["world"] = SavedWorld(
                Snapshot.take(tables, connection),
                (built.alpha.id, built.beta.id),
                {
                    name: getattr(built, name).id
                    for name in ("admin", "coordinator", "viewer", "outsider")
                },
            )
    return built


@pytest.fixture
def samples(app: Flask, world: World, tables: Tables) -> dict[str, int]:
    """One record of every kind in alpha (see tests/support/samples.py); table → id."""
    if world.sample_ids is not None:
        return world.sample_ids
    with tables.engine.connect() as connection:
        pristine = _holds_only(tables, connection, tables.saved.get("world"))
    with app.app_context(), db.new_session() as s:
        ids = add_sample_records(s, world.memberships["admin"])
        s.commit()
    saved_world = tables.saved.get("world")
    if pristine and saved_world is not None and "samples" not in tables.saved:
        with tables.engine.connect() as connection:
            tables.saved["samples"] = SavedWorld(
                Snapshot.take(tables, connection),
                saved_world.tenant_ids,
                saved_world.user_ids,
                dict(ids),
            )
    return ids


def _holds_only(tables: Tables, connection: Any, saved: SavedWorld | None) -> bool:
    """Does the database hold exactly the saved world's rows (nothing added by another
    fixture), so that what samples adds to it can be saved as ``samples``?"""
    if saved is None:
        return False
    if tables.non_empty(connection) != set(saved.snapshot.rows):
        return False
    return all(
        connection.execute(select(func.count()).select_from(tables.by_name[name])).scalar()
        == len(rows)
        for name, rows in saved.snapshot.rows.items()
    )


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
