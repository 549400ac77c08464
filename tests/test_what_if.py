"""What-if simulator: hand-worked formulas, elasticity estimate, scenarios (roles), and the page via AppTest."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from core import what_if
from core.platform.db import unit_of_work
from core.platform.models import AuditEvent, Scenario
from core.platform.users import PermissionDenied
from core.what_if import Levers
from tests.conftest import SEED_END

# One SKU in a VAT market: EUR 20 shelf price, 1 EUR = 1.1 USD, 20 % VAT, 15 % referral, 2 % payment fee,
# 1 % FX spread, USD 4 product cost, USD 3 freight, USD 0.5 duty, 5 % returns, 100 units a month.
ROW = dict(product_id=1, sku="SKU-1", name="Cable", category_id=1, market_code="DE", currency="EUR",
           usd_per_local=1.1, vat_rate=0.2, units=100.0, price_local=20.0, marketplace_fee_rate=0.15,
           payment_fee_rate=0.02, fx_cost_rate=0.01, product_cost=4.0, freight=3.0, duty=0.5, return_rate=0.05,
           service="sea")
ELASTICITIES = {1: -2.0}


def _rows(**changes) -> pd.DataFrame:
    return pd.DataFrame([{**ROW, **changes}], columns=what_if.BASELINE_COLUMNS)


@pytest.mark.parametrize(("base_units", "base_price", "new_price", "elasticity", "expected"), [
    (100, 10, 11, -2.0, 100 * 1.1 ** -2),  # = 82.6446: 10 % dearer, elasticity -2
    (100, 10, 10, -1.5, 100.0),  # same price, same units
    (50, 20, 10, -1.0, 100.0),  # half the price, unit elasticity: twice the units
    (100, 0, 10, -1.0, 0.0),  # no base price: nothing to project from
])
def test_constant_elasticity_demand(base_units, base_price, new_price, elasticity, expected):
    assert what_if.projected_units(base_units, base_price, new_price, elasticity) == pytest.approx(expected)


def test_baseline_unit_economics_by_hand():
    result = what_if.simulate(_rows(), Levers(), ELASTICITIES).iloc[0]
    # price_gross = 20 x 1.1 = 22.00 USD; VAT = 22 x 0.2 / 1.2 = 3.6667; net = 18.3333
    # fees: 22 x 0.15 = 3.30, 22 x 0.02 = 0.44, FX 22 x 0.01 = 0.22; returns 0.05 x (4 + 3) = 0.35
    # contribution = 18.3333 - 3.30 - 0.44 - 0.22 - 4 - 3 - 0.5 - 0.35 = 6.5233
    assert result["base_price_gross"] == pytest.approx(22.0)
    assert result["base_vat"] == pytest.approx(3.666667, abs=1e-6)
    assert result["base_contribution"] == pytest.approx(6.523333, abs=1e-6)
    assert result["base_profit"] == pytest.approx(652.3333, abs=1e-4)  # x 100 units
    # break-even: share kept = 1/1.2 - 0.15 - 0.02 - 0.01 = 0.653333; fixed = 4 + 3 + 0.5 + 0.35 = 7.85
    # P = 7.85 / 0.653333 = 12.0153 USD = 10.9230 EUR at 1.1
    assert result["break_even_local"] == pytest.approx(7.85 / (1 / 1.2 - 0.18) / 1.1, rel=1e-9)
    outcome = what_if.outcome(what_if.simulate(_rows(), Levers(), ELASTICITIES))
    assert outcome.margin == pytest.approx(6.523333 / 18.333333, abs=1e-6)  # 35.58 %
    assert outcome.profit_delta == pytest.approx(0.0)


@pytest.mark.parametrize(("levers", "contribution", "units"), [
    # +10 % price: 22 EUR = 24.20 USD; VAT 4.0333, net 20.1667; fees 3.63 + 0.484 + 0.242
    # contribution = 20.1667 - 3.63 - 0.484 - 0.242 - 4 - 3 - 0.5 - 0.35 = 7.9607; units 100 x 1.1^-2 = 82.6446
    (Levers(price_change=0.10), 20.166667 - 3.63 - 0.484 - 0.242 - 7.85, 100 * 1.1 ** -2),
    # 10 % discount, EUR 10 % stronger, freight +20 %, duty 10 % of CIF, ads 5 %, referral +1 pp, returns +5 pp:
    # paid 18 EUR -> 18 x 1.1 x 1.1 = 21.78 USD; VAT 3.63, net 18.15; fees 21.78 x 0.16 = 3.4848, x 0.02 =
    # 0.4356, FX 0.2178; freight 3.60; duty 0.1 x (4 + 3.6) = 0.76; ads 1.089; returns 0.10 x 7.6 = 0.76
    # contribution = 18.15 - 3.4848 - 0.4356 - 0.2178 - 4 - 3.6 - 0.76 - 1.089 - 0.76 = 3.8028
    # units: the customer pays 18 instead of 20 -> 100 x 0.9^-2 = 123.4568
    (Levers(discount=0.10, fx_change=0.10, freight_change=0.20, duty_rate=0.10, ad_rate_delta=0.05,
            marketplace_fee_delta=0.01, return_rate_delta=0.05), 3.8028, 100 * 0.9 ** -2),
    # elasticity override -1 with +25 % price: units 100 x 1.25^-1 = 80; 25 EUR = 27.5 USD, net 22.9167
    # contribution = 22.9167 - 27.5 x 0.18 - 7.85 = 10.1167
    (Levers(price_change=0.25, elasticity=-1.0), 27.5 / 1.2 - 27.5 * 0.18 - 7.85, 80.0),
])
def test_scenario_levers_by_hand(levers, contribution, units):
    result = what_if.simulate(_rows(), levers, ELASTICITIES).iloc[0]
    assert result["new_contribution"] == pytest.approx(contribution, abs=1e-4)
    assert result["units"] == pytest.approx(units, rel=1e-9)
    assert result["profit"] == pytest.approx(units * contribution, rel=1e-4)
    assert result["profit_delta"] == pytest.approx(units * contribution - 652.3333, abs=1e-2)


def test_an_actual_row_carries_the_ledgers_extra_lines():
    # the ledger's start values: 3 % ad rate, a return costs 12, shipping charged 1.5, other costs 0.8 per unit
    rows = _rows(ad_rate=0.03, return_cost=12.0, shipping_income=1.5, other_costs=0.8, estimated=False)
    result = what_if.simulate(rows, Levers(ad_rate_delta=0.02, freight_change=0.5), ELASTICITIES).iloc[0]
    # base: 6.5233 (the hand-worked row) + 0.35 - 0.05 x 12 (returns at the actual cost) - 22 x 0.03 + 1.5 - 0.8
    #     = 6.5233 + 0.35 - 0.60 - 0.66 + 0.70 = 6.3133
    assert result["base_contribution"] == pytest.approx(6.313333, abs=1e-6)
    assert result["base_ads"] == pytest.approx(0.66) and result["base_other_costs"] == pytest.approx(0.8)
    # scenario: ads 5 % (3 + 2) = 1.10; freight x 1.5 = 4.5; the return's cost stays the ledger's 12
    # 6.3133 - 0.44 - 1.5 = 4.3733
    assert result["new_contribution"] == pytest.approx(6.313333 - 0.44 - 1.5, abs=1e-6)
    assert result["new_returns"] == pytest.approx(0.6)


def test_precomputed_baseline_gives_the_same_result():
    rows = pd.concat([_rows(), _rows(product_id=2, sku="SKU-2", price_local=12.0, units=40.0)], ignore_index=True)
    levers = Levers(price_change=0.1, freight_change=0.2, ad_rate_delta=0.05)
    plain = what_if.simulate(rows, levers, ELASTICITIES)
    cached = what_if.simulate(what_if.with_base_economics(rows), levers, ELASTICITIES)
    pd.testing.assert_frame_equal(plain[sorted(plain.columns)], cached[sorted(plain.columns)])


def test_waterfall_runs_from_price_to_contribution():
    steps = what_if.waterfall(what_if.simulate(_rows(), Levers(), ELASTICITIES), scenario=False)
    assert list(steps["key"]) == ["price_gross", "vat", "shipping_income", "marketplace_fee", "payment_fee", "fx_cost",
                                  "product_cost", "freight", "duty", "ads", "returns", "other_costs", "contribution"]
    # 22 - 3.6667 - 3.30 - 0.44 - 0.22 - 4 - 3 - 0.5 - 0 - 0.35 = 6.5233: the last floating bar ends there
    assert steps["end"].iloc[-2] == pytest.approx(6.523333, abs=1e-6)
    assert steps["amount"].iloc[-1] == pytest.approx(6.523333, abs=1e-6)
    assert (steps["end"].iloc[:-1].to_numpy() == (steps["start"] + steps["amount"]).iloc[:-1].to_numpy()).all()


def test_route_change_moves_only_the_scenario():
    routes = pd.DataFrame({"service": ["sea", "dhl"], "route": ["sea_lcl_3pl", "direct_express"],
                           "freight_per_unit": [3.0, 9.0], "duty_per_unit": [0.5, 1.5]})
    rows = _rows()
    result = what_if.simulate(rows, Levers(), ELASTICITIES, what_if.with_route(rows, routes, "dhl")).iloc[0]
    assert what_if.with_route(rows, routes, "sea") is rows  # its own route: the row as it is
    # express: freight 9, duty 1.5, returns 0.05 x (4 + 9) = 0.65 -> 6.5233 - 6 - 1 - 0.30 = -0.7767
    assert result["base_contribution"] == pytest.approx(6.523333, abs=1e-6)
    assert result["new_contribution"] == pytest.approx(-0.776667, abs=1e-6)


def test_price_sweep_finds_the_analytic_optimum():
    # contribution(P) = 0.653333 P - 7.85 (P in USD), units ~ P^-2, so profit peaks where
    # P = 7.85 x e / ((e + 1) x 0.653333) = 7.85 x 2 / 0.653333 = 24.031 USD = 21.846 EUR
    sweep = what_if.price_sweep(_rows(), Levers(), ELASTICITIES, np.linspace(0.5, 2.0, 1501))
    price, _, at_edge = what_if.optimum(sweep)
    assert price == pytest.approx(7.85 * 2 / (1 / 1.2 - 0.18) / 1.1, abs=0.03)
    assert sweep["optimum"].sum() == 1 and not at_edge
    # inelastic demand (-0.5): profit rises with price all the way to the top of the sweep
    inelastic = what_if.price_sweep(_rows(), Levers(elasticity=-0.5), ELASTICITIES)
    assert what_if.optimum(inelastic)[2] and what_if.optimum(inelastic)[0] == pytest.approx(40.0)


def test_movers_rank_winners_and_losers():
    result = pd.DataFrame({"sku": list("ABCD"), "name": list("abcd"), "market_code": "DE",
                           "base_profit": [10.0, 10.0, 10.0, 10.0], "profit": [30.0, 5.0, 12.0, -20.0],
                           "base_units": 1.0, "units": 1.0})
    result["profit_delta"] = result["profit"] - result["base_profit"]  # +20, -5, +2, -30
    winners, losers = what_if.movers(result, n=5)
    assert list(winners["sku"]) == ["A", "C"]
    assert list(losers["sku"]) == ["D", "B"]


def _history(elasticity: float, products: int = 6, months: int = 12, spread: bool = True) -> pd.DataFrame:
    rows = []
    for p in range(products):
        for m in range(months):
            price = 10.0 * (1 + 0.1 * ((p + m) % 3)) if spread else 10.0
            season = 1 + 0.3 * math.sin(m)
            rows.append({"category_id": 1, "product_id": p, "market_code": "DE", "month": f"2026-{m + 1:02d}-01",
                         "units": 50 * (p + 1) * season * price ** elasticity * 10 ** -elasticity,
                         "price": price})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("history", "expected", "source"), [
    (_history(-1.5), -1.5, "estimated"),  # exact power law with SKU levels and seasons: the slope comes back
    (_history(-1.5, products=2), -0.9, "default"),  # 24 cells < 30: the category default
    (_history(-1.5, spread=False), -0.9, "default"),  # the price never moved: no slope to see
    (_history(-1.5).iloc[0:0], -0.9, "default"),  # no history at all
])
def test_elasticity_estimate_and_fallback(history, expected, source):
    found = what_if.estimate_elasticities(history, {1: -0.9}).iloc[0]
    assert found["elasticity"] == pytest.approx(expected, abs=1e-6)
    assert found["source"] == source


def test_group_codes_number_each_combination_of_keys_once():
    codes = what_if._group_codes(pd.Series([1, 1, 1, 2, 2]), pd.Series(["DE", "US", "DE", "DE", "US"]))
    assert list(codes) == [0, 1, 0, 2, 3]  # (1, DE) (1, US) (1, DE) (2, DE) (2, US), in order of appearance


def test_elasticity_history_adds_channels_up_per_cell_in_the_database(engine):
    from core.platform.models import MonthlySkuSales
    from tests import factories

    def cell(month, market, channel, units, sales):
        return MonthlySkuSales(month=month, product_id=1, market_code=market, channel_id=channel, orders=units,
                               repeat_orders=0, units=units, sales_usd=sales, net_revenue_usd=sales,
                               cogs_usd=0.0, returned_units=0)

    with unit_of_work(engine) as session:
        factories.reference_rows(session)
        session.add_all([
            cell(dt.date(2024, 3, 1), "DE", 1, 4, 40.0),  # + the Shopify row below: 10 units, USD 130
            cell(dt.date(2024, 3, 1), "DE", 2, 6, 90.0),
            cell(dt.date(2024, 3, 1), "US", 1, 5, 60.0),  # another market: a cell of its own
            cell(dt.date(2024, 4, 1), "DE", 1, 2, 30.0),
            cell(dt.date(2024, 4, 1), "DE", 2, 0, 0.0),  # no units: left out before the sum
            cell(dt.date(2024, 5, 1), "DE", 1, 9, 99.0),  # `on`'s month: not history yet
        ])
    with unit_of_work(engine) as session:
        history = what_if.elasticity_history(session, dt.date(2024, 5, 20))
    assert list(history.columns) == ["category_id", "product_id", "market_code", "month", "units", "price"]
    cells = {(r.market_code, str(r.month)[:7]): (r.category_id, r.units, r.price) for r in history.itertuples()}
    # DE March: (4 + 6) units, (40 + 90) / 10 = USD 13.00 a unit; US March 60 / 5 = 12.00; DE April 30 / 2 = 15.00
    assert cells == {("DE", "2024-03"): (1, 10.0, pytest.approx(13.0)),
                     ("US", "2024-03"): (1, 5.0, pytest.approx(12.0)),
                     ("DE", "2024-04"): (1, 2.0, pytest.approx(15.0))}
    with unit_of_work(engine) as session:
        assert what_if.elasticity_history(session, dt.date(2024, 3, 31)).empty  # nothing before March


def test_inputs_version_moves_only_with_writes_that_change_the_inputs(engine):
    def audit(entity):
        with unit_of_work(engine) as session:
            event = AuditEvent(at=dt.datetime(2024, 5, 1), username="manager", entity=entity, entity_id="1",
                               action="create", detail="{}")
            session.add(event)
            session.flush()
            return event.id

    def version():
        with unit_of_work(engine) as session:
            return what_if.inputs_version(session)

    assert version() == 0  # nothing written yet
    imported = audit("import_batch")
    audit("scenario")  # a saved scenario or a sign-in changes no baseline: the cache stays
    audit("sign_in")
    assert version() == imported
    edited = audit("product_cost")
    assert edited > imported and version() == edited


# --- services on the seeded database ---------------------------------------------------------------------------------


def test_baseline_and_elasticities_from_the_seed(seeded_engine):
    today = SEED_END
    with unit_of_work(seeded_engine) as session:
        base = what_if.baseline(session, "DE", today)
        estimates = what_if.category_elasticities(session, today)
    assert not base.empty and list(base.columns) == what_if.BASELINE_COLUMNS
    assert (base["price_local"] > 0).all() and (base["freight"] >= 0).all()
    # SKUs sold in DE over the three full months start from the ledger, the others from estimates
    assert set(base["estimated"]) == {True, False}
    assert (base.loc[base["estimated"], "units"] == 0).all() and (base.loc[~base["estimated"], "units"] > 0).all()
    assert base["vat_rate"].iloc[0] == pytest.approx(0.19) and base["currency"].iloc[0] == "EUR"
    assert estimates["elasticity"].lt(0).all() and set(estimates["source"]) <= {"estimated", "default"}


@pytest.mark.parametrize("role", ["viewer", "staff"])
def test_scenario_writes_need_the_manager_role(seeded_engine, role):
    with unit_of_work(seeded_engine) as session:
        with pytest.raises(PermissionDenied):
            what_if.save_scenario(session, role, "nope", {}, {})
        with pytest.raises(PermissionDenied):
            what_if.list_scenarios(session, role)
    with unit_of_work(seeded_engine) as session:
        scenario_id = what_if.save_scenario(session, "manager", "for the role test", {"a": 1}, {"b": 2})
    try:
        with unit_of_work(seeded_engine) as session, pytest.raises(PermissionDenied):
            what_if.delete_scenario(session, role, scenario_id)
    finally:
        with unit_of_work(seeded_engine) as session:
            what_if.delete_scenario(session, "manager", scenario_id)


def test_save_list_compare_and_delete_own(seeded_engine):
    with unit_of_work(seeded_engine) as session:
        mine = what_if.save_scenario(session, "manager", "  DE +5 %  ", {"price_change": 0.05}, {"profit": 10.0})
        other = what_if.save_scenario(session, "admin", "admin's", {"price_change": 0.1}, {"profit": 12.0})
    try:
        with unit_of_work(seeded_engine) as session:
            listed = what_if.list_scenarios(session, "manager")
            assert {mine, other} <= set(listed["id"])
            assert listed.set_index("id").loc[mine, "name"] == "DE +5 %"
            assert bool(listed.set_index("id").loc[mine, "mine"]) and not listed.set_index("id").loc[other, "mine"]
            table = what_if.compare_scenarios(session, "manager", [mine, other])
            assert list(table.columns) == [f"DE +5 % (#{mine})", f"admin's (#{other})"]
            assert table.loc["input.price_change"].tolist() == [0.05, 0.1]
            with pytest.raises(what_if.ScenarioError):
                what_if.compare_scenarios(session, "manager", [1, 2, 3, 4])
            with pytest.raises(what_if.ScenarioError):
                what_if.save_scenario(session, "manager", "   ", {}, {})
            with pytest.raises(PermissionDenied):  # a manager deletes only their own
                what_if.delete_scenario(session, "manager", other)
        with unit_of_work(seeded_engine) as session:
            what_if.delete_scenario(session, "manager", mine)
            assert session.get(Scenario, mine) is None
            actions = session.execute(select(AuditEvent.action).where(  # ids may be reused: match the name too
                AuditEvent.entity == "scenario", AuditEvent.entity_id == str(mine),
                AuditEvent.username == "manager", AuditEvent.detail.contains("DE +5 %"))).scalars().all()
            assert sorted(actions) == ["create", "delete"]
    finally:
        with unit_of_work(seeded_engine) as session:
            for scenario_id in (mine, other):
                scenario = session.get(Scenario, scenario_id)
                if scenario is not None:
                    session.delete(scenario)


# --- the page (AppTest) -----------------------------------------------------------------------------------------------


@pytest.fixture
def app_env(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_staff_is_refused(app_env):
    from tests.apptest_support import app_as, offered_pages, open_page

    at = app_as("staff")
    assert "what-if" not in offered_pages(at)
    at = open_page(at, "what-if")
    _ok(at)
    assert "What-if simulator" not in [title.value for title in at.title]
    assert not any(m.label == "Break-even price" for m in at.metric)


def test_manager_simulates_saves_compares_and_deletes(app_env, seeded_engine):
    from tests.apptest_support import app_as, open_page

    at = open_page(app_as("manager"), "what-if")
    _ok(at)
    assert at.title[0].value == "What-if simulator"
    margin = _metric(at, "Contribution margin")
    price = next(n for n in at.number_input if n.key.startswith("wi_price_"))
    price.set_value(round(price.value * 1.3, 2)).run()
    _ok(at)
    assert _metric(at, "Contribution margin") != margin
    names = []
    try:
        for name in ("apptest scenario A", "apptest scenario B"):
            at.text_input(key="wi_scenario_name").input(name)
            next(b for b in at.button if b.label == "Save scenario").click().run()
            _ok(at)
            names.append(name)
        assert any("Scenario saved" in s.value for s in at.success)
        with unit_of_work(seeded_engine) as session:
            saved = dict(session.execute(select(Scenario.name, Scenario.id).where(Scenario.name.in_(names))).all())
            stored = json.loads(session.get(Scenario, saved[names[0]]).results_json)
        assert stored["margin"] is not None and stored["currency"] == "EUR"
        at.multiselect(key="wi_compare").set_value(list(saved.values())).run()
        _ok(at)
        compared = at.dataframe[-1].value
        assert list(compared.columns) == [f"{n} (#{saved[n]})" for n in names]
        for name in names:
            at.selectbox(key="wi_delete_pick").set_value(saved[name]).run()
            at.button(key="wi_delete").click().run()
            _ok(at)
        with unit_of_work(seeded_engine) as session:
            assert not session.scalar(select(func.count()).select_from(Scenario).where(Scenario.name.in_(names)))
    finally:
        with unit_of_work(seeded_engine) as session:
            for scenario in session.scalars(select(Scenario).where(Scenario.name.in_(names))):
                session.delete(scenario)


def test_portfolio_mode_totals_and_movers(app_env):
    from tests.apptest_support import app_as, open_page

    at = open_page(app_as("manager"), "what-if")
    at.segmented_control(key="wi_mode").set_value("portfolio").run()
    _ok(at)
    before = _metric(at, "Contribution per month")
    at.slider(key="wi_pf_freight").set_value(20.0).run()
    _ok(at)
    after = next(m for m in at.metric if m.label == "Contribution per month")
    assert after.value != before and after.delta.startswith("-")
    assert any(md.value == "**Biggest losers**" for md in at.markdown)


def _charts(at) -> dict:
    """The page's Vega-Lite charts as sent: title -> (spec without data, {dataset name: frame})."""
    import io

    import pyarrow as pa

    found = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        frames = {d.name: pa.ipc.open_stream(io.BytesIO(d.data.data)).read_pandas() for d in element.proto.datasets}
        found[spec["title"]] = (spec, frames)
    return found


