"""The landed-cost engine: what it costs to put goods from China into a customer's hands in a market.

Definitions (the published ones, simplified where the docstring says so):

- Chargeable weight of a piece = max(actual kg, L × W × H cm³ / divisor), rounded UP to the service's
  weight increment. Divisors per service (`shipping_services.volumetric_divisor`): international express
  5000 cm³/kg, air freight 6000, sea LCL 1000 (1 CBM = 1,000 kg), postal none (actual weight only).
  Parcel services (express, postal, last mile) weigh each unit as a piece and add the pieces up; freight
  services (air freight, sea LCL) weigh the whole consignment as one piece (total kg, total cm³).
- Freight = `base_usd + per_kg_usd × chargeable kg`, from the rate-card band whose `weight_from_kg` is the
  highest one not above the chargeable weight; a weight beyond the last band is not carried by the service.
- Insurance = 0.5 % of (goods + freight) (cargo insurance on the CIF value, `INSURANCE_RATE`).
- CIF value = goods + insurance + freight; FOB value = goods (the declared value).
- Duty and import VAT/GST follow the market's rule in force on the date (`import_rules`: valid_from
  inclusive, valid_to exclusive), chosen by the consignment's goods value (intrinsic value, transport and
  insurance excluded) converted to the rule's threshold currency at that day's rate: among the rules in force,
  the one with the smallest `max_consignment_value` that the value does not exceed (empty = any value).
    duty_basis  none: 0 | ad_valorem_cif: rate × CIF | ad_valorem_fob: rate × FOB |
                flat_per_line: flat amount × tariff lines (converted from the threshold currency)
    vat_basis   none: 0 | goods_value: rate × goods | cif_plus_duty: rate × (CIF + duty) |
                fob_plus_duty: rate × (FOB + duty)
  A rule `duty_rate` of 0 on an ad-valorem basis means "the category's rate": `categories.duty_rate_us`
  for the US, `categories.duty_rate_eu` (the MFN rate, used as the proxy) for every other market.
- Who pays (DDP vs DDU): DDP, the seller pays the duty and the border VAT and the carrier adds its DDP
  surcharge (`fees`); DDU, the buyer pays both at the door and there is no surcharge. VAT collected at
  checkout (EU IOSS, UK <= GBP 135, AU <= AUD 1,000) is charged to the buyer inside the price and
  remitted by the seller or marketplace, so it is never a landed cost. Border VAT paid by the seller on a
  parcel sent straight to a customer is a cost (a non-resident parcel seller has no local VAT registration
  to reclaim it); import VAT on stock shipped into our own overseas or FBA warehouse is reclaimed as input
  VAT by the registered importer, so it is shown but not a cost.
- Landed cost (`total`) = goods + freight + insurance + fees + duty paid by the seller + import VAT the
  seller pays and cannot reclaim.

All amounts are per shipment in the requested currency (converted from USD at that day's rate).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.platform.models import (
    CarrierRate,
    Category,
    FxRate,
    ImportRule,
    Order,
    OrderLine,
    Product,
    ShippingService,
    Warehouse,
)

INSURANCE_RATE = 0.005
PARCEL_MODES = ("express", "postal", "last_mile")
DIRECT_MODES = ("express", "postal")  # China to the customer's door
CATEGORY_RATE_COLUMN = {"US": "duty_rate_us"}  # every other market: duty_rate_eu (MFN proxy)
INCOTERMS = ("DDP", "DDU")
COMPONENTS = ("goods", "freight", "insurance", "duty", "vat", "fees")


class LandedCostError(ValueError):
    """The shipment cannot be quoted: no rule in force, no rate, or a service that does not carry it."""


def _memo(session: Session, key: tuple, load):
    """Reference lookups (services, rate cards, rules, rates) memoised for the life of one session, so that
    pricing hundreds of SKUs in one unit of work reads each rate card once."""
    store = session.info.setdefault("landed_cost_memo", {})
    if key not in store:
        store[key] = load()
    return store[key]


# --- pure formulas ---------------------------------------------------------------------------------


def chargeable_weight(actual_kg: float, length_cm: float, width_cm: float, height_cm: float,
                      divisor: float | None, increment_kg: float) -> float:
    """max(actual, L×W×H / divisor) rounded up to `increment_kg`; divisor None = actual weight only."""
    if min(length_cm, width_cm, height_cm) < 0:
        raise ValueError("Dimensions cannot be negative")
    return _chargeable(actual_kg, length_cm * width_cm * height_cm, divisor, increment_kg)


def _chargeable(actual_kg: float, volume_cm3: float, divisor: float | None, increment_kg: float) -> float:
    if actual_kg < 0 or volume_cm3 < 0:
        raise ValueError("Weight and dimensions cannot be negative")
    weight = actual_kg
    if divisor is not None and not math.isnan(divisor) and divisor > 0:
        weight = max(actual_kg, volume_cm3 / divisor)
    if increment_kg <= 0:
        return weight
    steps = math.ceil(round(weight / increment_kg, 6))  # round first: 1.5 / 0.5 must stay 3 steps
    return round(steps * increment_kg, 3)


def shipment_chargeable_weight(mode: str, units: int, unit_kg: float, dims_cm: tuple[float, float, float],
                               divisor: float | None, increment_kg: float) -> float:
    """Parcel modes weigh each unit as a piece and add them up; freight modes weigh the consignment once
    (total actual kg against total volume)."""
    length, width, height = dims_cm
    if mode in PARCEL_MODES:
        return round(units * chargeable_weight(unit_kg, length, width, height, divisor, increment_kg), 3)
    return _chargeable(units * unit_kg, units * length * width * height, divisor, increment_kg)


@dataclass(frozen=True)
class RateBand:
    weight_from_kg: float
    weight_to_kg: float
    base_usd: float
    per_kg_usd: float
    transit_days_min: int
    transit_days_max: int


def pick_band(bands: list[RateBand], weight_kg: float) -> RateBand | None:
    """The band with the highest `weight_from_kg` not above the weight; None beyond the last band."""
    ordered = sorted(bands, key=lambda b: b.weight_from_kg)
    if not ordered or weight_kg > ordered[-1].weight_to_kg:
        return None
    chosen = ordered[0]
    for band in ordered:
        if band.weight_from_kg <= weight_kg:
            chosen = band
    return chosen


def freight_cost(band: RateBand, weight_kg: float) -> float:
    """base + per kg × chargeable kg."""
    return band.base_usd + band.per_kg_usd * weight_kg


@dataclass(frozen=True)
class Rule:
    market_code: str
    valid_from: dt.date
    valid_to: dt.date | None
    max_consignment_value: float | None
    threshold_currency: str
    duty_basis: str
    duty_rate: float
    flat_duty_per_line: float
    vat_rate: float
    vat_basis: str
    vat_collection: str
    note: str = ""

    def in_force(self, on: dt.date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


def applicable_rule(rules: list[Rule], on: dt.date, value_in_threshold_currency: float) -> Rule:
    """The rule in force on `on` with the smallest ceiling the consignment value does not exceed."""
    fitting = [
        r for r in rules
        if r.in_force(on) and (r.max_consignment_value is None or value_in_threshold_currency
                               <= r.max_consignment_value + 1e-9)
    ]
    if not fitting:
        market = rules[0].market_code if rules else "?"
        raise LandedCostError(f"No import rule for {market} on {on.isoformat()}")
    return min(fitting, key=lambda r: math.inf if r.max_consignment_value is None else r.max_consignment_value)


def import_charges(rule: Rule, *, goods: float, freight: float, insurance: float, category_rate: float,
                   tariff_lines: int = 1, threshold_per_usd: float = 1.0) -> tuple[float, float]:
    """(duty, import VAT/GST) in the currency of goods/freight/insurance (USD here).

    `threshold_per_usd` converts the flat per-line duty from the rule's currency (units per 1 USD)."""
    cif = goods + freight + insurance
    rate = rule.duty_rate if rule.duty_rate > 0 else category_rate
    if rule.duty_basis == "none":
        duty = 0.0
    elif rule.duty_basis == "ad_valorem_cif":
        duty = rate * cif
    elif rule.duty_basis == "ad_valorem_fob":
        duty = rate * goods
    elif rule.duty_basis == "flat_per_line":
        duty = rule.flat_duty_per_line * tariff_lines / threshold_per_usd
    else:
        raise LandedCostError(f"Unknown duty basis {rule.duty_basis!r}")
    if rule.vat_basis == "none":
        vat = 0.0
    elif rule.vat_basis == "goods_value":
        vat = rule.vat_rate * goods
    elif rule.vat_basis == "cif_plus_duty":
        vat = rule.vat_rate * (cif + duty)
    elif rule.vat_basis == "fob_plus_duty":
        vat = rule.vat_rate * (goods + duty)
    else:
        raise LandedCostError(f"Unknown VAT basis {rule.vat_basis!r}")
    return duty, vat


