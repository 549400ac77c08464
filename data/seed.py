"""Deterministic demo data for Cross-Border Ops.

`seed_database(engine)` fills every domain table (not `users`) with two years
of believable history for a seller sourcing in China and selling in twelve
markets, then rebuilds the daily summary tables. Everything is drawn from
`numpy.random.default_rng`, one independent stream per concern, so the same
seed, end date and order count always give the same rows, and changing the
order count leaves the catalogue, FX walk and market intelligence untouched.

Generation is vectorised end to end: rows are built as numpy columns and
written with executemany in large chunks inside a single transaction (raw
DBAPI on SQLite, SQLAlchemy `insert()` on PostgreSQL), with primary keys
assigned here so children never wait for parents' ids.

    python -m data.seed [--orders N] [--end-date YYYY-MM-DD] [--seed 42] [--database-url URL] [--fresh]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
import zlib
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Boolean, DateTime, Engine, Float, Integer, Numeric, delete, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.platform import clock
from core.platform import models as m
from core.platform.db import get_engine, unit_of_work
from core.platform.schema import upgrade
from core.summaries import refresh_all
from data.extra_seeders import EXTRA_SEEDERS

Progress = Callable[[float, str], None]

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
HISTORY_MONTHS = 24
INSERT_CHUNK_ROWS = 50_000
SQLITE_BULK_CACHE_KIB = 512 * 1024
SEED_USER = "seed"

CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CNY", "CAD", "MXN", "AUD", "SAR")
ZERO_DECIMAL_CURRENCIES = ("JPY",)
SAR_PER_USD = 3.75  # pegged since 1986
CNY_PLANNING_RATE = 7.2  # the rate list prices were set at; real costs convert at the day's rate

# Daily volatility of log FX moves for the simulated tail after the ECB file ends, and how fast
# the walk drifts back to its starting level (keeps two years of simulation within a plausible band).
FX_DAILY_VOL = {"EUR": 0.0035, "GBP": 0.004, "JPY": 0.005, "CNY": 0.0012, "CAD": 0.003, "MXN": 0.006, "AUD": 0.0045}
FX_MEAN_REVERSION = 0.006

CHINESE_NEW_YEAR = tuple(
    dt.date.fromisoformat(d)
    for d in (
        "2020-01-25", "2021-02-12", "2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29",
        "2026-02-17", "2027-02-06", "2028-01-26", "2029-02-13", "2030-02-03", "2031-01-23",
    )
)
US_DE_MINIMIS_END = dt.date(2025, 8, 29)


@dataclass(frozen=True)
class MarketProfile:
    """How the business looks in one market today; history is extrapolated backwards from it."""

    share: float  # share of orders in the final weeks
    growth: float  # annual log growth of order volume (negative = declining market)
    live_from_month: int  # months after the history start that the market opened
    channel_mix: tuple[float, float, float, float]  # amazon, ebay, tiktok, shopify today
    fba_share: float  # amazon orders fulfilled from an FBA warehouse
    local_3pl_share: float  # other orders shipped from an overseas 3PL instead of China
    price_index: float  # local price level vs the US list price
    return_factor: float  # propensity to return vs the category norm
    shipping_fee: float  # local-currency fee when an order pays for shipping
    owner: str  # market manager, owner of the GMV targets


MARKET_PROFILES = {
    "US": MarketProfile(0.34, 0.15, 0, (0.58, 0.12, 0.10, 0.20), 0.85, 0.55, 1.00, 1.1, 4.99, "Emily Carter"),
    "CA": MarketProfile(0.05, 0.12, 0, (0.62, 0.15, 0.00, 0.23), 0.00, 0.00, 1.02, 1.0, 6.99, "Emily Carter"),
    "MX": MarketProfile(0.03, 0.60, 0, (0.55, 0.03, 0.22, 0.20), 0.00, 0.00, 0.95, 0.8, 89.0, "Lucia Hernandez"),
    "UK": MarketProfile(0.12, 0.05, 0, (0.55, 0.22, 0.08, 0.15), 0.80, 0.50, 0.95, 1.1, 3.99, "Oliver Bennett"),
    "DE": MarketProfile(0.13, 0.10, 0, (0.62, 0.14, 0.06, 0.18), 0.80, 0.55, 0.95, 1.35, 4.99, "Jonas Weber"),
    "FR": MarketProfile(0.07, 0.08, 0, (0.66, 0.06, 0.08, 0.20), 0.70, 0.35, 0.95, 1.0, 4.99, "Camille Laurent"),
    "IT": MarketProfile(0.05, -0.18, 0, (0.70, 0.10, 0.06, 0.14), 0.70, 0.35, 0.95, 0.9, 4.99, "Giulia Rossi"),
    "ES": MarketProfile(0.05, 0.14, 0, (0.66, 0.06, 0.10, 0.18), 0.70, 0.35, 0.92, 1.0, 4.99, "Lucia Hernandez"),
    "NL": MarketProfile(0.03, 0.10, 0, (0.55, 0.00, 0.00, 0.45), 0.60, 0.40, 0.95, 1.2, 4.99, "Jonas Weber"),
    "JP": MarketProfile(0.06, 0.25, 0, (0.78, 0.00, 0.07, 0.15), 0.85, 0.00, 1.00, 0.6, 500.0, "Yuki Tanaka"),
    "AU": MarketProfile(0.05, 0.10, 0, (0.55, 0.25, 0.00, 0.20), 0.00, 0.00, 1.05, 1.0, 7.95, "Oliver Bennett"),
    "SA": MarketProfile(0.02, 0.70, 6, (0.55, 0.00, 0.25, 0.20), 0.00, 0.00, 1.00, 0.7, 19.0, "Omar Al-Harbi"),
}
ALL_MARKETS_TARGET_OWNER = "Chen Jing"
TAX_EXCLUSIVE_MARKETS = ("US", "CA")  # prices shown before tax; everywhere else VAT/GST is included
EU_MARKETS = ("DE", "FR", "IT", "ES", "NL")
FBA_WAREHOUSE = {"US": "FBA-US", "UK": "FBA-UK", "JP": "FBA-JP", **{c: "FBA-DE" for c in EU_MARKETS}}  # Pan-EU
LOCAL_3PL_WAREHOUSE = {"US": "US-3PL", "UK": "UK-3PL", **{c: "DE-3PL" for c in EU_MARKETS}}
US_3PL_SHARE_AFTER_DE_MINIMIS = 0.8  # the seller moved US volume into the 3PL when parcels started paying duty
SINGLES_DAY_MARKETS = ("SA", "MX", "AU", "ES")
BOXING_DAY_MARKETS = ("UK", "CA", "AU")
SOUTHERN_HEMISPHERE = ("AU",)

CHANNEL_CODES = ("amazon", "ebay", "tiktok", "shopify")
AMAZON, EBAY, TIKTOK, SHOPIFY = range(4)
ORDER_REF_PREFIX = ("AMZ-", "EBY-", "TTS-", "SHP-")
TIKTOK_ANNUAL_GROWTH = 0.9  # log growth of TikTok Shop's weight in the channel mix

MONTH_FACTOR = (0.88, 0.84, 0.92, 0.93, 0.95, 0.97, 1.00, 0.97, 0.96, 1.02, 1.10, 1.20)
WEEKDAY_FACTOR = (1.06, 1.03, 1.00, 0.98, 0.95, 0.92, 1.06)  # Monday first
HOUR_WEIGHTS = (2.0, 1.2, 0.8, 0.6, 0.6, 1.0, 2.0, 3.2, 4.2, 5.0, 5.5, 5.8,
                6.0, 5.8, 5.5, 5.4, 5.5, 5.8, 6.2, 6.8, 7.2, 6.6, 5.0, 3.3)
BLACK_FRIDAY_CURVE = ((-6, 1.2), (-5, 1.25), (-4, 1.25), (-3, 1.3), (-2, 1.3), (-1, 1.4), (0, 1.6),
                      (1, 3.0), (2, 2.1), (3, 2.0), (4, 2.7), (5, 1.4))  # days from Thanksgiving

LINES_PER_ORDER = ((1, 2, 3), (0.78, 0.17, 0.05))
QUANTITY = ((1, 2, 3, 4, 5), (0.76, 0.17, 0.04, 0.02, 0.01))
CANCEL_RATE = 0.02
REPEAT_CUSTOMER_SHARE = 0.30
EXTRA_ORDERS_P = 0.42  # geometric parameter for a repeat customer's extra orders

CATEGORY_PREFIX = {
    "phone_accessories": "PHN", "home_kitchen": "HOM", "pet_supplies": "PET", "beauty_tools": "BEA",
    "sports_outdoors": "SPO", "toys": "TOY", "led_lighting": "LED", "apparel_accessories": "APP",
    "office_supplies": "OFF", "car_accessories": "CAR",
}
ELECTRONIC_CATEGORIES = ("phone_accessories", "led_lighting", "beauty_tools", "car_accessories")
DEFAULT_VARIANTS = ("Black", "White", "Grey", "Blue", "Pink", "Green", "Red", "Silver", "Gold", "Purple")
CATEGORY_VARIANTS = {
    "apparel_accessories": ("Black", "Grey", "Navy", "Beige", "Burgundy", "Olive", "Camel", "White", "Brown", "Cream"),
    "pet_supplies": ("S", "M", "L", "XL", "Blue", "Red", "Black", "Pink", "Green", "Grey"),
    "toys": ("Classic", "Deluxe", "Mini", "Blue", "Pink", "Starter Set", "XL", "Travel", "Green", "Rainbow"),
    "led_lighting": ("Warm White", "Cool White", "RGB", "Multicolour", "Black", "White", "Gold", "Silver", "Copper",
                     "Blue"),
    "office_supplies": ("Black", "White", "Pastel", "Blue", "Grey", "Pink", "Wood", "Silver", "Green", "Navy"),
}
PRODUCT_COUNTS = {"active": 300, "discontinued": 10, "candidate": 25}
LIFECYCLE_STAGES = (("introduction", 0.12), ("growth", 0.20), ("maturity", 0.45), ("decline", 0.23))
PRICE_LEVELS = (0.85, 0.9, 0.95, 1.0, 1.0, 1.05, 1.1)
LISTING_PROBABILITY = {"US": 1.0, "DE": 0.95, "UK": 0.95, "FR": 0.85, "IT": 0.85, "ES": 0.85, "NL": 0.8,
                       "JP": 0.7, "CA": 0.8, "AU": 0.75, "MX": 0.6, "SA": 0.55}
CATEGORY_AFFINITY = {("JP", "car_accessories"): 0.6, ("SA", "pet_supplies"): 0.5, ("SA", "beauty_tools"): 1.4,
                     ("MX", "phone_accessories"): 1.3, ("DE", "sports_outdoors"): 1.2, ("UK", "home_kitchen"): 1.2,
                     ("AU", "sports_outdoors"): 1.3, ("JP", "led_lighting"): 1.3, ("US", "pet_supplies"): 1.2}

EXPRESS_CARRIER_SPLIT = (("dhl_express", 0.45), ("fedex_ip", 0.30), ("ups_saver", 0.25))
ON_TIME_PROBABILITY = {"amzl_fba": 0.97, "usps_ground": 0.93, "ups_ground": 0.96, "dhl_paket": 0.95,
                       "royal_mail_48": 0.94, "dhl_express": 0.96, "fedex_ip": 0.95, "ups_saver": 0.95,
                       "yun_direct": 0.88, "cpost_epacket": 0.80}
LOST_RATE = {"postal": 0.01, "express": 0.0025, "last_mile": 0.002, "air_freight": 0.0, "sea_lcl": 0.0}
RETURN_TO_SENDER_RATE, COD_REFUSAL_RATE = 0.004, 0.08
PICK_PACK_FEE_USD = 1.5  # 3PL handling on top of the last-mile label
TRACKING_FORMATS = {  # carrier: (prefix, random digits, suffix)
    "DHL": ("", 10, ""), "FedEx": ("", 12, ""), "UPS": ("1ZV7X924", 10, ""), "China Post": ("LX", 9, "CN"),
    "YunExpress": ("YT", 16, ""), "USPS": ("9400", 18, ""), "DHL Paket": ("00340434", 12, ""),
    "Royal Mail": ("TT", 9, "GB"), "Amazon Logistics": ("TBA", 12, ""),
}

RETURN_REASONS = ("damaged", "not_as_described", "wrong_size", "changed_mind", "defective", "late_delivery")
RETURN_RATE_SCALE = 0.65
RETURN_CHANNEL_FACTOR = (1.25, 0.9, 1.1, 0.8)

DECLINE_REASONS = (("insufficient_funds", 0.35), ("do_not_honor", 0.30), ("fraud_suspected", 0.10),
                   ("expired_card", 0.10), ("3ds_failed", 0.15))
DISPUTE_REASONS = (("fraudulent", 0.45), ("product_not_received", 0.25), ("product_unacceptable", 0.15),
                   ("duplicate", 0.05), ("credit_not_processed", 0.10))
FOREIGN_CARD_COUNTRIES = ("NG", "BR", "ID", "VN", "UA", "PK", "RO", "PH")
PAYOUT_ANCHOR = np.datetime64("2023-01-03")  # a Tuesday: marketplace payout cycles count from here

TICKET_REASONS = ("where_is_my_order", "damaged", "wrong_item", "return_request", "refund_status",
                  "product_question", "address_change", "customs_fees")
BORDER_TAX_MARKETS = ("CA", "MX", "JP", "SA")  # tax collected from the buyer at the door

COMPETITOR_PREFIXES = ("Zen", "Lumi", "Nova", "Vox", "Aur", "Kiv", "Tera", "Pix", "Soli", "Mav", "Ora", "Byte",
                       "Hive", "Nex", "Quix", "Rhe", "Sky", "Tru", "Uma", "Vel", "Kora", "Bloom")
COMPETITOR_SUFFIXES = ("ora", "ix", "vo", "ly", "tek", "gear", "home", "pro", "wave", "nest", "max", "lab", "co",
                       "io", "go", "pal")

# Everything the seed writes, parents before children. `--fresh` empties these in reverse.
SEEDED_MODELS = (
    m.Market, m.ImportRule, m.Channel, m.Category, m.Supplier, m.Product, m.Warehouse, m.ShippingService,
    m.CarrierRate, m.FxRate, m.Customer, m.Order, m.OrderLine, m.Shipment, m.Return, m.Payment, m.Ticket,
    m.InventorySnapshot, m.InboundShipment, m.CompetitorListing, m.SearchInterest, m.Target, m.Risk, m.MarketNote,
)
KEPT_ON_FRESH = ("users", "alembic_version")


# --- small vectorised helpers -------------------------------------------------------------------------------------


def _stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator per concern, keyed by a stable hash (Python's hash() is salted per process)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _day_numbers(dates) -> np.ndarray:
    return np.asarray(dates, dtype="datetime64[D]").astype(np.int64)


def _as_days(numbers: np.ndarray) -> np.ndarray:
    return np.asarray(numbers, dtype=np.int64).astype("datetime64[D]")


def _pick(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One categorical draw per row of an (n, k) probability (or weight) matrix."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities)) * cumulative[:, -1]
    return np.minimum((u[:, None] >= cumulative).sum(axis=1), probabilities.shape[1] - 1)


def _choice(rng: np.random.Generator, options_and_weights, size: int) -> np.ndarray:
    options, weights = options_and_weights
    weights = np.asarray(weights, dtype=float)
    return np.asarray(options)[rng.choice(len(options), size=size, p=weights / weights.sum())]


def _lookup(keys: np.ndarray, mapping: Mapping, dtype=object) -> np.ndarray:
    """mapping[key] for every element, resolving each distinct key once (hashing, not sorting, the strings)."""
    codes, uniques = pd.factorize(np.asarray(keys, dtype=object))
    return np.array([mapping[k] for k in uniques], dtype=dtype)[codes]


def _group_indices(keys: np.ndarray) -> dict:
    """Row positions per distinct key, keys in sorted order (deterministic)."""
    return pd.Series(np.arange(len(keys))).groupby(keys, sort=True).indices


def _round_money(values: np.ndarray, zero_decimal: np.ndarray | bool = False) -> np.ndarray:
    return np.where(zero_decimal, np.round(values), np.round(values, 2))


def _charm_price(values: np.ndarray, zero_decimal: np.ndarray) -> np.ndarray:
    """Shelf prices: 12.99 style, or round tens of yen."""
    return np.where(zero_decimal, np.ceil(values / 10) * 10, np.ceil(values) - 0.01)


_SPLITMIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_HEX_CODES = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).astype(np.uint32)


def _mix64(values: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 finaliser: a bijection on 64-bit integers, so distinct ids give distinct tokens."""
    z = values.astype(np.uint64) + np.uint64(salt * int(_SPLITMIX[0]) % 2**64)
    z = (z ^ (z >> np.uint64(30))) * _SPLITMIX[1]
    z = (z ^ (z >> np.uint64(27))) * _SPLITMIX[2]
    return z ^ (z >> np.uint64(31))


