"""Payments figures: published formulas on hand-worked numbers, services on a tiny dataset, the page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core import payments, summaries
from core.platform.db import unit_of_work
from core.platform.filters import Filters
from core.platform.models import Payment
from tests import factories as f
from tests.conftest import SEED_END

BEFORE, AFTER = dt.date(2026, 3, 31), dt.date(2026, 4, 1)  # VAMP limit 2.2 % until March 2026, 1.5 % from April



def _refresh(s) -> None:
    """The summaries these figures read (not refresh_all: other pages' refreshers are not under test here)."""
    summaries.refresh_daily_sales(s)
    summaries.refresh_daily_payments(s)
    summaries.refresh_payments_and_service(s)

# --- formulas ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "terms", "fee"),
    [
        (100.0, dict(percent=0.029, fixed=0.30), 3.20),  # 100 x 2.9 % + 0.30 = 2.90 + 0.30
        (100.0, dict(percent=0.029, fixed=0.30, cross_border=0.015, fx_conversion=0.01), 5.70),  # 100 x 5.4 % + 0.30
        (50.0, dict(percent=0.0349, fixed=0.49, cross_border=0.015), 2.985),  # 50 x 4.99 % = 2.495; + 0.49
        (0.0, dict(percent=0.029, fixed=0.30), 0.30),  # the fixed fee alone
        (200.0, dict(percent=0.15, fixed=0.0), 30.0),  # a marketplace referral fee: 200 x 15 %
    ],
)
def test_effective_fee(amount, terms, fee):
    assert payments.effective_fee(amount, **terms) == pytest.approx(fee)


@pytest.mark.parametrize(
    ("fraud", "disputes", "settled", "on", "status"),
    [
        # Before April 2026 the limit is 2.2 %; warning from 80 % of it = 1.76 %.
        (800, 800, 100_000, BEFORE, "ok"),  # 1,600 / 100,000 = 1.6 % < 1.76 %
        (900, 860, 100_000, BEFORE, "warning"),  # 1,760 / 100,000 = 1.76 %: exactly 80 % of 2.2 %
        (1100, 1099, 100_000, BEFORE, "warning"),  # 2,199 / 100,000 = 2.199 % < 2.2 %
        (1100, 1100, 100_000, BEFORE, "excessive"),  # 2,200 / 100,000 = 2.2 %, count 2,200 >= 1,500
        # From April 2026 the limit is 1.5 %; warning from 1.2 %.
        (600, 599, 100_000, AFTER, "ok"),  # 1,199 / 100,000 = 1.199 %
        (600, 600, 100_000, AFTER, "warning"),  # 1,200 / 100,000 = 1.2 % = 80 % of 1.5 %
        (750, 749, 100_000, AFTER, "warning"),  # 1,499: 1.499 % and one short of the count
        (750, 750, 100_000, AFTER, "excessive"),  # 1,500 / 100,000 = 1.5 %, count reaches 1,500
        (800, 800, 100_000, BEFORE, "ok"),  # the same 1.6 % is fine under the old 2.2 % limit ...
        (800, 800, 100_000, AFTER, "excessive"),  # ... and excessive under the new 1.5 % one (count 1,600)
        # Ratio far above the limit but below 1,500 reports + disputes: not excessive yet.
        (300, 700, 10_000, AFTER, "warning"),  # 1,000 / 10,000 = 10 %, count 1,000 < 1,500
        (800, 700, 10_000, AFTER, "excessive"),  # 1,500 / 10,000 = 15 %, count 1,500
        (0, 0, 0, AFTER, "ok"),  # nothing settled: no ratio
    ],
)
def test_vamp_status_at_and_around_the_thresholds(fraud, disputes, settled, on, status):
    assert payments.vamp_status(fraud, disputes, settled, on) == status


