"""Daily FX: ECB reference rates where data/reference/fx_ecb.csv has them (carried over weekends and holidays),
and a mean-reverting random walk before and after the file, so every day of the history has a rate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.seed.arrays import as_days, to_day_numbers
from data.seed.calendar import weekday_of
from data.seed.rng import stream

CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CNY", "CAD", "MXN", "AUD", "SAR")
ZERO_DECIMAL_CURRENCIES = ("JPY",)
SAR_PER_USD = 3.75  # pegged since 1986
# Daily volatility of log FX moves for the simulated tail after the ECB file ends, and how fast
# the walk drifts back to its starting level (keeps two years of simulation within a plausible band).
FX_DAILY_VOL = {"EUR": 0.0035, "GBP": 0.004, "JPY": 0.005, "CNY": 0.0012, "CAD": 0.003, "MXN": 0.006, "AUD": 0.0045}
FX_MEAN_REVERSION = 0.006


@dataclass(frozen=True)
class FxTable:
    """Units of each currency per 1 USD for every calendar day from `first_day`."""

    first_day: int
    per_usd: np.ndarray  # (days, currencies)
    source: np.ndarray  # (days,) "ecb" or "simulated"

    def rate(self, day_numbers: np.ndarray, currency_idx) -> np.ndarray:
        rows = np.asarray(day_numbers, dtype=np.int64) - self.first_day
        if rows.size and (rows.min() < 0 or rows.max() >= len(self.per_usd)):
            raise ValueError("FX requested outside the generated range")
        return self.per_usd[rows, currency_idx]

    def usd_per_unit(self, day_numbers: np.ndarray, currency_idx) -> np.ndarray:
        return 1.0 / self.rate(day_numbers, currency_idx)


def _mean_reverting_walk(start: np.ndarray, vols: np.ndarray, business_day: np.ndarray, rng) -> np.ndarray:
    """Log-space walk that moves on business days only and is pulled gently back towards `start`."""
    shocks = rng.standard_normal((len(business_day), len(start))) * vols * business_day[:, None]
    anchor = np.log(start)
    level = anchor.copy()
    path = np.empty((len(business_day), len(start)))
    for i, shock in enumerate(shocks):  # one step per day, not per row: a few hundred iterations
        level = level + FX_MEAN_REVERSION * (anchor - level) + shock
        path[i] = level
    return np.exp(path)


def build_fx(ecb: pd.DataFrame, first_day: dt.date, last_day: dt.date, seed: int) -> FxTable:
    ecb = ecb.sort_values("Date")
    ecb_days = to_day_numbers(ecb["Date"].to_numpy(dtype="datetime64[D]"))
    per_eur_usd = ecb["USD"].to_numpy(float)
    quoted = {"EUR": 1.0 / per_eur_usd, "USD": np.ones(len(ecb)), "SAR": np.full(len(ecb), SAR_PER_USD)}
    for code in ("JPY", "GBP", "CNY", "CAD", "MXN", "AUD"):
        quoted[code] = ecb[code].to_numpy(float) / per_eur_usd
    ecb_rates = np.column_stack([quoted[c] for c in CURRENCIES])

    first = min(to_day_numbers(np.datetime64(first_day)), ecb_days[0])
    last = to_day_numbers(np.datetime64(last_day))
    days = np.arange(first, last + 1)
    # Carry the last published rate over weekends and holidays.
    row = np.searchsorted(ecb_days, days, side="right") - 1
    per_usd = ecb_rates[np.clip(row, 0, len(ecb_days) - 1)].copy()
    source = np.where((days >= ecb_days[0]) & (days <= ecb_days[-1]), "ecb", "simulated").astype(object)

    vols = np.array([FX_DAILY_VOL.get(c, 0.0) for c in CURRENCIES])
    after = days > ecb_days[-1]
    if after.any():
        business = (weekday_of(days[after]) < 5).astype(float)
        per_usd[after] = _mean_reverting_walk(ecb_rates[-1], vols, business, stream(seed, "fx-forward"))
    before = days < ecb_days[0]
    if before.any():
        business = (weekday_of(days[before][::-1]) < 5).astype(float)
        walk = _mean_reverting_walk(ecb_rates[0], vols, business, stream(seed, "fx-backward"))
        per_usd[before] = walk[::-1]
    per_usd[:, CURRENCIES.index("USD")] = 1.0
    per_usd[:, CURRENCIES.index("SAR")] = SAR_PER_USD
    return FxTable(first_day=int(first), per_usd=per_usd, source=source)


def fx_rows(fx: FxTable) -> dict:
    n_days, n_cur = fx.per_usd.shape
    days = np.repeat(np.arange(fx.first_day, fx.first_day + n_days), n_cur)
    return {
        "day": as_days(days),
        "currency": np.tile(np.array(CURRENCIES, dtype=object), n_days),
        "per_usd": np.round(fx.per_usd.ravel(), 6),
        "source": np.repeat(fx.source, n_cur),
    }
