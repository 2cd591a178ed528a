"""quality and files

Revision ID: 0005
Revises: 0006
Create Date: 2026-11-21

Stored files (metadata; the bytes are in the storage backend), quality plans and inspection
items, lot works, inspections with values and photos, nonconformances with actions and
evidence, technical support requests, versioned manuals with acknowledgements and notices.
Every new table is tenant-owned: composite keys and row-level security. Agreements gain two
service-scope columns.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0005"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table of this revision belongs to a workspace.
TABLES = (
    "inspection_items",
    "inspection_photos",
    "inspection_values",
    "inspections",
    "lot_works",
    "manual_acknowledgements",
    "manual_notices",
    "manual_versions",
    "manuals",
    "nonconformance_actions",
    "nonconformance_files",
    "nonconformances",
    "quality_plans",
    "stored_files",
    "support_requests",
)


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("preview_key", sa.String(length=200), nullable=True),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_stored_files_size_non_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_stored_files_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_user_id"],
            ["users.id"],
            name=op.f("fk_stored_files_uploaded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_stored_files")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_stored_files_tenant_id_key")),
    )
    op.create_table(
        "manuals",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "manual",
                "regulation",
                "faq",
                name="manualkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_manuals_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_manuals_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_manuals")),
    )
    with op.batch_alter_table("manuals", schema=None) as batch_op:
        batch_op.create_index("ix_manuals_order", ["tenant_id", "order_id"], unique=False)

    op.create_table(
        "quality_plans",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column(
            "sampling_mode",
            sa.Enum(
                "iso2859",
                "full",
                name="samplingmode",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("inspection_level", sa.String(length=3), nullable=False),
        sa.Column("aql", sa.String(length=8), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "inspection_level IN ('I', 'II', 'III')", name=op.f("ck_quality_plans_inspection_level")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_quality_plans_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_quality_plans_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_quality_plans")),
        sa.UniqueConstraint(
            "tenant_id", "order_id", name=op.f("uq_quality_plans_tenant_id_order_id")
        ),
    )
    op.create_table(
        "inspection_items",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "check",
                "measure",
                name="itemkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("nominal", sa.Float(), nullable=True),
        sa.Column("tolerance_minus", sa.Float(), nullable=True),
        sa.Column("tolerance_plus", sa.Float(), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint(
            "kind = 'check' OR nominal IS NOT NULL",
            name=op.f("ck_inspection_items_measurement_has_nominal"),
        ),
        sa.CheckConstraint(
            "(tolerance_minus IS NULL OR tolerance_minus >= 0)"
            " AND (tolerance_plus IS NULL OR tolerance_plus >= 0)",
            name=op.f("ck_inspection_items_tolerances_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "plan_id"],
            ["quality_plans.tenant_id", "quality_plans.id"],
            name=op.f("fk_inspection_items_tenant_id_plan_id_quality_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inspection_items_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_inspection_items")),
    )
    with op.batch_alter_table("inspection_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspection_items_plan", ["tenant_id", "plan_id", "position"], unique=False
        )

    op.create_table(
        "inspections",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column(
            "stage",
            sa.Enum(
                "self",
                "central",
                name="inspectionstage",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "method",
            sa.Enum(
                "on_site",
                "remote_photo",
                name="inspectionmethod",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("inspector", sa.String(length=100), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("reworked", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column(
            "result",
            sa.Enum(
                "pending",
                "accepted",
                "partial",
                "rejected",
                name="inspectionresult",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("accepted_quantity", sa.Integer(), nullable=True),
        sa.Column("plan_code_letter", sa.String(length=2), nullable=False),
        sa.Column("plan_sample_size", sa.Integer(), nullable=True),
        sa.Column("plan_accept", sa.Integer(), nullable=True),
        sa.Column("plan_reject", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "accepted_quantity IS NULL OR (accepted_quantity >= 0"
            " AND accepted_quantity <= quantity)",
            name=op.f("ck_inspections_accepted_within_quantity"),
        ),
        sa.CheckConstraint(
            "passed + reworked + failed = sample_size", name=op.f("ck_inspections_counts_add_up")
        ),
        sa.CheckConstraint(
            "passed >= 0 AND reworked >= 0 AND failed >= 0",
            name=op.f("ck_inspections_counts_non_negative"),
        ),
        sa.CheckConstraint(
            "sample_size <= quantity", name=op.f("ck_inspections_sample_within_quantity")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["users.id"],
            name=op.f("fk_inspections_recorded_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["deliveries.tenant_id", "deliveries.id"],
            name=op.f("fk_inspections_tenant_id_delivery_id_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "facility_id"],
            ["facilities.tenant_id", "facilities.id"],
            name=op.f("fk_inspections_tenant_id_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inspections_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_inspections")),
    )
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.create_index("ix_inspections_delivery", ["tenant_id", "delivery_id"], unique=False)
        batch_op.create_index(
            "ix_inspections_facility", ["tenant_id", "facility_id", "inspected_on"], unique=False
        )

    op.create_table(
        "manual_versions",
        sa.Column("manual_id", sa.Integer(), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_user_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint("version_no >= 1", name=op.f("ck_manual_versions_version_positive")),
        sa.ForeignKeyConstraint(
            ["published_by_user_id"],
            ["users.id"],
            name=op.f("fk_manual_versions_published_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "file_id"],
            ["stored_files.tenant_id", "stored_files.id"],
            name=op.f("fk_manual_versions_tenant_id_file_id_stored_files"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "manual_id"],
            ["manuals.tenant_id", "manuals.id"],
            name=op.f("fk_manual_versions_tenant_id_manual_id_manuals"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_manual_versions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_manual_versions")),
        sa.UniqueConstraint(
            "tenant_id",
            "manual_id",
            "version_no",
            name=op.f("uq_manual_versions_tenant_id_manual_id_version_no"),
        ),
    )
    op.create_table(
        "inspection_photos",
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "file_id"],
            ["stored_files.tenant_id", "stored_files.id"],
            name=op.f("fk_inspection_photos_tenant_id_file_id_stored_files"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "inspection_id"],
            ["inspections.tenant_id", "inspections.id"],
            name=op.f("fk_inspection_photos_tenant_id_inspection_id_inspections"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inspection_photos_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_inspection_photos")),
    )
    with op.batch_alter_table("inspection_photos", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspection_photos_inspection", ["tenant_id", "inspection_id"], unique=False
        )

    op.create_table(
        "inspection_values",
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("sample_no", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "inspection_id"],
            ["inspections.tenant_id", "inspections.id"],
            name=op.f("fk_inspection_values_tenant_id_inspection_id_inspections"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "item_id"],
            ["inspection_items.tenant_id", "inspection_items.id"],
            name=op.f("fk_inspection_values_tenant_id_item_id_inspection_items"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inspection_values_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_inspection_values")),
    )
    with op.batch_alter_table("inspection_values", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspection_values_inspection", ["tenant_id", "inspection_id"], unique=False
        )

    op.create_table(
        "lot_works",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("lead_person", sa.String(length=100), nullable=False),
        sa.Column("workers", sa.Integer(), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("finished_on", sa.Date(), nullable=True),
        sa.Column("manual_version_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_lot_works_quantity_non_negative")),
        sa.CheckConstraint(
            "workers IS NULL OR workers >= 0", name=op.f("ck_lot_works_workers_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["deliveries.tenant_id", "deliveries.id"],
            name=op.f("fk_lot_works_tenant_id_delivery_id_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "facility_id"],
            ["facilities.tenant_id", "facilities.id"],
            name=op.f("fk_lot_works_tenant_id_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "manual_version_id"],
            ["manual_versions.tenant_id", "manual_versions.id"],
            name=op.f("fk_lot_works_tenant_id_manual_version_id_manual_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_lot_works_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_lot_works")),
        sa.UniqueConstraint(
            "tenant_id",
            "delivery_id",
            "facility_id",
            name=op.f("uq_lot_works_tenant_id_delivery_id_facility_id"),
        ),
    )
    with op.batch_alter_table("lot_works", schema=None) as batch_op:
        batch_op.create_index("ix_lot_works_facility", ["tenant_id", "facility_id"], unique=False)

    op.create_table(
        "manual_acknowledgements",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "facility_id"],
            ["facilities.tenant_id", "facilities.id"],
            name=op.f("fk_manual_acknowledgements_tenant_id_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["manual_versions.tenant_id", "manual_versions.id"],
            name=op.f("fk_manual_acknowledgements_tenant_id_version_id_manual_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_manual_acknowledgements_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_manual_acknowledgements")),
        sa.UniqueConstraint(
            "tenant_id",
            "version_id",
            "facility_id",
            name=op.f("uq_manual_acknowledgements_tenant_id_version_id_facility_id"),
        ),
    )
    op.create_table(
        "manual_notices",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "facility_id"],
            ["facilities.tenant_id", "facilities.id"],
            name=op.f("fk_manual_notices_tenant_id_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["manual_versions.tenant_id", "manual_versions.id"],
            name=op.f("fk_manual_notices_tenant_id_version_id_manual_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_manual_notices_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_manual_notices")),
        sa.UniqueConstraint(
            "tenant_id",
            "version_id",
            "facility_id",
            name=op.f("uq_manual_notices_tenant_id_version_id_facility_id"),
        ),
    )
    with op.batch_alter_table("manual_notices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_manual_notices_facility", ["tenant_id", "facility_id", "seen_at"], unique=False
        )

    op.create_table(
        "nonconformances",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "internal",
                "buyer",
                name="nonconformancesource",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum(
                "critical",
                "major",
                "minor",
                name="severity",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity_affected", sa.Integer(), nullable=True),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "investigating",
                "acting",
                "verifying",
                "closed",
                name="nonconformancestatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closure_note", sa.Text(), nullable=False),
        sa.Column("raised_by_user_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status <> 'closed' OR closed_on IS NOT NULL",
            name=op.f("ck_nonconformances_closed_has_date"),
        ),
        sa.CheckConstraint(
            "quantity_affected IS NULL OR quantity_affected >= 0",
            name=op.f("ck_nonconformances_quantity_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_user_id"],
            ["users.id"],
            name=op.f("fk_nonconformances_raised_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["deliveries.tenant_id", "deliveries.id"],
            name=op.f("fk_nonconformances_tenant_id_delivery_id_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "facility_id"],
            ["facilities.tenant_id", "facilities.id"],
            name=op.f("fk_nonconformances_tenant_id_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "inspection_id"],
            ["inspections.tenant_id", "inspections.id"],
            name=op.f("fk_nonconformances_tenant_id_inspection_id_inspections"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_nonconformances_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_nonconformances")),
    )
    with op.batch_alter_table("nonconformances", schema=None) as batch_op:
        batch_op.create_index(
            "ix_nonconformances_delivery", ["tenant_id", "delivery_id"], unique=False
        )
        batch_op.create_index(
            "ix_nonconformances_facility", ["tenant_id", "facility_id", "found_on"], unique=False
        )
        batch_op.create_index(
            "ix_nonconformances_status", ["tenant_id", "status", "found_on"], unique=False
        )

    op.create_table(
        "nonconformance_actions",
        sa.Column("nonconformance_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "corrective",
                "preventive",
                name="actionkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "nonconformance_id"],
            ["nonconformances.tenant_id", "nonconformances.id"],
            name=op.f("fk_nonconformance_actions_tenant_id_nonconformance_id_nonconformances"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_nonconformance_actions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_nonconformance_actions")),
    )
    with op.batch_alter_table("nonconformance_actions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_nonconformance_actions_nc", ["tenant_id", "nonconformance_id"], unique=False
        )

    op.create_table(
        "nonconformance_files",
        sa.Column("nonconformance_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "file_id"],
            ["stored_files.tenant_id", "stored_files.id"],
            name=op.f("fk_nonconformance_files_tenant_id_file_id_stored_files"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "nonconformance_id"],
            ["nonconformances.tenant_id", "nonconformances.id"],
            name=op.f("fk_nonconformance_files_tenant_id_nonconformance_id_nonconformances"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_nonconformance_files_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_nonconformance_files")),
    )
    with op.batch_alter_table("nonconformance_files", schema=None) as batch_op:
        batch_op.create_index(
            "ix_nonconformance_files_nc", ["tenant_id", "nonconformance_id"], unique=False
        )

    op.create_table(
        "support_requests",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=True),
        sa.Column("nonconformance_id", sa.Integer(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "remote",
                "onsite",
                name="supportmode",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("remote_tried", sa.Boolean(), nullable=False),
        sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "promised",
                "done",
                "declined",
                name="supportstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "verdict",
            sa.Enum(
                "in_scope",
                "paid",
                "out_of_scope",
                "no_terms",
                name="scopeverdict",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("fee_yen", sa.Integer(), nullable=True),
        sa.Column("uses_free_visit", sa.Boolean(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=True),
        sa.Column("exception_note", sa.Text(), nullable=False),
        sa.Column("promised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visit_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fee_yen IS NULL OR fee_yen >= 0", name=op.f("ck_support_requests_fee_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "agreement_id"],
            ["agreements.tenant_id", "agreements.id"],
            name=op.f("fk_support_requests_tenant_id_agreement_id_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "facility_id"],
            ["facilities.tenant_id", "facilities.id"],
            name=op.f("fk_support_requests_tenant_id_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "nonconformance_id"],
            ["nonconformances.tenant_id", "nonconformances.id"],
            name=op.f("fk_support_requests_tenant_id_nonconformance_id_nonconformances"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_support_requests_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_support_requests_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_support_requests")),
    )
    with op.batch_alter_table("support_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_support_requests_status", ["tenant_id", "status", "requested_at"], unique=False
        )
        batch_op.create_index(
            "ix_support_requests_visits", ["tenant_id", "agreement_id", "fiscal_year"], unique=False
        )

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("onsite_support_included", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("support_scope_notes", sa.Text(), server_default="", nullable=False)
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
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("support_scope_notes")
        batch_op.drop_column("onsite_support_included")

    with op.batch_alter_table("support_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_support_requests_visits")
        batch_op.drop_index("ix_support_requests_status")

    op.drop_table("support_requests")
    with op.batch_alter_table("nonconformance_files", schema=None) as batch_op:
        batch_op.drop_index("ix_nonconformance_files_nc")

    op.drop_table("nonconformance_files")
    with op.batch_alter_table("nonconformance_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_nonconformance_actions_nc")

    op.drop_table("nonconformance_actions")
    with op.batch_alter_table("nonconformances", schema=None) as batch_op:
        batch_op.drop_index("ix_nonconformances_status")
        batch_op.drop_index("ix_nonconformances_facility")
        batch_op.drop_index("ix_nonconformances_delivery")

    op.drop_table("nonconformances")
    with op.batch_alter_table("manual_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_manual_notices_facility")

    op.drop_table("manual_notices")
    op.drop_table("manual_acknowledgements")
    with op.batch_alter_table("lot_works", schema=None) as batch_op:
        batch_op.drop_index("ix_lot_works_facility")

    op.drop_table("lot_works")
    with op.batch_alter_table("inspection_values", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_values_inspection")

    op.drop_table("inspection_values")
    with op.batch_alter_table("inspection_photos", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_photos_inspection")

    op.drop_table("inspection_photos")
    op.drop_table("manual_versions")
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_index("ix_inspections_facility")
        batch_op.drop_index("ix_inspections_delivery")

    op.drop_table("inspections")
    with op.batch_alter_table("inspection_items", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_items_plan")

    op.drop_table("inspection_items")
    op.drop_table("quality_plans")
    with op.batch_alter_table("manuals", schema=None) as batch_op:
        batch_op.drop_index("ix_manuals_order")

    op.drop_table("manuals")
    op.drop_table("stored_files")
