"""Customer-service figures: bucket quantiles, SLA breaches, returns and cohorts on hand-made data; the page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core import customer_service as cs
from core import summaries
from core.platform.db import unit_of_work
from core.platform.filters import Filters
from core.platform.models import Customer, Return, Ticket
from tests import factories as f
from tests.conftest import SEED_END


def _refresh(s) -> None:
    """The summaries these figures read (not refresh_all: other pages' refreshers are not under test here)."""
    summaries.refresh_daily_sales(s)
    summaries.refresh_daily_payments(s)
    summaries.refresh_payments_and_service(s)

# --- formulas ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "bucket"),
    [(0.0, 0.0), (0.99, 0.0), (1.0, 1.0), (23.5, 23.0), (24.0, 24.0), (25.9, 24.0), (47.0, 46.0), (50.0, 48.0),
     (80.0, 72.0), (5000.0, 720.0)],
)
def test_bucket_of(hours, bucket):
    assert cs.bucket_of(hours) == bucket


@pytest.mark.parametrize(
    ("counts", "q", "value"),
    [
        # 10 tickets in [2, 3): the median is the 5th of 10 -> 2 + 5/10 x 1 = 2.5
        ([(2, 10)], 0.5, 2.5),
        # 4 in [0,1), 4 in [1,2), 2 in [2,3): median target 5 -> 1 + (5 - 4)/4 x 1 = 1.25
        ([(0, 4), (1, 4), (2, 2)], 0.5, 1.25),
        # same, p90 target 9 -> 2 + (9 - 8)/2 x 1 = 2.5
        ([(0, 4), (1, 4), (2, 2)], 0.9, 2.5),
        # 5 in [24, 26), 5 in [48, 54): median target 5 -> 24 + 5/5 x 2 = 26; p90 target 9 -> 48 + 4/5 x 6 = 52.8
        ([(24, 5), (48, 5)], 0.5, 26.0),
        ([(24, 5), (48, 5)], 0.9, 52.8),
        ([], 0.5, None),
    ],
)
def test_quantile_from_buckets(counts, q, value):
    got = cs.quantile_from_buckets(counts, q)
    assert got == (pytest.approx(value) if value is not None else None)


@pytest.mark.parametrize(
    ("counts", "limit", "share"),
    [
        ([(20, 6), (24, 3), (30, 1)], 24, 0.4),  # 3 + 1 at or over 24 h of 10
        ([(20, 6), (24, 3), (30, 1)], 30, 0.1),
        # a limit inside the [24, 26) bucket counts it pro rata: 3 x (26 - 25)/2 = 1.5, plus 1 -> 2.5 / 10
        ([(20, 6), (24, 3), (30, 1)], 25, 0.25),
        ([(0, 5)], 24, 0.0),
        ([], 24, None),
    ],
)
def test_share_above(counts, limit, share):
    got = cs.share_above(counts, limit)
    assert got == (pytest.approx(share) if share is not None else None)


@pytest.mark.parametrize(
    ("returned", "sold", "flagged"),
    [(3, 20, True), (2, 20, False), (5, 19, False), (11, 100, True), (10, 100, False), (0, 0, False)],
    # 3/20 = 15 % > 10 %; 2/20 = 10 % is not above; 19 sold is too few to judge; 11 % vs 10 % exactly
)
def test_return_rate_flag(returned, sold, flagged):
    assert cs.flag_return_rate(returned, sold, limit=0.10, min_units=20) is flagged


def test_return_cost_and_tickets_per_hundred():
    assert cs.return_cost(20.0, 5.5, 8.0) == pytest.approx(33.5)  # 20 + 5.5 + 8
    assert cs.per_hundred(7, 350) == pytest.approx(2.0)  # 7 / 350 x 100
    assert cs.per_hundred(3, 0) is None


@pytest.mark.parametrize(
    ("earlier", "later", "months"),
    [(dt.date(2026, 1, 1), dt.date(2026, 1, 1), 0), (dt.date(2025, 11, 1), dt.date(2026, 2, 1), 3)],
)
def test_months_between(earlier, later, months):
    assert cs.months_between(earlier, later) == months


# --- services on a hand-made dataset ------------------------------------------------------------------------------------

