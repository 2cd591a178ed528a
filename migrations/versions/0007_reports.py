"""reports

Revision ID: 0007
Revises: 0009
Create Date: 2026-11-21

What the fiscal-year report needs beyond the records: covering indexes for its monthly sums
of order amounts and assigned work, the furthest stage a deal reached
(conversion rate, win rate by stage), buyers that are the municipality itself (優先調達
figures), and a municipal workspace's consent to show its aggregate KPI figures to its
prefecture's workspace.

On PostgreSQL it also creates the only cross-workspace read of the product: two SECURITY
DEFINER functions. ``region_visible_tenants()`` says which workspaces the transaction's
workspace and person may see in a roll-up (today: a prefecture workspace's staff see the
municipal workspaces of the same prefecture that share with it); ``region_kpi_components``
returns, for such workspaces only, the additive parts of the headline KPIs — sums and counts
per workspace, never a row. Row-level security on the tables is unchanged: the app role still
reads only the rows of its own workspace. Keep the SQL in step with ``app/reports/kpi.py``
(a test compares both on the seed's figures).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_STAGES = "'lead', 'hearing', 'trial', 'quote'"

VISIBLE_TENANTS = """
CREATE FUNCTION region_visible_tenants()
RETURNS TABLE (tenant_id integer)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
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
$$
"""

KPI_COMPONENTS = """
CREATE FUNCTION region_kpi_components(
    p_tenant_ids integer[], p_fiscal_year integer, p_arr_month date
)
RETURNS TABLE (
    tenant_id integer,
    lead_customers bigint,
    deal_amount bigint,
    won_amount bigint,
    lost_amount bigint,
    open_amount bigint,
    ordering_customers bigint,
    order_total bigint,
    arr_month_total bigint,
    participating bigint,
    active bigint,
    wage_uplift_sum bigint,
    wage_workers bigint
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_start date := make_date(p_fiscal_year, 4, 1);
    v_end date := make_date(p_fiscal_year + 1, 3, 31);
BEGIN
    IF EXISTS (
        SELECT unnest(p_tenant_ids)
        EXCEPT
        SELECT visible.tenant_id FROM region_visible_tenants() AS visible
    ) THEN
        RAISE EXCEPTION 'region roll-up: a workspace that is not visible was asked for'
            USING ERRCODE = '42501';
    END IF;
    RETURN QUERY
    WITH ids AS (
        SELECT DISTINCT unnest(p_tenant_ids) AS tenant_id
    ),
    deal_rows AS (
        SELECT d.tenant_id, d.buyer_id, d.amount::bigint AS amount, d.stage,
               CASE WHEN d.stage IN ('won', 'lost')
                    THEN COALESCE(d.closed_on, d.opened_on) END AS closed
        FROM deals AS d JOIN ids ON ids.tenant_id = d.tenant_id
        WHERE d.archived_at IS NULL AND d.opened_on <= v_end
    ),
    deal_figures AS (
        SELECT c.tenant_id,
               COUNT(DISTINCT c.buyer_id) AS lead_customers,
               SUM(c.amount) AS deal_amount,
               SUM(c.amount) FILTER (WHERE c.stage = 'won' AND c.closed <= v_end) AS won_amount,
               SUM(c.amount) FILTER (WHERE c.stage = 'lost' AND c.closed <= v_end)
                   AS lost_amount,
               SUM(c.amount) FILTER (WHERE c.closed IS NULL OR c.closed > v_end) AS open_amount
        FROM deal_rows AS c
        WHERE c.closed IS NULL OR c.closed >= v_start
        GROUP BY c.tenant_id
    ),
    month_rows AS (
        SELECT om.tenant_id, o.buyer_id, om.month, om.actual_amount::bigint AS actual
        FROM order_months AS om
        JOIN orders AS o ON o.tenant_id = om.tenant_id AND o.id = om.order_id
        JOIN ids ON ids.tenant_id = om.tenant_id
        WHERE o.archived_at IS NULL
          AND om.actual_amount IS NOT NULL
          AND om.month BETWEEN v_start AND v_end
    ),
    order_figures AS (
        SELECT m.tenant_id,
               COUNT(DISTINCT m.buyer_id) FILTER (WHERE m.actual > 0) AS ordering_customers,
               SUM(m.actual) AS order_total,
               SUM(m.actual) FILTER (WHERE m.month = p_arr_month) AS arr_month_total
        FROM month_rows AS m
        GROUP BY m.tenant_id
    ),
    participating AS (
        SELECT f.tenant_id, f.id, f.workers
        FROM facilities AS f JOIN ids ON ids.tenant_id = f.tenant_id
        WHERE f.archived_at IS NULL
          AND f.status <> 'left'
          AND COALESCE(f.participating_since, (f.created_at AT TIME ZONE 'Asia/Tokyo')::date)
              <= v_end
    ),
    facility_figures AS (
        SELECT p.tenant_id,
               COUNT(*) AS participating,
               COUNT(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM assignments AS a
                   WHERE a.tenant_id = p.tenant_id AND a.facility_id = p.id
                     AND a.month BETWEEN v_start AND v_end
               )) AS active
        FROM participating AS p
        GROUP BY p.tenant_id
    ),
    wage_figures AS (
        SELECT p.tenant_id,
               SUM((cur.avg_monthly_wage - prev.avg_monthly_wage)::bigint * 12
                   * COALESCE(cur.workers, p.workers)) AS wage_uplift_sum,
               SUM(COALESCE(cur.workers, p.workers)) AS wage_workers
        FROM participating AS p
        JOIN facility_wages AS cur
          ON cur.tenant_id = p.tenant_id AND cur.facility_id = p.id
         AND cur.fiscal_year = p_fiscal_year
        JOIN facility_wages AS prev
          ON prev.tenant_id = p.tenant_id AND prev.facility_id = p.id
         AND prev.fiscal_year = p_fiscal_year - 1
        WHERE COALESCE(cur.workers, p.workers) > 0
        GROUP BY p.tenant_id
    )
    SELECT ids.tenant_id,
           COALESCE(df.lead_customers, 0)::bigint,
           COALESCE(df.deal_amount, 0)::bigint,
           COALESCE(df.won_amount, 0)::bigint,
           COALESCE(df.lost_amount, 0)::bigint,
           COALESCE(df.open_amount, 0)::bigint,
           COALESCE(ofig.ordering_customers, 0)::bigint,
           COALESCE(ofig.order_total, 0)::bigint,
           CASE WHEN p_arr_month IS NULL THEN NULL
                ELSE COALESCE(ofig.arr_month_total, 0)::bigint END,
           COALESCE(ff.participating, 0)::bigint,
           COALESCE(ff.active, 0)::bigint,
           COALESCE(wf.wage_uplift_sum, 0)::bigint,
           COALESCE(wf.wage_workers, 0)::bigint
    FROM ids
    LEFT JOIN deal_figures AS df ON df.tenant_id = ids.tenant_id
    LEFT JOIN order_figures AS ofig ON ofig.tenant_id = ids.tenant_id
    LEFT JOIN facility_figures AS ff ON ff.tenant_id = ids.tenant_id
    LEFT JOIN wage_figures AS wf ON wf.tenant_id = ids.tenant_id
    ORDER BY ids.tenant_id;
