"""Logistics and supply chain: delivery performance, inventory planning, supplier scorecards, shipping what-if.

Definitions (each is the published one; the page shows them next to the figures):

Delivery
- On-time rate = shipments delivered within their promised days / shipments delivered (by ship date);
  target 97 % (`core.thresholds.ON_TIME_DELIVERY_TARGET`).
- Mean transit days = sum of whole days from dispatch to delivery / shipments delivered.
- Lost rate, returned-to-sender rate = those shipments / shipments dispatched.
- Shipping cost per order = shipping cost of the orders placed / orders; shipping cost share of revenue =
  shipping cost / net revenue (VAT and discounts excluded), both by order date.

Inventory (continuous review, daily demand d with standard deviation σd over the last `DEMAND_WINDOW_DAYS`,
lead time LT in days with standard deviation σLT measured on each supplier → warehouse lane)
- Safety stock, fixed lead time:        SS = z · σd · √LT
- Safety stock, variable lead time:     SS = z · √(LT · σd² + d² · σLT²)
- Reorder point:                        ROP = d · LT + SS
- Economic order quantity:              EOQ = √(2 · D · S / H), D = yearly demand (d × 365), S = cost of
  placing one purchase order, H = yearly holding cost of one unit (holding rate × unit cost)
- z = the standard normal quantile of the cycle service level (95 % → 1.645).
- Days of cover = available stock (on hand − reserved) / d. Stockout risk: cover < LT; overstock: cover > 84 days.
- Suggested order = 0 while the inventory position (available + inbound) is above the ROP, else
  max(EOQ, ROP − position) rounded up to whole units.

Suppliers (purchase orders received in the period; returns and sales of the supplier's SKUs in the period)
- Quality = 1 − defect rate − return rate, where defect rate = defective units / units received and return
  rate = units returned / units sold.
- On-time delivery = POs received on or before their promised date / POs received.
- Lead time = mean days from order to receipt; its variability = coefficient of variation (σ / mean).
- Lead-time score = min(1, quoted lead time / actual mean) × (1 − min(1, CV)).
- Price index = 100 × mean(PO unit cost / the SKU's catalogue unit cost); price score = min(1, 100 / index).
- Score = 0.35 quality + 0.30 on-time + 0.20 lead time + 0.15 price; grade A >= 0.90, B >= 0.80,
  C >= 0.70, D below.

Shipping what-if
- Monthly cost = period cost × 30.4 / days in the period. Moving a share of a service's shipments to another
  service prices the moved shipments at the destination's mean cost per shipment; a carrier rate change of
  r % scales every cost of that carrier by (1 + r).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from statistics import NormalDist

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import thresholds
from core.landed_cost import per_usd
from core.platform.filters import Filters
from core.platform.models import (
    DailyDelivery,
    DailyProductDemand,
    DailySales,
    DailyTransit,
    InboundShipment,
    InventorySnapshot,
    Product,
    Return,
    Supplier,
    Warehouse,
)
from core.platform.queries import frame, in_currency, join_fx, safe_ratio, where_filters

DEMAND_WINDOW_DAYS = 56
LANE_HISTORY_DAYS = 365
DAYS_PER_MONTH = 30.4
SERVICE_LEVELS = (0.90, 0.95, 0.975, 0.99)
DEFAULT_ORDER_COST_USD = 60.0  # placing, inspecting and booking one purchase order
DEFAULT_HOLDING_RATE = 0.25  # yearly holding cost as a share of unit cost (capital, storage, shrinkage)
SCORE_WEIGHTS = {"quality": 0.35, "on_time": 0.30, "lead_time": 0.20, "price": 0.15}


# --- summary tables (kept current by core.summaries.refresh_all) ------------------------------------------


# --- delivery performance -----------------------------------------------------------------------------------


def _delivery_by(session: Session, filters: Filters, column, name: str) -> pd.DataFrame:
    ccy = filters.currency
    stmt = select(
        column.label(name),
        func.sum(DailyDelivery.shipments).label("shipments"),
        func.sum(DailyDelivery.delivered).label("delivered"),
        func.sum(DailyDelivery.delivered_on_time).label("on_time"),
        func.sum(DailyDelivery.lost).label("lost"),
        func.sum(DailyDelivery.returned_to_sender).label("returned"),
        func.sum(DailyDelivery.late_dispatch).label("late_dispatch"),
        func.sum(DailyDelivery.transit_days_sum).label("transit_days_sum"),
        func.sum(in_currency(DailyDelivery.cost_usd, ccy)).label("cost"),
    ).select_from(DailyDelivery)
    stmt = join_fx(stmt, DailyDelivery.day, ccy)
    stmt = where_filters(stmt, filters, day=DailyDelivery.day, market=DailyDelivery.market_code,
                         channel_id=DailyDelivery.channel_id).group_by(column)
    return delivery_rates(frame(session, stmt))


def delivery_rates(table: pd.DataFrame) -> pd.DataFrame:
    """Adds on_time_rate, mean_transit_days, lost_rate, returned_rate, late_dispatch_rate, cost_per_shipment and
    whether the on-time rate meets the target, from the summed counts (see the module docstring)."""
    table = table.copy()
    for column in ("shipments", "delivered", "on_time", "lost", "returned", "late_dispatch"):
        table[column] = table[column].fillna(0).astype(int)
    for column in ("transit_days_sum", "cost"):
        table[column] = table[column].fillna(0).astype(float)
    delivered = table["delivered"].where(table["delivered"] > 0)
    shipments = table["shipments"].where(table["shipments"] > 0)
    table["on_time_rate"] = table["on_time"] / delivered
    table["mean_transit_days"] = table["transit_days_sum"] / delivered
    table["lost_rate"] = table["lost"] / shipments
    table["returned_rate"] = table["returned"] / shipments
    table["late_dispatch_rate"] = table["late_dispatch"] / shipments
    table["cost_per_shipment"] = table["cost"] / shipments
    table["meets_target"] = table["on_time_rate"] >= thresholds.ON_TIME_DELIVERY_TARGET
    return table


def carrier_performance(session: Session, filters: Filters) -> pd.DataFrame:
    return _delivery_by(session, filters, DailyDelivery.carrier, "carrier").sort_values(
        "shipments", ascending=False).reset_index(drop=True)


def market_performance(session: Session, filters: Filters) -> pd.DataFrame:
    return _delivery_by(session, filters, DailyDelivery.market_code, "market").sort_values(
        "market").reset_index(drop=True)


def _weekly(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame(columns=["week", *columns])
    table = table.copy()
    table["day"] = pd.to_datetime(table["day"])
    for column in columns:
        table[column] = table[column].fillna(0).astype(float)
    weekly = table.set_index("day")[columns].resample("W-MON", label="left", closed="left").sum()
    return weekly.reset_index().rename(columns={"day": "week"})


def delivery_trend(session: Session, filters: Filters) -> pd.DataFrame:
    """Per week (starting Monday, by ship date): on-time rate, late share of deliveries, lost and returned."""
    stmt = where_filters(
        select(DailyDelivery.day, func.sum(DailyDelivery.shipments).label("shipments"),
               func.sum(DailyDelivery.delivered).label("delivered"),
               func.sum(DailyDelivery.delivered_on_time).label("on_time"),
               func.sum(DailyDelivery.lost).label("lost"),
               func.sum(DailyDelivery.returned_to_sender).label("returned")).group_by(DailyDelivery.day),
        filters, day=DailyDelivery.day, market=DailyDelivery.market_code, channel_id=DailyDelivery.channel_id,
    )
    weekly = _weekly(frame(session, stmt), ["shipments", "delivered", "on_time", "lost", "returned"])
    delivered = weekly["delivered"].where(weekly["delivered"] > 0)
    weekly["on_time_rate"] = weekly["on_time"] / delivered
    weekly["late_rate"] = 1 - weekly["on_time_rate"]
    return weekly


def shipping_cost_trend(session: Session, filters: Filters) -> pd.DataFrame:
    """Per week (by order date): shipping cost, cost per order and cost as a share of net revenue."""
    ccy = filters.currency
    stmt = select(
        DailySales.day,
        func.sum(in_currency(DailySales.shipping_cost_usd, ccy)).label("shipping_cost"),
        func.sum(in_currency(DailySales.net_revenue_usd, ccy)).label("net_revenue"),
        func.sum(DailySales.orders).label("orders"),
    ).select_from(DailySales)
    stmt = join_fx(stmt, DailySales.day, ccy)
    stmt = where_filters(stmt, filters, day=DailySales.day, market=DailySales.market_code,
                         channel_id=DailySales.channel_id).group_by(DailySales.day)
    weekly = _weekly(frame(session, stmt), ["shipping_cost", "net_revenue", "orders"])
    weekly["cost_per_order"] = weekly["shipping_cost"] / weekly["orders"].where(weekly["orders"] > 0)
    weekly["cost_share"] = weekly["shipping_cost"] / weekly["net_revenue"].where(weekly["net_revenue"] > 0)
    return weekly


def transit_distribution(session: Session, filters: Filters) -> pd.DataFrame:
    """Delivered shipments per carrier and whole transit days, with each bar's share of the carrier."""
    stmt = where_filters(
        select(DailyTransit.carrier, DailyTransit.transit_days, func.sum(DailyTransit.delivered).label("delivered"),
               func.sum(DailyTransit.on_time).label("on_time"))
        .group_by(DailyTransit.carrier, DailyTransit.transit_days),
        filters, day=DailyTransit.day, market=DailyTransit.market_code, channel_id=DailyTransit.channel_id,
    )
    table = frame(session, stmt)
    if table.empty:
        return pd.DataFrame(columns=["carrier", "transit_days", "delivered", "on_time", "share"])
    table[["transit_days", "delivered", "on_time"]] = table[["transit_days", "delivered", "on_time"]].astype(int)
    table["share"] = table["delivered"] / table.groupby("carrier")["delivered"].transform("sum")
    return table.sort_values(["carrier", "transit_days"]).reset_index(drop=True)


