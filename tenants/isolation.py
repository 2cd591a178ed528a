"""The ORM wall of tenant isolation, per-tenant ids, and the PostgreSQL RLS session setting.

Every tenant-owned model inherits ``TenantScoped``: its primary key is ``(tenant_id, id)``, so
foreign keys between tenant tables carry ``tenant_id`` and a row can only reference rows of its
own tenant (the schema wall). The listeners below make every ORM statement of a session see one
tenant only (the ORM wall) and tell PostgreSQL which tenant the transaction belongs to, for the
row-level security policies (the database wall).

Bypassing the ORM wall takes the explicit execution option ``ALL_TENANTS``; grep for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql import visitors

from app.db import Base

TENANT_KEY = "tenant_id"
USER_KEY = "user_id"
# Execution option that lifts the ORM wall for one statement (platform jobs, regional roll-ups).
ALL_TENANTS = {"all_tenants": True}
# Session flag: nothing may be written (a support agent's read-only access, tenants.support).
READ_ONLY_KEY = "read_only"

# PostgreSQL settings read by the RLS policies; set per transaction (SET LOCAL semantics).
PG_TENANT_SETTING = "app.tenant_id"
PG_USER_SETTING = "app.user_id"


class TenantNotSet(RuntimeError):
    """A tenant-owned table was queried or written with no tenant chosen for the session."""


class CrossTenantWrite(RuntimeError):
    """An object of one tenant was written while the session belongs to another."""


class ReadOnlySession(RuntimeError):
    """A write was attempted through a session marked read-only."""


def make_read_only(session: Session) -> None:
    """From the next transaction on, this session writes nothing: flushes are refused, and on
    PostgreSQL each transaction is started READ ONLY as well (raw SQL included)."""
    session.info[READ_ONLY_KEY] = True


class TenantScoped:
    """Mixin for tenant-owned models: primary key (tenant_id, id), ids numbered per tenant."""

    tenant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tenants.id"), primary_key=True, autoincrement=False
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class TenantIdCounter(Base):
    """Next id per tenant and table. Per-tenant numbering keeps composite keys portable
    (SQLite has no sequences) and does not leak other tenants' volumes through ids."""

    __tablename__ = "tenant_id_counters"

    tenant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tenants.id"), primary_key=True, autoincrement=False
    )
    table_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)


# Tables owned by a tenant that are not TenantScoped models (RLS still applies to them).
EXTRA_TENANT_TABLES = (TenantIdCounter.__tablename__,)


def tenant_tables() -> list[str]:
    """Names of every tenant-owned table, for RLS migrations and schema checks."""
    names = {
        cast(Table, mapper.local_table).name
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, TenantScoped)
    }
    owned = {
        table.name for table in Base.metadata.tables.values() if table.info.get("tenant_owned")
    }
    return sorted(names | owned | set(EXTRA_TENANT_TABLES))


# --- choosing the tenant -------------------------------------------------------------------


def current_tenant_id(session: Session) -> int:
    tenant_id = session.info.get(TENANT_KEY)
    if tenant_id is None:
        raise TenantNotSet("no tenant chosen for this session")
    return int(tenant_id)


def use_tenant(session: Session, tenant_id: int | None, user_id: int | None = None) -> None:
    """Bind the session to one tenant (and acting user) from now on."""
    session.info[TENANT_KEY] = tenant_id
    if user_id is not None:
        session.info[USER_KEY] = user_id
    if session.in_transaction():
        _apply_pg_settings(session.connection(), session.info)


def use_user(session: Session, user_id: int | None) -> None:
    session.info[USER_KEY] = user_id
    if session.in_transaction():
        _apply_pg_settings(session.connection(), session.info)


@contextmanager
def tenant_scope(session: Session, tenant_id: int) -> Iterator[Session]:
    """Temporarily act inside one tenant (platform jobs, demo loading, signup)."""
    previous = session.info.get(TENANT_KEY)
    use_tenant(session, tenant_id)
    try:
        yield session
    finally:
        use_tenant(session, previous)


# Engine execution option: set the RLS settings with SET LOCAL instead of set_config(). Citus
# forwards SET LOCAL to the connections it opens to the shards (with
# citus.propagate_set_commands = 'local'); it does not forward set_config() calls.
SET_LOCAL_OPTION = "renkei_set_local"


def _setting_value(value: Any) -> str:
    return "" if value is None else str(int(value))  # ids only: nothing to quote


def _apply_pg_settings(connection: Any, info: dict[str, Any]) -> None:
    if connection.dialect.name != "postgresql":
        return
    tenant = info.get(TENANT_KEY)
    user = info.get(USER_KEY)
    if connection.get_execution_options().get(SET_LOCAL_OPTION):
        connection.exec_driver_sql(
            f"SET LOCAL {PG_TENANT_SETTING} = '{_setting_value(tenant)}'; "
            f"SET LOCAL {PG_USER_SETTING} = '{_setting_value(user)}'"
        )
        return
    connection.execute(
        text("SELECT set_config(:ts, :t, true), set_config(:us, :u, true)"),
        {
            "ts": PG_TENANT_SETTING,
            "t": "" if tenant is None else str(tenant),
            "us": PG_USER_SETTING,
            "u": "" if user is None else str(user),
        },
    )


