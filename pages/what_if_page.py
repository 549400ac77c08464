"""What-if simulator (managers): price, fees, FX, shipping, duty, ads and returns against margin and profit.

The choice of SKU / markets runs the whole page; the levers live in `st.fragment`s, so a slider move reruns
only the simulator, which does pure math (core.what_if) on baselines cached per market and day.
"""

from __future__ import annotations

import datetime as dt
import secrets

import altair as alt
import pandas as pd
import streamlit as st

from core import what_if
from core.platform import clock, formatting
from core.platform import labels as codes
from core.platform.i18n import N_
from core.platform.users import PermissionDenied
from ui.auth import guard, signed_in_username
from ui.charts import prebuilt_chart
from ui.data import cached_until_changed, uncached
from ui.fragments import guarded_fragment
from ui.i18n import language, t
from ui.labels import label
from ui.theme import MARKET_COLOURS, PRIMARY, SECONDARY, STATUS_COLOURS
from ui.widgets import Card, empty_state, kpi_row, money_column, points_delta, relative_delta

MODES = {"sku": N_("One SKU"), "portfolio": N_("Portfolio (all SKUs of the markets)")}
ALL = "__all__"
STEP_LABELS = {  # what_if.WATERFALL_LABELS, spelled out so the extractor sees each message id
    "price_gross": N_("Price (incl. VAT)"), "vat": N_("VAT"), "shipping_income": N_("Shipping charged"),
    "marketplace_fee": N_("Marketplace fee"), "payment_fee": N_("Payment fee"), "fx_cost": N_("FX cost"),
    "product_cost": N_("Product cost"), "freight": N_("Freight"), "duty": N_("Duty"), "ads": N_("Advertising"),
    "returns": N_("Returns"), "other_costs": N_("Storage, chargebacks and other"), "contribution": N_("Contribution"),
}
STATE_RESULT = "wi_last_result"


def _run_marker(key: str) -> None:
    """A random token per run (a test marker, not text for users): the browser test reads it to prove that a
    slider move reran only the fragment."""
    with st.container(key=key):
        st.html(f"<span class='wi-run' data-run='{secrets.token_hex(6)}'></span>")


def render() -> None:
    user = guard("manager")
    today = clock.today()
    st.title(t("What-if simulator"))
    first, last = what_if.baseline_period(today)
    st.caption(t("A SKU that sold in the market starts from the profit ledger's actual figures per unit over {start} "
                 "– {end}, as on the Profit page; move the levers and see the margin and monthly profit change. "
                 "Money in USD, shelf prices in the market's currency.", start=formatting.date(first, language()),
                 end=formatting.date(last, language())))
    _run_marker("wi_page_run")
    mode = st.segmented_control(t("Simulate"), list(MODES), default="sku", format_func=lambda m: t(MODES[m]),
                                key="wi_mode") or "sku"
    # the history and the ledger change only with an import or a cost edit: cached until one of those or the day
    version = uncached(what_if.inputs_version)
    elasticities = cached_until_changed(version, what_if.category_elasticities, today)
    estimates = dict(zip(elasticities["category_id"], elasticities["elasticity"]))
    if mode == "sku":
        _sku_mode(version, today, estimates, elasticities)
    else:
        _portfolio_mode(version, today, estimates, elasticities)
    _scenarios(user.username)


# --- one SKU ------------------------------------------------------------------------------------------------------


def _category_names(elasticities: pd.DataFrame) -> dict:
    return {ALL: t("All categories"), **{int(r.category_id): t(r.name) for r in elasticities.itertuples()}}


def _rate_delta(label: str, key: str, actual: float, high: float) -> float:
    """A slider for a rate that starts at its actual value; returns the change from it (0 until moved)."""
    shown = min(round(actual * 1000) / 10, high)
    return _pct(label, key, shown / 100, 0.0, high, 0.1) - shown / 100


