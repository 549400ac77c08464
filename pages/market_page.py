"""Market research (市场分析): performance, seasonality, competitors, attractiveness, SWOT/PEST, consumers."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core import market as mk
from core.platform import labels as codes
from core.platform import users
from core.platform.filters import Filters
from core.platform.i18n import N_
from ui.auth import guard, permission_message
from ui.data import cached, clear_caches, uncached
from ui.i18n import t
from ui.labels import label
from ui.sidebar import active_filters
from ui.text import plain
from ui.theme import MARKET_COLOURS, PRIMARY, SECONDARY, colour_scale
from ui.widgets import download_csv, empty_state, money_column, percent_column

COMPONENT_LABELS = {"size": N_("Size"), "growth": N_("Growth"), "margin": N_("Margin"), "competition": N_("Competition"),
                    "logistics": N_("Logistics cost")}


def render() -> None:
    user = guard("viewer")
    filters = active_filters()
    st.title(t("Market research"))
    with st.spinner(t("Loading figures…")):
        performance = cached(mk.market_performance, filters)
    if performance.empty:
        empty_state(t("No orders in this period for these filters. Widen the date range or clear the market "
                      "and channel filters in the sidebar."))
        return
    _performance(performance, filters)
    _attractiveness(filters)
    _seasonality(filters)
    _competitors(filters)
    _notes(filters, user.username, users.role_allows(user.role, "manager"))
    _consumers(performance, filters)


def _performance(performance: pd.DataFrame, filters: Filters) -> None:
    ccy = filters.currency
    st.subheader(t("Performance by market"))
    st.dataframe(performance, hide_index=True, width="stretch", column_config={
        "market": t("Market"), "name": t("Name"), "gmv": money_column(t("GMV ({currency})", currency=ccy), ccy),
        "orders": st.column_config.NumberColumn(t("Orders"), format="%d"),
        "aov": money_column(t("AOV ({currency})", currency=ccy), ccy), "yoy": percent_column(t("YoY growth")),
        "share": percent_column(t("GMV share")), "repeat_rate": percent_column(t("Repeat-customer rate")),
        "trend": st.column_config.LineChartColumn(t("Monthly GMV"))})
    download_csv(performance.drop(columns="trend"), "market_performance.csv", key="dl_performance")
    gmv_title = t("GMV ({currency})", currency=ccy)
    chart = alt.Chart(performance).mark_bar().encode(
        x=alt.X("market:N", title=t("Market"), sort="-y"), y=alt.Y("gmv:Q", title=gmv_title),
        color=alt.Color("market:N", scale=colour_scale(MARKET_COLOURS, list(performance["market"])), legend=None),
        tooltip=[alt.Tooltip("name:N", title=t("Market")), alt.Tooltip("gmv:Q", title=gmv_title, format=",.0f"),
                 alt.Tooltip("share:Q", title=t("GMV share"), format=".1%"),
                 alt.Tooltip("yoy:Q", title=t("YoY growth"), format="+.1%")],
    ).properties(title=t("GMV by market ({currency})", currency=ccy), height=280)
    st.altair_chart(chart, width="stretch")


def _attractiveness(filters: Filters) -> None:
    st.subheader(t("Market attractiveness"))
    components = cached(mk.attractiveness_components, filters)
    if components.empty:
        return
    scored = mk.attractiveness(components, mk.DEFAULT_WEIGHTS)
    st.caption(t("Weights: {weights}. Each component is scaled 0–100 across the shown markets (best = 100; lower "
                 "competition and logistics cost share score higher).", weights=", ".join(
                     f"{t(COMPONENT_LABELS[k])} {v}" for k, v in mk.DEFAULT_WEIGHTS.items())))
    st.caption(t("Contribution margin and logistics cost share come from the profit ledger, as on the Profit page: "
                 "contribution after every cost / net revenue, and outbound shipping with FBA fulfilment / net "
                 "revenue (USD)."))
    shown = scored[["market", "score", "size", "growth_score", "margin_score", "competition_score", "logistics_score",
                    "gmv", "growth", "margin", "competition", "logistics_share"]]
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "market": t("Market"),
        "score": st.column_config.ProgressColumn(t("Attractiveness"), min_value=0, max_value=100, format="%.0f"),
        "size": st.column_config.NumberColumn(t("Size score"), format="%.0f"),
        "growth_score": st.column_config.NumberColumn(t("Growth score"), format="%.0f"),
        "margin_score": st.column_config.NumberColumn(t("Margin score"), format="%.0f"),
        "competition_score": st.column_config.NumberColumn(t("Competition score"), format="%.0f"),
        "logistics_score": st.column_config.NumberColumn(t("Logistics score"), format="%.0f"),
        "gmv": money_column(t("GMV (USD)"), "USD"), "growth": percent_column(t("YoY growth")),
        "margin": percent_column(t("Contribution margin")),
        "competition": st.column_config.NumberColumn(t("Median competitor reviews"), format="%.0f"),
        "logistics_share": percent_column(t("Logistics cost share"))})
    download_csv(shown, "market_attractiveness.csv", key="dl_attractiveness")


def _seasonality(filters: Filters) -> None:
    st.subheader(t("Seasonality: search interest vs our sales"))
    categories = cached(mk.categories)
    names = dict(zip(categories["id"], categories["name"]))
    category = st.selectbox(t("Category"), list(names), format_func=lambda c: t(names[c]), key="season_category")
    data = cached(mk.seasonality, filters, int(category))
    if data.empty:
        empty_state(t("No search-interest data for this category and these markets."))
        return
    month_title = t("Month")
    heat = alt.Chart(data).mark_rect().encode(
        x=alt.X("yearmonth(month):O", title=month_title), y=alt.Y("market:N", title=t("Market")),
        color=alt.Color("interest:Q", title=t("Search interest (0-100)"), scale=alt.Scale(scheme="blues")),
        tooltip=[alt.Tooltip("market:N", title=t("Market")), alt.Tooltip("yearmonth(month):T", title=month_title),
                 alt.Tooltip("interest:Q", title=t("Search interest (0-100)")),
                 alt.Tooltip("sales_index:Q", title=t("Our sales index (0-100)"), format=".0f"),
                 alt.Tooltip("units:Q", title=t("Units sold"))],
    ).properties(title=t("Search interest by market and month"), height=260)
    gap = heat.mark_rect().encode(
        color=alt.Color("gap:Q", title=t("Interest minus our sales index"), scale=alt.Scale(scheme="redblue",
                                                                                           domainMid=0, reverse=True)),
    ).properties(title=t("Where we lag demand (red = demand ahead of our sales)"))
    left, right = st.columns(2)
    left.altair_chart(heat, width="stretch")
    right.altair_chart(gap, width="stretch")
    download_csv(data, "seasonality.csv", key="dl_seasonality")


def _competitors(filters: Filters) -> None:
    st.subheader(t("Competitor analysis"))
    markets = cached(mk.market_list)
    categories = cached(mk.categories)
    names = dict(zip(categories["id"], categories["name"]))
    left, right = st.columns(2)
    default_market = filters.markets[0] if filters.markets else "US"
    market = left.selectbox(t("Market"), markets, index=markets.index(default_market) if default_market in markets
                            else 0, key="competitor_market")
    category = right.selectbox(t("Category"), list(names), format_func=lambda c: t(names[c]),
                               key="competitor_category")
    view = cached(mk.competitor_view, filters, market, int(category))
    listings, ours = view["listings"], view["ours"]
    if listings.empty:
        empty_state(t("No competitor listings captured for this market and category."))
        return
    share = view["share"]
    percentile = view["median_percentile"]
    st.caption(t("Our median price percentile among competitors: {percentile}. Our share of estimated monthly "
                 "sales: {share}.", percentile="–" if percentile is None else f"{percentile:.0f}",
                 share="–" if share is None else f"{share:.1%}"))
    points = pd.concat([
        listings.assign(who=t("Competitor"), label=listings["competitor"])[["who", "label", "price_usd", "rating",
                                                                            "review_count"]],
        (ours.assign(who=t("Us"), label=ours["sku"])[["who", "label", "price_usd", "rating", "review_count"]]
         if not ours.empty else pd.DataFrame(columns=["who", "label", "price_usd", "rating", "review_count"])),
    ], ignore_index=True)
    chart = alt.Chart(points).mark_point(filled=True).encode(
        x=alt.X("price_usd:Q", title=t("Price (USD, as shown incl. VAT)")),
        y=alt.Y("rating:Q", title=t("Rating (stars)"), scale=alt.Scale(zero=False)),
        color=alt.Color("who:N", title="", scale=alt.Scale(domain=[t("Competitor"), t("Us")],
                                                           range=["#999999", PRIMARY])),
        shape=alt.Shape("who:N", title=""), size=alt.Size("review_count:Q", title=t("Reviews")),
        tooltip=[alt.Tooltip("label:N", title=t("Listing")), alt.Tooltip("price_usd:Q", title="USD", format=",.2f"),
                 alt.Tooltip("rating:Q", title=t("Rating (stars)")),
                 alt.Tooltip("review_count:Q", title=t("Reviews"), format=",")],
    ).properties(title=t("Price vs rating in {market}", market=market), height=320)
    st.altair_chart(chart, width="stretch")
    st.dataframe(listings, hide_index=True, width="stretch", column_config={
        "competitor": t("Competitor"), "title": t("Listing"), "price_local": st.column_config.NumberColumn(
            t("Price (local)"), format="%,.2f"), "price_usd": money_column(t("Price (USD)"), "USD"),
        "rating": st.column_config.NumberColumn(t("Rating"), format="%.1f ★"),
        "review_count": st.column_config.NumberColumn(t("Reviews"), format="%d"),
        "est_monthly_sales": st.column_config.NumberColumn(t("Est. monthly sales"), format="%d")})
    download_csv(listings, "competitors.csv", key="dl_competitors")
    if not ours.empty:
        shown = ours[["sku", "name", "price_usd", "price_percentile", "monthly_units", "rating"]]
        st.dataframe(shown, hide_index=True, width="stretch", column_config={
            "sku": "SKU", "name": t("Product"), "price_usd": money_column(t("Our price (USD)"), "USD"),
            "price_percentile": st.column_config.NumberColumn(t("Price percentile"), format="%.0f"),
            "monthly_units": st.column_config.NumberColumn(t("Units per month"), format="%.1f"),
            "rating": st.column_config.NumberColumn(t("Rating"), format="%.1f ★")})
        download_csv(shown, "our_price_position.csv", key="dl_ours")


def _notes(filters: Filters, username: str, can_edit: bool) -> None:
    st.subheader(t("SWOT and PEST"))
    markets = cached(mk.market_list)
    default_market = filters.markets[0] if filters.markets else "US"
    market = st.selectbox(t("Market"), markets, index=markets.index(default_market) if default_market in markets
                          else 0, key="notes_market")
    notes = uncached(mk.market_notes, market)
    by_box = {(r.framework, r.box): r for r in notes.itertuples()}
    for framework, boxes in mk.FRAMEWORKS.items():
        st.markdown(f"**{framework}**")
        for row_boxes in (boxes[:2], boxes[2:]):
            for column, box in zip(st.columns(2), row_boxes):
                note = by_box.get((framework, box))
                with column.container(border=True):
                    st.markdown(f"**{label(codes.MARKET_NOTE_BOXES, box)}**")
                    st.text(note.body if note is not None else "")
                    if note is not None:
                        st.caption(t("Changed by {user} on {when}", user=plain(note.updated_by),
                                     when=pd.Timestamp(note.updated_at).strftime("%Y-%m-%d %H:%M")))
    if not can_edit:
        st.caption(t("Managers can edit these notes."))
        return
    with st.form("edit_note"):
        st.markdown(t("**Edit a box**"))
        options = [(f, b) for f, boxes in mk.FRAMEWORKS.items() for b in boxes]
        boxes = {o: f"{o[0]} · {label(codes.MARKET_NOTE_BOXES, o[1])}" for o in options}
        choice = st.selectbox(t("Box"), options, format_func=boxes.get,
                              key="note_box")
        current = by_box.get(choice)
        body = st.text_area(t("Note"), value=current.body if current is not None else "", max_chars=mk.MAX_NOTE_LENGTH,
                            key="note_body")
        if st.form_submit_button(t("Save note")):
            try:
                uncached(mk.save_note, username, market, choice[0], choice[1], body)
            except users.PermissionDenied as error:
                st.error(permission_message(error))
            except ValueError as error:
                st.error(str(error))
            else:
                clear_caches()
                st.success(t("Saved."))
                st.rerun()


def _consumers(performance: pd.DataFrame, filters: Filters) -> None:
    st.subheader(t("Consumers"))
    values = cached(mk.order_values, filters)
    if values.empty:
        empty_state(t("No orders in this period for these filters. Widen the date range or clear the market "
                      "and channel filters in the sidebar."))
        return
    chart = alt.Chart(values).mark_line(point=True).encode(
        x=alt.X("band:O", title=t("Order value from (USD)")), y=alt.Y("share:Q", title=t("Share of orders"),
                                                                     axis=alt.Axis(format="%")),
        color=alt.Color("market:N", title=t("Market"), scale=colour_scale(MARKET_COLOURS, list(values["market"]))),
        tooltip=[alt.Tooltip("market:N", title=t("Market")), alt.Tooltip("band:O", title=t("Order value from (USD)")),
                 alt.Tooltip("orders:Q", title=t("Orders"), format=","),
                 alt.Tooltip("share:Q", title=t("Share of orders"), format=".1%")],
    ).properties(title=t("Order-value distribution by market (USD)"), height=300)
    repeat = alt.Chart(performance).mark_bar(color=SECONDARY).encode(
        x=alt.X("market:N", title=t("Market"), sort="-y"),
        y=alt.Y("repeat_rate:Q", title=t("Repeat-customer rate"), axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("market:N", title=t("Market")),
                 alt.Tooltip("repeat_rate:Q", title=t("Repeat-customer rate"), format=".1%")],
    ).properties(title=t("Orders from returning customers"), height=300)
    left, right = st.columns(2)
    left.altair_chart(chart, width="stretch")
    right.altair_chart(repeat, width="stretch")
    download_csv(values, "order_values.csv", key="dl_order_values")
