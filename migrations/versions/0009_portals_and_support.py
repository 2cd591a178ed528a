"""portals and support

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-21

Portal members linked to one buyer company or one facility (memberships and the invitations
that create them), buyers' answers to quotes, and support staff across regions: platform-level
agents with their prefectures, and the support sessions each workspace records.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = "0009"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# New tables that belong to a workspace (support_agents and their regions are platform-level).
TENANT_TABLES = ("quote_decisions", "support_sessions")
LINKED = ("invitations", "memberships")


def upgrade() -> None:
    op.create_table(
        "support_agents",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_support_agents_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_support_agents")),
    )
    op.create_table(
        "support_agent_regions",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("prefecture_code", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["support_agents.user_id"],
            name=op.f("fk_support_agent_regions_user_id_support_agents"),
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "prefecture_code", name=op.f("pk_support_agent_regions")
        ),
    )
    op.create_table(
        "support_sessions",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by_user_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["ended_by_user_id"],
            ["users.id"],
            name=op.f("fk_support_sessions_ended_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_support_sessions_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_support_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_support_sessions")),
    )
    with op.batch_alter_table("support_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_support_sessions_user", ["tenant_id", "user_id", "expires_at"], unique=False
        )

    op.create_table(
        "quote_decisions",
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column(
            "answer",
            sa.Enum(
                "approved",
                "declined",
                name="quoteanswer",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_quote_decisions_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "deal_id"],
            ["deals.tenant_id", "deals.id"],
            name=op.f("fk_quote_decisions_tenant_id_deal_id_deals"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "membership_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_quote_decisions_tenant_id_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_quote_decisions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_quote_decisions")),
    )
    with op.batch_alter_table("quote_decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quote_decisions_deal", ["tenant_id", "deal_id", "decided_at"], unique=False
        )

    for table in LINKED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("buyer_id", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("facility_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                op.f(f"fk_{table}_tenant_id_buyer_id_buyers"),
                "buyers",
                ["tenant_id", "buyer_id"],
                ["tenant_id", "id"],
            )
            batch_op.create_foreign_key(
                op.f(f"fk_{table}_tenant_id_facility_id_facilities"),
                "facilities",
                ["tenant_id", "facility_id"],
                ["tenant_id", "id"],
            )
            batch_op.create_check_constraint(
                op.f(f"ck_{table}_buyer_link"), "(role = 'buyer') = (buyer_id IS NOT NULL)"
            )
            batch_op.create_check_constraint(
                op.f(f"ck_{table}_facility_link"),
                "(role = 'facility') = (facility_id IS NOT NULL)",
            )

    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for statement in rls.enable(table):
                op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for statement in rls.disable(table):
                op.execute(statement)

    for table in reversed(LINKED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_facility_link"), type_="check")
            batch_op.drop_constraint(op.f(f"ck_{table}_buyer_link"), type_="check")
            batch_op.drop_constraint(
                op.f(f"fk_{table}_tenant_id_facility_id_facilities"), type_="foreignkey"
            )
            batch_op.drop_constraint(
                op.f(f"fk_{table}_tenant_id_buyer_id_buyers"), type_="foreignkey"
            )
            batch_op.drop_column("facility_id")
            batch_op.drop_column("buyer_id")

    with op.batch_alter_table("quote_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_quote_decisions_deal")
    op.drop_table("quote_decisions")
    with op.batch_alter_table("support_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_support_sessions_user")
    op.drop_table("support_sessions")
    op.drop_table("support_agent_regions")
    op.drop_table("support_agents")