def _sku_mode(version: int, today: dt.date, estimates: dict, elasticities: pd.DataFrame) -> None:
    markets = cached_until_changed(version, what_if.market_choices)
    if markets.empty:
        empty_state(t("No active SKUs yet. Import a product catalogue on the upload page first."))
        return
    names = _category_names(elasticities)
    left, middle, right = st.columns([1, 1, 2])
    codes = list(markets["code"])
    market = left.selectbox(t("Market"), codes, key="wi_market", index=codes.index("DE") if "DE" in codes else 0)
    category = middle.selectbox(t("Category"), list(names), format_func=names.get, key="wi_category")
    base = cached_until_changed(version, what_if.baseline, market, today)
    choices = base if category == ALL else base[base["category_id"] == category]
    choices = choices.sort_values(["units", "sku"], ascending=[False, True])  # best sellers in the market first
    labels = dict(zip(choices["product_id"], choices["sku"] + " — " + choices["name"]))
    product_id = right.selectbox(t("SKU (best sellers in the market first)"), list(labels), format_func=labels.get,
                                 key="wi_sku")
    if product_id is None:
        empty_state(t("No SKU of this category reaches this market. Pick another category or market."))
        return
    row = base[base["product_id"] == product_id]
    routes = cached_until_changed(version, what_if.routes, int(product_id), market, today)
    _sku_simulator(row.reset_index(drop=True), routes, estimates, int(product_id), market)


def _pct(label: str, key: str, value: float, low: float, high: float, step: float = 0.5, help=None) -> float:
    """A percentage slider (shown in %, returned as a rate), starting at `value` rounded to the step."""
    value = min(max(round(round(value * 100 / step) * step, 4), low), high)
    return st.slider(label, min_value=low, max_value=high, value=value, step=step, format="%.1f%%", key=key,
                     help=help) / 100


@guarded_fragment("manager")
def _sku_simulator(row: pd.DataFrame, routes: pd.DataFrame, estimates: dict, product_id: int, market: str) -> None:
    _run_marker("wi_fragment_run")
    first = row.iloc[0]
    ccy, lang = str(first["currency"]), language()
    suffix = f"{product_id}_{market}"  # new SKU or market: the levers start again from its actual values
    st.subheader(t("Levers"))
    c1, c2, c3 = st.columns(3)
    with c1:
        price = st.number_input(t("Selling price ({currency}, incl. VAT where shown)", currency=ccy),
                                min_value=0.01, value=round(float(first["price_local"]), 2), step=0.5,
                                key=f"wi_price_{suffix}")
        discount = _pct(t("Discount"), f"wi_discount_{suffix}", 0.0, 0.0, 50.0)
        fx_change = _pct(t("FX change ({currency} vs USD)", currency=ccy), f"wi_fx_{suffix}", 0.0, -20.0, 20.0,
                         help=t("+5 % means the {currency} is 5 % stronger: each sale is worth more USD.",
                                currency=ccy))
        elasticity = st.number_input(
            t("Price elasticity"), min_value=-6.0, max_value=0.0,
            value=round(float(estimates.get(int(first["category_id"]), -1.0)), 2), step=0.1,
            key=f"wi_elasticity_{suffix}",
            help=t("Estimated from the sales history of the category (log-log fit); override it here."))
    with c2:
        market_fee = _rate_delta(t("Marketplace fee"), f"wi_mfee_{suffix}", float(first["marketplace_fee_rate"]), 30.0)
        payment_fee = _rate_delta(t("Payment fee"), f"wi_pfee_{suffix}", float(first["payment_fee_rate"]), 10.0)
        ad_rate = _rate_delta(t("Ad spend (% of revenue)"), f"wi_ads_{suffix}", float(first["ad_rate"]), 40.0)
        return_rate = _rate_delta(t("Return rate"), f"wi_returns_{suffix}", float(first["return_rate"]), 50.0)
    with c3:
        services = list(routes["service"]) if not routes.empty else [str(first["service"])]
        route_names = dict(zip(routes["service"], routes["route"])) if not routes.empty else {}
        service_names = {s: label(codes.SHIPPING_SERVICES, s) + (f" ({label(codes.ROUTES, route_names[s])})"
                                                                 if route_names.get(s) else "") for s in services}
        service = st.selectbox(t("Shipping service"), services, key=f"wi_service_{suffix}",
                               index=services.index(first["service"]) if first["service"] in services else 0,
                               format_func=service_names.get)
        freight_change = _pct(t("Carrier rate change"), f"wi_freight_{suffix}", 0.0, -50.0, 50.0, 1.0)
        override = st.toggle(t("Override the duty rate"), key=f"wi_duty_on_{suffix}")
        duty_rate = None
        if override:
            duty_rate = _pct(t("Duty rate (of product cost + freight)"), f"wi_duty_{suffix}", 0.05, 0.0, 40.0)
    base_price = round(float(first["price_local"]), 2)  # as the price input shows it: untouched = no change
    levers = what_if.Levers(
        price_change=price / base_price - 1 if base_price else 0.0, discount=discount, fx_change=fx_change,
        marketplace_fee_delta=market_fee, payment_fee_delta=payment_fee, freight_change=freight_change,
        service=service, duty_rate=duty_rate, ad_rate_delta=ad_rate, return_rate_delta=return_rate,
        elasticity=elasticity,
    )
    routed = what_if.with_route(row, routes, service)
    # the baseline keeps today's cheapest route; the chosen service applies to the scenario only
    result = what_if.simulate(row, levers, estimates, scenario_rows=routed)
    outcome = what_if.outcome(result)
    if bool(first["estimated"]):
        st.info(t("Not sold in {market} over the last three months: the start values are estimates (list price, the "
                  "fee schedule, the landed-cost engine's cheapest route), not the ledger's actuals.", market=market),
                icon=":material/info:")
    _outcome_cards(outcome, lang, ccy)
    left, right = st.columns(2)
    with left:
        _waterfall_chart(result, t("Per unit: {sku} in {market}", sku=first["sku"], market=market))
    with right:
        if float(first["units"]) > 0:
            _sweep_chart(what_if.price_sweep(routed, levers, estimates), price, ccy, lang)
        else:
            empty_state(t("Not sold in {market} over the last three months: the price sweep needs a sales "
                          "baseline. The waterfall and break-even price still apply.", market=market))
    inputs = {"mode": "sku", "sku": str(first["sku"]), "market": market, "price_local": price,
              **levers.as_dict()}
    _save_form(inputs, {**outcome.as_dict(), "currency": ccy})