# --- inventory planning: the formulas ----------------------------------------------------------------------


def z_score(service_level: float) -> float:
    """Standard normal quantile of the cycle service level (0.95 → 1.6449)."""
    if not 0 < service_level < 1:
        raise ValueError("Service level must be between 0 and 1")
    return NormalDist().inv_cdf(service_level)


def safety_stock(z: float, sigma_d: float, lead_time_days: float) -> float:
    """SS = z · σd · √LT (demand varies, lead time fixed)."""
    return z * sigma_d * math.sqrt(max(lead_time_days, 0.0))


def safety_stock_variable_lead_time(z: float, daily_demand: float, sigma_d: float, lead_time_days: float,
                                    sigma_lead_time: float) -> float:
    """SS = z · √(LT · σd² + d² · σLT²) (demand and lead time both vary)."""
    return z * math.sqrt(max(lead_time_days, 0.0) * sigma_d ** 2 + daily_demand ** 2 * sigma_lead_time ** 2)


def reorder_point(daily_demand: float, lead_time_days: float, safety: float) -> float:
    """ROP = d · LT + SS."""
    return daily_demand * lead_time_days + safety


def eoq(annual_demand: float, order_cost: float, holding_cost_per_unit_year: float) -> float:
    """EOQ = √(2 · D · S / H); 0 when nothing sells, infinity when holding is free."""
    if annual_demand <= 0:
        return 0.0
    if holding_cost_per_unit_year <= 0:
        return math.inf
    return math.sqrt(2 * annual_demand * order_cost / holding_cost_per_unit_year)