@pytest.mark.parametrize(
    ("chargebacks", "previous", "status"),
    [
        (99, 5_000, "ok"),  # 99 / 5,000 = 1.98 % but fewer than 100 chargebacks
        (100, 5_000, "ECM"),  # 100 / 5,000 = 2.0 %, 100 chargebacks
        (100, 6_667, "ok"),  # 100 / 6,667 = 1.49993 % < 1.5 %
        (100, 6_666, "ECM"),  # 100 / 6,666 = 1.50015 % >= 1.5 %
        (299, 10_000, "ECM"),  # 299 / 10,000 = 2.99 %: top of the ECM band
        (300, 10_000, "HECM"),  # 300 / 10,000 = 3.0 % and 300 chargebacks
        (300, 10_001, "ECM"),  # 300 / 10,001 = 2.9997 %: 300 chargebacks but under 3 %
        (299, 9_000, "ECM"),  # 299 / 9,000 = 3.32 % but fewer than 300 chargebacks
        (450, 30_000, "ECM"),  # 450 / 30,000 = 1.5 %
        (450, 31_000, "ok"),  # 450 / 31,000 = 1.45 %
        (1000, 20_000, "HECM"),  # 1,000 / 20,000 = 5 %
        (150, 0, "ok"),  # no transactions last month: no ratio
    ],
)
def test_mastercard_ecm_status_at_and_around_the_thresholds(chargebacks, previous, status):
    assert payments.mastercard_ecm_status(chargebacks, previous) == status


@pytest.mark.parametrize(
    ("revenue", "costs", "shocks", "profit", "margin"),
    [
        # No shock: (100 + 50) - (60 + 30) = 60; 60 / 150 = 40 %.
        ({"EUR": 100, "USD": 50}, {"CNY": 60, "USD": 30}, {}, 60.0, 0.4),
        # EUR -10 %: revenue 90 + 50 = 140; costs unchanged 90; profit 50; 50 / 140 = 35.71 %.
        ({"EUR": 100, "USD": 50}, {"CNY": 60, "USD": 30}, {"EUR": -0.10}, 50.0, 50 / 140),
        # CNY +20 %: costs 72 + 30 = 102; profit 150 - 102 = 48; 48 / 150 = 32 %.
        ({"EUR": 100, "USD": 50}, {"CNY": 60, "USD": 30}, {"CNY": 0.20}, 48.0, 0.32),
        # EUR +20 % on revenue 100 and EUR fees 10: 120 - 12 = 108; 108 / 120 = 90 %.
        ({"EUR": 100}, {"EUR": 10}, {"EUR": 0.20}, 108.0, 0.9),
    ],
)
def test_shocked_margin(revenue, costs, shocks, profit, margin):
    got_profit, got_margin = payments.shocked_margin(revenue, costs, shocks)
    assert got_profit == pytest.approx(profit)
    assert got_margin == pytest.approx(margin)


@pytest.mark.parametrize(
    ("amount", "order_rate", "settled_rate", "gain"),
    [
        (100.0, 1.10, 1.12, 2.0),  # EUR 100 x (1.12 - 1.10) = +USD 2
        (10_000.0, 0.0068, 0.0066, -2.0),  # JPY 10,000 x (0.0066 - 0.0068) = -USD 2
        (50.0, 1.0, 1.0, 0.0),  # USD: no FX
    ],
)
def test_realised_fx(amount, order_rate, settled_rate, gain):
    assert payments.realised_fx(amount, order_rate, settled_rate) == pytest.approx(gain)


TODAY = dt.date(2026, 5, 10)


@pytest.mark.parametrize(
    ("attempt", "lag", "arrival"),
    [
        (dt.date(2026, 5, 8), 14.0, dt.date(2026, 5, 22)),  # 8 May + 14 days
        (dt.date(2026, 5, 8), 2.3, dt.date(2026, 5, 11)),  # 8 May + 3 (2.3 rounded up) = 11 May
        (dt.date(2026, 4, 1), 14.0, dt.date(2026, 5, 11)),  # due 15 Apr, overdue: expected tomorrow
        (dt.date(2026, 5, 9), None, dt.date(2026, 5, 16)),  # no history: the 7-day fallback
    ],
)
def test_expected_arrival(attempt, lag, arrival):
    assert payments.expected_arrival(attempt, lag, TODAY) == arrival