def _hex_codes(values: np.ndarray, width: int = 16) -> np.ndarray:
    shifts = (np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4))
    return _HEX_CODES[((values.astype(np.uint64)[:, None] >> shifts) & np.uint64(15)).astype(np.intp)]


def _digit_codes(values: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values.astype(np.int64)[:, None] // powers) % 10 + 48).astype(np.uint32)


def _random_digit_codes(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return (rng.integers(0, 10, size=(n, width)) + 48).astype(np.uint32)


def _text(n: int, *parts) -> np.ndarray:
    """Fixed-width strings built from constant text and (n, k) code-point blocks, without a Python loop."""
    blocks = [
        np.broadcast_to(np.frombuffer(part.encode("utf-32-le"), dtype=np.uint32), (n, len(part)))
        if isinstance(part, str) else part
        for part in parts
        if not (isinstance(part, str) and part == "")
    ]
    codes = np.ascontiguousarray(np.hstack(blocks).astype(np.uint32))
    return codes.view(f"<U{codes.shape[1]}").ravel().astype(object)


def _tokens(ids: np.ndarray, salt: int, width: int) -> np.ndarray:
    """Hash-like hex tokens, unique per id (the first 16 characters are a bijection of the id)."""
    blocks = [_hex_codes(_mix64(ids, salt + k), 16) for k in range(math.ceil(width / 16))]
    return _text(len(ids), np.hstack(blocks)[:, :width])


# --- calendar -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    start: dt.date
    end: dt.date

    @classmethod
    def ending(cls, end: dt.date, months: int = HISTORY_MONTHS) -> Calendar:
        start = (pd.Timestamp(end) - pd.DateOffset(months=months)).date() + dt.timedelta(days=1)
        return cls(start, end)

    @property
    def days(self) -> np.ndarray:
        return np.arange(np.datetime64(self.start), np.datetime64(self.end) + 1)

    @property
    def start_day(self) -> int:
        return int(np.datetime64(self.start).astype(np.int64))

    @property
    def end_day(self) -> int:
        return int(np.datetime64(self.end).astype(np.int64))

    @property
    def now(self) -> np.datetime64:
        """The first second after the end date: nothing in the data happens at or after it."""
        return np.datetime64(self.end + dt.timedelta(days=1), "s")

    def month_index(self, day_numbers: np.ndarray) -> np.ndarray:
        months = _as_days(day_numbers).astype("datetime64[M]")
        return (months - np.datetime64(self.start, "M")).astype(np.int64)

    @property
    def n_months(self) -> int:
        return int((np.datetime64(self.end, "M") - np.datetime64(self.start, "M")).astype(int)) + 1


def _month_of_year(day_numbers: np.ndarray) -> np.ndarray:
    return _as_days(day_numbers).astype("datetime64[M]").astype(np.int64) % 12  # 0 = January


def _day_of_month(day_numbers: np.ndarray) -> np.ndarray:
    month_start = _as_days(day_numbers).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return np.asarray(day_numbers) - month_start + 1


def _weekday(day_numbers: np.ndarray) -> np.ndarray:
    return (np.asarray(day_numbers) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday


def _near_chinese_new_year(day_numbers: np.ndarray, before: int, after: int) -> np.ndarray:
    cny = _day_numbers(CHINESE_NEW_YEAR)
    offset = np.asarray(day_numbers)[:, None] - cny[None, :]
    return ((offset >= -before) & (offset <= after)).any(axis=1)


# --- reference data -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    markets: pd.DataFrame
    import_rules: pd.DataFrame
    channels: pd.DataFrame
    categories: pd.DataFrame
    warehouses: pd.DataFrame
    services: pd.DataFrame
    rates: pd.DataFrame
    suppliers: pd.DataFrame
    templates: pd.DataFrame
    payment_fees: pd.DataFrame
    payment_methods: pd.DataFrame
    risks: pd.DataFrame
    market_notes: pd.DataFrame
    ecb: pd.DataFrame


def _read_reference(name: str) -> pd.DataFrame:
    # "NA" is the North America region code, so only empty cells count as missing.
    return pd.read_csv(REFERENCE_DIR / name, keep_default_na=False, na_values=[""])


def load_reference() -> Reference:
    ref = Reference(
        markets=_read_reference("markets.csv"),
        import_rules=_read_reference("import_rules.csv"),
        channels=_read_reference("channels.csv"),
        categories=_read_reference("categories.csv"),
        warehouses=_read_reference("warehouses.csv"),
        services=_read_reference("shipping_services.csv"),
        rates=_read_reference("carrier_rates.csv"),
        suppliers=_read_reference("suppliers.csv"),
        templates=_read_reference("product_templates.csv"),
        payment_fees=_read_reference("payment_fees.csv"),
        payment_methods=_read_reference("payment_methods.csv"),
        risks=_read_reference("risks.csv"),
        market_notes=_read_reference("market_notes.csv"),
        ecb=_read_reference("fx_ecb.csv"),
    )
    if tuple(ref.markets["code"]) != tuple(MARKET_PROFILES):
        raise ValueError("markets.csv and MARKET_PROFILES must list the same markets in the same order")
    if tuple(ref.channels["code"]) != CHANNEL_CODES:
        raise ValueError(f"channels.csv must list {CHANNEL_CODES} in that order")
    return ref


# --- FX -------------------------------------------------------------------------------------------------------------


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
    ecb_days = _day_numbers(ecb["Date"].to_numpy(dtype="datetime64[D]"))
    per_eur_usd = ecb["USD"].to_numpy(float)
    quoted = {"EUR": 1.0 / per_eur_usd, "USD": np.ones(len(ecb)), "SAR": np.full(len(ecb), SAR_PER_USD)}
    for code in ("JPY", "GBP", "CNY", "CAD", "MXN", "AUD"):
        quoted[code] = ecb[code].to_numpy(float) / per_eur_usd
    ecb_rates = np.column_stack([quoted[c] for c in CURRENCIES])

    first = min(_day_numbers(np.datetime64(first_day)), ecb_days[0])
    last = _day_numbers(np.datetime64(last_day))
    days = np.arange(first, last + 1)
    # Carry the last published rate over weekends and holidays.
    row = np.searchsorted(ecb_days, days, side="right") - 1
    per_usd = ecb_rates[np.clip(row, 0, len(ecb_days) - 1)].copy()
    source = np.where((days >= ecb_days[0]) & (days <= ecb_days[-1]), "ecb", "simulated").astype(object)

    vols = np.array([FX_DAILY_VOL.get(c, 0.0) for c in CURRENCIES])
    after = days > ecb_days[-1]
    if after.any():
        business = (_weekday(days[after]) < 5).astype(float)
        per_usd[after] = _mean_reverting_walk(ecb_rates[-1], vols, business, _stream(seed, "fx-forward"))
    before = days < ecb_days[0]
    if before.any():
        business = (_weekday(days[before][::-1]) < 5).astype(float)
        walk = _mean_reverting_walk(ecb_rates[0], vols, business, _stream(seed, "fx-backward"))
        per_usd[before] = walk[::-1]
    per_usd[:, CURRENCIES.index("USD")] = 1.0
    per_usd[:, CURRENCIES.index("SAR")] = SAR_PER_USD
    return FxTable(first_day=int(first), per_usd=per_usd, source=source)


def fx_rows(fx: FxTable) -> dict:
    n_days, n_cur = fx.per_usd.shape
    days = np.repeat(np.arange(fx.first_day, fx.first_day + n_days), n_cur)
    return {
        "day": _as_days(days),
        "currency": np.tile(np.array(CURRENCIES, dtype=object), n_days),
        "per_usd": np.round(fx.per_usd.ravel(), 6),
        "source": np.repeat(fx.source, n_cur),
    }


# --- context ---------------------------------------------------------------------------------------------------------


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
        return _stream(self.seed, name)

    def market_idx(self, codes) -> np.ndarray:
        return np.flatnonzero(np.isin(self.market_codes, codes))


# --- catalogue --------------------------------------------------------------------------------------------------------


@dataclass
class Catalogue:
    frame: pd.DataFrame  # the products table
    category: np.ndarray  # category index per product
    popularity: np.ndarray
    landed_share: np.ndarray  # inbound freight + duty on top of the factory price
    curve: np.ndarray  # (days, products) lifecycle demand, 0..1
    listed: np.ndarray  # (products, markets) bool
    price_multiplier: np.ndarray  # (products, months)
    stage: np.ndarray
    volume_cm3: np.ndarray

    @property
    def n(self) -> int:
        return len(self.frame)


def build_suppliers(ref: Reference) -> pd.DataFrame:
    suppliers = ref.suppliers.copy()
    suppliers.insert(0, "id", np.arange(1, len(suppliers) + 1))
    suppliers["country"] = "CN"
    return suppliers


def _allocate(total: int, shares: np.ndarray) -> np.ndarray:
    """Integer counts summing to `total`, proportional to `shares` (largest remainder)."""
    raw = total * shares / shares.sum()
    counts = np.floor(raw).astype(int)
    counts[np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]] += 1
    return counts


def _product_specs(ctx: Context, rng) -> pd.DataFrame:
    """One row per SKU: category, template, variant and status, before numbers are attached."""
    categories = ctx.ref.categories
    shares = categories["demand_share"].to_numpy(float)
    rows = []
    for status, total in PRODUCT_COUNTS.items():
        for cat_idx, count in enumerate(_allocate(total, shares)):
            rows += [(cat_idx, status)] * int(count)
    specs = pd.DataFrame(rows, columns=["category", "status"])
    template_no = np.zeros(len(specs), dtype=int)
    variant_no = np.zeros(len(specs), dtype=int)
    for cat_idx, positions in _group_indices(specs["category"].to_numpy()).items():
        n_templates = int((ctx.ref.templates["category_code"] == categories["code"][cat_idx]).sum())
        order = rng.permutation(len(positions))
        template_no[positions] = order % n_templates
        variant_no[positions] = order // n_templates
    specs["template_no"] = template_no
    specs["variant_no"] = variant_no
    return specs


def _lifecycle(ctx: Context, rng, status: np.ndarray) -> dict:
    """Launch, ramp and decline parameters per SKU, in days relative to the end date."""
    n = len(status)
    stage = np.where(status == "active", _choice(rng, tuple(zip(*LIFECYCLE_STAGES)), n), status).astype(object)
    age = np.select(  # days between launch and the end date
        [stage == "introduction", stage == "growth", stage == "maturity", stage == "decline"],
        [rng.uniform(20, 120, n), rng.uniform(150, 400, n), rng.uniform(420, 1400, n), rng.uniform(500, 1500, n)],
        default=rng.uniform(400, 1200, n),
    )
    # Growing SKUs are still on the steep part of their S-curve today; the rest ramped up long ago.
    ramp_mid = np.select([stage == "introduction", stage == "growth"],
                         [np.full(n, 55.0), age * rng.uniform(0.7, 1.0, n)], default=np.full(n, 60.0))
    sale_end = np.where(stage == "discontinued", rng.uniform(60, 300, n), -1.0)  # days before the end date
    decline_start = np.select(
        [stage == "decline", stage == "discontinued"],
        [rng.uniform(90, 360, n), sale_end + rng.uniform(60, 180, n)],
        default=-10_000.0,
    )
    return {
        "stage": stage, "launch": ctx.cal.end_day - np.round(age), "ramp_mid": ramp_mid, "ramp_scale": ramp_mid / 3.5,
        "decline_start": ctx.cal.end_day - decline_start, "tau": rng.uniform(90, 240, n),
        "sale_end": np.where(stage == "discontinued", ctx.cal.end_day - np.round(sale_end), np.inf),
    }


def _lifecycle_curve(day_numbers: np.ndarray, life: dict) -> np.ndarray:
    t = day_numbers[:, None] - life["launch"][None, :]
    ramp = 1.0 / (1.0 + np.exp(-(t - life["ramp_mid"]) / life["ramp_scale"]))
    decline = np.exp(-np.maximum(0.0, day_numbers[:, None] - life["decline_start"]) / life["tau"])
    on_sale = (t >= 0) & (day_numbers[:, None] < life["sale_end"]) & (life["stage"] != "candidate")
    return np.where(on_sale, ramp * decline, 0.0)


def _price_multipliers(rng, n_products: int, n_months: int) -> np.ndarray:
    """Occasional list-price moves that persist for months, so elasticity can be estimated from the data."""
    levels = np.ones((n_products, n_months))
    for month in range(1, n_months):
        change = rng.random(n_products) < 0.2
        new_level = np.asarray(PRICE_LEVELS)[rng.integers(0, len(PRICE_LEVELS), n_products)]
        levels[:, month] = np.where(change, new_level, levels[:, month - 1])
    return levels


def build_catalogue(ctx: Context, suppliers: pd.DataFrame) -> Catalogue:
    rng = ctx.rng("catalogue")
    categories = ctx.ref.categories
    specs = _product_specs(ctx, rng)
    n = len(specs)
    cat = specs["category"].to_numpy()
    cat_codes = categories["code"].to_numpy(dtype=object)[cat]
    templates = ctx.ref.templates
    template_rows = np.array([
        np.flatnonzero(templates["category_code"].to_numpy(dtype=object) == code)[t]
        for code, t in zip(cat_codes, specs["template_no"])
    ])
    tpl = templates.iloc[template_rows].reset_index(drop=True)
    variants = [CATEGORY_VARIANTS.get(code, DEFAULT_VARIANTS)[v] for code, v in zip(cat_codes, specs["variant_no"])]
    names = [f"{t} - {v}" for t, v in zip(tpl["template"], variants)]
    skus = [f"{CATEGORY_PREFIX[c]}-{t + 1:02d}{v + 1:02d}" for c, t, v in
            zip(cat_codes, specs["template_no"], specs["variant_no"])]

    weight = np.round(tpl["weight_kg"].to_numpy(float) * rng.uniform(0.85, 1.2, n), 3)
    dims = {d: np.round(tpl[d].to_numpy(float) * rng.uniform(0.9, 1.1, n), 1)
            for d in ("length_cm", "width_cm", "height_cm")}
    cost = np.round(tpl["unit_cost_cny"].to_numpy(float) * rng.uniform(0.8, 1.3, n), 2)
    landed_share = rng.uniform(0.08, 0.15, n)
    markup = rng.uniform(2.5, 5.0, n)
    list_price = np.maximum(7.99, _charm_price(cost / CNY_PLANNING_RATE * (1 + landed_share) * markup, False))

    status = specs["status"].to_numpy(dtype=object)
    life = _lifecycle(ctx, rng, status)
    supplier_id = _assign_suppliers(rng, cat_codes, suppliers)
    frame = pd.DataFrame({
        "id": np.arange(1, n + 1), "sku": skus, "name": names, "category_id": cat + 1, "supplier_id": supplier_id,
        "status": status, "unit_cost_cny": cost, "list_price_usd": list_price, "weight_kg": weight, **dims,
        "fragile": tpl["fragile"].to_numpy(int).astype(bool),
        "launch_date": np.where(status == "candidate", np.datetime64("NaT"), _as_days(life["launch"])),
    })
    days = _day_numbers(ctx.cal.days)
    return Catalogue(
        frame=frame, category=cat, popularity=rng.lognormal(0.0, 1.0, n), landed_share=landed_share,
        curve=_lifecycle_curve(days.astype(float), life), listed=_listings(ctx, rng, n),
        price_multiplier=_price_multipliers(rng, n, ctx.cal.n_months), stage=life["stage"],
        volume_cm3=dims["length_cm"] * dims["width_cm"] * dims["height_cm"],
    )


def _assign_suppliers(rng, cat_codes: np.ndarray, suppliers: pd.DataFrame) -> np.ndarray:
    """Each category buys from the suppliers that list it, one of them usually dominant."""
    supplier_id = np.zeros(len(cat_codes), dtype=int)
    serves = suppliers["categories"].str.split(";")
    for code, positions in _group_indices(cat_codes).items():
        candidates = suppliers["id"].to_numpy()[[code in cats for cats in serves]]
        weights = rng.dirichlet(np.full(len(candidates), 0.8))
        supplier_id[positions] = rng.choice(candidates, size=len(positions), p=weights)
    return supplier_id


def _listings(ctx: Context, rng, n_products: int) -> np.ndarray:
    probability = np.array([LISTING_PROBABILITY[c] for c in ctx.market_codes])
    listed = rng.random((n_products, ctx.n_markets)) < probability
    listed[:, ctx.market_idx(["US"])] = True  # the US store lists everything
    return listed


def _category_season(ctx: Context) -> np.ndarray:
    """(month of year, market, category) demand factor; summer categories peak in January down under."""
    cats = ctx.ref.categories
    peak = cats["season_peak_month"].to_numpy(float) - 1
    amplitude = cats["season_amplitude"].to_numpy(float)
    summer = (peak >= 4) & (peak <= 7)
    months = np.arange(12)[:, None, None]
    southern = np.isin(ctx.market_codes, SOUTHERN_HEMISPHERE)[None, :, None]
    shifted_peak = np.where(southern & summer[None, None, :], (peak + 6) % 12, peak)
    return 1.0 + amplitude * np.cos(2 * np.pi * (months - shifted_peak) / 12)


def _category_affinity(ctx: Context, rng) -> np.ndarray:
    codes = ctx.ref.categories["code"].to_numpy(dtype=object)
    affinity = rng.lognormal(0.0, 0.2, (ctx.n_markets, len(codes)))
    for (market, category), factor in CATEGORY_AFFINITY.items():
        affinity[list(ctx.market_codes).index(market), list(codes).index(category)] *= factor
    return affinity


# --- demand --------------------------------------------------------------------------------------------------------


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
    years = _as_days(np.asarray(days)[[0, -1]]).astype("datetime64[Y]").astype(np.int64) + 1970
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
        _day_numbers(np.datetime64(ctx.cal.start, "M") + np.timedelta64(p.live_from_month, "M"))
        if p.live_from_month else -10**9
        for p in ctx.profiles
    ])
    since_launch = days[:, None] - live_from[None, :]
    launch_ramp = np.where(since_launch >= 0, 1.0 / (1.0 + np.exp(-(since_launch - 45) / 15)), 0.0)
    seasonal = np.asarray(MONTH_FACTOR)[_month_of_year(days)] * np.asarray(WEEKDAY_FACTOR)[_weekday(days)]
    market_events = _market_wide_events(ctx, days)
    base = share * np.exp(growth * years_to_end[:, None]) * launch_ramp * seasonal[:, None] * market_events

    mix = np.array([p.channel_mix for p in ctx.profiles], dtype=float)[None, :, :].repeat(len(days), axis=0)
    mix[:, :, TIKTOK] *= np.exp(TIKTOK_ANNUAL_GROWTH * years_to_end)[:, None]
    mix /= mix.sum(axis=2, keepdims=True)
    return Demand(base=base, market_events=market_events, mix=mix, boost=_channel_events(ctx, days))