def days_of_cover(stock: float, daily_demand: float) -> float | None:
    """Days the stock lasts at the current daily demand; None when nothing sells."""
    if daily_demand <= 0:
        return None
    return max(stock, 0.0) / daily_demand


def stock_status(cover: float | None, lead_time_days: float) -> str:
    """stockout_risk (cover < lead time), overstock (cover > thresholds.OVERSTOCK_DAYS, or stock that does not sell), ok."""
    if cover is None:
        return "overstock"
    if cover < lead_time_days:
        return "stockout_risk"
    if cover > thresholds.OVERSTOCK_DAYS:
        return "overstock"
    return "ok"


def order_quantity(position: float, rop: float, economic_quantity: float) -> int:
    """0 above the ROP; else max(EOQ, ROP − position) rounded up."""
    if position > rop:
        return 0
    return int(math.ceil(max(economic_quantity, rop - position) - 1e-9))


def demand_stats(total_units: float, sum_of_squares: float, days: int) -> tuple[float, float]:
    """(mean daily demand, population standard deviation) from Σx and Σx² over `days` days (missing days = 0)."""
    if days <= 0:
        return 0.0, 0.0
    mean = total_units / days
    variance = max(sum_of_squares / days - mean ** 2, 0.0)
    return mean, math.sqrt(variance)


