"""Overview figures against a dataset small enough to check by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from core import overview
from core.platform.db import unit_of_work
from core.platform.filters import Filters
from core.platform.models import ProductCostEntry
from core.summaries import refresh_all
from tests import factories as f

MARCH = Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


@pytest.fixture
def march(engine):
    """Two live orders and one cancelled in March, one order in February.

    A: US/amazon  GMV 100, net revenue 80, shipping 10, shipped 10 Mar, delivered 15 Mar (5 d, promised 7): on time
    B: DE/shopify GMV  50, net revenue 40, shipping 12, refund 25, shipped 11 Mar, delivered 25 Mar (14 d,
       promised 10): late
    C: US/amazon  GMV  70, cancelled (counts nowhere)
    D: US/amazon  GMV  60 on 15 Feb (the previous period)
    One unit each of SKU-1, whose landed cost a manager entered at 25 from 1 January (no purchase batches);
    no fee schedule, payments, ads or storage, so the ledger's costs are product cost, shipping and B's refund.
    Tickets in March rated 5 and 2.
    """
    with unit_of_work(engine) as s:
        f.reference_rows(s)
        s.add(ProductCostEntry(product_id=1, valid_from=dt.date(2026, 1, 1), unit_cost_usd=25, entered_by="test",
                               entered_at=dt.datetime(2026, 1, 1)))
        for day, eur in ((dt.date(2026, 3, 10), 0.9), (dt.date(2026, 3, 11), 0.8), (dt.date(2026, 2, 15), 0.95)):
            f.fx(s, day, "EUR", eur)
        f.order(s, 1, dt.date(2026, 3, 10), "US", 1, "100", "80", "30", first=True)
        f.order(s, 2, dt.date(2026, 3, 11), "DE", 2, "50", "40", "20", status="partially_refunded", refunded="25")
        f.order(s, 3, dt.date(2026, 3, 10), "US", 1, "70", "60", "25", status="cancelled")
        s.flush()
        f.order(s, 4, dt.date(2026, 2, 15), "US", 1, "60", "50", "20")
        s.flush()
        f.shipment(s, 1, dt.date(2026, 3, 10), dt.date(2026, 3, 15), 7, "10")
        f.shipment(s, 2, dt.date(2026, 3, 11), dt.date(2026, 3, 25), 10, "12", late_dispatch=True)
        f.ticket(s, "T1", dt.date(2026, 3, 12), "US", 5, 4)
        f.ticket(s, "T2", dt.date(2026, 3, 13), "DE", 2, 30)
        refresh_all(s)
    return engine


def test_kpis_match_hand_worked_figures(march):
    with unit_of_work(march) as s:
        k = overview.kpis(s, MARCH)
    assert k.gmv == pytest.approx(150.0)  # 100 + 50; the cancelled 70 is left out
    assert k.orders == 2
    assert k.aov == pytest.approx(75.0)  # 150 / 2
    assert k.net_revenue == pytest.approx(120.0)  # 80 + 40
    assert k.gross_margin == pytest.approx((120 - 50) / 120)  # (80+40 - 2 units x 25) / (80+40) = 0.5833
    # contribution = 120 - product cost 50 - shipping (10 + 12) - B's refund 25 (B records no tax: none comes back)
    assert k.contribution == pytest.approx(23.0)
    assert k.contribution_margin == pytest.approx(23 / 120)  # 19.2 %
    assert k.refund_rate == pytest.approx(25 / 150)  # 0.1667
    assert k.on_time_rate == pytest.approx(0.5)  # A on time, B late
    assert k.csat == pytest.approx(3.5)  # (5 + 2) / 2


def test_reporting_currency_uses_each_order_days_rate(march):
    with unit_of_work(march) as s:
        k = overview.kpis(s, Filters(MARCH.start, MARCH.end, currency="EUR"))
    assert k.gmv == pytest.approx(100 * 0.9 + 50 * 0.8)  # 130 EUR


@pytest.mark.parametrize(
    ("markets", "channels", "gmv", "orders"),
    [
        (("US",), (), 100.0, 1),
        (("DE",), (), 50.0, 1),
        ((), ("shopify",), 50.0, 1),
        (("US",), ("shopify",), 0.0, 0),
    ],
)
def test_market_and_channel_filters(march, markets, channels, gmv, orders):
    with unit_of_work(march) as s:
        k = overview.kpis(s, Filters(MARCH.start, MARCH.end, markets, channels))
    assert (k.gmv, k.orders) == (pytest.approx(gmv), orders)


def test_deltas_compare_with_the_previous_period_of_equal_length(march):
    with unit_of_work(march) as s:
        deltas = {d.name: d for d in overview.kpi_deltas(s, MARCH)}
    assert deltas["gmv"].previous == pytest.approx(60.0)  # order D, 15 Feb, inside 29 Jan - 28 Feb
    assert deltas["gmv"].change == pytest.approx((150 - 60) / 60)  # +150 %
    assert deltas["orders"].change == pytest.approx(1.0)  # 2 vs 1
    assert deltas["contribution"].previous == pytest.approx(25.0)  # D: 50 - 25 product cost
    assert deltas["contribution"].current == pytest.approx(23.0)


def test_monthly_trend(march):
    with unit_of_work(march) as s:
        trend = overview.monthly_trend(s, Filters(dt.date(2026, 2, 1), dt.date(2026, 3, 31)))
    assert list(trend["gmv"]) == pytest.approx([60.0, 150.0])
    assert list(trend["net_revenue"]) == pytest.approx([50.0, 120.0])
    # February: D alone, 50 - 25 product cost, not shipped; March as in the KPIs
    assert list(trend["contribution"]) == pytest.approx([25.0, 23.0])
    assert list(trend["margin"]) == pytest.approx([0.5, 23 / 120])
    assert list(trend["partial"]) == [False, False]
    part = overview.monthly_trend(s, Filters(dt.date(2026, 2, 10), dt.date(2026, 3, 31)))
    assert list(part["partial"]) == [True, False]


def test_late_shipment_alert_names_the_channel(march):
    with unit_of_work(march) as s:
        found = overview.alerts(s, MARCH, dt.date(2026, 3, 31))
    late = [a for a in found if a.metric == "late_shipment_rate"]
    assert [(a.scope, a.value, a.status) for a in late] == [("shopify", 1.0, "breach")]
    on_time = [a for a in found if a.metric == "on_time_delivery"]
    assert [(a.scope, a.value) for a in on_time] == [("DHL", 0.5)]


@pytest.mark.parametrize(
    ("month", "today", "share"),
    [
        (dt.date(2026, 3, 1), dt.date(2026, 2, 28), 0.0),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 1), 1 / 31),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 16), 16 / 31),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 28), 1.0),
        (dt.date(2026, 2, 1), dt.date(2026, 4, 2), 1.0),
    ],
)
def test_month_elapsed_share(month, today, share):
    assert overview.month_elapsed_share(month, today) == pytest.approx(share)


@pytest.mark.parametrize(
    ("fraud", "disputes", "settled", "ratio"),
    [(3, 12, 1000, 0.015), (0, 0, 0, None), (1, 0, 200, 0.005)],
)
def test_vamp_ratio(fraud, disputes, settled, ratio):
    assert overview.vamp_ratio(fraud, disputes, settled) == (pytest.approx(ratio) if ratio else None)


@pytest.mark.parametrize(("on_hand", "daily", "cover"), [(300, 10, 30.0), (0, 5, 0.0), (50, 0, None)])
def test_stock_cover_days(on_hand, daily, cover):
    assert overview.stock_cover_days(on_hand, daily) == cover


@pytest.mark.parametrize(
    ("net_revenue", "product_cost", "margin"), [(120, 50, 70 / 120), (0, 10, None), (100, 120, -0.2)]
)
def test_gross_margin_is_the_ledgers(net_revenue, product_cost, margin):
    from core import profit

    got = profit.gross_margin({"net_revenue": net_revenue, "product_cost": product_cost})
    assert got == (pytest.approx(margin) if margin is not None else None)