def _outcome_cards(outcome: what_if.Outcome, lang: str, ccy: str | None) -> None:
    margin_change = None
    if outcome.margin is not None and outcome.base_margin is not None:
        margin_change = outcome.margin - outcome.base_margin
    cards = [
        Card(t("Contribution margin"), formatting.percent(outcome.margin, lang), points_delta(margin_change),
             help=t("Contribution / net revenue (price without VAT)."))
    ]
    if outcome.break_even_local is not None:
        cards.append(Card(t("Break-even price"), formatting.money(outcome.break_even_local, ccy, lang),
                          help=t("The shelf price at which the contribution per unit is 0.")))

    def change(now: float, before: float) -> str | None:
        return relative_delta((now - before) / abs(before)) if before else None

    cards += [
        Card(t("Units per month"), formatting.number(outcome.units, lang), change(outcome.units, outcome.base_units)),
        Card(t("Net revenue per month"), formatting.money(outcome.revenue, "USD", lang, compact=True),
             change(outcome.revenue, outcome.base_revenue)),
        Card(t("Contribution per month"), formatting.money(outcome.profit, "USD", lang, compact=True),
             ("+" if outcome.profit_delta >= 0 else "") + formatting.money(outcome.profit_delta, "USD", lang),
             help=t("Against the baseline of {amount} per month.",
                    amount=formatting.money(outcome.base_profit, "USD", lang))),
    ]
    kpi_row(cards)


