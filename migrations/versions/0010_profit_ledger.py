"""issue 16: the contribution-profit ledger

Cost inputs (dated marketplace fee schedule, storage rates, ad campaigns and daily spend, manual unit costs),
the duty stored on DDP shipments and purchase batches, dispute outcomes and fees, and the two summaries the
ledger is read from: sku_costs (landed unit cost over time) and daily_profit.

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=14, scale=2)
PROFIT_MEASURES = (
    "gross_sales_usd", "vat_usd", "discounts_usd", "net_revenue_usd", "shipping_income_usd", "product_cost_usd",
    "shipping_usd", "marketplace_fees_usd", "marketplace_fees_estimated_usd",
    "fulfilment_fees_usd", "payment_fees_usd", "fx_cost_usd", "duty_usd",
    "refunds_usd", "return_shipping_usd", "write_off_usd", "chargebacks_usd", "dispute_fees_usd",
    "advertising_usd", "unattributed_ads_usd", "storage_usd", "contribution_usd",
)


def upgrade() -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("duty_usd", MONEY, nullable=False, server_default="0"))
        batch.add_column(sa.Column("import_vat_usd", MONEY, nullable=False, server_default="0"))
    with op.batch_alter_table("inbound_shipments") as batch:
        batch.add_column(sa.Column("duty_usd", MONEY, nullable=False, server_default="0"))
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("dispute_outcome", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("dispute_fee_usd", MONEY, nullable=False, server_default="0"))

    op.create_index("ix_inventory_warehouse_product_day", "inventory_snapshots",
                    ["warehouse_id", "product_id", "day"])
    op.create_table(
        "marketplace_fees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("referral_rate", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"]),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_marketplace_fees_channel_id", "marketplace_fees", ["channel_id"])
    op.create_table(
        "storage_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("usd_per_m3_month", sa.Float(), nullable=False),
        sa.Column("peak_usd_per_m3_month", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_storage_rates_warehouse_id", "storage_rates", ["warehouse_id"])
    op.create_table(
        "ad_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("campaign_ref", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"]),
        sa.ForeignKeyConstraint(["market_code"], ["markets.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "campaign_ref"),
    )
    op.create_table(
        "ad_spend",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("spend", MONEY, nullable=False),
        sa.Column("spend_usd", MONEY, nullable=False),
        sa.Column("attributed_orders", sa.Integer(), nullable=False),
        sa.Column("attributed_sales_usd", MONEY, nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["ad_campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["import_batch_id"], ["import_batches.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ad_spend_campaign_id", "ad_spend", ["campaign_id"])
    op.create_index("ix_ad_spend_import_batch_id", "ad_spend", ["import_batch_id"])
    op.create_index("ix_ad_spend_day_campaign", "ad_spend", ["day", "campaign_id"])
    op.create_table(
        "product_cost_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("unit_cost_usd", MONEY, nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("entered_by", sa.String(length=60), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("product_id", "valid_from"),
    )
    op.create_index("ix_product_cost_entries_product_id", "product_cost_entries", ["product_id"])
    op.create_table(
        "sku_costs",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("unit_cost_usd", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "valid_from"),
    )
    op.create_table(
        "daily_profit",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("returned_units", sa.Integer(), nullable=False),
        sa.Column("uncosted_units", sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Float(), nullable=False) for name in PROFIT_MEASURES],
        sa.PrimaryKeyConstraint("day", "product_id", "market_code", "channel_id"),
    )
    op.create_index("ix_daily_profit_product_day", "daily_profit", ["product_id", "day"])
    # Roll-ups of daily_profit: over SKUs by day, and over days by month.
    def measures() -> list[sa.Column]:
        return [*[sa.Column(name, sa.Integer(), nullable=False)
                  for name in ("orders", "units", "returned_units", "uncosted_units")],
                *[sa.Column(name, sa.Float(), nullable=False) for name in PROFIT_MEASURES]]

    op.create_table(
        "daily_profit_markets",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        *measures(),
        sa.PrimaryKeyConstraint("day", "market_code", "channel_id"),
    )
    op.create_table(
        "monthly_profit_skus",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("market_code", sa.String(length=2), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        *measures(),
        sa.PrimaryKeyConstraint("month", "product_id", "market_code", "channel_id"),
    )


def downgrade() -> None:
    for table in ("monthly_profit_skus", "daily_profit_markets", "daily_profit", "sku_costs", "product_cost_entries", "ad_spend", "ad_campaigns", "storage_rates",
                  "marketplace_fees"):
        op.drop_table(table)
    op.drop_index("ix_inventory_warehouse_product_day", "inventory_snapshots")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("dispute_fee_usd")
        batch.drop_column("dispute_outcome")
    with op.batch_alter_table("inbound_shipments") as batch:
        batch.drop_column("duty_usd")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("import_vat_usd")
        batch.drop_column("duty_usd")
