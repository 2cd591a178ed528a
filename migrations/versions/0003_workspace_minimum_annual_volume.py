"""workspace minimum annual volume

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Each workspace sets the annual volume under which deals are marked (the seed report's
guidance: decline deals that cannot reach about ¥2,000,000 a year).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("min_annual_volume", sa.Integer(), server_default="2000000", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_tenants_min_annual_volume_non_negative"), "min_annual_volume >= 0"
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_tenants_min_annual_volume_non_negative"), type_="check")
        batch_op.drop_column("min_annual_volume")
