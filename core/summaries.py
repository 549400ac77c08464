"""Keep the summary tables in step with the raw tables.

Each refresh recomputes whole days (or months): it deletes the summary rows of the range and writes fresh
aggregates with one `INSERT INTO summary SELECT ... GROUP BY ...`, so the rows never travel through Python.
Everything runs inside the caller's transaction, so a failed import leaves raw and summary tables as they were.

`REFRESHERS` names each summary table's refresher, the raw tables it reads and the raw table whose date keys
its rows. `refresh_all` (the seed) runs all of them; `refresh_affected` (imports) only those that read a table
the import touched. Summaries whose rows follow later events (disputes, payouts, returns, cohorts) are rebuilt
from `start` on: an order's shipments, payments, tickets and returns happen on or after the order's day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from core import fraud, risk
from core.customer_service import BUCKET_EDGES, MEASURES
from core.platform.models import (
    Base,
    Customer,
    DailyDelivery,
    DailyDisputes,
    DailyPaymentOutcomes,
    DailyPayments,
    DailyProductDemand,
    DailyReturns,
    DailySales,
    DailySettlements,
    DailyTickets,
    DailyTicketStats,
    DailyTicketTimes,
    DailyTransit,
    MonthlyCohorts,
    MonthlyOrderValues,
    MonthlySkuReturns,
    MonthlySkuSales,
    Order,
    OrderLine,
    Payment,
    PaymentsInTransit,
    Return,
    Shipment,
    Ticket,
)

ORDER_KEYS = ("day", "market_code", "channel_id")
ORDER_VALUE_BANDS_USD = (0, 10, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500)  # lower edges
PAYMENT_KEYS = (Payment.market_code, Payment.channel_id, Payment.method, Payment.gateway)


# --- SQL building blocks ----------------------------------------------------------------------------------------


def _in_range(column, start: dt.date | None, end: dt.date | None):
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column <= end)
    return and_(True, *conditions)


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def _sum_if(condition, value):
    return func.sum(case((condition, value), else_=0))


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _transit_days(session: Session):
    """Whole days from dispatch to delivery, in the dialect's own date arithmetic."""
    if _is_sqlite(session):
        return cast(func.julianday(Shipment.delivered_at) - func.julianday(Shipment.shipped_at), Integer)
    seconds = func.extract("epoch", Shipment.delivered_at - Shipment.shipped_at)
    return cast(func.floor(seconds / 86400), Integer)


def _hours_between(session: Session, later, earlier):
    if _is_sqlite(session):
        # Day fractions from julianday() do not subtract exactly: a 2-hour reply came out as 1.99999999 h and
        # fell in the 1-hour bucket (PostgreSQL says 2). julianday() keeps milliseconds, so round to those.
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86_400_000) / 3_600_000.0
    return func.extract("epoch", later - earlier) / 3600.0


def _days_between(session: Session, later, earlier):
    """Days between two dates as an integer."""
    if _is_sqlite(session):
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return later - earlier  # date - date is an integer number of days in PostgreSQL


def _month_of(session: Session, day):
    """The first day of `day`'s month as a date the summary's Date column accepts. (core.platform.queries.month_start
    gives text, which PostgreSQL will not insert into a date column; SQLite stores dates as that same text.)"""
    if _is_sqlite(session):
        return func.strftime("%Y-%m-01", day)
    return cast(func.date_trunc("month", cast(day, DateTime)), Date)


def _month_end(day: dt.date | None) -> dt.date | None:
    if day is None:
        return None
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def _first_of_month(day: dt.date | None) -> dt.date | None:
    return day.replace(day=1) if day else None


def _rebuild(session: Session, model, day_column, start: dt.date | None, end: dt.date | None, *selects) -> int:
    """Delete the summary rows of [start, end] and insert what each SELECT (labelled like the table's
    columns) yields; returns the rows written."""
    table = model.__table__
    unbounded = start is None and end is None
    # No WHERE at all lets SQLite truncate the table instead of deleting row by row.
    session.execute(delete(table) if unbounded else delete(table).where(_in_range(day_column, start, end)))
    written = 0
    for stmt in selects:
        # Without preserve_rowcount SQLAlchemy reads an INSERT's rowcount after psycopg closed the cursor: -1.
        statement = insert(table).from_select(list(stmt.selected_columns.keys()), stmt)
        written += session.execute(statement.execution_options(preserve_rowcount=True)).rowcount
    return written


