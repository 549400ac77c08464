"""Cost inputs of the profit ledger that come from reference data or from the catalogue: the dated referral-fee
schedule of the marketplaces (and the rate it gives each order line), the warehouses' storage rates, and each
selling SKU's opening-stock valuation (the cost of units sold before its first purchase batch arrives).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.seed.arrays import lookup, to_day_numbers
from data.seed.catalogue import Catalogue
from data.seed.context import SEED_USER, Context
from data.seed.fx import CURRENCIES
from data.seed.orders import Orders
from data.seed.pricing import Lines

OPENING_STOCK_NOTE = "opening stock valuation"


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    for column in ("valid_from", "valid_to"):
        frame[column] = pd.to_datetime(frame[column]).to_numpy().astype("datetime64[D]")
    return frame


def _fee_schedule(ctx: Context) -> pd.DataFrame:
    """marketplace_fees.csv with channel and category ids (category NaN = the channel's default rate)."""
    fees = _dated(ctx.ref.marketplace_fees)
    fees["channel_id"] = lookup(fees["channel_code"], dict(zip(ctx.ref.channels["code"], ctx.ref.channels["id"])),
                                np.int64)
    category_id = dict(zip(ctx.ref.categories["code"], range(1, len(ctx.ref.categories) + 1)))
    fees["category_id"] = [category_id[c] if isinstance(c, str) else np.nan for c in fees["category_code"]]
    return fees


def marketplace_fee_rows(ctx: Context) -> dict:
    fees = _fee_schedule(ctx)
    return {c: fees[c].to_numpy() for c in
            ("id", "channel_id", "category_id", "valid_from", "valid_to", "referral_rate", "source")}


def referral_rates(ctx: Context, channel: np.ndarray, category: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The referral rate in force per line: channel index, category index and order day (day number) each.

    A category's own row wins over the channel's default row; valid_from is inclusive, valid_to exclusive."""
    rate = np.full(len(channel), np.nan)
    fees = _fee_schedule(ctx)
    open_end = np.iinfo(np.int64).max
    # Defaults first, then category rows overwrite them: the more specific rule wins.
    for row in fees.sort_values("category_id", na_position="first", kind="stable").itertuples(index=False):
        start = to_day_numbers(row.valid_from)
        stop = open_end if pd.isna(row.valid_to) else to_day_numbers(row.valid_to)
        applies = (channel == row.channel_id - 1) & (day >= start) & (day < stop)
        if not pd.isna(row.category_id):
            applies &= category == int(row.category_id) - 1
        rate[applies] = row.referral_rate
    if np.isnan(rate).any():
        raise ValueError("marketplace_fees.csv leaves some channel, category and day without a referral rate")
    return rate


def order_referral_fees(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines) -> np.ndarray:
    """Per order, in its currency: the sum over its lines of what the buyer paid for the line x the referral
    rate of the order's channel for the line's category on the order day (0 on the own store)."""
    o = lines.order
    rate = referral_rates(ctx, orders.channel[o], catalogue.category[lines.product], orders.day[o])
    return np.bincount(o, weights=lines.paid * rate, minlength=orders.n)


def storage_rate_rows(ctx: Context) -> dict:
    rates = _dated(ctx.ref.storage_rates)
    return {
        "id": rates["id"].to_numpy(), "warehouse_id": lookup(rates["warehouse_code"], ctx.warehouse_id, np.int64),
        "valid_from": rates["valid_from"].to_numpy(), "valid_to": rates["valid_to"].to_numpy(),
        "usd_per_m3_month": rates["usd_per_m3_month"].to_numpy(float),
        "peak_usd_per_m3_month": rates["peak_usd_per_m3_month"].to_numpy(float),
    }


def opening_cost_rows(ctx: Context, catalogue: Catalogue) -> dict:
    """One entry per SKU that ever sells, from the first day: the factory price at that day's CNY rate plus the
    catalogue's inbound freight and duty share, the same valuation the order lines' cogs use."""
    selling = np.flatnonzero(catalogue.frame["status"].to_numpy(dtype=object) != "candidate")
    start = np.full(len(selling), ctx.cal.start_day)
    cny_per_usd = ctx.fx.rate(start, CURRENCIES.index("CNY"))
    factory = catalogue.frame["unit_cost_cny"].to_numpy(float)[selling]
    n = len(selling)
    return {
        "id": np.arange(1, n + 1), "product_id": selling + 1, "valid_from": np.full(n, np.datetime64(ctx.cal.start)),
        "unit_cost_usd": np.round(factory / cny_per_usd * (1 + catalogue.landed_share[selling]), 2),
        "note": np.full(n, OPENING_STOCK_NOTE, dtype=object), "entered_by": np.full(n, SEED_USER, dtype=object),
        "entered_at": np.full(n, np.datetime64(ctx.cal.start, "s")),
    }
