"""Expected daily orders per market and channel: market share and growth, launch ramps, seasonality, and the
retail calendar's events (Black Friday, Christmas, Prime Day, 618, Singles' Day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from data.seed.arrays import as_days, to_day_numbers
from data.seed.calendar import month_of_year, weekday_of
from data.seed.context import Context
from data.seed.reference import AMAZON, CHANNEL_CODES, SHOPIFY, TIKTOK

SINGLES_DAY_MARKETS = ("SA", "MX", "AU", "ES")
BOXING_DAY_MARKETS = ("UK", "CA", "AU")
TIKTOK_ANNUAL_GROWTH = 0.9  # log growth of TikTok Shop's weight in the channel mix
MONTH_FACTOR = (0.88, 0.84, 0.92, 0.93, 0.95, 0.97, 1.00, 0.97, 0.96, 1.02, 1.10, 1.20)
WEEKDAY_FACTOR = (1.06, 1.03, 1.00, 0.98, 0.95, 0.92, 1.06)  # Monday first
BLACK_FRIDAY_CURVE = ((-6, 1.2), (-5, 1.25), (-4, 1.25), (-3, 1.3), (-2, 1.3), (-1, 1.4), (0, 1.6),
                      (1, 3.0), (2, 2.1), (3, 2.0), (4, 2.7), (5, 1.4))  # days from Thanksgiving


@dataclass
class Demand:
    base: np.ndarray  # (days, markets) expected orders before channel events, arbitrary scale
    market_events: np.ndarray  # (days, markets) market-wide event multiplier
    mix: np.ndarray  # (days, markets, channels) channel shares, summing to 1
    boost: np.ndarray  # (days, markets, channels) channel-specific event multiplier (Prime Day, 618, 11.11)

    @property
    def channel_weight(self) -> np.ndarray:
        return self.mix * self.boost

    @property
    def expected(self) -> np.ndarray:
        return self.base * self.channel_weight.sum(axis=2)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


class _DayGrid:
    """Multiply factors into a (days, markets[, channels]) grid by calendar date."""

    def __init__(self, first_day: int, grid: np.ndarray) -> None:
        self.first_day, self.grid = first_day, grid

    def scale(self, date: dt.date, factor: float, markets=None, channels=None) -> None:
        row = int(np.datetime64(date).astype(np.int64)) - self.first_day
        if not 0 <= row < len(self.grid):
            return
        day = self.grid[row]  # a view: writes land in the grid
        market_idx = np.arange(day.shape[0]) if markets is None else np.asarray(markets)
        if channels is None:
            day[market_idx] *= factor
        else:
            day[np.ix_(market_idx, np.atleast_1d(channels))] *= factor


def _years(days: np.ndarray) -> range:
    years = as_days(np.asarray(days)[[0, -1]]).astype("datetime64[Y]").astype(np.int64) + 1970
    return range(int(years[0]), int(years[1]) + 1)


def _market_wide_events(ctx: Context, days: np.ndarray) -> np.ndarray:
    grid = _DayGrid(int(days[0]), np.ones((len(days), ctx.n_markets)))
    boxing = ctx.market_idx(BOXING_DAY_MARKETS)
    for year in _years(days):
        thanksgiving = _nth_weekday(year, 11, 3, 4)
        for offset, factor in BLACK_FRIDAY_CURVE:
            grid.scale(thanksgiving + dt.timedelta(days=offset), factor)
        cyber_week_end = thanksgiving + dt.timedelta(days=5)
        for day in range(1, 18):
            if dt.date(year, 12, day) > cyber_week_end:
                grid.scale(dt.date(year, 12, day), 1.3)
        for day in range(18, 23):
            grid.scale(dt.date(year, 12, day), 1.12)
        grid.scale(dt.date(year, 12, 24), 0.7)
        grid.scale(dt.date(year, 12, 25), 0.55)
        grid.scale(dt.date(year, 12, 26), 0.9)
        grid.scale(dt.date(year, 12, 26), 1.6, markets=boxing)
        grid.scale(dt.date(year, 1, 1), 0.8)
    return grid.grid


def _channel_events(ctx: Context, days: np.ndarray) -> np.ndarray:
    grid = _DayGrid(int(days[0]), np.ones((len(days), ctx.n_markets, len(CHANNEL_CODES))))
    own_channels = [TIKTOK, SHOPIFY]
    singles_day = ctx.market_idx(SINGLES_DAY_MARKETS)
    for year in _years(days):
        prime_day = _nth_weekday(year, 7, 1, 2)
        grid.scale(prime_day - dt.timedelta(days=1), 0.85, channels=AMAZON)  # shoppers wait for the deals
        for offset in (0, 1):
            grid.scale(prime_day + dt.timedelta(days=offset), 3.0, channels=AMAZON)
            grid.scale(_nth_weekday(year, 10, 1, 2) + dt.timedelta(days=offset), 1.7, channels=AMAZON)
        for day, factor in ((16, 1.4), (17, 1.5), (18, 1.9)):  # 618
            grid.scale(dt.date(year, 6, day), factor, channels=own_channels)
        grid.scale(dt.date(year, 11, 10), 1.3, markets=singles_day, channels=own_channels)
        grid.scale(dt.date(year, 11, 11), 2.4, markets=singles_day, channels=own_channels)
    return grid.grid


def build_demand(ctx: Context, days: np.ndarray) -> Demand:
    """Expected daily orders per market and channel weights, deterministic (noise is added by the caller)."""
    years_to_end = (days - ctx.cal.end_day) / 365.25
    share = np.array([p.share for p in ctx.profiles])
    growth = np.array([p.growth for p in ctx.profiles])
    live_from = np.array([
        to_day_numbers(np.datetime64(ctx.cal.start, "M") + np.timedelta64(p.live_from_month, "M"))
        if p.live_from_month else -10**9
        for p in ctx.profiles
    ])
    since_launch = days[:, None] - live_from[None, :]
    launch_ramp = np.where(since_launch >= 0, 1.0 / (1.0 + np.exp(-(since_launch - 45) / 15)), 0.0)
    seasonal = np.asarray(MONTH_FACTOR)[month_of_year(days)] * np.asarray(WEEKDAY_FACTOR)[weekday_of(days)]
    market_events = _market_wide_events(ctx, days)
    base = share * np.exp(growth * years_to_end[:, None]) * launch_ramp * seasonal[:, None] * market_events

    mix = np.array([p.channel_mix for p in ctx.profiles], dtype=float)[None, :, :].repeat(len(days), axis=0)
    mix[:, :, TIKTOK] *= np.exp(TIKTOK_ANNUAL_GROWTH * years_to_end)[:, None]
    mix /= mix.sum(axis=2, keepdims=True)
    return Demand(base=base, market_events=market_events, mix=mix, boost=_channel_events(ctx, days))
