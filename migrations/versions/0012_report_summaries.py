"""monthly summaries for the fiscal-year report; indexes for its deal sums and buyer probes

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-21

The report summed tens of thousands of order months and assignments each time it was built
(~0.6 s on the benchmark workspace). These tables hold those sums per workspace and month;
``app.reports.summaries`` keeps them exact on every write. This migration fills them from the
records already there, with the statements as they stand at this revision (frozen here: the
app's own version may change with later schemas).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("report_buyer_months", "report_facility_months", "report_procurement_months")

FILL = (
    """
    INSERT INTO report_buyer_months (tenant_id, month, buyer_id, actual, forecast_months,
                                     forecast, forecast_error, forecast_actual)
    SELECT om.tenant_id, om.month, o.buyer_id, sum(om.actual_amount), count(om.forecast_amount),
           coalesce(sum(om.forecast_amount), 0),
           coalesce(sum(abs(om.actual_amount - om.forecast_amount)), 0),
           coalesce(sum(CASE WHEN om.forecast_amount IS NOT NULL THEN om.actual_amount END), 0)
    FROM order_months om
    JOIN orders o ON o.tenant_id = om.tenant_id AND o.id = om.order_id AND o.archived_at IS NULL
    WHERE om.actual_amount IS NOT NULL
    GROUP BY om.tenant_id, om.month, o.buyer_id
    """,
    """
    INSERT INTO report_facility_months (tenant_id, month, facility_id, hours)
    SELECT tenant_id, month, facility_id, sum(hours)
    FROM assignments
    GROUP BY tenant_id, month, facility_id
    """,
    """
    INSERT INTO report_procurement_months (tenant_id, month, municipality, facility_kind, amount)
    SELECT om.tenant_id, om.month, b.is_municipality, s.kind,
           sum(CAST(om.actual_amount AS FLOAT) * s.share)
    FROM order_months om
    JOIN orders o ON o.tenant_id = om.tenant_id AND o.id = om.order_id AND o.archived_at IS NULL
    JOIN buyers b ON b.tenant_id = o.tenant_id AND b.id = o.buyer_id
    JOIN (
        SELECT a.tenant_id, a.order_id, a.month, f.kind,
               CASE WHEN sum(a.hours) OVER w > 0 THEN a.hours / sum(a.hours) OVER w
                    ELSE a.quantity / sum(a.quantity) OVER w END AS share
        FROM assignments a
        JOIN facilities f ON f.tenant_id = a.tenant_id AND f.id = a.facility_id
        WHERE a.order_id IS NOT NULL
        WINDOW w AS (PARTITION BY a.tenant_id, a.order_id, a.month)
    ) s ON s.tenant_id = om.tenant_id AND s.order_id = om.order_id AND s.month = om.month
    WHERE om.actual_amount IS NOT NULL
    GROUP BY om.tenant_id, om.month, b.is_municipality, s.kind
    """,
)


def _tenant_column() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("tenant_id", sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "report_buyer_months",
        _tenant_column(),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("actual", sa.BigInteger(), nullable=False),
        sa.Column("forecast_months", sa.Integer(), nullable=False),
        sa.Column("forecast", sa.BigInteger(), nullable=False),
        sa.Column("forecast_error", sa.BigInteger(), nullable=False),
        sa.Column("forecast_actual", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_report_buyer_months_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "month", "buyer_id", name=op.f("pk_report_buyer_months")
        ),
    )
    op.create_table(
        "report_facility_months",
        _tenant_column(),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_report_facility_months_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "month", "facility_id", name=op.f("pk_report_facility_months")
        ),
    )
    op.create_table(
        "report_procurement_months",
        _tenant_column(),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("municipality", sa.Boolean(), nullable=False),
        sa.Column("facility_kind", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_report_procurement_months_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "month",
            "municipality",
            "facility_kind",
            name=op.f("pk_report_procurement_months"),
        ),
    )
    for statement in FILL:
        op.execute(statement)
    # The report's "ordered before this year?" probe per buyer walks this index.
    op.drop_index("ix_orders_tenant_buyer", table_name="orders")
    op.create_index(
        "ix_orders_tenant_buyer_confirmed", "orders", ["tenant_id", "buyer_id", "confirmed_on"]
    )
    # Covers the report's reads of the deals of its years (sums and the year's own deals).
    op.create_index(
        "ix_deals_report",
        "deals",
        [
            "tenant_id",
            "opened_on",
            "stage",
            "closed_on",
            "buyer_id",
            "amount",
            "archived_at",
            "lost_reason_id",
            "furthest_stage",
            "id",
        ],
    )
    # Cover the report's on-time counts and assignment lead times.
    op.create_index(
        "ix_deliveries_report",
        "deliveries",
        ["tenant_id", "original_due_on", "order_id", "status", "delivered_on", "revised_due_on"],
    )
    op.create_index(
        "ix_orders_report",
        "orders",
        ["tenant_id", "confirmed_on", "assigned_on", "status", "archived_at"],
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.enable(table):
                op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.disable(table):
                op.execute(statement)
    op.drop_index("ix_orders_report", table_name="orders")
    op.drop_index("ix_deliveries_report", table_name="deliveries")
    op.drop_index("ix_deals_report", table_name="deals")
    op.drop_index("ix_orders_tenant_buyer_confirmed", table_name="orders")
    op.create_index("ix_orders_tenant_buyer", "orders", ["tenant_id", "buyer_id"])
    for table in reversed(TABLES):
        op.drop_table(table)
