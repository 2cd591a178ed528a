"""core records

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Facilities, buyers, agreements, deals, orders, forecasts, timelines and the workspace's
catalogues. Every table is tenant-owned: composite keys and row-level security.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table of this revision belongs to a workspace.
TABLES = (
    "action_items",
    "agreement_goals",
    "agreements",
    "buyers",
    "capabilities",
    "deal_capabilities",
    "deals",
    "deliveries",
    "difficulty_levels",
    "facilities",
    "facility_capabilities",
    "facility_wages",
    "lost_reasons",
    "order_months",
    "orders",
    "plan_goals",
    "timeline_entries",
)


def upgrade() -> None:
    op.create_table(
        "buyers",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_kana", sa.String(length=120), nullable=False),
        sa.Column("industry", sa.String(length=60), nullable=False),
        sa.Column("postal_code", sa.String(length=8), nullable=False),
        sa.Column("prefecture_code", sa.String(length=2), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("website", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_phone", sa.String(length=30), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_buyers_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_buyers")),
    )
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.create_index("ix_buyers_tenant_name", ["tenant_id", "name"], unique=False)

    op.create_table(
        "capabilities",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_capabilities_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_capabilities")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_capabilities_tenant_id_name")),
    )
    op.create_table(
        "difficulty_levels",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint("level BETWEEN 1 AND 10", name=op.f("ck_difficulty_levels_level_range")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_difficulty_levels_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_difficulty_levels")),
        sa.UniqueConstraint(
            "tenant_id", "level", name=op.f("uq_difficulty_levels_tenant_id_level")
        ),
    )
    op.create_table(
        "facilities",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "type_a",
                "type_b",
                "life_care",
                "manufacturer",
                "other",
                name="facilitykind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "participating",
                "paused",
                "left",
                name="facilitystatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("postal_code", sa.String(length=8), nullable=False),
        sa.Column("prefecture_code", sa.String(length=2), nullable=False),
        sa.Column("municipality", sa.String(length=60), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_phone", sa.String(length=30), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("equipment", sa.Text(), nullable=False),
        sa.Column("certifications", sa.Text(), nullable=False),
        sa.Column("max_difficulty", sa.Integer(), nullable=True),
        sa.Column("workers", sa.Integer(), nullable=False),
        sa.Column("hours_per_month", sa.Integer(), nullable=False),
        sa.Column("pc_experience", sa.Boolean(), nullable=False),
        sa.Column("avg_monthly_wage", sa.Integer(), nullable=False),
        sa.Column("participating_since", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("avg_monthly_wage >= 0", name=op.f("ck_facilities_wage_non_negative")),
        sa.CheckConstraint("hours_per_month >= 0", name=op.f("ck_facilities_hours_non_negative")),
        sa.CheckConstraint("workers >= 0", name=op.f("ck_facilities_workers_non_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_facilities_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_facilities")),
    )
    with op.batch_alter_table("facilities", schema=None) as batch_op:
        batch_op.create_index("ix_facilities_tenant_name", ["tenant_id", "name"], unique=False)

    op.create_table(
        "lost_reasons",
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_lost_reasons_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_lost_reasons")),
        sa.UniqueConstraint("tenant_id", "label", name=op.f("uq_lost_reasons_tenant_id_label")),
    )
    op.create_table(
        "plan_goals",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_plan_goals_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_plan_goals")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_plan_goals_tenant_id_code")),
    )
    op.create_table(
        "agreements",
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "comprehensive",
                "outsourcing",
                "individual",
                name="agreementkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("fields_of_collaboration", sa.Text(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("renewal_on", sa.Date(), nullable=True),
        sa.Column("remind_days_before_renewal", sa.Integer(), nullable=False),
        sa.Column("price_review_at_renewal", sa.Boolean(), nullable=False),
        sa.Column("remote_support_first", sa.Boolean(), nullable=True),
        sa.Column("free_onsite_visits_per_year", sa.Integer(), nullable=True),
        sa.Column("onsite_rate_yen", sa.Integer(), nullable=True),
        sa.Column("response_time_hours", sa.Integer(), nullable=True),
        sa.Column("inspection_level", sa.String(length=100), nullable=False),
        sa.Column("acceptance_criteria", sa.Text(), nullable=False),
        sa.Column("minimum_commitment_months", sa.Integer(), nullable=True),
        sa.Column("forecast_deadline_day", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "forecast_deadline_day IS NULL OR forecast_deadline_day BETWEEN 1 AND 28",
            name=op.f("ck_agreements_forecast_deadline_day_range"),
        ),
        sa.CheckConstraint(
            "free_onsite_visits_per_year >= 0", name=op.f("ck_agreements_free_visits_non_negative")
        ),
        sa.CheckConstraint(
            "onsite_rate_yen >= 0", name=op.f("ck_agreements_onsite_rate_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "buyer_id"],
            ["buyers.tenant_id", "buyers.id"],
            name=op.f("fk_agreements_tenant_id_buyer_id_buyers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_agreements_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_agreements")),
    )
    op.create_table(
        "deals",
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "stage",
            sa.Enum(
                "lead",
                "hearing",
                "trial",
                "quote",
                "won",
                "lost",
                name="dealstage",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("recurring", sa.Boolean(), nullable=False),
        sa.Column("monthly_amount", sa.Integer(), nullable=True),
        sa.Column("expected_months", sa.Integer(), nullable=True),
        sa.Column("difficulty_level", sa.Integer(), nullable=True),
        sa.Column("volume", sa.String(length=100), nullable=False),
        sa.Column(
            "pricing_basis",
            sa.Enum(
                "hourly",
                "per_piece",
                name="pricingbasis",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("next_action", sa.String(length=200), nullable=False),
        sa.Column("next_action_on", sa.Date(), nullable=True),
        sa.Column("lost_reason_id", sa.Integer(), nullable=True),
        sa.Column("lost_comment", sa.Text(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_deals_amount_non_negative")),
        sa.CheckConstraint(
            "expected_months >= 0", name=op.f("ck_deals_expected_months_non_negative")
        ),
        sa.CheckConstraint(
            "monthly_amount >= 0", name=op.f("ck_deals_monthly_amount_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "buyer_id"],
            ["buyers.tenant_id", "buyers.id"],
            name=op.f("fk_deals_tenant_id_buyer_id_buyers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lost_reason_id"],
            ["lost_reasons.tenant_id", "lost_reasons.id"],
            name=op.f("fk_deals_tenant_id_lost_reason_id_lost_reasons"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_deals_tenant_id_owner_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_deals_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_deals")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index("ix_deals_tenant_buyer", ["tenant_id", "buyer_id"], unique=False)
        batch_op.create_index(
            "ix_deals_tenant_opened", ["tenant_id", "opened_on", "id"], unique=False
        )
        batch_op.create_index("ix_deals_tenant_stage", ["tenant_id", "stage"], unique=False)

    op.create_table(
        "facility_capabilities",
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("capability_id", sa.Integer(), nullable=False),
        sa.Column("proficiency", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint(
            "proficiency BETWEEN 1 AND 3", name=op.f("ck_facility_capabilities_proficiency_range")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "capability_id"],
            ["capabilities.tenant_id", "capabilities.id"],
            name=op.f("fk_facility_capabilities_tenant_id_capability_id_capabilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "facility_id"],
            ["facilities.tenant_id", "facilities.id"],
            name=op.f("fk_facility_capabilities_tenant_id_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_facility_capabilities_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_facility_capabilities")),
        sa.UniqueConstraint(
            "tenant_id",
            "facility_id",
            "capability_id",
            name=op.f("uq_facility_capabilities_tenant_id_facility_id_capability_id"),
        ),
    )
    op.create_table(
        "facility_wages",
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("avg_monthly_wage", sa.Integer(), nullable=False),
        sa.Column("workers", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint(
            "avg_monthly_wage >= 0", name=op.f("ck_facility_wages_wage_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "facility_id"],
            ["facilities.tenant_id", "facilities.id"],
            name=op.f("fk_facility_wages_tenant_id_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_facility_wages_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_facility_wages")),
        sa.UniqueConstraint(
            "tenant_id",
            "facility_id",
            "fiscal_year",
            name=op.f("uq_facility_wages_tenant_id_facility_id_fiscal_year"),
        ),
    )
    op.create_table(
        "action_items",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_progress",
                "done",
                "on_hold",
                name="actionstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("kpi", sa.String(length=200), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "progress BETWEEN 0 AND 100", name=op.f("ck_action_items_progress_range")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "agreement_id"],
            ["agreements.tenant_id", "agreements.id"],
            name=op.f("fk_action_items_tenant_id_agreement_id_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_action_items_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_action_items")),
    )
    op.create_table(
        "agreement_goals",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "agreement_id"],
            ["agreements.tenant_id", "agreements.id"],
            name=op.f("fk_agreement_goals_tenant_id_agreement_id_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "goal_id"],
            ["plan_goals.tenant_id", "plan_goals.id"],
            name=op.f("fk_agreement_goals_tenant_id_goal_id_plan_goals"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_agreement_goals_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_agreement_goals")),
        sa.UniqueConstraint(
            "tenant_id",
            "agreement_id",
            "goal_id",
            name=op.f("uq_agreement_goals_tenant_id_agreement_id_goal_id"),
        ),
    )
    op.create_table(
        "deal_capabilities",
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("capability_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "capability_id"],
            ["capabilities.tenant_id", "capabilities.id"],
            name=op.f("fk_deal_capabilities_tenant_id_capability_id_capabilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "deal_id"],
            ["deals.tenant_id", "deals.id"],
            name=op.f("fk_deal_capabilities_tenant_id_deal_id_deals"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_deal_capabilities_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_deal_capabilities")),
        sa.UniqueConstraint(
            "tenant_id",
            "deal_id",
            "capability_id",
            name=op.f("uq_deal_capabilities_tenant_id_deal_id_capability_id"),
        ),
    )
    op.create_table(
        "orders",
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("agreement_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "confirmed",
                "in_progress",
                "delivered",
                "closed",
                "cancelled",
                name="orderstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("confirmed_on", sa.Date(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "agreement_id"],
            ["agreements.tenant_id", "agreements.id"],
            name=op.f("fk_orders_tenant_id_agreement_id_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "buyer_id"],
            ["buyers.tenant_id", "buyers.id"],
            name=op.f("fk_orders_tenant_id_buyer_id_buyers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "deal_id"],
            ["deals.tenant_id", "deals.id"],
            name=op.f("fk_orders_tenant_id_deal_id_deals"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_orders_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_orders")),
        sa.UniqueConstraint("tenant_id", "deal_id", name=op.f("uq_orders_tenant_id_deal_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_tenant_buyer", ["tenant_id", "buyer_id"], unique=False)
        batch_op.create_index("ix_orders_tenant_status", ["tenant_id", "status"], unique=False)
        batch_op.create_index(
            "ix_orders_tenant_confirmed", ["tenant_id", "confirmed_on", "id"], unique=False
        )

    op.create_table(
        "deliveries",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("lot_no", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("original_due_on", sa.Date(), nullable=False),
        sa.Column("revised_due_on", sa.Date(), nullable=True),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_production",
                "delivered",
                "accepted",
                "rejected",
                name="deliverystatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_deliveries_quantity_non_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_deliveries_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_deliveries_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "tenant_id", "order_id", "lot_no", name=op.f("uq_deliveries_tenant_id_order_id_lot_no")
        ),
    )
    op.create_table(
        "order_months",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("forecast_amount", sa.Integer(), nullable=True),
        sa.Column("forecast_submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_amount", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint("actual_amount >= 0", name=op.f("ck_order_months_actual_non_negative")),
        sa.CheckConstraint(
            "forecast_amount >= 0", name=op.f("ck_order_months_forecast_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_order_months_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_order_months_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_order_months")),
        sa.UniqueConstraint(
            "tenant_id", "order_id", "month", name=op.f("uq_order_months_tenant_id_order_id_month")
        ),
    )
    with op.batch_alter_table("order_months", schema=None) as batch_op:
        batch_op.create_index("ix_order_months_tenant_month", ["tenant_id", "month"], unique=False)

    op.create_table(
        "timeline_entries",
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "note",
                "decision",
                "change",
                name="entrykind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint(
            "(deal_id IS NULL) <> (order_id IS NULL)",
            name=op.f("ck_timeline_entries_exactly_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"], ["users.id"], name=op.f("fk_timeline_entries_author_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "deal_id"],
            ["deals.tenant_id", "deals.id"],
            name=op.f("fk_timeline_entries_tenant_id_deal_id_deals"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_timeline_entries_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_timeline_entries_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_timeline_entries")),
    )
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.create_index("ix_timeline_deal", ["tenant_id", "deal_id", "at"], unique=False)
        batch_op.create_index("ix_timeline_order", ["tenant_id", "order_id", "at"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.enable(table):
                op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.disable(table):
                op.execute(statement)
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_order")
        batch_op.drop_index("ix_timeline_deal")

    op.drop_table("timeline_entries")
    with op.batch_alter_table("order_months", schema=None) as batch_op:
        batch_op.drop_index("ix_order_months_tenant_month")

    op.drop_table("order_months")
    op.drop_table("deliveries")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_tenant_status")
        batch_op.drop_index("ix_orders_tenant_confirmed")
        batch_op.drop_index("ix_orders_tenant_buyer")

    op.drop_table("orders")
    op.drop_table("deal_capabilities")
    op.drop_table("agreement_goals")
    op.drop_table("action_items")
    op.drop_table("facility_wages")
    op.drop_table("facility_capabilities")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_tenant_stage")
        batch_op.drop_index("ix_deals_tenant_buyer")
        batch_op.drop_index("ix_deals_tenant_opened")

    op.drop_table("deals")
    op.drop_table("agreements")
    op.drop_table("plan_goals")
    op.drop_table("lost_reasons")
    with op.batch_alter_table("facilities", schema=None) as batch_op:
        batch_op.drop_index("ix_facilities_tenant_name")

    op.drop_table("facilities")
    op.drop_table("difficulty_levels")
    op.drop_table("capabilities")
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.drop_index("ix_buyers_tenant_name")

    op.drop_table("buyers")