# --- the result --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LandedCost:
    """Per shipment, in `currency`. `total` is what the seller pays (see the module docstring)."""

    goods: float
    freight: float
    insurance: float
    duty: float
    vat: float
    fees: float
    total: float
    units: int
    currency: str
    service_code: str = ""
    incoterm: str = "DDP"
    chargeable_kg: float = 0.0
    transit_days_min: int = 0
    transit_days_max: int = 0
    duty_paid_by: str = "seller"  # seller, buyer
    vat_paid_by: str = "seller"  # seller, buyer, checkout (collected from the buyer in the price)
    vat_is_cost: bool = False  # True when the import VAT is in `total` (paid by us, not reclaimable)
    rule_note: str = ""
    duty_basis: str = ""  # of the rule applied: none, ad_valorem_cif, ad_valorem_fob, flat_per_line
    vat_collection: str = ""  # of the rule applied: checkout, border
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def per_unit_total(self) -> float:
        return self.total / self.units if self.units else 0.0

    def per_unit(self, component: str) -> float:
        return getattr(self, component) / self.units if self.units else 0.0

    @property
    def seller_costs_excl_goods(self) -> float:
        """Everything in `total` except the goods: freight, insurance, fees, our duty, our unreclaimable VAT."""
        return self.total - self.goods

    def as_frame(self) -> pd.DataFrame:
        """One row per component (goods, freight, insurance, duty, vat, fees, total): per shipment,
        per unit, who pays, and whether it counts in the landed cost."""
        payer = {"goods": "seller", "freight": "seller", "insurance": "seller", "fees": "seller",
                 "duty": self.duty_paid_by, "vat": self.vat_paid_by}
        counted = {"duty": self.duty_paid_by == "seller", "vat": self.vat_is_cost}
        rows = [
            {"component": c, "per_shipment": getattr(self, c), "per_unit": self.per_unit(c), "paid_by": payer[c],
             "in_landed_cost": counted.get(c, True)}
            for c in COMPONENTS
        ]
        rows.append({"component": "total", "per_shipment": self.total, "per_unit": self.per_unit_total,
                     "paid_by": "seller", "in_landed_cost": True})
        return pd.DataFrame(rows)


