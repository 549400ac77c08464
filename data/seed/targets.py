"""Monthly GMV targets per market and for all markets: the planning trend plus a stretch."""

from __future__ import annotations

import numpy as np

from data.seed.arrays import as_days, to_day_numbers
from data.seed.context import Context
from data.seed.demand import build_demand
from data.seed.orders import Orders

ALL_MARKETS_TARGET_OWNER = "Chen Jing"


def build_targets(ctx: Context, demand_scale: float, orders: Orders) -> dict:
    """Monthly GMV targets: the planning trend (no luck in it) plus a stretch, so some are hit and some missed."""
    rng = ctx.rng("targets")
    months = ctx.cal.recent_months(12, ahead=3)
    month_ends = (months.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    days = np.arange(to_day_numbers(months[0]), to_day_numbers(month_ends[-1]) + 1)
    expected = build_demand(ctx, days).expected * demand_scale  # (days, markets) orders
    month_of_day = (as_days(days).astype("datetime64[M]") - months[0].astype("datetime64[M]")).astype(int)
    per_month = np.zeros((len(months), ctx.n_markets))
    np.add.at(per_month, month_of_day, expected)
    recent = (orders.day > ctx.cal.end_day - 180) & ~orders.cancelled
    overall_aov = orders.gmv_usd[recent].mean()
    aov = np.array([orders.gmv_usd[recent & (orders.market == mk)].mean() if (recent & (orders.market == mk)).any()
                    else overall_aov for mk in range(ctx.n_markets)])
    stretch = rng.uniform(1.0, 1.12, per_month.shape)
    target = np.round(per_month * aov[None, :] * stretch, -2)
    month_idx, market = np.nonzero(target > 0)
    totals = target.sum(axis=1)
    n_total = len(months)
    return {
        "id": np.arange(1, len(month_idx) + n_total + 1),
        "metric": np.full(len(month_idx) + n_total, "gmv_usd", dtype=object),
        "market_code": np.concatenate([ctx.market_codes[market], np.full(n_total, None, dtype=object)]),
        "month": np.concatenate([months[month_idx], months]),
        "target_value": np.concatenate([target[month_idx, market], totals]),
        "owner": np.concatenate([np.array([ctx.profiles[mk].owner for mk in market], dtype=object),
                                 np.full(n_total, ALL_MARKETS_TARGET_OWNER, dtype=object)]),
    }
