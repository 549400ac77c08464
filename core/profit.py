"""Contribution profit: the one definition of margin and profit in the product.

Every page that shows a margin, a profit or a cost per unit reads it from here (Overview, Profit, Market research,
Product selection, What-if). The ledger is `daily_profit` (day x SKU x market x channel, USD), written by
`core.summaries.profit` from the transactions we hold; this module reads it, converts to the reporting currency
at each day's rate, and names every line, its source and how it is allocated.

    contribution = net revenue + shipping charged - every cost line below
    contribution margin = contribution / net revenue

| line | source | allocation to a SKU |
| --- | --- | --- |
| gross sales | order lines (`line_total` at the order-day rate), non-cancelled orders | the line |
| VAT | gross sales - discounts - net revenue: the VAT in the shelf price (0 where prices exclude tax) | the line |
| discounts | the order's `discount_total`, in proportion to its lines' value | line value |
| **net revenue** | `order_lines.revenue_usd`: net of VAT and discounts (the Overview's net revenue) | the line |
| shipping charged | what the buyer paid for shipping, net of VAT | net revenue |
| product cost (landed) | `sku_costs` (core.summaries.costs): moving weighted average of purchase batches (supplier price at the PO-date rate + freight + duty), else a manager's dated entry; on units sold less units returned | the line |
| outbound shipping | `shipments.cost_usd`, actual, from warehouses other than FBA | weight (quantity x unit kg) |
| marketplace and fulfilment fees | the marketplace payout's fee (its referral fee, actual) and the cost of FBA shipments (Amazon's fulfilment fee, actual); **estimated** from the dated `marketplace_fees` schedule where no payout is on record | net revenue (fees), weight (FBA) |
| payment fees | `payments.fee_usd` of captured non-marketplace payments, actual (gateways bill their conversion spread in the fee) | net revenue |
| FX cost | order-day value - the value at the rate the payout settled at, actual (negative = an FX gain) | net revenue |
| duty and import VAT (DDP) | `shipments.duty_usd + import_vat_usd`, computed by core.landed_cost when the parcel was booked | net revenue |
| refunds | refunds paid, net of the tax they give back: a return's refund to its SKU, the rest of the order's refund (lost parcels, goodwill) by net revenue | the line / net revenue |
| return shipping | `returns.return_shipping_usd`, actual | the returned SKU |
| write-off | returned units that cannot be resold, at their landed unit cost | the returned SKU |
| chargebacks | a lost dispute's amount not already refunded | net revenue |
| dispute fees | the scheme fee on every dispute, won or lost | net revenue |
| advertising | `ad_spend` a platform attributes to a SKU, actual | the SKU |
| unattributed advertising | **allocated**: spend no SKU is named for, spread over the day's SKUs of its market x channel by net revenue | net revenue |
| storage | **estimated**: stock on hand at each weekly snapshot x unit volume x the warehouse's dated rate per m³-month (October-December rate at FBA), for the days until the next snapshot | units the warehouse shipped to each market x channel that month |

Costs no SKU can carry keep their own rows so every total adds up: product 0 ("no SKU": unattributed spend on a
day nothing sold there, costs of an order booked without lines, payments tied to no order) and market '' /
channel 0 (storage of stock that shipped nothing that month). They count in every total and are listed as such.

Days are order days: a return or a dispute counts against the day of its order, so a period's figures can
still move while its orders are returned. Ad spend and storage are filed on their own days.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, fields

import pandas as pd
from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from core import thresholds
from core.platform import users
from core.platform.filters import Filters, KpiDelta
from core.platform.i18n import N_
from core.platform.models import (
    AuditEvent,
    Category,
    Channel,
    DailyProfit,
    DailyProfitMarkets,
    DailySales,
    InboundShipment,
    Market,
    MarketplaceFee,
    MonthlyProfitSkus,
    Product,
    ProductCostEntry,
)
from core.platform.queries import frame, in_currency, join_fx, month_start, safe_ratio, where_filters
from core.summaries import refresh_sku_costs
from core.summaries.profit import COUNTS, NO_PRODUCT, ROLLED_UP, refresh_ledger

# --- the lines ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    key: str  # the measure's name, without _usd
    label: str  # English; pages translate it
    kind: str  # "income", "deduction" (gross sales to net revenue), "cost", "total"
    basis: str  # "actual", "estimated", "allocated"
    how: str  # where it comes from, in one sentence (help text)


LINES: tuple[Line, ...] = (
    Line("gross_sales", N_("Gross sales"), "income", "actual",
         N_("What buyers paid for the items on non-cancelled orders, VAT included where shelf prices include it.")),
    Line("vat", N_("VAT"), "deduction", "actual",
         N_("The VAT or GST inside the shelf price (none where prices exclude tax).")),
    Line("discounts", N_("Discounts"), "deduction", "actual",
         N_("Order discounts, shared over the order's items by their value.")),
    Line("net_revenue", N_("Net revenue"), "total", "actual", N_("Item revenue net of VAT and discounts.")),
    Line("shipping_income", N_("Shipping charged"), "income", "actual",
         N_("What buyers paid for shipping, net of VAT.")),
    Line("product_cost", N_("Product cost (landed)"), "cost", "actual",
         N_("Moving weighted average landed cost of the SKU's purchase batches (supplier price at the PO-date rate, "
          "freight and duty), or a manager's dated entry before its first batch; on units kept by the buyer.")),
    Line("shipping", N_("Outbound shipping"), "cost", "actual",
         N_("Carrier cost of each order's shipments, shared over its items by weight.")),
    Line("marketplace_fees", N_("Marketplace and fulfilment fees"), "cost", "actual",
         N_("Referral fees from the marketplace payouts and Amazon's fulfilment fee on FBA orders; estimated from "
          "the dated fee schedule for orders whose payout we do not hold.")),
    Line("payment_fees", N_("Payment fees"), "cost", "actual",
         N_("Gateway fees on the captured payments, currency conversion included.")),
    Line("fx_cost", N_("FX cost"), "cost", "actual",
         N_("Order-day value less the value at the rate the payout settled at (negative: a gain).")),
    Line("duty", N_("Duty and import VAT (DDP)"), "cost", "actual",
         N_("Duty and import VAT we paid on parcels shipped delivered-duty-paid, stored when each was booked.")),
    Line("refunds", N_("Refunds"), "cost", "actual",
         N_("Refunds paid to buyers, net of the tax they give back.")),
    Line("return_shipping", N_("Return shipping"), "cost", "actual", N_("Return labels we paid for.")),
    Line("write_off", N_("Returned units written off"), "cost", "estimated",
         N_("Returned units that cannot be resold, at their landed unit cost.")),
    Line("chargebacks", N_("Chargebacks lost"), "cost", "actual",
         N_("Disputed amounts we lost, less refunds already paid.")),
    Line("dispute_fees", N_("Dispute fees"), "cost", "actual",
         N_("The card scheme's fee on each dispute, won or lost.")),
    Line("advertising", N_("Advertising"), "cost", "actual", N_("Ad spend the ad platform attributes to the SKU.")),
    Line("unattributed_ads", N_("Unattributed advertising"), "cost", "allocated",
         N_("Ad spend no SKU is named for, spread over the day's SKUs of its market and channel by net revenue: an "
          "allocation, not a measurement.")),
    Line("storage", N_("Storage"), "cost", "estimated",
         N_("Units on hand at each weekly stock count x unit volume x the warehouse's monthly rate per cubic metre "
          "(FBA's higher October-December rate), spread over the markets the stock shipped to.")),
    Line("contribution", N_("Contribution profit"), "total", "actual",
         N_("Net revenue and shipping charged less every cost above.")),
)
COST_KEYS = tuple(line.key for line in LINES if line.kind == "cost")
# The marketplace line shows FBA fulfilment with the referral fees: the ledger keeps them apart.
COLUMNS_OF = {"marketplace_fees": ("marketplace_fees", "fulfilment_fees")}
AMOUNTS = ("gross_sales", "vat", "discounts", "net_revenue", "shipping_income", *COST_KEYS, "contribution",
           "marketplace_fees_estimated")
GROUPINGS = ("sku", "sku_market", "sku_market_channel", "market", "channel", "category")
GROUP_KEYS = {"sku": ("product_id",), "sku_market": ("product_id", "market_code"),
              "sku_market_channel": ("product_id", "market_code", "channel_id"), "market": ("market_code",),
              "channel": ("channel_id",), "category": ("category_id",)}


@dataclass(frozen=True)
class Selection:
    """One row of the profit table to drill into; None = every value."""

    product_id: int | None = None
    market_code: str | None = None
    channel_id: int | None = None
    category_id: int | None = None

    @property
    def needs_skus(self) -> bool:
        return self.product_id is not None or self.category_id is not None


# --- where the rows come from ---------------------------------------------------------------------------------
# daily_profit has about one row per order line (1.3M at 1M orders). Totals, the waterfall and the trend over all
# SKUs read its day x market x channel roll-up; SKU cuts in USD read whole months from the monthly roll-up and only
# a period's edge days from daily_profit. In EUR or CNY each day converts at its own rate, so SKU cuts read
# daily_profit: slower, never a different figure.


def _in_currency(model, name: str, currency: str):
    column = getattr(model, name)
    return (column if name in COUNTS else in_currency(column, currency)).label(name)


def _select(model, day, filters: Filters, selection: Selection | None, keys: tuple[str, ...]):
    """`model`'s rows within the filters (its own day or month column `day`), amounts in the reporting currency."""
    stmt = select(*[getattr(model, key).label(key) for key in keys],
                  *[_in_currency(model, name, filters.currency) for name in ROLLED_UP]).select_from(model)
    stmt = where_filters(join_fx(stmt, day, filters.currency), filters, day=day, market=model.market_code,
                         channel_id=model.channel_id)
    if selection is not None:
        for key in ("product_id", "market_code", "channel_id"):
            if getattr(selection, key) is not None:
                stmt = stmt.where(getattr(model, key) == getattr(selection, key))
        if selection.category_id is not None:
            in_category = select(Product.id).where(Product.category_id == selection.category_id)
            stmt = stmt.where(model.product_id.in_(in_category))
    return stmt


