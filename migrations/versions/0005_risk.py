"""issue 6: risk register, policy changes, compliance

Policy-change register (linked to markets and SKUs), compliance checklist, and two summary
tables the risk page reads instead of raw rows: suspicious payments (scored fraud rules) and
daily order defects (the inputs of the order defect rate).

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("authority", sa.String(length=80), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("service_code", sa.String(length=30), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("policy_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_changes_effective_on"), ["effective_on"], unique=False)

    op.create_table(
        "policy_change_markets",
        sa.Column("policy_change_id", sa.Integer(), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(["market_code"], ["markets.code"]),
        sa.ForeignKeyConstraint(["policy_change_id"], ["policy_changes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("policy_change_id", "market_code"),
    )
    op.create_table(
        "policy_change_skus",
        sa.Column("policy_change_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["policy_change_id"], ["policy_changes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("policy_change_id", "product_id"),
    )
    op.create_table(
        "compliance_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.Column("area", sa.String(length=30), nullable=False),
        sa.Column("requirement", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=60), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["market_code"], ["markets.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("market_code", "area", "requirement"),
    )
    with op.batch_alter_table("compliance_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compliance_items_market_code"), ["market_code"], unique=False)

    op.create_table(
        "suspicious_payments",
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("attempt_date", sa.Date(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("payment_ref", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount_usd", sa.Float(), nullable=False),
        sa.Column("card_country", sa.String(length=2), nullable=True),
        sa.Column("ip_country", sa.String(length=2), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("payment_id"),
    )
    with op.batch_alter_table("suspicious_payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_suspicious_date_market", ["attempt_date", "market_code", "channel_id"], unique=False
        )

    op.create_table(
        "daily_account_health",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("negative_feedback", sa.Integer(), nullable=False),
        sa.Column("a_to_z_claims", sa.Integer(), nullable=False),
        sa.Column("chargebacks", sa.Integer(), nullable=False),
        sa.Column("defective_orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "market_code", "channel_id"),
    )


def downgrade() -> None:
    op.drop_table("daily_account_health")
    with op.batch_alter_table("suspicious_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_suspicious_date_market")
    op.drop_table("suspicious_payments")
    with op.batch_alter_table("compliance_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_items_market_code"))
    op.drop_table("compliance_items")
    op.drop_table("policy_change_skus")
    op.drop_table("policy_change_markets")
    with op.batch_alter_table("policy_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_changes_effective_on"))
    op.drop_table("policy_changes")