def _left_join(base, other, keys: Iterable[str]):
    return and_(*[base.c[key] == other.c[key] for key in keys])


# --- sales and delivery -----------------------------------------------------------------------------------------


def _per_order(model, start, end, *measures):
    """Measures summed per order (lines, shipments) of the orders of [start, end], to join to each order row."""
    stmt = select(model.order_id, *measures)
    if start is not None or end is not None:  # unbounded, the join would only cost
        stmt = stmt.join(Order, Order.id == model.order_id).where(_in_range(Order.order_date, start, end))
    return stmt.group_by(model.order_id).subquery()


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
            _count_if(live).label("orders"),
            _count_if(and_(live, Order.is_first_order)).label("new_customers"),
            _sum_if(live, Order.gmv_usd).label("gmv_usd"),
            _sum_if(live, Order.refunded_usd).label("refunds_usd"),
            _count_if(Order.status.in_(("refunded", "partially_refunded"))).label("refunded_orders"),
            _count_if(Order.status == "cancelled").label("cancelled_orders"),
            *[func.coalesce(_sum_if(live, lines.c[name]), 0).label(name)
              for name in ("units", "net_revenue_usd", "cogs_usd")],
            func.coalesce(_sum_if(live, shipping.c.shipping_cost_usd), 0).label("shipping_cost_usd"),
        )
        .outerjoin(lines, lines.c.order_id == Order.id)
        .outerjoin(shipping, shipping.c.order_id == Order.id)
        .where(_in_range(Order.order_date, start, end))
        .group_by(Order.order_date, Order.market_code, Order.channel_id)
    )
    return _rebuild(session, DailySales, DailySales.day, start, end, stmt)