def _whole_months(filters: Filters) -> tuple[dt.date, dt.date] | None:
    """The first days of the first and last calendar months the filters cover whole, None if none."""
    first = filters.start if filters.start.day == 1 else \
        (filters.start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    after = filters.end + dt.timedelta(days=1)
    last_end = filters.end if after.day == 1 else filters.end.replace(day=1) - dt.timedelta(days=1)
    return (first, last_end.replace(day=1)) if first <= last_end else None


def _rows(filters: Filters, keys: tuple[str, ...], selection: Selection | None = None, *, by_day: bool = False):
    """A subquery of ledger rows over the filters with `keys` and every count and amount of `ROLLED_UP`."""
    skus = "product_id" in keys or (selection is not None and selection.needs_skus)
    if not skus:
        return _select(DailyProfitMarkets, DailyProfitMarkets.day, filters, selection, keys).subquery()
    months = None if by_day or filters.currency != "USD" else _whole_months(filters)
    if months is None:
        return _select(DailyProfit, DailyProfit.day, filters, selection, keys).subquery()
    first, last = months
    within = Filters(first, last, filters.markets, filters.channels, filters.currency)
    parts = [_select(MonthlyProfitSkus, MonthlyProfitSkus.month, within, selection, keys)]
    last_day = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    for lo, hi in ((filters.start, first - dt.timedelta(days=1)), (last_day + dt.timedelta(days=1), filters.end)):
        if lo <= hi:
            edge = Filters(lo, hi, filters.markets, filters.channels, filters.currency)
            parts.append(_select(DailyProfit, DailyProfit.day, edge, selection, keys))
    return union_all(*parts).subquery()


def _amount(rows, name: str):
    """The sum of one of `AMOUNTS` (or a ledger column) over `rows`; the marketplace line includes FBA fulfilment."""
    columns = COLUMNS_OF.get(name, (name,))
    total = sum((rows.c[f"{c}_usd"] for c in columns[1:]), rows.c[f"{columns[0]}_usd"])
    return func.coalesce(func.sum(total), 0.0).label(name)


def _count(rows, name: str):
    return func.coalesce(func.sum(rows.c[name]), 0).label(name)


def totals(session: Session, filters: Filters, selection: Selection | None = None) -> dict[str, float]:
    """Every amount of `AMOUNTS` plus units, over the filters (and a selected row), in the reporting currency."""
    rows = _rows(filters, (), selection)
    stmt = select(*[_amount(rows, name) for name in AMOUNTS], _count(rows, "units"), _count(rows, "uncosted_units"))
    row = session.execute(stmt).one()._mapping
    return {key: float(value) for key, value in row.items()}


def margin(contribution: float | None, net_revenue: float | None) -> float | None:
    """Contribution margin: contribution / net revenue (None without revenue)."""
    return safe_ratio(contribution, net_revenue)


# --- KPIs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfitKpis:
    net_revenue: float
    contribution: float
    contribution_margin: float | None
    profit_per_order: float | None
    loss_making_skus: int


def orders(session: Session, filters: Filters) -> int:
    """Non-cancelled orders (the ledger counts an order once per SKU it holds, so totals count from daily_sales)."""
    stmt = where_filters(select(func.coalesce(func.sum(DailySales.orders), 0)), filters, day=DailySales.day,
                         market=DailySales.market_code, channel_id=DailySales.channel_id)
    return int(session.scalar(stmt))


def kpis(session: Session, filters: Filters) -> ProfitKpis:
    total = totals(session, filters)
    count = orders(session, filters)
    return ProfitKpis(
        net_revenue=total["net_revenue"], contribution=total["contribution"],
        contribution_margin=margin(total["contribution"], total["net_revenue"]),
        profit_per_order=safe_ratio(total["contribution"], count),
        loss_making_skus=loss_making_skus(session, filters),
    )


def kpi_deltas(session: Session, filters: Filters) -> list[KpiDelta]:
    current, previous = kpis(session, filters), kpis(session, filters.previous_period())
    return [KpiDelta(f.name, getattr(current, f.name), getattr(previous, f.name)) for f in fields(ProfitKpis)]


# --- the waterfall, the trend, the table -----------------------------------------------------------------------


def waterfall(session: Session, filters: Filters, selection: Selection | None = None) -> pd.DataFrame:
    """The P&L steps in order: amount (costs and deductions negative), share of net revenue, the running total
    where the step ends, and each line's basis and help text."""
    total = totals(session, filters, selection)
    revenue = total["net_revenue"]
    rows, running = [], 0.0
    for line in LINES:
        amount = total[line.key]
        if line.kind in ("deduction", "cost"):
            amount = -amount
        if line.kind == "total":
            start, running = 0.0, amount
        else:
            start, running = running, running + amount
        basis = line.basis
        if line.key == "marketplace_fees" and total["marketplace_fees_estimated"] > 0.005:
            basis = "partly_estimated"
        rows.append({"key": line.key, "label": line.label, "kind": line.kind, "amount": amount, "start": start,
                     "end": running, "share": safe_ratio(amount, revenue), "basis": basis, "how": line.how})
    return pd.DataFrame(rows)


def _partial(month: pd.Timestamp, filters: Filters) -> bool:
    first = month.date()
    last = (month + pd.offsets.MonthEnd(0)).date()
    return filters.start > first or filters.end < last


def monthly(session: Session, filters: Filters, selection: Selection | None = None) -> pd.DataFrame:
    """Net revenue, contribution and margin per month; `partial` where the filters cover only part of it."""
    rows = _rows(filters, ("day",), selection, by_day=True)
    month = month_start(session, rows.c.day)
    stmt = (select(month.label("month"), _amount(rows, "net_revenue"), _amount(rows, "contribution"))
            .group_by(month).order_by(month))
    data = frame(session, stmt)
    if data.empty:
        return pd.DataFrame(columns=["month", "net_revenue", "contribution", "margin", "partial"])
    data["month"] = pd.to_datetime(data["month"])
    data["net_revenue"] = data["net_revenue"].astype(float)
    data["contribution"] = data["contribution"].astype(float)
    data["margin"] = data["contribution"] / data["net_revenue"].where(data["net_revenue"] != 0)
    data["partial"] = [_partial(m, filters) for m in data["month"]]
    return data


def _grouped(session: Session, filters: Filters, grouping: str, names: tuple[str, ...],
             counts: tuple[str, ...] = ("units",)) -> pd.DataFrame:
    """`names` (amounts) and `counts` summed per group of `GROUP_KEYS[grouping]`, keys only."""
    if grouping not in GROUPINGS:
        raise ValueError(f"Unknown grouping {grouping!r}; one of {', '.join(GROUPINGS)}")
    keys = GROUP_KEYS[grouping]
    rows = _rows(filters, ("product_id",) if grouping == "category" else keys)
    if grouping == "category":
        by = [Product.category_id.label("category_id")]
        stmt = select(*by).select_from(rows).outerjoin(Product, Product.id == rows.c.product_id)
    else:
        by = [rows.c[key] for key in keys]
        stmt = select(*by)
    stmt = stmt.add_columns(*[_count(rows, name) for name in counts], *[_amount(rows, name) for name in names])
    data = frame(session, stmt.group_by(*by))
    if data.empty:
        return pd.DataFrame(columns=[*keys, *counts, *names])
    for name in names:
        data[name] = data[name].astype(float)
    for name in counts:
        data[name] = data[name].fillna(0).astype(int)
    return data


def _loss_makers(data: pd.DataFrame) -> pd.Series:
    """Contribution < 0 over the period on at least `thresholds.LOSS_MAKER_MIN_UNITS` units."""
    return (data["contribution"] < 0) & (data["units"] >= thresholds.LOSS_MAKER_MIN_UNITS)


def table(session: Session, filters: Filters, grouping: str) -> pd.DataFrame:
    """One row per group: names, units, net revenue, every cost line, contribution, margin and `loss_maker`."""
    data = _grouped(session, filters, grouping, AMOUNTS, ("units", "uncosted_units"))
    if data.empty:
        return pd.DataFrame(columns=[*GROUP_KEYS[grouping], "units", *AMOUNTS, "margin", "loss_maker"])
    data["margin"] = data["contribution"] / data["net_revenue"].where(data["net_revenue"] > 0)
    data["loss_maker"] = _loss_makers(data)
    data = _with_names(session, data)
    return data.sort_values("contribution").reset_index(drop=True)


def loss_making_skus(session: Session, filters: Filters) -> int:
    """How many SKUs are loss-makers over the filters (the KPI; two columns instead of the whole table)."""
    data = _grouped(session, filters, "sku", ("contribution",))
    return int(_loss_makers(data[data["product_id"] != NO_PRODUCT]).sum()) if not data.empty else 0


def _with_names(session: Session, data: pd.DataFrame) -> pd.DataFrame:
    """SKU, product, market, channel and category names beside the keys (product 0: no SKU)."""
    if "product_id" in data:
        products = frame(session, select(Product.id, Product.sku, Product.name, Product.category_id))
        products = products.rename(columns={"id": "product_id", "name": "product"})
        data = data.merge(products, on="product_id", how="left")
        data["category_id"] = data["category_id"].astype("Int64")
    if "market_code" in data:
        names = dict(session.execute(select(Market.code, Market.name)).all())
        data["market"] = data["market_code"].map(names)
    if "channel_id" in data:
        channels = dict(session.execute(select(Channel.id, Channel.code)).all())
        data["channel"] = data["channel_id"].map(channels)
    if "category_id" in data:
        categories = dict(session.execute(select(Category.id, Category.code)).all())
        data["category"] = data["category_id"].map(lambda c: categories.get(c) if pd.notna(c) else None)
    return data


def uncosted_sales(session: Session, filters: Filters) -> pd.DataFrame:
    """SKUs sold in the period with units no unit cost covers (costed at 0 until a cost is entered)."""
    rows = _rows(filters, ("day", "product_id"), by_day=True)
    stmt = (select(rows.c.product_id, func.sum(rows.c.uncosted_units).label("units"),
                   func.min(rows.c.day).label("first_day"), func.max(rows.c.day).label("last_day"))
            .where(rows.c.uncosted_units > 0).group_by(rows.c.product_id))
    data = frame(session, stmt)
    if data.empty:
        return pd.DataFrame(columns=["product_id", "sku", "product", "units", "first_day", "last_day"])
    return _with_names(session, data)[["product_id", "sku", "product", "units", "first_day", "last_day"]]


def per_unit(session: Session, filters: Filters, product_id: int, market_code: str) -> dict[str, float] | None:
    """A SKU x market's actual figures per unit sold over the filters (the what-if's starting point), None
    without sales."""
    total = totals(session, filters, Selection(product_id=product_id, market_code=market_code))
    units = total["units"]
    if not units:
        return None
    return {name: total[name] / units for name in AMOUNTS} | {"units": units}


def by_market(session: Session, filters: Filters) -> pd.DataFrame:
    """Net revenue, outbound shipping and contribution per market (market research reads its margin here)."""
    return table(session, filters, "market")


# --- manual unit costs --------------------------------------------------------------------------------------


class CostEntryError(ValueError):
    """A unit cost entry was refused. `field` names the input at fault (sku, valid_from, unit_cost_usd);
    `template` is the English message id (extracted by tools.i18n) and `values` fill it, so pages translate it."""

    def __init__(self, field: str, template: str, **values) -> None:
        self.field, self.template, self.values = field, template, values
        super().__init__(template.format(**values))


def record_cost(session: Session, actor_username: str | None, sku: str, valid_from: dt.date, unit_cost_usd: float,
                note: str = "", *, today: dt.date, now: dt.datetime | None = None) -> ProductCostEntry:
    """Enter (or correct) a SKU's landed unit cost from `valid_from` on, for sales before its first purchase
    batch; managers only; audited with the value before and after; the ledger is refreshed from that day on."""
    users.authorize(session, actor_username, "manager")
    product = session.scalar(select(Product).where(Product.sku == (sku or "").strip()))
    if product is None:
        raise CostEntryError("sku", "Unknown SKU {sku}", sku=sku)
    if not isinstance(valid_from, dt.date):
        raise CostEntryError("valid_from", "Enter the date the cost applies from")
    if valid_from > today:
        raise CostEntryError("valid_from", "The date {day} is in the future", day=valid_from.isoformat())
    try:
        cost = float(unit_cost_usd)
    except (TypeError, ValueError):
        raise CostEntryError("unit_cost_usd", "The unit cost must be a number") from None
    if not cost > 0:
        raise CostEntryError("unit_cost_usd", "The unit cost must be more than 0")
    if cost > thresholds.MANUAL_UNIT_COST_MAX_USD:
        raise CostEntryError("unit_cost_usd", "A unit cost above {limit} USD looks like a typo",
                             limit=f"{thresholds.MANUAL_UNIT_COST_MAX_USD:,.0f}")
    first_batch = session.scalar(select(func.min(InboundShipment.received_on))
                                 .where(InboundShipment.product_id == product.id,
                                        InboundShipment.received_on.is_not(None)))
    if first_batch is not None and valid_from >= first_batch:
        raise CostEntryError("valid_from", "From {day} on, the cost of {sku} comes from its purchase batches",
                             day=first_batch.isoformat(), sku=product.sku)
    note = (note or "").strip()[:200]
    when = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    entry = session.scalar(select(ProductCostEntry).where(ProductCostEntry.product_id == product.id,
                                                          ProductCostEntry.valid_from == valid_from))
    before = None if entry is None else float(entry.unit_cost_usd)
    if entry is None:
        entry = ProductCostEntry(product_id=product.id, valid_from=valid_from)
        session.add(entry)
    entry.unit_cost_usd, entry.note, entry.entered_by, entry.entered_at = round(cost, 2), note, actor_username, when
    session.flush()
    session.add(AuditEvent(at=when, username=actor_username, entity="product_cost", entity_id=f"{product.sku}",
                           action="create" if before is None else "update",
                           detail=json.dumps({"sku": product.sku, "valid_from": valid_from.isoformat(),
                                              "before": before, "after": round(cost, 2), "note": note})))
    # The entry moves the cost of every sale from its date on (up to the SKU's first batch): nothing before.
    refresh_sku_costs(session)
    refresh_ledger(session, valid_from, None)
    return entry


def cost_entries(session: Session) -> pd.DataFrame:
    """Every entered unit cost, newest first, with who entered it."""
    stmt = (select(Product.sku, Product.name.label("product"), ProductCostEntry.valid_from,
                   ProductCostEntry.unit_cost_usd, ProductCostEntry.note, ProductCostEntry.entered_by,
                   ProductCostEntry.entered_at)
            .join(Product, Product.id == ProductCostEntry.product_id)
            .order_by(ProductCostEntry.entered_at.desc(), Product.sku))
    return frame(session, stmt)


# --- what the Profit page shows beside the figures: names, and the cost form's choices --------------------------


def category_names(session: Session) -> dict[str, str]:
    """Category code -> its English name (a seeded name: pages translate it)."""
    return dict(session.execute(select(Category.code, Category.name)).all())


def cost_entry_skus(session: Session) -> pd.DataFrame:
    """Every SKU with the day its first purchase batch arrived (None: none yet). A manager's entry covers only
    the sales before that day: `record_cost` refuses it from then on."""
    first = (select(InboundShipment.product_id, func.min(InboundShipment.received_on).label("first_batch"))
             .where(InboundShipment.received_on.is_not(None)).group_by(InboundShipment.product_id).subquery())
    stmt = (select(Product.sku, Product.name.label("product"), first.c.first_batch)
            .outerjoin(first, first.c.product_id == Product.id).order_by(Product.sku))
    return frame(session, stmt)



# --- the cuts other pages read (Overview, Market research, Product selection, What-if, Payments) ------------------


def gross_margin(total: dict[str, float]) -> float | None:
    """Gross margin from `totals`: (net revenue - landed product cost) / net revenue. It leaves out every other
    cost line (shipping, marketplace and payment fees, FX, duty, refunds, chargebacks, advertising, storage):
    the contribution margin is the one to price from."""
    return safe_ratio(total["net_revenue"] - total["product_cost"], total["net_revenue"])


def lines(session: Session, filters: Filters, grouping: str, names: tuple[str, ...]) -> pd.DataFrame:
    """The named amounts (of `AMOUNTS`, or a ledger column such as `fulfilment_fees` that `marketplace_fees`
    includes) per group of `GROUP_KEYS`, with units and returned units; keys only, no names. Costs no SKU,
    market or channel carries keep their own group (product 0, market '')."""
    return _grouped(session, filters, grouping, names, ("units", "returned_units"))


def per_unit_by_sku(session: Session, filters: Filters) -> pd.DataFrame:
    """`per_unit` for every SKU sold over the filters in one query: product_id, units, returned_units, and each
    of `AMOUNTS` and `fulfilment_fees` (inside `marketplace_fees`) per unit sold."""
    names = (*AMOUNTS, "fulfilment_fees")
    data = lines(session, filters, "sku", names)
    data = data[(data["product_id"] != NO_PRODUCT) & (data["units"] > 0)].reset_index(drop=True)
    for name in names:
        data[name] = data[name] / data["units"]
    return data


def referral_fee_rates(session: Session, on: dt.date) -> pd.DataFrame:
    """The dated referral-fee schedule (`marketplace_fees`, valid_to exclusive) as of `on`: one row per channel
    with category_id None (the channel's default) and one per channel x category (the category's own rate, else
    the default). Columns channel_id, channel (code), category_id, rate. The ledger estimates a fee from the same
    schedule where no payout is on record (core.summaries.profit)."""
    valid = (select(MarketplaceFee.channel_id, MarketplaceFee.category_id, MarketplaceFee.referral_rate)
             .where(MarketplaceFee.valid_from <= on,
                    (MarketplaceFee.valid_to.is_(None)) | (MarketplaceFee.valid_to > on))
             .order_by(MarketplaceFee.valid_from))
    own: dict[tuple[int, int | None], float] = {}
    for channel_id, category_id, rate in session.execute(valid):
        own[(channel_id, category_id)] = float(rate)  # the latest start wins where ranges overlap
    channels = session.execute(select(Channel.id, Channel.code).order_by(Channel.id)).all()
    categories = list(session.scalars(select(Category.id).order_by(Category.id)))
    rows = []
    for channel_id, code in channels:
        default = own.get((channel_id, None), 0.0)
        rows.append({"channel_id": channel_id, "channel": code, "category_id": None, "rate": default})
        rows += [{"channel_id": channel_id, "channel": code, "category_id": category_id,
                  "rate": own.get((channel_id, category_id), default)} for category_id in categories]
    data = pd.DataFrame(rows, columns=["channel_id", "channel", "category_id", "rate"])
    data["category_id"] = data["category_id"].astype("Int64")
    return data


__all__ = ["AMOUNTS", "COST_KEYS", "CostEntryError", "GROUPINGS", "Line", "LINES", "NO_PRODUCT", "ProfitKpis",
           "Selection", "by_market", "category_names", "cost_entries", "cost_entry_skus", "kpi_deltas", "kpis",
           "gross_margin", "lines", "loss_making_skus", "margin", "monthly", "orders", "per_unit", "per_unit_by_sku",
           "referral_fee_rates", "record_cost", "table", "totals", "uncosted_sales", "waterfall"]