def assemble(*, goods: float, freight: float, insurance: float, duty: float, vat: float, ddp_surcharge: float,
             incoterm: str, vat_collection: str, to_customer: bool, units: int, rate: float = 1.0,
             currency: str = "USD", **extra) -> LandedCost:
    """Apply who-pays to USD components and convert with `rate` (units of `currency` per USD)."""
    if incoterm not in INCOTERMS:
        raise LandedCostError(f"Incoterm must be one of {', '.join(INCOTERMS)}")
    ddp = incoterm == "DDP"
    fees = ddp_surcharge if ddp else 0.0
    duty_by = "seller" if ddp else "buyer"
    if vat_collection == "checkout":
        vat_by, vat_cost = "checkout", False
    else:
        vat_by = "seller" if ddp else "buyer"
        vat_cost = ddp and to_customer
    total = goods + freight + insurance + fees + (duty if ddp else 0.0) + (vat if vat_cost else 0.0)
    return LandedCost(
        goods=goods * rate, freight=freight * rate, insurance=insurance * rate, duty=duty * rate, vat=vat * rate,
        fees=fees * rate, total=total * rate, units=units, currency=currency, incoterm=incoterm,
        duty_paid_by=duty_by, vat_paid_by=vat_by, vat_is_cost=vat_cost, vat_collection=vat_collection, **extra,
    )


