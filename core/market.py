"""Market research (市场分析): performance by market, seasonality, competitors, attractiveness, SWOT/PEST.

Definitions:
- GMV, orders, AOV as on the overview (core.overview). GMV share = a market's GMV / GMV of all shown markets.
- YoY growth = GMV in the period / GMV in the same dates one year earlier - 1 (None without last year's sales).
- Repeat-customer rate = orders placed by returning customers / orders = 1 - first orders / orders.
- Contribution margin (attractiveness) = the market's contribution margin from the profit ledger
  (core.profit: contribution / net revenue after every cost line), in USD.
- Logistics cost share = (outbound shipping + FBA fulfilment) / net revenue, both from the ledger.
- Competition intensity = median review count of the competitor listings in the market (review depth).
- Attractiveness: each component is min-max scaled across the shown markets to 0-100 (best = 100; for
  competition intensity and logistics cost share lower is better, so they are inverted; a component equal
  in every market scores 50), size on log10(GMV). Score = sum(weight x component) / sum(weights).
- Price percentile and share of estimated sales: core.product_selection.price_percentile and
  our units per month / (our units per month + competitors' estimated monthly sales).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import profit
from core.platform import users
from core.platform.filters import Filters
from core.platform.models import (
    AuditEvent,
    Category,
    CompetitorListing,
    DailySales,
    Market,
    MarketNote,
    MonthlyOrderValues,
    MonthlySkuSales,
    Product,
    ProductListing,
    SearchInterest,
)
from core.platform.queries import frame, in_currency, join_fx, month_start, where_filters
from core.product_selection import _sku_where, add_months, last_full_month, month_floor, price_percentile

COMPONENTS = ("size", "growth", "margin", "competition", "logistics")
DEFAULT_WEIGHTS = {"size": 30, "growth": 25, "margin": 25, "competition": 10, "logistics": 10}
SWOT_BOXES = ("strengths", "weaknesses", "opportunities", "threats")
PEST_BOXES = ("political", "economic", "social", "technological")
FRAMEWORKS = {"SWOT": SWOT_BOXES, "PEST": PEST_BOXES}
MAX_NOTE_LENGTH = 4000


# --- pure -------------------------------------------------------------------------------------------


def yoy_growth(current: float | None, last_year: float | None) -> float | None:
    if current is None or not last_year:
        return None
    return float(current) / float(last_year) - 1


def scale_0_100(values: Sequence[float | None], *, invert: bool = False) -> list[float]:
    """Min-max to 0-100 (inverted: lowest = 100); missing values score 0, all equal score 50."""
    known = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not known:
        return [0.0 for _ in values]
    low, high = min(known), max(known)
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(0.0)
        elif high == low:
            out.append(50.0)
        else:
            share = (v - low) / (high - low)
            out.append(100.0 * ((1 - share) if invert else share))
    return out


def attractiveness(components: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """Scores per market from raw components (columns gmv, growth, margin, competition, logistics_share)."""
    scored = components.copy()
    scored["size"] = scale_0_100([math.log10(g) if g and g > 0 else None for g in scored["gmv"]])
    scored["growth_score"] = scale_0_100(list(scored["growth"]))
    scored["margin_score"] = scale_0_100(list(scored["margin"]))
    scored["competition_score"] = scale_0_100(list(scored["competition"]), invert=True)
    scored["logistics_score"] = scale_0_100(list(scored["logistics_share"]), invert=True)
    columns = {"size": "size", "growth": "growth_score", "margin": "margin_score",
               "competition": "competition_score", "logistics": "logistics_score"}
    total = sum(float(weights.get(k, 0)) for k in COMPONENTS) or 1.0
    scored["score"] = sum(scored[columns[k]] * float(weights.get(k, 0)) for k in COMPONENTS) / total
    return scored.sort_values("score", ascending=False).reset_index(drop=True)


def share_of_sales(our_monthly_units: float, competitor_monthly_sales: Sequence[float]) -> float | None:
    total = float(our_monthly_units) + float(sum(competitor_monthly_sales))
    return float(our_monthly_units) / total if total > 0 else None


# --- performance ------------------------------------------------------------------------------------


def _last_year(filters: Filters) -> Filters:
    def back(day: dt.date) -> dt.date:
        try:
            return day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            return day.replace(year=day.year - 1, day=28)

    return Filters(back(filters.start), back(filters.end), filters.markets, filters.channels, filters.currency)


def _by_market(session: Session, filters: Filters) -> pd.DataFrame:
    ccy = filters.currency
    stmt = select(
        DailySales.market_code.label("market"),
        func.sum(in_currency(DailySales.gmv_usd, ccy)).label("gmv"),
        func.sum(DailySales.orders).label("orders"),
        func.sum(DailySales.new_customers).label("first_orders"),
    ).select_from(DailySales)
    stmt = join_fx(stmt, DailySales.day, ccy)
    stmt = where_filters(stmt, filters, day=DailySales.day, market=DailySales.market_code,
                         channel_id=DailySales.channel_id).group_by(DailySales.market_code)
    data = frame(session, stmt)
    data["gmv"] = data["gmv"].astype(float)
    return data


def market_performance(session: Session, filters: Filters) -> pd.DataFrame:
    """Per market: GMV, orders, AOV, YoY growth, GMV share, repeat-customer rate, monthly GMV sparkline."""
    now, before = _by_market(session, filters), _by_market(session, _last_year(filters))
    columns = ["market", "name", "gmv", "orders", "aov", "yoy", "share", "repeat_rate", "trend"]
    if now.empty:
        return pd.DataFrame(columns=columns)
    names = dict(session.execute(select(Market.code, Market.name)).all())
    merged = now.merge(before[["market", "gmv"]].rename(columns={"gmv": "gmv_ly"}), on="market", how="left")
    merged["name"] = merged["market"].map(names)
    merged["aov"] = merged["gmv"] / merged["orders"].where(merged["orders"] > 0)
    merged["yoy"] = [yoy_growth(c, p) for c, p in zip(merged["gmv"], merged["gmv_ly"])]
    merged["share"] = merged["gmv"] / merged["gmv"].sum()
    merged["repeat_rate"] = 1 - merged["first_orders"] / merged["orders"].where(merged["orders"] > 0)
    trend = monthly_gmv(session, filters)
    series = trend.groupby("market")["gmv"].apply(list).to_dict() if not trend.empty else {}
    merged["trend"] = merged["market"].map(lambda m: series.get(m, []))
    return merged.sort_values("gmv", ascending=False)[columns].reset_index(drop=True)


def monthly_gmv(session: Session, filters: Filters) -> pd.DataFrame:
    ccy = filters.currency
    month = month_start(session, DailySales.day)
    stmt = select(month.label("month"), DailySales.market_code.label("market"),
                  func.sum(in_currency(DailySales.gmv_usd, ccy)).label("gmv")).select_from(DailySales)
    stmt = join_fx(stmt, DailySales.day, ccy)
    stmt = where_filters(stmt, filters, day=DailySales.day, market=DailySales.market_code,
                         channel_id=DailySales.channel_id).group_by(month, DailySales.market_code).order_by(month)
    data = frame(session, stmt)
    if not data.empty:
        data["month"] = pd.to_datetime(data["month"])
        data["gmv"] = data["gmv"].astype(float)
    return data


# --- seasonality ------------------------------------------------------------------------------------


def seasonality(session: Session, filters: Filters, category_id: int) -> pd.DataFrame:
    """Per market and month (12 full months to the period's end): the category's search interest (0-100) and
    our units sold in the category as an index (100 = the market's best month), and the gap between them."""
    last = last_full_month(filters.end)
    first = add_months(last, -11)
    stmt = select(SearchInterest.market_code.label("market"), SearchInterest.month,
                  SearchInterest.interest_index.label("interest")).where(
        SearchInterest.category_id == category_id, SearchInterest.month >= first, SearchInterest.month <= last)
    if filters.markets:
        stmt = stmt.where(SearchInterest.market_code.in_(filters.markets))
    interest = frame(session, stmt)
    sales = frame(session, _sku_where(
        select(MonthlySkuSales.market_code.label("market"), MonthlySkuSales.month,
               func.sum(MonthlySkuSales.units).label("units"))
        .join(Product, Product.id == MonthlySkuSales.product_id).where(Product.category_id == category_id),
        filters, first, last).group_by(MonthlySkuSales.market_code, MonthlySkuSales.month))
    columns = ["market", "month", "interest", "units", "sales_index", "gap"]
    if interest.empty:
        return pd.DataFrame(columns=columns)
    for data in (interest, sales):
        if not data.empty:
            data["month"] = pd.to_datetime(data["month"])
    merged = interest.merge(sales, on=["market", "month"], how="left") if not sales.empty else interest.assign(units=0)
    merged["units"] = merged["units"].fillna(0).astype(int)
    peak = merged.groupby("market")["units"].transform("max")
    merged["sales_index"] = (100 * merged["units"] / peak.where(peak > 0)).fillna(0.0)
    merged["gap"] = merged["interest"] - merged["sales_index"]
    return merged[columns].sort_values(["market", "month"]).reset_index(drop=True)


# --- competitors ------------------------------------------------------------------------------------


def competitor_view(session: Session, filters: Filters, market_code: str, category_id: int) -> dict:
    """Competitor listings and our SKUs of a category in one market, with price percentile and sales share."""
    listings = frame(session, select(
        CompetitorListing.competitor, CompetitorListing.title, CompetitorListing.price_local,
        CompetitorListing.price_usd, CompetitorListing.rating, CompetitorListing.review_count,
        CompetitorListing.est_monthly_sales).where(
        CompetitorListing.market_code == market_code, CompetitorListing.category_id == category_id))
    first, last = month_floor(filters.start), month_floor(filters.end)
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    market_filters = Filters(filters.start, filters.end, (market_code,), filters.channels, filters.currency)
    ours = frame(session, _sku_where(
        select(Product.id.label("product_id"), Product.sku, Product.name,
               func.sum(MonthlySkuSales.units).label("units"), func.sum(MonthlySkuSales.sales_usd).label("sales_usd"))
        .join(Product, Product.id == MonthlySkuSales.product_id).where(Product.category_id == category_id),
        market_filters, first, last).group_by(Product.id, Product.sku, Product.name))
    ratings = frame(session, select(ProductListing.product_id, ProductListing.rating, ProductListing.review_count)
                    .where(ProductListing.market_code == market_code))
    if not listings.empty:
        for column in ("price_local", "price_usd"):
            listings[column] = listings[column].astype(float)
    if not ours.empty:
        ours = ours[ours["units"] > 0].copy()
        ours["price_usd"] = ours["sales_usd"].astype(float) / ours["units"]
        ours["monthly_units"] = ours["units"] / months
        ours = ours.merge(ratings, on="product_id", how="left")
        prices = listings["price_usd"].tolist() if not listings.empty else []
        ours["price_percentile"] = [price_percentile(p, prices) for p in ours["price_usd"]]
    competitor_sales = listings["est_monthly_sales"].tolist() if not listings.empty else []
    our_units = float(ours["monthly_units"].sum()) if not ours.empty else 0.0
    return {"listings": listings, "ours": ours, "share": share_of_sales(our_units, competitor_sales),
            "median_percentile": float(ours["price_percentile"].median()) if not ours.empty else None}


# --- attractiveness ---------------------------------------------------------------------------------


def attractiveness_components(session: Session, filters: Filters) -> pd.DataFrame:
    """Raw components per market (USD): GMV, YoY growth, contribution margin, competition, logistics share."""
    usd = Filters(filters.start, filters.end, filters.markets, filters.channels, "USD")
    now, before = _by_market(session, usd), _by_market(session, _last_year(usd))
    columns = ["market", "gmv", "growth", "margin", "competition", "logistics_share"]
    if now.empty:
        return pd.DataFrame(columns=columns)
    merged = now.merge(before[["market", "gmv"]].rename(columns={"gmv": "gmv_ly"}), on="market", how="left")
    merged["growth"] = [yoy_growth(c, p) for c, p in zip(merged["gmv"], merged["gmv_ly"])]
    ledger = profit.lines(session, usd, "market", ("net_revenue", "contribution", "shipping", "fulfilment_fees"))
    ledger = ledger.rename(columns={"market_code": "market"})
    merged = merged.merge(ledger, on="market", how="left")
    revenue = merged["net_revenue"].where(merged["net_revenue"] > 0)
    merged["margin"] = [profit.margin(c, r) for c, r in zip(merged["contribution"], revenue.fillna(0.0))]
    merged["logistics_share"] = (merged["shipping"] + merged["fulfilment_fees"]) / revenue
    reviews = frame(session, select(CompetitorListing.market_code.label("market"), CompetitorListing.review_count))
    median = reviews.groupby("market")["review_count"].median().astype(float) if not reviews.empty else {}
    merged["competition"] = merged["market"].map(median)
    return merged[columns]


# --- notes ------------------------------------------------------------------------------------------


def market_notes(session: Session, market_code: str) -> pd.DataFrame:
    return frame(session, select(MarketNote.framework, MarketNote.box, MarketNote.body, MarketNote.updated_by,
                                 MarketNote.updated_at).where(MarketNote.market_code == market_code))


def save_note(session: Session, actor_username: str | None, market_code: str, framework: str, box: str,
              body: str, *, now: dt.datetime | None = None) -> MarketNote:
    """Write one SWOT/PEST box (managers only), recording who and when, with an audit event."""
    users.authorize(session, actor_username, "manager")
    if framework not in FRAMEWORKS or box not in FRAMEWORKS[framework]:
        raise ValueError(f"Unknown box {framework}/{box}")
    if session.get(Market, market_code) is None:
        raise ValueError(f"Unknown market {market_code}")
    body = body.strip()
    if len(body) > MAX_NOTE_LENGTH:
        raise ValueError(f"A note can hold at most {MAX_NOTE_LENGTH} characters")
    when = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    note = session.scalar(select(MarketNote).where(MarketNote.market_code == market_code,
                                                   MarketNote.framework == framework, MarketNote.box == box))
    action = "update"
    if note is None:
        note = MarketNote(market_code=market_code, framework=framework, box=box)
        session.add(note)
        action = "create"
    before = note.body or ""
    note.body, note.updated_by, note.updated_at = body, actor_username, when
    session.flush()
    session.add(AuditEvent(at=when, username=actor_username, entity="market_note",
                           entity_id=f"{market_code}/{framework}/{box}", action=action,
                           detail=json.dumps({"before": before, "after": body})))
    return note


# --- consumers --------------------------------------------------------------------------------------


def order_values(session: Session, filters: Filters) -> pd.DataFrame:
    """Orders per market and order-value band (USD, by the months the period touches)."""
    stmt = select(MonthlyOrderValues.market_code.label("market"), MonthlyOrderValues.band_usd.label("band"),
                  func.sum(MonthlyOrderValues.orders).label("orders")).where(
        MonthlyOrderValues.month >= month_floor(filters.start), MonthlyOrderValues.month <= month_floor(filters.end))
    if filters.markets:
        stmt = stmt.where(MonthlyOrderValues.market_code.in_(filters.markets))
    if filters.channels:
        from core.platform.models import Channel

        stmt = stmt.where(MonthlyOrderValues.channel_id.in_(
            select(Channel.id).where(Channel.code.in_(filters.channels))))
    data = frame(session, stmt.group_by(MonthlyOrderValues.market_code, MonthlyOrderValues.band_usd))
    if not data.empty:
        data["share"] = data["orders"] / data.groupby("market")["orders"].transform("sum")
    return data


def categories(session: Session) -> pd.DataFrame:
    return frame(session, select(Category.id, Category.name).order_by(Category.id))


def market_list(session: Session) -> list[str]:
    return list(session.scalars(select(Market.code).order_by(Market.code)))