# --- inventory planning: the data -------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSettings:
    service_level: float = 0.95
    order_cost_usd: float = DEFAULT_ORDER_COST_USD
    holding_rate: float = DEFAULT_HOLDING_RATE
    lead_time_variance: bool = True


PLAN_COLUMNS = [
    "warehouse", "sku", "name", "supplier", "available", "inbound", "daily_demand", "sigma_d", "lead_time",
    "sigma_lead_time", "cover_days", "safety_stock", "reorder_point", "eoq", "order_qty", "unit_cost_usd",
    "order_cost", "status",
]


def inventory_plan(session: Session, as_of: dt.date, settings: PlanSettings = PlanSettings()) -> pd.DataFrame:
    """Per warehouse and SKU: stock, demand, lead time, SS, ROP, EOQ, cover, status and a suggested order."""
    latest = session.scalar(select(func.max(InventorySnapshot.day)).where(InventorySnapshot.day <= as_of))
    if latest is None:
        return pd.DataFrame(columns=PLAN_COLUMNS)
    stock = frame(session, select(
        InventorySnapshot.warehouse_id, InventorySnapshot.product_id,
        (InventorySnapshot.on_hand - InventorySnapshot.reserved).label("available"),
    ).where(InventorySnapshot.day == latest))
    inbound = frame(session, select(
        InboundShipment.warehouse_id, InboundShipment.product_id, func.sum(InboundShipment.quantity).label("inbound"),
    ).where(InboundShipment.status != "received", InboundShipment.ordered_on <= as_of)
        .group_by(InboundShipment.warehouse_id, InboundShipment.product_id))
    demand_end = session.scalar(select(func.max(DailyProductDemand.day)).where(DailyProductDemand.day <= as_of))
    demand_end = demand_end or latest
    demand_start = demand_end - dt.timedelta(days=DEMAND_WINDOW_DAYS - 1)
    demand = frame(session, select(
        DailyProductDemand.warehouse_id, DailyProductDemand.product_id,
        func.sum(DailyProductDemand.units).label("units"),
        func.sum(DailyProductDemand.units * DailyProductDemand.units).label("units_sq"),
    ).where(DailyProductDemand.day >= demand_start, DailyProductDemand.day <= demand_end)
        .group_by(DailyProductDemand.warehouse_id, DailyProductDemand.product_id))
    lanes = lane_lead_times(session, as_of)
    products = frame(session, select(
        Product.id.label("product_id"), Product.sku, Product.name, Product.unit_cost_cny, Product.supplier_id,
        Supplier.name.label("supplier"), Supplier.quoted_lead_time_days,
    ).join(Supplier, Supplier.id == Product.supplier_id, isouter=True).where(Product.status != "candidate"))
    warehouses = frame(session, select(Warehouse.id.label("warehouse_id"), Warehouse.code.label("warehouse")))

    keys = ["warehouse_id", "product_id"]
    plan = stock.merge(demand, on=keys, how="outer").merge(inbound, on=keys, how="left")
    plan = plan.merge(products, on="product_id", how="inner").merge(warehouses, on="warehouse_id", how="left")
    if plan.empty:
        return pd.DataFrame(columns=PLAN_COLUMNS)
    plan = plan.merge(lanes, on=["supplier_id", "warehouse_id"], how="left")
    for column in ("available", "inbound", "units", "units_sq"):
        plan[column] = plan[column].fillna(0).astype(float)
    plan["lead_time"] = plan["lead_time"].fillna(plan["quoted_lead_time_days"].astype(float))
    plan["sigma_lead_time"] = plan["sigma_lead_time"].fillna(0.0)
    cny = per_usd(session, "CNY", as_of)
    plan["unit_cost_usd"] = plan["unit_cost_cny"].astype(float) / cny
    z = z_score(settings.service_level)
    rows = []
    for row in plan.itertuples(index=False):
        d, sigma_d = demand_stats(row.units, row.units_sq, DEMAND_WINDOW_DAYS)
        lt = float(row.lead_time)
        if settings.lead_time_variance:
            ss = safety_stock_variable_lead_time(z, d, sigma_d, lt, float(row.sigma_lead_time))
        else:
            ss = safety_stock(z, sigma_d, lt)
        rop = reorder_point(d, lt, ss)
        q = eoq(d * 365, settings.order_cost_usd, settings.holding_rate * row.unit_cost_usd)
        cover = days_of_cover(row.available, d)
        qty = order_quantity(row.available + row.inbound, rop, q) if d > 0 else 0
        rows.append({
            "warehouse": row.warehouse, "sku": row.sku, "name": row.name, "supplier": row.supplier,
            "available": int(row.available), "inbound": int(row.inbound), "daily_demand": d, "sigma_d": sigma_d,
            "lead_time": lt, "sigma_lead_time": float(row.sigma_lead_time), "cover_days": cover,
            "safety_stock": ss, "reorder_point": rop, "eoq": q, "order_qty": qty,
            "unit_cost_usd": row.unit_cost_usd, "order_cost": qty * row.unit_cost_usd,
            "status": stock_status(cover, lt) if (row.available > 0 or d > 0) else "ok",
        })
    result = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    return result.sort_values(["warehouse", "sku"]).reset_index(drop=True)