# --- database lookups --------------------------------------------------------------------------------


def per_usd(session: Session, currency: str, on: dt.date) -> float:
    """Units of `currency` per 1 USD on `on` (the latest rate on or before it, else the first after it)."""
    if currency == "USD":
        return 1.0
    return _memo(session, ("fx", currency, on), lambda: _per_usd(session, currency, on))


def _per_usd(session: Session, currency: str, on: dt.date) -> float:
    rate = session.scalar(
        select(FxRate.per_usd).where(FxRate.currency == currency, FxRate.day <= on).order_by(FxRate.day.desc())
        .limit(1)
    )
    if rate is None:
        rate = session.scalar(
            select(FxRate.per_usd).where(FxRate.currency == currency, FxRate.day > on).order_by(FxRate.day).limit(1)
        )
    if rate is None:
        raise LandedCostError(f"No exchange rate for {currency}")
    return float(rate)


def rules_for(session: Session, market_code: str) -> list[Rule]:
    return _memo(session, ("rules", market_code), lambda: _rules_for(session, market_code))


def _rules_for(session: Session, market_code: str) -> list[Rule]:
    rows = session.scalars(select(ImportRule).where(ImportRule.market_code == market_code)).all()
    return [
        Rule(r.market_code, r.valid_from, r.valid_to, r.max_consignment_value, r.threshold_currency, r.duty_basis,
             r.duty_rate or 0.0, r.flat_duty_per_line or 0.0, r.vat_rate or 0.0, r.vat_basis, r.vat_collection,
             r.note or "")
        for r in rows
    ]


def category_duty_rate(category: Category, market_code: str) -> float:
    return float(getattr(category, CATEGORY_RATE_COLUMN.get(market_code, "duty_rate_eu")) or 0.0)


def rate_bands(session: Session, service_code: str, market_code: str) -> list[RateBand]:
    return _memo(session, ("bands", service_code, market_code),
                 lambda: _rate_bands(session, service_code, market_code))


def _rate_bands(session: Session, service_code: str, market_code: str) -> list[RateBand]:
    rows = session.execute(
        select(CarrierRate.weight_from_kg, CarrierRate.weight_to_kg, CarrierRate.base_usd, CarrierRate.per_kg_usd,
               CarrierRate.transit_days_min, CarrierRate.transit_days_max)
        .where(CarrierRate.service_code == service_code, CarrierRate.market_code == market_code)
    ).all()
    return [RateBand(*row) for row in rows]