def test_fee_schedule_uses_the_published_terms():
    schedule = payments.fee_schedule(100.0, {"amazon": 0.15}).set_index(["gateway", "method"])
    stripe = schedule.loc[("stripe", "card")]
    assert stripe["domestic_fee"] == pytest.approx(3.20)  # 100 x 2.9 % + 0.30
    assert stripe["cross_border_fee"] == pytest.approx(5.70)  # 100 x (2.9 + 1.5 + 1.0) % + 0.30
    assert schedule.loc[("amazon", "marketplace")]["domestic_fee"] == pytest.approx(15.0)  # 100 x 15 %


@pytest.mark.parametrize(("on", "amazon", "shopify"), [
    (dt.date(2025, 6, 30), 0.15, 0.0),  # the first row, valid until 2025-07-01 (end exclusive)
    (dt.date(2025, 7, 1), 0.12, 0.0),  # the new rate from its first day
    (dt.date(2018, 12, 31), 0.0, 0.0),  # before any row: no referral fee on record
])
def test_published_fees_read_the_dated_schedule(engine, on, amazon, shopify):
    from core.platform.models import MarketplaceFee

    with unit_of_work(engine) as s:
        f.reference_rows(s)
        s.add_all([
            MarketplaceFee(channel_id=1, category_id=None, valid_from=dt.date(2019, 1, 1),
                           valid_to=dt.date(2025, 7, 1), referral_rate=0.15),
            MarketplaceFee(channel_id=1, category_id=None, valid_from=dt.date(2025, 7, 1), referral_rate=0.12),
            # a category's own rate applies to that category only, never to the marketplace's default
            MarketplaceFee(channel_id=1, category_id=1, valid_from=dt.date(2019, 1, 1), referral_rate=0.08),
            MarketplaceFee(channel_id=2, category_id=None, valid_from=dt.date(2019, 1, 1), referral_rate=0.0),
        ])
        s.flush()
        schedule = payments.published_fees(s, 100.0, on).set_index(["gateway", "method"])
        from core import profit

        rates = profit.referral_fee_rates(s, on).set_index(["channel", "category_id"])["rate"]
    assert schedule.loc[("amazon", "marketplace")]["percent"] == pytest.approx(amazon)
    assert schedule.loc[("amazon", "marketplace")]["domestic_fee"] == pytest.approx(100 * amazon)
    assert rates[("amazon", 1)] == pytest.approx(0.08 if on >= dt.date(2019, 1, 1) else 0.0)
    assert rates[("shopify", 1)] == pytest.approx(shopify)  # no own row: the channel's default


# --- services on a hand-made dataset ------------------------------------------------------------------------------------


def _payment(s, ref, day, *, status="succeeded", disputed_on=None, fraud=False, method="card", gateway="stripe",
             amount="10", fee="0.59", reason=None, card_country="US", settled_on=None, settled_rate=None,
             currency="USD", usd_per_unit=1.0):
    amount_usd = (Decimal(amount) * Decimal(str(usd_per_unit))).quantize(Decimal("0.01"))
    s.add(Payment(
        payment_ref=ref, market_code="US", channel_id=2, attempted_at=dt.datetime.combine(day, dt.time(10)),
        attempt_date=day, method=method, gateway=gateway, amount=Decimal(amount), currency=currency,
        usd_per_unit=usd_per_unit, amount_usd=amount_usd, fee_usd=Decimal(fee if status != "declined" else "0"),
        status=status, decline_reason=reason, card_country=card_country, disputed_on=disputed_on,
        dispute_reason="fraudulent" if disputed_on else None, fraud_reported=fraud, settled_on=settled_on,
        settled_usd_per_unit=settled_rate,
    ))


