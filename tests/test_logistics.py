"""Delivery performance, inventory planning, supplier scorecards and the shipping what-if, worked by hand."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pandas as pd
import pytest

from core import logistics as lg
from core.platform.db import unit_of_work
from core.platform.filters import Filters
from core.platform.models import DailyProductDemand, InboundShipment, InventorySnapshot, Return
from core.summaries import refresh_all
from tests import factories as f

D = dt.date
Z95 = 1.6448536269514722

# --- formulas ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "z"), [(0.95, Z95), (0.5, 0.0), (0.99, 2.3263478740408408)])
def test_z_score(level, z):
    assert lg.z_score(level) == pytest.approx(z)


@pytest.mark.parametrize(
    ("z", "sigma_d", "lt", "expected"),
    [
        (1.645, 4, 25, 1.645 * 4 * 5),  # z · σd · √25 = 32.9
        (2.0, 3, 16, 2 * 3 * 4),  # 24
        (1.645, 0, 25, 0.0),  # steady demand needs no buffer
    ],
)
def test_safety_stock(z, sigma_d, lt, expected):
    assert lg.safety_stock(z, sigma_d, lt) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("z", "d", "sigma_d", "lt", "sigma_lt", "expected"),
    [
        (1.645, 10, 4, 25, 3, 1.645 * math.sqrt(25 * 16 + 100 * 9)),  # z · √(400 + 900) = 1.645 × 36.0555 = 59.31
        (1.645, 10, 4, 25, 0, 1.645 * 4 * 5),  # no lead-time variance: the fixed-LT formula, 32.9
        (2.0, 5, 0, 9, 2, 2 * math.sqrt(0 + 25 * 4)),  # steady demand, variable LT: 2 × 10 = 20
    ],
)
def test_safety_stock_with_lead_time_variance(z, d, sigma_d, lt, sigma_lt, expected):
    assert lg.safety_stock_variable_lead_time(z, d, sigma_d, lt, sigma_lt) == pytest.approx(expected)


@pytest.mark.parametrize(("d", "lt", "ss", "rop"), [(10, 25, 32.9, 282.9), (0, 30, 0, 0), (2.5, 40, 10, 110)])
def test_reorder_point(d, lt, ss, rop):
    assert lg.reorder_point(d, lt, ss) == pytest.approx(rop)  # d · LT + SS


@pytest.mark.parametrize(
    ("annual", "s", "h", "q"),
    [
        (3650, 60, 2.0, math.sqrt(2 * 3650 * 60 / 2)),  # √219000 = 467.97
        (1000, 50, 4.0, 158.11388),  # √(100000 / 4) = √25000
        (0, 60, 2.0, 0.0),
        (100, 60, 0.0, math.inf),
    ],
)
def test_eoq(annual, s, h, q):
    assert lg.eoq(annual, s, h) == pytest.approx(q)


@pytest.mark.parametrize(
    ("stock", "d", "lt", "cover", "status"),
    [
        (300, 10, 25, 30.0, "ok"),  # 300 / 10 = 30 days >= 25 lead time, <= 84
        (200, 10, 25, 20.0, "stockout_risk"),  # 20 < 25
        (900, 10, 25, 90.0, "overstock"),  # 90 > 84
        (840, 10, 25, 84.0, "ok"),  # exactly 84 is not yet overstock
        (50, 0, 25, None, "overstock"),  # stock that does not sell
        (0, 3, 25, 0.0, "stockout_risk"),
    ],
)
def test_cover_and_status(stock, d, lt, cover, status):
    found = lg.days_of_cover(stock, d)
    assert found == (pytest.approx(cover) if cover is not None else None)
    assert lg.stock_status(found, lt) == status


@pytest.mark.parametrize(
    ("position", "rop", "q", "order"),
    [(300, 282.9, 467.97, 0), (200, 282.9, 467.97, 468), (0, 600, 100, 600), (282.9, 282.9, 10.2, 11)],
)
def test_order_quantity(position, rop, q, order):
    assert lg.order_quantity(position, rop, q) == order


def test_demand_stats_count_days_without_sales_as_zero():
    # days [2, 0, 4, 2]: Σx = 8, Σx² = 4 + 0 + 16 + 4 = 24; mean 8 / 4 = 2; variance 24 / 4 − 2² = 2
    mean, sigma = lg.demand_stats(8, 24, 4)
    assert (mean, sigma) == (pytest.approx(2.0), pytest.approx(math.sqrt(2)))


@pytest.mark.parametrize(
    ("quality", "on_time", "lead", "price", "score", "letter"),
    [
        (0.95, 0.80, 0.60, 1.0, 0.35 * 0.95 + 0.30 * 0.80 + 0.20 * 0.60 + 0.15, "B"),  # 0.8425
        (1.0, 1.0, 1.0, 1.0, 1.0, "A"),
        (0.9, 0.5, 0.5, 0.9, 0.35 * 0.9 + 0.15 + 0.10 + 0.135, "C"),  # 0.70 exactly is C
        (0.8, 0.4, 0.3, 0.9, 0.28 + 0.12 + 0.06 + 0.135, "D"),  # 0.595
    ],
)
def test_supplier_score_and_grade(quality, on_time, lead, price, score, letter):
    found = lg.supplier_score(quality, on_time, lead, price)
    assert found == pytest.approx(score)
    assert lg.grade(found) == letter


@pytest.mark.parametrize(
    ("quoted", "mean", "cv", "expected"),
    [(20, 25, 0.2, 0.8 * 0.8), (30, 25, 0.1, 0.9), (20, 20, 1.5, 0.0)],  # min(1, q/m) × (1 − min(1, CV))
)
def test_lead_time_score(quoted, mean, cv, expected):
    assert lg.lead_time_score(quoted, mean, cv) == pytest.approx(expected)


@pytest.mark.parametrize(("index", "expected"), [(105, 100 / 105), (95, 1.0), (100, 1.0)])
def test_price_score(index, expected):
    assert lg.price_score(index) == pytest.approx(expected)


BASELINE = pd.DataFrame({
    "carrier": ["China Post", "DHL"], "service": ["cpost_epacket", "dhl_express"],
    "shipments": [200, 100], "cost": [1200.0, 3000.0],  # mean cost 6 and 30 per shipment
})


@pytest.mark.parametrize(
    ("changes", "move", "after", "change"),
    [
        # 30.4 days = one month. DHL +10 %, a quarter of ePacket (50 shipments) moved to DHL express:
        # ePacket 150 × 6 = 900 (−300); DHL 150 × 30 × 1.10 = 4950 (+1950)
        ({"DHL": 0.10}, ("cpost_epacket", "dhl_express", 0.25), [900.0, 4950.0], [-300.0, 1950.0]),
        ({}, (None, None, 0.0), [1200.0, 3000.0], [0.0, 0.0]),
        ({"China Post": -0.5}, (None, None, 0.0), [600.0, 3000.0], [-600.0, 0.0]),
    ],
)
def test_shipping_what_if(changes, move, after, change):
    result = lg.shipping_what_if(BASELINE, 30.4, changes, *move)
    assert list(result["monthly_after"]) == pytest.approx(after)
    assert list(result["monthly_change"]) == pytest.approx(change)


def test_what_if_scales_the_period_to_a_month():
    result = lg.shipping_what_if(BASELINE, 91.2, {})  # 91.2 days = 3 months: 1200 / 3 = 400
    assert list(result["monthly_before"]) == pytest.approx([400.0, 1000.0])


# --- against a hand-made database ----------------------------------------------------------------------------


@pytest.fixture
def supply(engine):
    """One SKU (CNY 10, supplier quoted 30 days) in the Shenzhen warehouse.

    Stock on 31 Mar: on hand 30, reserved 10 → 20 available; one open PO of 40 → position 60.
    Demand summary: 28 units on each of 30 and 31 Mar, nothing on the other 54 days of the 56-day window.
    POs received: ordered 1 Jan → 21 Jan (20 days, promised 25 Jan: on time), 100 units, 2 defective, CNY 10.5;
                  ordered 1 Feb → 3 Mar (30 days, promised 26 Feb: late), 100 units, 0 defective, CNY 10.
    Two orders shipped with DHL in March: 5 days (promised 7, on time) and 14 days (promised 10, late);
    a UPS parcel lost. A return of 2 units on 15 Mar.
    """
    with unit_of_work(engine) as s:
        f.reference_rows(s)
        f.fx(s, D(2026, 3, 31), "CNY", 7.0)
        f.order(s, 1, D(2026, 3, 10), "US", 1, "100", "80", "30")
        f.order(s, 2, D(2026, 3, 11), "DE", 2, "50", "40", "20")
        f.order(s, 3, D(2026, 3, 12), "US", 1, "60", "50", "20")
        s.flush()
        f.shipment(s, 1, D(2026, 3, 10), D(2026, 3, 15), 7, "10")
        f.shipment(s, 2, D(2026, 3, 11), D(2026, 3, 25), 10, "12")
        f.shipment(s, 3, D(2026, 3, 12), None, 7, "8", carrier="UPS", status="lost")
        s.add(InventorySnapshot(day=D(2026, 3, 31), warehouse_id=1, product_id=1, on_hand=30, reserved=10))
        for ref, ordered, promised, received, qty, defects, cost, status in (
            ("PO-1", D(2026, 1, 1), D(2026, 1, 25), D(2026, 1, 21), 100, 2, "10.5", "received"),
            ("PO-2", D(2026, 2, 1), D(2026, 2, 26), D(2026, 3, 3), 100, 0, "10", "received"),
            ("PO-3", D(2026, 3, 20), D(2026, 4, 20), None, 40, 0, "10", "in_transit"),
        ):
            s.add(InboundShipment(po_ref=ref, supplier_id=1, product_id=1, warehouse_id=1, mode="sea", quantity=qty,
                                  unit_cost_cny=Decimal(cost), freight_cost_usd=Decimal("50"), ordered_on=ordered,
                                  promised_on=promised, shipped_on=ordered, received_on=received,
                                  defect_quantity=defects, status=status))
        s.add(Return(order_id=1, product_id=1, quantity=2, reason="defective", requested_on=D(2026, 3, 15),
                     refund_usd=Decimal("20"), return_shipping_usd=Decimal("5"), restockable=False))
        refresh_all(s)
        # replace the demand the three orders produced with the hand-made pattern above
        s.query(DailyProductDemand).delete()
        s.add_all([DailyProductDemand(day=D(2026, 3, 30), warehouse_id=1, product_id=1, units=28),
                   DailyProductDemand(day=D(2026, 3, 31), warehouse_id=1, product_id=1, units=28)])
    return engine


MARCH = Filters(D(2026, 3, 1), D(2026, 3, 31))


def test_carrier_performance(supply):
    with unit_of_work(supply) as s:
        table = lg.carrier_performance(s, MARCH).set_index("carrier")
    dhl, ups = table.loc["DHL"], table.loc["UPS"]
    assert (dhl.shipments, dhl.delivered, dhl.on_time) == (2, 2, 1)
    assert dhl.on_time_rate == pytest.approx(0.5)  # 1 of 2 delivered on time; below the 97 % target
    assert not dhl.meets_target
    assert dhl.mean_transit_days == pytest.approx(9.5)  # (5 + 14) / 2
    assert dhl.cost_per_shipment == pytest.approx(11.0)  # (10 + 12) / 2
    assert (ups.lost, ups.lost_rate) == (1, pytest.approx(1.0))
    assert pd.isna(ups.on_time_rate)  # nothing delivered: no rate, not 0 %


def test_transit_distribution(supply):
    with unit_of_work(supply) as s:
        table = lg.transit_distribution(s, MARCH)
    assert list(zip(table["carrier"], table["transit_days"], table["delivered"], table["on_time"])) == [
        ("DHL", 5, 1, 1), ("DHL", 14, 1, 0)]
    assert list(table["share"]) == pytest.approx([0.5, 0.5])


def test_delivery_trend_and_cost_share(supply):
    with unit_of_work(supply) as s:
        trend = lg.delivery_trend(s, MARCH)
        cost = lg.shipping_cost_trend(s, MARCH)
    # all three ship in the week starting Monday 9 March
    week = trend[trend["shipments"] > 0].iloc[0]
    assert week["week"] == pd.Timestamp(2026, 3, 9)
    assert week["on_time_rate"] == pytest.approx(0.5)
    week = cost[cost["orders"] > 0].iloc[0]
    assert week["cost_per_order"] == pytest.approx(30 / 3)  # (10 + 12 + 8) / 3 orders
    assert week["cost_share"] == pytest.approx(30 / 170)  # 30 / (80 + 40 + 50) net revenue


@pytest.mark.parametrize(
    ("variance", "safety"),
    [
        # d = 56 / 56 = 1; σd² = (28² + 28²) / 56 − 1² = 28 − 1 = 27; LT 25 (mean of 20 and 30)
        # σLT (sample) = √(((20−25)² + (30−25)²) / 1) = √50 → SS = z · √(25 · 27 + 1 · 50) = z · √725 = 44.289
        (True, Z95 * math.sqrt(725)),
        (False, Z95 * math.sqrt(27) * 5),  # z · σd · √LT = 1.6449 × 5.196 × 5 = 42.734
    ],
)
def test_inventory_plan(supply, variance, safety):
    settings = lg.PlanSettings(service_level=0.95, order_cost_usd=60.0, holding_rate=0.25, lead_time_variance=variance)
    with unit_of_work(supply) as s:
        plan = lg.inventory_plan(s, D(2026, 3, 31), settings)
    row = plan.iloc[0]
    assert (row.warehouse, row.sku, row.available, row.inbound) == ("CN-SZ", "SKU-1", 20, 40)
    assert row.daily_demand == pytest.approx(1.0)
    assert row.sigma_d == pytest.approx(math.sqrt(27))
    assert (row.lead_time, row.sigma_lead_time) == (pytest.approx(25.0), pytest.approx(math.sqrt(50)))
    assert row.safety_stock == pytest.approx(safety)
    assert row.reorder_point == pytest.approx(25 + safety)  # d · LT + SS
    # H = 0.25 × 10 / 7 = 0.357143 USD a year; EOQ = √(2 × 365 × 60 / 0.357143) = √122640 = 350.2
    assert row.eoq == pytest.approx(math.sqrt(122640))
    assert row.cover_days == pytest.approx(20.0)  # 20 available / 1 a day
    assert row.status == "stockout_risk"  # 20 days < 25 days lead time
    # position 20 + 40 = 60 <= ROP (≈ 69.3 / 67.7) → order max(350.2, ROP − 60) = 351 units at USD 1.428571
    assert row.order_qty == 351
    assert row.order_cost == pytest.approx(351 * 10 / 7)  # 501.43
    assert list(lg.purchase_suggestions(plan)["sku"]) == ["SKU-1"]


def test_supplier_scorecard(supply):
    with unit_of_work(supply) as s:
        card = lg.supplier_scorecard(s, D(2026, 1, 1), D(2026, 3, 31))
    row = card.iloc[0]
    assert row.supplier == "Shenzhen Co"
    assert row.defect_rate == pytest.approx(2 / 200)  # 0.01
    assert row.return_rate == pytest.approx(2 / 56)  # 2 returned / 56 sold = 0.0357
    assert row.quality == pytest.approx(1 - 0.01 - 2 / 56)  # 0.954286
    assert row.on_time_rate == pytest.approx(0.5)
    assert (row.lead_time, row.lead_time_sd) == (pytest.approx(25.0), pytest.approx(math.sqrt(50)))
    cv = math.sqrt(50) / 25  # 0.28284
    assert row.lead_time_score == pytest.approx(1.0 * (1 - cv))  # quoted 30 >= 25 → 1 × 0.71716
    assert row.price_index == pytest.approx(102.5)  # mean(10.5 / 10, 10 / 10) × 100
    # 0.35 × 0.954286 + 0.30 × 0.5 + 0.20 × 0.71716 + 0.15 × (100 / 102.5) = 0.773773 → C
    expected = 0.35 * (1 - 0.01 - 2 / 56) + 0.15 + 0.20 * (1 - cv) + 0.15 * 100 / 102.5
    assert row.score == pytest.approx(expected)
    assert row.grade == "C"


def test_shipping_baseline_from_the_summary(supply):
    with unit_of_work(supply) as s:
        base = lg.shipping_baseline(s, MARCH)
    assert list(zip(base["carrier"], base["shipments"], base["cost"])) == [("DHL", 2, 22.0), ("UPS", 1, 8.0)]


def test_supplier_trend_scores_each_quarter_with_receipts(supply):
    with unit_of_work(supply) as s:
        both = lg.supplier_overview(s, D(2026, 1, 1), D(2026, 3, 31))
        older = lg.supplier_score_trend(s, D(2026, 1, 1), D(2026, 3, 31) - dt.timedelta(days=91))
    trend = both["trend"]
    # the quarter 31 Dec – 31 Mar holds both receipts (21 Jan, 3 Mar): the scorecard's 0.773773;
    # the three quarters before it received nothing and are left out
    assert list(trend["period_end"]) == [D(2026, 3, 31)]
    assert trend.iloc[0]["score"] == pytest.approx(both["scorecard"].iloc[0]["score"])
    assert trend.iloc[0]["grade"] == "C"
    # ending 30 Dec: PO-1 and PO-2 were not yet received, so there is no score at all
    assert older.empty
