"""PostgreSQL row-level security for tenant tables: the SQL the migrations run.

A row is visible and writable only when its tenant_id equals the transaction's
``app.tenant_id`` setting (see ``tenants.isolation``). With no setting, nothing is visible.
"""

from __future__ import annotations

from tenants.isolation import PG_TENANT_SETTING, PG_USER_SETTING

POLICY = "tenant_isolation"
SAME_TENANT = f"tenant_id = NULLIF(current_setting('{PG_TENANT_SETTING}', true), '')::integer"
SAME_USER = f"user_id = NULLIF(current_setting('{PG_USER_SETTING}', true), '')::integer"


def enable(table: str, also_visible_when: str | None = None) -> list[str]:
    """Statements that turn RLS on for ``table``; ``also_visible_when`` widens reads only."""
    using = (
        SAME_TENANT if also_visible_when is None else f"({SAME_TENANT}) OR ({also_visible_when})"
    )
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY} ON {table} USING ({using}) WITH CHECK ({SAME_TENANT})",
    ]


def disable(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS {POLICY} ON {table}",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]
