"""`daily_profit`: the contribution-profit ledger, day x SKU x market x channel, every cost line in USD.

What each line is, where it comes from and how it is allocated is documented once, in `core.profit` (the module
the pages read); this module only writes it. One `INSERT ... SELECT` over a UNION ALL of five parts, summed by
key, so the rows never travel through Python:

- order lines of non-cancelled orders, filed on the order day, carrying their share of the order's costs
  (shipping and fulfilment by weight, everything else by net revenue);
- orders without lines (imports can book an order before its items): their costs on product 0;
- payments tied to no order (a wallet export): their fees, FX and chargebacks on product 0, on the attempt day;
- ad spend, filed on its day: a named SKU's to that SKU, the rest spread over the day's SKUs of its market x
  channel by net revenue (product 0 when nothing sold that day);
- storage, filed on each stock snapshot's day for the days until the next snapshot, spread over the markets x
  channels the SKU shipped to from that warehouse that month (market '' and channel 0 when it shipped nothing).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, Integer, String, and_, case, cast, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from core.platform.models import (
    AdCampaign,
    AdSpend,
    DailyProfit,
    DailyProfitMarkets,
    InventorySnapshot,
    Market,
    MarketplaceFee,
    MonthlyProfitSkus,
    Order,
    OrderLine,
    Payment,
    Product,
    Return,
    Shipment,
    SkuCost,
    StorageRate,
    Warehouse,
)
from core.platform.reference import TAX_EXCLUSIVE_MARKETS
from core.summaries.registry import register
from core.summaries.sql import days_between, first_of_month, in_range, is_sqlite, month_end, month_of, rebuild

KEYS = ("day", "product_id", "market_code", "channel_id")
COUNTS = ("orders", "units", "returned_units", "uncosted_units")
MEASURES = (
    "gross_sales_usd", "vat_usd", "discounts_usd", "net_revenue_usd", "shipping_income_usd", "product_cost_usd",
    "shipping_usd", "marketplace_fees_usd", "marketplace_fees_estimated_usd", "fulfilment_fees_usd",
    "payment_fees_usd", "fx_cost_usd", "duty_usd", "refunds_usd", "return_shipping_usd", "write_off_usd",
    "chargebacks_usd", "dispute_fees_usd", "advertising_usd", "unattributed_ads_usd", "storage_usd",
)
INCOME = ("net_revenue_usd", "shipping_income_usd")
# Subtracted from income to give the contribution (marketplace_fees_estimated_usd is a part of marketplace_fees_usd,
# gross sales, VAT and discounts lead to net revenue: none of them is subtracted again).
COSTS = tuple(m for m in MEASURES if m not in INCOME + ("gross_sales_usd", "vat_usd", "discounts_usd",
                                                          "marketplace_fees_estimated_usd"))
CAPTURED = ("succeeded", "refunded", "disputed")  # payments that took the money
DAYS_PER_MONTH = 365.25 / 12  # storage rates are per month; snapshots cover days
PEAK_MONTHS = (10, 11, 12)  # FBA's October-December storage rate
NO_PRODUCT, NO_MARKET, NO_CHANNEL = 0, "", 0
# Keyed by the order day (the first), and every raw table a line of the ledger comes from.
LEDGER_READS = ("orders", "order_lines", "shipments", "payments", "returns", "ad_spend", "ad_campaigns",
                "inventory_snapshots", "storage_rates", "marketplace_fees", "inbound_shipments",
                "product_cost_entries")
ROLLED_UP = (*COUNTS, *MEASURES, "contribution_usd")


def _zero():
    return literal(0.0, Float)


def _ratio(numerator, denominator):
    """numerator / denominator in floating point: SQLite stores whole amounts (a JPY total, 12.00) as integers,
    and integer division there truncates (a 12/24 share came out 0)."""
    return cast(numerator, Float) / denominator


def _part(keys: dict, values: dict):
    """One SELECT of the union: the four keys, then every count and measure (0 where the part has none)."""
    columns = [keys[k].label(k) for k in KEYS]
    columns += [cast(values.get(name, literal(0)), Integer).label(name) for name in COUNTS]
    columns += [cast(values.get(name, _zero()), Float).label(name) for name in MEASURES]
    return columns


def _orders_in(start, end):
    return and_(in_range(Order.order_date, start, end), Order.status != "cancelled")


def _order_costs(start, end):
    """One row per non-cancelled order of [start, end]: its lines' totals (for the allocation shares) and every
    order-level cost, each summed per order before the join so an order with several shipments or payment
    attempts is counted once."""
    def per_order(model, *measures, extra=()):
        return (select(model.order_id, *measures).join(Order, Order.id == model.order_id)
                .where(_orders_in(start, end), *extra).group_by(model.order_id).subquery())

    lines = (select(OrderLine.order_id, func.sum(OrderLine.revenue_usd).label("revenue"),
                    func.sum(OrderLine.quantity * Product.weight_kg).label("weight"), func.count().label("n_lines"))
             .join(Order, Order.id == OrderLine.order_id).join(Product, Product.id == OrderLine.product_id)
             .where(_orders_in(start, end)).group_by(OrderLine.order_id).subquery())
    fba = Warehouse.kind == "fba"
    ship = (select(Shipment.order_id,
                   func.sum(case((fba, 0), else_=Shipment.cost_usd)).label("shipping"),
                   func.sum(case((fba, Shipment.cost_usd), else_=0)).label("fulfilment"),
                   func.sum(Shipment.duty_usd + Shipment.import_vat_usd).label("duty"))
            .join(Order, Order.id == Shipment.order_id).join(Warehouse, Warehouse.id == Shipment.warehouse_id)
            .where(_orders_in(start, end)).group_by(Shipment.order_id).subquery())
    pay = per_order(Payment, *_payment_measures(), extra=(Payment.status.in_(CAPTURED),))
    refunded_by_returns = per_order(Return, func.sum(Return.refund_usd).label("return_refunds"))
    untaxed = case((Order.order_total > 0, _ratio(Order.order_total - Order.tax_total, Order.order_total)), else_=1.0)
    shipping_net = case((Order.market_code.in_(TAX_EXCLUSIVE_MARKETS), 1.0), else_=1.0 / (1.0 + Market.vat_rate))
    refund_rest = Order.refunded_usd - func.coalesce(refunded_by_returns.c.return_refunds, 0)
    stmt = (
        select(
            Order.id.label("order_id"), Order.order_date, Order.market_code, Order.channel_id, Order.usd_per_unit,
            case((Order.items_total > 0, _ratio(Order.discount_total, Order.items_total)),
                 else_=0.0).label("discount_share"),
            untaxed.label("untaxed"),
            (Order.shipping_charged * Order.usd_per_unit * shipping_net).label("shipping_income"),
            case((refund_rest > 0, refund_rest), else_=0.0).label("refund_rest"),
            lines.c.revenue, lines.c.weight, lines.c.n_lines,
            *[func.coalesce(ship.c[name], 0).label(name) for name in ("shipping", "fulfilment", "duty")],
            *[func.coalesce(pay.c[name], 0).label(name) for name in _PAYMENT_COLUMNS],
        )
        .join(Market, Market.code == Order.market_code)
        .outerjoin(lines, lines.c.order_id == Order.id)
        .outerjoin(ship, ship.c.order_id == Order.id)
        .outerjoin(pay, pay.c.order_id == Order.id)
        .outerjoin(refunded_by_returns, refunded_by_returns.c.order_id == Order.id)
        .where(_orders_in(start, end))
    )
    return stmt.subquery()


_PAYMENT_COLUMNS = ("marketplace_fees", "marketplace_payments", "payment_fees", "fx_cost", "chargebacks",
                    "dispute_fees")


def _payment_measures():
    """Per captured payment: a marketplace payout's fee is the marketplace's referral fee, any other is the
    gateway's (its conversion spread included); FX cost is the order-day value less the value the payout
    settled at; a lost dispute loses what was not refunded already, and its fee is charged won or lost."""
    marketplace = Payment.method == "marketplace"
    settled = Payment.settled_usd_per_unit.is_not(None)
    lost = Payment.dispute_outcome == "lost"
    return (
        func.sum(case((marketplace, Payment.fee_usd), else_=0)).label("marketplace_fees"),
        func.sum(case((marketplace, 1), else_=0)).label("marketplace_payments"),
        func.sum(case((marketplace, 0), else_=Payment.fee_usd)).label("payment_fees"),
        func.sum(case((settled, Payment.amount_usd - Payment.amount * Payment.settled_usd_per_unit),
                      else_=0)).label("fx_cost"),
        func.sum(case((lost, Payment.amount_usd - Payment.refunded_usd), else_=0)).label("chargebacks"),
        func.sum(Payment.dispute_fee_usd).label("dispute_fees"),
    )


def _fee_rate(channel_id, category_id, day):
    """The schedule's referral rate for a channel, category and day: the category's own row, else the channel's."""
    def rate(category_condition):
        return (select(MarketplaceFee.referral_rate)
                .where(MarketplaceFee.channel_id == channel_id, category_condition, MarketplaceFee.valid_from <= day,
                       or_(MarketplaceFee.valid_to.is_(None), MarketplaceFee.valid_to > day))
                .order_by(MarketplaceFee.valid_from.desc()).limit(1).scalar_subquery())

    return func.coalesce(rate(MarketplaceFee.category_id == category_id), rate(MarketplaceFee.category_id.is_(None)),
                         0.0)


