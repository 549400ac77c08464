"""Import duty and import VAT we paid, computed with the landed-cost engine's own formulas
(`core.landed_cost`: `Rule`, `applicable_rule`, `import_charges`, `category_duty_rate`) over numpy columns:

- on DDP parcels sent straight from China to a customer: the market's rule in force on the ship date for the
  parcel's declared value (what the buyer paid for the goods), duty whenever the rule levies one (the EU flat
  duty per tariff line too) and import VAT only where the rule collects it at the border; VAT collected at
  checkout (IOSS, UK, AU) is in the order's tax already. Where the border collects it, the order charged the
  buyer VAT at checkout too (`orders.tax_total`), and that VAT is what we remit at the border: revenue is net
  of it already, so `import_vat_usd` holds only the border VAT beyond it (floored at 0), the part that is
  really ours (the border taxes the declared value with its VAT, the freight and the duty as well). As
  `core.landed_cost.booked_parcel_charges` does for imported parcels;
- on purchase batches when they enter the destination country (`received_on`): the formal-import rule (no
  value ceiling) of the warehouse's country, at the category rate, on the customs value the rule names (FOB:
  quantity x supplier price at the PO date's CNY rate; CIF adds the batch's freight and insurance). Japan
  levies no duty on most of these goods (phones' accessories, plastics, toys and lighting are duty-free under
  its tariff), so its batches pay none; the UK charges duty close to the EU's MFN rates, so UK batches use the
  category's EU rate, as the engine does for every market but the US. Import VAT on stock is reclaimed as
  input VAT by the registered importer, so batches carry duty only.

The engine's functions are plain arithmetic, so each takes whole arrays for one rule: parcels are grouped by
(market, period between rule dates, value band between rule ceilings), inside which one rule applies, and the
rule is picked by `applicable_rule` once per group. A parcel with several categories is charged at the
value-weighted category rate, which equals charging each line at its own rate on an ad-valorem basis.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from core.landed_cost import INSURANCE_RATE, Rule, applicable_rule, category_duty_rate, import_charges
from data.seed.arrays import as_days, group_indices, lookup, to_day_numbers
from data.seed.catalogue import Catalogue
from data.seed.context import Context
from data.seed.fx import CURRENCIES
from data.seed.orders import Orders
from data.seed.pricing import Lines
from data.seed.shipments import Shipments

NO_DUTY_COUNTRIES = ("CN", "JP")  # our own warehouse; Japan's zero tariff on most of these goods


def import_rules(ctx: Context) -> dict[str, list[Rule]]:
    """The reference import rules as the engine's Rule objects, per market."""
    def day(value) -> dt.date | None:
        return None if pd.isna(value) else dt.date.fromisoformat(str(value))

    rules: dict[str, list[Rule]] = {}
    for r in ctx.ref.import_rules.itertuples(index=False):
        rules.setdefault(r.market_code, []).append(Rule(
            r.market_code, day(r.valid_from), day(r.valid_to),
            None if pd.isna(r.max_consignment_value) else float(r.max_consignment_value), r.threshold_currency,
            r.duty_basis, float(r.duty_rate or 0.0), float(r.flat_duty_per_line or 0.0), float(r.vat_rate or 0.0),
            r.vat_basis, r.vat_collection, r.note))
    return rules


def category_rates(ctx: Context, market_code: str) -> np.ndarray:
    """The engine's category duty rate for one market, per category index."""
    return np.array([category_duty_rate(c, market_code) for c in ctx.ref.categories.itertuples(index=False)])


def _rule_groups(rules: list[Rule], day: np.ndarray, value: np.ndarray):
    """(rule, positions) with one rule in force for every position: periods between the rules' dates, value
    bands between their ceilings (a value equal to a ceiling still fits under it)."""
    dates = sorted({int(to_day_numbers(np.datetime64(d))) for r in rules for d in (r.valid_from, r.valid_to) if d})
    ceilings = np.array(sorted({r.max_consignment_value for r in rules if r.max_consignment_value is not None}))
    period = np.searchsorted(np.array(dates, dtype=np.int64), day, side="right")
    band = np.searchsorted(ceilings, value - 1e-9, side="left")
    for _, positions in group_indices(period * (len(ceilings) + 1) + band).items():
        first = positions[0]
        on = as_days(day[first:first + 1])[0].item()
        yield applicable_rule(rules, on, float(value[first])), positions