# --- orders ---------------------------------------------------------------------------------------------------------


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


def _sample_orders(ctx: Context, demand: Demand, n_orders: int) -> Orders:
    rng = ctx.rng("orders")
    n_days = len(demand.base)
    month = ctx.cal.month_index(_day_numbers(ctx.cal.days))
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

    channel = _pick(rng, demand.channel_weight[day_idx, market])
    on_event = (demand.market_events[day_idx, market] > 1.2) | (demand.boost[day_idx, market, channel] > 1.05)
    day = ctx.cal.start_day + day_idx
    ordered_at = _as_days(day).astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    return Orders(day=day, ordered_at=ordered_at, market=market, channel=channel, on_event=on_event)


def _assign_customers(ctx: Context, orders: Orders) -> None:
    """Buyers per market and channel: ~30% come back, repeat orders spread over the whole history."""
    rng = ctx.rng("customers")
    slot = np.empty(orders.n, dtype=np.int64)
    offset = 0
    for _, positions in _group_indices(orders.market * len(CHANNEL_CODES) + orders.channel).items():
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


def _order_refs(orders: Orders, rng) -> np.ndarray:
    """Marketplace-looking references, unique per channel because each embeds a scrambled per-channel counter."""
    refs = np.empty(orders.n, dtype=object)
    for channel, positions in _group_indices(orders.channel).items():
        n = len(positions)
        unique_part = _digit_codes(_scrambled_counter(n), 7)
        prefix = ORDER_REF_PREFIX[channel]
        if channel == AMAZON:  # 123-1234567-1234567
            refs[positions] = _text(n, prefix, _random_digit_codes(rng, n, 3), "-", unique_part, "-",
                                    _random_digit_codes(rng, n, 7))
        elif channel == EBAY:  # 12-12345-12345
            refs[positions] = _text(n, prefix, _random_digit_codes(rng, n, 2), "-", unique_part[:, :5], "-",
                                    unique_part[:, 5:], _random_digit_codes(rng, n, 3))
        elif channel == TIKTOK:  # 18 digits
            refs[positions] = _text(n, prefix, "57", _random_digit_codes(rng, n, 9), unique_part)
        else:  # Shopify order names simply count up
            refs[positions] = _text(n, prefix, _digit_codes(np.arange(n) + 1_000_001, 7))
    return refs


# --- order lines and pricing ----------------------------------------------------------------------------------------


@dataclass
class Lines:
    order: np.ndarray  # order index (id - 1)
    product: np.ndarray  # product index (id - 1)
    quantity: np.ndarray
    unit_price: np.ndarray
    line_total: np.ndarray
    revenue_usd: np.ndarray | None = None
    cogs_usd: np.ndarray | None = None
    paid_usd: np.ndarray | None = None  # what the buyer paid for the line, tax included

    @property
    def n(self) -> int:
        return len(self.order)


def _product_weights(ctx: Context, catalogue: Catalogue) -> np.ndarray:
    """(days, markets, products) relative demand: lifecycle x price response x season x market affinity."""
    rng = ctx.rng("product-mix")
    days = _day_numbers(ctx.cal.days)
    categories = ctx.ref.categories
    share = categories["demand_share"].to_numpy(float)[catalogue.category]
    selling = catalogue.frame["status"].to_numpy(dtype=object) != "candidate"
    pop_total = np.bincount(catalogue.category, weights=catalogue.popularity * selling, minlength=len(categories))
    base = share * catalogue.popularity / pop_total[catalogue.category] * selling
    elasticity = categories["price_elasticity"].to_numpy(float)[catalogue.category]
    month = ctx.cal.month_index(days)
    price_response = catalogue.price_multiplier[:, month].T ** elasticity
    per_day = base * catalogue.curve * price_response  # (days, products)
    season = _category_season(ctx)[_month_of_year(days)][:, :, catalogue.category]  # (days, markets, products)
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
    lines_per_order = _choice(rng, LINES_PER_ORDER, orders.n)
    order_idx = np.repeat(np.arange(orders.n), lines_per_order)
    day_idx = orders.day[order_idx] - ctx.cal.start_day
    weights = _product_weights(ctx, catalogue)
    product = _sample_products(rng, weights, day_idx, orders.market[order_idx])
    del weights
    # The same SKU twice in one basket becomes one line.
    _, first = np.unique(order_idx.astype(np.int64) * catalogue.n + product, return_index=True)
    keep = np.sort(first)
    order_idx, product = order_idx[keep], product[keep]
    quantity = _choice(rng, QUANTITY, len(order_idx))
    unit_price = _shelf_price(ctx, catalogue, orders, order_idx, product)
    zero_decimal = ctx.zero_decimal[orders.market[order_idx]]
    line_total = _round_money(unit_price * quantity, zero_decimal)
    return Lines(order=order_idx, product=product, quantity=quantity, unit_price=unit_price, line_total=line_total)


def _shelf_price(ctx: Context, catalogue: Catalogue, orders: Orders, order_idx, product) -> np.ndarray:
    """Local list price, fixed per month at the rate of the month's first day, tax included where shown so."""
    market = orders.market[order_idx]
    day = orders.day[order_idx]
    month_start = _day_numbers(_as_days(day).astype("datetime64[M]").astype("datetime64[D]"))
    month_start = np.maximum(month_start, ctx.fx.first_day)
    price_index = np.array([p.price_index for p in ctx.profiles])[market]
    month = ctx.cal.month_index(day)
    usd = catalogue.frame["list_price_usd"].to_numpy(float)[product] * price_index * \
        catalogue.price_multiplier[product, month]
    local = usd * ctx.fx.rate(month_start, ctx.market_currency[market])
    gross = local * np.where(ctx.tax_inclusive[market], 1 + ctx.market_vat[market], 1.0)
    return _charm_price(gross, ctx.zero_decimal[market])


def price_orders(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines) -> None:
    """Order totals, tax, USD values, and per-line revenue and landed cost."""
    rng = ctx.rng("pricing")
    n = orders.n
    market = orders.market
    zero = ctx.zero_decimal[market]
    currency = ctx.market_currency[market]
    orders.usd_per_unit = ctx.fx.usd_per_unit(orders.day, currency)
    items = _round_money(np.bincount(lines.order, weights=lines.line_total, minlength=n), zero)

    discounted = rng.random(n) < np.where(orders.on_event, 0.55, 0.15)
    rate = np.where(orders.on_event, rng.choice([0.1, 0.15, 0.2, 0.25, 0.3], n), rng.choice([0.05, 0.1, 0.15, 0.2], n))
    discount = _round_money(items * rate * discounted, zero)

    fee = np.array([p.shipping_fee for p in ctx.profiles])[market]
    pays_shipping = ((orders.channel == SHOPIFY) & (items * orders.usd_per_unit < 35)) | (
        (orders.channel == EBAY) & (rng.random(n) < 0.35))
    shipping = np.where(pays_shipping, fee, 0.0)

    vat = ctx.market_vat[market]
    inclusive = ctx.tax_inclusive[market]
    goods_and_shipping = items - discount + shipping
    tax = _round_money(np.where(inclusive, goods_and_shipping * vat / (1 + vat), goods_and_shipping * vat), zero)
    total = np.where(inclusive, goods_and_shipping, goods_and_shipping + tax)

    orders.items_total, orders.discount_total, orders.shipping_charged = items, discount, shipping
    orders.tax_total, orders.order_total = tax, _round_money(total, zero)
    orders.gmv_usd = np.round(orders.order_total * orders.usd_per_unit, 2)
    orders.shipping_usd = np.round(shipping * np.where(inclusive, 1.0, 1 + vat) * orders.usd_per_unit, 2)

    o = lines.order
    kept_share = np.where(items[o] > 0, 1 - discount[o] / np.where(items[o] > 0, items[o], 1), 1.0)
    net_of_tax = np.where(inclusive[o], 1 / (1 + vat[o]), 1.0)
    lines.revenue_usd = np.round(lines.line_total * kept_share * net_of_tax * orders.usd_per_unit[o], 2)
    lines.paid_usd = np.round(
        lines.line_total * kept_share * np.where(inclusive[o], 1.0, 1 + vat[o]) * orders.usd_per_unit[o], 2)
    cny_per_usd = ctx.fx.rate(orders.day[o], CURRENCIES.index("CNY"))
    unit_cost = catalogue.frame["unit_cost_cny"].to_numpy(float)[lines.product]
    lines.cogs_usd = np.round(unit_cost * lines.quantity / cny_per_usd * (1 + catalogue.landed_share[lines.product]), 2)


