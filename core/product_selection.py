"""Product selection (选品): opportunity scores, lifecycle stages, ABC analysis, returns and repurchase.

Every figure comes from `monthly_sku_sales` (month x SKU x market x channel), so a page never groups raw
order lines. Periods are taken in whole months: the months the filtered date range touches.

Sub-scores, each 0-100 (higher = a better opportunity):
- demand      = 0.5 x velocity percentile + 0.5 x search interest.
                velocity = units sold per month in the period; its percentile is the share of scored products
                with a lower velocity (ties count half), x 100. Candidates (not sold yet) take the median
                velocity of the active SKUs of their category. Search interest = mean index (0-100) of the
                product's category over the filtered markets in the last 3 months of the period.
- competition = 100 - 50 x min(listings / 40, 1) - 50 x min(log10(1 + median reviews) / 4, 1)
                over the competitor listings of the product's category in the filtered markets (listings
                per market; 40 listings or 10,000 median reviews saturate the penalty).
- margin      = 100 x clip(margin % / 40 %, 0, 1). A SKU sold in the period: margin % = its contribution
                margin from the profit ledger (core.profit, the one definition: contribution after every
                cost line / net revenue) over the whole months the period touches, the first day of the first
                month to the last day of the last; `contribution` is the ledger's contribution then, in the
                reporting currency at each day's rate, as the Profit page shows it. A SKU with no sales then
                (candidates, or not sold in the filtered markets) has no actuals: its margin is an estimate
                (`margin_estimated`) from `core.unit_economics.unit_economics` with the list price x (1 + VAT),
                the referral fee of the period's channel mix for its category from the dated fee schedule
                (core.profit.referral_fee_rates, as of the period's end), the period's blended payment fee rate,
                FX_COST_RATE outside the US, and `core.landed_cost.cheapest_landed_cost_per_unit` in the
                reference market (the filtered market with the most net revenue) split into product cost
                (factory price at the day's CNY rate) and freight + duty (the rest).
- trend       = clip(50 + 100 x growth, 0, 100); growth = (units in the last 3 full months / units in the 3
                before) - 1. Candidates: the growth of their category's search interest over the same months.
- seasonality = 100 x (1 - min(CV, 1)), CV = population standard deviation / mean of the last 12 full months'
                units (candidates: of their category's search interest). Steady sellers score high.
- shipping    = clip(100 - 25 x chargeable kg - 30 if fragile, 0, 100); chargeable kg by
                `core.landed_cost.chargeable_weight` with the express divisor 5000 and 0.5 kg steps.
Opportunity = sum(weight x sub-score) / sum(weights); all weights 0 = equal weights.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core import profit, thresholds
from core.platform.filters import Filters
from core.platform.models import (
    Category,
    Channel,
    CompetitorListing,
    DailyPayments,
    FxRate,
    InventorySnapshot,
    Market,
    MonthlySkuSales,
    Product,
    ProductListing,
    SearchInterest,
)
from core.platform.queries import frame

SUBSCORES = ("demand", "competition", "margin", "trend", "seasonality", "shipping")
DEFAULT_WEIGHTS = {"demand": 25, "competition": 15, "margin": 25, "trend": 15, "seasonality": 10, "shipping": 10}
LISTINGS_SATURATION = 40
REVIEWS_SATURATION_LOG10 = 4.0  # 10,000 reviews
MARGIN_FULL_SCORE = 0.40
FX_COST_RATE = 0.01
EXPRESS_DIVISOR, EXPRESS_INCREMENT_KG = 5000.0, 0.5
KG_PENALTY, FRAGILE_PENALTY = 25.0, 30.0
LIFECYCLE_STAGES = ("introduction", "growth", "maturity", "decline")


# --- pure scores -------------------------------------------------------------------------------------


def clip100(value: float) -> float:
    return float(min(100.0, max(0.0, value)))


def percentile_rank(values: Sequence[float]) -> list[float]:
    """For each value: 100 x (values strictly lower + half the other equal values) / (n - 1); one value = 50."""
    n = len(values)
    if n == 1:
        return [50.0]
    arr = np.asarray(values, dtype=float)
    return [100.0 * ((arr < v).sum() + 0.5 * ((arr == v).sum() - 1)) / (n - 1) for v in arr]


def demand_score(velocity_percentile: float, search_interest: float | None) -> float:
    interest = 50.0 if search_interest is None or math.isnan(search_interest) else search_interest
    return clip100(0.5 * velocity_percentile + 0.5 * interest)


def competition_score(listings_per_market: float, median_reviews: float) -> float:
    crowd = min(listings_per_market / LISTINGS_SATURATION, 1.0)
    depth = min(math.log10(1 + max(median_reviews, 0.0)) / REVIEWS_SATURATION_LOG10, 1.0)
    return clip100(100 - 50 * crowd - 50 * depth)


def margin_score(margin_pct: float | None) -> float:
    if margin_pct is None or math.isnan(margin_pct):
        return 0.0
    return clip100(100 * margin_pct / MARGIN_FULL_SCORE)


def growth(recent: float, previous: float) -> float | None:
    """recent / previous - 1; None when nothing sold before (no base to grow from)."""
    if not previous:
        return None
    return recent / previous - 1


def trend_score(change: float | None) -> float:
    if change is None or math.isnan(change):
        return 50.0
    return clip100(50 + 100 * change)


def seasonality_score(monthly: Sequence[float]) -> float:
    values = np.asarray(monthly, dtype=float)
    if len(values) == 0 or values.mean() <= 0:
        return 0.0
    cv = values.std() / values.mean()
    return clip100(100 * (1 - min(cv, 1.0)))


def shipping_score(chargeable_kg: float, fragile: bool) -> float:
    return clip100(100 - KG_PENALTY * chargeable_kg - (FRAGILE_PENALTY if fragile else 0.0))


def opportunity(scores: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """Weighted mean of the sub-score columns; all weights 0 = equal weights."""
    w = {k: float(weights.get(k, 0)) for k in SUBSCORES}
    total = sum(w.values())
    if total <= 0:
        w, total = {k: 1.0 for k in SUBSCORES}, float(len(SUBSCORES))
    return sum(scores[k] * w[k] for k in SUBSCORES) / total


def rank(table: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """The table with its opportunity score and rank (1 = best), best first."""
    ranked = table.assign(opportunity=opportunity(table, weights)).sort_values(
        ["opportunity", "sku"], ascending=[False, True]).reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    return ranked


def lifecycle_stage(monthly_units: Sequence[float], months_on_sale: int) -> str:
    """The lifecycle rule, on the last full months' units (oldest first):

    - introduction: on sale for fewer than 6 months (since its first month with sales);
    - otherwise compare the last 3 months with the 3 before: growth when they rose by 15 % or more,
      decline when they fell by 15 % or more (or nothing sold in either), maturity in between.
    """
    if months_on_sale < thresholds.LIFECYCLE_INTRODUCTION_MONTHS:
        return "introduction"
    units = list(monthly_units)
    recent, previous = sum(units[-3:]), sum(units[-6:-3])
    if previous == 0:
        return "growth" if recent > 0 else "decline"
    change = recent / previous - 1
    if change >= thresholds.LIFECYCLE_GROWTH_MIN:
        return "growth"
    if change <= -thresholds.LIFECYCLE_GROWTH_MIN:
        return "decline"
    return "maturity"


def abc_classes(revenue: pd.Series) -> pd.Series:
    """A = the SKUs that make up the top 80 % of revenue, B = the next 15 %, C = the last 5 %.

    Sorted by revenue, a SKU is A when the revenue share of the SKUs ranked above it is below 80 %
    (so the SKU that crosses 80 % is still A), B when that share is below 95 %, else C.
    SKUs with no revenue are C.
    """
    total = float(revenue.clip(lower=0).sum())
    if total <= 0:
        return pd.Series("C", index=revenue.index)
    ordered = revenue.sort_values(ascending=False, kind="stable")
    before = ordered.cumsum().shift(fill_value=0) / total
    classes = np.where(ordered <= 0, "C", np.where(before < thresholds.ABC_A_SHARE, "A",
                                                np.where(before < thresholds.ABC_B_SHARE, "B", "C")))
    return pd.Series(classes, index=ordered.index).reindex(revenue.index)


def price_percentile(our_price: float, competitor_prices: Sequence[float]) -> float | None:
    """Where our price sits among competitors, 0-100: 100 x (cheaper competitors + half the equal ones) / n."""
    prices = np.asarray(list(competitor_prices), dtype=float)
    if len(prices) == 0 or our_price is None:
        return None
    return float(100 * ((prices < our_price).sum() + 0.5 * (prices == our_price).sum()) / len(prices))


def high_return_flags(units: pd.Series, returned: pd.Series, category: pd.Series) -> pd.Series:
    """Flag a SKU whose return rate (returned / sold units) is at least max(5 %, 1.5 x its category's rate),
    once it has sold at least 20 units."""
    cat_units = units.groupby(category).transform("sum")
    cat_returned = returned.groupby(category).transform("sum")
    cat_rate = (cat_returned / cat_units.where(cat_units > 0)).fillna(0.0)
    rate = returned / units.where(units > 0)
    limit = np.maximum(thresholds.HIGH_RETURN_RATE_FLOOR, thresholds.HIGH_RETURN_CATEGORY_FACTOR * cat_rate)
    return (units >= thresholds.HIGH_RETURN_MIN_UNITS) & (rate >= limit)


# --- reading the database ----------------------------------------------------------------------------


def month_floor(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def last_full_month(end: dt.date) -> dt.date:
    """The month of `end` when `end` is its last day, else the month before."""
    return month_floor(end) if (end + dt.timedelta(days=1)).day == 1 else add_months(month_floor(end), -1)


def _sku_where(stmt, filters: Filters, first: dt.date, last: dt.date):
    stmt = stmt.where(MonthlySkuSales.month >= first, MonthlySkuSales.month <= last)
    if filters.markets:
        stmt = stmt.where(MonthlySkuSales.market_code.in_(filters.markets))
    if filters.channels:
        stmt = stmt.where(MonthlySkuSales.channel_id.in_(select(Channel.id).where(Channel.code.in_(filters.channels))))
    return stmt


def _rate_to(session: Session, currency: str, on: dt.date) -> float:
    if currency == "USD":
        return 1.0
    rate = session.scalar(select(FxRate.per_usd).where(FxRate.currency == currency, FxRate.day <= on)
                          .order_by(FxRate.day.desc()).limit(1))
    return float(rate) if rate else 1.0


def monthly_units(session: Session, filters: Filters, months: int = 12) -> pd.DataFrame:
    """Units per product per full month, the `months` full months up to the period's end."""
    last = last_full_month(filters.end)
    first = add_months(last, -(months - 1))
    stmt = _sku_where(select(MonthlySkuSales.product_id, MonthlySkuSales.month,
                             func.sum(MonthlySkuSales.units).label("units")), filters, first, last)
    data = frame(session, stmt.group_by(MonthlySkuSales.product_id, MonthlySkuSales.month))
    grid = pd.date_range(first, last, freq="MS").date
    if data.empty:
        return pd.DataFrame(columns=list(grid), dtype=float)
    data["month"] = pd.to_datetime(data["month"]).dt.date
    return data.pivot(index="product_id", columns="month", values="units").reindex(columns=grid).fillna(0.0)


def sku_table(session: Session, filters: Filters) -> pd.DataFrame:
    """One row per product (active, discontinued and candidate) with the period's sales, returns,
    repurchase, rating, stock, lifecycle stage, ABC class and every sub-score except margin."""
    first, last = month_floor(filters.start), month_floor(filters.end)
    n_months = (last.year - first.year) * 12 + last.month - first.month + 1
    rate = _rate_to(session, filters.currency, filters.end)
    stmt = _sku_where(select(
        MonthlySkuSales.product_id,
        func.sum(MonthlySkuSales.units).label("units"),
        func.sum(MonthlySkuSales.orders).label("orders"),
        func.sum(MonthlySkuSales.repeat_orders).label("repeat_orders"),
        func.sum(MonthlySkuSales.net_revenue_usd).label("revenue_usd"),
        func.sum(MonthlySkuSales.sales_usd).label("sales_usd"),
        func.sum(MonthlySkuSales.returned_units).label("returned_units"),
    ), filters, first, last).group_by(MonthlySkuSales.product_id)
    sales = frame(session, stmt)
    products = frame(session, select(
        Product.id.label("product_id"), Product.sku, Product.name, Product.status, Category.id.label("category_id"),
        Category.name.label("category"), Product.list_price_usd, Product.unit_cost_cny, Product.weight_kg,
        Product.length_cm, Product.width_cm, Product.height_cm, Product.fragile, Product.launch_date,
    ).join(Category, Category.id == Product.category_id).order_by(Product.id))
    table = products.merge(sales, on="product_id", how="left")
    counts = ["units", "orders", "repeat_orders", "returned_units"]
    money = ["revenue_usd", "sales_usd"]
    table[counts] = table[counts].fillna(0).astype(int)
    table[money] = table[money].fillna(0.0).astype(float)
    for column in ("list_price_usd", "unit_cost_cny", "weight_kg", "length_cm", "width_cm", "height_cm"):
        table[column] = table[column].astype(float)
    ledger = ledger_by_sku(session, filters)
    table = table.merge(ledger, on="product_id", how="left")
    table["revenue"] = table["ledger_revenue"].fillna(0.0)  # the Profit page's net revenue, at each day's rate
    table["avg_price"] = (table["sales_usd"] / table["units"].where(table["units"] > 0)) * rate
    table["return_rate"] = table["returned_units"] / table["units"].where(table["units"] > 0)
    table["repurchase_rate"] = table["repeat_orders"] / table["orders"].where(table["orders"] > 0)
    table["high_returns"] = high_return_flags(table["units"], table["returned_units"], table["category_id"])

    listings = frame(session, _markets(select(
        ProductListing.product_id, ProductListing.rating, ProductListing.review_count), filters, ProductListing))
    if not listings.empty:
        listings["weighted"] = listings["rating"] * listings["review_count"]
        agg = listings.groupby("product_id").agg(weighted=("weighted", "sum"), reviews=("review_count", "sum"))
        agg["rating"] = agg["weighted"] / agg["reviews"].where(agg["reviews"] > 0)
        table = table.merge(agg[["rating", "reviews"]], left_on="product_id", right_index=True, how="left")
    else:
        table["rating"], table["reviews"] = np.nan, 0
    table["reviews"] = table["reviews"].fillna(0).astype(int)

    stock = _latest_stock(session)
    table["on_hand"] = table["product_id"].map(stock).fillna(0).astype(int)

    history = monthly_units(session, filters)
    hist = history.reindex(table["product_id"]).fillna(0.0).to_numpy()
    table["monthly_units"] = [list(map(float, row)) for row in hist]
    sold = hist > 0
    first_sale = np.where(sold.any(axis=1), sold.argmax(axis=1), hist.shape[1])
    launched = pd.to_datetime(table["launch_date"])
    last_month = pd.Timestamp(last_full_month(filters.end))
    since_launch = (last_month.year - launched.dt.year) * 12 + last_month.month - launched.dt.month + 1
    # months on sale: since launch when known, else since the first month with sales in the history
    on_sale = np.where(since_launch.notna(), since_launch.fillna(0), hist.shape[1] - first_sale)
    table["lifecycle"] = [
        "candidate" if status == "candidate" else lifecycle_stage(units, int(months))
        for status, units, months in zip(table["status"], table["monthly_units"], on_sale)
    ]
    selling = table["status"] != "candidate"
    table["abc"] = None
    table.loc[selling, "abc"] = abc_classes(table.loc[selling, "revenue_usd"])

    # demand
    table["velocity"] = table["units"] / n_months
    active = table["status"] == "active"
    cat_median = table[active].groupby("category_id")["velocity"].median()
    candidate = table["status"] == "candidate"
    table.loc[candidate, "velocity"] = table.loc[candidate, "category_id"].map(cat_median).fillna(0.0)
    interest = _category_interest(session, filters)
    table["search_interest"] = table["category_id"].map(interest["recent"])
    table["velocity_pct"] = percentile_rank(table["velocity"].tolist())
    table["demand"] = [demand_score(v, i) for v, i in zip(table["velocity_pct"], table["search_interest"])]
    # competition
    competition = _category_competition(session, filters)
    table["competitor_listings"] = table["category_id"].map(competition["listings"]).fillna(0.0)
    table["competitor_reviews"] = table["category_id"].map(competition["median_reviews"]).fillna(0.0)
    table["competition"] = [competition_score(n, r) for n, r in
                            zip(table["competitor_listings"], table["competitor_reviews"])]
    # trend and seasonality
    recent = hist[:, -3:].sum(axis=1)
    previous = hist[:, -6:-3].sum(axis=1)
    table["growth"] = [growth(r, p) for r, p in zip(recent, previous)]
    table.loc[candidate, "growth"] = table.loc[candidate, "category_id"].map(interest["growth"])
    table["trend"] = [trend_score(g) for g in table["growth"]]
    table["seasonality"] = [seasonality_score(units) for units in table["monthly_units"]]
    cat_season = interest["series"]
    table.loc[candidate, "seasonality"] = [
        seasonality_score(cat_season.get(c, [])) for c in table.loc[candidate, "category_id"]]
    # shipping ease
    from core.landed_cost import chargeable_weight

    table["chargeable_kg"] = [
        chargeable_weight(w, length, width, height, EXPRESS_DIVISOR, EXPRESS_INCREMENT_KG)
        for w, length, width, height in zip(table["weight_kg"], table["length_cm"], table["width_cm"],
                                            table["height_cm"])
    ]
    table["shipping"] = [shipping_score(kg, bool(f)) for kg, f in zip(table["chargeable_kg"], table["fragile"])]
    return table.drop(columns=["launch_date"])


def whole_months(filters: Filters) -> Filters:
    """The filters stretched to the whole months they touch (first day of the first, last day of the last)."""
    end = add_months(month_floor(filters.end), 1) - dt.timedelta(days=1)
    return Filters(month_floor(filters.start), end, filters.markets, filters.channels, filters.currency)


def ledger_by_sku(session: Session, filters: Filters) -> pd.DataFrame:
    """The profit ledger per SKU over the whole months the period touches: product_id, ledger_revenue (net
    revenue), contribution and contribution_margin, in the reporting currency (core.profit.table)."""
    ledger = profit.table(session, whole_months(filters), "sku")
    ledger = ledger[(ledger["product_id"] != profit.NO_PRODUCT) & (ledger["units"] > 0)]
    return pd.DataFrame({"product_id": ledger["product_id"].astype(int),
                         "ledger_revenue": ledger["net_revenue"].astype(float),
                         "contribution": ledger["contribution"].astype(float),
                         "contribution_margin": ledger["margin"].astype(float)})


def _markets(stmt, filters: Filters, model):
    if filters.markets:
        stmt = stmt.where(model.market_code.in_(filters.markets))
    return stmt


def _latest_stock(session: Session) -> pd.Series:
    latest = session.scalar(select(func.max(InventorySnapshot.day)))
    if latest is None:
        return pd.Series(dtype=float)
    rows = frame(session, select(InventorySnapshot.product_id, func.sum(InventorySnapshot.on_hand).label("on_hand"))
                 .where(InventorySnapshot.day == latest).group_by(InventorySnapshot.product_id))
    return rows.set_index("product_id")["on_hand"] if not rows.empty else pd.Series(dtype=float)


def _category_interest(session: Session, filters: Filters) -> dict:
    """Per category: mean search interest of the last 3 full months, its growth on the 3 before, 12-month series."""
    last = last_full_month(filters.end)
    first = add_months(last, -11)
    stmt = _markets(select(SearchInterest.category_id, SearchInterest.month,
                           func.avg(SearchInterest.interest_index).label("index"))
                    .where(SearchInterest.month >= first, SearchInterest.month <= last), filters, SearchInterest)
    data = frame(session, stmt.group_by(SearchInterest.category_id, SearchInterest.month))
    out = {"recent": {}, "growth": {}, "series": {}}
    if data.empty:
        return out
    data["month"] = pd.to_datetime(data["month"]).dt.date
    data["index"] = data["index"].astype(float)
    for category, rows in data.sort_values("month").groupby("category_id"):
        series = rows["index"].tolist()
        out["series"][category] = series
        out["recent"][category] = float(np.mean(series[-3:]))
        out["growth"][category] = growth(sum(series[-3:]), sum(series[-6:-3]))
    return out


def _category_competition(session: Session, filters: Filters) -> dict:
    rows = frame(session, _markets(select(CompetitorListing.category_id, CompetitorListing.market_code,
                                          CompetitorListing.review_count), filters, CompetitorListing))
    if rows.empty:
        return {"listings": {}, "median_reviews": {}}
    per_market = rows.groupby(["category_id", "market_code"]).size().groupby("category_id").mean()
    return {"listings": per_market.to_dict(), "median_reviews": rows.groupby("category_id")["review_count"].median()
            .astype(float).to_dict()}


# --- margin ----------------------------------------------------------------------------------------


def reference_market(session: Session, filters: Filters) -> str:
    """The filtered market with the most net revenue in the period (the US when nothing sold)."""
    from core.platform.models import DailySales
    from core.platform.queries import where_filters

    stmt = where_filters(select(DailySales.market_code, func.sum(DailySales.net_revenue_usd).label("rev"))
                         .group_by(DailySales.market_code), filters, day=DailySales.day,
                         market=DailySales.market_code, channel_id=DailySales.channel_id)
    rows = session.execute(stmt.order_by(func.sum(DailySales.net_revenue_usd).desc()).limit(1)).first()
    if rows:
        return rows[0]
    return filters.markets[0] if filters.markets else "US"


def landed_costs(session: Session, market_code: str, on: dt.date) -> dict[int, tuple[str, float]]:
    """product id -> (service, USD per unit) of the cheapest route into the market, from the logistics engine."""
    from core.landed_cost import LandedCostError, cheapest_landed_cost_per_unit

    found = {}
    for pid in session.scalars(select(Product.id).where(Product.status != "discontinued").order_by(Product.id)):
        try:
            found[pid] = cheapest_landed_cost_per_unit(session, pid, market_code, on)
        except LandedCostError:
            continue
    return found


def fee_context(session: Session, filters: Filters, market_code: str) -> dict:
    """For the estimated margins: the referral fee of the period's channel mix per category from the dated fee
    schedule as of the period's end (`referral_fee_rates`; `referral_fee_rate` = the channels' defaults), the
    blended payment fee rate, VAT and the CNY rate."""
    from core.platform.models import DailySales
    from core.platform.queries import safe_ratio, where_filters

    mix = dict(session.execute(where_filters(
        select(DailySales.channel_id, func.sum(DailySales.units)).group_by(DailySales.channel_id), filters,
        day=DailySales.day, market=DailySales.market_code, channel_id=DailySales.channel_id)).all())
    schedule = profit.referral_fee_rates(session, filters.end)
    if not sum(mix.values()):  # nothing sold: every channel alike
        mix = {channel_id: 1 for channel_id in schedule["channel_id"].unique()}
    total = float(sum(mix.values()))
    schedule = schedule.assign(share=schedule["channel_id"].map(mix).fillna(0).astype(float) / total)
    schedule["weighted"] = schedule["share"] * schedule["rate"]
    default = float(schedule.loc[schedule["category_id"].isna(), "weighted"].sum())
    by_category = schedule[schedule["category_id"].notna()].groupby("category_id")["weighted"].sum()
    # marketplace payment rows carry the referral fee, counted above: only gateway fees, over all sales
    gateway_fee = func.sum(case((DailyPayments.method != "marketplace", DailyPayments.fee_usd), else_=0.0))
    paid = session.execute(where_filters(
        select(gateway_fee, func.sum(DailyPayments.amount_usd)), filters, day=DailyPayments.day,
        market=DailyPayments.market_code, channel_id=DailyPayments.channel_id)).one()
    vat = session.scalar(select(Market.vat_rate).where(Market.code == market_code)) or 0.0
    return {
        "referral_fee_rate": default,
        "referral_fee_rates": {int(c): float(r) for c, r in by_category.items()},
        "payment_fee_rate": safe_ratio(paid[0], paid[1]) or 0.0,
        "vat_rate": float(vat),
        "fx_cost_rate": 0.0 if market_code == "US" else FX_COST_RATE,
        "cny_per_usd": _rate_to(session, "CNY", filters.end),
    }


def margin_pcts(table: pd.DataFrame, costs: Mapping[int, tuple[str, float]], fees: Mapping[str, float]) -> pd.Series:
    """Estimated per-unit margin % of each product through the shared unit_economics formula (see the module
    docstring); the list price for a product with no sales, else its net revenue per unit sold."""
    from core.unit_economics import unit_economics

    out = []
    for row in table.itertuples():
        cost = costs.get(row.product_id)
        if cost is None:
            out.append(np.nan)
            continue
        product_cost = row.unit_cost_cny / fees["cny_per_usd"]
        freight_and_duty = max(cost[1] - product_cost, 0.0)
        net_unit = row.revenue_usd / row.units if row.units else row.list_price_usd
        price_gross = net_unit * (1 + fees["vat_rate"])
        economics = unit_economics(
            price_gross=price_gross, vat_rate=fees["vat_rate"],
            marketplace_fee_rate=fees.get("referral_fee_rates", {}).get(getattr(row, "category_id", None),
                                                                        fees["referral_fee_rate"]),
            payment_fee_rate=fees["payment_fee_rate"], payment_fee_fixed=0.0, fx_cost_rate=fees["fx_cost_rate"],
            product_cost=product_cost, freight=freight_and_duty, duty=0.0,
            return_rate=0.0 if pd.isna(row.return_rate) else float(row.return_rate),
            return_cost=product_cost + freight_and_duty,
        )
        out.append(economics.margin_pct if economics.margin_pct is not None else np.nan)
    return pd.Series(out, index=table.index, dtype=float)


def scored_products(session: Session, filters: Filters) -> pd.DataFrame:
    """sku_table with the margin sub-score added (the ledger's margin where the SKU sold, else the estimate with
    landed costs in the reference market on the period's end)."""
    table = sku_table(session, filters)
    market = reference_market(session, filters)
    costs = landed_costs(session, market, month_floor(filters.end))
    return with_margin(table, costs, fee_context(session, filters, market), market)


def with_margin(table: pd.DataFrame, costs: Mapping, fees: Mapping, market: str) -> pd.DataFrame:
    """The margin sub-score: the ledger's contribution margin where the SKU sold in the period, else the
    estimate (`margin_estimated`)."""
    table = table.copy()
    actual = table["contribution_margin"] if "contribution_margin" in table else pd.Series(np.nan, index=table.index)
    table["margin_estimated"] = actual.isna()
    table["margin_pct"] = actual.where(actual.notna(), margin_pcts(table, costs, fees))
    table["margin"] = [margin_score(m) for m in table["margin_pct"]]
    table["reference_market"] = market
    return table