MARCH = Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def _ticket(s, ref, day, *, channel="email", language="en", reason="where_is_my_order", response=None,
            resolution=None, csat=None, market="US"):
    created = dt.datetime.combine(day, dt.time(8))
    s.add(Ticket(
        ticket_ref=ref, market_code=market, channel=channel, reason=reason, language=language, created_at=created,
        created_date=day, csat=csat,
        first_response_at=created + dt.timedelta(hours=response) if response is not None else None,
        resolved_at=created + dt.timedelta(hours=resolution) if resolution is not None else None,
    ))


@pytest.fixture
def march(engine):
    """Four March orders (US/amazon 1, 2; DE/shopify 3; US/amazon 4), one February order.

    Tickets in March: email (en) answered after 2.5 h, 30.5 h; chat (de) after 0.5 h; one email unanswered.
    Resolved after 10.5 h, 50 h and 1.5 h. CSAT 5 and 2 on where_is_my_order, 4 on damaged.
    Returns: order 1 (2 units, refund 40, shipping 6, restockable), order 3 (1 unit, refund 20, shipping 5,
    not restockable: landed cost 20 x 1). Customer A ordered in February and again in March (orders 1, 4 are
    hers, order 5 in Feb); customer B (order 2) and C (order 3) are new in March.
    """
    with unit_of_work(engine) as s:
        f.reference_rows(s)
        s.add_all([Customer(id=1, customer_ref="A", market_code="US", first_order_on=dt.date(2026, 2, 10)),
                   Customer(id=2, customer_ref="B", market_code="US", first_order_on=dt.date(2026, 3, 2)),
                   Customer(id=3, customer_ref="C", market_code="DE", first_order_on=dt.date(2026, 3, 3))])
        s.flush()
        f.order(s, 1, dt.date(2026, 3, 1), "US", 1, "100", "80", "30")
        f.order(s, 2, dt.date(2026, 3, 2), "US", 1, "50", "40", "15")
        f.order(s, 3, dt.date(2026, 3, 3), "DE", 2, "40", "35", "20")
        f.order(s, 4, dt.date(2026, 3, 20), "US", 1, "30", "25", "10")
        f.order(s, 5, dt.date(2026, 2, 10), "US", 1, "60", "50", "20")
        s.flush()
        for order_id, customer in ((1, 1), (2, 2), (3, 3), (4, 1), (5, 1)):
            s.get(f.Order, order_id).customer_id = customer
        _ticket(s, "T1", dt.date(2026, 3, 4), response=2.5, resolution=10.5, csat=5)
        _ticket(s, "T2", dt.date(2026, 3, 5), response=30.5, resolution=50.0, csat=2)
        _ticket(s, "T3", dt.date(2026, 3, 6), channel="chat", language="de", reason="damaged", response=0.5,
                resolution=1.5, csat=4, market="DE")
        _ticket(s, "T4", dt.date(2026, 3, 7))
        s.add_all([
            Return(order_id=1, product_id=1, quantity=2, reason="changed_mind", requested_on=dt.date(2026, 3, 10),
                   refund_usd=Decimal("40"), return_shipping_usd=Decimal("6"), restockable=True),
            Return(order_id=3, product_id=1, quantity=1, reason="damaged", requested_on=dt.date(2026, 3, 12),
                   refund_usd=Decimal("20"), return_shipping_usd=Decimal("5"), restockable=False),
        ])
        _refresh(s)
    return engine


def test_ticket_kpis(march):
    with unit_of_work(march) as s:
        k = cs.kpis(s, MARCH, first_response_target=24, resolution_target=48)
    assert (k["tickets"], k["orders"], k["responded"]) == (4, 4, 3)
    assert k["per_100_orders"] == pytest.approx(100.0)  # 4 tickets / 4 orders x 100
    assert k["csat"] == pytest.approx(11 / 3)  # (5 + 2 + 4) / 3
    # First response buckets: [0,1) 1, [2,3) 1, [30,32) 1 -> median target 1.5 lands in [2,3): 2 + 0.5/1 = 2.5
    assert k["first_response_median"] == pytest.approx(2.5)
    assert k["first_response_breach"] == pytest.approx(1 / 3)  # 30.5 h > 24 h
    assert k["resolution_breach"] == pytest.approx(1 / 3)  # 50 h > 48 h
    # March customer-months: A (returning), B and C (new) -> 1 / 3
    assert k["repeat_rate"] == pytest.approx(1 / 3)


