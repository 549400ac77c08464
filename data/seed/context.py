"""The build context every generation step receives: seed, calendar, reference data and FX, plus per-market
arrays derived from them, and `ctx.rng(name)`, the step's own random stream.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from core.platform.reference import TAX_EXCLUSIVE_MARKETS
from data.seed.calendar import Calendar
from data.seed.fx import CURRENCIES, ZERO_DECIMAL_CURRENCIES, FxTable, build_fx
from data.seed.reference import MARKET_PROFILES, Reference, load_reference
from data.seed.rng import stream

SEED_USER = "seed"


@dataclass
class Context:
    seed: int
    cal: Calendar
    ref: Reference
    fx: FxTable

    def __post_init__(self) -> None:
        markets = self.ref.markets
        self.market_codes = markets["code"].to_numpy(dtype=object)
        self.n_markets = len(markets)
        self.market_currency = np.array([CURRENCIES.index(c) for c in markets["currency"]])
        self.market_vat = markets["vat_rate"].to_numpy(float)
        self.tax_inclusive = ~np.isin(self.market_codes, TAX_EXCLUSIVE_MARKETS)
        self.zero_decimal = np.isin(markets["currency"].to_numpy(dtype=object), ZERO_DECIMAL_CURRENCIES)
        self.profiles = [MARKET_PROFILES[c] for c in self.market_codes]
        self.warehouse_id = dict(zip(self.ref.warehouses["code"], self.ref.warehouses["id"]))

    def rng(self, name: str) -> np.random.Generator:
        return stream(self.seed, name)

    def market_idx(self, codes) -> np.ndarray:
        return np.flatnonzero(np.isin(self.market_codes, codes))


def build_context(end_date: dt.date, seed: int) -> Context:
    """Reference data, calendar and FX for one seed: everything `generate_tables` draws on."""
    cal = Calendar.ending(end_date)
    ref = load_reference()
    return Context(seed=seed, cal=cal, ref=ref, fx=build_fx(ref.ecb, cal.start, cal.end, seed))
