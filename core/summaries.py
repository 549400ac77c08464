"""Keep the daily summary tables in step with the raw tables.

Each refresh recomputes whole days: it deletes the summary rows of the days
in range and inserts fresh aggregates, all inside the caller's transaction,
so a failed import leaves both raw and summary tables as they were.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Integer, and_, case, cast, delete, func, insert, select
from sqlalchemy.orm import Session

from core.models import (
    DailyDelivery,
    DailyPayments,
    DailySales,
    DailyTickets,
    Order,
    OrderLine,
    Payment,
    Shipment,
    Ticket,
)

ORDER_KEYS = ("day", "market_code", "channel_id")


def _in_range(column, start: dt.date | None, end: dt.date | None):
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column <= end)
    return and_(True, *conditions)


def _frame(session: Session, stmt) -> pd.DataFrame:
    result = session.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def _sum_if(condition, value):
    return func.sum(case((condition, value), else_=0))


def _replace(session: Session, table, day_column, start, end, frame: pd.DataFrame) -> int:
    # Core statements on the session's connection: the ORM bulk path (and DELETE ... RETURNING it
    # adds for the identity map) costs several times more on summary tables of 100k+ rows.
    connection = session.connection()
    connection.execute(delete(table.__table__).where(_in_range(day_column, start, end)))
    if frame.empty:
        return 0
    records = frame.to_dict(orient="records")
    for offset in range(0, len(records), 50_000):
        connection.execute(insert(table.__table__), records[offset : offset + 50_000])
    return len(records)


def refresh_daily_sales(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    live = Order.status != "cancelled"
    orders = _frame(
        session,
        select(
            Order.order_date.label("day"),
            Order.market_code,
            Order.channel_id,
            _count_if(live).label("orders"),
            _count_if(and_(live, Order.is_first_order)).label("new_customers"),
            _sum_if(live, Order.gmv_usd).label("gmv_usd"),
            _sum_if(live, Order.refunded_usd).label("refunds_usd"),
            _count_if(Order.status.in_(("refunded", "partially_refunded"))).label("refunded_orders"),
            _count_if(Order.status == "cancelled").label("cancelled_orders"),
        )
        .where(_in_range(Order.order_date, start, end))
        .group_by(Order.order_date, Order.market_code, Order.channel_id),
    )
    lines = _frame(
        session,
        select(
            Order.order_date.label("day"),
            Order.market_code,
            Order.channel_id,
            func.sum(OrderLine.quantity).label("units"),
            func.sum(OrderLine.revenue_usd).label("net_revenue_usd"),
            func.sum(OrderLine.cogs_usd).label("cogs_usd"),
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(_in_range(Order.order_date, start, end), live)
        .group_by(Order.order_date, Order.market_code, Order.channel_id),
    )
    shipping = _frame(
        session,
        select(
            Order.order_date.label("day"),
            Order.market_code,
            Order.channel_id,
            func.sum(Shipment.cost_usd).label("shipping_cost_usd"),
        )
        .join(Shipment, Shipment.order_id == Order.id)
        .where(_in_range(Order.order_date, start, end), live)
        .group_by(Order.order_date, Order.market_code, Order.channel_id),
    )
    frame = orders
    for part in (lines, shipping):
        frame = frame.merge(part, on=list(ORDER_KEYS), how="left")
    frame = frame.fillna(0)
    money = ["gmv_usd", "net_revenue_usd", "cogs_usd", "shipping_cost_usd", "refunds_usd"]
    counts = ["orders", "units", "new_customers", "refunded_orders", "cancelled_orders"]
    if not frame.empty:
        frame[money] = frame[money].astype(float)
        frame[counts] = frame[counts].astype(int)
    return _replace(session, DailySales, DailySales.day, start, end, frame)


def refresh_daily_delivery(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    delivered = Shipment.status == "delivered"
    transit_days = _transit_days(session)
    on_time = and_(delivered, transit_days <= Shipment.promised_days)
    frame = _frame(
        session,
        select(
            Shipment.ship_date.label("day"),
            Order.market_code,
            Order.channel_id,
            Shipment.carrier,
            Shipment.service,
            func.count().label("shipments"),
            _count_if(delivered).label("delivered"),
            _count_if(on_time).label("delivered_on_time"),
            _count_if(Shipment.status == "lost").label("lost"),
            _count_if(Shipment.status == "returned_to_sender").label("returned_to_sender"),
            _count_if(Shipment.late_dispatch).label("late_dispatch"),
            _count_if(Shipment.tracking_valid).label("valid_tracking"),
            _sum_if(delivered, transit_days).label("transit_days_sum"),
            func.sum(Shipment.cost_usd).label("cost_usd"),
        )
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.ship_date.is_not(None), _in_range(Shipment.ship_date, start, end))
        .group_by(Shipment.ship_date, Order.market_code, Order.channel_id, Shipment.carrier, Shipment.service),
    )
    if not frame.empty:
        frame[["transit_days_sum", "cost_usd"]] = frame[["transit_days_sum", "cost_usd"]].astype(float)
    return _replace(session, DailyDelivery, DailyDelivery.day, start, end, frame)


def _transit_days(session: Session):
    """Whole days from dispatch to delivery, in the dialect's own date arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(Shipment.delivered_at) - func.julianday(Shipment.shipped_at), Integer)
    seconds = func.extract("epoch", Shipment.delivered_at - Shipment.shipped_at)
    return cast(func.floor(seconds / 86400), Integer)