# --- shipments ----------------------------------------------------------------------------------------------------


@dataclass
class Shipments:
    order: np.ndarray  # order index
    warehouse_id: np.ndarray
    service: np.ndarray  # service code
    carrier: np.ndarray
    mode: np.ndarray
    route: np.ndarray  # fba, 3pl, cn
    chargeable_weight_kg: np.ndarray
    cost_usd: np.ndarray
    promised_days: np.ndarray
    shipped_at: np.ndarray
    delivered_at: np.ndarray
    status: np.ndarray
    late_dispatch: np.ndarray
    late_delivery: np.ndarray  # delivered after the promise
    tracking_number: np.ndarray | None = None
    tracking_valid: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.order)


class RateCard:
    """Carrier rate lookups by (service, market, chargeable weight)."""

    def __init__(self, ref: Reference) -> None:
        services = ref.services.set_index("code")
        self.carrier = services["carrier"].to_dict()
        self.mode = services["mode"].to_dict()
        self.divisor = services["volumetric_divisor"].to_dict()
        self.increment = services["weight_increment_kg"].to_dict()
        self.ddp = services["ddp_surcharge_usd"].to_dict()
        self.rows = {
            key: group.sort_values("weight_from_kg")
            for key, group in ref.rates.groupby(["service_code", "market_code"], sort=True)
        }

    def chargeable_weight(self, service: str, actual_kg: np.ndarray, volume_cm3: np.ndarray) -> np.ndarray:
        divisor = self.divisor[service]
        weight = actual_kg if pd.isna(divisor) else np.maximum(actual_kg, volume_cm3 / divisor)
        step = self.increment[service]
        return np.round(np.ceil(np.round(weight / step, 6)) * step, 3)

    def lookup(self, service: str, market: str, weight: np.ndarray) -> dict:
        rows = self.rows[(service, market)]
        band = np.clip(np.searchsorted(rows["weight_from_kg"].to_numpy(float), weight, side="right") - 1, 0,
                       len(rows) - 1)
        pick = {c: rows[c].to_numpy()[band] for c in ("base_usd", "per_kg_usd", "transit_days_min", "transit_days_max")}
        pick["cost"] = pick["base_usd"] + pick["per_kg_usd"] * weight
        return pick


def _routes(ctx: Context, orders: Orders, live: np.ndarray, actual_kg: np.ndarray, rng) -> tuple:
    """Which warehouse ships each order and with which service."""
    market_code = ctx.market_codes[orders.market[live]]
    n = len(live)
    fba_share = np.array([p.fba_share for p in ctx.profiles])[orders.market[live]]
    tpl_share = np.array([p.local_3pl_share for p in ctx.profiles])[orders.market[live]]
    after_de_minimis = orders.day[live] >= _day_numbers(np.datetime64(US_DE_MINIMIS_END))
    tpl_share = np.where((market_code == "US") & after_de_minimis, US_3PL_SHARE_AFTER_DE_MINIMIS, tpl_share)
    fba = (orders.channel[live] == AMAZON) & (rng.random(n) < fba_share)
    tpl = ~fba & (rng.random(n) < tpl_share)
    route = np.where(fba, "fba", np.where(tpl, "3pl", "cn")).astype(object)

    warehouse = np.full(n, "CN-SZ", dtype=object)
    warehouse[fba] = _lookup(market_code[fba], FBA_WAREHOUSE)
    warehouse[tpl] = _lookup(market_code[tpl], LOCAL_3PL_WAREHOUSE)

    service = np.full(n, "amzl_fba", dtype=object)
    light = actual_kg < 1.0
    service[tpl] = np.select(
        [market_code[tpl] == "US", market_code[tpl] == "UK"],
        [np.where(light[tpl] & (rng.random(tpl.sum()) < 0.85), "usps_ground", "ups_ground"),
         np.full(tpl.sum(), "royal_mail_48")],
        default="dhl_paket",
    )
    cn = route == "cn"
    valuable = orders.gmv_usd[live] > 90
    heavy = actual_kg > 2.0
    express = (heavy & (rng.random(n) < 0.4)) | (valuable & (rng.random(n) < 0.6)) | (actual_kg > 20) | (
        rng.random(n) < 0.05)
    carriers = _choice(rng, tuple(zip(*EXPRESS_CARRIER_SPLIT)), n)
    # China Post stopped taking US parcels once they became dutiable; YunExpress lines went DDP.
    no_post = (market_code == "US") & after_de_minimis
    postal = np.where((rng.random(n) < 0.6) | no_post | heavy, "yun_direct", "cpost_epacket")  # ePacket <= 2 kg
    service[cn] = np.where(express, carriers, postal)[cn]
    return route, warehouse, service


def build_shipments(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines, cod: np.ndarray) -> Shipments:
    rng = ctx.rng("shipments")
    rates = RateCard(ctx.ref)
    live = np.flatnonzero(~orders.cancelled)
    weight = catalogue.frame["weight_kg"].to_numpy(float)[lines.product] * lines.quantity
    volume = catalogue.volume_cm3[lines.product] * lines.quantity
    actual_kg = np.bincount(lines.order, weights=weight, minlength=orders.n)[live] + 0.05  # packaging
    volume_cm3 = np.bincount(lines.order, weights=volume, minlength=orders.n)[live] * 1.15
    route, warehouse, service = _routes(ctx, orders, live, actual_kg, rng)

    n = len(live)
    chargeable, cost = np.zeros(n), np.zeros(n)
    t_min, t_max = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    market_code = ctx.market_codes[orders.market[live]]
    for (svc, mkt), positions in _service_market_groups(service, market_code):
        cw = rates.chargeable_weight(svc, actual_kg[positions], volume_cm3[positions])
        rate = rates.lookup(svc, mkt, cw)
        chargeable[positions] = cw
        cost[positions] = rate["cost"] + rates.ddp[svc]
        t_min[positions], t_max[positions] = rate["transit_days_min"], rate["transit_days_max"]
    cost += np.where(route == "3pl", PICK_PACK_FEE_USD, 0.0)

    carrier = _lookup(service, rates.carrier)
    mode = _lookup(service, rates.mode)
    shipments = Shipments(
        order=live, warehouse_id=_lookup(warehouse, ctx.warehouse_id, np.int64), service=service,
        carrier=carrier, mode=mode, route=route, chargeable_weight_kg=chargeable, cost_usd=np.round(cost, 2),
        promised_days=t_max, **_timeline(ctx, orders, live, route, service, mode, t_min, t_max, cod[live], rng),
    )
    _tracking(shipments, rng)
    return shipments


def _service_market_groups(service: np.ndarray, market_code: np.ndarray):
    keys = service + "|" + market_code
    for key, positions in _group_indices(keys).items():
        svc, mkt = key.split("|")
        yield (svc, mkt), positions


def _timeline(ctx: Context, orders: Orders, live, route, service, mode, t_min, t_max, cod, rng) -> dict:
    """Dispatch, transit and outcome per shipment; nothing is delivered after the end date."""
    n = len(live)
    from_china = route == "cn"
    hours = np.select(
        [route == "fba", route == "3pl"],
        [rng.uniform(2, 20, n), rng.uniform(3, 30, n)],
        default=rng.lognormal(np.log(26), 0.35, n),
    )
    # Factories and the Shenzhen warehouse wind down around Chinese New Year.
    holiday = from_china & _near_chinese_new_year(orders.day[live], before=3, after=10)
    hours = hours + holiday * rng.uniform(72, 240, n)
    late_dispatch = hours > np.where(route == "fba", 36, 48)
    shipped_at = orders.ordered_at[live] + (hours * 3600).astype("timedelta64[s]")

    on_time_p = _lookup(service, ON_TIME_PROBABILITY, float)
    ship_day = _day_numbers(shipped_at.astype("datetime64[D]"))
    moy, dom = _month_of_year(ship_day), _day_of_month(ship_day)
    peak = ((moy == 10) & (dom >= 20)) | (moy == 11)  # Black Friday to New Year
    on_time_p = on_time_p - 0.06 * peak - 0.05 * holiday
    on_time = rng.random(n) < on_time_p
    transit = np.where(on_time, rng.integers(t_min, t_max + 1), t_max + rng.geometric(0.45, n))
    delivered_at = shipped_at + (transit * 86_400 + rng.integers(0, 77_760, n)).astype("timedelta64[s]")

    now = ctx.cal.now
    shipped = shipped_at < now
    old_enough = shipped_at + ((t_max + 15) * 86_400).astype("timedelta64[s]") < now
    lost_rate = _lookup(mode, LOST_RATE, float)
    lost = shipped & old_enough & (rng.random(n) < lost_rate)
    refused = np.where(cod, COD_REFUSAL_RATE, RETURN_TO_SENDER_RATE)  # cash-on-delivery parcels get refused
    returned = shipped & old_enough & ~lost & (rng.random(n) < refused)
    delivered = shipped & ~lost & ~returned & (delivered_at < now)
    status = np.select([delivered, lost, returned], ["delivered", "lost", "returned_to_sender"],
                       default="in_transit").astype(object)
    return {
        "shipped_at": np.where(shipped, shipped_at, np.datetime64("NaT")),
        "delivered_at": np.where(delivered, delivered_at, np.datetime64("NaT")),
        "status": status, "late_dispatch": late_dispatch, "late_delivery": delivered & ~on_time,
    }


def _tracking(shipments: Shipments, rng) -> None:
    n = shipments.n
    numbers = np.empty(n, dtype=object)
    for carrier, positions in _group_indices(shipments.carrier).items():
        prefix, width, suffix = TRACKING_FORMATS[carrier]
        numbers[positions] = _text(len(positions), prefix, _random_digit_codes(rng, len(positions), width), suffix)
    valid = rng.random(n) < np.where(shipments.mode == "postal", 0.94, 0.985)
    numbers[~valid & (rng.random(n) < 0.4)] = None  # label printed but never scanned
    shipments.tracking_number, shipments.tracking_valid = numbers, valid


# --- returns and refunds ----------------------------------------------------------------------------------------------


@dataclass
class Returns:
    order: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    reason: np.ndarray
    requested_day: np.ndarray
    refund_usd: np.ndarray
    return_shipping_usd: np.ndarray
    restockable: np.ndarray

    @property
    def n(self) -> int:
        return len(self.order)


def _shipment_of_order(n_orders: int, shipments: Shipments) -> np.ndarray:
    """Shipment position per order, -1 for cancelled orders."""
    position = np.full(n_orders, -1, dtype=np.int64)
    position[shipments.order] = np.arange(shipments.n)
    return position


def _return_reason_weights(ctx: Context, catalogue: Catalogue, product: np.ndarray, late: np.ndarray) -> np.ndarray:
    codes = ctx.ref.categories["code"].to_numpy(dtype=object)[catalogue.category[product]]
    fragile = catalogue.frame["fragile"].to_numpy(bool)[product]
    weights = np.tile([0.12, 0.22, 0.0, 0.36, 0.15, 0.03], (len(product), 1))
    weights[:, RETURN_REASONS.index("damaged")] += 0.35 * fragile
    weights[:, RETURN_REASONS.index("wrong_size")] += 0.8 * (codes == "apparel_accessories")
    weights[:, RETURN_REASONS.index("defective")] += 0.2 * np.isin(codes, ELECTRONIC_CATEGORIES)
    weights[:, RETURN_REASONS.index("late_delivery")] += 0.6 * late
    return weights


def build_returns(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines, shipments: Shipments) -> Returns:
    rng = ctx.rng("returns")
    ship = _shipment_of_order(orders.n, shipments)[lines.order]
    has_shipment = ship >= 0
    ship = np.where(has_shipment, ship, 0)
    delivered = has_shipment & (shipments.status[ship] == "delivered")
    late = shipments.late_delivery[ship] & delivered
    categories = ctx.ref.categories
    rate = (categories["return_rate"].to_numpy(float)[catalogue.category[lines.product]] * RETURN_RATE_SCALE
            * np.asarray(RETURN_CHANNEL_FACTOR)[orders.channel[lines.order]]
            * np.array([p.return_factor for p in ctx.profiles])[orders.market[lines.order]]
            * (1 + 0.4 * late) * np.where(catalogue.frame["fragile"].to_numpy(bool)[lines.product], 1.3, 1.0))
    picked = np.flatnonzero(delivered & (rng.random(lines.n) < rate))

    product = lines.product[picked]
    reason = np.asarray(RETURN_REASONS, dtype=object)[_pick(rng, _return_reason_weights(ctx, catalogue, product,
                                                                                           late[picked]))]
    k = len(picked)
    delay = np.select([np.isin(reason, ("damaged", "defective")), reason == "late_delivery"],
                      [rng.integers(1, 8, k), rng.integers(0, 4, k)], default=rng.integers(2, 22, k))
    delivered_day = _day_numbers(shipments.delivered_at[ship[picked]].astype("datetime64[D]"))
    requested_day = delivered_day + delay
    quantity = np.where((lines.quantity[picked] > 1) & (rng.random(k) < 0.3), 1, lines.quantity[picked])
    unit_paid = lines.paid_usd[picked] / lines.quantity[picked]
    refund = unit_paid * quantity
    refund = np.where(rng.random(k) < 0.04, 0.0, refund)  # rejected: used, or returned outside the window
    restocking_fee = (reason == "changed_mind") & (orders.channel[lines.order[picked]] == SHOPIFY)
    refund = np.round(np.where(restocking_fee, refund * 0.85, refund), 2)
    returnless = ((unit_paid < 12) | (reason == "damaged")) & (rng.random(k) < 0.6)
    domestic_label = np.isin(shipments.route[ship[picked]], ("fba", "3pl"))
    label_cost = np.where(domestic_label, rng.uniform(4, 9, k), rng.uniform(8, 16, k))
    resaleable = np.select([np.isin(reason, ("changed_mind", "wrong_size", "late_delivery")),
                            reason == "not_as_described"],
                           [rng.random(k) < 0.85, rng.random(k) < 0.5], default=False)
    keep = requested_day <= ctx.cal.end_day
    return Returns(
        order=lines.order[picked][keep], product=product[keep], quantity=quantity[keep], reason=reason[keep],
        requested_day=requested_day[keep], refund_usd=refund[keep],
        return_shipping_usd=np.round(np.where(returnless, 0.0, label_cost), 2)[keep],
        restockable=(resaleable & ~returnless)[keep],
    )