def _waterfall_spec(title: str, labels: tuple[str, ...], amount_title: str, step_title: str) -> alt.Chart:
    colours = {"price": PRIMARY, "cost": STATUS_COLOURS["breach"], "total": STATUS_COLOURS["ok"]}
    return alt.Chart(alt.NamedData(name="steps")).mark_bar().encode(
        x=alt.X("label:N", sort=list(labels), title=None,
                axis=alt.Axis(labelAngle=-40, labelOverlap=False, labelLimit=140)),
        y=alt.Y("start:Q", title=amount_title, axis=alt.Axis(format="$,.2f")),
        y2="end:Q",
        color=alt.Color("kind:N", scale=alt.Scale(domain=list(colours), range=list(colours.values())), legend=None),
        tooltip=[alt.Tooltip("label:N", title=step_title),
                 alt.Tooltip("amount:Q", title=amount_title, format="$,.2f")],
    ).properties(title=title, height=340)


def _waterfall_chart(result: pd.DataFrame, title: str) -> None:
    steps = what_if.waterfall(result)
    steps["label"] = [t(STEP_LABELS[k]) for k in steps["key"]]
    steps["kind"] = ["price" if k == "price_gross" else "total" if k == "contribution" else "cost"
                     for k in steps["key"]]
    key = (title, tuple(steps["label"]), t("Amount per unit (USD)"), t("Step"))
    prebuilt_chart(_waterfall_spec, key, {"steps": steps[["label", "kind", "amount", "start", "end"]]},
                   width="stretch")


def _sweep_spec(price_title: str, profit_title: str, units_title: str, margin_title: str, your_price: str,
                best_title: str | None, chart_title: str) -> alt.LayerChart:
    """The sweep's line, the rule at the chosen price and, with `best_title`, the profit-maximising point."""
    line = alt.Chart(alt.NamedData(name="sweep")).mark_line(color=SECONDARY, strokeWidth=2).encode(
        x=alt.X("price_local:Q", title=price_title),
        y=alt.Y("profit:Q", title=profit_title, axis=alt.Axis(format="$,.0f")),
        tooltip=[alt.Tooltip("price_local:Q", title=price_title, format=",.2f"),
                 alt.Tooltip("units:Q", title=units_title, format=",.0f"),
                 alt.Tooltip("profit:Q", title=profit_title, format="$,.0f"),
                 alt.Tooltip("margin:Q", title=margin_title, format=".1%")],
    )
    layers = [line, alt.Chart(alt.NamedData(name="price")).mark_rule(color=PRIMARY, strokeDash=[4, 3])
              .encode(x="x:Q", tooltip=[alt.Tooltip("x:Q", title=your_price, format=",.2f")])]
    if best_title is not None:
        layers.append(alt.Chart(alt.NamedData(name="best")).mark_point(
            color=STATUS_COLOURS["ok"], size=140, filled=True).encode(
            x="price_local:Q", y="profit:Q",
            tooltip=[alt.Tooltip("price_local:Q", title=best_title, format=",.2f"),
                     alt.Tooltip("profit:Q", title=profit_title, format="$,.0f")]))
    return alt.layer(*layers).properties(title=chart_title, height=340)


def _sweep_chart(sweep: pd.DataFrame, price: float, ccy: str, lang: str) -> None:
    best = what_if.optimum(sweep)
    key = (t("Shelf price ({currency})", currency=ccy), t("Contribution per month (USD)"), t("Units per month"),
           t("Contribution margin"), t("Your price"), None if best is None else t("Profit-maximising price"),
           t("Price sweep: monthly contribution by price"))
    datasets = {"sweep": sweep[["price_local", "units", "profit", "margin"]], "price": pd.DataFrame({"x": [price]})}
    if best is not None:
        datasets["best"] = pd.DataFrame({"price_local": [best[0]], "profit": [best[1]]})
    prebuilt_chart(_sweep_spec, key, datasets, width="stretch")
    if best is not None:
        st.caption(t("Profit-maximising price: {price} ({profit} per month).",
                     price=formatting.money(best[0], ccy, lang), profit=formatting.money(best[1], "USD", lang)))
        if best[2]:
            st.caption(t("The best price sits at the edge of the sweep: with demand this insensitive to price the "
                         "model keeps rewarding a higher price. Treat it as a direction, not a target."))


