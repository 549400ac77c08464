"""Keep the summary tables in step with the raw tables.

Each refresh recomputes whole days (or months): it deletes the summary rows of the range and writes fresh
aggregates with one `INSERT INTO summary SELECT ... GROUP BY ...`, so the rows never travel through Python.
Everything runs inside the caller's transaction, so a failed import leaves raw and summary tables as they were.
Summaries whose rows follow later events (disputes, payouts, returns, cohorts) are rebuilt from `start` on:
an order's shipments, payments, tickets and returns happen on or after the order's day.

Layout: `registry` (the `REFRESHERS` table, `register`, `refresh_all`, `refresh_affected`), `sql` (the shared
SQL helpers), and one module per family of tables, each declaring its refreshers with `@register`. Importing
this package imports every family, so the registry is complete. The package imports only `core.platform` (and
the limits in `core.thresholds`); the pages' domain modules read the tables and import from here, never the
other way round.
"""

from __future__ import annotations

from core.summaries import account_health, cohorts, delivery, fraud_scores, payments, returns, sales, tickets
# The ledger last: sku_costs before daily_profit, which reads it (refresh_all runs in registration order).
from core.summaries import costs, profit  # noqa: I001
from core.summaries.account_health import refresh_daily_account_health
from core.summaries.cohorts import refresh_monthly_cohorts
from core.summaries.delivery import refresh_daily_delivery, refresh_daily_product_demand, refresh_daily_transit
from core.summaries.fraud_scores import refresh_suspicious_payments
from core.summaries.costs import refresh_sku_costs
from core.summaries.payments import (
    PAYMENT_KEYS,
    refresh_daily_disputes,
    refresh_daily_payment_outcomes,
    refresh_daily_payments,
    refresh_daily_settlements,
    refresh_payments_in_transit,
)
from core.summaries.profit import refresh_daily_profit
from core.summaries.registry import (
    DATED_BY_THEIR_ORDER,
    PAYMENTS_AND_SERVICE,
    REFRESHERS,
    Refresh,
    Refresher,
    affected_range,
    refresh_affected,
    refresh_all,
    refresh_payments_and_service,
    register,
)
from core.summaries.returns import refresh_daily_returns, refresh_monthly_sku_returns
from core.summaries.sales import (
    ORDER_VALUE_BANDS_USD,
    refresh_daily_sales,
    refresh_monthly_order_values,
    refresh_monthly_sku_sales,
)
from core.summaries.tickets import (
    BUCKET_EDGES,
    MEASURES,
    refresh_daily_ticket_stats,
    refresh_daily_ticket_times,
    refresh_daily_tickets,
)

__all__ = [
    "account_health", "affected_range", "costs", "profit", "refresh_daily_profit", "refresh_sku_costs",
    "BUCKET_EDGES", "cohorts", "DATED_BY_THEIR_ORDER", "delivery", "fraud_scores",
    "MEASURES", "ORDER_VALUE_BANDS_USD", "PAYMENT_KEYS", "payments", "PAYMENTS_AND_SERVICE", "Refresh",
    "refresh_affected", "refresh_all", "refresh_daily_account_health", "refresh_daily_delivery",
    "refresh_daily_disputes", "refresh_daily_payment_outcomes", "refresh_daily_payments",
    "refresh_daily_product_demand", "refresh_daily_returns", "refresh_daily_sales", "refresh_daily_settlements",
    "refresh_daily_ticket_stats", "refresh_daily_ticket_times", "refresh_daily_tickets", "refresh_daily_transit",
    "refresh_monthly_cohorts", "refresh_monthly_order_values", "refresh_monthly_sku_returns",
    "refresh_monthly_sku_sales", "refresh_payments_and_service", "refresh_payments_in_transit",
    "refresh_suspicious_payments", "Refresher", "REFRESHERS", "register", "returns", "sales", "tickets",
]
