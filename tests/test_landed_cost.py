"""The landed-cost engine: chargeable weight, rate bands, the duty/VAT rules in force, who pays."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from core import landed_cost as lc
from core.platform.db import unit_of_work
from core.platform.models import CarrierRate, ImportRule, ShippingService
from tests import factories as f

RULES_CSV = Path(__file__).resolve().parent.parent / "data" / "reference" / "import_rules.csv"
D = dt.date


def _csv_rules() -> dict[str, list[lc.Rule]]:
    table = pd.read_csv(RULES_CSV, keep_default_na=True)
    rules: dict[str, list[lc.Rule]] = {}
    for row in table.itertuples(index=False):
        rules.setdefault(row.market_code, []).append(lc.Rule(
            row.market_code, D.fromisoformat(row.valid_from),
            None if pd.isna(row.valid_to) else D.fromisoformat(row.valid_to),
            None if pd.isna(row.max_consignment_value) else float(row.max_consignment_value),
            row.threshold_currency, row.duty_basis, float(row.duty_rate), float(row.flat_duty_per_line),
            float(row.vat_rate), row.vat_basis, row.vat_collection, row.note,
        ))
    return rules


RULES = _csv_rules()


# --- chargeable weight ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "dims", "divisor", "increment", "expected"),
    [
        (1.2, (30, 20, 10), 5000, 0.5, 1.5),  # express: 6000 cm³ / 5000 = 1.2 kg, = actual 1.2 → up to 1.5
        (0.4, (30, 20, 10), 5000, 0.5, 1.5),  # volumetric 1.2 beats actual 0.4 → 1.5
        (2.0, (30, 20, 10), 5000, 0.5, 2.0),  # actual 2.0 beats volumetric 1.2; already on a 0.5 step
        (1.0, (30, 20, 10), 6000, 1.0, 1.0),  # air freight: 6000 / 6000 = 1.0 kg
        (0.23, (40, 30, 20), None, 0.1, 0.3),  # postal: actual only (volume ignored), 0.23 → 0.3
        (5.0, (100, 100, 100), 1000, 1.0, 1000.0),  # sea LCL: 1 CBM = 1,000 kg
        (1.5, (10, 10, 10), 5000, 0.5, 1.5),  # 1.5 / 0.5 = 3 steps exactly: no extra step from float noise
    ],
)
def test_chargeable_weight(actual, dims, divisor, increment, expected):
    assert lc.chargeable_weight(actual, *dims, divisor, increment) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("mode", "units", "expected"),
    [
        ("express", 3, 4.5),  # per piece: each 0.4 kg / 1.2 kg volumetric → 1.5; 3 pieces = 4.5
        ("air_freight", 3, 4.0),  # one consignment: 3 × 6000 = 18000 cm³ / 5000 = 3.6 → 4.0 (1 kg steps)
    ],
)
def test_parcel_modes_weigh_each_piece_freight_modes_the_consignment(mode, units, expected):
    increment = 0.5 if mode == "express" else 1.0
    assert lc.shipment_chargeable_weight(mode, units, 0.4, (30, 20, 10), 5000, increment) == pytest.approx(expected)


BANDS = [lc.RateBand(0, 0.5, 20.0, 10.0, 3, 5), lc.RateBand(0.5, 2, 22.0, 8.0, 3, 5),
         lc.RateBand(2, 10, 30.0, 6.0, 4, 6)]


@pytest.mark.parametrize(
    ("weight", "cost"),
    [
        (0.3, 20 + 10 * 0.3),  # 23.0 in the first band
        (0.5, 22 + 8 * 0.5),  # 26.0: a weight on a break takes the band that starts there
        (1.5, 22 + 8 * 1.5),  # 34.0
        (6.0, 30 + 6 * 6.0),  # 66.0
        (10.0, 30 + 6 * 10.0),  # 90.0: the last band's upper limit is still carried
        (10.5, None),  # beyond the last band: not carried
    ],
)
def test_rate_band_and_freight(weight, cost):
    band = lc.pick_band(BANDS, weight)
    if cost is None:
        assert band is None
    else:
        assert lc.freight_cost(band, weight) == pytest.approx(cost)


# --- the rules in force, each market on both sides of each start date ----------------------------------
# Amounts in the rule's own currency (threshold_per_usd = 1), category duty rate 5 %.
# Freight 10 throughout; insurance = 0.5 % of (goods + freight).
NO_RULE = "no rule"


def _ins(goods: float) -> float:
    return 0.005 * (goods + 10)


RULE_CASES = [
    # market, day, goods, lines, expected (duty basis, duty, vat, collection)
    ("US", D(2014, 12, 31), 100, 1, NO_RULE),
    ("US", D(2015, 1, 1), 100, 1, ("none", 0.0, 0.0, "checkout")),  # <= USD 200
    ("US", D(2016, 3, 9), 300, 1, ("ad_valorem_fob", 0.05 * 300, 0.0, "checkout")),  # > 200: 15 on FOB
    ("US", D(2016, 3, 10), 300, 1, ("none", 0.0, 0.0, "checkout")),  # de minimis USD 800 from 2016-03-10
    ("US", D(2025, 8, 28), 100, 1, ("none", 0.0, 0.0, "checkout")),
    ("US", D(2025, 8, 29), 100, 1, ("ad_valorem_fob", 0.05 * 100, 0.0, "checkout")),  # no de minimis: 5
    ("CA", D(2020, 6, 30), 15, 1, NO_RULE),
    ("CA", D(2020, 7, 1), 15, 1, ("none", 0.0, 0.0, "border")),  # <= CAD 20
    ("CA", D(2020, 7, 1), 100, 1, ("ad_valorem_fob", 5.0, 0.05 * (100 + 5), "border")),  # GST 5.25
    ("MX", D(2020, 6, 30), 40, 1, NO_RULE),
    ("MX", D(2024, 12, 31), 40, 1, ("none", 0.0, 0.0, "border")),  # <= USD 50 exempt
    ("MX", D(2025, 1, 1), 40, 1, ("ad_valorem_cif", 0.19 * (40 + 10 + _ins(40)), 0.0, "border")),  # 19 % of 50.25
    ("MX", D(2025, 1, 1), 3000, 1,  # formal: duty 5 % of CIF 3025.05 = 151.2525; IVA 16 % of 3176.3025
     ("ad_valorem_cif", 0.05 * 3025.05, 0.16 * (3025.05 + 0.05 * 3025.05), "border")),
    ("UK", D(2018, 12, 31), 100, 1, NO_RULE),
    ("UK", D(2019, 1, 1), 10, 1, ("none", 0.0, 0.0, "border")),  # LVCR <= GBP 15
    ("UK", D(2020, 12, 31), 100, 1, ("none", 0.0, 0.2 * (100 + 10 + _ins(100)), "border")),  # 20 % of 110.55
    ("UK", D(2021, 1, 1), 100, 1, ("none", 0.0, 0.2 * 100, "checkout")),  # <= GBP 135: 20 at checkout
    ("UK", D(2021, 1, 1), 200, 1,  # > 135: duty 5 % of CIF 211.05 = 10.5525; VAT 20 % of 221.6025
     ("ad_valorem_cif", 0.05 * 211.05, 0.2 * (211.05 + 0.05 * 211.05), "border")),
    ("DE", D(2018, 12, 31), 100, 1, NO_RULE),
    ("DE", D(2019, 1, 1), 20, 1, ("none", 0.0, 0.0, "border")),  # LVCR <= EUR 22
    ("DE", D(2021, 6, 30), 100, 1, ("none", 0.0, 0.19 * 110.55, "border")),  # 21.0045 at the border
    ("DE", D(2021, 7, 1), 100, 1, ("none", 0.0, 0.19 * 100, "checkout")),  # IOSS: 19 at checkout
    ("DE", D(2026, 6, 30), 100, 1, ("none", 0.0, 19.0, "checkout")),
    ("DE", D(2026, 7, 1), 100, 2, ("flat_per_line", 3.0 * 2, 19.0, "checkout")),  # EUR 3 × 2 tariff lines
    ("DE", D(2028, 6, 30), 100, 1, ("flat_per_line", 3.0, 19.0, "checkout")),
    ("DE", D(2028, 7, 1), 100, 1, ("ad_valorem_cif", 0.05 * 110.55, 19.0, "checkout")),  # 5.5275
    ("DE", D(2026, 7, 1), 200, 1,  # > EUR 150: duty 5 % of 211.05 = 10.5525; VAT 19 % of 221.6025 = 42.104475
     ("ad_valorem_cif", 0.05 * 211.05, 0.19 * (211.05 + 0.05 * 211.05), "border")),
    ("JP", D(2018, 12, 31), 8000, 1, NO_RULE),
    ("JP", D(2019, 1, 1), 8000, 1, ("none", 0.0, 0.0, "border")),  # <= JPY 10,000: duty and tax exempt
    ("JP", D(2019, 9, 30), 20000, 1,  # CIF 20000 + 10 + 100.05 = 20110.05; duty 1005.5025; tax 8 %
     ("ad_valorem_cif", 0.05 * 20110.05, 0.08 * (20110.05 * 1.05), "border")),
    ("JP", D(2019, 10, 1), 20000, 1, ("ad_valorem_cif", 0.05 * 20110.05, 0.10 * (20110.05 * 1.05), "border")),
    ("JP", D(2019, 10, 1), 10000, 1, ("none", 0.0, 0.0, "border")),  # exactly the ceiling is still exempt
    ("AU", D(2016, 12, 31), 500, 1, NO_RULE),
    ("AU", D(2017, 1, 1), 500, 1, ("none", 0.0, 0.0, "border")),
    ("AU", D(2018, 6, 30), 500, 1, ("none", 0.0, 0.0, "border")),
    ("AU", D(2018, 7, 1), 500, 1, ("none", 0.0, 0.1 * 500, "checkout")),  # LVG: GST 50 at checkout
    ("AU", D(2018, 7, 1), 2000, 1,  # > AUD 1,000: 5 % on FOB 2000 = 100; GST 10 % of (2020.05 + 100)
     ("ad_valorem_fob", 100.0, 0.1 * (2000 + 10 + _ins(2000) + 100), "border")),
    ("SA", D(2017, 12, 31), 500, 1, NO_RULE),
    ("SA", D(2018, 1, 1), 500, 1, ("none", 0.0, 0.05 * 512.55, "border")),  # 25.6275
    ("SA", D(2020, 6, 30), 500, 1, ("none", 0.0, 0.05 * 512.55, "border")),
    ("SA", D(2020, 7, 1), 500, 1, ("none", 0.0, 0.15 * 512.55, "border")),  # 76.8825
    ("SA", D(2020, 7, 1), 2000, 1,  # duty 5 % of 2020.05 = 101.0025; VAT 15 % of 2121.0525
     ("ad_valorem_cif", 0.05 * 2020.05, 0.15 * (2020.05 * 1.05), "border")),
]
EU_VAT = {"DE": 0.19, "FR": 0.20, "IT": 0.22, "ES": 0.21, "NL": 0.21}
for _market, _vat in EU_VAT.items():
    if _market != "DE":
        RULE_CASES += [
            (_market, D(2021, 6, 30), 100, 1, ("none", 0.0, _vat * 110.55, "border")),
            (_market, D(2021, 7, 1), 100, 1, ("none", 0.0, _vat * 100, "checkout")),
            (_market, D(2026, 6, 30), 100, 1, ("none", 0.0, _vat * 100, "checkout")),
            (_market, D(2026, 7, 1), 100, 1, ("flat_per_line", 3.0, _vat * 100, "checkout")),
            (_market, D(2028, 6, 30), 150, 1, ("flat_per_line", 3.0, _vat * 150, "checkout")),
            (_market, D(2028, 7, 1), 100, 1, ("ad_valorem_cif", 0.05 * 110.55, _vat * 100, "checkout")),
        ]


@pytest.mark.parametrize(("market", "day", "goods", "lines", "expected"), RULE_CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in RULE_CASES])
def test_rules_in_force_for_each_market(market, day, goods, lines, expected):
    if expected == NO_RULE:
        with pytest.raises(lc.LandedCostError):
            lc.applicable_rule(RULES[market], day, goods)
        return
    rule = lc.applicable_rule(RULES[market], day, goods)
    duty, vat = lc.import_charges(rule, goods=goods, freight=10.0, insurance=_ins(goods), category_rate=0.05,
                                  tariff_lines=lines, threshold_per_usd=1.0)
    basis, want_duty, want_vat, collection = expected
    assert (rule.duty_basis, rule.vat_collection) == (basis, collection)
    assert duty == pytest.approx(want_duty)
    assert vat == pytest.approx(want_vat)


def test_every_market_has_rules_and_none_overlap():
    assert set(RULES) == {"US", "CA", "MX", "UK", "DE", "FR", "IT", "ES", "NL", "JP", "AU", "SA"}
    for market, rules in RULES.items():
        by_ceiling: dict = {}
        for rule in rules:
            by_ceiling.setdefault(rule.max_consignment_value, []).append(rule)
        for same in by_ceiling.values():
            spans = sorted((r.valid_from, r.valid_to or D.max) for r in same)
            for (_, end), (start, _) in zip(spans, spans[1:]):
                assert end <= start, f"{market}: two rules with one ceiling overlap"


def test_flat_duty_is_converted_from_the_rule_currency():
    rule = lc.applicable_rule(RULES["DE"], D(2026, 7, 1), 100)
    duty, _ = lc.import_charges(rule, goods=100 / 0.9, freight=0, insurance=0, category_rate=0.0,
                                threshold_per_usd=0.9)
    assert duty == pytest.approx(3 / 0.9)  # EUR 3 at 0.9 EUR per USD = USD 3.3333


# --- who pays ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("incoterm", "collection", "to_customer", "total", "duty_by", "vat_by", "vat_cost"),
    [
        # goods 50, freight 34, insurance 0.42, duty 4, VAT 10, DDP surcharge 3
        ("DDP", "checkout", True, 50 + 34 + 0.42 + 3 + 4, "seller", "checkout", False),  # 91.42
        ("DDU", "checkout", True, 50 + 34 + 0.42, "buyer", "checkout", False),  # 84.42
        ("DDP", "border", True, 50 + 34 + 0.42 + 3 + 4 + 10, "seller", "seller", True),  # 101.42
        ("DDU", "border", True, 50 + 34 + 0.42, "buyer", "buyer", False),
        ("DDP", "border", False, 50 + 34 + 0.42 + 3 + 4, "seller", "seller", False),  # stock import: VAT reclaimed
    ],
)
def test_who_pays(incoterm, collection, to_customer, total, duty_by, vat_by, vat_cost):
    cost = lc.assemble(goods=50, freight=34, insurance=0.42, duty=4, vat=10, ddp_surcharge=3, incoterm=incoterm,
                       vat_collection=collection, to_customer=to_customer, units=2)
    assert cost.total == pytest.approx(total)
    assert cost.per_unit_total == pytest.approx(total / 2)
    assert (cost.duty_paid_by, cost.vat_paid_by, cost.vat_is_cost) == (duty_by, vat_by, vat_cost)
    assert cost.fees == (3 if incoterm == "DDP" else 0)


# --- end to end against the database ----------------------------------------------------------------------


@pytest.fixture
def lanes(engine):
    """DE and US with a DHL express rate card; EUR at 0.9 and CNY at 7 per USD; the real DE rules."""
    with unit_of_work(engine) as s:
        f.reference_rows(s)  # category 1: duty_rate_eu 0, duty_rate_us 0.25; product 1: CNY 10, USD 20
        for day in (D(2026, 3, 1), D(2026, 7, 15)):
            f.fx(s, day, "EUR", 0.9)
            f.fx(s, day, "CNY", 7.0)
        s.add(ShippingService(code="dhl_express", carrier="DHL", mode="express", volumetric_divisor=5000,
                              weight_increment_kg=0.5, ddp_surcharge_usd=3.0, destination_kind="customer"))
        s.flush()
        for market in ("DE", "US"):
            for lo, hi, base, per_kg in ((0, 0.5, 20, 10), (0.5, 2, 22, 8), (2, 10, 30, 6)):
                s.add(CarrierRate(service_code="dhl_express", market_code=market, zone="Z", weight_from_kg=lo,
                                  weight_to_kg=hi, base_usd=base, per_kg_usd=per_kg, transit_days_min=3,
                                  transit_days_max=5))
        for market in ("DE", "US"):
            for rule in RULES[market]:
                s.add(ImportRule(market_code=market, valid_from=rule.valid_from, valid_to=rule.valid_to,
                                 max_consignment_value=rule.max_consignment_value,
                                 threshold_currency=rule.threshold_currency, duty_basis=rule.duty_basis,
                                 duty_rate=rule.duty_rate, flat_duty_per_line=rule.flat_duty_per_line,
                                 vat_rate=rule.vat_rate, vat_basis=rule.vat_basis,
                                 vat_collection=rule.vat_collection, note=rule.note))
    return engine


def _quote(engine, **overrides):
    args = dict(market_code="DE", service_code="dhl_express", on=D(2026, 7, 15), units=1, unit_value_usd=50.0,
                unit_weight_kg=0.4, dims_cm=(30, 20, 10), category_id=1)
    args.update(overrides)
    with unit_of_work(engine) as s:
        return lc.landed_cost(s, **args)


def test_low_value_parcel_into_germany_after_july_2026(lanes):
    cost = _quote(lanes)
    # chargeable: 30×20×10 / 5000 = 1.2 kg > 0.4 actual → 1.5; freight 22 + 8 × 1.5 = 34
    # insurance 0.5 % × (50 + 34) = 0.42; goods EUR 45 <= 150 → EUR 3 flat duty = USD 3 / 0.9 = 3.3333
    # VAT 19 % × 50 = 9.5 collected at checkout (not a cost); DDP surcharge 3
    # total = 50 + 34 + 0.42 + 3 + 3.3333 = 90.7533
    assert cost.chargeable_kg == pytest.approx(1.5)
    assert (cost.freight, cost.insurance, cost.duty, cost.vat, cost.fees) == pytest.approx(
        (34.0, 0.42, 3 / 0.9, 9.5, 3.0))
    assert cost.total == pytest.approx(90.75333, abs=1e-4)
    assert (cost.transit_days_min, cost.transit_days_max) == (3, 5)
    in_eur = _quote(lanes, currency="EUR")
    assert in_eur.total == pytest.approx(90.75333 * 0.9, abs=1e-4)  # 81.678 EUR
    assert in_eur.currency == "EUR"
    ddu = _quote(lanes, incoterm="DDU")
    assert ddu.total == pytest.approx(84.42)  # 50 + 34 + 0.42: the buyer pays the duty, no DDP surcharge


def test_a_parcel_above_eur_150_pays_duty_and_vat_at_the_border(lanes):
    cost = _quote(lanes, units=4)
    # goods 4 × 50 = 200 USD = EUR 180 > 150; chargeable 4 × 1.5 = 6 kg → 30 + 6 × 6 = 66
    # insurance 0.5 % × 266 = 1.33; CIF 267.33; category EU rate 0 → duty 0; VAT 19 % × 267.33 = 50.7927
    # DDP to a customer: VAT is ours; total = 200 + 66 + 1.33 + 3 + 0 + 50.7927 = 321.1227
    assert cost.duty == pytest.approx(0.0)
    assert cost.vat == pytest.approx(0.19 * 267.33)
    assert cost.vat_paid_by == "seller" and cost.vat_is_cost
    assert cost.total == pytest.approx(321.1227)
    assert cost.per_unit_total == pytest.approx(321.1227 / 4)
    frame = cost.as_frame().set_index("component")
    assert frame.loc["total", "per_shipment"] == pytest.approx(321.1227)
    assert frame.loc["freight", "per_unit"] == pytest.approx(16.5)


def test_us_parcel_pays_duty_after_august_2025(lanes):
    # USD 50 at the US category rate 25 % on FOB = 12.5 from 2025-08-29; before: de minimis, no duty
    assert _quote(lanes, market_code="US", on=D(2026, 3, 1)).duty == pytest.approx(12.5)


def test_a_service_that_cannot_carry_the_weight_is_refused(lanes):
    with pytest.raises(lc.LandedCostError):
        _quote(lanes, units=10)  # 10 × 1.5 = 15 kg, beyond the 10 kg band


def test_parcel_quotes_and_cheapest_route(lanes):
    with unit_of_work(lanes) as s:
        quotes = lc.parcel_quotes(s, "DE", D(2026, 7, 15), 1, 50.0, 0.4, (30, 20, 10), 1)
        service, per_unit = lc.cheapest_landed_cost_per_unit(s, 1, "DE", D(2026, 3, 1))
    assert list(quotes["service"]) == ["dhl_express"]
    assert quotes.loc[0, "total"] == pytest.approx(90.75333, abs=1e-4)
    # product 1: CNY 10 / 7 = 1.428571 USD; declared at its USD 20 list price, 0.1 kg, 10×5×2 cm
    # chargeable max(0.1, 100/5000) → 0.5; freight 22 + 8 × 0.5 = 26; insurance 0.5 % × 46 = 0.23
    # March 2026, EUR 18 <= 150: IOSS, no duty, VAT at checkout; DDP surcharge 3
    # per unit = 1.428571 + 26 + 0.23 + 3 = 30.658571
    assert service == "dhl_express"
    assert per_unit == pytest.approx(10 / 7 + 29.23)


def test_a_booked_ddp_parcel_is_charged_what_the_seed_stored_for_it(seeded_engine):
    """core.landed_cost.booked_parcel_charges (what a shipment import stores) and the seed's array version use the
    same engine: on the seeded DDP parcels they agree to the cent; parcels from other warehouses pay nothing."""
    import pandas as pd
    from sqlalchemy import select

    from core.landed_cost import booked_parcel_charges
    from core.platform.db import unit_of_work
    from core.platform.models import Shipment

    with unit_of_work(seeded_engine) as s:
        rows = s.execute(select(Shipment.order_id, Shipment.warehouse_id, Shipment.service, Shipment.cost_usd,
                                Shipment.ship_date, Shipment.duty_usd)
                         .where(Shipment.ship_date.is_not(None)).order_by(Shipment.duty_usd.desc(), Shipment.id)
                         .limit(40)).all()
        others = s.execute(select(Shipment.order_id, Shipment.warehouse_id, Shipment.service, Shipment.cost_usd,
                                  Shipment.ship_date, Shipment.duty_usd).where(Shipment.warehouse_id != 1).limit(10)).all()
        columns = ["order_id", "warehouse_id", "service", "cost_usd", "ship_date", "duty_usd"]
        parcels = pd.DataFrame(rows + others, columns=columns)
        charged = booked_parcel_charges(s, parcels)
    assert (parcels["duty_usd"].head(40).astype(float) > 0).all()
    assert (charged["duty_usd"] - parcels["duty_usd"].astype(float)).abs().max() < 0.011
    assert (charged["duty_usd"].tail(10) == 0).all()