END
$$
"""

FUNCTIONS = (
    "region_kpi_components(integer[], integer, date)",
    "region_visible_tenants()",
)


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shares_with_prefecture", sa.Boolean(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_municipality", sa.Boolean(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "furthest_stage",
                sa.Enum(
                    "lead",
                    "hearing",
                    "trial",
                    "quote",
                    "won",
                    "lost",
                    name="deal_furthest_stage",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=True,
            )
        )
    with op.batch_alter_table("order_months", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_months_report",
            ["tenant_id", "month", "order_id", "actual_amount", "forecast_amount"],
            unique=False,
        )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assignments_report",
            ["tenant_id", "month", "facility_id", "order_id", "hours", "quantity"],
            unique=False,
        )
    # Open deals have reached at least the stage they are at; closed ones are not known.
    op.execute(f"UPDATE deals SET furthest_stage = stage WHERE stage IN ({OPEN_STAGES})")  # noqa: S608

    if op.get_bind().dialect.name == "postgresql":
        # Executable by any role (PostgreSQL's default), the app role included: each call
        # checks the transaction's workspace and person itself.
        op.execute(VISIBLE_TENANTS)
        op.execute(KPI_COMPONENTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function in FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_assignments_report")
    with op.batch_alter_table("order_months", schema=None) as batch_op:
        batch_op.drop_index("ix_order_months_report")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_deals_deal_furthest_stage"), type_="check")
        batch_op.drop_column("furthest_stage")
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.drop_column("is_municipality")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("shares_with_prefecture")
