"""Product selection: scores, lifecycle rule, ABC cut-offs, price percentile (hand-worked), and the page."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from core import product_selection as ps
from core.platform.filters import Filters
from tests.apptest_support import app_as, open_page
from tests.conftest import SEED_END


@pytest.mark.parametrize(("monthly", "months_on_sale", "stage"), [
    ([10] * 12, 3, "introduction"),                      # under 6 months on sale
    ([5] * 6 + [10, 10, 10, 12, 12, 12], 24, "growth"),  # 36 / 30 - 1 = +20 % >= +15 %
    ([5] * 6 + [10, 10, 10, 8, 8, 8], 24, "decline"),    # 24 / 30 - 1 = -20 % <= -15 %
    ([5] * 6 + [10, 10, 10, 11, 9, 10], 24, "maturity"),  # 30 / 30 - 1 = 0 %
    ([0] * 9 + [0, 0, 0], 24, "decline"),                # nothing sold either side
    ([0] * 9 + [1, 0, 0], 12, "growth"),                 # 1 / 0: from nothing to something
    ([5] * 6 + [10, 10, 10, 11, 11, 12], 24, "maturity"),  # 34 / 30 - 1 = +13.3 %, under +15 %
])
def test_lifecycle_rule(monthly, months_on_sale, stage):
    assert ps.lifecycle_stage(monthly, months_on_sale) == stage


def test_abc_cut_offs():
    # revenue 50, 20, 10, 8, 5, 4, 3 (total 100); share ranked above each: 0, 50, 70, 80, 88, 93, 96 %
    revenue = pd.Series([8, 50, 3, 20, 5, 10, 4], index=list("defabgc"), dtype=float)
    classes = ps.abc_classes(revenue)
    # e=50, a=20, g=10 -> A (the 80 % is crossed by g); d=8, b=5, c=4 -> B; f=3 -> C
    assert classes.to_dict() == {"e": "A", "a": "A", "g": "A", "d": "B", "b": "B", "c": "B", "f": "C"}


def test_abc_zero_revenue_is_c():
    assert list(ps.abc_classes(pd.Series([0.0, 0.0]))) == ["C", "C"]


@pytest.mark.parametrize(("ours", "prices", "percentile"), [
    (25, [10, 20, 30, 40], 50.0),   # 2 cheaper of 4
    (20, [10, 20, 30, 40], 37.5),   # (1 cheaper + 0.5 x 1 equal) / 4
    (5, [10, 20], 0.0),
    (50, [10, 20], 100.0),
    (10, [], None),
])
def test_price_percentile(ours, prices, percentile):
    assert ps.price_percentile(ours, prices) == percentile


@pytest.mark.parametrize(("listings", "reviews", "score"), [
    (20, 99, 100 - 50 * 0.5 - 50 * 0.5),  # 20/40 = 0.5; log10(100)/4 = 0.5 -> 50
    (40, 9999, 0.0),                      # both saturate
    (0, 0, 100.0),
    (80, 0, 50.0),                        # crowding capped at 1
])
def test_competition_score(listings, reviews, score):
    assert ps.competition_score(listings, reviews) == pytest.approx(score)


@pytest.mark.parametrize(("args", "score"), [
    ((ps.demand_score, 80, 60), 70.0),           # 0.5 x 80 + 0.5 x 60
    ((ps.demand_score, 80, None), 65.0),         # missing interest counts as 50
    ((ps.margin_score, 0.20), 50.0),             # 20 % / 40 % x 100
    ((ps.margin_score, 0.60), 100.0),
    ((ps.margin_score, -0.1), 0.0),
    ((ps.trend_score, 0.2), 70.0),               # 50 + 100 x 0.2
    ((ps.trend_score, -0.7), 0.0),
    ((ps.trend_score, None), 50.0),
    ((ps.seasonality_score, [10, 10, 10, 10]), 100.0),  # CV 0
    ((ps.seasonality_score, [5, 15]), 50.0),     # mean 10, std 5, CV 0.5
    ((ps.seasonality_score, [0, 0]), 0.0),
    ((ps.shipping_score, 1.5, False), 62.5),     # 100 - 25 x 1.5
    ((ps.shipping_score, 0.5, True), 57.5),      # 100 - 12.5 - 30
])
def test_sub_scores(args, score):
    fn, *values = args
    assert fn(*values) == pytest.approx(score)


def test_percentile_rank_with_ties():
    # [1, 2, 2, 3]: 1 -> 0; 2 -> (1 + 0.5) / 3 = 50; 3 -> 3 / 3 = 100
    assert ps.percentile_rank([1, 2, 2, 3]) == pytest.approx([0.0, 50.0, 50.0, 100.0])


def test_opportunity_weights():
    scores = pd.DataFrame([{"demand": 100, "competition": 0, "margin": 50, "trend": 0, "seasonality": 0,
                            "shipping": 0}])
    # (100 x 2 + 50 x 2) / 4 = 75
    assert ps.opportunity(scores, {"demand": 2, "margin": 2}).iloc[0] == pytest.approx(75.0)
    # all weights 0: equal weights, (100 + 50) / 6 = 25
    assert ps.opportunity(scores, {}).iloc[0] == pytest.approx(25.0)


def test_weights_change_the_ranking():
    table = pd.DataFrame([
        {"sku": "A", "demand": 90, "competition": 10, "margin": 10, "trend": 50, "seasonality": 50, "shipping": 50},
        {"sku": "B", "demand": 10, "competition": 90, "margin": 90, "trend": 50, "seasonality": 50, "shipping": 50},
    ])
    assert list(ps.rank(table, {"demand": 100})["sku"]) == ["A", "B"]
    assert list(ps.rank(table, {"margin": 100})["sku"]) == ["B", "A"]


def test_high_return_flags():
    # category 1: 100 + 100 units, 4 + 16 returned -> 10 %; limit max(5 %, 15 %) = 15 %: 16 % flagged, 4 % not
    units = pd.Series([100, 100, 10])
    returned = pd.Series([4, 16, 5])
    category = pd.Series([1, 1, 2])
    assert list(ps.high_return_flags(units, returned, category)) == [False, True, False]  # 10 units: too few


def test_margin_uses_the_shared_unit_economics():
    from core.unit_economics import unit_economics

    table = pd.DataFrame([{"product_id": 1, "unit_cost_cny": 72.0, "revenue_usd": 200.0, "units": 10,
                           "list_price_usd": 30.0, "return_rate": 0.0}])
    fees = {"cny_per_usd": 7.2, "vat_rate": 0.25, "referral_fee_rate": 0.1, "payment_fee_rate": 0.0,
            "fx_cost_rate": 0.0}
    # price paid 20 net -> 25 gross; product 72 / 7.2 = 10; landed 14 -> freight+duty 4; fee 2.5
    # contribution 20 - 2.5 - 10 - 4 = 3.5; margin 3.5 / 20 = 17.5 %
    margin = ps.margin_pcts(table, {1: ("dhl", 14.0)}, fees).iloc[0]
    assert margin == pytest.approx(0.175)
    assert margin == pytest.approx(unit_economics(
        price_gross=25, vat_rate=0.25, marketplace_fee_rate=0.1, payment_fee_rate=0, payment_fee_fixed=0,
        fx_cost_rate=0, product_cost=10, freight=4, duty=0).margin_pct)
    # the schedule's rate for the product's category wins over the channel mix's default
    table = table.assign(category_id=3)
    fees = {**fees, "referral_fee_rates": {3: 0.2}}
    # fee 0.2 x 25 = 5: contribution 20 - 5 - 10 - 4 = 1; margin 1 / 20 = 5 %
    assert ps.margin_pcts(table, {1: ("dhl", 14.0)}, fees).iloc[0] == pytest.approx(0.05)


def test_with_margin_takes_the_ledger_where_the_sku_sold():
    table = pd.DataFrame([
        # sold: the ledger's margin (12 %), however the estimate would come out
        {"product_id": 1, "category_id": 3, "unit_cost_cny": 72.0, "revenue_usd": 200.0, "units": 10,
         "list_price_usd": 30.0, "return_rate": 0.0, "contribution": 24.0, "contribution_margin": 0.12},
        # a candidate: estimated as in the test above (17.5 %)
        {"product_id": 2, "category_id": 3, "unit_cost_cny": 72.0, "revenue_usd": 0.0, "units": 0,
         "list_price_usd": 20.0, "return_rate": None, "contribution": None, "contribution_margin": None},
    ])
    fees = {"cny_per_usd": 7.2, "vat_rate": 0.25, "referral_fee_rate": 0.1, "payment_fee_rate": 0.0,
            "fx_cost_rate": 0.0}
    scored = ps.with_margin(table, {1: ("dhl", 14.0), 2: ("dhl", 14.0)}, fees, "DE")
    assert list(scored["margin_pct"]) == pytest.approx([0.12, 0.175])  # 20 x 1.25 = 25 gross, as above
    assert list(scored["margin_estimated"]) == [False, True]
    assert list(scored["margin"]) == pytest.approx([30.0, 43.75])  # 100 x 12 / 40, 100 x 17.5 / 40


@pytest.mark.parametrize(("start", "end", "first", "last"), [
    (dt.date(2026, 8, 23), dt.date(2026, 11, 20), dt.date(2026, 8, 1), dt.date(2026, 11, 30)),
    (dt.date(2026, 2, 1), dt.date(2026, 2, 28), dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
    (dt.date(2025, 12, 31), dt.date(2026, 1, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 31)),
])
def test_the_ledger_is_read_over_whole_months(start, end, first, last):
    months = ps.whole_months(Filters(start, end, ("DE",)))
    assert (months.start, months.end, months.markets) == (first, last, ("DE",))


def test_sku_table_on_the_seeded_db(seeded_engine):
    from core.platform.db import unit_of_work
    from core.platform.filters import Filters, default_range

    with unit_of_work(seeded_engine) as s:
        table = ps.sku_table(s, Filters(*default_range(SEED_END)))
    assert set(table["status"]) == {"active", "candidate", "discontinued"}
    assert table[table["status"] == "candidate"]["units"].sum() == 0
    for column in ("demand", "competition", "trend", "seasonality", "shipping"):
        assert table[column].between(0, 100).all(), column
    assert set(table.loc[table["status"] != "candidate", "abc"]) <= {"A", "B", "C"}
    with unit_of_work(seeded_engine) as s:
        scored = ps.scored_products(s, Filters(*default_range(SEED_END)))
    candidates, sold = scored[scored["status"] == "candidate"], scored[scored["units"] > 0]
    assert candidates["margin_estimated"].all() and candidates["contribution"].isna().all()
    assert not sold["margin_estimated"].any() and sold["contribution"].notna().all()
    assert (sold["contribution"] < 0).any(), "the seed has SKUs that lose money after every cost"


# --- the page ---------------------------------------------------------------------------------------


@pytest.fixture
def _app_env(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


def _page(role):
    at = open_page(app_as(role), "product-selection")
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_viewer_sees_the_ranking_without_weight_sliders(_app_env):
    at = _page("viewer")
    assert [t.value for t in at.title] == ["Product selection"]
    assert not [s for s in at.slider if s.key and s.key.startswith("weight_")]
    assert any("managers can change them" in c.value for c in at.caption)
    assert len(at.dataframe) >= 3


def test_manager_moves_a_weight_and_the_ranking_changes(_app_env):
    at = _page("manager")
    sliders = {s.key: s for s in at.slider if s.key and s.key.startswith("weight_")}
    assert set(sliders) == {f"weight_{k}" for k in ps.SUBSCORES}
    before = list(at.dataframe[0].value["sku"][:10])
    for key in sliders:
        if key != "weight_shipping":
            at.slider(key=key).set_value(0)
    at.slider(key="weight_shipping").set_value(100)
    at.run()
    assert not at.exception
    after = list(at.dataframe[0].value["sku"][:10])
    assert after != before