def lane_lead_times(session: Session, as_of: dt.date) -> pd.DataFrame:
    """Mean and standard deviation of days from order to receipt per supplier → warehouse lane, over the POs
    received in the last year (sample standard deviation; 0 with a single PO)."""
    since = as_of - dt.timedelta(days=LANE_HISTORY_DAYS)
    received = frame(session, select(
        InboundShipment.supplier_id, InboundShipment.warehouse_id, InboundShipment.ordered_on,
        InboundShipment.received_on,
    ).where(InboundShipment.received_on.is_not(None), InboundShipment.received_on >= since,
            InboundShipment.received_on <= as_of))
    if received.empty:
        return pd.DataFrame(columns=["supplier_id", "warehouse_id", "lead_time", "sigma_lead_time"])
    received["days"] = (pd.to_datetime(received["received_on"]) - pd.to_datetime(received["ordered_on"])).dt.days
    lanes = received.groupby(["supplier_id", "warehouse_id"])["days"].agg(["mean", "std"]).reset_index()
    lanes = lanes.rename(columns={"mean": "lead_time", "std": "sigma_lead_time"})
    lanes["sigma_lead_time"] = lanes["sigma_lead_time"].fillna(0.0)
    return lanes


def purchase_suggestions(plan: pd.DataFrame) -> pd.DataFrame:
    """The rows of a plan that need an order now, largest spend first."""
    wanted = plan[plan["order_qty"] > 0]
    columns = ["warehouse", "sku", "name", "supplier", "available", "inbound", "reorder_point", "order_qty",
               "unit_cost_usd", "order_cost"]
    return wanted[columns].sort_values("order_cost", ascending=False).reset_index(drop=True)


# --- supplier scorecard ----------------------------------------------------------------------------------------


def supplier_score(quality: float, on_time: float, lead_time_score: float, price_score: float) -> float:
    """Weighted score: 0.35 quality + 0.30 on-time + 0.20 lead time + 0.15 price (each 0..1)."""
    parts = {"quality": quality, "on_time": on_time, "lead_time": lead_time_score, "price": price_score}
    return sum(SCORE_WEIGHTS[k] * min(max(v, 0.0), 1.0) for k, v in parts.items())