def landed_cost(
    session: Session,
    *,
    market_code: str,
    service_code: str,
    on: dt.date,
    units: int,
    unit_value_usd: float,
    unit_weight_kg: float,
    dims_cm: tuple[float, float, float],
    category_id: int,
    incoterm: str = "DDP",
    currency: str = "USD",
    tariff_lines: int = 1,
    rate_market: str | None = None,
) -> LandedCost:
    """Landed cost of `units` identical units declared at `unit_value_usd` each, shipped with one service.

    `rate_market` prices the carriage into another market's rate card (e.g. sea freight into the German
    warehouse for a French customer); duty and VAT always follow `market_code`'s rules."""
    if units < 1:
        raise LandedCostError("Units must be at least 1")
    # memoised: the identity map holds objects weakly, so plain get() would reload them on every call
    service = _memo(session, ("service", service_code), lambda: session.get(ShippingService, service_code))
    category = _memo(session, ("category", category_id), lambda: session.get(Category, category_id))
    if service is None or category is None:
        raise LandedCostError("Unknown service or category")
    weight = shipment_chargeable_weight(service.mode, units, unit_weight_kg, dims_cm, service.volumetric_divisor,
                                        service.weight_increment_kg)
    band = pick_band(rate_bands(session, service_code, rate_market or market_code), weight)
    if band is None:
        raise LandedCostError(f"{service_code} does not carry {weight} kg to {rate_market or market_code}")
    goods = units * unit_value_usd
    freight = freight_cost(band, weight)
    insurance = INSURANCE_RATE * (goods + freight)
    rules = rules_for(session, market_code)
    if not rules:
        raise LandedCostError(f"No import rules for {market_code}")
    threshold_ccy = rules[0].threshold_currency
    threshold_rate = per_usd(session, threshold_ccy, on)
    rule = applicable_rule(rules, on, goods * threshold_rate)
    if rule.threshold_currency != threshold_ccy:
        threshold_rate = per_usd(session, rule.threshold_currency, on)
    duty, vat = import_charges(rule, goods=goods, freight=freight, insurance=insurance,
                               category_rate=category_duty_rate(category, market_code), tariff_lines=tariff_lines,
                               threshold_per_usd=threshold_rate)
    return assemble(
        goods=goods, freight=freight, insurance=insurance, duty=duty, vat=vat,
        ddp_surcharge=float(service.ddp_surcharge_usd or 0.0), incoterm=incoterm, vat_collection=rule.vat_collection,
        to_customer=service.destination_kind == "customer", units=units, rate=per_usd(session, currency, on),
        currency=currency, service_code=service_code, chargeable_kg=weight, transit_days_min=band.transit_days_min,
        transit_days_max=band.transit_days_max, rule_note=rule.note, duty_basis=rule.duty_basis,
    )


def direct_services(session: Session, market_code: str) -> list[ShippingService]:
    """Services from China straight to a customer in the market (express and postal) that have a rate card."""
    return _memo(session, ("direct", market_code), lambda: _direct_services(session, market_code))


def _direct_services(session: Session, market_code: str) -> list[ShippingService]:
    priced = select(CarrierRate.service_code).where(CarrierRate.market_code == market_code).distinct()
    return list(session.scalars(
        select(ShippingService)
        .where(ShippingService.mode.in_(DIRECT_MODES), ShippingService.destination_kind == "customer",
               ShippingService.code.in_(priced))
        .order_by(ShippingService.code)
    ))


