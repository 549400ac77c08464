"""Advertising: campaigns on four ad platforms and their daily spend, drawn against the sales that happened.

- `amazon_sp` (Amazon Sponsored Products) drives the Amazon channel; one campaign per market and category, and
  its rows name the advertised SKU (`product_id`): one row per SKU and day on which that SKU sold on Amazon in
  that market (the platform reports per advertised ASIN; days without a sale are left out to keep the table
  small at 1M orders, so a little spend on clicks that never converted is missing).
- `google_shopping` and `meta` drive the own Shopify store, `tiktok` the TikTok Shop channel; their rows are per
  campaign and day with no SKU, spending a budget that follows the month's sales.

Attribution never exceeds what happened: a campaign is credited with a draw of the orders of its day (each
order of the cell at most once across the cell's campaigns) and their share of the day's revenue net of VAT
(order lines' `revenue_usd`). Spend is the campaign's ACoS (spend / attributed sales) times the sales it is
expected to bring: ACoS is about 12-30 %, higher for SKUs in their introduction or growth stage and in a
campaign's (or an SKU's) first weeks; clicks follow from a cost per click, impressions from a click-through rate.
Spend is booked in the market's currency and converted to USD at the day's rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.seed.arrays import as_days, compose_text, digit_codes, group_indices, round_money
from data.seed.catalogue import Catalogue
from data.seed.context import Context
from data.seed.fx import CURRENCIES
from data.seed.orders import Orders
from data.seed.pricing import Lines
from data.seed.reference import AMAZON, CHANNEL_CODES, SHOPIFY, TIKTOK


@dataclass(frozen=True)
class Platform:
    code: str
    channel: int
    campaigns: tuple[tuple[str, float, tuple[float, float], float], ...]  # name, order share, base ACoS, CTR
    cpc_usd: float  # cost per click in the US; other markets scale it


PLATFORMS = (
    Platform("amazon_sp", AMAZON, (("auto", 0.0, (0.14, 0.24), 0.004),), 0.95),
    Platform("google_shopping", SHOPIFY, (("All products", 0.14, (0.13, 0.22), 0.008),
                                          ("Best sellers", 0.06, (0.10, 0.16), 0.011)), 0.70),
    Platform("meta", SHOPIFY, (("Prospecting", 0.09, (0.22, 0.32), 0.009),
                               ("Retargeting", 0.05, (0.08, 0.14), 0.014)), 0.60),
    Platform("tiktok", TIKTOK, (("Spark ads", 0.22, (0.15, 0.27), 0.010),
                                ("Live promotion", 0.08, (0.18, 0.30), 0.012)), 0.40),
)
NAME_PREFIX = {"amazon_sp": "SP", "google_shopping": "Shopping", "meta": "Meta", "tiktok": "TikTok"}
CPC_MARKET_FACTOR = {"US": 1.0, "CA": 0.8, "MX": 0.35, "UK": 0.85, "DE": 0.8, "FR": 0.7, "IT": 0.6, "ES": 0.6,
                     "NL": 0.75, "JP": 0.7, "AU": 0.85, "SA": 0.45}
# Sponsored Products by lifecycle stage: the chance the seller advertises the SKU in a market, the share of its
# orders the ads bring, and its ACoS against the campaign's (new SKUs buy their first sales dearly).
SP_STAGES = {  # stage: (advertised, order share range, ACoS factor)
    "introduction": (0.9, (0.5, 0.7), 1.8), "growth": (0.8, (0.45, 0.6), 1.2),
    "maturity": (0.55, (0.3, 0.45), 1.0), "decline": (0.3, (0.2, 0.35), 0.9),
    "discontinued": (0.3, (0.2, 0.35), 0.95), "candidate": (0.0, (0.0, 0.0), 1.0),
}
NEW_CAMPAIGN_ACOS = 0.7  # a new campaign (or newly advertised SKU) starts at 1.7x its ACoS, fading over ~a month
NEW_CAMPAIGN_DAYS = 30.0


@dataclass
class _Campaign:
    platform: str
    channel: int
    market: int
    name: str
    start: int  # day number
    stop: int  # exclusive; ended campaigns stop before the end date
    pause: tuple[int, int]  # [from, to) with no spend; (0, 0) without a pause
    order_share: float
    acos: float
    ctr: float
    cpc_usd: float
    category: int = -1  # Sponsored Products: the category it advertises


def _sales_cells(ctx: Context, orders: Orders, lines: Lines) -> dict:
    """Non-cancelled lines as (day index, market, channel, product) with revenue, for attribution."""
    live = ~orders.cancelled[lines.order]
    o = lines.order[live]
    return {"day": orders.day[o] - ctx.cal.start_day, "market": orders.market[o], "channel": orders.channel[o],
            "product": lines.product[live], "revenue": lines.revenue_usd[live], "order": o}


def _campaigns(ctx: Context, catalogue: Catalogue, cells: dict, rng) -> list[_Campaign]:
    """Campaigns per market where the platform's channel sells; some started inside the history, some ended or
    paused for a while."""
    n_days = len(ctx.cal.days)
    sold = np.bincount(cells["market"] * len(CHANNEL_CODES) + cells["channel"],
                       minlength=ctx.n_markets * len(CHANNEL_CODES)).reshape(ctx.n_markets, -1)
    categories = ctx.ref.categories
    campaigns = []
    for platform in PLATFORMS:
        for market in np.flatnonzero(sold[:, platform.channel] > 0):
            cpc = platform.cpc_usd * CPC_MARKET_FACTOR[ctx.market_codes[market]]
            if platform.code == "amazon_sp":
                sold_categories = np.unique(catalogue.category[cells["product"][
                    (cells["market"] == market) & (cells["channel"] == AMAZON)]])
                specs = [(f"{categories['name'][c]} - auto", 0.0, platform.campaigns[0][2], platform.campaigns[0][3],
                          c) for c in sold_categories]
            else:
                specs = [(name, share, acos, ctr, -1) for name, share, acos, ctr in platform.campaigns]
            for k, (name, share, acos, ctr, category) in enumerate(specs):
                # The first campaign of a market ran before the history; most others too, some start inside it.
                start = -int(rng.integers(30, 400)) if k == 0 or rng.random() < 0.6 else int(rng.integers(30, 600))
                ended = rng.random() < 0.15 and start < n_days - 120
                stop = int(rng.integers(start + 90, n_days)) if ended else n_days
                paused = rng.random() < 0.25
                pause_from = int(rng.integers(max(start, 0), max(start, 0) + 300)) if paused else 0
                pause = (pause_from, pause_from + int(rng.integers(14, 60))) if paused else (0, 0)
                campaigns.append(_Campaign(
                    platform.code, platform.channel, int(market), name, ctx.cal.start_day + start,
                    ctx.cal.start_day + stop, (ctx.cal.start_day + pause[0], ctx.cal.start_day + pause[1]),
                    share, float(rng.uniform(*acos)), ctr * float(rng.uniform(0.8, 1.25)), cpc, int(category)))
    return campaigns


def _live(campaign: _Campaign, day: np.ndarray) -> np.ndarray:
    return (day >= campaign.start) & (day < campaign.stop) & ~((day >= campaign.pause[0]) & (day < campaign.pause[1]))


def _new_factor(days_running: np.ndarray) -> np.ndarray:
    return 1 + NEW_CAMPAIGN_ACOS * np.exp(-np.maximum(days_running, 0) / NEW_CAMPAIGN_DAYS)


def _sponsored_products(ctx: Context, catalogue: Catalogue, cells: dict, campaigns: list[_Campaign], rng) -> dict:
    """Rows per advertised SKU and day with Amazon sales in the market."""
    n_days, n_products = len(ctx.cal.days), catalogue.n
    amazon = cells["channel"] == AMAZON
    key = (cells["market"][amazon] * n_products + cells["product"][amazon]) * n_days + cells["day"][amazon]
    keys, first, n_orders = np.unique(key, return_index=True, return_counts=True)  # one line per order and SKU
    revenue = np.bincount(np.searchsorted(keys, key), weights=cells["revenue"][amazon], minlength=len(keys))
    day_idx = keys % n_days
    pair = keys // n_days
    market, product = pair // n_products, pair % n_products
    stage = catalogue.stage

    advertised = rng.random((ctx.n_markets, n_products)) < np.array([SP_STAGES[s][0] for s in stage])[None, :]
    share_low, share_high = (np.array([SP_STAGES[s][1][i] for s in stage]) for i in (0, 1))
    order_share = rng.uniform(share_low, share_high, (ctx.n_markets, n_products))
    ad_delay = rng.integers(0, 21, (ctx.n_markets, n_products))  # days after launch the SKU's ads start
    launch = catalogue.frame["launch_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    stage_acos = np.array([SP_STAGES[s][2] for s in stage])

    campaign_of = np.full((ctx.n_markets, len(ctx.ref.categories)), -1, dtype=np.int64)
    for i, c in enumerate(campaigns):
        if c.platform == "amazon_sp":
            campaign_of[c.market, c.category] = i
    campaign = campaign_of[market, catalogue.category[product]]
    day = ctx.cal.start_day + day_idx
    sku_start = launch[product] + ad_delay[market, product]
    live = advertised[market, product] & (campaign >= 0) & (day >= sku_start)
    for i in np.unique(campaign[live]):
        rows = live & (campaign == i)
        live[rows] = _live(campaigns[i], day[rows])
    rows = np.flatnonzero(live)
    c_idx = campaign[rows]
    base = np.array([c.acos for c in campaigns])[c_idx]
    started = np.maximum(np.array([c.start for c in campaigns])[c_idx], sku_start[rows])
    acos = base * stage_acos[product[rows]] * _new_factor(day[rows] - started) * rng.lognormal(0, 0.2, len(rows))
    share = order_share[market[rows], product[rows]]
    attributed = rng.binomial(n_orders[rows], share)
    return {"campaign": c_idx, "day": day[rows], "product": product[rows] + 1, "orders": attributed,
            "sales": np.floor(revenue[rows] * attributed / n_orders[rows] * 100) / 100,
            "spend_usd": acos * share * revenue[rows]}


def _campaign_days(ctx: Context, cells: dict, campaigns: list[_Campaign], rng) -> dict:
    """Rows per campaign and live day for the campaign-level platforms; each order of a market and channel's
    day goes to at most one of its campaigns."""
    n_days, n_channels = len(ctx.cal.days), len(CHANNEL_CODES)
    cell = (cells["market"] * n_channels + cells["channel"]) * n_days + cells["day"]
    size = ctx.n_markets * n_channels * n_days
    revenue = np.bincount(cell, weights=cells["revenue"], minlength=size)
    order_cell = np.unique(cells["order"].astype(np.int64) * size + cell) % size  # one count per order
    n_orders = np.bincount(order_cell, minlength=size)
    month = ctx.cal.month_index(ctx.cal.start_day + np.arange(n_days))
    # The budget follows the month's average daily sales of the market and channel.
    per_month = revenue.reshape(-1, n_days)
    month_mean = np.stack([np.bincount(month, weights=row) / np.bincount(month) for row in per_month])
    budget_base = month_mean[:, month].ravel()
    remaining, share_left = n_orders.copy(), np.ones(size)
    out = {k: [] for k in ("campaign", "day", "product", "orders", "sales", "spend_usd")}
    days = ctx.cal.start_day + np.arange(n_days)
    for i, c in enumerate(campaigns):
        if c.platform == "amazon_sp":
            continue
        live_days = np.flatnonzero(_live(c, days))
        at = (c.market * n_channels + c.channel) * n_days + live_days
        p = np.minimum(1.0, c.order_share / share_left[at])
        attributed = rng.binomial(remaining[at], p)
        remaining[at] -= attributed
        share_left[at] = np.maximum(share_left[at] - c.order_share, 1e-9)
        acos = c.acos * _new_factor(days[live_days] - c.start) * rng.lognormal(0, 0.15, len(at))
        sales = np.floor(revenue[at] * np.divide(attributed, n_orders[at], out=np.zeros(len(at)),
                                                 where=n_orders[at] > 0) * 100) / 100
        out["campaign"].append(np.full(len(at), i))
        out["day"].append(days[live_days])
        out["product"].append(np.full(len(at), np.nan))
        out["orders"].append(attributed)
        out["sales"].append(sales)
        out["spend_usd"].append(acos * c.order_share * budget_base[at])
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def campaign_rows(ctx: Context, campaigns: list[_Campaign]) -> dict:
    n = len(campaigns)
    ids = np.arange(1, n + 1)
    refs = compose_text(n, "CMP-", digit_codes(ids * 7919 % 10**6 + 10**6, 7))
    platform = np.array([c.platform for c in campaigns], dtype=object)
    market = np.array([c.market for c in campaigns])
    names = np.array([f"{NAME_PREFIX[c.platform]} | {ctx.market_codes[c.market]} | {c.name}" for c in campaigns],
                     dtype=object)
    return {
        "id": ids, "platform": platform, "campaign_ref": refs, "name": names, "market_code": ctx.market_codes[market],
        "channel_id": np.array([c.channel for c in campaigns]) + 1,
        "started_on": as_days(np.array([c.start for c in campaigns], dtype=np.int64)),
    }


def spend_rows(ctx: Context, campaigns: list[_Campaign], rows: dict, rng) -> dict:
    """Local-currency spend at the day's rate, clicks from the cost per click, impressions from the CTR."""
    c_idx = rows["campaign"].astype(np.int64)
    market = np.array([c.market for c in campaigns])[c_idx]
    per_usd = ctx.fx.rate(rows["day"], ctx.market_currency[market])
    spend = round_money(rows["spend_usd"] * per_usd, ctx.zero_decimal[market])
    keep = (spend > 0) | (rows["orders"] > 0)
    spend_usd = np.round(spend / per_usd, 2)
    cpc = np.array([c.cpc_usd for c in campaigns])[c_idx] * rng.lognormal(0, 0.2, len(c_idx))
    clicks = np.maximum(np.round(spend_usd / cpc), rows["orders"]).astype(np.int64)
    ctr = np.array([c.ctr for c in campaigns])[c_idx] * rng.lognormal(0, 0.15, len(c_idx))
    impressions = np.maximum(np.round(clicks / ctr), clicks).astype(np.int64)
    order = np.lexsort((np.nan_to_num(rows["product"], nan=0), c_idx, rows["day"]))
    order = order[keep[order]]
    n = len(order)
    return {
        "id": np.arange(1, n + 1), "day": as_days(rows["day"][order]), "campaign_id": c_idx[order] + 1,
        "product_id": rows["product"][order], "impressions": impressions[order], "clicks": clicks[order],
        "currency": np.asarray(CURRENCIES, dtype=object)[ctx.market_currency[market[order]]],
        "spend": spend[order], "spend_usd": spend_usd[order], "attributed_orders": rows["orders"][order],
        "attributed_sales_usd": rows["sales"][order], "import_batch_id": None,
    }


def build_advertising(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines) -> tuple[dict, dict]:
    """(ad_campaigns, ad_spend) rows."""
    rng = ctx.rng("advertising")
    cells = _sales_cells(ctx, orders, lines)
    campaigns = _campaigns(ctx, catalogue, cells, rng)
    sp = _sponsored_products(ctx, catalogue, cells, campaigns, rng)
    level = _campaign_days(ctx, cells, campaigns, rng)
    rows = {k: np.concatenate([sp[k].astype(float), level[k].astype(float)]) for k in sp}
    rows["day"] = rows["day"].astype(np.int64)
    rows["orders"] = rows["orders"].astype(np.int64)
    return campaign_rows(ctx, campaigns), spend_rows(ctx, campaigns, rows, rng)
