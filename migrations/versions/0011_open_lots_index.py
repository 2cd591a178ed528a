"""index of the lots not yet delivered, by due day

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21

The dashboard lists overdue lots: planned or in production, due (the revised day, else the
original one) before today. Without an index it read every lot of the workspace (40,000 in
the load benchmark's largest workspace: 38 ms a dashboard); this partial index holds only the
open lots, in the order the dashboard shows them. Expression and partial indexes exist on both
PostgreSQL and SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_LOTS = "status IN ('planned', 'in_production')"


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_open_due",
        "deliveries",
        ["tenant_id", sa.text("coalesce(revised_due_on, original_due_on)"), "id"],
        postgresql_where=sa.text(OPEN_LOTS),
        sqlite_where=sa.text(OPEN_LOTS),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_open_due", table_name="deliveries")