def lead_time_score(quoted_days: float, mean_days: float, cv: float) -> float:
    """min(1, quoted / actual mean) × (1 − min(1, CV))."""
    if mean_days <= 0:
        return 1.0
    return min(1.0, quoted_days / mean_days) * (1 - min(1.0, max(cv, 0.0)))


def price_score(price_index: float) -> float:
    """min(1, 100 / price index): paying the catalogue cost or less scores 1."""
    if price_index <= 0:
        return 1.0
    return min(1.0, 100.0 / price_index)


def grade(score: float) -> str:
    for letter, floor in thresholds.SUPPLIER_GRADE_FLOORS:
        if score >= floor - 1e-12:
            return letter
    return "D"


SCORECARD_COLUMNS = [
    "supplier", "pos", "units_received", "defect_rate", "return_rate", "quality", "on_time_rate", "lead_time",
    "lead_time_sd", "quoted_lead_time", "lead_time_score", "price_index", "score", "grade",
]


def supplier_scorecard(session: Session, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per supplier with POs received in [start, end] (see the module docstring for each column)."""
    return _score_pos(_received_pos(session, start, end), _suppliers(session), _return_rates(session, start, end))


def supplier_overview(session: Session, start: dt.date, end: dt.date, quarters: int = 4) -> dict[str, pd.DataFrame]:
    """The scorecard for [start, end] and its quarterly trend, reading the return rates once."""
    returns = _return_rates(session, start, end)
    suppliers = _suppliers(session)
    return {"scorecard": _score_pos(_received_pos(session, start, end), suppliers, returns),
            "trend": supplier_score_trend(session, start, end, quarters, returns=returns, suppliers=suppliers)}


def supplier_score_trend(session: Session, start: dt.date, end: dt.date, quarters: int = 4, *,
                         returns: dict[int, float] | None = None,
                         suppliers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each supplier's score over the last `quarters` 91-day periods ending at `end`. Defects, on-time delivery,
    lead time and price move by quarter; the return rate is held at its value over [start, end] (returns trail
    sales by weeks, so a quarter's own rate would mostly measure the previous quarter)."""
    first = end - dt.timedelta(days=91 * quarters - 1)
    pos = _received_pos(session, first, end)
    suppliers = _suppliers(session) if suppliers is None else suppliers
    returns = _return_rates(session, start, end) if returns is None else returns
    parts = []
    for back in range(quarters - 1, -1, -1):
        period_end = end - dt.timedelta(days=91 * back)
        period_start = period_end - dt.timedelta(days=90)
        received = pd.to_datetime(pos["received_on"]) if not pos.empty else pd.Series(dtype="datetime64[ns]")
        in_quarter = pos[(received >= pd.Timestamp(period_start)) & (received <= pd.Timestamp(period_end))]
        card = _score_pos(in_quarter, suppliers, returns)
        if not card.empty:
            parts.append(card[["supplier", "score", "grade"]].assign(period_end=period_end))
    if not parts:
        return pd.DataFrame(columns=["supplier", "score", "grade", "period_end"])
    return pd.concat(parts, ignore_index=True)


def _received_pos(session: Session, start: dt.date, end: dt.date) -> pd.DataFrame:
    return frame(session, select(
        InboundShipment.supplier_id, InboundShipment.product_id, InboundShipment.quantity,
        InboundShipment.defect_quantity, InboundShipment.ordered_on, InboundShipment.promised_on,
        InboundShipment.received_on, InboundShipment.unit_cost_cny, Product.unit_cost_cny.label("catalogue_cny"),
    ).join(Product, Product.id == InboundShipment.product_id)
        .where(InboundShipment.received_on.is_not(None), InboundShipment.received_on >= start,
               InboundShipment.received_on <= end))


def _suppliers(session: Session) -> pd.DataFrame:
    return frame(session, select(Supplier.id.label("supplier_id"), Supplier.name.label("supplier"),
                                 Supplier.quoted_lead_time_days))


def _return_rates(session: Session, start: dt.date, end: dt.date) -> dict[int, float]:
    """Units returned / units sold of each supplier's SKUs in [start, end]."""
    sold = dict(session.execute(
        select(DailyProductDemand.product_id, func.sum(DailyProductDemand.units))
        .where(DailyProductDemand.day >= start, DailyProductDemand.day <= end)
        .group_by(DailyProductDemand.product_id)
    ).all())
    returned = dict(session.execute(
        select(Return.product_id, func.sum(Return.quantity))
        .where(Return.requested_on >= start, Return.requested_on <= end).group_by(Return.product_id)
    ).all())
    owner = dict(session.execute(select(Product.id, Product.supplier_id)).all())
    sold_by, returned_by = {}, {}
    for product, units in sold.items():
        sold_by[owner.get(product)] = sold_by.get(owner.get(product), 0) + int(units or 0)
    for product, units in returned.items():
        returned_by[owner.get(product)] = returned_by.get(owner.get(product), 0) + int(units or 0)
    return {supplier: safe_ratio(returned_by.get(supplier, 0), units) or 0.0 for supplier, units in sold_by.items()
            if supplier is not None}


def _score_pos(pos: pd.DataFrame, suppliers: pd.DataFrame, return_rates: dict[int, float]) -> pd.DataFrame:
    if pos.empty:
        return pd.DataFrame(columns=SCORECARD_COLUMNS)
    pos = pos.copy()
    pos["days"] = (pd.to_datetime(pos["received_on"]) - pd.to_datetime(pos["ordered_on"])).dt.days
    pos["on_time"] = pd.to_datetime(pos["received_on"]) <= pd.to_datetime(pos["promised_on"])
    pos["price_ratio"] = pos["unit_cost_cny"].astype(float) / pos["catalogue_cny"].astype(float)
    grouped = pos.groupby("supplier_id").agg(
        pos=("days", "size"), units_received=("quantity", "sum"), defects=("defect_quantity", "sum"),
        on_time_rate=("on_time", "mean"), lead_time=("days", "mean"), lead_time_sd=("days", "std"),
        price_ratio=("price_ratio", "mean"),
    ).reset_index()
    table = grouped.merge(suppliers, on="supplier_id")
    rows = []
    for row in table.itertuples(index=False):
        defect_rate = safe_ratio(row.defects, row.units_received) or 0.0
        return_rate = return_rates.get(row.supplier_id, 0.0)
        quality = max(0.0, 1 - defect_rate - return_rate)
        sd = 0.0 if pd.isna(row.lead_time_sd) else float(row.lead_time_sd)
        cv = sd / row.lead_time if row.lead_time else 0.0
        lt_score = lead_time_score(float(row.quoted_lead_time_days), float(row.lead_time), cv)
        index = 100 * float(row.price_ratio)
        score = supplier_score(quality, float(row.on_time_rate), lt_score, price_score(index))
        rows.append({
            "supplier": row.supplier, "pos": int(row.pos), "units_received": int(row.units_received),
            "defect_rate": defect_rate, "return_rate": return_rate, "quality": quality,
            "on_time_rate": float(row.on_time_rate), "lead_time": float(row.lead_time), "lead_time_sd": sd,
            "quoted_lead_time": int(row.quoted_lead_time_days), "lead_time_score": lt_score, "price_index": index,
            "score": score, "grade": grade(score),
        })
    return pd.DataFrame(rows, columns=SCORECARD_COLUMNS).sort_values("score", ascending=False).reset_index(drop=True)


# --- shipping what-if ------------------------------------------------------------------------------------------


def shipping_baseline(session: Session, filters: Filters) -> pd.DataFrame:
    """Shipments and shipping cost per carrier and service in the filtered period (reporting currency)."""
    ccy = filters.currency
    stmt = select(DailyDelivery.carrier, DailyDelivery.service,
                  func.sum(DailyDelivery.shipments).label("shipments"),
                  func.sum(in_currency(DailyDelivery.cost_usd, ccy)).label("cost")).select_from(DailyDelivery)
    stmt = join_fx(stmt, DailyDelivery.day, ccy)
    stmt = where_filters(stmt, filters, day=DailyDelivery.day, market=DailyDelivery.market_code,
                         channel_id=DailyDelivery.channel_id).group_by(DailyDelivery.carrier, DailyDelivery.service)
    table = frame(session, stmt)
    if table.empty:
        return pd.DataFrame(columns=["carrier", "service", "shipments", "cost"])
    table["shipments"] = table["shipments"].astype(int)
    table["cost"] = table["cost"].astype(float)
    return table.sort_values(["carrier", "service"]).reset_index(drop=True)


def shipping_what_if(baseline: pd.DataFrame, days: int, rate_changes: dict[str, float] | None = None,
                     move_from: str | None = None, move_to: str | None = None,
                     move_share: float = 0.0) -> pd.DataFrame:
    """Monthly cost per service before and after the scenario (see the module docstring).

    rate_changes: carrier → change (0.05 = +5 %). move_share: share of `move_from`'s shipments sent with
    `move_to` instead, priced at `move_to`'s mean cost per shipment."""
    rate_changes = rate_changes or {}
    table = baseline.copy()
    if table.empty or days <= 0:
        return pd.DataFrame(columns=["carrier", "service", "shipments", "monthly_before", "shipments_after",
                                     "monthly_after", "monthly_change"])
    scale = DAYS_PER_MONTH / days
    table["mean_cost"] = table["cost"] / table["shipments"].where(table["shipments"] > 0)
    table["shipments_after"] = table["shipments"].astype(float)
    if move_from and move_to and move_from != move_to and move_share > 0:
        source = table["service"] == move_from
        target = table["service"] == move_to
        if source.any() and target.any():
            moved = float(table.loc[source, "shipments"].sum()) * min(move_share, 1.0)
            table.loc[source, "shipments_after"] -= moved
            table.loc[target, "shipments_after"] += moved
    factor = table["carrier"].map(lambda c: 1 + rate_changes.get(c, 0.0))
    table["monthly_before"] = table["cost"] * scale
    table["monthly_after"] = (table["shipments_after"] * table["mean_cost"].fillna(0) * factor) * scale
    table["monthly_change"] = table["monthly_after"] - table["monthly_before"]
    return table[["carrier", "service", "shipments", "monthly_before", "shipments_after", "monthly_after",
                  "monthly_change"]]


# --- what the page asks for (pickers, money in the reporting currency) ---------------------------------------


def picker_lists(session: Session) -> dict[str, pd.DataFrame]:
    """Markets, categories and sellable SKUs for the calculator and route pickers."""
    from core.platform.models import Category, Market

    return {
        "markets": frame(session, select(Market.code, Market.name, Market.currency).order_by(Market.code)),
        "categories": frame(session, select(Category.id, Category.name).order_by(Category.name)),
        "products": frame(session, select(Product.id, Product.sku, Product.name)
                          .where(Product.status == "active").order_by(Product.sku)),
    }


def _convert(table: pd.DataFrame, columns: list[str], rate: float) -> pd.DataFrame:
    table = table.copy()
    for column in columns:
        if column in table:
            table[column] = table[column].astype(float) * rate
    return table


def routes_in_currency(session: Session, product_id: int, market_code: str, on: dt.date, batch_units: int,
                       currency: str) -> pd.DataFrame:
    """core.landed_cost.product_route_options with its money in `currency` at the day's rate."""
    from core.landed_cost import LandedCostError, product_route_options

    try:
        options = product_route_options(session, product_id, market_code, on, batch_units)
    except LandedCostError:
        return pd.DataFrame()
    money = ["cost_per_unit", "freight_per_unit", "duty_per_unit", "cash_in_transit", "carrying_cost_per_unit"]
    return _convert(options, money, per_usd(session, currency, on))


def plan_in_currency(session: Session, as_of: dt.date, service_level: float, order_cost_usd: float,
                     holding_rate: float, lead_time_variance: bool, currency: str) -> pd.DataFrame:
    """inventory_plan with unit and order costs in `currency` at the day's rate."""
    plan = inventory_plan(session, as_of, PlanSettings(service_level, order_cost_usd, holding_rate,
                                                       lead_time_variance))
    if plan.empty:
        return plan
    return _convert(plan, ["unit_cost_usd", "order_cost"], per_usd(session, currency, as_of))
