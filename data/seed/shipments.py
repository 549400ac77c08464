"""Shipments: which warehouse and carrier service ships each order, rate-card costs, dispatch and transit
timelines, lost and refused parcels, tracking numbers; and the rate card inbound freight uses too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.seed.arrays import choice, compose_text, group_indices, lookup, random_digit_codes, to_day_numbers
from data.seed.calendar import day_of_month, month_of_year, near_chinese_new_year
from data.seed.catalogue import Catalogue
from data.seed.context import Context
from data.seed.orders import Orders
from data.seed.pricing import Lines
from data.seed.reference import AMAZON, Reference

US_DE_MINIMIS_END = dt.date(2025, 8, 29)
EU_MARKETS = ("DE", "FR", "IT", "ES", "NL")
FBA_WAREHOUSE = {"US": "FBA-US", "UK": "FBA-UK", "JP": "FBA-JP", **{c: "FBA-DE" for c in EU_MARKETS}}  # Pan-EU
LOCAL_3PL_WAREHOUSE = {"US": "US-3PL", "UK": "UK-3PL", **{c: "DE-3PL" for c in EU_MARKETS}}
US_3PL_SHARE_AFTER_DE_MINIMIS = 0.8  # the seller moved US volume into the 3PL when parcels started paying duty
EXPRESS_SHARE = {"heavy": 0.15, "valuable": 0.3, "any": 0.02}  # parcels from China sent by express: > 2 kg, > USD 90
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
    duty_usd: np.ndarray | None = None  # import duty we paid (DDP parcels, data.seed.duties)
    import_vat_usd: np.ndarray | None = None  # import VAT we paid at the border (DDP parcels)

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
    after_de_minimis = orders.day[live] >= to_day_numbers(np.datetime64(US_DE_MINIMIS_END))
    tpl_share = np.where((market_code == "US") & after_de_minimis, US_3PL_SHARE_AFTER_DE_MINIMIS, tpl_share)
    fba = (orders.channel[live] == AMAZON) & (rng.random(n) < fba_share)
    tpl = ~fba & (rng.random(n) < tpl_share)
    route = np.where(fba, "fba", np.where(tpl, "3pl", "cn")).astype(object)

    warehouse = np.full(n, "CN-SZ", dtype=object)
    warehouse[fba] = lookup(market_code[fba], FBA_WAREHOUSE)
    warehouse[tpl] = lookup(market_code[tpl], LOCAL_3PL_WAREHOUSE)

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
    # Express from China costs more than most baskets are worth: it carries the parcels too heavy for the
    # postal lines, some heavy or valuable ones whose buyers expect speed, and the odd rush order.
    express = (heavy & (rng.random(n) < EXPRESS_SHARE["heavy"])) | (
        valuable & (rng.random(n) < EXPRESS_SHARE["valuable"])) | (actual_kg > 20) | (
        rng.random(n) < EXPRESS_SHARE["any"])
    carriers = choice(rng, tuple(zip(*EXPRESS_CARRIER_SPLIT)), n)
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
    for (svc, mkt), positions in service_market_groups(service, market_code):
        cw = rates.chargeable_weight(svc, actual_kg[positions], volume_cm3[positions])
        rate = rates.lookup(svc, mkt, cw)
        chargeable[positions] = cw
        cost[positions] = rate["cost"] + rates.ddp[svc]
        t_min[positions], t_max[positions] = rate["transit_days_min"], rate["transit_days_max"]
    cost += np.where(route == "3pl", PICK_PACK_FEE_USD, 0.0)

    carrier = lookup(service, rates.carrier)
    mode = lookup(service, rates.mode)
    shipments = Shipments(
        order=live, warehouse_id=lookup(warehouse, ctx.warehouse_id, np.int64), service=service,
        carrier=carrier, mode=mode, route=route, chargeable_weight_kg=chargeable, cost_usd=np.round(cost, 2),
        promised_days=t_max, **_timeline(ctx, orders, live, route, service, mode, t_min, t_max, cod[live], rng),
    )
    _tracking(shipments, rng)
    return shipments


def service_market_groups(service: np.ndarray, market_code: np.ndarray):
    keys = service + "|" + market_code
    for key, positions in group_indices(keys).items():
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
    holiday = from_china & near_chinese_new_year(orders.day[live], before=3, after=10)
    hours = hours + holiday * rng.uniform(72, 240, n)
    late_dispatch = hours > np.where(route == "fba", 36, 48)
    shipped_at = orders.ordered_at[live] + (hours * 3600).astype("timedelta64[s]")

    on_time_p = lookup(service, ON_TIME_PROBABILITY, float)
    ship_day = to_day_numbers(shipped_at.astype("datetime64[D]"))
    moy, dom = month_of_year(ship_day), day_of_month(ship_day)
    peak = ((moy == 10) & (dom >= 20)) | (moy == 11)  # Black Friday to New Year
    on_time_p = on_time_p - 0.06 * peak - 0.05 * holiday
    on_time = rng.random(n) < on_time_p
    transit = np.where(on_time, rng.integers(t_min, t_max + 1), t_max + rng.geometric(0.45, n))
    delivered_at = shipped_at + (transit * 86_400 + rng.integers(0, 77_760, n)).astype("timedelta64[s]")

    now = ctx.cal.now
    shipped = shipped_at < now
    old_enough = shipped_at + ((t_max + 15) * 86_400).astype("timedelta64[s]") < now
    lost_rate = lookup(mode, LOST_RATE, float)
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
    for carrier, positions in group_indices(shipments.carrier).items():
        prefix, width, suffix = TRACKING_FORMATS[carrier]
        digits = random_digit_codes(rng, len(positions), width)
        numbers[positions] = compose_text(len(positions), prefix, digits, suffix)
    valid = rng.random(n) < np.where(shipments.mode == "postal", 0.94, 0.985)
    numbers[~valid & (rng.random(n) < 0.4)] = None  # label printed but never scanned
    shipments.tracking_number, shipments.tracking_valid = numbers, valid


def shipment_of_order(n_orders: int, shipments: Shipments) -> np.ndarray:
    """Shipment position per order, -1 for cancelled orders."""
    position = np.full(n_orders, -1, dtype=np.int64)
    position[shipments.order] = np.arange(shipments.n)
    return position


def shipment_rows(shipments: Shipments) -> dict:
    return {
        "id": np.arange(1, shipments.n + 1), "order_id": shipments.order + 1, "warehouse_id": shipments.warehouse_id,
        "carrier": shipments.carrier, "service": shipments.service, "tracking_number": shipments.tracking_number,
        "tracking_valid": shipments.tracking_valid, "chargeable_weight_kg": shipments.chargeable_weight_kg,
        "cost_usd": shipments.cost_usd, "promised_days": shipments.promised_days,
        "shipped_at": shipments.shipped_at, "delivered_at": shipments.delivered_at,
        "ship_date": shipments.shipped_at.astype("datetime64[D]"), "status": shipments.status,
        "late_dispatch": shipments.late_dispatch, "duty_usd": shipments.duty_usd,
        "import_vat_usd": shipments.import_vat_usd,
    }
