"""issue 4: logistics and supply chain

Two summary tables the logistics page reads: daily_product_demand (units per day, warehouse and SKU,
for stock planning) and daily_transit (delivered shipments per whole transit day, for the distribution).

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_product_demand",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "warehouse_id", "product_id"),
    )
    with op.batch_alter_table("daily_product_demand", schema=None) as batch_op:
        batch_op.create_index("ix_daily_product_demand_product_day", ["product_id", "day"], unique=False)
    op.create_table(
        "daily_transit",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=30), nullable=False),
        sa.Column("transit_days", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "market_code", "channel_id", "carrier", "transit_days"),
    )


def downgrade() -> None:
    op.drop_table("daily_transit")
    with op.batch_alter_table("daily_product_demand", schema=None) as batch_op:
        batch_op.drop_index("ix_daily_product_demand_product_day")
    op.drop_table("daily_product_demand")
