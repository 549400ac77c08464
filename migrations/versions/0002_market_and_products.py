"""issue 3: market research and product selection

Our listings' ratings (product_listings) and two summary tables the market and
product-selection pages read: monthly_sku_sales and monthly_order_values.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_listings",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("review_count", sa.Integer(), nullable=False),
        sa.Column("captured_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["market_code"], ["markets.code"]),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("product_id", "market_code"),
    )
    op.create_table(
        "monthly_sku_sales",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("repeat_orders", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("sales_usd", sa.Float(), nullable=False),
        sa.Column("net_revenue_usd", sa.Float(), nullable=False),
        sa.Column("cogs_usd", sa.Float(), nullable=False),
        sa.Column("returned_units", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "product_id", "market_code", "channel_id"),
    )
    op.create_index("ix_monthly_sku_sales_product_month", "monthly_sku_sales", ["product_id", "month"])
    op.create_table(
        "monthly_order_values",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("band_usd", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("gmv_usd", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("month", "market_code", "channel_id", "band_usd"),
    )


def downgrade() -> None:
    op.drop_table("monthly_order_values")
    op.drop_index("ix_monthly_sku_sales_product_month", table_name="monthly_sku_sales")
    op.drop_table("monthly_sku_sales")
    op.drop_table("product_listings")