@pytest.fixture
def spring(engine):
    """Card payments on the US Shopify store (all USD 10, fee 0.59 each when captured):

    February: 20 captured.
    March:    8 captured; 2 captured then disputed in March (one also reported as fraud); 3 declined
              (2 do_not_honor, 1 insufficient_funds), one of them on a DE card.
    April:    5 captured, paid out on 3 April ... (see the tests)
    """
    with unit_of_work(engine) as s:
        f.reference_rows(s)
        n = 0
        for i in range(20):
            n += 1
            _payment(s, f"P{n}", dt.date(2026, 2, 10 + i % 5))
        for i in range(8):
            n += 1
            _payment(s, f"P{n}", dt.date(2026, 3, 5))
        _payment(s, "D1", dt.date(2026, 3, 2), status="disputed", disputed_on=dt.date(2026, 3, 20), fraud=True)
        _payment(s, "D2", dt.date(2026, 3, 3), status="disputed", disputed_on=dt.date(2026, 3, 25))
        _payment(s, "X1", dt.date(2026, 3, 6), status="declined", reason="do_not_honor")
        _payment(s, "X2", dt.date(2026, 3, 6), status="declined", reason="do_not_honor", card_country="DE")
        _payment(s, "X3", dt.date(2026, 3, 7), status="declined", reason="insufficient_funds")
        # Paid out in April: EUR 100 at 1.10 on 1 April, settled 4 April at 1.12 (lag 3 days, FX +2 USD).
        _payment(s, "S1", dt.date(2026, 4, 1), amount="100", currency="EUR", usd_per_unit=1.10,
                 settled_on=dt.date(2026, 4, 4), settled_rate=1.12, fee="3.00")
        # and one USD 10 payment from 2 April paid out 9 April (lag 7 days, no FX).
        _payment(s, "S2", dt.date(2026, 4, 2), settled_on=dt.date(2026, 4, 9), settled_rate=1.0)
        _refresh(s)
    return engine


MARCH = Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
APRIL = Filters(dt.date(2026, 4, 1), dt.date(2026, 4, 30))


def test_dispute_monitoring_by_month(spring):
    with unit_of_work(spring) as s:
        table = payments.dispute_monitoring(s, Filters(dt.date(2026, 3, 1), dt.date(2026, 4, 30)))
    assert list(table.columns[:9]) == payments.DISPUTE_COLUMNS
    march, april = table.iloc[0], table.iloc[1]
    assert march["month"] == dt.date(2026, 3, 1)
    assert march["settled_cnp"] == 10  # 8 captured + 2 captured-then-disputed; declines are not settled
    assert (march["disputes"], march["fraud_reports"]) == (2, 1)
    assert march["vamp_ratio"] == pytest.approx(0.3)  # (1 + 2) / 10
    assert march["vamp_limit"] == pytest.approx(0.022)
    assert march["vamp_status"] == "warning"  # 30 % is far over 2.2 %, but 3 < 1,500 reports + disputes
    assert march["chargeback_ratio"] == pytest.approx(0.1)  # 2 / February's 20
    assert march["ecm_status"] == "ok"  # 2 chargebacks < 100
    assert april["vamp_limit"] == pytest.approx(0.015)
    assert (april["settled_cnp"], april["disputes"], april["vamp_status"]) == (2, 0, "ok")


def test_authorisation_and_declines(spring):
    with unit_of_work(spring) as s:
        k = payments.kpis(s, MARCH)
        by_country = payments.auth_rates(s, MARCH, "card_country").set_index("card_country")
        declines = payments.declines_by_reason(s, MARCH).set_index("reason")
    assert (k["attempts"], k["succeeded"]) == (13, 10)
    assert k["auth_rate"] == pytest.approx(10 / 13)  # 0.769
    assert k["fee_rate"] == pytest.approx(5.90 / 100)  # 10 x 0.59 fees on 10 x 10 captured
    assert k["fee_per_payment"] == pytest.approx(0.59)
    assert k["dispute_rate"] == pytest.approx(2 / 10)
    assert by_country.loc["US", "auth_rate"] == pytest.approx(10 / 12)  # 12 US attempts, 10 captured
    assert by_country.loc["DE", "auth_rate"] == pytest.approx(0.0)
    assert declines.loc["do_not_honor", "declines"] == 2
    assert declines.loc["insufficient_funds", "share"] == pytest.approx(1 / 3)


def test_settlement_lag_and_realised_fx(spring):
    with unit_of_work(spring) as s:
        lag = payments.payout_lag(s, APRIL).set_index("gateway")
        fx = payments.fx_by_currency(s, APRIL).set_index("currency")
    assert lag.loc["stripe", "payments"] == 2
    assert lag.loc["stripe", "mean_lag_days"] == pytest.approx(5.0)  # (3 + 7) / 2
    assert fx.loc["EUR", "realised_fx"] == pytest.approx(2.0)  # 100 x (1.12 - 1.10)
    assert fx.loc["EUR", "paid_out"] == pytest.approx(112.0)
    assert fx.loc["USD", "realised_fx"] == pytest.approx(0.0)