def settle_refunds(ctx: Context, orders: Orders, shipments: Shipments, returns: Returns) -> None:
    """Order refunds and final status from returns, lost parcels and goodwill gestures."""
    rng = ctx.rng("refunds")
    ship = _shipment_of_order(orders.n, shipments)
    has_shipment = ship >= 0
    ship = np.where(has_shipment, ship, 0)
    status = np.where(has_shipment, shipments.status[ship], "none")
    never_arrived = np.isin(status, ("lost", "returned_to_sender"))
    late = has_shipment & shipments.late_delivery[ship]
    goodwill = np.where(late & (rng.random(orders.n) < 0.1), 0.15 * orders.gmv_usd, 0.0)
    from_returns = np.bincount(returns.order, weights=returns.refund_usd, minlength=orders.n)
    refunded = np.minimum(orders.gmv_usd, np.round(from_returns + goodwill, 2))
    refunded = np.where(never_arrived | orders.cancelled, orders.gmv_usd, refunded)
    goods_paid = orders.gmv_usd - orders.shipping_usd
    orders.refunded_usd = refunded
    orders.status = np.select(
        [orders.cancelled, (refunded > 0) & (refunded >= goods_paid - 0.01), refunded > 0],
        ["cancelled", "refunded", "partially_refunded"], default="completed",
    ).astype(object)


# --- payments -------------------------------------------------------------------------------------------------------


def plan_payment_methods(ctx: Context, orders: Orders) -> dict:
    """Method and gateway of each order's successful payment: marketplaces pay out themselves."""
    rng = ctx.rng("payment-methods")
    method = np.full(orders.n, "marketplace", dtype=object)
    gateway = np.asarray(CHANNEL_CODES, dtype=object)[orders.channel]
    mix = ctx.ref.payment_methods
    store = orders.channel == SHOPIFY
    for market, positions in _group_indices(np.where(store, orders.market, -1)).items():
        if market < 0:
            continue
        options = mix[mix["market_code"] == ctx.market_codes[market]]
        pick = rng.choice(len(options), size=len(positions), p=options["share"].to_numpy(float))
        method[positions] = options["method"].to_numpy(dtype=object)[pick]
        gateway[positions] = options["gateway"].to_numpy(dtype=object)[pick]
    return {"method": method, "gateway": gateway}


def _payment_columns(n: int) -> dict:
    return {
        "order": np.full(n, -1, dtype=np.int64), "customer_id": np.full(n, np.nan), "market": np.zeros(n, dtype=int),
        "channel": np.zeros(n, dtype=int), "attempted_at": np.zeros(n, dtype="datetime64[s]"),
        "method": np.empty(n, dtype=object), "gateway": np.empty(n, dtype=object), "amount": np.zeros(n),
        "status": np.full(n, "declined", dtype=object), "decline_reason": np.full(n, None, dtype=object),
        "card_country": np.full(n, None, dtype=object), "ip_country": np.full(n, None, dtype=object),
        "card_fingerprint": np.full(n, None, dtype=object), "ip_hash": np.full(n, None, dtype=object),
        "disputed_day": np.full(n, np.nan), "dispute_reason": np.full(n, None, dtype=object),
        "fraud_reported": np.zeros(n, dtype=bool), "refunded_usd": np.zeros(n),
    }


def _concat_columns(parts: list[dict]) -> dict:
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _countries_and_devices(ctx: Context, orders: Orders, cols: dict, rng) -> None:
    """Card and IP countries, card fingerprints and IP hashes for the store's own checkouts."""
    n = len(cols["order"])
    store = cols["channel"] == SHOPIFY
    home = ctx.market_codes[cols["market"]]
    other = ctx.market_codes[rng.integers(0, ctx.n_markets, n)]
    card_like = np.isin(cols["method"], ("card", "wallet"))
    cols["card_country"] = np.where(card_like, np.where(rng.random(n) < 0.02, other, home), None).astype(object)
    ip_other = ctx.market_codes[rng.integers(0, ctx.n_markets, n)]
    cols["ip_country"] = np.where(store, np.where(rng.random(n) < 0.03, ip_other, home), None).astype(object)
    customer = np.nan_to_num(cols["customer_id"], nan=0).astype(np.int64)
    fresh = np.arange(n, dtype=np.int64) + 10**12  # token seeds that never collide with a customer id
    own_card = card_like & (customer > 0) & (rng.random(n) < 0.85)
    cols["card_fingerprint"] = _device_tokens(n, card_like, own_card, customer, fresh, 16, salts=(11, 12))
    own_device = store & (customer > 0) & (rng.random(n) < 0.75)
    cols["ip_hash"] = _device_tokens(n, store, own_device, customer, fresh, 32, salts=(13, 14))


def _device_tokens(n: int, applies, reused, customer, fresh, width: int, salts: tuple[int, int]) -> np.ndarray:
    """The customer's usual card/device token where `reused`, a one-off token elsewhere, NULL where not applicable."""
    tokens = np.full(n, None, dtype=object)
    tokens[reused] = _tokens(customer[reused], salts[0], width)
    one_off = applies & ~reused
    tokens[one_off] = _tokens(fresh[one_off], salts[1], width)
    return tokens


def _successful_payments(ctx: Context, orders: Orders, plan: dict) -> dict:
    cols = _payment_columns(orders.n)
    cols["order"] = np.arange(orders.n)
    cols["customer_id"] = orders.customer.astype(float)
    cols["market"], cols["channel"] = orders.market, orders.channel
    cols["attempted_at"] = orders.ordered_at
    cols["method"], cols["gateway"] = plan["method"], plan["gateway"]
    cols["amount"] = orders.order_total
    full_refund = orders.refunded_usd >= orders.gmv_usd - 0.01
    cols["status"] = np.where(full_refund, "refunded", "succeeded").astype(object)
    cols["refunded_usd"] = orders.refunded_usd
    return cols


def _declined_before_success(ctx: Context, orders: Orders, success: dict, rng) -> dict:
    """Some card checkouts fail once or twice before the buyer gets through."""
    card_like = np.isin(success["method"], ("card", "wallet"))
    risky = np.isin(ctx.market_codes[orders.market], ("MX", "SA"))
    p = np.where(risky, 0.09, 0.05) + 0.02 * orders.is_first
    failed = np.flatnonzero(card_like & (rng.random(orders.n) < p))
    failed = np.repeat(failed, np.where(rng.random(len(failed)) < 0.8, 1, 2))
    cols = {key: values[failed] for key, values in success.items()}
    cols["attempted_at"] = cols["attempted_at"] - rng.integers(60, 900, len(failed)).astype("timedelta64[s]")
    cols["status"] = np.full(len(failed), "declined", dtype=object)
    cols["refunded_usd"] = np.zeros(len(failed))
    return cols


def _abandoned_declines(ctx: Context, orders: Orders, success: dict, rng) -> dict:
    """Declined checkouts that never became an order (guest buyers, no order id)."""
    card_like = np.flatnonzero(np.isin(success["method"], ("card", "wallet")))
    chosen = card_like[rng.random(len(card_like)) < 0.02]
    cols = {key: values[chosen] for key, values in success.items()}
    k = len(chosen)
    cols["order"] = np.full(k, -1, dtype=np.int64)
    cols["customer_id"] = np.full(k, np.nan)
    cols["attempted_at"] = cols["attempted_at"] + rng.integers(-6 * 3600, 6 * 3600, k).astype("timedelta64[s]")
    cols["amount"] = _round_money(cols["amount"] * rng.uniform(0.5, 1.5, k), ctx.zero_decimal[cols["market"]])
    cols["status"] = np.full(k, "declined", dtype=object)
    cols["refunded_usd"] = np.zeros(k)
    return cols


def _fraud_bursts(ctx: Context, n_orders: int, rng) -> dict:
    """Card-testing bursts: many small attempts within an hour from one device or one card."""
    n_bursts = max(3, round(n_orders / 20_000))
    sizes = rng.integers(10, 41, n_bursts)
    burst = np.repeat(np.arange(n_bursts), sizes)
    k = len(burst)
    cols = _payment_columns(k)
    shares = np.array([p.share * p.channel_mix[SHOPIFY] for p in ctx.profiles])
    market = rng.choice(ctx.n_markets, size=n_bursts, p=shares / shares.sum())[burst]
    cols["market"], cols["channel"] = market, np.full(k, SHOPIFY)
    # Recent enough to matter, early enough that the hour fits before the end date.
    start = ctx.cal.now - np.timedelta64(2, "h") - rng.integers(0, 180 * 86_400, n_bursts).astype("timedelta64[s]")
    cols["attempted_at"] = start[burst] + rng.integers(0, 3600, k).astype("timedelta64[s]")
    cols["method"], cols["gateway"] = np.full(k, "card", dtype=object), np.full(k, "stripe", dtype=object)
    usd = rng.uniform(1, 5, k)
    cols["amount"] = _round_money(usd * ctx.fx.rate(_day_numbers(cols["attempted_at"].astype("datetime64[D]")),
                                                    ctx.market_currency[market]), ctx.zero_decimal[market])
    cols["decline_reason"] = _choice(rng, (("fraud_suspected", "do_not_honor", "insufficient_funds",
                                            "expired_card", "3ds_failed"), (0.4, 0.3, 0.15, 0.1, 0.05)), k)
    foreign = np.asarray(FOREIGN_CARD_COUNTRIES, dtype=object)
    cols["card_country"] = foreign[rng.integers(0, len(foreign), k)]
    cols["ip_country"] = foreign[rng.integers(0, len(foreign), n_bursts)][burst]
    # Half the bursts test many cards from one device, the other half one stolen card from many devices.
    one_device = (rng.random(n_bursts) < 0.5)[burst]
    burst_ids = burst + 10**15  # token seeds apart from customer ids
    attempt_ids = np.arange(k) + 10**15
    cols["ip_hash"] = np.where(one_device, _tokens(burst_ids, 21, 32), _tokens(attempt_ids, 22, 32)).astype(object)
    cols["card_fingerprint"] = np.where(one_device, _tokens(attempt_ids, 23, 16),
                                        _tokens(burst_ids, 24, 16)).astype(object)
    return cols


def _disputes_and_fraud(ctx: Context, orders: Orders, cols: dict, rng) -> None:
    n = len(cols["order"])
    store = cols["channel"] == SHOPIFY
    settled = (cols["status"] != "declined") & (cols["order"] >= 0)
    disputable = settled & store & np.isin(cols["method"], ("card", "wallet", "paypal", "klarna"))
    order = np.where(cols["order"] >= 0, cols["order"], 0)
    # High-value first orders paid with a foreign card from a foreign IP: the classic fraud shape.
    big_first = disputable & orders.is_first[order] & np.isin(cols["method"], ("card", "wallet"))
    threshold = np.quantile(orders.gmv_usd[orders.channel == SHOPIFY], 0.97) if store.any() else np.inf
    suspicious = big_first & (orders.gmv_usd[order] > threshold) & (rng.random(n) < 0.3)
    foreign = np.asarray(FOREIGN_CARD_COUNTRIES, dtype=object)
    cols["card_country"] = np.where(suspicious, foreign[rng.integers(0, len(foreign), n)], cols["card_country"])
    cols["ip_country"] = np.where(suspicious & (rng.random(n) < 0.7), foreign[rng.integers(0, len(foreign), n)],
                                  cols["ip_country"])
    fraud = suspicious & (rng.random(n) < 0.4)
    disputed = (disputable & (rng.random(n) < 0.004)) | fraud
    reason = np.where(fraud, "fraudulent", _choice(rng, tuple(zip(*DISPUTE_REASONS)), n)).astype(object)
    attempt_day = _day_numbers(cols["attempted_at"].astype("datetime64[D]"))
    disputed_day = attempt_day + rng.integers(10, 76, n)
    disputed &= disputed_day <= ctx.cal.end_day
    cols["disputed_day"] = np.where(disputed, disputed_day, np.nan)
    cols["dispute_reason"] = np.where(disputed, reason, None).astype(object)
    cols["status"] = np.where(disputed, "disputed", cols["status"]).astype(object)
    cols["fraud_reported"] = (disputed & (reason == "fraudulent")) | (disputable & (rng.random(n) < 0.001))


def _fee_terms(ctx: Context, cols: dict) -> pd.DataFrame:
    """The payment_fees.csv row that applies to each payment (by gateway and method)."""
    fees = ctx.ref.payment_fees
    row_of = dict(zip(fees["gateway"] + "|" + fees["method"], range(len(fees))))
    rows = _lookup(cols["gateway"] + "|" + cols["method"], row_of, np.int64)
    return fees.iloc[rows].reset_index(drop=True)


def _payment_fees(ctx: Context, cols: dict, terms: pd.DataFrame, usd_per_unit: np.ndarray) -> np.ndarray:
    """Gateway fees (percentage, fixed, cross-border card, FX) or the marketplace referral fee."""
    referral = ctx.ref.channels["referral_fee_rate"].to_numpy(float)[cols["channel"]]
    pct = np.where(cols["method"] == "marketplace", referral, terms["pct"].to_numpy(float))
    foreign_card = np.isin(cols["method"], ("card", "wallet")) & (cols["card_country"] != "US")
    foreign_currency = ctx.market_currency[cols["market"]] != CURRENCIES.index("USD")
    rate = pct + terms["cross_border_pct"].to_numpy(float) * foreign_card + \
        terms["fx_pct"].to_numpy(float) * foreign_currency
    fee = cols["amount"] * rate + terms["fixed_usd"].to_numpy(float) / usd_per_unit
    return np.where(cols["status"] == "declined", 0.0, _round_money(fee, ctx.zero_decimal[cols["market"]]))


