"""Customer cohorts (read by core.customer_service): customers and orders per month of first order,
month and market."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.platform.models import Customer, MonthlyCohorts, Order
from core.summaries.registry import register
from core.summaries.sql import first_of_month, in_range, month_of, rebuild


@register("monthly_cohorts", "orders", "customers")
def refresh_monthly_cohorts(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """A month's cohorts change only from that month on, so they are rebuilt from `start`'s month on."""
    first = first_of_month(start)
    cohort = month_of(session, Customer.first_order_on)
    month = month_of(session, Order.order_date)
    stmt = (
        select(cohort.label("cohort_month"), month.label("month"), Order.market_code,
               func.count(func.distinct(Order.customer_id)).label("customers"), func.count().label("orders"))
        .join(Customer, Customer.id == Order.customer_id)
        .where(Order.status != "cancelled", Customer.first_order_on.is_not(None),
               in_range(Order.order_date, first, None))
        .group_by(cohort, month, Order.market_code)
    )
    return rebuild(session, MonthlyCohorts, MonthlyCohorts.month, first, None, stmt)