def test_cash_in_transit_and_arrival_calendar(spring):
    # Everything captured but not paid out is in transit: 20 (Feb) + 10 (Mar) = 30 payments of USD 10.
    # Stripe card payouts over the 90 days before 10 April took 5 days on average (3 and 7), so
    # every one of them is long overdue and expected the day after "today".
    today = dt.date(2026, 4, 10)
    with unit_of_work(spring) as s:
        transit = payments.cash_in_transit(s, APRIL, today)
    assert transit["payments"] == 30
    assert transit["total"] == pytest.approx(300.0)
    calendar = transit["calendar"]
    assert list(calendar["day"].dt.date) == [dt.date(2026, 4, 11)]
    assert calendar["amount"].sum() == pytest.approx(300.0)


def test_market_filter_excludes_other_markets(spring):
    with unit_of_work(spring) as s:
        k = payments.kpis(s, Filters(MARCH.start, MARCH.end, markets=("DE",)))
    assert k["attempts"] == 0 and k["auth_rate"] is None


# --- the page (AppTest) -------------------------------------------------------------------------------------------------


@pytest.fixture
def _app_env(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


@pytest.mark.usefixtures("_app_env")
def test_payments_page_shows_kpis_and_the_dispute_table():
    from tests.apptest_support import app_as, open_page

    at = open_page(app_as("viewer"), "payments")
    assert not at.exception, [e.value for e in at.exception]
    assert [tt.value for tt in at.title] == ["Payments"]
    labels = [m.label for m in at.metric]
    assert labels[:5] == ["Authorisation rate", "Effective fee rate", "Fee per payment", "Cash in transit",
                          "Dispute rate"]
    assert "Margin after FX shock" in labels
    assert any("VAMP" in c.value for c in at.caption)


def test_fx_exposure_without_a_shock_is_the_ledgers_contribution(seeded_engine):
    from core import profit

    filters = Filters(SEED_END - dt.timedelta(days=89), SEED_END, currency="EUR")
    with unit_of_work(seeded_engine) as s:
        exposure = payments.fx_exposure(s, filters)
        total = profit.totals(s, filters)
    got_profit, got_margin = payments.shocked_margin(exposure["revenue"], exposure["costs"], {})
    assert sum(exposure["revenue"].values()) == pytest.approx(total["net_revenue"], abs=0.01)
    assert got_profit == pytest.approx(total["contribution"], abs=0.01)
    assert got_margin == pytest.approx(profit.margin(total["contribution"], total["net_revenue"]), abs=1e-9)
    assert exposure["costs"]["CNY"] > 0  # product cost is held in CNY


@pytest.mark.usefixtures("_app_env")
def test_fx_shock_slider_moves_the_margin_for_a_viewer():
    from tests.apptest_support import app_as, open_page

    at = open_page(app_as("viewer"), "payments")
    margin = next(m for m in at.metric if m.label == "Margin after FX shock")
    assert margin.delta.startswith("+0")  # no shock yet
    at.slider(key="fx_shock_EUR").set_value(-20).run()
    assert not at.exception, [e.value for e in at.exception]
    shocked = next(m for m in at.metric if m.label == "Margin after FX shock")
    assert shocked.value != margin.value
    assert shocked.delta.startswith("-")  # a weaker euro lowers the margin in USD


@pytest.mark.usefixtures("_app_env")
def test_payments_page_in_eur_and_an_empty_period():
    from tests.apptest_support import app_as, open_page

    at = open_page(app_as("viewer"), "payments")
    at.selectbox(key="ccy").select("EUR").run()
    assert next(m for m in at.metric if m.label == "Cash in transit").value.startswith("€")
    before = SEED_END - dt.timedelta(days=4 * 365)
    at.date_input(key="period").set_value((before, before + dt.timedelta(days=30))).run()
    assert not at.exception
    assert any("No payments in this period" in i.value for i in at.info)