def _settlement_days(ctx: Context, orders: Orders, shipments: Shipments, cols: dict, terms: pd.DataFrame) -> np.ndarray:
    """Payout day: gateways pay a few days after capture, marketplaces and COD couriers after delivery on a cycle."""
    hold = terms["settle_hold_days"].to_numpy(float)
    interval = terms["payout_interval_days"].to_numpy(float)
    attempt_day = _day_numbers(cols["attempted_at"].astype("datetime64[D]")).astype(float)
    ship = _shipment_of_order(orders.n, shipments)[np.maximum(cols["order"], 0)]
    delivered_at = np.where(ship >= 0, shipments.delivered_at[np.maximum(ship, 0)], np.datetime64("NaT"))
    delivered_day = np.where(np.isnat(delivered_at), np.nan, _day_numbers(delivered_at.astype("datetime64[D]")))
    marketplace = cols["method"] == "marketplace"
    eligible = np.where(marketplace | (cols["method"] == "cod"), delivered_day, attempt_day)
    # Marketplaces release funds for parcels never scanned as delivered after a fixed reserve.
    eligible = np.where(marketplace & np.isnan(eligible), attempt_day + 10, eligible) + hold
    anchor = float(PAYOUT_ANCHOR.astype(np.int64))
    settled = anchor + np.ceil((eligible - anchor) / interval) * interval
    settled[(cols["status"] == "declined") | (settled > ctx.cal.end_day)] = np.nan
    return settled


def _payment_refs(gateway: np.ndarray, ids: np.ndarray) -> np.ndarray:
    prefixes = {"stripe": "pi_", "adyen": "psp_", "paypal": "PAY-", "cod": "COD-", "amazon": "AMZP-",
                "ebay": "EBP-", "tiktok": "TTP-"}
    refs = np.empty(len(ids), dtype=object)
    for name, positions in _group_indices(gateway).items():
        refs[positions] = _text(len(positions), prefixes[name], _hex_codes(_mix64(ids[positions], 31), 16))
    return refs


def build_payments(ctx: Context, orders: Orders, shipments: Shipments, plan: dict) -> dict:
    rng = ctx.rng("payments")
    success = _successful_payments(ctx, orders, plan)
    cols = _concat_columns([
        success, _declined_before_success(ctx, orders, success, rng), _abandoned_declines(ctx, orders, success, rng),
    ])
    _countries_and_devices(ctx, orders, cols, rng)
    cols = _concat_columns([cols, _fraud_bursts(ctx, orders.n, rng)])
    cols["attempted_at"] = np.clip(cols["attempted_at"], np.datetime64(ctx.cal.start, "s"),
                                   ctx.cal.now - np.timedelta64(1, "s"))
    declined = cols["status"] == "declined"
    missing_reason = declined & pd.isna(cols["decline_reason"])
    cols["decline_reason"][missing_reason] = _choice(rng, tuple(zip(*DECLINE_REASONS)), int(missing_reason.sum()))
    _disputes_and_fraud(ctx, orders, cols, rng)

    order = np.argsort(cols["attempted_at"], kind="stable")
    cols = {key: values[order] for key, values in cols.items()}
    n = len(order)
    ids = np.arange(1, n + 1)
    attempt_day = _day_numbers(cols["attempted_at"].astype("datetime64[D]"))
    currency_idx = ctx.market_currency[cols["market"]]
    usd_per_unit = ctx.fx.usd_per_unit(attempt_day, currency_idx)
    terms = _fee_terms(ctx, cols)
    fee = _payment_fees(ctx, cols, terms, usd_per_unit)
    settled = _settlement_days(ctx, orders, shipments, cols, terms)
    settled_ok = ~np.isnan(settled)
    settled_rate = np.full(n, np.nan)
    settled_rate[settled_ok] = ctx.fx.usd_per_unit(settled[settled_ok].astype(np.int64), currency_idx[settled_ok])
    has_order = cols["order"] >= 0
    return {
        "id": ids, "payment_ref": _payment_refs(cols["gateway"], ids),
        "order_id": np.where(has_order, cols["order"] + 1, np.nan), "customer_id": cols["customer_id"],
        "market_code": ctx.market_codes[cols["market"]], "channel_id": cols["channel"] + 1,
        "attempted_at": cols["attempted_at"], "attempt_date": _as_days(attempt_day),
        "method": cols["method"], "gateway": cols["gateway"], "amount": cols["amount"],
        "currency": np.asarray(CURRENCIES, dtype=object)[currency_idx], "fee_amount": fee,
        "usd_per_unit": usd_per_unit, "amount_usd": np.where(
            has_order & (cols["status"] != "declined"), orders.gmv_usd[np.maximum(cols["order"], 0)],
            np.round(cols["amount"] * usd_per_unit, 2)),
        "fee_usd": np.round(fee * usd_per_unit, 2), "status": cols["status"],
        "decline_reason": cols["decline_reason"],
        "card_country": cols["card_country"], "ip_country": cols["ip_country"],
        "card_fingerprint": cols["card_fingerprint"], "ip_hash": cols["ip_hash"],
        "settled_on": _nullable_days(settled), "settled_usd_per_unit": settled_rate,
        "disputed_on": _nullable_days(cols["disputed_day"]), "dispute_reason": cols["dispute_reason"],
        "fraud_reported": cols["fraud_reported"], "refunded_usd": cols["refunded_usd"],
    }


def _nullable_days(day_numbers: np.ndarray) -> np.ndarray:
    days = np.full(len(day_numbers), np.datetime64("NaT"), dtype="datetime64[D]")
    known = ~np.isnan(day_numbers)
    days[known] = _as_days(day_numbers[known].astype(np.int64))
    return days


# --- tickets --------------------------------------------------------------------------------------------------------


def _ticket_rates(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines, shipments: Shipments,
                  returns: Returns) -> tuple[np.ndarray, dict]:
    """Per order and reason, the chance the buyer writes in, driven by what happened to the order."""
    ship = _shipment_of_order(orders.n, shipments)
    shipped = ship >= 0
    s = np.maximum(ship, 0)
    status = np.where(shipped, shipments.status[s], "none")
    late = shipped & shipments.late_delivery[s]
    never_arrived = np.isin(status, ("lost", "returned_to_sender"))
    overdue = (status == "in_transit") & ~np.isnat(shipments.shipped_at[s]) & (
        shipments.shipped_at[s] + (shipments.promised_days[s] * 86_400).astype("timedelta64[s]") < ctx.cal.now)
    reason_of = {r: np.zeros(orders.n, dtype=bool) for r in RETURN_REASONS}
    for reason in RETURN_REASONS:
        reason_of[reason][returns.order[returns.reason == reason]] = True
    any_return = np.zeros(orders.n, dtype=bool)
    any_return[returns.order] = True
    fragile = np.bincount(lines.order, weights=catalogue.frame["fragile"].to_numpy(bool)[lines.product],
                          minlength=orders.n) > 0
    postal = shipped & (shipments.mode[s] == "postal")
    border_tax = shipped & (shipments.route[s] == "cn") & np.isin(ctx.market_codes[orders.market],
                                                                  BORDER_TAX_MARKETS)
    refunded = (orders.refunded_usd > 0) & ~orders.cancelled
    rates = np.column_stack([
        0.015 + 0.3 * late + 0.6 * never_arrived + 0.3 * overdue + 0.015 * postal,  # where_is_my_order
        0.003 + 0.6 * reason_of["damaged"] + 0.004 * fragile,  # damaged
        0.004 + 0.35 * reason_of["not_as_described"],  # wrong_item
        0.45 * (any_return & ~reason_of["damaged"] & ~reason_of["not_as_described"]),  # return_request
        0.2 * refunded,  # refund_status
        np.full(orders.n, 0.012),  # product_question
        0.006 + 0.01 * orders.cancelled,  # address_change
        0.04 * border_tax,  # customs_fees
    ])
    flags = {"late": late | never_arrived, "ship": ship}
    return rates, flags


def _ticket_times(ctx: Context, orders: Orders, shipments: Shipments, returns: Returns, picked, reason, ship,
                  rng) -> np.ndarray:
    k = len(picked)
    s = np.maximum(ship[picked], 0)
    ordered = orders.ordered_at[picked]
    fallback = ordered + rng.integers(7 * 86_400, 20 * 86_400, k).astype("timedelta64[s]")
    shipped_at = np.where(ship[picked] >= 0, shipments.shipped_at[s], np.datetime64("NaT"))
    delivered = np.where(ship[picked] >= 0, shipments.delivered_at[s], np.datetime64("NaT"))
    promised = np.where(ship[picked] >= 0, shipments.promised_days[s], 10)
    after_promise = shipped_at + (promised * 86_400 + rng.integers(0, 3 * 86_400, k)).astype("timedelta64[s]")
    after_delivery = delivered + rng.integers(2 * 3600, 3 * 86_400, k).astype("timedelta64[s]")
    first_return = np.full(orders.n, np.iinfo(np.int64).max)
    np.minimum.at(first_return, returns.order, returns.requested_day)
    requested = first_return[picked]
    after_return = _as_days(np.where(requested < np.iinfo(np.int64).max, requested, 0)).astype("datetime64[s]") + \
        rng.integers(5 * 86_400, 15 * 86_400, k).astype("timedelta64[s]")
    after_return = np.where(requested < np.iinfo(np.int64).max, after_return, np.datetime64("NaT"))
    at = np.select(
        [reason == "where_is_my_order", np.isin(reason, ("damaged", "wrong_item", "return_request")),
         reason == "refund_status", reason == "product_question", reason == "address_change",
         reason == "customs_fees"],
        [after_promise, after_delivery, after_return,
         ordered + rng.integers(600, 5 * 86_400, k).astype("timedelta64[s]"),
         ordered + rng.integers(1800, 12 * 3600, k).astype("timedelta64[s]"),
         delivered - rng.integers(0, 86_400, k).astype("timedelta64[s]")],
        default=np.datetime64("NaT", "s"),
    )
    return np.where(np.isnat(at), fallback, at)


def build_tickets(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines, shipments: Shipments,
                  returns: Returns) -> dict:
    rng = ctx.rng("tickets")
    rates, flags = _ticket_rates(ctx, catalogue, orders, lines, shipments, returns)
    writes_in = rng.random(orders.n) < 1 - np.prod(1 - np.clip(rates, 0, 0.95), axis=1)
    picked = np.flatnonzero(writes_in)
    reason = np.asarray(TICKET_REASONS, dtype=object)[_pick(rng, rates[picked])]
    created = _ticket_times(ctx, orders, shipments, returns, picked, reason, flags["ship"], rng)
    keep = created < ctx.cal.now
    picked, reason, created = picked[keep], reason[keep], created[keep]
    order = np.argsort(created, kind="stable")
    picked, reason, created = picked[order], reason[order], created[order]
    k = len(picked)

    store = orders.channel[picked] == SHOPIFY
    channel = np.where(store, np.where(rng.random(k) < 0.45, "chat", "email"),
                       np.where(rng.random(k) < 0.75, "marketplace", "email")).astype(object)
    created_day = _day_numbers(created.astype("datetime64[D]"))
    weekend = _weekday(created_day) >= 5
    hours = np.where(channel == "chat", rng.lognormal(np.log(0.4), 0.8, k), rng.lognormal(np.log(7), 1.0, k))
    hours = hours + weekend * (channel != "chat") * rng.uniform(10, 40, k)
    first_response = created + (hours * 3600).astype("timedelta64[s]")
    responded = (first_response < ctx.cal.now) & (rng.random(k) < 0.99)
    resolve_hours = rng.lognormal(np.log(20), 1.1, k)
    resolved_at = first_response + (resolve_hours * 3600).astype("timedelta64[s]")
    resolved = responded & (resolved_at < ctx.cal.now) & (rng.random(k) < 0.97)
    score = (4.4 - 1.3 * flags["late"][picked] - 1.1 * (reason == "damaged") - 0.5 * (reason == "wrong_item")
             - 0.4 * (hours > 24) - 0.3 * (reason == "customs_fees") + rng.normal(0, 0.8, k))
    answered = resolved & (rng.random(k) < 0.55)
    ids = np.arange(1, k + 1)
    return {
        "id": ids, "ticket_ref": _text(k, "CS-", _digit_codes(ids, 7)), "order_id": picked + 1,
        "market_code": ctx.market_codes[orders.market[picked]], "channel": channel, "reason": reason,
        "language": _ticket_language(ctx, orders.market[picked], rng), "created_at": created,
        "created_date": _as_days(created_day),
        "first_response_at": np.where(responded, first_response, np.datetime64("NaT")),
        "resolved_at": np.where(resolved, resolved_at, np.datetime64("NaT")),
        "csat": np.where(answered, np.clip(np.round(score), 1, 5), np.nan),
    }


def _ticket_language(ctx: Context, market: np.ndarray, rng) -> np.ndarray:
    language = ctx.ref.markets["language"].to_numpy(dtype=object)[market]
    code = ctx.market_codes[market]
    u = rng.random(len(market))
    language = np.where((code == "NL") & (u < 0.3), "en", language)
    language = np.where((code == "SA") & (u < 0.35), "en", language)
    return np.where((code == "CA") & (u < 0.15), "fr", language).astype(object)


# --- inventory and purchasing -------------------------------------------------------------------------------------


def shipped_units(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines, shipments: Shipments) -> np.ndarray:
    """(warehouses, products, months) units shipped, the demand signal stock and purchasing follow."""
    ship = _shipment_of_order(orders.n, shipments)[lines.order]
    ok = ship >= 0
    warehouse = shipments.warehouse_id[ship[ok]] - 1
    month = ctx.cal.month_index(orders.day[lines.order[ok]])
    n_w, n_p, n_m = len(ctx.ref.warehouses), catalogue.n, ctx.cal.n_months
    key = (warehouse * n_p + lines.product[ok]) * n_m + month
    return np.bincount(key, weights=lines.quantity[ok], minlength=n_w * n_p * n_m).reshape(n_w, n_p, n_m)


def _snapshot_days(ctx: Context) -> np.ndarray:
    end = ctx.cal.end_day
    last_monday = end - _weekday(np.array([end]))[0]
    mondays = last_monday - 7 * np.arange(25, -1, -1)
    return np.unique(np.append(mondays, end))


