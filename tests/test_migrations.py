"""Migrations: on a fresh database of the kind under test they go up, all the way down and up
again, and leave a schema that matches the models exactly."""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import inspect, text

import app.models  # noqa: F401  (every table on the metadata)
from app import migrate
from app.db import Base, make_engine
from tenants.isolation import tenant_tables
from tests.support.database import (
    create_postgres_database,
    drop_postgres_database,
    unique_name,
)

VERSIONS = migrate.MIGRATIONS_DIR / "versions"


@pytest.fixture
def fresh_url(database: Any, tmp_path: Path) -> Iterator[str]:
    """An empty database (schema owner's URL), dropped afterwards."""
    if database.kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = unique_name("mig")
    fresh = create_postgres_database(database.admin_url, name, migrated=False)
    try:
        yield fresh.owner_url
    finally:
        drop_postgres_database(database.admin_url, name)


def scripts() -> ScriptDirectory:
    return ScriptDirectory(str(migrate.MIGRATIONS_DIR))


def revisions_base_first() -> list[Script]:
    return list(reversed(list(scripts().walk_revisions())))


def look(url: str) -> dict[str, Any]:
    """Tables, current revision and (PostgreSQL) policies of the database at ``url``."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found: dict[str, Any] = {
                "tables": set(inspect(connection).get_table_names()),
                "revision": MigrationContext.configure(connection).get_current_revision(),
                "policies": set(),
            }
            if connection.dialect.name == "postgresql":
                found["policies"] = set(
                    connection.execute(
                        text(
                            "SELECT tablename, policyname FROM pg_policies "
                            "WHERE schemaname = 'public'"
                        )
                    ).all()
                )
                found["sequences"] = set(inspect(connection).get_sequence_names())
        return found
    finally:
        engine.dispose()


# Indexes on expressions that alembic cannot reflect everywhere (SQLite): compared by
# ``test_expression_indexes_are_as_the_models_say`` instead.
EXPRESSION_INDEXES = {"ix_deliveries_open_due"}


def schema_differences(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*expression-based index")
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def index_definitions(url: str) -> dict[str, str]:
    """Name → the definition the database holds, lower case without spaces or quotes."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                rows = connection.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
                )
            else:
                rows = connection.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master "
                        "WHERE type = 'index' AND sql IS NOT NULL"
                    )
                )
            return {name: re.sub(r'[\s"]', "", sql).lower() for name, sql in rows}
    finally:
        engine.dispose()


def test_expression_indexes_are_as_the_models_say(fresh_url):
    migrate.upgrade(fresh_url)
    found = index_definitions(fresh_url)
    for name in EXPRESSION_INDEXES:
        assert name in found, name
        definition = found[name]
        assert "coalesce(revised_due_on,original_due_on)" in definition, definition
        assert "where" in definition and "planned" in definition and "in_production" in definition
        index = next(i for i in Base.metadata.tables["deliveries"].indexes if i.name == name)
        assert definition.index("tenant_id") < definition.index("coalesce")
        assert [c.name for c in index.columns] == ["tenant_id", "id"]


def test_up_down_up_and_models_agree(fresh_url):
    head = scripts().get_current_head()
    model_tables = set(Base.metadata.tables)
    assert look(fresh_url)["tables"] == set()

    migrate.upgrade(fresh_url)
    after_up = look(fresh_url)
    assert after_up["revision"] == head
    assert after_up["tables"] == model_tables | {"alembic_version"}
    if "sequences" in after_up:  # PostgreSQL: every tenant table is under a policy
        assert {table for table, _policy in after_up["policies"]} == set(tenant_tables())

    migrate.downgrade(fresh_url, "base")
    after_down = look(fresh_url)
    assert after_down["tables"] == {"alembic_version"}
    assert after_down["revision"] is None
    assert after_down["policies"] == set()
    assert after_down.get("sequences", set()) == set()
    assert len(schema_differences(fresh_url)) >= len(model_tables)  # the check can see

    migrate.upgrade(fresh_url)
    again = look(fresh_url)
    assert again["revision"] == head
    assert again["tables"] == after_up["tables"]
    assert again["policies"] == after_up["policies"]
    assert schema_differences(fresh_url) == []


def test_each_revision_steps_down_and_up(fresh_url):
    """Stairway: every revision's downgrade undoes exactly its own upgrade."""
    for script in revisions_base_first():
        below = script.down_revision or "base"
        migrate.upgrade(fresh_url, script.revision)
        up = look(fresh_url)
        migrate.downgrade(fresh_url, str(below))
        down = look(fresh_url)
        assert down["revision"] == script.down_revision
        assert down != up, f"{script.revision}: downgrade changed nothing"
        migrate.upgrade(fresh_url, script.revision)
        assert look(fresh_url) == up, f"{script.revision}: up, down, up is not up"
    assert look(fresh_url)["revision"] == scripts().get_current_head()


def test_single_head_and_base():
    directory = scripts()
    assert len(directory.get_heads()) == 1, directory.get_heads()
    assert len(directory.get_bases()) == 1, directory.get_bases()


def test_every_revision_file_is_in_the_chain_and_has_a_downgrade():
    chain = revisions_base_first()
    assert chain, "no revisions found"
    files = {path.name for path in VERSIONS.glob("*.py")}
    assert {Path(script.path).name for script in chain} == files
    for script in chain:
        tree = ast.parse(Path(script.path).read_text(encoding="utf-8"))
        functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert {"upgrade", "downgrade"} <= set(functions), script.path
        body = [
            statement
            for statement in functions["downgrade"].body
            if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
            and not isinstance(statement, ast.Pass)
        ]
        assert body, f"{script.path}: downgrade() does nothing"
