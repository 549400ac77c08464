"""Reference data: the CSVs in data/reference, and what the generator assumes about them: the market
profiles (today's shape of the business per market) and the order of the sales channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"


@dataclass(frozen=True)
class MarketProfile:
    """How the business looks in one market today; history is extrapolated backwards from it."""

    share: float  # share of orders in the final weeks
    growth: float  # annual log growth of order volume (negative = declining market)
    live_from_month: int  # months after the history start that the market opened
    channel_mix: tuple[float, float, float, float]  # amazon, ebay, tiktok, shopify today
    fba_share: float  # amazon orders fulfilled from an FBA warehouse
    local_3pl_share: float  # other orders shipped from an overseas 3PL instead of China
    price_index: float  # local price level vs the US list price (markets served only from China price higher:
    # their buyers wait two weeks and every parcel pays international postage, so local rivals charge more too)
    return_factor: float  # propensity to return vs the category norm
    shipping_fee: float  # local-currency fee when an order pays for shipping
    owner: str  # market manager, owner of the GMV targets


MARKET_PROFILES = {
    "US": MarketProfile(0.34, 0.15, 0, (0.58, 0.12, 0.10, 0.20), 0.85, 0.55, 1.00, 1.1, 4.99, "Emily Carter"),
    "CA": MarketProfile(0.05, 0.12, 0, (0.62, 0.15, 0.00, 0.23), 0.00, 0.00, 1.15, 1.0, 6.99, "Emily Carter"),
    "MX": MarketProfile(0.03, 0.60, 0, (0.55, 0.03, 0.22, 0.20), 0.00, 0.00, 1.15, 0.8, 89.0, "Lucia Hernandez"),
    "UK": MarketProfile(0.12, 0.05, 0, (0.55, 0.22, 0.08, 0.15), 0.80, 0.50, 0.95, 1.1, 3.99, "Oliver Bennett"),
    "DE": MarketProfile(0.13, 0.10, 0, (0.62, 0.14, 0.06, 0.18), 0.80, 0.55, 0.95, 1.35, 4.99, "Jonas Weber"),
    "FR": MarketProfile(0.07, 0.08, 0, (0.66, 0.06, 0.08, 0.20), 0.70, 0.35, 0.95, 1.0, 4.99, "Camille Laurent"),
    "IT": MarketProfile(0.05, -0.18, 0, (0.70, 0.10, 0.06, 0.14), 0.70, 0.35, 0.95, 0.9, 4.99, "Giulia Rossi"),
    "ES": MarketProfile(0.05, 0.14, 0, (0.66, 0.06, 0.10, 0.18), 0.70, 0.35, 0.92, 1.0, 4.99, "Lucia Hernandez"),
    "NL": MarketProfile(0.03, 0.10, 0, (0.55, 0.00, 0.00, 0.45), 0.60, 0.40, 0.95, 1.2, 4.99, "Jonas Weber"),
    "JP": MarketProfile(0.06, 0.25, 0, (0.78, 0.00, 0.07, 0.15), 0.85, 0.00, 1.00, 0.6, 500.0, "Yuki Tanaka"),
    "AU": MarketProfile(0.05, 0.10, 0, (0.55, 0.25, 0.00, 0.20), 0.00, 0.00, 1.20, 1.0, 7.95, "Oliver Bennett"),
    "SA": MarketProfile(0.02, 0.70, 6, (0.55, 0.00, 0.25, 0.20), 0.00, 0.00, 1.20, 0.7, 19.0, "Omar Al-Harbi"),
}
CHANNEL_CODES = ("amazon", "ebay", "tiktok", "shopify")
AMAZON, EBAY, TIKTOK, SHOPIFY = range(4)


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
    marketplace_fees: pd.DataFrame
    storage_rates: pd.DataFrame


def read_reference(name: str, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """One CSV; `text_columns` stay text even when they look like numbers (HS code 9503.00 is not 9503.0)."""
    # "NA" is the North America region code, so only empty cells count as missing.
    return pd.read_csv(REFERENCE_DIR / name, keep_default_na=False, na_values=[""],
                       dtype=dict.fromkeys(text_columns, str))


def load_reference() -> Reference:
    ref = Reference(
        markets=read_reference("markets.csv"),
        import_rules=read_reference("import_rules.csv"),
        channels=read_reference("channels.csv"),
        categories=read_reference("categories.csv", text_columns=("hs_code",)),
        warehouses=read_reference("warehouses.csv"),
        services=read_reference("shipping_services.csv"),
        rates=read_reference("carrier_rates.csv"),
        suppliers=read_reference("suppliers.csv"),
        templates=read_reference("product_templates.csv"),
        payment_fees=read_reference("payment_fees.csv"),
        payment_methods=read_reference("payment_methods.csv"),
        risks=read_reference("risks.csv"),
        market_notes=read_reference("market_notes.csv"),
        ecb=read_reference("fx_ecb.csv"),
        marketplace_fees=read_reference("marketplace_fees.csv"),
        storage_rates=read_reference("storage_rates.csv"),
    )
    if tuple(ref.markets["code"]) != tuple(MARKET_PROFILES):
        raise ValueError("markets.csv and MARKET_PROFILES must list the same markets in the same order")
    if tuple(ref.channels["code"]) != CHANNEL_CODES:
        raise ValueError(f"channels.csv must list {CHANNEL_CODES} in that order")
    return ref