def _stocked_pairs(ctx: Context, catalogue: Catalogue, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(warehouse index, product index) pairs holding stock: China holds every live SKU, the rest what they ship."""
    recent = units[:, :, -6:].sum(axis=2)
    cn = int(ctx.warehouse_id["CN-SZ"]) - 1
    selling = catalogue.frame["status"].to_numpy(dtype=object) != "candidate"
    recent[cn] = np.where(selling, 1, 0)
    warehouse, product = np.nonzero(recent > 0)
    return warehouse, product


def build_inventory(ctx: Context, catalogue: Catalogue, units: np.ndarray) -> dict:
    rng = ctx.rng("inventory")
    warehouse, product = _stocked_pairs(ctx, catalogue, units)
    n_pairs = len(warehouse)
    days = _snapshot_days(ctx)
    month = ctx.cal.month_index(days)
    pair_units = _replenished_units(ctx, units)[warehouse, product]  # (pairs, months)
    trailing = np.stack([pair_units[:, max(0, m_ - 2): m_ + 1].mean(axis=1) for m_ in month], axis=1) / 30.4
    peak = np.stack([pair_units[:, max(0, m_ - 5): m_ + 1].max(axis=1) for m_ in month], axis=1) / 30.4
    fading = np.isin(catalogue.stage[product], ("decline", "discontinued"))
    overstock = (fading & (rng.random(n_pairs) < 0.5)) | (rng.random(n_pairs) < 0.06)
    rate = np.where(overstock[:, None], peak, trailing)
    cycle = rng.uniform(30, 75, n_pairs)
    phase = rng.uniform(0, 1, n_pairs) * cycle
    safety = rng.normal(6, 10, n_pairs)  # days of cover left when a refill lands; negative = runs dry first
    through_cycle = ((days[None, :] + phase[:, None]) % cycle[:, None]) / cycle[:, None]  # sawtooth 0..1
    cover = safety[:, None] + cycle[:, None] * (1 - through_cycle)
    cover = cover + overstock[:, None] * rng.uniform(90, 240, n_pairs)[:, None]
    in_stock = cover > 0
    units_left = rate * np.maximum(cover, 0) * rng.lognormal(0, 0.1, (n_pairs, len(days)))
    # Slow movers still hold a carton or two while in stock.
    on_hand = np.where(in_stock, np.maximum(np.round(units_left), rng.integers(2, 12, n_pairs)[:, None]), 0)
    on_hand = on_hand.astype(np.int64)
    reserved = np.round(on_hand * rng.uniform(0, 0.06, (n_pairs, len(days)))).astype(np.int64)
    n = n_pairs * len(days)
    return {
        "id": np.arange(1, n + 1), "day": _as_days(np.tile(days, n_pairs)),
        "warehouse_id": np.repeat(warehouse + 1, len(days)), "product_id": np.repeat(product + 1, len(days)),
        "on_hand": on_hand.ravel(), "reserved": reserved.ravel(),
    }


def _replenished_units(ctx: Context, units: np.ndarray) -> np.ndarray:
    """Units each warehouse must be refilled with per month: China also restocks the overseas warehouses."""
    cn = int(ctx.warehouse_id["CN-SZ"]) - 1
    demand = units.copy()
    demand[cn] = units[cn] + 0.3 * (units.sum(axis=0) - units[cn])
    return demand


def _inbound_lanes(ctx: Context, catalogue: Catalogue, demand: np.ndarray, rng) -> dict:
    """Replenishment lanes (warehouse, product): usual mode, minimum order and reorder interval."""
    cn = int(ctx.warehouse_id["CN-SZ"]) - 1
    volume = demand.sum(axis=2)
    selling = catalogue.frame["status"].to_numpy(dtype=object) != "candidate"
    volume[cn] = np.where(selling, np.maximum(volume[cn], 1), 0)
    warehouse, product = np.nonzero(np.where(np.arange(len(volume))[:, None] == cn, volume > 0, volume >= 30))
    n = len(warehouse)
    overseas = warehouse != cn
    codes = ctx.ref.warehouses["code"].to_numpy(dtype=object)[warehouse]
    sea_share = np.where(codes == "FBA-JP", 0.7, 0.6)
    mode = np.where(overseas, np.where(rng.random(n) < sea_share, "sea", "air"), "express").astype(object)
    usual = np.select([mode == "sea", mode == "air"], [rng.uniform(55, 80, n), rng.uniform(25, 40, n)],
                      default=rng.uniform(30, 45, n))
    moq = np.where(mode == "sea", 300, 100)
    selling_days = np.maximum((demand[warehouse, product] > 0).sum(axis=1), 1) * 30.4
    daily = volume[warehouse, product] / selling_days
    # Slow lanes reorder less often rather than below the supplier's minimum.
    interval = np.clip(np.maximum(usual, moq / np.maximum(daily, 1e-9)), usual, 180)
    return {"warehouse": warehouse, "product": product, "mode": mode, "interval": interval, "moq": moq}


def _inbound_freight(ctx: Context, rates: RateCard, mode, warehouse, weight_kg, volume_cm3) -> tuple:
    """Freight cost (USD) and transit day range per purchase order."""
    codes = ctx.ref.warehouses["code"].to_numpy(dtype=object)[warehouse]
    country = ctx.ref.warehouses["country"].to_numpy(dtype=object)[warehouse]
    service = np.where(np.char.startswith(codes.astype(str), "FBA"),
                       np.where(mode == "sea", "sea_lcl_fba", "air_fba"),
                       np.where(mode == "sea", "sea_lcl_3pl", "air_3pl")).astype(object)
    cost = 5.0 + 0.25 * weight_kg  # domestic truck from the factory to Shenzhen
    transit = np.column_stack([np.full(len(mode), 2), np.full(len(mode), 4)])
    overseas = mode != "express"
    idx = np.flatnonzero(overseas)
    for (svc, mkt), positions in _service_market_groups(service[idx], country[idx]):
        rows = idx[positions]
        cw = rates.chargeable_weight(svc, weight_kg[rows], volume_cm3[rows])
        rate = rates.lookup(svc, mkt, cw)
        cost[rows] = rate["cost"]
        transit[rows, 0], transit[rows, 1] = rate["transit_days_min"], rate["transit_days_max"]
    return np.round(cost, 2), transit


def build_inbound(ctx: Context, catalogue: Catalogue, suppliers: pd.DataFrame, units: np.ndarray) -> dict:
    rng = ctx.rng("inbound")
    demand = _replenished_units(ctx, units)
    lanes = _inbound_lanes(ctx, catalogue, demand, rng)
    max_pos = 40
    n_lanes = len(lanes["product"])
    product = lanes["product"]
    launch = _day_numbers(catalogue.frame["launch_date"].to_numpy(dtype="datetime64[D]")[product])
    first = np.maximum(ctx.cal.start_day, launch - 45) - rng.uniform(0, 1, n_lanes) * lanes["interval"]
    gaps = lanes["interval"][:, None] * rng.uniform(0.8, 1.25, (n_lanes, max_pos))
    ordered = np.floor(first[:, None] + np.cumsum(gaps, axis=1) - gaps[:, :1]).astype(np.int64)
    stops = np.where(catalogue.stage[product] == "discontinued",
                     _day_numbers(_discontinued_at(ctx, catalogue)[product]) - 60, ctx.cal.end_day - 2)
    valid = (ordered >= ctx.cal.start_day) & (ordered <= stops[:, None])
    lane, _ = np.nonzero(valid)
    ordered = ordered[valid]
    k = len(lane)
    warehouse, product = lanes["warehouse"][lane], lanes["product"][lane]
    mode = lanes["mode"][lane].copy()
    mode[(mode == "sea") & (rng.random(k) < 0.2)] = "air"  # urgent top-ups fly

    month = np.clip(ctx.cal.month_index(ordered) + 1, 0, ctx.cal.n_months - 1)
    daily = demand[warehouse, product, month] / 30.4
    need = daily * lanes["interval"][lane] * rng.uniform(1.0, 1.3, k)
    quantity = np.maximum(lanes["moq"][lane], np.ceil(need / 10) * 10).astype(np.int64)

    weight = catalogue.frame["weight_kg"].to_numpy(float)[product] * quantity
    volume = catalogue.volume_cm3[product] * quantity
    freight, transit = _inbound_freight(ctx, RateCard(ctx.ref), mode, warehouse, weight, volume)
    supplier_id = catalogue.frame["supplier_id"].to_numpy()[product]
    supplier = suppliers.set_index("id").loc[supplier_id]
    quoted = supplier["quoted_lead_time_days"].to_numpy(float)
    reliability = supplier["reliability"].to_numpy(float)
    production = quoted * rng.lognormal(0.05, 0.18, k) + (1 - reliability) * rng.uniform(0, 20, k)
    production += _near_chinese_new_year(ordered + production.astype(np.int64) // 2, before=30, after=10) * \
        rng.uniform(10, 21, k)
    shipped = ordered + np.round(production).astype(np.int64)
    travel = rng.integers(transit[:, 0], transit[:, 1] + 1) + (mode == "sea") * np.maximum(0, rng.normal(2, 3, k))
    received = shipped + np.round(travel).astype(np.int64)
    promised = ordered + np.round(quoted + transit.mean(axis=1)).astype(np.int64)
    end = ctx.cal.end_day
    status = np.select([received <= end, shipped <= end], ["received", "in_transit"], default="ordered")
    defect_rate = supplier["defect_rate"].to_numpy(float) * rng.lognormal(0, 0.5, k)
    years = (ordered - ctx.cal.start_day) / 365.25
    cost = catalogue.frame["unit_cost_cny"].to_numpy(float)[product] * (1 + 0.03 * years) * rng.uniform(0.97, 1.03, k)

    order = np.lexsort((product, ordered))
    ids = np.arange(1, k + 1)
    months = _as_days(ordered).astype("datetime64[M]").astype(np.int64)
    yyyymm = (months // 12 + 1970) * 100 + months % 12 + 1
    columns = {
        "supplier_id": supplier_id, "product_id": product + 1, "warehouse_id": warehouse + 1, "mode": mode,
        "quantity": quantity, "unit_cost_cny": np.round(cost, 2), "freight_cost_usd": freight,
        "ordered_on": _as_days(ordered), "promised_on": _as_days(promised),
        "shipped_on": np.where(shipped <= end, _as_days(shipped), np.datetime64("NaT")),
        "received_on": np.where(received <= end, _as_days(received), np.datetime64("NaT")),
        "defect_quantity": np.where(status == "received", rng.binomial(quantity, np.minimum(defect_rate, 0.2)), 0),
        "status": status.astype(object), "yyyymm": yyyymm,
    }
    columns = {key: values[order] for key, values in columns.items()}
    columns["po_ref"] = _text(k, "PO-", _digit_codes(columns.pop("yyyymm"), 6), "-", _digit_codes(ids, 6))
    return {"id": ids, **columns}


def _discontinued_at(ctx: Context, catalogue: Catalogue) -> np.ndarray:
    """Last day each SKU sold (end date for SKUs still on sale)."""
    selling = catalogue.curve > 0
    last = np.where(selling.any(axis=0), len(selling) - 1 - np.argmax(selling[::-1], axis=0), 0)
    return _as_days(ctx.cal.start_day + last)


# --- market intelligence and planning -------------------------------------------------------------------------------


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
            local = _charm_price(gross, np.full(k, ctx.zero_decimal[market]))
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


def _recent_months(ctx: Context, count: int, ahead: int = 0) -> np.ndarray:
    """First days of the `count` months up to the end date's month, plus `ahead` later months."""
    end_month = np.datetime64(ctx.cal.end, "M")
    return (end_month + np.arange(-count + 1, ahead + 1)).astype("datetime64[D]")


def build_search_interest(ctx: Context) -> dict:
    rng = ctx.rng("search-interest")
    months = _recent_months(ctx, HISTORY_MONTHS)
    month_days = _day_numbers(months)
    n_cat = len(ctx.ref.categories)
    season = _category_season(ctx)[_month_of_year(month_days)]  # (months, markets, categories)
    years_to_end = (month_days - ctx.cal.end_day) / 365.25
    growth = np.array([p.growth for p in ctx.profiles])
    trend = np.exp(growth[None, :] * years_to_end[:, None] * 0.6)[:, :, None]
    drift = np.exp(rng.normal(0, 0.15, (ctx.n_markets, n_cat))[None] * years_to_end[:, None, None])
    holiday = np.where(_month_of_year(month_days) == 10, 1.15, 1.0)[:, None, None]
    raw = season * trend * drift * holiday * rng.lognormal(0, 0.06, season.shape)
    index = np.round(100 * raw / raw.max(axis=0, keepdims=True)).astype(int)
    m_idx, mk, cat = np.meshgrid(np.arange(len(months)), np.arange(ctx.n_markets), np.arange(n_cat), indexing="ij")
    return {
        "market_code": ctx.market_codes[mk.ravel()], "category_id": cat.ravel() + 1, "month": months[m_idx.ravel()],
        "interest_index": index.ravel(),
    }


def build_targets(ctx: Context, demand_scale: float, orders: Orders) -> dict:
    """Monthly GMV targets: the planning trend (no luck in it) plus a stretch, so some are hit and some missed."""
    rng = ctx.rng("targets")
    months = _recent_months(ctx, 12, ahead=3)
    month_ends = (months.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    days = np.arange(_day_numbers(months[0]), _day_numbers(month_ends[-1]) + 1)
    expected = build_demand(ctx, days).expected * demand_scale  # (days, markets) orders
    month_of_day = (_as_days(days).astype("datetime64[M]") - months[0].astype("datetime64[M]")).astype(int)
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


def build_risks(ctx: Context) -> dict:
    rng = ctx.rng("risks")
    risks = ctx.ref.risks
    n = len(risks)
    end = np.datetime64(ctx.cal.end)
    updated = end.astype("datetime64[s]") + np.timedelta64(9, "h") - \
        (rng.integers(0, 60, n) * 86_400).astype("timedelta64[s]")
    return {
        "id": np.arange(1, n + 1), **{c: risks[c].to_numpy() for c in ("title", "category", "likelihood", "impact",
                                                                         "owner", "mitigation", "status")},
        "review_on": end + risks["review_in_days"].to_numpy(int).astype("timedelta64[D]"),
        "updated_by": np.full(n, SEED_USER, dtype=object), "updated_at": updated,
    }


def build_market_notes(ctx: Context) -> dict:
    notes = ctx.ref.market_notes
    n = len(notes)
    return {
        "id": np.arange(1, n + 1), **{c: notes[c].to_numpy() for c in ("market_code", "framework", "box", "body")},
        "updated_by": np.full(n, SEED_USER, dtype=object),
        "updated_at": np.full(n, np.datetime64(ctx.cal.end, "s") + np.timedelta64(9, "h")),
    }


# --- reference tables -----------------------------------------------------------------------------------------------


def _columns(frame: pd.DataFrame, model) -> dict:
    return {c.name: frame[c.name].to_numpy() for c in model.__table__.columns if c.name in frame}


def reference_tables(ctx: Context, suppliers: pd.DataFrame, catalogue: Catalogue) -> list[tuple]:
    ref = ctx.ref
    rules = ref.import_rules.copy()
    rules.insert(0, "id", np.arange(1, len(rules) + 1))
    for column in ("valid_from", "valid_to"):
        rules[column] = pd.to_datetime(rules[column]).to_numpy().astype("datetime64[D]")
    categories = ref.categories.copy()
    categories.insert(0, "id", np.arange(1, len(categories) + 1))
    rates = ref.rates.copy()
    rates.insert(0, "id", np.arange(1, len(rates) + 1))
    return [
        (m.Market, _columns(ref.markets, m.Market)),
        (m.ImportRule, _columns(rules, m.ImportRule)),
        (m.Channel, _columns(ref.channels, m.Channel)),
        (m.Category, _columns(categories, m.Category)),
        (m.Supplier, _columns(suppliers, m.Supplier)),
        (m.Product, _columns(catalogue.frame, m.Product)),
        (m.Warehouse, _columns(ref.warehouses, m.Warehouse)),
        (m.ShippingService, _columns(ref.services, m.ShippingService)),
        (m.CarrierRate, _columns(rates, m.CarrierRate)),
        (m.FxRate, fx_rows(ctx.fx)),
    ]


def customer_rows(ctx: Context, orders: Orders) -> dict:
    ids = np.arange(1, orders.n_customers + 1, dtype=np.int64)
    return {
        "id": ids, "customer_ref": _tokens(ids, 7, 32), "market_code": ctx.market_codes[orders.customer_market],
        "first_order_on": _as_days(orders.first_order_day),
    }


def order_rows(ctx: Context, orders: Orders, refs: np.ndarray) -> dict:
    currency = np.asarray(CURRENCIES, dtype=object)[ctx.market_currency[orders.market]]
    return {
        "id": np.arange(1, orders.n + 1), "channel_id": orders.channel + 1, "order_ref": refs,
        "market_code": ctx.market_codes[orders.market], "customer_id": orders.customer,
        "ordered_at": orders.ordered_at, "order_date": _as_days(orders.day), "currency": currency,
        "items_total": orders.items_total, "discount_total": orders.discount_total,
        "shipping_charged": orders.shipping_charged, "tax_total": orders.tax_total, "order_total": orders.order_total,
        "usd_per_unit": orders.usd_per_unit, "gmv_usd": orders.gmv_usd, "status": orders.status,
        "refunded_usd": orders.refunded_usd, "is_first_order": orders.is_first, "import_batch_id": None,
    }


def line_rows(lines: Lines) -> dict:
    return {
        "id": np.arange(1, lines.n + 1), "order_id": lines.order + 1, "product_id": lines.product + 1,
        "quantity": lines.quantity, "unit_price": lines.unit_price, "line_total": lines.line_total,
        "revenue_usd": lines.revenue_usd, "cogs_usd": lines.cogs_usd,
    }


def shipment_rows(shipments: Shipments) -> dict:
    return {
        "id": np.arange(1, shipments.n + 1), "order_id": shipments.order + 1, "warehouse_id": shipments.warehouse_id,
        "carrier": shipments.carrier, "service": shipments.service, "tracking_number": shipments.tracking_number,
        "tracking_valid": shipments.tracking_valid, "chargeable_weight_kg": shipments.chargeable_weight_kg,
        "cost_usd": shipments.cost_usd, "promised_days": shipments.promised_days,
        "shipped_at": shipments.shipped_at, "delivered_at": shipments.delivered_at,
        "ship_date": shipments.shipped_at.astype("datetime64[D]"), "status": shipments.status,
        "late_dispatch": shipments.late_dispatch,
    }


def return_rows(returns: Returns) -> dict:
    return {
        "id": np.arange(1, returns.n + 1), "order_id": returns.order + 1, "product_id": returns.product + 1,
        "quantity": returns.quantity, "reason": returns.reason, "requested_on": _as_days(returns.requested_day),
        "refund_usd": returns.refund_usd, "return_shipping_usd": returns.return_shipping_usd,
        "restockable": returns.restockable,
    }


# --- generation pipeline ------------------------------------------------------------------------------------------


def generate_tables(ctx: Context, n_orders: int, report: Progress):
    """Yield (model, columns) in foreign-key order; big intermediates are dropped as soon as they are written."""
    report(0.02, "building the catalogue")
    suppliers = build_suppliers(ctx.ref)
    catalogue = build_catalogue(ctx, suppliers)
    yield from reference_tables(ctx, suppliers, catalogue)

    report(0.04, f"sampling {n_orders:,} orders")
    demand = build_demand(ctx, _day_numbers(ctx.cal.days))
    orders = _sample_orders(ctx, demand, n_orders)
    demand_scale = n_orders / demand.expected.sum()
    del demand
    _assign_customers(ctx, orders)
    orders.cancelled = ctx.rng("cancellations").random(orders.n) < CANCEL_RATE
    report(0.06, "pricing baskets")
    lines = build_lines(ctx, catalogue, orders)
    price_orders(ctx, catalogue, orders, lines)
    payment_plan = plan_payment_methods(ctx, orders)
    report(0.09, "shipping orders")
    shipments = build_shipments(ctx, catalogue, orders, lines, payment_plan["method"] == "cod")
    report(0.14, "returns and refunds")
    returns = build_returns(ctx, catalogue, orders, lines, shipments)
    settle_refunds(ctx, orders, shipments, returns)
    units = shipped_units(ctx, catalogue, orders, lines, shipments)

    report(0.15, "writing customers and orders")
    yield m.Customer, customer_rows(ctx, orders)
    yield m.Order, order_rows(ctx, orders, _order_refs(orders, ctx.rng("order-refs")))
    yield m.OrderLine, line_rows(lines)
    yield m.Shipment, shipment_rows(shipments)
    yield m.Return, return_rows(returns)

    report(0.38, "payments")
    yield m.Payment, build_payments(ctx, orders, shipments, payment_plan)
    report(0.55, "support tickets")
    yield m.Ticket, build_tickets(ctx, catalogue, orders, lines, shipments, returns)
    del lines, returns

    report(0.57, "inventory and purchase orders")
    yield m.InventorySnapshot, build_inventory(ctx, catalogue, units)
    yield m.InboundShipment, build_inbound(ctx, catalogue, suppliers, units)
    report(0.59, "market intelligence and plans")
    yield m.CompetitorListing, build_competitors(ctx, catalogue)
    yield m.SearchInterest, build_search_interest(ctx)
    yield m.Target, build_targets(ctx, demand_scale, orders)
    yield m.Risk, build_risks(ctx)
    yield m.MarketNote, build_market_notes(ctx)


# --- writing ----------------------------------------------------------------------------------------------------------


def _sqlite_datetimes(values: np.ndarray) -> np.ndarray:
    """SQLAlchemy's SQLite DATETIME text format ('YYYY-MM-DD HH:MM:SS.ffffff'), built without strftime."""
    text_form = np.ascontiguousarray(np.datetime_as_string(values.astype("datetime64[s]")).astype("<U19"))
    codes = np.empty((len(values), 26), dtype=np.uint32)
    codes[:, :19] = text_form.view(np.uint32).reshape(-1, 19)
    codes[:, 10] = ord(" ")
    codes[:, 19:] = np.frombuffer(".000000".encode("utf-32-le"), dtype=np.uint32)
    return codes.view("<U26").ravel()


def _python_values(values, column, sqlite: bool) -> list:
    """Column values as DBAPI-ready Python objects (None for NULL)."""
    array = np.asarray(values)
    if array.dtype.kind == "M":
        missing = np.isnat(array)
        if isinstance(column.type, DateTime):
            converted = _sqlite_datetimes(array) if sqlite else array.astype("datetime64[us]")
        else:
            converted = np.datetime_as_string(array.astype("datetime64[D]")) if sqlite else \
                array.astype("datetime64[D]")
        out = converted.astype(object)
        out[missing] = None
        return out.tolist()
    if array.dtype.kind == "f":
        missing = np.isnan(array)
        if isinstance(column.type, Integer):
            out = np.where(missing, 0, array).astype(np.int64).astype(object)
        elif isinstance(column.type, Boolean):
            out = np.where(missing, 0, array).astype(bool).astype(object)
        else:
            out = array.astype(object)
        out[missing] = None
        return out.tolist()
    if array.dtype.kind in "iu" and isinstance(column.type, (Float, Numeric)) and not isinstance(column.type, Integer):
        return array.astype(float).tolist()
    return array.tolist()


class BulkWriter:
    """Inserts numpy columns in large executemany chunks on the caller's connection and transaction."""

    def __init__(self, connection: Connection, report: Callable[[str], None] | None = None) -> None:
        self.connection = connection
        self.sqlite = connection.dialect.name == "sqlite"
        self.report = report or (lambda _: None)
        self.counts: dict[str, int] = {}

    def write(self, model, columns: Mapping[str, object]) -> int:
        table = model.__table__
        missing = [c.name for c in table.columns if c.name not in columns]
        if missing:
            raise KeyError(f"{table.name}: no values for {missing}")
        n_rows = next(len(v) for v in columns.values() if isinstance(v, (np.ndarray, list)))
        self.report(f"writing {table.name} ({n_rows:,} rows)")
        names = [c.name for c in table.columns]
        for start in range(0, n_rows, INSERT_CHUNK_ROWS):
            stop = min(start + INSERT_CHUNK_ROWS, n_rows)
            values = [
                _python_values(columns[c.name][start:stop], c, self.sqlite)
                if isinstance(columns[c.name], (np.ndarray, list)) else [columns[c.name]] * (stop - start)
                for c in table.columns
            ]
            self._insert(table, names, list(zip(*values)))
        self.counts[table.name] = n_rows
        return n_rows

    def _insert(self, table, names: list[str], rows: list[tuple]) -> None:
        if self.sqlite:
            quote = self.connection.dialect.identifier_preparer.quote
            sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
                   f"VALUES ({', '.join('?' * len(names))})")
            self.connection.exec_driver_sql(sql, rows)
        else:
            self.connection.execute(insert(table), [dict(zip(names, row)) for row in rows])


@contextmanager
def _roomy_sqlite_cache(connection: Connection):
    """A large page cache while loading: index inserts in random key order otherwise thrash SQLite's 2 MB default."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


def reset_postgres_sequences(connection: Connection) -> None:
    """Bulk rows carry explicit ids, so move each serial past them or the app's next insert collides."""
    for model in SEEDED_MODELS:
        table = model.__table__
        if "id" in table.c and table.c.id.primary_key and isinstance(table.c.id.type, Integer):
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), COALESCE(MAX(id), 1), "
                f"MAX(id) IS NOT NULL) FROM {table.name}"
            ))


