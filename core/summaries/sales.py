"""Sales summaries: `daily_sales` by order day (overview, unit economics, risk) and the monthly SKU and
order-value tables of the market page. Cancelled orders count only as cancellations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from core.platform.models import DailySales, MonthlyOrderValues, MonthlySkuSales, Order, OrderLine, Return, Shipment
from core.summaries.registry import register
from core.summaries.sql import count_if, first_of_month, in_range, left_join, month_end, month_of, rebuild, sum_if

ORDER_VALUE_BANDS_USD = (0, 10, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500)  # lower edges


def _per_order(model, start, end, *measures):
    """Measures summed per order (lines, shipments) of the orders of [start, end], to join to each order row."""
    stmt = select(model.order_id, *measures)
    if start is not None or end is not None:  # unbounded, the join would only cost
        stmt = stmt.join(Order, Order.id == model.order_id).where(in_range(Order.order_date, start, end))
    return stmt.group_by(model.order_id).subquery()


@register("daily_sales", "orders", "order_lines", "shipments")
def refresh_daily_sales(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    # Lines and shipments are summed per order before the join, so an order with several of each is counted
    # once; one pass over the orders then gives every measure.
    live = Order.status != "cancelled"
    lines = _per_order(OrderLine, start, end, func.sum(OrderLine.quantity).label("units"),
                       func.sum(OrderLine.revenue_usd).label("net_revenue_usd"),
                       func.sum(OrderLine.cogs_usd).label("cogs_usd"))
    shipping = _per_order(Shipment, start, end, func.sum(Shipment.cost_usd).label("shipping_cost_usd"))
    stmt = (
        select(
            Order.order_date.label("day"), Order.market_code, Order.channel_id,
            count_if(live).label("orders"),
            count_if(and_(live, Order.is_first_order)).label("new_customers"),
            sum_if(live, Order.gmv_usd).label("gmv_usd"),
            sum_if(live, Order.refunded_usd).label("refunds_usd"),
            count_if(Order.status.in_(("refunded", "partially_refunded"))).label("refunded_orders"),
            count_if(Order.status == "cancelled").label("cancelled_orders"),
            *[func.coalesce(sum_if(live, lines.c[name]), 0).label(name)
              for name in ("units", "net_revenue_usd", "cogs_usd")],
            func.coalesce(sum_if(live, shipping.c.shipping_cost_usd), 0).label("shipping_cost_usd"),
        )
        .outerjoin(lines, lines.c.order_id == Order.id)
        .outerjoin(shipping, shipping.c.order_id == Order.id)
        .where(in_range(Order.order_date, start, end))
        .group_by(Order.order_date, Order.market_code, Order.channel_id)
    )
    return rebuild(session, DailySales, DailySales.day, start, end, stmt)


# --- market: months the range touches (non-cancelled orders) ----------------------------------------------------


@register("monthly_sku_sales", "orders", "order_lines", "returns")
def refresh_monthly_sku_sales(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Returns count against the month of the order they came from, so a SKU's return rate is returned
    units / units sold in the same months."""
    month = month_of(session, Order.order_date)
    in_months = and_(in_range(Order.order_date, first_of_month(start), month_end(end)),
                     Order.status != "cancelled")
    keys = ("month", "product_id", "market_code", "channel_id")
    sales = (
        select(
            month.label("month"), OrderLine.product_id, Order.market_code, Order.channel_id,
            func.count(func.distinct(Order.id)).label("orders"),
            func.count(func.distinct(case((Order.is_first_order, None), else_=Order.id))).label("repeat_orders"),
            func.sum(OrderLine.quantity).label("units"),
            func.sum(OrderLine.line_total * Order.usd_per_unit).label("sales_usd"),
            func.sum(OrderLine.revenue_usd).label("net_revenue_usd"),
            func.sum(OrderLine.cogs_usd).label("cogs_usd"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(in_months)
        .group_by(month, OrderLine.product_id, Order.market_code, Order.channel_id)
        .subquery()
    )
    returned = (
        select(month.label("month"), Return.product_id, Order.market_code, Order.channel_id,
               func.sum(Return.quantity).label("returned_units"))
        .join(Order, Order.id == Return.order_id)
        .where(in_months)
        .group_by(month, Return.product_id, Order.market_code, Order.channel_id)
        .subquery()
    )
    stmt = select(
        *[sales.c[name] for name in sales.c.keys()],
        func.coalesce(returned.c.returned_units, 0).label("returned_units"),
    ).select_from(sales).outerjoin(returned, left_join(sales, returned, keys))
    return rebuild(session, MonthlySkuSales, MonthlySkuSales.month, first_of_month(start),
                   first_of_month(end), stmt)


@register("monthly_order_values", "orders")
def refresh_monthly_order_values(session: Session, start: dt.date | None = None,
                                 end: dt.date | None = None) -> int:
    month = month_of(session, Order.order_date)
    band = case(*[(Order.gmv_usd >= edge, edge) for edge in reversed(ORDER_VALUE_BANDS_USD[1:])], else_=0)
    stmt = (
        select(month.label("month"), Order.market_code, Order.channel_id, band.label("band_usd"),
               func.count().label("orders"), func.sum(Order.gmv_usd).label("gmv_usd"))
        .where(in_range(Order.order_date, first_of_month(start), month_end(end)), Order.status != "cancelled")
        .group_by(month, Order.market_code, Order.channel_id, band)
    )
    return rebuild(session, MonthlyOrderValues, MonthlyOrderValues.month, first_of_month(start),
                   first_of_month(end), stmt)