def _hours_between(session: Session, later, earlier):
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 24.0
    return func.extract("epoch", later - earlier) / 3600.0


def refresh_daily_tickets(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    responded = Ticket.first_response_at.is_not(None)
    frame = _frame(
        session,
        select(
            Ticket.created_date.label("day"),
            Ticket.market_code,
            Ticket.channel,
            Ticket.reason,
            func.count().label("tickets"),
            func.coalesce(func.sum(Ticket.csat), 0).label("csat_sum"),
            func.count(Ticket.csat).label("csat_count"),
            func.coalesce(
                func.sum(_hours_between(session, Ticket.first_response_at, Ticket.created_at)), 0.0
            ).label("first_response_hours_sum"),
            _count_if(responded).label("responded"),
        )
        .where(_in_range(Ticket.created_date, start, end))
        .group_by(Ticket.created_date, Ticket.market_code, Ticket.channel, Ticket.reason),
    )
    if not frame.empty:
        frame["first_response_hours_sum"] = frame["first_response_hours_sum"].astype(float)
        frame[["csat_sum", "csat_count"]] = frame[["csat_sum", "csat_count"]].astype(int)
    return _replace(session, DailyTickets, DailyTickets.day, start, end, frame)


def refresh_daily_payments(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    frame = _frame(
        session,
        select(
            Payment.attempt_date.label("day"),
            Payment.market_code,
            Payment.channel_id,
            Payment.method,
            Payment.gateway,
            func.count().label("attempts"),
            _count_if(Payment.status != "declined").label("succeeded"),
            _count_if(Payment.status == "declined").label("declined"),
            _count_if(Payment.disputed_on.is_not(None)).label("disputed"),
            _count_if(Payment.fraud_reported).label("fraud_reported"),
            _sum_if(Payment.status != "declined", Payment.amount_usd).label("amount_usd"),
            func.sum(Payment.fee_usd).label("fee_usd"),
            func.sum(Payment.refunded_usd).label("refunded_usd"),
        )
        .where(_in_range(Payment.attempt_date, start, end))
        .group_by(Payment.attempt_date, Payment.market_code, Payment.channel_id, Payment.method, Payment.gateway),
    )
    if not frame.empty:
        money = ["amount_usd", "fee_usd", "refunded_usd"]
        frame[money] = frame[money].astype(float)
    return _replace(session, DailyPayments, DailyPayments.day, start, end, frame)


def refresh_all(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> dict[str, int]:
    """Recompute every summary for the days in [start, end] (all days when both are None)."""
    return {
        "daily_sales": refresh_daily_sales(session, start, end),
        "daily_delivery": refresh_daily_delivery(session, start, end),
        "daily_tickets": refresh_daily_tickets(session, start, end),
        "daily_payments": refresh_daily_payments(session, start, end),
        "market_summaries": refresh_market_summaries(session, start, end),
        **refresh_payments_and_service(session, start, end),
        **refresh_risk_summaries(session, start, end),
        **refresh_logistics_summaries(session, start, end),
    }


ORDER_VALUE_BANDS_USD = (0, 10, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500)  # lower edges


def refresh_market_summaries(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """monthly_sku_sales and monthly_order_values for the whole months that [start, end] touches.

    Both count non-cancelled orders by order month; returns count against the month of the order
    they came from, so a SKU's return rate is returned units / units sold in the same months.
    """
    from core.models import MonthlyOrderValues, MonthlySkuSales, Return
    from core.queries import month_start

    first = start.replace(day=1) if start else None
    last = end.replace(day=1) if end else None
    live = Order.status != "cancelled"
    month = month_start(session, Order.order_date)
    keys = [month.label("month"), OrderLine.product_id, Order.market_code, Order.channel_id]
    groups = [month, OrderLine.product_id, Order.market_code, Order.channel_id]
    in_range = _in_range(Order.order_date, first, _month_end(end))
    sales = _frame(
        session,
        select(
            *keys,
            func.count(func.distinct(Order.id)).label("orders"),
            func.count(func.distinct(case((Order.is_first_order, None), else_=Order.id))).label("repeat_orders"),
            func.sum(OrderLine.quantity).label("units"),
            func.sum(OrderLine.line_total * Order.usd_per_unit).label("sales_usd"),
            func.sum(OrderLine.revenue_usd).label("net_revenue_usd"),
            func.sum(OrderLine.cogs_usd).label("cogs_usd"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(in_range, live)
        .group_by(*groups),
    )
    returned = _frame(
        session,
        select(month.label("month"), Return.product_id, Order.market_code, Order.channel_id,
               func.sum(Return.quantity).label("returned_units"))
        .join(Order, Order.id == Return.order_id)
        .where(in_range, live)
        .group_by(month, Return.product_id, Order.market_code, Order.channel_id),
    )
    sku_keys = ["month", "product_id", "market_code", "channel_id"]
    frame = sales.merge(returned, on=sku_keys, how="left").fillna({"returned_units": 0})
    if not frame.empty:
        frame["month"] = pd.to_datetime(frame["month"]).dt.date
        frame[["sales_usd", "net_revenue_usd", "cogs_usd"]] = frame[
            ["sales_usd", "net_revenue_usd", "cogs_usd"]].astype(float)
        frame[["orders", "repeat_orders", "units", "returned_units"]] = frame[
            ["orders", "repeat_orders", "units", "returned_units"]].astype(int)
    count = _replace(session, MonthlySkuSales, MonthlySkuSales.month, first, last, frame)

    band = case(
        *[(Order.gmv_usd >= edge, edge) for edge in reversed(ORDER_VALUE_BANDS_USD[1:])], else_=0
    )
    values = _frame(
        session,
        select(month.label("month"), Order.market_code, Order.channel_id, band.label("band_usd"),
               func.count().label("orders"), func.sum(Order.gmv_usd).label("gmv_usd"))
        .where(in_range, live)
        .group_by(month, Order.market_code, Order.channel_id, band),
    )
    if not values.empty:
        values["month"] = pd.to_datetime(values["month"]).dt.date
        values["gmv_usd"] = values["gmv_usd"].astype(float)
        values[["orders", "band_usd"]] = values[["orders", "band_usd"]].astype(int)
    return count + _replace(session, MonthlyOrderValues, MonthlyOrderValues.month, first, last, values)


def _month_end(day: dt.date | None) -> dt.date | None:
    if day is None:
        return None
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def refresh_payments_and_service(session: Session, start: dt.date | None = None,
                                 end: dt.date | None = None) -> dict[str, int]:
    """The payments and customer-service summaries (issue 5): see core.payments and core.customer_service."""
    from core.customer_service import refresh_service_summaries
    from core.payments import refresh_payment_summaries

    return {**refresh_payment_summaries(session, start, end), **refresh_service_summaries(session, start, end)}


def refresh_risk_summaries(session: Session, start: dt.date | None = None,
                           end: dt.date | None = None) -> dict[str, int]:
    """The risk page's summaries (issue 6): scored suspicious payments and daily order defects."""
    from core.fraud import refresh_suspicious_payments
    from core.risk import refresh_daily_account_health

    return {"suspicious_payments": refresh_suspicious_payments(session, start, end),
            "daily_account_health": refresh_daily_account_health(session, start, end)}


def refresh_logistics_summaries(session: Session, start: dt.date | None = None,
                                end: dt.date | None = None) -> dict[str, int]:
    """The logistics page's summaries (issue 4): demand per warehouse and SKU, transit-time distribution."""
    from core.logistics import refresh_daily_product_demand, refresh_daily_transit

    return {"daily_product_demand": refresh_daily_product_demand(session, start, end),
            "daily_transit": refresh_daily_transit(session, start, end)}
