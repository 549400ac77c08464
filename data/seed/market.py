"""The market and product-selection pages' data: competitor listings, search interest and market notes
(generated with the other tables), and our own listings' ratings (a page seeder, run after the orders).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.platform.models import Category, Order, OrderLine, Product, ProductListing
from data.seed.arrays import charm_price, to_day_numbers
from data.seed.calendar import HISTORY_MONTHS, month_of_year
from data.seed.catalogue import Catalogue, category_season
from data.seed.context import SEED_USER, Context
from data.seed.registry import ORDERS, seeder

COMPETITOR_PREFIXES = ("Zen", "Lumi", "Nova", "Vox", "Aur", "Kiv", "Tera", "Pix", "Soli", "Mav", "Ora", "Byte",
                       "Hive", "Nex", "Quix", "Rhe", "Sky", "Tru", "Uma", "Vel", "Kora", "Bloom")
COMPETITOR_SUFFIXES = ("ora", "ix", "vo", "ly", "tek", "gear", "home", "pro", "wave", "nest", "max", "lab", "co",
                       "io", "go", "pal")


def build_competitors(ctx: Context, catalogue: Catalogue) -> dict:
    rng = ctx.rng("competitors")
    categories = ctx.ref.categories
    templates = ctx.ref.templates
    list_price = catalogue.frame["list_price_usd"].to_numpy(float)
    end_rate = ctx.fx.rate(np.full(ctx.n_markets, ctx.cal.end_day), ctx.market_currency)  # per market
    rows = []
    for market in range(ctx.n_markets):
        for cat_idx, code in enumerate(categories["code"]):
            k = int(rng.integers(15, 31))
            names = templates["template"].to_numpy(dtype=object)[templates["category_code"].to_numpy() == code]
            brands = [_brand(rng) for _ in range(k)]
            titles = [f"{b} {names[i]}" for b, i in zip(brands, rng.integers(0, len(names), k))]
            median_usd = np.median(list_price[catalogue.category == cat_idx]) * ctx.profiles[market].price_index
            usd = median_usd * rng.lognormal(-0.05, 0.3, k)
            gross = usd * end_rate[market] * (1 + ctx.market_vat[market] * ctx.tax_inclusive[market])
            local = charm_price(gross, np.full(k, ctx.zero_decimal[market]))
            reviews = np.round(rng.lognormal(6, 1.5, k)).astype(int)
            rows.append(pd.DataFrame({
                "market_code": ctx.market_codes[market], "category_id": cat_idx + 1, "competitor": brands,
                "title": titles, "price_local": local, "price_usd": np.round(local / end_rate[market], 2),
                "rating": np.round(np.clip(rng.normal(4.3, 0.3, k), 3.5, 4.9), 1), "review_count": reviews,
                "est_monthly_sales": np.round(reviews ** 0.6 * rng.uniform(2, 8, k)).astype(int),
            }))
    frame = pd.concat(rows, ignore_index=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    frame["captured_on"] = np.datetime64(ctx.cal.end)
    return {c: frame[c].to_numpy() for c in frame.columns}


def _brand(rng) -> str:
    name = COMPETITOR_PREFIXES[rng.integers(len(COMPETITOR_PREFIXES))] + \
        COMPETITOR_SUFFIXES[rng.integers(len(COMPETITOR_SUFFIXES))]
    return name.upper() if rng.random() < 0.2 else name


def build_search_interest(ctx: Context) -> dict:
    rng = ctx.rng("search-interest")
    months = ctx.cal.recent_months(HISTORY_MONTHS)
    month_days = to_day_numbers(months)
    n_cat = len(ctx.ref.categories)
    season = category_season(ctx)[month_of_year(month_days)]  # (months, markets, categories)
    years_to_end = (month_days - ctx.cal.end_day) / 365.25
    growth = np.array([p.growth for p in ctx.profiles])
    trend = np.exp(growth[None, :] * years_to_end[:, None] * 0.6)[:, :, None]
    drift = np.exp(rng.normal(0, 0.15, (ctx.n_markets, n_cat))[None] * years_to_end[:, None, None])
    holiday = np.where(month_of_year(month_days) == 10, 1.15, 1.0)[:, None, None]
    raw = season * trend * drift * holiday * rng.lognormal(0, 0.06, season.shape)
    index = np.round(100 * raw / raw.max(axis=0, keepdims=True)).astype(int)
    m_idx, mk, cat = np.meshgrid(np.arange(len(months)), np.arange(ctx.n_markets), np.arange(n_cat), indexing="ij")
    return {
        "market_code": ctx.market_codes[mk.ravel()], "category_id": cat.ravel() + 1, "month": months[m_idx.ravel()],
        "interest_index": index.ravel(),
    }


def build_market_notes(ctx: Context) -> dict:
    notes = ctx.ref.market_notes
    n = len(notes)
    return {
        "id": np.arange(1, n + 1), **{c: notes[c].to_numpy() for c in ("market_code", "framework", "box", "body")},
        "updated_by": np.full(n, SEED_USER, dtype=object),
        "updated_at": np.full(n, np.datetime64(ctx.cal.end, "s") + np.timedelta64(9, "h")),
    }


@seeder(after=ORDERS)
def seed_product_listings(session: Session, ctx: Context) -> dict[str, int]:
    """Our own listings: one per SKU and market it sold in. Ratings lean lower for categories and fragile items
    that come back more often, so they agree with the return data."""
    rng = np.random.default_rng([ctx.seed, 3003])
    return_rate = dict(zip(ctx.ref.categories["code"], ctx.ref.categories["return_rate"].astype(float)))
    products = session.execute(
        select(Product.id, Product.fragile, Category.code, Product.launch_date)
        .join(Category, Category.id == Product.category_id)
        .where(Product.status != "candidate")
        .order_by(Product.id)
    ).all()
    sold = set(session.execute(
        select(OrderLine.product_id, Order.market_code).join(Order, Order.id == OrderLine.order_id).distinct()
    ).all())
    quality = {pid: rng.normal(0, 0.25) for pid, *_ in products}
    rows = []
    for pid, fragile, code, launch in products:
        for market in ctx.market_codes:
            if (pid, market) not in sold:
                continue
            age_days = max(30, (ctx.cal.end - launch).days) if launch else 365
            rating = 4.6 - 4.0 * return_rate[code] - (0.2 if fragile else 0.0) + quality[pid] + rng.normal(0, 0.1)
            reviews = int(rng.lognormal(np.log(age_days / 6), 0.8))
            rows.append({"product_id": pid, "market_code": market, "rating": round(float(np.clip(rating, 3.0, 5.0)), 1),
                         "review_count": reviews, "captured_on": ctx.cal.end})
    if rows:
        session.execute(insert(ProductListing), rows)
    return {"product_listings": len(rows)}
