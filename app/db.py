"""The database: declarative base, engine and the request-scoped session.

Plain SQLAlchemy 2 (no Flask-SQLAlchemy): one session per application context, removed at
teardown. Tenant isolation is wired onto every session by ``tenants.isolation``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from flask import Flask, current_app
from flask.globals import app_ctx
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC timestamps")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


# Seconds to wait for a PostgreSQL connection: a database that is down fails the request
# quickly (503) instead of holding a worker.
CONNECT_TIMEOUT = 5


def make_engine(url: str, **kwargs: Any) -> Engine:
    """The engine for ``url``. SQL parameters never appear in error messages or logs (they
    hold names and e-mail addresses); PostgreSQL connections are checked before each use, so
    the app recovers by itself after a database restart."""
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        for pool_option in ("pool_size", "max_overflow", "pool_timeout", "citus"):
            kwargs.pop(pool_option, None)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores FKs unless asked
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    connect_args = {"connect_timeout": CONNECT_TIMEOUT, **kwargs.pop("connect_args", {})}
    citus = kwargs.pop("citus", False)
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    if citus:
        from tenants.isolation import SET_LOCAL_OPTION

        return engine.execution_options(**{SET_LOCAL_OPTION: True})
    return engine


def _app_context_id() -> int:
    """One session per application context (each request, CLI command or test block)."""
    return id(cast(Any, app_ctx)._get_current_object())


def end_session(scoped: scoped_session[Session]) -> None:
    """Close the request's session. If its connection died mid-request (the database
    restarted), closing cannot roll back: discard the connection instead of failing the
    response that is already on its way (the pool opens a new one next time)."""
    try:
        scoped.remove()
    except Exception as exc:
        log.warning("session closed on a broken connection: %s", type(exc).__name__)
        try:
            scoped.registry().invalidate()
        except Exception:
            log.debug("invalidate failed", exc_info=True)
        scoped.registry.clear()


@dataclass
class _BoundDatabase:
    engine: Engine
    factory: sessionmaker[Session]
    scoped: scoped_session[Session]


class Database:
    """Engine and request-scoped session of the current app (each app keeps its own)."""

    key = "renkei_db"

    def init_app(self, app: Flask, url: str, **engine_options: Any) -> None:
        engine = make_engine(url, **engine_options)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        scoped = scoped_session(factory, scopefunc=_app_context_id)
        app.extensions[self.key] = _BoundDatabase(engine, factory, scoped)
        app.teardown_appcontext(lambda _exc: end_session(scoped))

    def _bound(self) -> _BoundDatabase:
        bound: _BoundDatabase = current_app.extensions[self.key]
        return bound

    @property
    def engine(self) -> Engine:
        return self._bound().engine

    @property
    def session(self) -> Session:
        return self._bound().scoped()

    def remove(self) -> None:
        self._bound().scoped.remove()

    @contextmanager
    def new_session(self) -> Iterator[Session]:
        """A session outside the request scope (CLI jobs, tests); closed on exit."""
        session = self._bound().factory()
        try:
            yield session
        finally:
            session.close()