# --- entry points -----------------------------------------------------------------------------------------------------


def clear_domain_data(session: Session) -> None:
    """Delete every row except users, children before parents."""
    for table in reversed(m.Base.metadata.sorted_tables):
        if table.name not in KEPT_ON_FRESH:
            session.execute(delete(table))


def _tables_with_rows(session: Session) -> list[str]:
    return [model.__tablename__ for model in SEEDED_MODELS
            if session.execute(select(text("1")).select_from(model.__table__).limit(1)).first() is not None]


def build_context(end_date: dt.date, seed: int) -> Context:
    """Reference data, calendar and FX for one seed: everything `generate_tables` draws on."""
    cal = Calendar.ending(end_date)
    ref = load_reference()
    return Context(seed=seed, cal=cal, ref=ref, fx=build_fx(ref.ecb, cal.start, cal.end, seed))


def seed_database(
    engine: Engine,
    *,
    orders: int = 150_000,
    end_date: dt.date | None = None,
    seed: int = 42,
    progress: Progress | None = None,
    fresh: bool = False,
) -> dict[str, int]:
    """Fill an empty, migrated database with demo data; returns row counts per table.

    With `fresh=True` existing domain rows (everything but users) are deleted first, in the same
    transaction, so a failed run leaves the old data in place.
    """
    if orders < 1:
        raise ValueError("orders must be at least 1")
    report = _ProgressReporter(progress)
    report(0.0, "loading reference data")
    ctx = build_context(end_date or clock.today(), seed)
    with unit_of_work(engine) as session:
        if fresh:
            report(0.01, "deleting existing demo data")
            clear_domain_data(session)
        occupied = _tables_with_rows(session)
        if occupied:
            raise ValueError(
                f"The database already holds data in {', '.join(occupied)}; seeding needs empty domain tables. "
                "Rebuild with `python -m data.seed --fresh` (or seed_database(..., fresh=True))."
            )
        connection = session.connection()
        writer = BulkWriter(connection, report.detail)
        with _roomy_sqlite_cache(connection):
            for model, columns in generate_tables(ctx, orders, report):
                writer.write(model, columns)
            counts = dict(writer.counts)
            for extra in EXTRA_SEEDERS:
                counts.update(extra(session, ctx))
            report(0.6, "rebuilding summary tables")
            counts.update(refresh_all(session))
        if connection.dialect.name == "postgresql":
            reset_postgres_sequences(connection)
        report(0.98, "committing")
    report(1.0, "done")
    return counts


class _ProgressReporter:
    """Forwards steps to the caller's callback and lets table writes report at the current fraction."""

    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback or (lambda _fraction, _step: None)
        self.fraction = 0.0

    def __call__(self, fraction: float, step: str) -> None:
        self.fraction = fraction
        self.callback(fraction, step)

    def detail(self, step: str) -> None:
        self.callback(self.fraction, step)


def _print_progress(fraction: float, step: str) -> None:
    print(f"[{fraction:4.0%}] {step}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=150_000, help="number of orders (default 150,000)")
    parser.add_argument("--end-date", type=dt.date.fromisoformat, default=None,
                        help="last day of history, YYYY-MM-DD (default today, or CBO_TODAY)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: DATABASE_URL or the "
                                                             "embedded SQLite file)")
    parser.add_argument("--fresh", action="store_true", help="delete existing demo data first (users are kept)")
    args = parser.parse_args(argv)

    engine = get_engine(args.database_url)  # None: DATABASE_URL, then the embedded SQLite file
    upgrade(engine)
    started = time.perf_counter()
    try:
        counts = seed_database(engine, orders=args.orders, end_date=args.end_date, seed=args.seed,
                               progress=_print_progress, fresh=args.fresh)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for table, count in counts.items():
        print(f"  {table:<22} {count:>10,}")
    print(f"Seeded {engine.url.render_as_string(hide_password=True)} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