def test_tickets_by_language_and_response_times_by_channel(march):
    with unit_of_work(march) as s:
        by_language = cs.tickets_by(s, MARCH, "language").set_index("language")
        by_market = cs.tickets_by(s, MARCH, "market_code").set_index("market_code")
        times = cs.response_times(s, MARCH, "channel", 24, 48).set_index("channel")
    assert by_language.loc["en", "tickets"] == 3 and by_language.loc["de", "share"] == pytest.approx(0.25)
    assert by_market.loc["US", "per_100_orders"] == pytest.approx(100.0)  # 3 tickets / 3 US orders
    assert times.loc["email", "answered"] == 2
    assert times.loc["email", "first_response_breach"] == pytest.approx(0.5)
    assert times.loc["chat", "first_response_median"] == pytest.approx(0.5)  # one ticket in [0, 1): 0 + 0.5 x 1


def test_returns_cost_and_sku_rate(march):
    with unit_of_work(march) as s:
        reasons = cs.returns_by_reason(s, MARCH).set_index("reason")
        skus = cs.returns_by_sku(s, MARCH, limit=0.5, min_units=1)
    # damaged: refund 20 + shipping 5 + unsellable landed cost 20 = 45; changed_mind 40 + 6 + 0 = 46
    assert reasons.loc["damaged", "cost"] == pytest.approx(45.0)
    assert reasons.loc["changed_mind", "cost"] == pytest.approx(46.0)
    row = skus.iloc[0]
    assert (row["sku"], row["units_sold"], row["units_returned"]) == ("SKU-1", 4, 3)  # March orders 1-4
    assert row["return_rate"] == pytest.approx(0.75) and bool(row["flagged"])
    assert row["cost"] == pytest.approx(91.0)  # 45 + 46


def test_cohort_retention(march):
    with unit_of_work(march) as s:
        cohorts = cs.cohort_retention(s, MARCH, months=2)
    feb = cohorts[cohorts["cohort_month"] == dt.date(2026, 2, 1)].set_index("months_since")
    mar = cohorts[cohorts["cohort_month"] == dt.date(2026, 3, 1)].set_index("months_since")
    assert feb.loc[0, "cohort_size"] == 1 and feb.loc[1, "retention"] == pytest.approx(1.0)  # A came back
    assert mar.loc[0, "customers"] == 2  # B and C


# --- the page (AppTest) -------------------------------------------------------------------------------------------------


@pytest.fixture
def _app_env(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


@pytest.mark.usefixtures("_app_env")
def test_customer_service_page_and_a_tighter_sla():
    from tests.apptest_support import app_as, open_page

    at = open_page(app_as("viewer"), "customer-service")
    assert not at.exception, [e.value for e in at.exception]
    assert [tt.value for tt in at.title] == ["Customer service"]
    labels = [m.label for m in at.metric]
    assert labels == ["Tickets", "Tickets per 100 orders", "First response, median", "First-response SLA breaches",
                      "Resolution, median", "Resolution SLA breaches", "CSAT", "Repeat-customer rate"]
    breaches = at.metric[3].value
    at.select_slider(key="cs_first_target").set_value(1).run()
    assert not at.exception
    assert at.metric[3].value != breaches  # a 1-hour target breaches far more often than 24 hours


@pytest.mark.usefixtures("_app_env")
def test_customer_service_splits_and_empty_period():
    from tests.apptest_support import app_as, open_page

    at = open_page(app_as("viewer"), "customer-service")
    at.segmented_control(key="cs_volume_by").set_value("language").run()
    at.segmented_control(key="cs_times_by").set_value("language").run()
    assert not at.exception, [e.value for e in at.exception]
    before = SEED_END - dt.timedelta(days=4 * 365)
    at.date_input(key="period").set_value((before, before + dt.timedelta(days=30))).run()
    assert any("No tickets in this period" in i.value for i in at.info)