def parcel_charges(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines,
                   shipments: Shipments) -> tuple[np.ndarray, np.ndarray]:
    """(duty_usd, import_vat_usd) we paid per shipment: DDP parcels straight from China only."""
    duty, vat = np.zeros(shipments.n), np.zeros(shipments.n)
    ddp_surcharge = lookup(shipments.service, ctx.ref.services.set_index("code")["ddp_surcharge_usd"].to_dict(),
                           float)
    ddp = np.flatnonzero((shipments.route == "cn") & (ddp_surcharge > 0))
    if not len(ddp):
        return duty, vat
    live = ~orders.cancelled[lines.order]
    order, category = lines.order[live], catalogue.category[lines.product[live]]
    goods = np.bincount(order, weights=lines.paid_usd[live], minlength=orders.n)
    pair = np.unique(order.astype(np.int64) * 100 + category)  # tariff lines: one per category (HS code)
    tariff_lines = np.bincount(pair // 100, minlength=orders.n)
    checkout_vat = orders.tax_total * orders.usd_per_unit

    o = shipments.order[ddp]
    ship_day = to_day_numbers(shipments.shipped_at[ddp].astype("datetime64[D]"))
    day = np.where(np.isnat(shipments.shipped_at[ddp]), orders.day[o], ship_day)  # booked, not yet collected
    freight = shipments.cost_usd[ddp] - ddp_surcharge[ddp]
    rules = import_rules(ctx)
    market_codes = ctx.market_codes[orders.market[o]]
    for market_code, positions in group_indices(market_codes).items():
        market_rules = rules[market_code]
        rows = ddp[positions]
        parcel_order = o[positions]
        rates = category_rates(ctx, market_code)
        value = goods[parcel_order]
        weighted = np.bincount(order, weights=lines.paid_usd[live] * rates[category], minlength=orders.n)
        category_rate = np.divide(weighted[parcel_order], value, out=np.zeros(len(rows)), where=value > 0)
        threshold = CURRENCIES.index(market_rules[0].threshold_currency)
        threshold_per_usd = ctx.fx.rate(day[positions], threshold)
        for rule, inside in _rule_groups(market_rules, day[positions], value * threshold_per_usd):
            per_usd = threshold_per_usd[inside] if rule.threshold_currency == market_rules[0].threshold_currency \
                else ctx.fx.rate(day[positions][inside], CURRENCIES.index(rule.threshold_currency))
            goods_value, carriage = value[inside], freight[positions][inside]
            parcel_duty, parcel_vat = import_charges(
                rule, goods=goods_value, freight=carriage, insurance=INSURANCE_RATE * (goods_value + carriage),
                category_rate=category_rate[inside], tariff_lines=tariff_lines[parcel_order[inside]],
                threshold_per_usd=per_usd)
            duty[rows[inside]] = parcel_duty
            if rule.vat_collection == "border":  # the checkout VAT passes through: only the excess is ours
                vat[rows[inside]] = np.maximum(parcel_vat - checkout_vat[parcel_order[inside]], 0.0)
    return np.round(duty, 2), np.round(vat, 2)


def batch_duty(ctx: Context, warehouse: np.ndarray, category: np.ndarray, quantity: np.ndarray,
               unit_cost_cny: np.ndarray, ordered: np.ndarray, received: np.ndarray,
               freight_usd: np.ndarray) -> np.ndarray:
    """Duty (USD) per purchase batch paid on entry; 0 for batches not yet received (nothing entered yet)."""
    duty = np.zeros(len(warehouse))
    country = ctx.ref.warehouses["country"].to_numpy(dtype=object)[warehouse]
    goods = quantity * unit_cost_cny / ctx.fx.rate(ordered, CURRENCIES.index("CNY"))
    entered = (received <= ctx.cal.end_day) & ~np.isin(country, NO_DUTY_COUNTRIES)
    rules = import_rules(ctx)
    for market_code, positions in group_indices(np.where(entered, country, "")).items():
        if not market_code:
            continue
        formal = [r for r in rules[market_code] if r.max_consignment_value is None]
        rates = category_rates(ctx, market_code)
        for rule, inside in _rule_groups(formal, received[positions], np.zeros(len(positions))):
            rows = positions[inside]
            duty[rows], _vat = import_charges(
                rule, goods=goods[rows], freight=freight_usd[rows],
                insurance=INSURANCE_RATE * (goods[rows] + freight_usd[rows]), category_rate=rates[category[rows]])
    return np.round(duty, 2)
