"""Suppliers and the product catalogue: SKUs, costs, list prices, lifecycles (launch, ramp, decline),
which markets list each SKU, monthly list-price moves, and the category seasons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.seed.arrays import as_days, charm_price, choice, group_indices, to_day_numbers
from data.seed.context import Context
from data.seed.reference import Reference

CNY_PLANNING_RATE = 7.2  # the rate list prices were set at; real costs convert at the day's rate
# List price = factory price x (1 + planned landed share) x markup: the seller's rule is at least three times
# the planned landed cost, since marketplace fees, fulfilment and postage take about half the price.
LIST_PRICE_MARKUP = (3.0, 5.0)
SOUTHERN_HEMISPHERE = ("AU",)
CATEGORY_PREFIX = {
    "phone_accessories": "PHN", "home_kitchen": "HOM", "pet_supplies": "PET", "beauty_tools": "BEA",
    "sports_outdoors": "SPO", "toys": "TOY", "led_lighting": "LED", "apparel_accessories": "APP",
    "office_supplies": "OFF", "car_accessories": "CAR",
}
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
    for cat_idx, positions in group_indices(specs["category"].to_numpy()).items():
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
    stage = np.where(status == "active", choice(rng, tuple(zip(*LIFECYCLE_STAGES)), n), status).astype(object)
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
    markup = rng.uniform(*LIST_PRICE_MARKUP, n)
    list_price = np.maximum(7.99, charm_price(cost / CNY_PLANNING_RATE * (1 + landed_share) * markup, False))

    status = specs["status"].to_numpy(dtype=object)
    life = _lifecycle(ctx, rng, status)
    supplier_id = _assign_suppliers(rng, cat_codes, suppliers)
    frame = pd.DataFrame({
        "id": np.arange(1, n + 1), "sku": skus, "name": names, "category_id": cat + 1, "supplier_id": supplier_id,
        "status": status, "unit_cost_cny": cost, "list_price_usd": list_price, "weight_kg": weight, **dims,
        "fragile": tpl["fragile"].to_numpy(int).astype(bool),
        "launch_date": np.where(status == "candidate", np.datetime64("NaT"), as_days(life["launch"])),
    })
    days = to_day_numbers(ctx.cal.days)
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
    for code, positions in group_indices(cat_codes).items():
        candidates = suppliers["id"].to_numpy()[[code in cats for cats in serves]]
        weights = rng.dirichlet(np.full(len(candidates), 0.8))
        supplier_id[positions] = rng.choice(candidates, size=len(positions), p=weights)
    return supplier_id


def _listings(ctx: Context, rng, n_products: int) -> np.ndarray:
    probability = np.array([LISTING_PROBABILITY[c] for c in ctx.market_codes])
    listed = rng.random((n_products, ctx.n_markets)) < probability
    listed[:, ctx.market_idx(["US"])] = True  # the US store lists everything
    return listed


def category_season(ctx: Context) -> np.ndarray:
    """(month of year, market, category) demand factor; summer categories peak in January down under."""
    cats = ctx.ref.categories
    peak = cats["season_peak_month"].to_numpy(float) - 1
    amplitude = cats["season_amplitude"].to_numpy(float)
    summer = (peak >= 4) & (peak <= 7)
    months = np.arange(12)[:, None, None]
    southern = np.isin(ctx.market_codes, SOUTHERN_HEMISPHERE)[None, :, None]
    shifted_peak = np.where(southern & summer[None, None, :], (peak + 6) % 12, peak)
    return 1.0 + amplitude * np.cos(2 * np.pi * (months - shifted_peak) / 12)
