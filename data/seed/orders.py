"""Orders: sampled from expected demand, given to new and repeat customers, with marketplace-looking
references; and the rows of the customers and orders tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.seed.arrays import (
    as_days,
    compose_text,
    digit_codes,
    group_indices,
    hex_tokens,
    pick_per_row,
    random_digit_codes,
    to_day_numbers,
)
from data.seed.context import Context
from data.seed.demand import Demand
from data.seed.fx import CURRENCIES
from data.seed.reference import AMAZON, CHANNEL_CODES, EBAY, TIKTOK

ORDER_REF_PREFIX = ("AMZ-", "EBY-", "TTS-", "SHP-")
HOUR_WEIGHTS = (2.0, 1.2, 0.8, 0.6, 0.6, 1.0, 2.0, 3.2, 4.2, 5.0, 5.5, 5.8,
                6.0, 5.8, 5.5, 5.4, 5.5, 5.8, 6.2, 6.8, 7.2, 6.6, 5.0, 3.3)
CANCEL_RATE = 0.02
REPEAT_CUSTOMER_SHARE = 0.30
EXTRA_ORDERS_P = 0.42  # geometric parameter for a repeat customer's extra orders


@dataclass
class Orders:
    """Order-level columns (numpy arrays, row i = order id i + 1), filled in over several steps."""

    day: np.ndarray
    ordered_at: np.ndarray
    market: np.ndarray
    channel: np.ndarray
    on_event: np.ndarray
    customer: np.ndarray | None = None  # customer id
    is_first: np.ndarray | None = None
    n_customers: int = 0
    first_order_day: np.ndarray | None = None  # per customer
    customer_market: np.ndarray | None = None  # per customer
    cancelled: np.ndarray | None = None
    usd_per_unit: np.ndarray | None = None
    items_total: np.ndarray | None = None
    discount_total: np.ndarray | None = None
    shipping_charged: np.ndarray | None = None
    tax_total: np.ndarray | None = None
    order_total: np.ndarray | None = None
    gmv_usd: np.ndarray | None = None
    shipping_usd: np.ndarray | None = None
    refunded_usd: np.ndarray | None = None
    status: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.day)


def sample_orders(ctx: Context, demand: Demand, n_orders: int) -> Orders:
    rng = ctx.rng("orders")
    n_days = len(demand.base)
    month = ctx.cal.month_index(to_day_numbers(ctx.cal.days))
    month_noise = rng.lognormal(0.0, 0.08, (ctx.cal.n_months, ctx.n_markets))[month]
    day_noise = rng.lognormal(0.0, 0.10, (n_days, ctx.n_markets))
    expected = demand.expected * month_noise * day_noise
    counts = rng.multinomial(n_orders, (expected / expected.sum()).ravel())
    cell = np.repeat(np.arange(counts.size), counts)
    day_idx, market = np.divmod(cell, ctx.n_markets)
    hour = rng.choice(24, size=n_orders, p=np.asarray(HOUR_WEIGHTS) / sum(HOUR_WEIGHTS))
    seconds = hour * 3600 + rng.integers(0, 3600, n_orders)
    order = np.argsort(day_idx * 86_400 + seconds, kind="stable")
    day_idx, market, seconds = day_idx[order], market[order], seconds[order]

    channel = pick_per_row(rng, demand.channel_weight[day_idx, market])
    on_event = (demand.market_events[day_idx, market] > 1.2) | (demand.boost[day_idx, market, channel] > 1.05)
    day = ctx.cal.start_day + day_idx
    ordered_at = as_days(day).astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    return Orders(day=day, ordered_at=ordered_at, market=market, channel=channel, on_event=on_event)


def assign_customers(ctx: Context, orders: Orders) -> None:
    """Buyers per market and channel: ~30% come back, repeat orders spread over the whole history."""
    rng = ctx.rng("customers")
    slot = np.empty(orders.n, dtype=np.int64)
    offset = 0
    for _, positions in group_indices(orders.market * len(CHANNEL_CODES) + orders.channel).items():
        n = len(positions)
        repeat = rng.random(n) < REPEAT_CUSTOMER_SHARE
        orders_per_customer = 1 + repeat * rng.geometric(EXTRA_ORDERS_P, n)
        k = int(np.searchsorted(np.cumsum(orders_per_customer), n)) + 1
        owners = np.repeat(np.arange(k), orders_per_customer[:k])[:n]
        slot[positions] = offset + rng.permutation(owners)
        offset += k
    # Number customers by their first order so ids read chronologically.
    first_position = np.full(offset, orders.n, dtype=np.int64)
    np.minimum.at(first_position, slot, np.arange(orders.n))
    rank = np.empty(offset, dtype=np.int64)
    rank[np.argsort(first_position, kind="stable")] = np.arange(offset)
    orders.customer = rank[slot] + 1
    orders.n_customers = offset
    orders.is_first = first_position[slot] == np.arange(orders.n)
    orders.first_order_day = np.empty(offset, dtype=np.int64)
    orders.first_order_day[rank] = orders.day[first_position]
    orders.customer_market = np.empty(offset, dtype=np.int64)
    orders.customer_market[rank] = orders.market[first_position]


def _scrambled_counter(n: int, digits: int = 7) -> np.ndarray:
    """0..n-1 mapped one-to-one onto random-looking numbers below 10**digits (multiplier coprime to 10)."""
    if n > 10**digits:
        raise ValueError(f"more than {10**digits:,} orders in one channel")
    return (np.arange(n, dtype=np.int64) * 7_654_321 + 1_234_567) % 10**digits


def order_refs(orders: Orders, rng) -> np.ndarray:
    """Marketplace-looking references, unique per channel because each embeds a scrambled per-channel counter."""
    refs = np.empty(orders.n, dtype=object)
    for channel, positions in group_indices(orders.channel).items():
        n = len(positions)
        unique_part = digit_codes(_scrambled_counter(n), 7)
        prefix = ORDER_REF_PREFIX[channel]
        if channel == AMAZON:  # 123-1234567-1234567
            refs[positions] = compose_text(n, prefix, random_digit_codes(rng, n, 3), "-", unique_part, "-",
                                    random_digit_codes(rng, n, 7))
        elif channel == EBAY:  # 12-12345-12345
            refs[positions] = compose_text(n, prefix, random_digit_codes(rng, n, 2), "-", unique_part[:, :5], "-",
                                    unique_part[:, 5:], random_digit_codes(rng, n, 3))
        elif channel == TIKTOK:  # 18 digits
            refs[positions] = compose_text(n, prefix, "57", random_digit_codes(rng, n, 9), unique_part)
        else:  # Shopify order names simply count up
            refs[positions] = compose_text(n, prefix, digit_codes(np.arange(n) + 1_000_001, 7))
    return refs


def customer_rows(ctx: Context, orders: Orders) -> dict:
    ids = np.arange(1, orders.n_customers + 1, dtype=np.int64)
    return {
        "id": ids, "customer_ref": hex_tokens(ids, 7, 32), "market_code": ctx.market_codes[orders.customer_market],
        "first_order_on": as_days(orders.first_order_day),
    }


def order_rows(ctx: Context, orders: Orders, refs: np.ndarray) -> dict:
    currency = np.asarray(CURRENCIES, dtype=object)[ctx.market_currency[orders.market]]
    return {
        "id": np.arange(1, orders.n + 1), "channel_id": orders.channel + 1, "order_ref": refs,
        "market_code": ctx.market_codes[orders.market], "customer_id": orders.customer,
        "ordered_at": orders.ordered_at, "order_date": as_days(orders.day), "currency": currency,
        "items_total": orders.items_total, "discount_total": orders.discount_total,
        "shipping_charged": orders.shipping_charged, "tax_total": orders.tax_total, "order_total": orders.order_total,
        "usd_per_unit": orders.usd_per_unit, "gmv_usd": orders.gmv_usd, "status": orders.status,
        "refunded_usd": orders.refunded_usd, "is_first_order": orders.is_first, "import_batch_id": None,
    }