# --- portfolio ----------------------------------------------------------------------------------------------------


def _portfolio_mode(version: int, today: dt.date, estimates: dict, elasticities: pd.DataFrame) -> None:
    markets = cached_until_changed(version, what_if.market_choices)
    names = _category_names(elasticities)
    left, right = st.columns([2, 1])
    chosen = left.multiselect(t("Markets"), list(markets["code"]), default=["DE"] if "DE" in set(markets["code"])
                              else list(markets["code"])[:1], key="wi_pf_markets")
    category = right.selectbox(t("Category"), list(names), format_func=names.get, key="wi_pf_category")
    if not chosen:
        empty_state(t("Pick at least one market."))
        return
    rows = pd.concat([cached_until_changed(version, what_if.baseline, m, today) for m in chosen], ignore_index=True)
    if category != ALL:
        rows = rows[rows["category_id"] == category]
    rows = rows[rows["units"] > 0].reset_index(drop=True)
    if rows.empty:
        empty_state(t("Nothing sold in these markets over the last three months. Pick other markets."))
        return
    # the baseline side is priced once per full run; a lever move prices only the scenario side
    _portfolio_simulator(what_if.with_base_economics(rows), estimates, tuple(chosen), category)


@guarded_fragment("manager")
def _portfolio_simulator(rows: pd.DataFrame, estimates: dict, markets: tuple, category) -> None:
    _run_marker("wi_fragment_run")
    lang = language()
    st.subheader(t("Levers for every SKU"))
    c1, c2, c3 = st.columns(3)
    with c1:
        price_change = _pct(t("Price change"), "wi_pf_price", 0.0, -30.0, 30.0)
        discount = _pct(t("Discount"), "wi_pf_discount", 0.0, 0.0, 50.0)
        fx_change = _pct(t("FX change (local currency vs USD)"), "wi_pf_fx", 0.0, -20.0, 20.0)
    with c2:
        market_fee = _pct(t("Marketplace fee change (pp)"), "wi_pf_mfee", 0.0, -10.0, 10.0)
        payment_fee = _pct(t("Payment fee change (pp)"), "wi_pf_pfee", 0.0, -3.0, 3.0, 0.1)
        ad_rate = _pct(t("Ad spend change (pp)"), "wi_pf_ads", 0.0, -20.0, 20.0)
    with c3:
        freight_change = _pct(t("Carrier rate change"), "wi_pf_freight", 0.0, -50.0, 50.0, 1.0)
        return_delta = _pct(t("Return rate change (pp)"), "wi_pf_returns", 0.0, -10.0, 10.0)
        duty_rate = None
        if st.toggle(t("Override the duty rate"), key="wi_pf_duty_on"):
            duty_rate = _pct(t("Duty rate (of product cost + freight)"), "wi_pf_duty", 0.05, 0.0, 40.0)
    levers = what_if.Levers(price_change=price_change, discount=discount, fx_change=fx_change,
                            marketplace_fee_delta=market_fee, payment_fee_delta=payment_fee,
                            freight_change=freight_change, duty_rate=duty_rate, ad_rate_delta=ad_rate,
                            return_rate_delta=return_delta)
    result = what_if.simulate(rows, levers, estimates)
    outcome = what_if.outcome(result)
    _outcome_cards(outcome, lang, None)
    left, right = st.columns(2)
    with left:
        _waterfall_chart(result, t("Average unit across {count} SKU listings", count=len(result)))
    with right:
        _movers(result, lang)
    inputs = {"mode": "portfolio", "markets": list(markets), "category": category, **levers.as_dict()}
    _save_form(inputs, outcome.as_dict())