# --- listeners (installed once, for every Session) -----------------------------------------


@event.listens_for(Session, "after_begin")
def _set_pg_tenant(session: Session, _transaction: SessionTransaction, connection: Any) -> None:
    if session.info.get(READ_ONLY_KEY) and connection.dialect.name == "postgresql":
        # Must come before any other statement of the transaction.
        connection.execute(text("SET TRANSACTION READ ONLY"))
    if session.info.get(TENANT_KEY) is None and session.info.get(USER_KEY) is None:
        # Both settings are transaction-local, so a new transaction starts without them:
        # nothing to set (this saves a round trip at the start of every request).
        return
    _apply_pg_settings(connection, session.info)


@event.listens_for(Session, "do_orm_execute")
def _scope_statement_to_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("all_tenants"):
        return
    if not _touches_tenant_tables(state.statement):
        return
    tenant_id = current_tenant_id(state.session)
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


def _touches_tenant_tables(statement: Any) -> bool:
    # Walk the statement itself: ``all_mappers`` misses entities that appear only in
    # select_from() or a join, e.g. select(func.count()).select_from(Membership).
    names = _tenant_table_names()
    return any(
        isinstance(element, Table) and element.name in names
        for element in visitors.iterate(statement)
    )


@cache
def _tenant_table_names() -> frozenset[str]:
    return frozenset(tenant_tables())


@event.listens_for(Session, "before_flush")
def _guard_and_number_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(READ_ONLY_KEY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlySession("this session is read-only")
    new = [obj for obj in session.new if isinstance(obj, TenantScoped)]
    changed = [obj for obj in (*session.dirty, *session.deleted) if isinstance(obj, TenantScoped)]
    if not new and not changed:
        _audit_hook(session, [], [], [])
        return
    tenant_id = current_tenant_id(session)
    for obj in new:
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise CrossTenantWrite(f"{type(obj).__name__} of tenant {obj.tenant_id}")
    for obj in changed:
        history = _tenant_history(obj)
        if obj.tenant_id != tenant_id or history:
            raise CrossTenantWrite(f"{type(obj).__name__} of tenant {obj.tenant_id}")
    allocate_ids(session, new)
    dirty = [obj for obj in changed if obj in session.dirty and session.is_modified(obj)]
    deleted = [obj for obj in changed if obj in session.deleted]
    _audit_hook(session, new, dirty, deleted)


def _tenant_history(obj: Any) -> bool:
    from sqlalchemy import inspect

    return bool(inspect(obj).attrs.tenant_id.history.deleted)


def allocate_ids(session: Session, objects: list[Any]) -> None:
    """Give new tenant rows their next per-tenant ids: one statement per table."""
    pending: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for obj in objects:
        if obj.id is None:
            pending[(obj.tenant_id, obj.__table__.name)].append(obj)
    for (tenant_id, table_name), objs in sorted(pending.items()):
        last = reserve_ids(session, tenant_id, table_name, len(objs))
        for offset, obj in enumerate(objs):
            obj.id = last - len(objs) + 1 + offset


def reserve_ids(session: Session, tenant_id: int, table_name: str, count: int) -> int:
    """Atomically advance the counter by ``count``; returns the last id reserved."""
    table = cast(Table, TenantIdCounter.__table__)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = insert(table).values(tenant_id=tenant_id, table_name=table_name, last_id=count)
    upsert = values.on_conflict_do_update(
        index_elements=[table.c.tenant_id, table.c.table_name],
        set_={"last_id": table.c.last_id + values.excluded.last_id},
    ).returning(table.c.last_id)
    return int(session.connection().execute(upsert).scalar_one())


# Hooks called before each flush with its tenant rows (new, changed, deleted): the audit
# trail and the report summaries register themselves here, so isolation imports neither.
_audit_hooks: list[Any] = []


def register_flush_hook(hook: Any) -> None:
    _audit_hooks.append(hook)


def _audit_hook(session: Session, new: list[Any], dirty: list[Any], deleted: list[Any]) -> None:
    for hook in _audit_hooks:
        hook(session, new, dirty, deleted)


def tenant_fk(column: str, target_table: str, **kwargs: Any) -> ForeignKeyConstraint:
    """A composite foreign key (tenant_id, column) → target (tenant_id, id): rows can only
    reference rows of their own workspace."""
    return ForeignKeyConstraint(
        ["tenant_id", column], [f"{target_table}.tenant_id", f"{target_table}.id"], **kwargs
    )
