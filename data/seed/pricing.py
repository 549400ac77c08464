"""Order lines and pricing: baskets drawn from the catalogue by day and market, shelf prices in local currency,
discounts, shipping charges, tax, USD values, and each line's revenue and landed cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.seed.arrays import as_days, charm_price, choice, round_money, to_day_numbers
from data.seed.calendar import month_of_year
from data.seed.catalogue import Catalogue, category_season
from data.seed.context import Context
from data.seed.fx import CURRENCIES
from data.seed.orders import Orders
from data.seed.reference import EBAY, SHOPIFY

LINES_PER_ORDER = ((1, 2, 3), (0.78, 0.17, 0.05))
QUANTITY = ((1, 2, 3, 4, 5), (0.76, 0.17, 0.04, 0.02, 0.01))
CATEGORY_AFFINITY = {("JP", "car_accessories"): 0.6, ("SA", "pet_supplies"): 0.5, ("SA", "beauty_tools"): 1.4,
                     ("MX", "phone_accessories"): 1.3, ("DE", "sports_outdoors"): 1.2, ("UK", "home_kitchen"): 1.2,
                     ("AU", "sports_outdoors"): 1.3, ("JP", "led_lighting"): 1.3, ("US", "pet_supplies"): 1.2}


def _category_affinity(ctx: Context, rng) -> np.ndarray:
    codes = ctx.ref.categories["code"].to_numpy(dtype=object)
    affinity = rng.lognormal(0.0, 0.2, (ctx.n_markets, len(codes)))
    for (market, category), factor in CATEGORY_AFFINITY.items():
        affinity[list(ctx.market_codes).index(market), list(codes).index(category)] *= factor
    return affinity


@dataclass
class Lines:
    order: np.ndarray  # order index (id - 1)
    product: np.ndarray  # product index (id - 1)
    quantity: np.ndarray
    unit_price: np.ndarray
    line_total: np.ndarray
    revenue_usd: np.ndarray | None = None
    cogs_usd: np.ndarray | None = None
    paid: np.ndarray | None = None  # what the buyer paid for the line, tax included, in the order's currency
    paid_usd: np.ndarray | None = None  # the same in USD at the order day's rate

    @property
    def n(self) -> int:
        return len(self.order)


def _product_weights(ctx: Context, catalogue: Catalogue) -> np.ndarray:
    """(days, markets, products) relative demand: lifecycle x price response x season x market affinity."""
    rng = ctx.rng("product-mix")
    days = to_day_numbers(ctx.cal.days)
    categories = ctx.ref.categories
    share = categories["demand_share"].to_numpy(float)[catalogue.category]
    selling = catalogue.frame["status"].to_numpy(dtype=object) != "candidate"
    pop_total = np.bincount(catalogue.category, weights=catalogue.popularity * selling, minlength=len(categories))
    base = share * catalogue.popularity / pop_total[catalogue.category] * selling
    elasticity = categories["price_elasticity"].to_numpy(float)[catalogue.category]
    month = ctx.cal.month_index(days)
    price_response = catalogue.price_multiplier[:, month].T ** elasticity
    per_day = base * catalogue.curve * price_response  # (days, products)
    season = category_season(ctx)[month_of_year(days)][:, :, catalogue.category]  # (days, markets, products)
    market_fit = _category_affinity(ctx, rng)[:, catalogue.category] * catalogue.listed.T
    return per_day[:, None, :] * season * market_fit[None, :, :]


def _sample_products(rng, weights: np.ndarray, day_idx: np.ndarray, market: np.ndarray) -> np.ndarray:
    """One product per line from its (day, market) row, via a single searchsorted over stacked CDFs."""
    n_products = weights.shape[2]
    flat = weights.reshape(-1, n_products)
    totals = flat.sum(axis=1, keepdims=True)
    cdf = np.cumsum(flat, axis=1) / np.where(totals > 0, totals, 1.0)
    rows = np.arange(len(flat))[:, None]
    stacked = (cdf + rows).ravel()
    row = day_idx * weights.shape[1] + market
    hit = np.searchsorted(stacked, row + rng.random(len(row)) * 0.999999, side="right")
    return np.clip(hit - row * n_products, 0, n_products - 1)


def build_lines(ctx: Context, catalogue: Catalogue, orders: Orders) -> Lines:
    rng = ctx.rng("lines")
    lines_per_order = choice(rng, LINES_PER_ORDER, orders.n)
    order_idx = np.repeat(np.arange(orders.n), lines_per_order)
    day_idx = orders.day[order_idx] - ctx.cal.start_day
    weights = _product_weights(ctx, catalogue)
    product = _sample_products(rng, weights, day_idx, orders.market[order_idx])
    del weights
    # The same SKU twice in one basket becomes one line.
    _, first = np.unique(order_idx.astype(np.int64) * catalogue.n + product, return_index=True)
    keep = np.sort(first)
    order_idx, product = order_idx[keep], product[keep]
    quantity = choice(rng, QUANTITY, len(order_idx))
    unit_price = _shelf_price(ctx, catalogue, orders, order_idx, product)
    zero_decimal = ctx.zero_decimal[orders.market[order_idx]]
    line_total = round_money(unit_price * quantity, zero_decimal)
    return Lines(order=order_idx, product=product, quantity=quantity, unit_price=unit_price, line_total=line_total)


def _shelf_price(ctx: Context, catalogue: Catalogue, orders: Orders, order_idx, product) -> np.ndarray:
    """Local list price, fixed per month at the rate of the month's first day, tax included where shown so."""
    market = orders.market[order_idx]
    day = orders.day[order_idx]
    month_start = to_day_numbers(as_days(day).astype("datetime64[M]").astype("datetime64[D]"))
    month_start = np.maximum(month_start, ctx.fx.first_day)
    price_index = np.array([p.price_index for p in ctx.profiles])[market]
    month = ctx.cal.month_index(day)
    usd = catalogue.frame["list_price_usd"].to_numpy(float)[product] * price_index * \
        catalogue.price_multiplier[product, month]
    local = usd * ctx.fx.rate(month_start, ctx.market_currency[market])
    gross = local * np.where(ctx.tax_inclusive[market], 1 + ctx.market_vat[market], 1.0)
    return charm_price(gross, ctx.zero_decimal[market])