def _movers(result: pd.DataFrame, lang: str) -> None:
    winners, losers = what_if.movers(result)
    config = {"sku": "SKU", "name": t("Product"), "market_code": t("Market"),
              "base_profit": money_column(t("Now per month"), "USD"),
              "profit": money_column(t("Scenario per month"), "USD"),
              "profit_delta": money_column(t("Change"), "USD")}
    shown = ["sku", "market_code", "base_profit", "profit", "profit_delta"]
    st.markdown("**" + t("Biggest winners") + "**")
    if winners.empty:
        st.caption(t("No SKU gains."))
    else:
        st.dataframe(winners[shown], hide_index=True, width="stretch", column_config=config)
    st.markdown("**" + t("Biggest losers") + "**")
    if losers.empty:
        st.caption(t("No SKU loses."))
    else:
        st.dataframe(losers[shown], hide_index=True, width="stretch", column_config=config)
    # one row per market (the chart's sum over it is the same): not the whole result with its 40-odd columns
    impact = result.groupby("market_code", as_index=False, sort=False)["profit_delta"].sum()
    key = (t("Market"), t("Change in monthly contribution (USD)"), t("Change"),
           t("Profit impact by market (USD per month)"))
    prebuilt_chart(_impact_spec, key, {"impact": impact.rename(columns={"market_code": "market"})}, width="stretch")


def _impact_spec(market_title: str, change_title: str, tooltip_title: str, chart_title: str) -> alt.Chart:
    return alt.Chart(alt.NamedData(name="impact")).mark_bar().encode(
        x=alt.X("market:N", title=market_title),
        y=alt.Y("sum(profit_delta):Q", title=change_title, axis=alt.Axis(format="$,.0f")),
        color=alt.Color("market:N", scale=alt.Scale(domain=list(MARKET_COLOURS), range=list(MARKET_COLOURS.values())),
                        legend=None),
        tooltip=[alt.Tooltip("market:N", title=market_title),
                 alt.Tooltip("sum(profit_delta):Q", title=tooltip_title, format="$,.0f")],
    ).properties(title=chart_title, height=200)


# --- scenarios ----------------------------------------------------------------------------------------------------


def _save_form(inputs: dict, results: dict) -> None:
    with st.form("wi_save", clear_on_submit=True, border=False):
        name_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
        name = name_col.text_input(t("Scenario name"), key="wi_scenario_name",
                                   placeholder=t("e.g. DE price +5 %, sea freight"))
        submitted = button_col.form_submit_button(t("Save scenario"), icon=":material/save:")
    if submitted:
        try:
            uncached(what_if.save_scenario, signed_in_username(), name, inputs, results)
        except what_if.ScenarioError:
            st.error(t("Give the scenario a name."))
            return
        except PermissionDenied:
            st.error(t("Saving scenarios needs the manager role."))
            return
        st.session_state["wi_saved"] = name
        st.rerun(scope="app")


def _scenarios(username: str) -> None:
    st.divider()
    st.subheader(t("Saved scenarios"))
    if st.session_state.pop("wi_saved", None):
        st.success(t("Scenario saved."), icon=":material/check_circle:")
    saved = uncached(what_if.list_scenarios, username)  # per user: never through the shared cache
    if saved.empty:
        empty_state(t("No saved scenarios yet. Name the current scenario above and save it."))
        return
    lang = language()
    labels = {int(r.id): f"{r.name} (#{r.id}, {r.author}, {formatting.date(r.created_at.date(), lang)})"
              for r in saved.itertuples()}
    picked = st.multiselect(t("Compare two or three scenarios"), list(labels), format_func=labels.get,
                            max_selections=what_if.MAX_COMPARE, key="wi_compare")
    if picked:
        table = uncached(what_if.compare_scenarios, username, [int(p) for p in picked])
        st.dataframe(table.astype(str), width="stretch")
    own = {i: label for i, label in labels.items() if bool(saved.loc[saved["id"] == i, "mine"].iloc[0])}
    if not own:
        st.caption(t("You can delete only the scenarios you saved."))
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    target = left.selectbox(t("Delete one of your scenarios"), list(own), format_func=own.get, key="wi_delete_pick")
    if right.button(t("Delete"), key="wi_delete", icon=":material/delete:"):
        try:
            uncached(what_if.delete_scenario, username, int(target))
        except PermissionDenied:
            st.error(t("You can delete only the scenarios you saved."))
            return
        st.rerun()
