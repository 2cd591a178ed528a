"""Beyond one database machine: the schema distributed on Citus by ``tenant_id``.

Generated from the SQLAlchemy metadata, so a table added by any package is covered:

- every tenant table (it has ``tenant_id``) becomes a distributed table on ``tenant_id``, all
  co-located, so a workspace's rows of every table live on the same worker and every query of
  a request (always one workspace) runs on one node;
- every other table (workspaces, people, shared catalogues) becomes a reference table, copied
  to every worker, so tenant tables may keep their foreign keys to it.

``citus_rule_violations`` lists what Citus would refuse (a test keeps it empty);
``distribution_sql`` is the script (``flask --app wsgi citus-sql``). Each statement skips a
table that is already distributed, so the same script is run again after every migration
that adds tables. See infra/RUNBOOK.md, "Beyond one database machine (Citus)".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ForeignKeyConstraint, MetaData, Table, UniqueConstraint

DISTRIBUTION_COLUMN = "tenant_id"
# Every distributed table is co-located with this one. Fixed (not "the first table"), so that a
# table added later never starts a co-location group of its own when the script is run again.
# The per-workspace id counters: a tenant table that points at nothing but the workspace, so
# it can be distributed before every other (memberships now point at buyers and facilities).
ANCHOR = "tenant_id_counters"
# Actions Citus refuses on a foreign key that includes the distribution column.
REFUSED_ON_DELETE = frozenset({"SET NULL", "SET DEFAULT"})
REFUSED_ON_UPDATE = frozenset({"CASCADE", "SET NULL", "SET DEFAULT"})


@dataclass(frozen=True)
class DistributionPlan:
    reference: tuple[str, ...]  # in foreign-key order
    distributed: tuple[str, ...]  # the anchor first, then in foreign-key order

    @property
    def anchor(self) -> str:
        return self.distributed[0]


def is_tenant_table(table: Table) -> bool:
    return DISTRIBUTION_COLUMN in table.c


def plan(metadata: MetaData) -> DistributionPlan:
    tables = metadata.sorted_tables  # referenced tables before the tables pointing at them
    distributed = [t.name for t in tables if is_tenant_table(t)]
    distributed.sort(key=lambda name: name != ANCHOR)  # stable: the anchor first
    return DistributionPlan(
        reference=tuple(t.name for t in tables if not is_tenant_table(t)),
        distributed=tuple(distributed),
    )


def _unique_column_sets(table: Table) -> list[tuple[str, list[str]]]:
    found = [
        (str(c.name or "unique"), [col.name for col in c.columns])
        for c in table.constraints
        if isinstance(c, UniqueConstraint)
    ]
    found += [(str(i.name), [col.name for col in i.columns]) for i in table.indexes if i.unique]
    found += [(f"{c.name} unique", [c.name]) for c in table.columns if c.unique]
    return found


def _fk_pairs(fk: ForeignKeyConstraint) -> dict[str, str]:
    return {element.parent.name: element.column.name for element in fk.elements}


def citus_rule_violations(metadata: MetaData) -> list[str]:
    """What ``create_distributed_table``/``create_reference_table`` would refuse, or what would
    break co-location; empty when the schema can be distributed by tenant_id."""
    problems: list[str] = []
    anchor = metadata.tables.get(ANCHOR)
    if anchor is None or not is_tenant_table(anchor):
        problems.append(f"{ANCHOR}: the co-location anchor must be a tenant table")
    elif any(is_tenant_table(fk.referred_table) for fk in anchor.foreign_key_constraints):
        problems.append(
            f"{ANCHOR}: the anchor is distributed first, so it may only point at reference tables"
        )
    for table in metadata.sorted_tables:
        tenant = is_tenant_table(table)
        if tenant:
            problems += _distributed_table_problems(table)
        for fk in table.foreign_key_constraints:
            target = fk.referred_table
            pairs = _fk_pairs(fk)
            where = f"{table.name}: foreign key {list(pairs)} -> {target.name}"
            if not tenant and is_tenant_table(target):
                problems.append(f"{where}: a reference table cannot point into a tenant table")
            if tenant and is_tenant_table(target):
                if pairs.get(DISTRIBUTION_COLUMN) != DISTRIBUTION_COLUMN:
                    problems.append(f"{where}: must include tenant_id = tenant_id")
                problems += _action_problems(fk, where)
            if tenant and not is_tenant_table(target) and DISTRIBUTION_COLUMN in pairs:
                problems += _action_problems(fk, where)
    return problems


def _distributed_table_problems(table: Table) -> list[str]:
    problems = []
    column = table.c[DISTRIBUTION_COLUMN]
    if column.nullable:
        problems.append(f"{table.name}: tenant_id may be NULL")
    primary_key = [c.name for c in table.primary_key.columns]
    if DISTRIBUTION_COLUMN not in primary_key:
        problems.append(f"{table.name}: primary key {primary_key} without tenant_id")
    for name, columns in _unique_column_sets(table):
        if DISTRIBUTION_COLUMN not in columns:
            problems.append(f"{table.name}: unique {name} {columns} without tenant_id")
    return problems


def _action_problems(fk: ForeignKeyConstraint, where: str) -> list[str]:
    problems = []
    if (fk.ondelete or "").upper() in REFUSED_ON_DELETE:
        problems.append(f"{where}: ON DELETE {fk.ondelete} on a key with tenant_id")
    if (fk.onupdate or "").upper() in REFUSED_ON_UPDATE:
        problems.append(f"{where}: ON UPDATE {fk.onupdate} on a key with tenant_id")
    return problems


def _unless_done(call: str, table: str) -> str:
    # Table names come from our own metadata, never from input.
    skip = f"(SELECT 1 FROM pg_dist_partition WHERE logicalrelid = '{table}'::regclass)"  # noqa: S608
    return f"SELECT {call} WHERE NOT EXISTS {skip};"


def distribution_sql(metadata: MetaData) -> str:
    """The script: run it as a superuser on the Citus coordinator, after the migrations."""
    problems = citus_rule_violations(metadata)
    if problems:
        raise ValueError("the schema breaks Citus' rules:\n" + "\n".join(problems))
    layout = plan(metadata)
    lines = [
        "-- Distribute Renkei's schema on Citus by tenant_id "
        "(generated by `flask --app wsgi citus-sql`).",
        "-- Run as a superuser on the coordinator after `flask --app wsgi db-upgrade`; it is",
        "-- safe to run again (tables already distributed are skipped).",
        "CREATE EXTENSION IF NOT EXISTS citus;",
        "-- The app sets the workspace of each transaction with SET LOCAL (CITUS=1); forward",
        "-- it to the connections Citus opens to the workers, where row-level security reads it.",
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET citus.propagate_set_commands = %L',"
        " current_database(), 'local'); END $$;",
        "",
        "-- Shared tables: a copy on every worker.",
    ]
    for name in layout.reference:
        lines.append(_unless_done(f"create_reference_table('{name}')", name))
    lines += ["", f"-- Workspace tables: sharded by tenant_id, co-located with {layout.anchor}."]
    for name in layout.distributed:
        colocate = "none" if name == layout.anchor else layout.anchor
        lines.append(
            _unless_done(
                f"create_distributed_table('{name}', '{DISTRIBUTION_COLUMN}', "
                f"colocate_with => '{colocate}')",
                name,
            )
        )
    return "\n".join(lines) + "\n"
