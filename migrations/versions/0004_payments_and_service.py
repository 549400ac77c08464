"""issue 5: payments, settlement and customer service

Summary tables for the payments and customer-service pages (see core/platform/models.py, issue 5 section).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _key(name: str, type_) -> sa.Column:
    return sa.Column(name, type_, primary_key=True, nullable=False)


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False)


def _float(name: str) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=False)


def _payment_keys() -> list[sa.Column]:
    return [_key("day", sa.Date()), _key("market_code", sa.String(2)), _key("channel_id", sa.Integer()),
            _key("method", sa.String(20)), _key("gateway", sa.String(20))]


TABLES = (
    "daily_payment_outcomes", "daily_disputes", "daily_settlements", "payments_in_transit", "daily_ticket_stats",
    "daily_ticket_times", "daily_returns", "monthly_sku_returns", "monthly_cohorts",
)


def upgrade() -> None:
    op.create_index("ix_order_lines_order_product", "order_lines", ["order_id", "product_id"])
    op.create_table(
        "daily_payment_outcomes", *_payment_keys(), _key("card_country", sa.String(2)),
        _key("decline_reason", sa.String(40)), _int("attempts"), _int("succeeded"),
    )
    op.create_table(
        "daily_disputes", *_payment_keys(), _key("reason", sa.String(40)), _int("disputes"), _int("fraud_reported"),
        _float("amount_usd"),
    )
    op.create_table(
        "daily_settlements", *_payment_keys(), _key("currency", sa.String(3)), _int("payments"),
        _float("amount_local"), _float("amount_usd"), _float("settled_usd"), _float("fee_usd"), _int("lag_days_sum"),
    )
    op.create_table(
        "payments_in_transit", *_payment_keys(), _key("currency", sa.String(3)), _int("payments"),
        _float("amount_local"), _float("amount_usd"), _float("fee_usd"),
    )
    op.create_table(
        "daily_ticket_stats", _key("day", sa.Date()), _key("market_code", sa.String(2)),
        _key("channel", sa.String(20)), _key("reason", sa.String(30)), _key("language", sa.String(5)),
        _int("tickets"), _int("responded"), _int("resolved"), _int("csat_sum"), _int("csat_count"),
    )
    op.create_table(
        "daily_ticket_times", _key("day", sa.Date()), _key("market_code", sa.String(2)),
        _key("channel", sa.String(20)), _key("language", sa.String(5)), _key("measure", sa.String(20)),
        _key("bucket_hours", sa.Float()), _int("tickets"),
    )
    op.create_table(
        "daily_returns", _key("day", sa.Date()), _key("market_code", sa.String(2)), _key("channel_id", sa.Integer()),
        _key("reason", sa.String(30)), _int("returns"), _int("units"), _float("refund_usd"),
        _float("return_shipping_usd"), _float("unsellable_usd"),
    )
    op.create_table(
        "monthly_sku_returns", _key("month", sa.Date()), _key("market_code", sa.String(2)),
        _key("channel_id", sa.Integer()), _key("product_id", sa.Integer()), _int("units_sold"),
        _int("units_returned"), _float("refund_usd"), _float("return_shipping_usd"), _float("unsellable_usd"),
    )
    op.create_table(
        "monthly_cohorts", _key("cohort_month", sa.Date()), _key("month", sa.Date()),
        _key("market_code", sa.String(2)), _int("customers"), _int("orders"),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
    op.drop_index("ix_order_lines_order_product", table_name="order_lines")