def refresh_daily_delivery(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    delivered = Shipment.status == "delivered"
    transit_days = _transit_days(session)
    on_time = and_(delivered, transit_days <= Shipment.promised_days)
    keys = (Shipment.ship_date, Order.market_code, Order.channel_id, Shipment.carrier, Shipment.service)
    stmt = (
        select(
            Shipment.ship_date.label("day"), *keys[1:],
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
        .group_by(*keys)
    )
    return _rebuild(session, DailyDelivery, DailyDelivery.day, start, end, stmt)


def refresh_daily_transit(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    transit = _transit_days(session)
    stmt = (
        select(
            Shipment.ship_date.label("day"), Order.market_code, Order.channel_id, Shipment.carrier,
            transit.label("transit_days"), func.count().label("delivered"),
            _count_if(transit <= Shipment.promised_days).label("on_time"),
        )
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.status == "delivered", Shipment.ship_date.is_not(None),
               _in_range(Shipment.ship_date, start, end))
        .group_by(Shipment.ship_date, Order.market_code, Order.channel_id, Shipment.carrier, transit)
    )
    return _rebuild(session, DailyTransit, DailyTransit.day, start, end, stmt)


def refresh_daily_product_demand(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    stmt = (
        select(Order.order_date.label("day"), Shipment.warehouse_id, OrderLine.product_id,
               func.sum(OrderLine.quantity).label("units"))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Shipment, Shipment.order_id == Order.id)
        .where(_in_range(Order.order_date, start, end), Order.status != "cancelled")
        .group_by(Order.order_date, Shipment.warehouse_id, OrderLine.product_id)
    )
    return _rebuild(session, DailyProductDemand, DailyProductDemand.day, start, end, stmt)


# --- market: months the range touches (non-cancelled orders) ----------------------------------------------------


def refresh_monthly_sku_sales(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Returns count against the month of the order they came from, so a SKU's return rate is returned
    units / units sold in the same months."""
    month = _month_of(session, Order.order_date)
    in_months = and_(_in_range(Order.order_date, _first_of_month(start), _month_end(end)),
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
    ).select_from(sales).outerjoin(returned, _left_join(sales, returned, keys))
    return _rebuild(session, MonthlySkuSales, MonthlySkuSales.month, _first_of_month(start),
                    _first_of_month(end), stmt)


def refresh_monthly_order_values(session: Session, start: dt.date | None = None,
                                 end: dt.date | None = None) -> int:
    month = _month_of(session, Order.order_date)
    band = case(*[(Order.gmv_usd >= edge, edge) for edge in reversed(ORDER_VALUE_BANDS_USD[1:])], else_=0)
    stmt = (
        select(month.label("month"), Order.market_code, Order.channel_id, band.label("band_usd"),
               func.count().label("orders"), func.sum(Order.gmv_usd).label("gmv_usd"))
        .where(_in_range(Order.order_date, _first_of_month(start), _month_end(end)), Order.status != "cancelled")
        .group_by(month, Order.market_code, Order.channel_id, band)
    )
    return _rebuild(session, MonthlyOrderValues, MonthlyOrderValues.month, _first_of_month(start),
                    _first_of_month(end), stmt)


# --- payments (see core.payments) -------------------------------------------------------------------------------


def refresh_daily_payments(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    succeeded = Payment.status != "declined"
    stmt = (
        select(
            Payment.attempt_date.label("day"), *PAYMENT_KEYS,
            func.count().label("attempts"),
            _count_if(succeeded).label("succeeded"),
            _count_if(~succeeded).label("declined"),
            _count_if(Payment.disputed_on.is_not(None)).label("disputed"),
            _count_if(Payment.fraud_reported).label("fraud_reported"),
            _sum_if(succeeded, Payment.amount_usd).label("amount_usd"),
            func.sum(Payment.fee_usd).label("fee_usd"),
            func.sum(Payment.refunded_usd).label("refunded_usd"),
        )
        .where(_in_range(Payment.attempt_date, start, end))
        .group_by(Payment.attempt_date, *PAYMENT_KEYS)
    )
    return _rebuild(session, DailyPayments, DailyPayments.day, start, end, stmt)


def refresh_daily_payment_outcomes(session: Session, start: dt.date | None = None,
                                   end: dt.date | None = None) -> int:
    declined = Payment.status == "declined"
    card_country = func.coalesce(Payment.card_country, "")
    reason = case((declined, func.coalesce(Payment.decline_reason, "")), else_="")
    stmt = (
        select(Payment.attempt_date.label("day"), *PAYMENT_KEYS, card_country.label("card_country"),
               reason.label("decline_reason"), func.count().label("attempts"), _count_if(~declined).label("succeeded"))
        .where(_in_range(Payment.attempt_date, start, end))
        .group_by(Payment.attempt_date, *PAYMENT_KEYS, card_country, reason)
    )
    return _rebuild(session, DailyPaymentOutcomes, DailyPaymentOutcomes.day, start, end, stmt)


def refresh_daily_disputes(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """By the day a dispute was raised, which follows the attempt: rebuilt from `start` on."""
    raised = func.coalesce(Payment.disputed_on, Payment.attempt_date)
    reason = func.coalesce(Payment.dispute_reason, "")
    stmt = (
        select(raised.label("day"), *PAYMENT_KEYS, reason.label("reason"),
               _count_if(Payment.disputed_on.is_not(None)).label("disputes"),
               _count_if(Payment.fraud_reported).label("fraud_reported"),
               func.sum(Payment.amount_usd).label("amount_usd"))
        .where(Payment.disputed_on.is_not(None) | Payment.fraud_reported, _in_range(raised, start, None))
        .group_by(raised, *PAYMENT_KEYS, reason)
    )
    return _rebuild(session, DailyDisputes, DailyDisputes.day, start, None, stmt)


def refresh_daily_settlements(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """By payout day, which follows the attempt: rebuilt from `start` on."""
    stmt = (
        select(
            Payment.settled_on.label("day"), *PAYMENT_KEYS, Payment.currency, func.count().label("payments"),
            func.sum(Payment.amount).label("amount_local"), func.sum(Payment.amount_usd).label("amount_usd"),
            func.sum(Payment.amount * Payment.settled_usd_per_unit).label("settled_usd"),
            func.sum(Payment.fee_usd).label("fee_usd"),
            func.sum(_days_between(session, Payment.settled_on, Payment.attempt_date)).label("lag_days_sum"),
        )
        .where(Payment.settled_on.is_not(None), Payment.status != "declined",
               _in_range(Payment.settled_on, start, None))
        .group_by(Payment.settled_on, *PAYMENT_KEYS, Payment.currency)
    )
    return _rebuild(session, DailySettlements, DailySettlements.day, start, None, stmt)


def refresh_payments_in_transit(session: Session, start: dt.date | None = None,
                                end: dt.date | None = None) -> int:
    """Always whole: a payout on any later day takes an old attempt out of transit."""
    stmt = (
        select(Payment.attempt_date.label("day"), *PAYMENT_KEYS, Payment.currency, func.count().label("payments"),
               func.sum(Payment.amount).label("amount_local"), func.sum(Payment.amount_usd).label("amount_usd"),
               func.sum(Payment.fee_usd).label("fee_usd"))
        .where(Payment.settled_on.is_(None), Payment.status != "declined", Payment.status != "refunded")
        .group_by(Payment.attempt_date, *PAYMENT_KEYS, Payment.currency)
    )
    return _rebuild(session, PaymentsInTransit, PaymentsInTransit.day, None, None, stmt)


# --- customer service (see core.customer_service) ---------------------------------------------------------------


def refresh_daily_tickets(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    keys = (Ticket.created_date, Ticket.market_code, Ticket.channel, Ticket.reason)
    stmt = (
        select(
            Ticket.created_date.label("day"), *keys[1:],
            func.count().label("tickets"),
            func.coalesce(func.sum(Ticket.csat), 0).label("csat_sum"),
            func.count(Ticket.csat).label("csat_count"),
            func.coalesce(func.sum(_hours_between(session, Ticket.first_response_at, Ticket.created_at)),
                          0.0).label("first_response_hours_sum"),
            _count_if(Ticket.first_response_at.is_not(None)).label("responded"),
        )
        .where(_in_range(Ticket.created_date, start, end))
        .group_by(*keys)
    )
    return _rebuild(session, DailyTickets, DailyTickets.day, start, end, stmt)


def refresh_daily_ticket_stats(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    keys = (Ticket.created_date, Ticket.market_code, Ticket.channel, Ticket.reason, Ticket.language)
    stmt = (
        select(
            Ticket.created_date.label("day"), *keys[1:],
            func.count().label("tickets"), _count_if(Ticket.first_response_at.is_not(None)).label("responded"),
            _count_if(Ticket.resolved_at.is_not(None)).label("resolved"),
            func.coalesce(func.sum(Ticket.csat), 0).label("csat_sum"), func.count(Ticket.csat).label("csat_count"),
        )
        .where(_in_range(Ticket.created_date, start, end))
        .group_by(*keys)
    )
    return _rebuild(session, DailyTicketStats, DailyTicketStats.day, start, end, stmt)


def _bucket(hours, edges: tuple[int, ...] = BUCKET_EDGES):
    """The lower edge of the bucket holding `hours` (negative hours fall in the first), as a binary search:
    SQLite inlines `hours` into every comparison, and a flat CASE over 40 edges cost a second per 30k tickets."""
    if len(edges) == 1:
        return literal_column(str(edges[0]))
    middle = len(edges) // 2
    return case((hours >= edges[middle], _bucket(hours, edges[middle:])), else_=_bucket(hours, edges[:middle]))


def _ticket_time_histogram(session: Session, measure: str, start, end):
    ended_at = {"first_response": Ticket.first_response_at, "resolution": Ticket.resolved_at}[measure]
    timed = (
        select(Ticket.created_date.label("day"), Ticket.market_code, Ticket.channel, Ticket.language,
               _hours_between(session, ended_at, Ticket.created_at).label("hours"))
        .where(_in_range(Ticket.created_date, start, end), ended_at.is_not(None))
        .subquery()
    )
    keys = (timed.c.day, timed.c.market_code, timed.c.channel, timed.c.language)
    bucket = _bucket(timed.c.hours)
    return select(*keys, literal(measure, String).label("measure"), bucket.label("bucket_hours"),
                  func.count().label("tickets")).group_by(*keys, bucket)


def refresh_daily_ticket_times(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Histogram of first-response and resolution hours of the tickets that have them."""
    return _rebuild(session, DailyTicketTimes, DailyTicketTimes.day, start, end,
                    *[_ticket_time_histogram(session, measure, start, end) for measure in MEASURES])


def _unsellable_usd():
    """Landed cost of returned units that cannot be resold: the order line's unit cost x units."""
    unit_cost = (select(func.max(OrderLine.cogs_usd / OrderLine.quantity))
                 .where(OrderLine.order_id == Return.order_id, OrderLine.product_id == Return.product_id)
                 .scalar_subquery())
    return case((Return.restockable, 0), else_=Return.quantity * func.coalesce(unit_cost, 0))


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
        .where(_in_range(Return.requested_on, start, None))
        .group_by(*keys)
    )
    return _rebuild(session, DailyReturns, DailyReturns.day, start, None, stmt)


def refresh_monthly_sku_returns(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Units sold and returned by order month, from `start`'s month on (returns arrive after their order).
    Sold lines and returns are stacked and summed together, so a SKU with only one of them still gets a row."""
    first = _first_of_month(start)
    month = _month_of(session, Order.order_date).label("month")
    zero = literal_column("0")
    orders = and_(Order.status != "cancelled", _in_range(Order.order_date, first, None))
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
    return _rebuild(session, MonthlySkuReturns, MonthlySkuReturns.month, first, None, stmt)


def refresh_monthly_cohorts(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """A month's cohorts change only from that month on, so they are rebuilt from `start`'s month on."""
    first = _first_of_month(start)
    cohort = _month_of(session, Customer.first_order_on)
    month = _month_of(session, Order.order_date)
    stmt = (
        select(cohort.label("cohort_month"), month.label("month"), Order.market_code,
               func.count(func.distinct(Order.customer_id)).label("customers"), func.count().label("orders"))
        .join(Customer, Customer.id == Order.customer_id)
        .where(Order.status != "cancelled", Customer.first_order_on.is_not(None),
               _in_range(Order.order_date, first, None))
        .group_by(cohort, month, Order.market_code)
    )
    return _rebuild(session, MonthlyCohorts, MonthlyCohorts.month, first, None, stmt)


# --- which summaries read what ----------------------------------------------------------------------------------

Refresh = Callable[[Session, "dt.date | None", "dt.date | None"], int]


@dataclass(frozen=True)
class Refresher:
    run: Refresh
    reads: frozenset[str]  # raw tables
    keyed_by: str  # the raw table whose date the summary's rows are filed under


def _refresher(run: Refresh, keyed_by: str, *also_reads: str) -> Refresher:
    return Refresher(run, frozenset({keyed_by, *also_reads}), keyed_by)


REFRESHERS: dict[str, Refresher] = {
    "daily_sales": _refresher(refresh_daily_sales, "orders", "order_lines", "shipments"),
    "daily_delivery": _refresher(refresh_daily_delivery, "shipments", "orders"),
    "daily_tickets": _refresher(refresh_daily_tickets, "tickets"),
    "daily_payments": _refresher(refresh_daily_payments, "payments"),
    "monthly_sku_sales": _refresher(refresh_monthly_sku_sales, "orders", "order_lines", "returns"),
    "monthly_order_values": _refresher(refresh_monthly_order_values, "orders"),
    "daily_payment_outcomes": _refresher(refresh_daily_payment_outcomes, "payments"),
    "daily_disputes": _refresher(refresh_daily_disputes, "payments"),
    "daily_settlements": _refresher(refresh_daily_settlements, "payments"),
    "payments_in_transit": _refresher(refresh_payments_in_transit, "payments"),
    "daily_ticket_stats": _refresher(refresh_daily_ticket_stats, "tickets"),
    "daily_ticket_times": _refresher(refresh_daily_ticket_times, "tickets"),
    "daily_returns": _refresher(refresh_daily_returns, "returns", "orders", "order_lines"),
    "monthly_sku_returns": _refresher(refresh_monthly_sku_returns, "orders", "order_lines", "returns"),
    "monthly_cohorts": _refresher(refresh_monthly_cohorts, "orders", "customers"),
    # Scoring rules and defect flags are the fraud and risk pages' own code.
    "suspicious_payments": _refresher(fraud.refresh_suspicious_payments, "payments", "orders"),
    "daily_account_health": _refresher(risk.refresh_daily_account_health, "orders", "tickets", "shipments",
                                       "payments"),
    "daily_product_demand": _refresher(refresh_daily_product_demand, "orders", "order_lines", "shipments"),
    "daily_transit": _refresher(refresh_daily_transit, "shipments", "orders"),
}
PAYMENTS_AND_SERVICE = ("daily_payment_outcomes", "daily_disputes", "daily_settlements", "payments_in_transit",
                        "daily_ticket_stats", "daily_ticket_times", "daily_returns", "monthly_sku_returns",
                        "monthly_cohorts")


def _run(session: Session, names: Iterable[str], start, end) -> dict[str, int]:
    return {name: REFRESHERS[name].run(session, start, end) for name in names}


def refresh_all(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> dict[str, int]:
    """Recompute every summary for the days in [start, end] (all days when both are None)."""
    return _run(session, REFRESHERS, start, end)


def refresh_payments_and_service(session: Session, start: dt.date | None = None,
                                 end: dt.date | None = None) -> dict[str, int]:
    """The payments and customer-service summaries (issue 5) alone."""
    return _run(session, PAYMENTS_AND_SERVICE, start, end)


DATED_BY_THEIR_ORDER = frozenset({"order_lines", "customers"})


def affected_range(refresher: Refresher, touched: set[str], start: dt.date | None,
                   end: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """The days of `refresher`'s summary that rows changed on [start, end] of the `touched` tables can move.

    [start, end] are dates of the touched rows. When the summary files rows under another table's date,
    those dates are unknown, but an order's shipments, payments, tickets and returns come on or after it:
    a touched shipment moves order-day rows up to `end`, a touched order moves shipment-day rows from `start`.
    """
    others = (refresher.reads & touched) - {refresher.keyed_by}
    if refresher.keyed_by == "orders":
        # Lines carry their order's day, and an import changes a customer only through its orders on
        # [start, end] (summaries that follow customers later, like cohorts, rebuild from start on anyway).
        others -= DATED_BY_THEIR_ORDER
    if not others:
        return start, end
    if refresher.keyed_by == "orders":
        return None, end
    return start, None


def refresh_affected(session: Session, touched: set[str], start: dt.date | None = None,
                     end: dt.date | None = None) -> dict[str, int]:
    """Recompute only the summaries that read a raw table in `touched` (e.g. {"orders"} after an order
    import); [start, end] are the dates of the touched rows. Returns rows written per summary refreshed."""
    unknown = set(touched) - set(Base.metadata.tables)
    if unknown:  # a misspelt table would otherwise refresh nothing, silently
        raise ValueError(f"unknown tables: {', '.join(sorted(unknown))}")
    whole = _whole_history(session, start, end)
    written = {}
    for name, refresher in REFRESHERS.items():
        if refresher.reads & touched:
            first, last = affected_range(refresher, touched, start, end)
            if refresher.keyed_by == "orders":
                first, last = whole(first, last)
            written[name] = refresher.run(session, first, last)
    return written


def _whole_history(session: Session, start: dt.date | None, end: dt.date | None):
    """A range of order days with each bound dropped when it already reaches past every order.

    The rows are the same, but an unbounded refresh scans tables once, whereas a bounded one walks the
    order-date index and probes each order's lines: at 1M orders (a bulk import) 10 s instead of 27 s.
    """
    lowest, highest = (None, None)
    if start is not None or end is not None:
        lowest, highest = session.execute(select(func.min(Order.order_date), func.max(Order.order_date))).one()

    def widen(first: dt.date | None, last: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
        if lowest is None:
            return first, last
        return (None if first is not None and first <= lowest else first,
                None if last is not None and last >= highest else last)

    return widen
