"""matching

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

Work specs of orders and deals' trials, buyers' exclusions and work sites, confirmed
assignments (and the order's first assignment day), matching weights, notifications.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every new table of this revision belongs to a workspace.
TABLES = (
    "assignments",
    "buyer_exclusions",
    "matching_settings",
    "notifications",
    "work_spec_capabilities",
    "work_specs",
)


def upgrade() -> None:
    op.create_table(
        "matching_settings",
        sa.Column("distance", sa.Float(), nullable=False),
        sa.Column("quality", sa.Float(), nullable=False),
        sa.Column("wage_uplift", sa.Float(), nullable=False),
        sa.Column("idle_bonus", sa.Float(), nullable=False),
        sa.Column("concentration", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint(
            "distance >= 0 AND quality >= 0 AND wage_uplift >= 0 AND idle_bonus >= 0 "
            "AND concentration >= 0",
            name=op.f("ck_matching_settings_weights_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_matching_settings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_matching_settings")),
        sa.UniqueConstraint("tenant_id", name="uq_matching_settings_tenant"),
    )
    op.create_table(
        "buyer_exclusions",
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "buyer_id"],
            ["buyers.tenant_id", "buyers.id"],
            name=op.f("fk_buyer_exclusions_tenant_id_buyer_id_buyers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "facility_id"],
            ["facilities.tenant_id", "facilities.id"],
            name=op.f("fk_buyer_exclusions_tenant_id_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_buyer_exclusions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_buyer_exclusions")),
        sa.UniqueConstraint(
            "tenant_id",
            "buyer_id",
            "facility_id",
            name=op.f("uq_buyer_exclusions_tenant_id_buyer_id_facility_id"),
        ),
    )
    op.create_table(
        "notifications",
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("membership_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("emailed_to", sa.String(length=254), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint(
            "(facility_id IS NULL) <> (membership_id IS NULL)",
            name=op.f("ck_notifications_exactly_one_recipient"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "facility_id"],
            ["facilities.tenant_id", "facilities.id"],
            name=op.f("fk_notifications_tenant_id_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "membership_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_notifications_tenant_id_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_notifications_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_facility", ["tenant_id", "facility_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_membership",
            ["tenant_id", "membership_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "assignments",
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("score", sa.JSON(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint(
            "(order_id IS NULL) <> (deal_id IS NULL)",
            name=op.f("ck_assignments_exactly_one_subject"),
        ),
        sa.CheckConstraint("hours >= 0", name=op.f("ck_assignments_hours_non_negative")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_assignments_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "confirmed_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_assignments_tenant_id_confirmed_by_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "deal_id"],
            ["deals.tenant_id", "deals.id"],
            name=op.f("fk_assignments_tenant_id_deal_id_deals"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "facility_id"],
            ["facilities.tenant_id", "facilities.id"],
            name=op.f("fk_assignments_tenant_id_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_assignments_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_assignments_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_assignments")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index("ix_assignments_deal", ["tenant_id", "deal_id"], unique=False)
        batch_op.create_index(
            "ix_assignments_facility_month", ["tenant_id", "facility_id", "month"], unique=False
        )
        batch_op.create_index("ix_assignments_month", ["tenant_id", "month"], unique=False)
        batch_op.create_index(
            "ix_assignments_order_month", ["tenant_id", "order_id", "month"], unique=False
        )

    op.create_table(
        "work_specs",
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column(
            "unit",
            sa.Enum(
                "hours",
                "pieces",
                name="workunit",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("hours_per_unit", sa.Float(), nullable=False),
        sa.Column("difficulty_level", sa.Integer(), nullable=True),
        sa.Column("needs_pc", sa.Boolean(), nullable=False),
        sa.Column("on_site", sa.Boolean(), nullable=False),
        sa.Column("max_distance_km", sa.Integer(), nullable=True),
        sa.Column("min_lot", sa.Integer(), nullable=False),
        sa.Column("trial_month", sa.Date(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(order_id IS NULL) <> (deal_id IS NULL)",
            name=op.f("ck_work_specs_exactly_one_subject"),
        ),
        sa.CheckConstraint(
            "hours_per_unit > 0", name=op.f("ck_work_specs_hours_per_unit_positive")
        ),
        sa.CheckConstraint(
            "max_distance_km >= 0", name=op.f("ck_work_specs_max_distance_non_negative")
        ),
        sa.CheckConstraint("min_lot >= 0", name=op.f("ck_work_specs_min_lot_non_negative")),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_work_specs_quantity_non_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "deal_id"],
            ["deals.tenant_id", "deals.id"],
            name=op.f("fk_work_specs_tenant_id_deal_id_deals"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_work_specs_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_work_specs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_work_specs")),
        sa.UniqueConstraint("tenant_id", "deal_id", name=op.f("uq_work_specs_tenant_id_deal_id")),
        sa.UniqueConstraint("tenant_id", "order_id", name=op.f("uq_work_specs_tenant_id_order_id")),
    )
    op.create_table(
        "work_spec_capabilities",
        sa.Column("spec_id", sa.Integer(), nullable=False),
        sa.Column("capability_id", sa.Integer(), nullable=False),
        sa.Column("min_proficiency", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint(
            "min_proficiency BETWEEN 1 AND 3",
            name=op.f("ck_work_spec_capabilities_proficiency_range"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "capability_id"],
            ["capabilities.tenant_id", "capabilities.id"],
            name=op.f("fk_work_spec_capabilities_tenant_id_capability_id_capabilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "spec_id"],
            ["work_specs.tenant_id", "work_specs.id"],
            name=op.f("fk_work_spec_capabilities_tenant_id_spec_id_work_specs"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_work_spec_capabilities_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_work_spec_capabilities")),
        sa.UniqueConstraint(
            "tenant_id",
            "spec_id",
            "capability_id",
            name=op.f("uq_work_spec_capabilities_tenant_id_spec_id_capability_id"),
        ),
    )
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_on", sa.Date(), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.enable(table):
                op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.disable(table):
                op.execute(statement)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("assigned_on")

    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")

    op.drop_table("work_spec_capabilities")
    op.drop_table("work_specs")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_assignments_order_month")
        batch_op.drop_index("ix_assignments_month")
        batch_op.drop_index("ix_assignments_facility_month")
        batch_op.drop_index("ix_assignments_deal")

    op.drop_table("assignments")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_membership")
        batch_op.drop_index("ix_notifications_facility")

    op.drop_table("notifications")
    op.drop_table("buyer_exclusions")
    op.drop_table("matching_settings")
