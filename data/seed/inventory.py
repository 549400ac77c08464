"""Inventory snapshots and inbound purchase orders, both following the units each warehouse shipped:
sawtooth stock levels between refills, and purchase orders with supplier lead times and freight.

Freight is bought the way cross-border sellers buy it: a lane (warehouse x SKU) goes by sea unless air freight
would stay a modest share of the SKU's factory price (light, valuable goods), and a few sea orders fly as
urgent top-ups. Orders for one overseas warehouse by one mode that leave their factories in the same week are
consolidated by the forwarder into one consignment, priced on the rate card at its total chargeable weight;
each order pays its share by its own chargeable weight, plus its own truck to the forwarder.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.seed.arrays import as_days, compose_text, digit_codes, to_day_numbers
from data.seed.calendar import CHINESE_NEW_YEAR, near_chinese_new_year, weekday_of
from data.seed.catalogue import CNY_PLANNING_RATE, Catalogue
from data.seed.context import Context
from data.seed.duties import batch_duty
from data.seed.orders import Orders
from data.seed.pricing import Lines
from data.seed.shipments import RateCard, Shipments, service_market_groups, shipment_of_order


def shipped_units(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines, shipments: Shipments) -> np.ndarray:
    """(warehouses, products, months) units shipped, the demand signal stock and purchasing follow."""
    ship = shipment_of_order(orders.n, shipments)[lines.order]
    ok = ship >= 0
    warehouse = shipments.warehouse_id[ship[ok]] - 1
    month = ctx.cal.month_index(orders.day[lines.order[ok]])
    n_w, n_p, n_m = len(ctx.ref.warehouses), catalogue.n, ctx.cal.n_months
    key = (warehouse * n_p + lines.product[ok]) * n_m + month
    return np.bincount(key, weights=lines.quantity[ok], minlength=n_w * n_p * n_m).reshape(n_w, n_p, n_m)


def _snapshot_days(ctx: Context) -> np.ndarray:
    """Every Monday of the history and the end date: the ledger's storage line needs stock in every month."""
    end = ctx.cal.end_day
    last_monday = end - weekday_of(np.array([end]))[0]
    mondays = np.arange(last_monday, ctx.cal.start_day - 1, -7)[::-1]
    return np.unique(np.append(mondays, end))


STOCKED_MONTHS = 6  # a warehouse holds a SKU while it shipped some in the last six months


