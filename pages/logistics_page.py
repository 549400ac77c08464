"""Logistics and supply chain: parcel calculator, fulfilment routes, delivery performance, inventory planning,
supplier scorecards and (managers) a shipping what-if."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from core import landed_cost, logistics, thresholds
from core.platform import clock, formatting, users
from core.platform import labels as codes
from core.platform.filters import Filters
from core.platform.i18n import N_
from ui.auth import guard
from ui.data import cached
from ui.fragments import guarded_fragment
from ui.i18n import language, t
from ui.labels import format_func, label, labelled, limit_percent
from ui.sidebar import active_filters
from ui.text import plain
from ui.theme import CARRIER_COLOURS, GRADE_COLOURS, PRIMARY, SECONDARY, STATUS_COLOURS, colour_scale
from ui.widgets import Card, download_csv, empty_state, kpi_row, money_column, percent_column

COMPONENT_LABELS = {"goods": N_("Goods"), "freight": N_("Freight"), "insurance": N_("Insurance"), "duty": N_("Duty"),
                    "vat": N_("VAT / GST"), "fees": N_("Fees (DDP surcharge)"), "total": N_("Landed cost")}
PAYER_LABELS = {"seller": N_("Seller"), "buyer": N_("Buyer"), "checkout": N_("Buyer, collected at checkout")}
DUTY_LABELS = {"none": N_("no duty"), "ad_valorem_cif": N_("duty at the category rate on the CIF value"),
               "ad_valorem_fob": N_("duty at the category rate on the goods value"),
               "flat_per_line": N_("flat duty per tariff line")}
VAT_LABELS = {"checkout": N_("VAT/GST collected from the buyer at checkout"),
              "border": N_("VAT/GST due at the border")}
SECTIONS = {"calculator": N_("Parcel calculator"), "routes": N_("Fulfilment routes"),
            "delivery": N_("Delivery performance"), "inventory": N_("Inventory"), "suppliers": N_("Suppliers"),
            "what-if": N_("Shipping what-if")}
SERVICE_LEVEL_OPTIONS = list(logistics.SERVICE_LEVELS)


def render() -> None:
    user = guard("viewer")
    filters, today = active_filters(), clock.today()
    st.title(t("Logistics"))
    st.caption(t("Which way to ship, what it costs to land, whether carriers deliver on time, what to reorder "
                 "and which suppliers slip. Amounts in {currency}.", currency=filters.currency))
    manager = users.role_allows(user.role, "manager")
    # Labels are translated here, not inside format_func, so the callable never needs the session (AppTest
    # calls it outside the script run).
    sections = {key: t(label) for key, label in SECTIONS.items() if manager or key != "what-if"}
    # One section at a time: only what is on screen is queried and drawn, so reruns stay fast.
    section = st.segmented_control(t("Section"), list(sections), format_func=sections.get,
                                   default="calculator", key="lg_section", required=True,
                                   label_visibility="collapsed")
    if section not in sections:
        section = "calculator"
    if section == "calculator":
        _parcel_calculator(filters, today)
    elif section == "routes":
        _routes(filters, today)
    elif section == "delivery":
        _delivery(filters)
    elif section == "inventory":
        _inventory(filters, today)
    elif section == "suppliers":
        _suppliers(filters)
    else:
        _what_if(filters)


# --- parcel calculator ---------------------------------------------------------------------------------------


def _parcel_calculator(filters: Filters, today: dt.date) -> None:
    ccy, lang = filters.currency, language()
    pickers = cached(logistics.picker_lists)
    markets, categories = pickers["markets"], pickers["categories"]
    market_names = dict(zip(markets["code"], markets["name"]))
    category_names = dict(zip(categories["id"].astype(int), categories["name"]))
    if not market_names or not category_names:
        empty_state(t("No markets or categories yet. Load the reference data (python -m data.seed) first."))
        return
    st.subheader(t("Parcel calculator"))
    first, second, third = st.columns(3)
    market_labels = {code: f"{code} · {t(name)}" for code, name in market_names.items()}
    category_labels = {key: t(name) for key, name in category_names.items()}
    market = first.selectbox(t("Destination"), list(market_names), index=_index(list(market_names), "DE"),
                             format_func=market_labels.get, key="lg_market")
    category = first.selectbox(t("Product category"), list(category_names), format_func=category_labels.get,
                               key="lg_category")
    incoterm = first.radio(t("Incoterm"), landed_cost.INCOTERMS, horizontal=True, key="lg_incoterm",
                           help=t("DDP: we pay duty and border VAT and the carrier adds its DDP surcharge. "
                                  "DDU: the buyer pays them on delivery."))
    length = second.number_input(t("Length (cm)"), min_value=0.1, max_value=300.0, value=30.0, step=1.0,
                                 key="lg_length")
    width = second.number_input(t("Width (cm)"), min_value=0.1, max_value=300.0, value=20.0, step=1.0, key="lg_width")
    height = second.number_input(t("Height (cm)"), min_value=0.1, max_value=300.0, value=10.0, step=1.0,
                                 key="lg_height")
    weight = third.number_input(t("Weight per unit (kg)"), min_value=0.01, max_value=500.0, value=0.4, step=0.1,
                                key="lg_weight")
    value = third.number_input(t("Declared value per unit (USD)"), min_value=0.0, max_value=100_000.0, value=50.0,
                               step=5.0, key="lg_value")
    units = third.number_input(t("Units in the parcel"), min_value=1, max_value=500, value=1, step=1, key="lg_units")
    on = st.date_input(t("Ship date (the duty and VAT rules in force that day apply)"), value=today,
                       key="lg_ship_date", format="YYYY-MM-DD")
    dims = (float(length), float(width), float(height))
    with st.spinner(t("Pricing every service…")):
        quotes = cached(landed_cost.parcel_quotes, market, on, int(units), float(value), float(weight), dims,
                        int(category), incoterm, ccy)
    if quotes.empty:
        empty_state(t("No service carries this parcel to {market}. Reduce the weight or size, or split it into "
                      "several parcels.", market=market))
        return
    best = quotes.iloc[0]
    kpi_row([
        Card(t("Cheapest landed cost per unit"), formatting.money(best["per_unit"], ccy, lang),
             help=t("Goods, freight, insurance, fees, duty we pay and import VAT we cannot reclaim, per unit.")),
        Card(t("Cheapest service"), label(codes.SHIPPING_SERVICES, best["service"])),
        Card(t("Chargeable weight"), t("{kg} kg", kg=formatting.number(best["chargeable_kg"], lang, 2))),
        Card(t("Transit days"), f"{int(best['days_min'])}–{int(best['days_max'])}"),
    ])
    table = quotes.assign(days=quotes["days_min"].astype(int).astype(str) + "–" + quotes["days_max"].astype(int)
                          .astype(str), mode=labelled(quotes["mode"], codes.SHIPPING_MODES),
                          service=labelled(quotes["service"], codes.SHIPPING_SERVICES))
    st.dataframe(
        table[["service", "carrier", "mode", "chargeable_kg", "freight", "duty", "vat", "fees", "total", "per_unit",
               "days"]],
        hide_index=True, width="stretch",
        column_config={
            "service": t("Service"), "carrier": t("Carrier"), "mode": t("Mode"),
            "chargeable_kg": st.column_config.NumberColumn(t("Chargeable kg"), format="%.2f"),
            "freight": money_column(t("Freight ({currency})", currency=ccy), ccy),
            "duty": money_column(t("Duty ({currency})", currency=ccy), ccy),
            "vat": money_column(t("VAT / GST ({currency})", currency=ccy), ccy),
            "fees": money_column(t("Fees ({currency})", currency=ccy), ccy),
            "total": money_column(t("Landed cost ({currency})", currency=ccy), ccy),
            "per_unit": money_column(t("Per unit ({currency})", currency=ccy), ccy),
            "days": t("Transit days"),
        },
    )
    chosen = st.selectbox(t("Breakdown of"), list(quotes["service"]), key="lg_chosen_service",
                          format_func=format_func(codes.SHIPPING_SERVICES, quotes["service"]))
    cost = cached(landed_cost.landed_cost, market_code=market, service_code=chosen, on=on, units=int(units),
                  unit_value_usd=float(value), unit_weight_kg=float(weight), dims_cm=dims, category_id=int(category),
                  incoterm=incoterm, currency=ccy)
    breakdown = cost.as_frame()
    breakdown["label"] = breakdown["component"].map(lambda c: t(COMPONENT_LABELS[c]))
    breakdown["payer"] = breakdown["paid_by"].map(lambda p: t(PAYER_LABELS[p]))
    if cost.duty_basis:
        st.caption(t("Rule in force on {date}: {duty}; {vat}.", date=formatting.date(on, language()),
                     duty=t(DUTY_LABELS.get(cost.duty_basis, cost.duty_basis)),
                     vat=t(VAT_LABELS.get(cost.vat_collection, cost.vat_collection))),
                   help=cost.rule_note)
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(
            breakdown[["label", "per_shipment", "per_unit", "payer", "in_landed_cost"]], hide_index=True,
            width="stretch",
            column_config={
                "label": t("Component"),
                "per_shipment": money_column(t("Per shipment ({currency})", currency=ccy), ccy),
                "per_unit": money_column(t("Per unit ({currency})", currency=ccy), ccy),
                "payer": t("Paid by"),
                "in_landed_cost": st.column_config.CheckboxColumn(t("In our landed cost")),
            },
        )
    with right:
        parts = breakdown[(breakdown["component"] != "total") & breakdown["in_landed_cost"]]
        amount_title = t("Per unit ({currency})", currency=ccy)
        chart = alt.Chart(parts).mark_bar(color=PRIMARY).encode(
            x=alt.X("per_unit:Q", title=amount_title),
            y=alt.Y("label:N", title=None, sort=None),
            tooltip=[alt.Tooltip("label:N", title=t("Component")),
                     alt.Tooltip("per_unit:Q", title=amount_title, format=",.2f")],
        ).properties(title=t("Landed cost per unit with {service} ({currency})",
                             service=label(codes.SHIPPING_SERVICES, chosen), currency=ccy),
                     height=220)
        st.altair_chart(chart, width="stretch")


def _index(options: list, wanted) -> int:
    return options.index(wanted) if wanted in options else 0


# --- fulfilment routes ---------------------------------------------------------------------------------------


def _routes(filters: Filters, today: dt.date) -> None:
    ccy, lang = filters.currency, language()
    st.subheader(t("Fulfilment routes"))
    st.caption(t("Direct parcels ship one unit per order, DDP, declared at the list price. Warehouse routes ship a "
                 "batch by air or sea, pay duty on the factory cost (import VAT reclaimed), then the cheapest last "
                 "mile. Cost per unit includes the product cost."))
    pickers = cached(logistics.picker_lists)
    products, markets = pickers["products"], pickers["markets"]
    if products.empty:
        empty_state(t("No active SKUs yet. Add products or load the demo data."))
        return
    labels = dict(zip(products["id"].astype(int), products["sku"] + " · " + products["name"]))
    first, second, third = st.columns([3, 1, 1])
    product_id = first.selectbox(t("SKU"), list(labels), format_func=labels.get, key="lg_route_sku")
    market = second.selectbox(t("Market"), list(markets["code"]), index=_index(list(markets["code"]), "US"),
                              key="lg_route_market")
    batch = third.number_input(t("Batch (units)"), min_value=10, max_value=20_000, value=200, step=50,
                               key="lg_route_batch")
    options = cached(logistics.routes_in_currency, int(product_id), market, today, int(batch), ccy)
    if options.empty:
        empty_state(t("No route reaches {market} for this SKU. Try another market.", market=market))
        return
    options = options.assign(
        route_label=labelled(options["route"], codes.ROUTES),
        service=labelled(options["service"], codes.SHIPPING_SERVICES),
        last_mile=labelled(options["last_mile"], codes.SHIPPING_SERVICES),
        days=options["days_min"].astype(int).astype(str) + "–" + options["days_max"].astype(int).astype(str),
    )
    best = options.iloc[0]
    st.success(t("Cheapest: {route} via {service} at {cost} per unit, {days} days to the customer.",
                 route=best["route_label"], service=best["service"], cost=formatting.money(best["cost_per_unit"],
                                                                                         ccy, lang),
                 days=best["days"]), icon=":material/local_shipping:")
    st.dataframe(
        options[["route_label", "service", "last_mile", "cost_per_unit", "freight_per_unit", "duty_per_unit", "days",
                 "batch_units", "cash_in_transit", "carrying_cost_per_unit"]],
        hide_index=True, width="stretch",
        column_config={
            "route_label": t("Route"), "service": t("Service"), "last_mile": t("Last mile"),
            "cost_per_unit": money_column(t("Cost per unit ({currency})", currency=ccy), ccy),
            "freight_per_unit": money_column(t("Freight per unit ({currency})", currency=ccy), ccy),
            "duty_per_unit": money_column(t("Duty and taxes per unit ({currency})", currency=ccy), ccy),
            "days": t("Days to customer"),
            "batch_units": st.column_config.NumberColumn(t("Units per shipment"), format="%d"),
            "cash_in_transit": money_column(t("Cash tied up in transit ({currency})", currency=ccy), ccy),
            "carrying_cost_per_unit": money_column(t("Capital cost per unit ({currency})", currency=ccy), ccy),
        },
    )
    cost_title = t("Cost per unit ({currency})", currency=ccy)
    chart = alt.Chart(options).mark_circle(size=160, color=SECONDARY).encode(
        x=alt.X("days_max:Q", title=t("Days to customer (slowest)")),
        y=alt.Y("cost_per_unit:Q", title=cost_title),
        tooltip=[alt.Tooltip("route_label:N", title=t("Route")), alt.Tooltip("service:N", title=t("Service")),
                 alt.Tooltip("cost_per_unit:Q", title=cost_title, format=",.2f"),
                 alt.Tooltip("days:N", title=t("Days to customer"))],
    ).properties(title=t("Cost per unit against days to the customer ({currency})", currency=ccy), height=280)
    st.altair_chart(chart, width="stretch")


# --- delivery performance -------------------------------------------------------------------------------------


def _delivery(filters: Filters) -> None:
    ccy, lang = filters.currency, language()
    st.subheader(t("Delivery performance"))
    with st.spinner(t("Loading delivery figures…")):
        carriers = cached(logistics.carrier_performance, filters)
    if carriers.empty or carriers["shipments"].sum() == 0:
        empty_state(t("No shipments in this period for these filters. Widen the date range or clear the market "
                      "and channel filters in the sidebar."))
        return
    totals = logistics.delivery_rates(carriers[["shipments", "delivered", "on_time", "lost", "returned",
                                                "late_dispatch", "transit_days_sum", "cost"]].sum().to_frame().T)
    total = totals.iloc[0]
    target = thresholds.ON_TIME_DELIVERY_TARGET
    kpi_row([
        Card(t("On-time delivery"), formatting.percent(total["on_time_rate"], lang),
             delta=t("target {target}", target=formatting.percent(target, lang, 0)),
             help=t("Delivered within the promised days / delivered, by ship date.")),
        Card(t("Mean transit days"), formatting.number(total["mean_transit_days"], lang, 1)),
        Card(t("Lost"), formatting.percent(total["lost_rate"], lang, 2)),
        Card(t("Returned to sender"), formatting.percent(total["returned_rate"], lang, 2)),
        Card(t("Cost per shipment"), formatting.money(total["cost_per_shipment"], ccy, lang)),
    ])
    below = carriers[carriers["on_time_rate"] < target]["carrier"].tolist()
    if below:
        st.warning(t("Below the {target} on-time target: {carriers}", target=formatting.percent(target, lang, 0),
                     carriers=plain(", ".join(below))), icon=":material/warning:")  # names from imports
    left, right = st.columns(2)
    with left:
        rate_title = t("On-time rate")
        bars = alt.Chart(carriers.dropna(subset=["on_time_rate"])).mark_bar().encode(
            x=alt.X("on_time_rate:Q", title=rate_title, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0.5, 1])),
            y=alt.Y("carrier:N", title=t("Carrier"), sort="-x"),
            color=alt.Color("carrier:N", scale=colour_scale(CARRIER_COLOURS), legend=None),
            tooltip=[alt.Tooltip("carrier:N", title=t("Carrier")),
                     alt.Tooltip("on_time_rate:Q", title=rate_title, format=".1%"),
                     alt.Tooltip("delivered:Q", title=t("Delivered"), format=",")],
        )
        rule = alt.Chart(pd.DataFrame({"target": [target]})).mark_rule(color=STATUS_COLOURS["breach"],
                                                                      strokeDash=[4, 4]).encode(x="target:Q")
        st.altair_chart((bars + rule).properties(title=t("On-time rate by carrier (target {target})",
                                                         target=formatting.percent(target, lang, 0)), height=280),
                        width="stretch")
    with right:
        _transit_chart(filters)
    st.dataframe(
        carriers[["carrier", "shipments", "delivered", "on_time_rate", "mean_transit_days", "lost", "returned",
                  "late_dispatch_rate", "cost_per_shipment"]],
        hide_index=True, width="stretch", column_config=_delivery_columns(ccy, "carrier", t("Carrier")),
    )
    _delivery_trends(filters)
    markets = cached(logistics.market_performance, filters)
    st.markdown("**" + t("By market") + "**")
    st.dataframe(
        markets[["market", "shipments", "delivered", "on_time_rate", "mean_transit_days", "lost", "returned",
                 "late_dispatch_rate", "cost_per_shipment"]],
        hide_index=True, width="stretch", column_config=_delivery_columns(ccy, "market", t("Market")),
    )
    exceptions = carriers[(carriers["lost"] > 0) | (carriers["returned"] > 0)]
    st.markdown("**" + t("Exceptions: lost and returned to sender") + "**")
    if exceptions.empty:
        st.success(t("No lost or returned parcels in this period."), icon=":material/check_circle:")
    else:
        st.dataframe(exceptions[["carrier", "lost", "lost_rate", "returned", "returned_rate"]], hide_index=True,
                     width="stretch",
                     column_config={"carrier": t("Carrier"), "lost": t("Lost"), "lost_rate": percent_column(
                         t("Lost rate")), "returned": t("Returned to sender"),
                         "returned_rate": percent_column(t("Returned rate"))})


def _delivery_columns(ccy: str, key: str, label: str) -> dict:
    return {
        key: label, "shipments": st.column_config.NumberColumn(t("Shipments"), format="%,d"),
        "delivered": st.column_config.NumberColumn(t("Delivered"), format="%,d"),
        "on_time_rate": percent_column(t("On-time rate")),
        "mean_transit_days": st.column_config.NumberColumn(t("Mean transit days"), format="%.1f"),
        "lost": st.column_config.NumberColumn(t("Lost"), format="%,d"),
        "returned": st.column_config.NumberColumn(t("Returned to sender"), format="%,d"),
        "late_dispatch_rate": percent_column(t("Late dispatch")),
        "cost_per_shipment": money_column(t("Cost per shipment ({currency})", currency=ccy), ccy),
    }


def _transit_chart(filters: Filters) -> None:
    distribution = cached(logistics.transit_distribution, filters)
    if distribution.empty:
        empty_state(t("No delivered parcels in this period."))
        return
    days_title, share_title = t("Transit days"), t("Share of the carrier's deliveries")
    chart = alt.Chart(distribution).mark_line(point=True).encode(
        x=alt.X("transit_days:Q", title=days_title),
        y=alt.Y("share:Q", title=share_title, axis=alt.Axis(format="%")),
        color=alt.Color("carrier:N", title=t("Carrier"), scale=colour_scale(CARRIER_COLOURS)),
        tooltip=[alt.Tooltip("carrier:N", title=t("Carrier")), alt.Tooltip("transit_days:Q", title=days_title),
                 alt.Tooltip("delivered:Q", title=t("Delivered"), format=","),
                 alt.Tooltip("share:Q", title=share_title, format=".1%")],
    ).properties(title=t("Transit-time distribution by carrier"), height=280)
    st.altair_chart(chart, width="stretch")


def _delivery_trends(filters: Filters) -> None:
    ccy = filters.currency
    trend = cached(logistics.delivery_trend, filters)
    cost = cached(logistics.shipping_cost_trend, filters)
    left, right = st.columns(2)
    week_title = t("Week")
    with left:
        if not trend.empty:
            late_title = t("Late deliveries")
            chart = alt.Chart(trend.dropna(subset=["late_rate"])).mark_line(point=True, color=STATUS_COLOURS["breach"]
                                                                            ).encode(
                x=alt.X("week:T", title=week_title),
                y=alt.Y("late_rate:Q", title=late_title, axis=alt.Axis(format="%")),
                tooltip=[alt.Tooltip("week:T", title=week_title), alt.Tooltip("late_rate:Q", title=late_title,
                                                                              format=".1%"),
                         alt.Tooltip("delivered:Q", title=t("Delivered"), format=",")],
            ).properties(title=t("Late-delivery trend (share of deliveries, by week shipped)"), height=260)
            st.altair_chart(chart, width="stretch")
    with right:
        if not cost.empty:
            per_order_title = t("Shipping cost per order ({currency})", currency=ccy)
            share_title = t("Shipping cost / net revenue")
            base = alt.Chart(cost.dropna(subset=["cost_per_order"])).encode(x=alt.X("week:T", title=week_title))
            bars = base.mark_bar(color=PRIMARY, opacity=0.7).encode(
                y=alt.Y("cost_per_order:Q", title=per_order_title),
                tooltip=[alt.Tooltip("week:T", title=week_title),
                         alt.Tooltip("cost_per_order:Q", title=per_order_title, format=",.2f"),
                         alt.Tooltip("cost_share:Q", title=share_title, format=".1%")],
            )
            line = base.mark_line(color=SECONDARY, point=True).encode(
                y=alt.Y("cost_share:Q", title=share_title, axis=alt.Axis(format="%", titleColor=SECONDARY)),
                tooltip=[alt.Tooltip("week:T", title=week_title),
                         alt.Tooltip("cost_share:Q", title=share_title, format=".1%")],
            )
            st.altair_chart(alt.layer(bars, line).resolve_scale(y="independent").properties(
                title=t("Shipping cost per order and as % of revenue ({currency})", currency=ccy), height=260),
                width="stretch")


# --- inventory ---------------------------------------------------------------------------------------------------


def _inventory(filters: Filters, today: dt.date) -> None:
    ccy, lang = filters.currency, language()
    st.subheader(t("Inventory by warehouse"))
    st.caption(t("Stock on the latest count, demand over the last {days} days, lead times measured on each "
                 "supplier-to-warehouse lane. Not affected by the market and channel filters.",
                 days=logistics.DEMAND_WINDOW_DAYS))
    first, second, third, fourth = st.columns(4)
    level = first.select_slider(t("Service level"), options=SERVICE_LEVEL_OPTIONS, value=0.95,
                                format_func=lambda v: formatting.percent(v, lang, 1), key="lg_service_level")
    order_cost = second.number_input(t("Cost per purchase order (USD)"), min_value=0.0, max_value=10_000.0,
                                     value=logistics.DEFAULT_ORDER_COST_USD, step=10.0, key="lg_order_cost")
    holding = third.number_input(t("Holding cost per year (% of unit cost)"), min_value=1.0, max_value=100.0,
                                 value=logistics.DEFAULT_HOLDING_RATE * 100, step=1.0, key="lg_holding")
    variance = fourth.toggle(t("Include lead-time variance"), value=True, key="lg_lt_variance",
                             help=t("SS = z·√(LT·σd² + d²·σLT²) instead of z·σd·√LT."))
    with st.spinner(t("Planning stock…")):
        plan = cached(logistics.plan_in_currency, today, float(level), float(order_cost), float(holding) / 100,
                      bool(variance), ccy)
    if plan.empty:
        empty_state(t("No stock counts yet. Stock snapshots arrive with the inventory import or the demo seed."))
        return
    warehouses = sorted(plan["warehouse"].dropna().unique())
    chosen = st.multiselect(t("Warehouses"), warehouses, key="lg_warehouses", placeholder=t("All warehouses"))
    if chosen:
        plan = plan[plan["warehouse"].isin(chosen)]
    risk, over = plan[plan["status"] == "stockout_risk"], plan[plan["status"] == "overstock"]
    orders = logistics.purchase_suggestions(plan)
    kpi_row([
        Card(t("SKUs at stockout risk"), formatting.number(len(risk), lang), inverse=True,
             help=t("Days of cover below the lead time.")),
        Card(t("Overstocked SKUs"), formatting.number(len(over), lang),
             help=t("More than {days} days of cover.", days=thresholds.OVERSTOCK_DAYS)),
        Card(t("Suggested purchases"), formatting.money(orders["order_cost"].sum(), ccy, lang, compact=True)),
        Card(t("Units on hand"), formatting.number(plan["available"].sum(), lang)),
    ])
    by_warehouse = plan.groupby("warehouse", as_index=False).agg(
        skus=("sku", "size"), available=("available", "sum"), inbound=("inbound", "sum"),
        daily_demand=("daily_demand", "sum"))
    by_warehouse["cover_days"] = by_warehouse["available"] / by_warehouse["daily_demand"].where(
        by_warehouse["daily_demand"] > 0)
    st.dataframe(by_warehouse, hide_index=True, width="stretch", column_config={
        "warehouse": t("Warehouse"), "skus": st.column_config.NumberColumn(t("SKUs"), format="%d"),
        "available": st.column_config.NumberColumn(t("On hand (available)"), format="%,d"),
        "inbound": st.column_config.NumberColumn(t("Inbound"), format="%,d"),
        "daily_demand": st.column_config.NumberColumn(t("Units a day"), format="%.1f"),
        "cover_days": st.column_config.NumberColumn(t("Days of cover"), format="%.0f"),
    })
    plan_columns = _plan_columns(ccy)
    left, right = st.columns(2)
    with left:
        st.markdown("**" + t("Stockout risk (cover < lead time)") + "**")
        if risk.empty:
            st.success(t("No SKU runs out before a reorder could arrive."), icon=":material/check_circle:")
        else:
            st.dataframe(risk.sort_values("cover_days")[["warehouse", "sku", "available", "inbound", "cover_days",
                                                         "lead_time", "reorder_point"]].head(100),
                         hide_index=True, width="stretch", column_config=plan_columns)
    with right:
        st.markdown("**" + t("Overstock (cover > {days} days)", days=thresholds.OVERSTOCK_DAYS) + "**")
        if over.empty:
            st.success(t("No overstocked SKUs."), icon=":material/check_circle:")
        else:
            st.dataframe(over.sort_values("cover_days", ascending=False, na_position="first")[
                ["warehouse", "sku", "available", "daily_demand", "cover_days"]].head(100),
                hide_index=True, width="stretch", column_config=plan_columns)
    st.markdown("**" + t("Suggested purchase list") + "**")
    if orders.empty:
        st.success(t("Nothing needs ordering: every inventory position is above its reorder point."),
                   icon=":material/check_circle:")
        return
    st.dataframe(orders, hide_index=True, width="stretch", column_config=plan_columns)
    download_csv(orders, f"purchase-list-{today.isoformat()}.csv", key="lg_purchase_csv")


def _plan_columns(ccy: str) -> dict:
    return {
        "warehouse": t("Warehouse"), "sku": "SKU", "name": t("Product"), "supplier": t("Supplier"),
        "available": st.column_config.NumberColumn(t("On hand (available)"), format="%,d"),
        "inbound": st.column_config.NumberColumn(t("Inbound"), format="%,d"),
        "daily_demand": st.column_config.NumberColumn(t("Units a day"), format="%.2f"),
        "cover_days": st.column_config.NumberColumn(t("Days of cover"), format="%.0f"),
        "lead_time": st.column_config.NumberColumn(t("Lead time (days)"), format="%.0f"),
        "reorder_point": st.column_config.NumberColumn(t("Reorder point"), format="%.0f"),
        "order_qty": st.column_config.NumberColumn(t("Order quantity"), format="%,d"),
        "unit_cost_usd": money_column(t("Unit cost ({currency})", currency=ccy), ccy),
        "order_cost": money_column(t("Order cost ({currency})", currency=ccy), ccy),
    }


# --- suppliers -----------------------------------------------------------------------------------------------------


def _suppliers(filters: Filters) -> None:
    lang = language()
    st.subheader(t("Supplier scorecard"))
    weights = {part: limit_percent(weight) for part, weight in logistics.SCORE_WEIGHTS.items()}
    # built before the caption's t(): the extractor does not see a t() nested in another's arguments
    grades = [t("{grade} ≥ {floor}", grade=grade, floor=limit_percent(floor))
              for grade, floor in thresholds.SUPPLIER_GRADE_FLOORS]
    st.caption(t("Purchase orders received in the period. Score = {quality} quality (1 − defect rate − return "
                 "rate) + {on_time} on-time delivery + {lead_time} lead time (vs quoted, and its variability) + "
                 "{price} price index; {grades}, else D.", **weights, grades=", ".join(grades)))
    overview = cached(logistics.supplier_overview, filters.start, filters.end)
    card, trend = overview["scorecard"], overview["trend"]
    if card.empty:
        empty_state(t("No purchase orders were received in this period. Widen the date range in the sidebar."))
        return
    grades = card["grade"].value_counts()
    kpi_row([Card(t("Grade {grade}", grade=g), formatting.number(int(grades.get(g, 0)), lang)) for g in "ABCD"])
    st.dataframe(
        card, hide_index=True, width="stretch",
        column_config={
            "supplier": t("Supplier"), "pos": st.column_config.NumberColumn(t("POs received"), format="%d"),
            "units_received": st.column_config.NumberColumn(t("Units received"), format="%,d"),
            "defect_rate": percent_column(t("Defect rate")), "return_rate": percent_column(t("Return rate")),
            "quality": percent_column(t("Quality")), "on_time_rate": percent_column(t("On-time delivery")),
            "lead_time": st.column_config.NumberColumn(t("Lead time (days)"), format="%.1f"),
            "lead_time_sd": st.column_config.NumberColumn(t("Lead time σ (days)"), format="%.1f"),
            "quoted_lead_time": st.column_config.NumberColumn(t("Quoted (days)"), format="%d"),
            "lead_time_score": percent_column(t("Lead-time score")),
            "price_index": st.column_config.NumberColumn(t("Price index"), format="%.1f"),
            "score": st.column_config.ProgressColumn(t("Score"), min_value=0.0, max_value=1.0, format="percent"),
            "grade": t("Grade"),
        },
    )
    if not trend.empty:
        score_title = t("Score")
        chart = alt.Chart(trend).mark_line(point=True).encode(
            x=alt.X("period_end:T", title=t("Quarter ending")),
            y=alt.Y("score:Q", title=score_title, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0.4, 1])),
            color=alt.Color("supplier:N", title=t("Supplier"), legend=alt.Legend(orient="bottom", columns=2)),
            tooltip=[alt.Tooltip("supplier:N", title=t("Supplier")),
                     alt.Tooltip("period_end:T", title=t("Quarter ending")),
                     alt.Tooltip("score:Q", title=score_title, format=".1%"),
                     alt.Tooltip("grade:N", title=t("Grade"))],
        ).properties(title=t("Supplier score by quarter"), height=360)
        floors = pd.DataFrame(thresholds.SUPPLIER_GRADE_FLOORS, columns=["grade", "floor"])
        grade_rules = alt.Chart(floors).mark_rule(
            strokeDash=[3, 3]).encode(y="floor:Q", color=alt.Color("grade:N", scale=colour_scale(GRADE_COLOURS),
                                                                    legend=None))
        st.altair_chart(chart + grade_rules, width="stretch")


# --- shipping what-if (managers) ---------------------------------------------------------------------------------


@guarded_fragment("manager")  # the shipping what-if is a managers' section
def _what_if(filters: Filters) -> None:
    ccy, lang = filters.currency, language()
    st.subheader(t("Shipping what-if"))
    st.caption(t("Based on the shipments in the filtered period, scaled to a {days}-day month. Moved parcels are "
                 "priced at the destination service's mean cost per shipment.",
                 days=formatting.number(logistics.DAYS_PER_MONTH, lang, 1)))
    baseline = cached(logistics.shipping_baseline, filters)
    if baseline.empty:
        empty_state(t("No shipments in this period to build a scenario on. Widen the date range in the sidebar."))
        return
    carriers = sorted(baseline["carrier"].unique())
    st.markdown("**" + t("Rate change per carrier (%)") + "**")
    columns = st.columns(min(len(carriers), 5))
    changes = {}
    for position, carrier in enumerate(carriers):
        changes[carrier] = columns[position % len(columns)].number_input(
            carrier, min_value=-50.0, max_value=100.0, value=0.0, step=1.0, key=f"lg_rate_{carrier}") / 100
    services = list(baseline["service"])
    first, second, third = st.columns(3)
    service_names = {"": t("(no move)")} | {s: label(codes.SHIPPING_SERVICES, s) for s in services}
    move_from = first.selectbox(t("Move volume from"), [""] + services, key="lg_move_from",
                                format_func=service_names.get)
    move_to = second.selectbox(t("to"), [""] + services, key="lg_move_to", format_func=service_names.get)
    share = third.slider(t("Share moved"), min_value=0, max_value=100, value=0, step=5, key="lg_move_share",
                         format="%d%%") / 100
    result = logistics.shipping_what_if(baseline, filters.days, changes, move_from or None, move_to or None, share)
    result = result.assign(service=labelled(result["service"], codes.SHIPPING_SERVICES))
    before, after = result["monthly_before"].sum(), result["monthly_after"].sum()
    change = after - before
    kpi_row([
        Card(t("Monthly shipping cost now"), formatting.money(before, ccy, lang)),
        Card(t("Monthly shipping cost in the scenario"), formatting.money(after, ccy, lang),
             delta=("+" if change >= 0 else "") + formatting.money(change, ccy, lang), inverse=True),
    ])
    change_title = t("Monthly change ({currency})", currency=ccy)
    chart = alt.Chart(result).mark_bar().encode(
        x=alt.X("monthly_change:Q", title=change_title),
        y=alt.Y("service:N", title=t("Service"), sort="-x"),
        color=alt.Color("carrier:N", title=t("Carrier"), scale=colour_scale(CARRIER_COLOURS)),
        tooltip=[alt.Tooltip("service:N", title=t("Service")), alt.Tooltip("carrier:N", title=t("Carrier")),
                 alt.Tooltip("monthly_change:Q", title=change_title, format=",.0f")],
    ).properties(title=t("Monthly cost impact by service ({currency})", currency=ccy), height=300)
    st.altair_chart(chart, width="stretch")
    st.dataframe(result, hide_index=True, width="stretch", column_config={
        "carrier": t("Carrier"), "service": t("Service"),
        "shipments": st.column_config.NumberColumn(t("Shipments in the period"), format="%,d"),
        "monthly_before": money_column(t("Monthly now ({currency})", currency=ccy), ccy),
        "shipments_after": st.column_config.NumberColumn(t("Shipments in the scenario"), format="%,.0f"),
        "monthly_after": money_column(t("Monthly in the scenario ({currency})", currency=ccy), ccy),
        "monthly_change": money_column(change_title, ccy),
    })
