"""PostgreSQL row-level security for tenant tables: the SQL the migrations run.

A row is visible and writable only when its tenant_id equals the transaction's
``app.tenant_id`` setting (see ``tenants.isolation``). With no setting, nothing is visible.
"""

from __future__ import annotations

from tenants.isolation import PG_TENANT_SETTING, PG_USER_SETTING

POLICY = "tenant_isolation"
READ_POLICY = "tenant_isolation_read"  # the wider, read-only visibility (``also_visible_when``)
SAME_TENANT = f"tenant_id = NULLIF(current_setting('{PG_TENANT_SETTING}', true), '')::integer"
SAME_USER = f"user_id = NULLIF(current_setting('{PG_USER_SETTING}', true), '')::integer"


def enable(table: str, also_visible_when: str | None = None) -> list[str]:
    """Statements that turn RLS on for ``table``; ``also_visible_when`` widens reads only.

    The wider condition is a separate ``FOR SELECT`` policy: inside the ``FOR ALL`` policy's
    USING it would also let UPDATE and DELETE reach those rows of other tenants.
    """
    statements = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY} ON {table} USING ({SAME_TENANT}) WITH CHECK ({SAME_TENANT})",
    ]
    if also_visible_when is not None:
        statements.append(
            f"CREATE POLICY {READ_POLICY} ON {table} FOR SELECT USING ({also_visible_when})"
        )
    return statements


def disable(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS {READ_POLICY} ON {table}",
        f"DROP POLICY IF EXISTS {POLICY} ON {table}",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]