def price_orders(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines) -> None:
    """Order totals, tax, USD values, and per-line revenue and landed cost."""
    rng = ctx.rng("pricing")
    n = orders.n
    market = orders.market
    zero = ctx.zero_decimal[market]
    currency = ctx.market_currency[market]
    orders.usd_per_unit = ctx.fx.usd_per_unit(orders.day, currency)
    items = round_money(np.bincount(lines.order, weights=lines.line_total, minlength=n), zero)

    discounted = rng.random(n) < np.where(orders.on_event, 0.55, 0.15)
    rate = np.where(orders.on_event, rng.choice([0.1, 0.15, 0.2, 0.25, 0.3], n), rng.choice([0.05, 0.1, 0.15, 0.2], n))
    discount = round_money(items * rate * discounted, zero)

    fee = np.array([p.shipping_fee for p in ctx.profiles])[market]
    pays_shipping = ((orders.channel == SHOPIFY) & (items * orders.usd_per_unit < 35)) | (
        (orders.channel == EBAY) & (rng.random(n) < 0.35))
    shipping = np.where(pays_shipping, fee, 0.0)

    vat = ctx.market_vat[market]
    inclusive = ctx.tax_inclusive[market]
    goods_and_shipping = items - discount + shipping
    tax = round_money(np.where(inclusive, goods_and_shipping * vat / (1 + vat), goods_and_shipping * vat), zero)
    total = np.where(inclusive, goods_and_shipping, goods_and_shipping + tax)

    orders.items_total, orders.discount_total, orders.shipping_charged = items, discount, shipping
    orders.tax_total, orders.order_total = tax, round_money(total, zero)
    orders.gmv_usd = np.round(orders.order_total * orders.usd_per_unit, 2)
    orders.shipping_usd = np.round(shipping * np.where(inclusive, 1.0, 1 + vat) * orders.usd_per_unit, 2)

    o = lines.order
    kept_share = np.where(items[o] > 0, 1 - discount[o] / np.where(items[o] > 0, items[o], 1), 1.0)
    net_of_tax = np.where(inclusive[o], 1 / (1 + vat[o]), 1.0)
    lines.revenue_usd = np.round(lines.line_total * kept_share * net_of_tax * orders.usd_per_unit[o], 2)
    lines.paid = lines.line_total * kept_share * np.where(inclusive[o], 1.0, 1 + vat[o])
    lines.paid_usd = np.round(lines.paid * orders.usd_per_unit[o], 2)
    cny_per_usd = ctx.fx.rate(orders.day[o], CURRENCIES.index("CNY"))
    unit_cost = catalogue.frame["unit_cost_cny"].to_numpy(float)[lines.product]
    lines.cogs_usd = np.round(unit_cost * lines.quantity / cny_per_usd * (1 + catalogue.landed_share[lines.product]), 2)


def line_rows(lines: Lines) -> dict:
    return {
        "id": np.arange(1, lines.n + 1), "order_id": lines.order + 1, "product_id": lines.product + 1,
        "quantity": lines.quantity, "unit_price": lines.unit_price, "line_total": lines.line_total,
        "revenue_usd": lines.revenue_usd, "cogs_usd": lines.cogs_usd,
    }
