"""The overview page's figures: KPIs with deltas, the monthly trend, targets, alerts.

Definitions (each used everywhere the figure appears):
- GMV: what customers paid on non-cancelled orders (goods, shipping charged, tax), converted at the order-day rate.
- AOV: GMV / orders.
- Net revenue, contribution profit and contribution margin: core.profit (the ledger, the one definition of
  margin and profit): net revenue is the line revenue net of VAT and discounts; contribution = net revenue +
  shipping charged - every cost line of the ledger; contribution margin = contribution / net revenue.
- Gross margin %: core.profit.gross_margin, (net revenue - the ledger's landed product cost) / net revenue. It
  leaves out shipping, fees, FX, duty, refunds, chargebacks, advertising and storage.
- Refund rate: refunds / GMV of the same orders.
- On-time delivery: shipments delivered within their promised days / shipments delivered (by ship date).
- CSAT: mean of the 1-5 ratings given on tickets created in the period (tickets are not tied to a sales
  channel, so the channel filter does not apply to it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core import profit, thresholds
from core.platform.filters import Filters, KpiDelta
from core.platform.models import (
    Channel,
    DailyDelivery,
    DailyPayments,
    DailySales,
    DailyTickets,
    FxRate,
    InventorySnapshot,
    Order,
    OrderLine,
    Product,
    Supplier,
    Target,
)
from core.platform.queries import frame, in_currency, join_fx, month_start, safe_ratio, where_filters


@dataclass(frozen=True)
class Kpis:
    net_revenue: float
    contribution: float
    contribution_margin: float | None
    gross_margin: float | None
    gmv: float
    orders: int
    aov: float | None
    refund_rate: float | None
    on_time_rate: float | None
    csat: float | None


def kpis(session: Session, filters: Filters) -> Kpis:
    ccy = filters.currency
    sales_stmt = select(
        func.coalesce(func.sum(in_currency(DailySales.gmv_usd, ccy)), 0.0),
        func.coalesce(func.sum(DailySales.orders), 0),
        func.coalesce(func.sum(in_currency(DailySales.refunds_usd, ccy)), 0.0),
    ).select_from(DailySales)
    sales_stmt = join_fx(sales_stmt, DailySales.day, ccy)
    sales_stmt = where_filters(
        sales_stmt, filters, day=DailySales.day, market=DailySales.market_code, channel_id=DailySales.channel_id
    )
    gmv, orders, refunds = session.execute(sales_stmt).one()
    ledger = profit.totals(session, filters)

    delivery_stmt = where_filters(
        select(func.sum(DailyDelivery.delivered_on_time), func.sum(DailyDelivery.delivered)),
        filters,
        day=DailyDelivery.day,
        market=DailyDelivery.market_code,
        channel_id=DailyDelivery.channel_id,
    )
    on_time, delivered = session.execute(delivery_stmt).one()

    csat_stmt = where_filters(
        select(func.sum(DailyTickets.csat_sum), func.sum(DailyTickets.csat_count)),
        filters,
        day=DailyTickets.day,
        market=DailyTickets.market_code,
    )
    csat_sum, csat_count = session.execute(csat_stmt).one()

    return Kpis(
        net_revenue=ledger["net_revenue"],
        contribution=ledger["contribution"],
        contribution_margin=profit.margin(ledger["contribution"], ledger["net_revenue"]),
        gross_margin=profit.gross_margin(ledger),
        gmv=float(gmv),
        orders=int(orders),
        aov=safe_ratio(gmv, orders),
        refund_rate=safe_ratio(refunds, gmv),
        on_time_rate=safe_ratio(on_time, delivered),
        csat=safe_ratio(csat_sum, csat_count),
    )


def kpi_deltas(session: Session, filters: Filters) -> list[KpiDelta]:
    """Each KPI for the period and for the previous period of the same length."""
    current, previous = kpis(session, filters), kpis(session, filters.previous_period())
    return [KpiDelta(f.name, getattr(current, f.name), getattr(previous, f.name)) for f in fields(Kpis)]


def monthly_trend(session: Session, filters: Filters) -> pd.DataFrame:
    """Per month of the filtered period: GMV and orders, and the ledger's net revenue, contribution, contribution
    margin and `partial` (the filters cover only part of the month), from core.profit.monthly."""
    ccy = filters.currency
    month = month_start(session, DailySales.day)
    stmt = select(
        month.label("month"),
        func.sum(in_currency(DailySales.gmv_usd, ccy)).label("gmv"),
        func.sum(DailySales.orders).label("orders"),
    ).select_from(DailySales)
    stmt = join_fx(stmt, DailySales.day, ccy)
    stmt = where_filters(
        stmt, filters, day=DailySales.day, market=DailySales.market_code, channel_id=DailySales.channel_id
    )
    sales = frame(session, stmt.group_by(month).order_by(month))
    columns = ["month", "gmv", "orders", "net_revenue", "contribution", "margin", "partial"]
    if sales.empty:
        return pd.DataFrame(columns=columns)
    sales["month"] = pd.to_datetime(sales["month"])
    sales["gmv"] = sales["gmv"].astype(float)
    ledger = profit.monthly(session, filters)
    return sales.merge(ledger, on="month", how="left")[columns]


def targets_vs_actual(session: Session, filters: Filters, today: dt.date) -> pd.DataFrame:
    """GMV target against actual for each month the period touches, per market (or all markets).

    `expected_share` is how much of the month has elapsed by `today`, so a month in progress
    is judged against its pace, not its full target.
    """
    ccy = filters.currency
    first_month = filters.start.replace(day=1)
    target_stmt = select(Target.month, Target.market_code, Target.target_value, Target.owner).where(
        Target.metric == "gmv_usd", Target.month >= first_month, Target.month <= filters.end
    )
    if filters.markets:
        target_stmt = target_stmt.where(Target.market_code.in_(filters.markets))
    else:
        target_stmt = target_stmt.where(Target.market_code.is_(None))
    targets = frame(session, target_stmt)
    columns = ["month", "market", "owner", "target", "actual", "progress", "expected_share"]
    if targets.empty:
        return pd.DataFrame(columns=columns)

    month = month_start(session, DailySales.day)
    actual_stmt = select(
        month.label("month"),
        DailySales.market_code,
        func.sum(in_currency(DailySales.gmv_usd, ccy)).label("actual"),
    ).select_from(DailySales)
    actual_stmt = join_fx(actual_stmt, DailySales.day, ccy)
    month_filters = Filters(first_month, filters.end, filters.markets, filters.channels, ccy)
    actual_stmt = where_filters(
        actual_stmt, month_filters, day=DailySales.day, market=DailySales.market_code,
        channel_id=DailySales.channel_id,
    ).group_by(month, DailySales.market_code)
    actual = frame(session, actual_stmt)
    actual["month"] = pd.to_datetime(actual["month"]).dt.date
    actual["actual"] = actual["actual"].astype(float)
    if not filters.markets:
        actual = actual.groupby("month", as_index=False)["actual"].sum().assign(market_code=None)

    rates = _monthly_average_rate(session, ccy, first_month, filters.end)
    targets["target"] = targets["target_value"] * targets["month"].map(rates).fillna(1.0)
    merged = targets.merge(actual, on=["month", "market_code"], how="left").fillna({"actual": 0.0})
    merged["progress"] = merged["actual"] / merged["target"]
    merged["expected_share"] = merged["month"].map(lambda m: month_elapsed_share(m, today))
    merged = merged.rename(columns={"market_code": "market"})
    merged["market"] = merged["market"].fillna("ALL")
    return merged[columns].sort_values(["month", "market"], ascending=[False, True]).reset_index(drop=True)


def month_elapsed_share(month: dt.date, today: dt.date) -> float:
    """0 before the month, 1 after it, and the share of days elapsed (today included) within it."""
    next_month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    if today < month:
        return 0.0
    if today >= next_month:
        return 1.0
    return ((today - month).days + 1) / (next_month - month).days


def _monthly_average_rate(session: Session, currency: str, start: dt.date, end: dt.date) -> dict:
    if currency == "USD":
        return {}
    month = month_start(session, FxRate.day)
    rows = session.execute(
        select(month, func.avg(FxRate.per_usd))
        .where(FxRate.currency == currency, FxRate.day >= start, FxRate.day <= end)
        .group_by(month)
    ).all()
    return {dt.date.fromisoformat(m): float(rate) for m, rate in rows}


# --- alerts --------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    metric: str  # late_shipment_rate, vamp_ratio, on_time_delivery, stock_cover
    scope: str  # a channel code, "all", or a SKU
    value: float
    limit: float
    status: str  # warning or breach


def alerts(session: Session, filters: Filters, today: dt.date) -> list[Alert]:
    found = _late_shipment_alerts(session, filters)
    found += _on_time_alerts(session, filters)
    found += _vamp_alerts(session, filters)
    found += _stock_cover_alerts(session, today)
    return sorted(found, key=lambda a: (a.status != "breach", a.metric, a.scope))


def _late_shipment_alerts(session: Session, filters: Filters) -> list[Alert]:
    stmt = where_filters(
        select(Channel.code, func.sum(DailyDelivery.late_dispatch), func.sum(DailyDelivery.shipments))
        .join(Channel, Channel.id == DailyDelivery.channel_id)
        .group_by(Channel.code),
        filters,
        day=DailyDelivery.day,
        market=DailyDelivery.market_code,
        channel_id=DailyDelivery.channel_id,
    )
    found = []
    for channel, late, shipped in session.execute(stmt):
        rate = safe_ratio(late, shipped)
        status = thresholds.band(rate, thresholds.LATE_SHIPMENT_RATE_MAX)
        if status != "ok":
            found.append(Alert("late_shipment_rate", channel, rate, thresholds.LATE_SHIPMENT_RATE_MAX, status))
    return found


def _on_time_alerts(session: Session, filters: Filters) -> list[Alert]:
    stmt = where_filters(
        select(DailyDelivery.carrier, func.sum(DailyDelivery.delivered_on_time), func.sum(DailyDelivery.delivered))
        .group_by(DailyDelivery.carrier),
        filters,
        day=DailyDelivery.day,
        market=DailyDelivery.market_code,
        channel_id=DailyDelivery.channel_id,
    )
    found = []
    for carrier, on_time, delivered in session.execute(stmt):
        rate = safe_ratio(on_time, delivered)
        if rate is not None and rate < thresholds.ON_TIME_DELIVERY_TARGET:
            found.append(Alert("on_time_delivery", carrier, rate, thresholds.ON_TIME_DELIVERY_TARGET, "breach"))
    return found


def vamp_ratio(fraud_reports: int, disputes: int, settled_transactions: int) -> float | None:
    """Visa VAMP ratio = (fraud reports + disputes) / settled card-not-present transactions."""
    return safe_ratio((fraud_reports or 0) + (disputes or 0), settled_transactions)


def _vamp_alerts(session: Session, filters: Filters) -> list[Alert]:
    stmt = where_filters(
        select(
            func.sum(DailyPayments.fraud_reported), func.sum(DailyPayments.disputed), func.sum(DailyPayments.succeeded)
        ).where(DailyPayments.method == "card"),
        filters,
        day=DailyPayments.day,
        market=DailyPayments.market_code,
        channel_id=DailyPayments.channel_id,
    )
    fraud, disputes, settled = session.execute(stmt).one()
    ratio = vamp_ratio(fraud, disputes, settled)
    limit = thresholds.vamp_limit(filters.end)
    status = thresholds.band(ratio, limit)
    return [Alert("vamp_ratio", "card", ratio, limit, status)] if status != "ok" else []


def stock_cover_days(on_hand: float, daily_demand: float) -> float | None:
    """Days the stock lasts at the current rate of sale; None when nothing sells."""
    if daily_demand <= 0:
        return None
    return on_hand / daily_demand


def _stock_cover_alerts(session: Session, today: dt.date, window_days: int = 30) -> list[Alert]:
    """SKUs whose stock runs out before a reorder placed today could arrive (cover < supplier lead time)."""
    latest = session.scalar(select(func.max(InventorySnapshot.day)))
    if latest is None:
        return []
    since = today - dt.timedelta(days=window_days - 1)
    demand = (
        select(OrderLine.product_id, func.sum(OrderLine.quantity).label("units"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.order_date >= since, Order.order_date <= today, Order.status != "cancelled")
        .group_by(OrderLine.product_id)
        .subquery()
    )
    stock = (
        select(InventorySnapshot.product_id, func.sum(InventorySnapshot.on_hand).label("on_hand"))
        .where(InventorySnapshot.day == latest)
        .group_by(InventorySnapshot.product_id)
        .subquery()
    )
    rows = session.execute(
        select(Product.sku, stock.c.on_hand, demand.c.units, Supplier.quoted_lead_time_days)
        .join(demand, demand.c.product_id == Product.id)
        .join(stock, stock.c.product_id == Product.id, isouter=True)
        .join(Supplier, Supplier.id == Product.supplier_id)
        .where(and_(Product.status == "active"))
    ).all()
    found = []
    for sku, on_hand, units, lead_time in rows:
        cover = stock_cover_days(float(on_hand or 0), float(units) / window_days)
        if cover is not None and cover < lead_time:
            found.append(Alert("stock_cover", sku, cover, float(lead_time), "breach"))
    return found