def test_charts_keep_their_spec_and_send_only_new_data_on_a_lever_move(app_env):
    from tests.apptest_support import app_as, open_page

    at = open_page(app_as("manager"), "what-if")
    _ok(at)
    before = _charts(at)
    waterfall = next(title for title in before if title.startswith("Per unit: "))
    sweep = "Price sweep: monthly contribution by price"
    steps = before[waterfall][1]["steps"]
    assert list(steps["label"])[0] == "Price (incl. VAT)" and list(steps["label"])[-1] == "Contribution"
    # the floating bars run from the price down to what is left, and the contribution bar rises to the same amount
    assert steps["end"].iloc[-2] == pytest.approx(steps["end"].iloc[-1])
    assert before[sweep][1]["sweep"].shape == (what_if.SWEEP_POINTS, 4)
    next(s for s in at.slider if s.key.startswith("wi_mfee_")).set_value(30.0).run()  # the fee's maximum
    _ok(at)
    after = _charts(at)
    for title in (waterfall, sweep):
        assert after[title][0] == before[title][0]  # the same spec: the browser updates the data in place
    fee_before, fee_after = (frame.loc[frame["label"] == "Marketplace fee", "amount"].iloc[0]
                             for frame in (before[waterfall][1]["steps"], after[waterfall][1]["steps"]))
    assert fee_after < fee_before < 0  # a dearer fee: a longer cost bar
    assert not after[sweep][1]["sweep"]["profit"].equals(before[sweep][1]["sweep"]["profit"])


def test_a_prebuilt_chart_is_the_spec_st_altair_chart_sends():
    import altair as alt
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from pages import what_if_page
    from ui.charts import chart_spec

    key = ("Per unit: SKU-1 in DE", ("Price", "Fees", "Contribution"), "Amount per unit (USD)", "Step")
    frame = pd.DataFrame({"label": ["Price", "Fees", "Contribution"], "kind": ["price", "cost", "total"],
                          "amount": [10.0, -4.0, 6.0], "start": [0.0, 10.0, 0.0], "end": [10.0, 6.0, 6.0]})
    inline = what_if_page._waterfall_spec(*key).properties(data=frame)  # the chart as the page drew it before
    sent = _convert_altair_to_vega_lite_spec(inline)
    (name,) = sent.pop("datasets")
    assert sent.pop("data") == {"name": name}
    prebuilt = dict(chart_spec(what_if_page._waterfall_spec, key))
    assert prebuilt.pop("data") == {"name": "steps"}
    assert prebuilt == sent
    assert isinstance(what_if_page._waterfall_spec(*key), alt.Chart)
