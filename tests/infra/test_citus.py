"""Beyond one database machine: the schema keeps Citus' rules, so it can be distributed by
tenant_id (tenants/citus.py, `flask --app wsgi citus-sql`). Checked over ``Base.metadata``:
tables added by any package later are checked too.

Citus itself is not installable here (not in Debian, PyPI or npm); on PostgreSQL the script
runs against stand-ins for ``create_distributed_table`` / ``create_reference_table`` that
record what they are asked, so the SQL, the table names and the order are real."""

from __future__ import annotations

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url

import app.models  # noqa: F401  (every table on the metadata)
from app import create_app
from app.db import Base
from tenants.citus import ANCHOR, citus_rule_violations, distribution_sql, plan
from tests.conftest import dispose, make_settings


def test_the_schema_keeps_citus_rules():
    assert citus_rule_violations(Base.metadata) == []


def test_every_table_is_placed_once_in_a_working_order():
    layout = plan(Base.metadata)
    names = set(Base.metadata.tables)
    assert set(layout.reference) | set(layout.distributed) == names
    assert not set(layout.reference) & set(layout.distributed)
    assert {"tenants", "users"} <= set(layout.reference)
    assert layout.anchor == ANCHOR == "tenant_id_counters"
    # Every table is distributed after the tables it points at (Citus needs them first).
    order = {name: n for n, name in enumerate(layout.reference + layout.distributed)}
    for name in names:
        for fk in Base.metadata.tables[name].foreign_key_constraints:
            if fk.referred_table.name != name:
                assert order[fk.referred_table.name] < order[name], (name, fk.referred_table)


def test_the_rules_catch_what_citus_refuses():
    """The checker itself can fail: a schema with each kind of mistake."""
    bad = MetaData()
    Table("tenants", bad, Column("id", Integer, primary_key=True))
    Table(
        "memberships",
        bad,
        Column("tenant_id", Integer, ForeignKey("tenants.id"), primary_key=True),
        Column("id", Integer, primary_key=True),
    )
    Table(
        "contacts",
        bad,
        Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=True),
        Column("id", Integer, primary_key=True),  # key without tenant_id
        Column("email", String, unique=True),  # unique across every workspace
        Column("member_id", Integer),
        Column("helper_id", Integer),
        ForeignKeyConstraint(["member_id"], ["memberships.id"]),  # without tenant_id
        ForeignKeyConstraint(
            ["tenant_id", "helper_id"],
            ["memberships.tenant_id", "memberships.id"],
            ondelete="SET NULL",  # would null tenant_id too
        ),
        UniqueConstraint("member_id"),
    )
    Table(
        "plans",
        bad,
        Column("id", Integer, primary_key=True),
        Column("example_contact", Integer, ForeignKey("contacts.id")),  # shared → tenant
    )
    problems = "\n".join(citus_rule_violations(bad))
    for expected in (
        "contacts: tenant_id may be NULL",
        "contacts: primary key ['id'] without tenant_id",
        "contacts: unique email unique ['email'] without tenant_id",
        "without tenant_id",
        "['member_id'] -> memberships: must include tenant_id = tenant_id",
        "ON DELETE SET NULL",
        "plans: foreign key ['example_contact'] -> contacts: a reference table cannot point",
    ):
        assert expected in problems, expected
    with pytest.raises(ValueError, match="Citus"):
        distribution_sql(bad)


STAND_INS = """
CREATE TABLE pg_dist_partition (logicalrelid regclass PRIMARY KEY, kind text, colocate text);
CREATE FUNCTION create_reference_table(t regclass) RETURNS void LANGUAGE sql AS
  $$ INSERT INTO pg_dist_partition VALUES (t, 'reference', NULL) $$;
CREATE FUNCTION create_distributed_table(t regclass, col text, colocate_with text)
  RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF colocate_with <> 'none' AND NOT EXISTS
      (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = colocate_with::regclass) THEN
    RAISE EXCEPTION 'co-locating % with % before it is distributed', t, colocate_with;
  END IF;
  PERFORM 1 FROM pg_attribute WHERE attrelid = t AND attname = col;
  IF NOT FOUND THEN RAISE EXCEPTION '% has no column %', t, col; END IF;
  INSERT INTO pg_dist_partition VALUES (t, 'distributed', colocate_with);
END $$;
"""


@pytest.mark.postgres_only
def test_the_script_runs_on_the_migrated_schema_and_again(database):
    url = make_url(database.admin_url).set(database=make_url(database.owner_url).database)
    script = distribution_sql(Base.metadata).replace("CREATE EXTENSION IF NOT EXISTS citus;", "")
    engine = create_engine(url)
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            # (psycopg reads "%" as a placeholder even without parameters: double it)
            connection.exec_driver_sql(STAND_INS.replace("%", "%%"))
            connection.exec_driver_sql(script.replace("%", "%%"))
            placed = connection.execute(
                text("SELECT logicalrelid::text, kind, colocate FROM pg_dist_partition")
            ).all()
            connection.exec_driver_sql(script.replace("%", "%%"))  # again: nothing twice
            again = connection.scalar(text("SELECT count(*) FROM pg_dist_partition"))
            setting = connection.scalar(
                text(
                    "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d "
                    "ON d.oid = s.setdatabase WHERE d.datname = current_database()"
                )
            )
        finally:
            transaction.rollback()
    engine.dispose()
    kinds = {name: (kind, colocate) for name, kind, colocate in placed}
    assert set(kinds) == set(Base.metadata.tables) and again == len(placed)
    for name, table in Base.metadata.tables.items():
        expected: tuple[str, str | None]
        if "tenant_id" in table.c:
            expected = ("distributed", "none" if name == ANCHOR else ANCHOR)
        else:
            expected = ("reference", None)
        assert kinds[name] == expected, name
    assert "citus.propagate_set_commands=local" in setting


@pytest.mark.postgres_only
def test_on_citus_the_workspace_is_set_with_set_local(database, tmp_path, world, samples):
    """CITUS=1: the RLS settings go out as SET LOCAL (Citus forwards those to the workers),
    and row-level security still holds every statement to the workspace."""
    citus_app = create_app(make_settings(database, tmp_path, citus=True))
    statements: list[str] = []
    with citus_app.app_context():
        from app.extensions import db

        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        client = citus_app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = world.admin.get_id()
        response = client.get("/t/alpha/facilities/")
    finally:
        dispose(citus_app)
    assert response.status_code == 200 and "さくら作業所" in response.text
    assert not any("set_config" in sql for sql in statements)
    assert f"SET LOCAL app.tenant_id = '{world.alpha.id}'" in "\n".join(statements)


def test_every_index_of_a_workspace_table_starts_with_tenant_id():
    """What keeps the number of workspaces from slowing a workspace down (and keeps every
    index local to a shard on Citus): a workspace's queries read its own slice of an index.
    The one kind of exception is a lookup across workspaces by a shared row — a person's
    memberships in every workspace (``user_id`` → ``users``)."""
    for table in Base.metadata.sorted_tables:
        if "tenant_id" not in table.c:
            continue
        for index in table.indexes:
            first = next(iter(index.columns))
            shared_lookup = any(
                fk.column.table.name in plan(Base.metadata).reference for fk in first.foreign_keys
            )
            assert first.name == "tenant_id" or shared_lookup, f"{table.name}: {index.name}"