def parcel_quotes(session: Session, market_code: str, on: dt.date, units: int, unit_value_usd: float,
                  unit_weight_kg: float, dims_cm: tuple[float, float, float], category_id: int,
                  incoterm: str = "DDP", currency: str = "USD") -> pd.DataFrame:
    """Every direct service ranked by landed cost (cheapest first), with transit days and chargeable weight.
    Services that cannot carry the parcel are left out."""
    rows = []
    for service in direct_services(session, market_code):
        try:
            cost = landed_cost(session, market_code=market_code, service_code=service.code, on=on, units=units,
                               unit_value_usd=unit_value_usd, unit_weight_kg=unit_weight_kg, dims_cm=dims_cm,
                               category_id=category_id, incoterm=incoterm, currency=currency)
        except LandedCostError:
            continue
        rows.append({
            "service": service.code, "carrier": service.carrier, "mode": service.mode,
            "chargeable_kg": cost.chargeable_kg, "freight": cost.freight, "insurance": cost.insurance,
            "duty": cost.duty, "vat": cost.vat, "fees": cost.fees, "total": cost.total,
            "per_unit": cost.per_unit_total, "days_min": cost.transit_days_min, "days_max": cost.transit_days_max,
            "vat_paid_by": cost.vat_paid_by, "duty_paid_by": cost.duty_paid_by,
        })
    columns = ["service", "carrier", "mode", "chargeable_kg", "freight", "insurance", "duty", "vat", "fees", "total",
               "per_unit", "days_min", "days_max", "vat_paid_by", "duty_paid_by"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(rows, columns=columns).sort_values(["total", "days_max"]).reset_index(drop=True)


# --- fulfilment routes -------------------------------------------------------------------------------

# Which overseas stock point serves a market: the 3PL / FBA country whose rate cards the line haul uses.
THREE_PL_HUB = {"US": "US", "UK": "UK", "DE": "DE", "FR": "DE", "IT": "DE", "ES": "DE", "NL": "DE"}
FBA_HUB = {"US": "US", "UK": "UK", "DE": "DE", "FR": "DE", "IT": "DE", "ES": "DE", "NL": "DE", "JP": "JP"}
THREE_PL_HANDLING_USD = 1.5  # 3PL pick and pack per order on top of the last-mile label
CAPITAL_COST_RATE = 0.12  # yearly cost of the cash tied up in stock in transit
DEFAULT_BATCH_UNITS = 200


def _cheapest_last_mile(session: Session, market_code: str, fba: bool, unit_kg: float,
                        dims_cm: tuple[float, float, float]) -> tuple[str, float, int, int] | None:
    services = _memo(session, ("last_mile",), lambda: session.scalars(
        select(ShippingService).where(ShippingService.mode == "last_mile")).all())
    best = None
    for service in services:
        if (service.code == "amzl_fba") != fba:
            continue
        weight = shipment_chargeable_weight("last_mile", 1, unit_kg, dims_cm, service.volumetric_divisor,
                                            service.weight_increment_kg)
        band = pick_band(rate_bands(session, service.code, market_code), weight)
        if band is None:
            continue
        cost = freight_cost(band, weight) + (0.0 if fba else THREE_PL_HANDLING_USD)
        if best is None or cost < best[1]:
            best = (service.code, cost, band.transit_days_min, band.transit_days_max)
    return best


def route_options(session: Session, *, market_code: str, on: dt.date, sale_price_usd: float,
                  product_cost_usd: float, unit_weight_kg: float, dims_cm: tuple[float, float, float],
                  category_id: int, batch_units: int = DEFAULT_BATCH_UNITS) -> pd.DataFrame:
    """Cost per unit (USD) of each way to get one unit to a customer in the market.

    Direct routes ship one unit per parcel DDP, declared at the sale price. Warehouse routes ship
    `batch_units` by air or sea into the 3PL or FBA warehouse that serves the market (declared at the
    product cost, import VAT reclaimed), then one unit per order by the cheapest last-mile service.
    cost_per_unit = product cost + freight + insurance + fees + duty + unreclaimable VAT (per unit) + last mile.
    cash_in_transit = the money a batch (or one parcel) ties up while it travels: units × cost per unit
    before the last mile; carrying_cost_per_unit = cost per unit × CAPITAL_COST_RATE × mean days / 365.
    """
    rows = _route_rows(session, market_code=market_code, on=on, sale_price_usd=sale_price_usd,
                       product_cost_usd=product_cost_usd, unit_weight_kg=unit_weight_kg, dims_cm=dims_cm,
                       category_id=category_id, batch_units=batch_units)
    if not rows:
        return pd.DataFrame(columns=ROUTE_COLUMNS)
    return pd.DataFrame(rows, columns=ROUTE_COLUMNS).sort_values("cost_per_unit").reset_index(drop=True)


ROUTE_COLUMNS = ["route", "service", "last_mile", "cost_per_unit", "freight_per_unit", "duty_per_unit", "days_min",
                 "days_max", "batch_units", "cash_in_transit", "carrying_cost_per_unit"]


def _route_rows(session: Session, *, market_code: str, on: dt.date, sale_price_usd: float, product_cost_usd: float,
                unit_weight_kg: float, dims_cm: tuple[float, float, float], category_id: int,
                batch_units: int) -> list[dict]:
    rows = []
    for service in direct_services(session, market_code):
        try:
            cost = landed_cost(session, market_code=market_code, service_code=service.code, on=on, units=1,
                               unit_value_usd=sale_price_usd, unit_weight_kg=unit_weight_kg, dims_cm=dims_cm,
                               category_id=category_id)
        except LandedCostError:
            continue
        per_unit = product_cost_usd + cost.seller_costs_excl_goods
        days = (cost.transit_days_min + cost.transit_days_max) / 2
        rows.append({"route": f"direct_{service.mode}", "service": service.code, "last_mile": "",
                     "cost_per_unit": per_unit, "freight_per_unit": cost.freight + cost.fees,
                     "duty_per_unit": cost.duty + (cost.vat if cost.vat_is_cost else 0.0),
                     "days_min": cost.transit_days_min, "days_max": cost.transit_days_max, "batch_units": 1,
                     "cash_in_transit": per_unit, "carrying_cost_per_unit": per_unit * CAPITAL_COST_RATE * days / 365})
    hubs = (("3pl", THREE_PL_HUB.get(market_code), ("overseas_warehouse",)),
            ("fba", FBA_HUB.get(market_code), ("fba",)))
    for kind, hub, destinations in hubs:
        if hub is None:
            continue
        last = _cheapest_last_mile(session, market_code, kind == "fba", unit_weight_kg, dims_cm)
        if last is None:
            continue
        line_hauls = _memo(session, ("line_haul", destinations), lambda: session.scalars(
            select(ShippingService).where(ShippingService.destination_kind.in_(destinations))
            .order_by(ShippingService.code)
        ).all())
        for service in line_hauls:
            try:
                cost = landed_cost(session, market_code=hub, service_code=service.code, on=on, units=batch_units,
                                   unit_value_usd=product_cost_usd, unit_weight_kg=unit_weight_kg, dims_cm=dims_cm,
                                   category_id=category_id)
            except LandedCostError:
                continue
            before_last_mile = cost.per_unit_total
            per_unit = before_last_mile + last[1]
            days = (cost.transit_days_min + cost.transit_days_max) / 2
            rows.append({
                "route": f"{service.mode}_{kind}", "service": service.code, "last_mile": last[0],
                "cost_per_unit": per_unit,
                "freight_per_unit": (cost.freight + cost.insurance + cost.fees) / batch_units + last[1],
                "duty_per_unit": cost.duty / batch_units,
                "days_min": cost.transit_days_min + last[2], "days_max": cost.transit_days_max + last[3],
                "batch_units": batch_units, "cash_in_transit": before_last_mile * batch_units,
                "carrying_cost_per_unit": before_last_mile * CAPITAL_COST_RATE * days / 365,
            })
    return rows


def product_route_options(session: Session, product_id: int, market_code: str, on: dt.date,
                          batch_units: int = DEFAULT_BATCH_UNITS) -> pd.DataFrame:
    """route_options for a catalogue product: its list price, its factory cost at the day's CNY rate."""
    return route_options(session, **_product_inputs(session, product_id, market_code, on, batch_units))


def _product_inputs(session: Session, product_id: int, market_code: str, on: dt.date, batch_units: int) -> dict:
    product = session.get(Product, product_id)
    if product is None:
        raise LandedCostError(f"No product {product_id}")
    return dict(
        market_code=market_code, on=on, sale_price_usd=float(product.list_price_usd),
        product_cost_usd=float(product.unit_cost_cny) / per_usd(session, "CNY", on), unit_weight_kg=product.weight_kg,
        dims_cm=(product.length_cm, product.width_cm, product.height_cm), category_id=product.category_id,
        batch_units=batch_units,
    )


def cheapest_landed_cost_per_unit(session: Session, product_id: int, market_code: str,
                                  on: dt.date) -> tuple[str, float]:
    """(service code, USD per unit) of the cheapest route: product cost + freight + insurance + fees + duty +
    import VAT we cannot reclaim (and the last mile for warehouse routes, whose code is the line haul's)."""
    rows = _route_rows(session, **_product_inputs(session, product_id, market_code, on, DEFAULT_BATCH_UNITS))
    if not rows:
        raise LandedCostError(f"No route reaches {market_code}")
    best = min(rows, key=lambda row: row["cost_per_unit"])
    return str(best["service"]), float(best["cost_per_unit"])


# --- duty and import VAT on a parcel when it is booked ---------------------------------------------------------


def booked_parcel_charges(session: Session, parcels: pd.DataFrame) -> pd.DataFrame:
    """Duty and border import VAT we pay on DDP parcels, computed for the ship date when a shipment is booked
    (an import stores them on the shipment, so a later rule change does not rewrite its history).

    `parcels`: order_id, warehouse_id, service, cost_usd, ship_date (None: not dispatched yet, the order day is
    used). Only parcels sent from our own warehouse in China with a service that carries a DDP surcharge are
    ours to clear; the declared value is what the buyer paid for the goods (the order's lines at the order-day
    rate), duty at the value-weighted category rate, and import VAT only where the rule collects it at the
    border, and then only what exceeds the VAT the order charged at checkout (that part is the customer's VAT
    passing through). Returns duty_usd and import_vat_usd on `parcels`' index; 0 for every other parcel."""
    out = pd.DataFrame({"duty_usd": 0.0, "import_vat_usd": 0.0}, index=parcels.index)
    if parcels.empty:
        return out
    surcharge = dict(session.execute(select(ShippingService.code, ShippingService.ddp_surcharge_usd)).all())
    own_china = set(session.scalars(select(Warehouse.id).where(Warehouse.kind == "cn")))
    ddp = parcels[parcels["warehouse_id"].isin(own_china)
                  & (parcels["service"].map(lambda code: surcharge.get(code) or 0.0) > 0)]
    if ddp.empty:
        return out
    order_ids = sorted({int(i) for i in ddp["order_id"]})
    goods = pd.DataFrame(session.execute(
        select(OrderLine.order_id, Order.market_code, Order.order_date, Category,
               (OrderLine.line_total * Order.usd_per_unit).label("paid_usd"), Order.discount_total, Order.items_total,
               (Order.tax_total * Order.usd_per_unit).label("checkout_vat"))
        .join(Order, Order.id == OrderLine.order_id).join(Product, Product.id == OrderLine.product_id)
        .join(Category, Category.id == Product.category_id).where(OrderLine.order_id.in_(order_ids))
    ).all(), columns=["order_id", "market_code", "order_date", "category", "paid_usd", "discount", "items",
                      "checkout_vat"])
    items = goods["items"].astype(float)
    kept = 1 - goods["discount"].astype(float) / items.where(items > 0)
    goods["paid_usd"] = goods["paid_usd"].astype(float) * kept.fillna(1.0)  # after the order's discount
    for index, parcel in ddp.iterrows():
        lines = goods[goods["order_id"] == parcel["order_id"]]
        if lines.empty:
            continue  # an order booked without its items: no declared value to clear
        market = lines["market_code"].iloc[0]
        on = parcel["ship_date"] if parcel["ship_date"] is not None and not pd.isna(parcel["ship_date"]) \
            else lines["order_date"].iloc[0]
        paid = lines["paid_usd"].astype(float)
        value = float(paid.sum())
        rates = [category_duty_rate(c, market) for c in lines["category"]]
        rate = float((paid * rates).sum() / value) if value > 0 else 0.0
        rules = rules_for(session, market)
        threshold_per_usd = per_usd(session, rules[0].threshold_currency, on) if rules else 1.0
        rule = applicable_rule(rules, on, value * threshold_per_usd)
        freight = float(parcel["cost_usd"]) - float(surcharge.get(parcel["service"]) or 0.0)
        duty, vat = import_charges(rule, goods=value, freight=freight, insurance=INSURANCE_RATE * (value + freight),
                                   category_rate=rate, tariff_lines=lines["category"].map(lambda c: c.id).nunique(),
                                   threshold_per_usd=per_usd(session, rule.threshold_currency, on))
        # The VAT charged at checkout is what we pay at the border: only the border VAT beyond it is a cost
        # (revenue is already net of the checkout VAT, so counting all of it would count it twice).
        beyond = max(vat - float(lines["checkout_vat"].iloc[0]), 0.0) if rule.vat_collection == "border" else 0.0
        out.loc[index] = (round(duty, 2), round(beyond, 2))
    return out
