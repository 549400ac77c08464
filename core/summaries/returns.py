"""Returns summaries (read by core.customer_service and core.payments): returns by the day they were
requested, and units sold and returned per SKU by the month of their order. Returns follow their order,
so both rebuild from `start` on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, literal_column, select, union_all
from sqlalchemy.orm import Session

from core.platform.models import DailyReturns, MonthlySkuReturns, Order, OrderLine, Return
from core.summaries.registry import register
from core.summaries.sql import first_of_month, in_range, month_of, rebuild


def _unsellable_usd():
    """Landed cost of returned units that cannot be resold: the order line's unit cost x units."""
    unit_cost = (select(func.max(OrderLine.cogs_usd / OrderLine.quantity))
                 .where(OrderLine.order_id == Return.order_id, OrderLine.product_id == Return.product_id)
                 .scalar_subquery())
    return case((Return.restockable, 0), else_=Return.quantity * func.coalesce(unit_cost, 0))


@register("daily_returns", "returns", "orders", "order_lines")
def refresh_daily_returns(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """By the day the return was requested, which follows the order: rebuilt from `start` on."""
    keys = (Return.requested_on, Order.market_code, Order.channel_id, Return.reason)
    stmt = (
        select(
            Return.requested_on.label("day"), *keys[1:],
            func.count().label("returns"), func.sum(Return.quantity).label("units"),
            func.sum(Return.refund_usd).label("refund_usd"),
            func.sum(Return.return_shipping_usd).label("return_shipping_usd"),
            func.sum(_unsellable_usd()).label("unsellable_usd"),
        )
        .join(Order, Order.id == Return.order_id)
        .where(in_range(Return.requested_on, start, None))
        .group_by(*keys)
    )
    return rebuild(session, DailyReturns, DailyReturns.day, start, None, stmt)


@register("monthly_sku_returns", "orders", "order_lines", "returns")
def refresh_monthly_sku_returns(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Units sold and returned by order month, from `start`'s month on (returns arrive after their order).
    Sold lines and returns are stacked and summed together, so a SKU with only one of them still gets a row."""
    first = first_of_month(start)
    month = month_of(session, Order.order_date).label("month")
    zero = literal_column("0")
    orders = and_(Order.status != "cancelled", in_range(Order.order_date, first, None))
    sold = (select(month, Order.market_code, Order.channel_id, OrderLine.product_id,
                   OrderLine.quantity.label("units_sold"), zero.label("units_returned"), zero.label("refund_usd"),
                   zero.label("return_shipping_usd"), zero.label("unsellable_usd"))
            .join(Order, Order.id == OrderLine.order_id).where(orders))
    returned = (select(month, Order.market_code, Order.channel_id, Return.product_id, zero, Return.quantity,
                       Return.refund_usd, Return.return_shipping_usd, _unsellable_usd())
                .join(Order, Order.id == Return.order_id).where(orders))
    both = union_all(sold, returned).subquery()
    keys = [both.c[name] for name in ("month", "market_code", "channel_id", "product_id")]
    measures = ("units_sold", "units_returned", "refund_usd", "return_shipping_usd", "unsellable_usd")
    stmt = select(*keys, *[func.sum(both.c[name]).label(name) for name in measures]).group_by(*keys)
    return rebuild(session, MonthlySkuReturns, MonthlySkuReturns.month, first, None, stmt)