def _stocked_pairs(ctx: Context, catalogue: Catalogue, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(warehouse index, product index) pairs that held stock at some point: China holds every live SKU, the
    rest what they shipped."""
    shipped = units.sum(axis=2)
    cn = int(ctx.warehouse_id["CN-SZ"]) - 1
    selling = catalogue.frame["status"].to_numpy(dtype=object) != "candidate"
    shipped[cn] = np.where(selling, 1, 0)
    warehouse, product = np.nonzero(shipped > 0)
    return warehouse, product


def _stocked(ctx: Context, catalogue: Catalogue, warehouse: np.ndarray, product: np.ndarray, peak: np.ndarray,
             days: np.ndarray) -> np.ndarray:
    """(pairs, days): the warehouse holds the SKU that week. China from a month before launch on; an overseas
    warehouse while it shipped the SKU in the last STOCKED_MONTHS months."""
    cn = int(ctx.warehouse_id["CN-SZ"]) - 1
    launch = to_day_numbers(catalogue.frame["launch_date"].to_numpy(dtype="datetime64[D]")[product])
    return np.where((warehouse == cn)[:, None], days[None, :] >= launch[:, None] - 30, peak > 0)


def build_inventory(ctx: Context, catalogue: Catalogue, units: np.ndarray) -> dict:
    rng = ctx.rng("inventory")
    warehouse, product = _stocked_pairs(ctx, catalogue, units)
    n_pairs = len(warehouse)
    days = _snapshot_days(ctx)
    month = ctx.cal.month_index(days)
    pair_units = _replenished_units(ctx, units)[warehouse, product]  # (pairs, months)
    trailing = np.stack([pair_units[:, max(0, m_ - 2): m_ + 1].mean(axis=1) for m_ in month], axis=1) / 30.4
    peak = np.stack([pair_units[:, max(0, m_ - STOCKED_MONTHS + 1): m_ + 1].max(axis=1) for m_ in month],
                    axis=1) / 30.4
    stocked = _stocked(ctx, catalogue, warehouse, product, peak, days)
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
    on_hand = np.where(stocked, on_hand, 0).astype(np.int64)
    reserved = np.round(on_hand * rng.uniform(0, 0.06, (n_pairs, len(days)))).astype(np.int64)
    # A pair's rows run from the week it was first stocked to the week after it was last stocked (that zero
    # row ends the previous one's stock: a snapshot holds until the next one of the same pair).
    week = np.arange(len(days))
    first = np.where(stocked.any(axis=1), stocked.argmax(axis=1), len(days))
    last = len(days) - 1 - stocked[:, ::-1].argmax(axis=1)
    keep = (week[None, :] >= first[:, None]) & (week[None, :] <= last[:, None] + 1)
    pair, at = np.nonzero(keep)
    return {
        "id": np.arange(1, len(pair) + 1), "day": as_days(days[at]),
        "warehouse_id": warehouse[pair] + 1, "product_id": product[pair] + 1,
        "on_hand": on_hand[pair, at], "reserved": reserved[pair, at],
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
    affordable = _air_share(catalogue)[product] < AIR_AFFORDABLE_SHARE
    fly_share = np.where(codes == "FBA-JP", 0.3, 0.5) * affordable  # Japan is two to three weeks by sea
    mode = np.where(overseas, np.where(rng.random(n) < fly_share, "air", "sea"), "express").astype(object)
    usual = np.select([mode == "sea", mode == "air"], [rng.uniform(55, 80, n), rng.uniform(25, 40, n)],
                      default=rng.uniform(30, 45, n))
    moq = np.where(mode == "sea", 300, 100)
    selling_days = np.maximum((demand[warehouse, product] > 0).sum(axis=1), 1) * 30.4
    daily = volume[warehouse, product] / selling_days
    # Slow lanes reorder less often rather than below the supplier's minimum.
    interval = np.clip(np.maximum(usual, moq / np.maximum(daily, 1e-9)), usual, 180)
    return {"warehouse": warehouse, "product": product, "mode": mode, "interval": interval, "moq": moq,
            "affordable": affordable}


# The seller's planning figures for choosing a lane's mode: air freight door to door costs about USD 6 per
# chargeable kg (carrier_rates.csv: 5-7.8), and a SKU flies only when that stays under 40 % of its factory
# price (light, valuable goods: chargers, cables, small beauty tools); bulky cheap goods go by sea.
AIR_USD_PER_KG, AIR_DIVISOR, AIR_AFFORDABLE_SHARE = 6.0, 6000, 0.4
URGENT_AIR_SHARE = (0.2, 0.03)  # sea orders of a lane that could fly / could not, sent by air to avoid a stock-out


def _air_share(catalogue: Catalogue) -> np.ndarray:
    """Per product: planned air freight per unit as a share of its factory price at the planning rate."""
    chargeable = np.maximum(catalogue.frame["weight_kg"].to_numpy(float), catalogue.volume_cm3 / AIR_DIVISOR)
    factory_usd = catalogue.frame["unit_cost_cny"].to_numpy(float) / CNY_PLANNING_RATE
    return AIR_USD_PER_KG * chargeable / factory_usd


CONSOLIDATION_DAYS = 7  # the forwarder sends one consignment per destination warehouse and mode each week
DOMESTIC_TRUCK_USD, DOMESTIC_TRUCK_PER_KG = 5.0, 0.25  # each supplier's truck to the forwarder in Shenzhen


def _consignments(ctx: Context, mode: np.ndarray, warehouse: np.ndarray, ready: np.ndarray) -> np.ndarray:
    """Consignment index per purchase order. Orders for the same overseas warehouse by the same mode that leave
    their factories in the same week travel together: the forwarder collects them from every supplier at its
    Shenzhen warehouse and books one shipment, so they share its base charge. Restocking our own Shenzhen
    warehouse is a truck per order."""
    week = (ready - ctx.cal.start_day) // CONSOLIDATION_DAYS
    lane = warehouse * 2 + (mode == "sea")
    key = np.where(mode == "express", -1 - np.arange(len(mode)), lane * 100_000 + week)
    return np.unique(key, return_inverse=True)[1].ravel()


def _inbound_freight(ctx: Context, rates: RateCard, mode, warehouse, weight_kg, volume_cm3,
                     consignment) -> tuple:
    """Freight cost (USD) per purchase order and transit day range per consignment.

    An order pays its own domestic truck and a share of its consignment's freight in proportion to its own
    chargeable weight; the consignment is priced on the rate card at its total chargeable weight (a bigger
    consignment falls in a cheaper band and spreads the base charge)."""
    n_consignments = int(consignment.max()) + 1 if len(consignment) else 0
    first = np.zeros(n_consignments, dtype=np.int64)
    first[consignment[::-1]] = np.arange(len(consignment))[::-1]  # any member names the lane
    codes = ctx.ref.warehouses["code"].to_numpy(dtype=object)[warehouse[first]]
    country = ctx.ref.warehouses["country"].to_numpy(dtype=object)[warehouse[first]]
    sea = mode[first] == "sea"
    service = np.where(np.char.startswith(codes.astype(str), "FBA"), np.where(sea, "sea_lcl_fba", "air_fba"),
                       np.where(sea, "sea_lcl_3pl", "air_3pl")).astype(object)
    total_kg = np.bincount(consignment, weights=weight_kg, minlength=n_consignments)
    total_cm3 = np.bincount(consignment, weights=volume_cm3, minlength=n_consignments)
    cost = DOMESTIC_TRUCK_USD + DOMESTIC_TRUCK_PER_KG * weight_kg
    transit = np.column_stack([np.full(n_consignments, 2), np.full(n_consignments, 4)])
    overseas = np.flatnonzero(mode[first] != "express")
    for (svc, mkt), positions in service_market_groups(service[overseas], country[overseas]):
        rows = overseas[positions]
        rate = rates.lookup(svc, mkt, rates.chargeable_weight(svc, total_kg[rows], total_cm3[rows]))
        transit[rows, 0], transit[rows, 1] = rate["transit_days_min"], rate["transit_days_max"]
        members = np.flatnonzero(np.isin(consignment, rows))
        own = rates.chargeable_weight(svc, weight_kg[members], volume_cm3[members])
        pooled = np.bincount(consignment[members], weights=own, minlength=n_consignments)
        freight = np.zeros(n_consignments)
        freight[rows] = rate["cost"]
        cost[members] += freight[consignment[members]] * own / pooled[consignment[members]]
    return np.round(cost, 2), transit


def build_inbound(ctx: Context, catalogue: Catalogue, suppliers: pd.DataFrame, units: np.ndarray) -> dict:
    rng = ctx.rng("inbound")
    demand = _replenished_units(ctx, units)
    lanes = _inbound_lanes(ctx, catalogue, demand, rng)
    max_pos = 40
    n_lanes = len(lanes["product"])
    product = lanes["product"]
    launch = to_day_numbers(catalogue.frame["launch_date"].to_numpy(dtype="datetime64[D]")[product])
    first = np.maximum(ctx.cal.start_day, launch - 45) - rng.uniform(0, 1, n_lanes) * lanes["interval"]
    gaps = lanes["interval"][:, None] * rng.uniform(0.8, 1.25, (n_lanes, max_pos))
    ordered = np.floor(first[:, None] + np.cumsum(gaps, axis=1) - gaps[:, :1]).astype(np.int64)
    stops = np.where(catalogue.stage[product] == "discontinued",
                     to_day_numbers(_discontinued_at(ctx, catalogue)[product]) - 60, ctx.cal.end_day - 2)
    valid = (ordered >= ctx.cal.start_day) & (ordered <= stops[:, None])
    lane, _ = np.nonzero(valid)
    ordered = ordered[valid]
    k = len(lane)
    warehouse, product = lanes["warehouse"][lane], lanes["product"][lane]
    mode = lanes["mode"][lane].copy()
    urgent = rng.random(k) < np.where(lanes["affordable"][lane], *URGENT_AIR_SHARE)
    mode[(mode == "sea") & urgent] = "air"  # urgent top-ups fly

    month = np.clip(ctx.cal.month_index(ordered) + 1, 0, ctx.cal.n_months - 1)
    daily = demand[warehouse, product, month] / 30.4
    need = daily * lanes["interval"][lane] * rng.uniform(1.0, 1.3, k)
    quantity = np.maximum(lanes["moq"][lane], np.ceil(need / 10) * 10).astype(np.int64)

    weight = catalogue.frame["weight_kg"].to_numpy(float)[product] * quantity
    volume = catalogue.volume_cm3[product] * quantity
    supplier_id = catalogue.frame["supplier_id"].to_numpy()[product]
    supplier = suppliers.set_index("id").loc[supplier_id]
    quoted = supplier["quoted_lead_time_days"].to_numpy(float)
    reliability = supplier["reliability"].to_numpy(float)
    production = quoted * rng.lognormal(0.05, 0.18, k) + (1 - reliability) * rng.uniform(0, 20, k)
    production += near_chinese_new_year(ordered + production.astype(np.int64) // 2, before=30, after=10) * \
        rng.uniform(10, 21, k)
    ready = ordered + np.round(production).astype(np.int64)
    consignment = _consignments(ctx, mode, warehouse, ready)
    freight, transit = _inbound_freight(ctx, RateCard(ctx.ref), mode, warehouse, weight, volume, consignment)
    # A consignment leaves when its last order is ready and arrives as one.
    departs = np.zeros(len(transit), dtype=np.int64)
    np.maximum.at(departs, consignment, ready)
    by_sea = np.bincount(consignment, weights=mode == "sea", minlength=len(transit)) > 0
    travel = rng.integers(transit[:, 0], transit[:, 1] + 1) + by_sea * np.maximum(0, rng.normal(2, 3, len(transit)))
    shipped = departs[consignment]
    received = shipped + np.round(travel).astype(np.int64)[consignment]
    transit = transit[consignment]
    promised = ordered + np.round(quoted + transit.mean(axis=1)).astype(np.int64)
    end = ctx.cal.end_day
    status = np.select([received <= end, shipped <= end], ["received", "in_transit"], default="ordered")
    defect_rate = supplier["defect_rate"].to_numpy(float) * rng.lognormal(0, 0.5, k)
    price_level = _supplier_price_levels(ctx, len(suppliers))
    cost = catalogue.frame["unit_cost_cny"].to_numpy(float)[product] * price_level(supplier_id, ordered) * \
        rng.uniform(0.97, 1.03, k)
    duty = batch_duty(ctx, warehouse, catalogue.category[product], quantity, np.round(cost, 2), ordered, received,
                      freight)

    order = np.lexsort((product, ordered))
    ids = np.arange(1, k + 1)
    months = as_days(ordered).astype("datetime64[M]").astype(np.int64)
    yyyymm = (months // 12 + 1970) * 100 + months % 12 + 1
    columns = {
        "supplier_id": supplier_id, "product_id": product + 1, "warehouse_id": warehouse + 1, "mode": mode,
        "quantity": quantity, "unit_cost_cny": np.round(cost, 2), "freight_cost_usd": freight,
        "ordered_on": as_days(ordered), "promised_on": as_days(promised),
        "shipped_on": np.where(shipped <= end, as_days(shipped), np.datetime64("NaT")),
        "received_on": np.where(received <= end, as_days(received), np.datetime64("NaT")),
        "defect_quantity": np.where(status == "received", rng.binomial(quantity, np.minimum(defect_rate, 0.2)), 0),
        "duty_usd": duty, "status": status.astype(object), "yyyymm": yyyymm,
    }
    columns = {key: values[order] for key, values in columns.items()}
    columns["po_ref"] = compose_text(k, "PO-", digit_codes(columns.pop("yyyymm"), 6), "-", digit_codes(ids, 6))
    return {"id": ids, **columns}


# After each Chinese New Year some suppliers reprice (wages and materials rise, a few cut to keep volume):
# the share that reprices and the size of the step. Between the steps prices drift up slowly.
REPRICING_SHARE, PRICE_RISE, PRICE_CUT, PRICE_DRIFT_PER_YEAR = 0.55, (0.03, 0.09), (0.02, 0.05), 0.01
REPRICED_DAYS_AFTER_CNY = 20  # factories reopen and send new quotes about three weeks after the holiday


def _supplier_price_levels(ctx: Context, n_suppliers: int):
    """price_level(supplier_id, day) -> factor on the catalogue's factory price (1.0 at the history start)."""
    rng = ctx.rng("supplier-prices")
    steps = to_day_numbers(CHINESE_NEW_YEAR) + REPRICED_DAYS_AFTER_CNY
    steps = steps[(steps > ctx.cal.start_day) & (steps <= ctx.cal.end_day)]
    reprices = rng.random((n_suppliers, len(steps))) < REPRICING_SHARE
    cut = rng.random((n_suppliers, len(steps))) < 0.15
    step = np.where(cut, -rng.uniform(*PRICE_CUT, (n_suppliers, len(steps))),
                    rng.uniform(*PRICE_RISE, (n_suppliers, len(steps))))
    factors = np.cumprod(1 + np.where(reprices, step, 0.0), axis=1)
    factors = np.hstack([np.ones((n_suppliers, 1)), factors])  # (suppliers, periods between steps)

    def price_level(supplier_id: np.ndarray, day: np.ndarray) -> np.ndarray:
        period = np.searchsorted(steps, day, side="right")
        drift = 1 + PRICE_DRIFT_PER_YEAR * (day - ctx.cal.start_day) / 365.25
        return factors[supplier_id - 1, period] * drift

    return price_level


def _discontinued_at(ctx: Context, catalogue: Catalogue) -> np.ndarray:
    """Last day each SKU sold (end date for SKUs still on sale)."""
    selling = catalogue.curve > 0
    last = np.where(selling.any(axis=0), len(selling) - 1 - np.argmax(selling[::-1], axis=0), 0)
    return as_days(ctx.cal.start_day + last)
