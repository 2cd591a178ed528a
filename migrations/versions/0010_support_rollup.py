"""support staff in the regional roll-up

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-21

``region_visible_tenants()`` gains its second branch: a platform support agent (a person with
an active ``support_agents`` row), asking outside any workspace, may see the roll-up of the
workspaces located in the agent's prefectures (``support_agent_regions``). The prefecture
branch is unchanged. Aggregates only, as before: the function only says which workspaces
``region_kpi_components`` may sum. PostgreSQL only (SQLite has no functions or row-level
security; ``app.reports.region.support_visible_tenants`` is the same rule in Python).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFECTURE_BRANCH = """
    SELECT shared.id
    FROM tenants AS viewer
    JOIN tenants AS shared ON shared.prefecture_code = viewer.prefecture_code
    WHERE viewer.id = NULLIF(current_setting('app.tenant_id', true), '')::integer
      AND viewer.kind = 'prefecture'
      AND viewer.archived_at IS NULL
      AND shared.kind = 'municipality'
      AND shared.shares_with_prefecture
      AND shared.archived_at IS NULL
      AND EXISTS (
          SELECT 1 FROM memberships AS m
          WHERE m.tenant_id = viewer.id
            AND m.user_id = NULLIF(current_setting('app.user_id', true), '')::integer
            AND m.status = 'active'
            AND m.role IN ('admin', 'coordinator', 'quality', 'viewer')
      )
"""

SUPPORT_BRANCH = """
    SELECT t.id
    FROM support_agents AS agent
    JOIN support_agent_regions AS region ON region.user_id = agent.user_id
    JOIN tenants AS t ON t.prefecture_code = region.prefecture_code
    WHERE agent.user_id = NULLIF(current_setting('app.user_id', true), '')::integer
      AND agent.disabled_at IS NULL
      AND NULLIF(current_setting('app.tenant_id', true), '') IS NULL
      AND t.archived_at IS NULL
"""


def _function(body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION region_visible_tenants()
RETURNS TABLE (tenant_id integer)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
{body}
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(PREFECTURE_BRANCH + "    UNION\n" + SUPPORT_BRANCH))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(PREFECTURE_BRANCH))