def _lines_part(start, end):
    o = _order_costs(start, end)
    returned = (select(Return.order_id, Return.product_id, func.sum(Return.quantity).label("units"),
                       func.sum(case((Return.restockable, 0), else_=Return.quantity)).label("written_off"),
                       func.sum(Return.refund_usd).label("refund"),
                       func.sum(Return.return_shipping_usd).label("shipping"))
                .join(Order, Order.id == Return.order_id).where(_orders_in(start, end))
                .group_by(Return.order_id, Return.product_id).subquery())
    by_value = case((o.c.revenue > 0, _ratio(OrderLine.revenue_usd, o.c.revenue)), else_=_ratio(1, o.c.n_lines))
    by_weight = case((o.c.weight > 0, _ratio(OrderLine.quantity * Product.weight_kg, o.c.weight)), else_=by_value)
    unit_cost = func.coalesce(SkuCost.unit_cost_usd, 0)
    returned_units = func.coalesce(returned.c.units, 0)
    gross = OrderLine.line_total * o.c.usd_per_unit
    discounts = gross * o.c.discount_share
    # No marketplace payout on record (an imported order whose settlement we do not hold): the dated schedule
    # on what the buyer paid for the item.
    estimated_fee = case((o.c.marketplace_payments > 0, 0.0),
                         else_=(gross - discounts) * _fee_rate(o.c.channel_id, Product.category_id, o.c.order_date))
    values = {
        "orders": literal(1),  # one line per SKU per order: the orders holding the SKU (not additive across SKUs)
        "units": OrderLine.quantity,
        "returned_units": returned_units,
        "uncosted_units": case((SkuCost.unit_cost_usd.is_(None), OrderLine.quantity), else_=0),
        "gross_sales_usd": gross,
        "discounts_usd": discounts,
        "vat_usd": gross - discounts - OrderLine.revenue_usd,
        "net_revenue_usd": OrderLine.revenue_usd,
        "shipping_income_usd": o.c.shipping_income * by_value,
        "product_cost_usd": unit_cost * (OrderLine.quantity - returned_units),
        "shipping_usd": o.c.shipping * by_weight,
        "fulfilment_fees_usd": o.c.fulfilment * by_weight,
        "marketplace_fees_usd": o.c.marketplace_fees * by_value + estimated_fee,
        "marketplace_fees_estimated_usd": estimated_fee,
        "payment_fees_usd": o.c.payment_fees * by_value,
        "fx_cost_usd": o.c.fx_cost * by_value,
        "duty_usd": o.c.duty * by_value,
        "refunds_usd": (func.coalesce(returned.c.refund, 0) + o.c.refund_rest * by_value) * o.c.untaxed,
        "return_shipping_usd": func.coalesce(returned.c.shipping, 0),
        "write_off_usd": unit_cost * func.coalesce(returned.c.written_off, 0),
        "chargebacks_usd": o.c.chargebacks * by_value,
        "dispute_fees_usd": o.c.dispute_fees * by_value,
    }
    keys = {"day": o.c.order_date, "product_id": OrderLine.product_id, "market_code": o.c.market_code,
            "channel_id": o.c.channel_id}
    return (
        select(*_part(keys, values))
        .select_from(OrderLine)
        .join(o, o.c.order_id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(returned, and_(returned.c.order_id == OrderLine.order_id,
                                  returned.c.product_id == OrderLine.product_id))
        .outerjoin(SkuCost, and_(SkuCost.product_id == OrderLine.product_id, SkuCost.valid_from <= o.c.order_date,
                                 SkuCost.valid_to > o.c.order_date))
    )


def _orders_without_lines_part(start, end):
    o = _order_costs(start, end)
    keys = {"day": o.c.order_date, "product_id": literal(NO_PRODUCT), "market_code": o.c.market_code,
            "channel_id": o.c.channel_id}
    values = {
        "orders": literal(1), "shipping_income_usd": o.c.shipping_income, "shipping_usd": o.c.shipping,
        "fulfilment_fees_usd": o.c.fulfilment, "marketplace_fees_usd": o.c.marketplace_fees,
        "payment_fees_usd": o.c.payment_fees, "fx_cost_usd": o.c.fx_cost, "duty_usd": o.c.duty,
        "refunds_usd": o.c.refund_rest * o.c.untaxed, "chargebacks_usd": o.c.chargebacks,
        "dispute_fees_usd": o.c.dispute_fees,
    }
    return select(*_part(keys, values)).where(o.c.n_lines.is_(None))


def _unlinked_payments_part(start, end):
    measures = {m.name: m for m in _payment_measures()}
    stmt = (select(Payment.attempt_date, Payment.market_code, Payment.channel_id,
                   *[measures[name].element.label(name) for name in _PAYMENT_COLUMNS])
            .where(Payment.order_id.is_(None), Payment.status.in_(CAPTURED),
                   in_range(Payment.attempt_date, start, end))
            .group_by(Payment.attempt_date, Payment.market_code, Payment.channel_id).subquery())
    keys = {"day": stmt.c.attempt_date, "product_id": literal(NO_PRODUCT), "market_code": stmt.c.market_code,
            "channel_id": stmt.c.channel_id}
    values = {"marketplace_fees_usd": stmt.c.marketplace_fees, "payment_fees_usd": stmt.c.payment_fees,
              "fx_cost_usd": stmt.c.fx_cost, "chargebacks_usd": stmt.c.chargebacks,
              "dispute_fees_usd": stmt.c.dispute_fees}
    return select(*_part(keys, values))


def _advertising_parts(start, end):
    spend = (select(AdSpend.day, AdSpend.product_id, AdCampaign.market_code, AdCampaign.channel_id,
                    func.sum(AdSpend.spend_usd).label("spend"))
             .join(AdCampaign, AdCampaign.id == AdSpend.campaign_id)
             .where(in_range(AdSpend.day, start, end))
             .group_by(AdSpend.day, AdSpend.product_id, AdCampaign.market_code, AdCampaign.channel_id).subquery())
    named = select(*_part({"day": spend.c.day, "product_id": spend.c.product_id, "market_code": spend.c.market_code,
                           "channel_id": spend.c.channel_id}, {"advertising_usd": spend.c.spend})
                   ).where(spend.c.product_id.is_not(None))

    revenue = (select(Order.order_date.label("day"), OrderLine.product_id, Order.market_code, Order.channel_id,
                      func.sum(OrderLine.revenue_usd).label("revenue"))
               .join(Order, Order.id == OrderLine.order_id).where(_orders_in(start, end))
               .group_by(Order.order_date, OrderLine.product_id, Order.market_code, Order.channel_id).subquery())
    total = (select(revenue.c.day, revenue.c.market_code, revenue.c.channel_id,
                    func.sum(revenue.c.revenue).label("revenue"))
             .group_by(revenue.c.day, revenue.c.market_code, revenue.c.channel_id).subquery())
    unnamed = spend.c.product_id.is_(None)
    same_cell = and_(total.c.day == spend.c.day, total.c.market_code == spend.c.market_code,
                     total.c.channel_id == spend.c.channel_id)
    spread = (
        select(*_part({"day": spend.c.day, "product_id": revenue.c.product_id, "market_code": spend.c.market_code,
                       "channel_id": spend.c.channel_id},
                      {"unattributed_ads_usd": spend.c.spend * _ratio(revenue.c.revenue, total.c.revenue)}))
        .select_from(spend).join(total, same_cell)
        .join(revenue, and_(revenue.c.day == spend.c.day, revenue.c.market_code == spend.c.market_code,
                            revenue.c.channel_id == spend.c.channel_id))
        .where(unnamed, total.c.revenue > 0)
    )
    nowhere = (
        select(*_part({"day": spend.c.day, "product_id": literal(NO_PRODUCT), "market_code": spend.c.market_code,
                       "channel_id": spend.c.channel_id}, {"unattributed_ads_usd": spend.c.spend}))
        .select_from(spend).outerjoin(total, same_cell)
        .where(unnamed, or_(total.c.revenue.is_(None), total.c.revenue <= 0))
    )
    return [named, spread, nowhere]


def _month_number(session: Session, day):
    if is_sqlite(session):
        return cast(func.strftime("%m", day), Integer)
    return cast(func.extract("month", day), Integer)


def _storage_part(session: Session, start, end):
    later = aliased(InventorySnapshot)
    next_day = (select(func.min(later.day))
                .where(later.warehouse_id == InventorySnapshot.warehouse_id,
                       later.product_id == InventorySnapshot.product_id, later.day > InventorySnapshot.day)
                .scalar_subquery())
    covered = func.coalesce(days_between(session, next_day, InventorySnapshot.day), 1)
    volume_m3 = Product.length_cm * Product.width_cm * Product.height_cm / 1_000_000.0
    rate = case((_month_number(session, InventorySnapshot.day).in_(PEAK_MONTHS), StorageRate.peak_usd_per_m3_month),
                else_=StorageRate.usd_per_m3_month)
    held = (
        select(InventorySnapshot.day, InventorySnapshot.warehouse_id, InventorySnapshot.product_id,
               month_of(session, InventorySnapshot.day).label("month"),
               (InventorySnapshot.on_hand * volume_m3 * rate * covered / DAYS_PER_MONTH).label("cost"))
        .join(Product, Product.id == InventorySnapshot.product_id)
        .join(StorageRate, and_(StorageRate.warehouse_id == InventorySnapshot.warehouse_id,
                                StorageRate.valid_from <= InventorySnapshot.day,
                                or_(StorageRate.valid_to.is_(None), StorageRate.valid_to > InventorySnapshot.day)))
        .where(in_range(InventorySnapshot.day, start, end), InventorySnapshot.on_hand > 0)
        .subquery()
    )
    # Where each warehouse's units of a SKU went, per month: the shares storage is spread by.
    month = month_of(session, Order.order_date)
    shipped = (
        select(month.label("month"), Shipment.warehouse_id, OrderLine.product_id, Order.market_code, Order.channel_id,
               func.sum(OrderLine.quantity).label("units"))
        .join(Order, Order.id == Shipment.order_id).join(OrderLine, OrderLine.order_id == Order.id)
        .where(_orders_in(first_of_month(start), month_end(end)))
        .group_by(month, Shipment.warehouse_id, OrderLine.product_id, Order.market_code, Order.channel_id)
        .subquery()
    )
    total = (select(shipped.c.month, shipped.c.warehouse_id, shipped.c.product_id,
                    func.sum(shipped.c.units).label("units"))
             .group_by(shipped.c.month, shipped.c.warehouse_id, shipped.c.product_id).subquery())
    same = and_(total.c.month == held.c.month, total.c.warehouse_id == held.c.warehouse_id,
                total.c.product_id == held.c.product_id)
    spread = (
        select(*_part({"day": held.c.day, "product_id": held.c.product_id, "market_code": shipped.c.market_code,
                       "channel_id": shipped.c.channel_id},
                      {"storage_usd": held.c.cost * _ratio(shipped.c.units, total.c.units)}))
        .select_from(held).join(total, same)
        .join(shipped, and_(shipped.c.month == held.c.month, shipped.c.warehouse_id == held.c.warehouse_id,
                            shipped.c.product_id == held.c.product_id))
        .where(total.c.units > 0)
    )
    unsold = (
        select(*_part({"day": held.c.day, "product_id": held.c.product_id, "market_code": literal(NO_MARKET, String),
                       "channel_id": literal(NO_CHANNEL)}, {"storage_usd": held.c.cost}))
        .select_from(held).outerjoin(total, same)
        .where(or_(total.c.units.is_(None), total.c.units <= 0))
    )
    return [spread, unsold]


@register("daily_profit", *LEDGER_READS)
def refresh_daily_profit(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    parts = [_lines_part(start, end), _orders_without_lines_part(start, end), _unlinked_payments_part(start, end),
             *_advertising_parts(start, end), *_storage_part(session, start, end)]
    union = union_all(*parts).subquery()
    sums = [func.sum(union.c[name]).label(name) for name in COUNTS + MEASURES]
    contribution = (sum((func.sum(union.c[name]) for name in INCOME), literal(0.0))
                    - sum((func.sum(union.c[name]) for name in COSTS), literal(0.0)))
    stmt = (select(*[union.c[k] for k in KEYS], *sums, contribution.label("contribution_usd"))
            .group_by(*[union.c[k] for k in KEYS]))
    return rebuild(session, DailyProfit, DailyProfit.day, start, end, stmt)



# The roll-ups read daily_profit, just rebuilt for the same range (they register after it, so refresh_all and
# refresh_affected run them in that order and with the same days).
@register("daily_profit_markets", *LEDGER_READS)
def refresh_daily_profit_markets(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    keys = (DailyProfit.day, DailyProfit.market_code, DailyProfit.channel_id)
    stmt = (select(*keys, *[func.sum(getattr(DailyProfit, name)).label(name) for name in ROLLED_UP])
            .where(in_range(DailyProfit.day, start, end)).group_by(*keys))
    return rebuild(session, DailyProfitMarkets, DailyProfitMarkets.day, start, end, stmt)


@register("monthly_profit_skus", *LEDGER_READS)
def refresh_monthly_profit_skus(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    month = month_of(session, DailyProfit.day)
    keys = (DailyProfit.product_id, DailyProfit.market_code, DailyProfit.channel_id)
    stmt = (select(month.label("month"), *keys, *[func.sum(getattr(DailyProfit, name)).label(name)
                                                    for name in ROLLED_UP])
            .where(in_range(DailyProfit.day, first_of_month(start), month_end(end))).group_by(month, *keys))
    return rebuild(session, MonthlyProfitSkus, MonthlyProfitSkus.month, first_of_month(start), first_of_month(end),
                   stmt)


def refresh_ledger(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """daily_profit and its roll-ups for [start, end] (after a change only the ledger reads, like a unit cost)."""
    return sum(run(session, start, end) for run in (refresh_daily_profit, refresh_daily_profit_markets,
                                                    refresh_monthly_profit_skus))


__all__ = ["COSTS", "INCOME", "KEYS", "MEASURES", "NO_CHANNEL", "NO_MARKET", "NO_PRODUCT", "refresh_daily_profit",
           "refresh_daily_profit_markets", "refresh_ledger", "refresh_monthly_profit_skus"]
