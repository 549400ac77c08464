"""Product selection (选品): opportunity ranking, lifecycle, ABC, returns and candidates."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core import product_selection as ps
from core import thresholds
from core.platform import labels as codes
from core.platform import formatting, users
from core.platform.i18n import N_
from ui.auth import guard
from ui.data import cached
from ui.fragments import guarded_fragment
from ui.i18n import language, t
from ui.labels import label, labelled, limit_number, limit_percent
from ui.sidebar import active_filters
from ui.text import plain
from ui.theme import PRIMARY, SECONDARY, STATUS_COLOURS
from ui.widgets import download_csv, empty_state, money_column, percent_column

SUBSCORE_LABELS = {"demand": N_("Demand"), "competition": N_("Competition"), "margin": N_("Margin"), "trend": N_("Trend"),
                   "seasonality": N_("Seasonality"), "shipping": N_("Shipping ease")}
STAGE_LABELS = {"introduction": N_("Introduction"), "growth": N_("Growth"), "maturity": N_("Maturity"), "decline": N_("Decline"),
                "candidate": N_("Candidate")}


def render() -> None:
    user = guard("viewer")
    filters = active_filters()
    st.title(t("Product selection"))
    with st.spinner(t("Scoring products…")):
        table = cached(ps.sku_table, filters)
        market = cached(ps.reference_market, filters)
        fees = cached(ps.fee_context, filters, market)
        costs = cached(ps.landed_costs, market, ps.month_floor(filters.end))
    table = ps.with_margin(table, costs, fees, market)
    if table.empty:
        empty_state(t("No products yet. Import a catalogue or seed the demo data."))
        return
    months = ps.whole_months(filters)
    st.caption(t("Sales, contribution and contribution margin from the profit ledger over the whole months the "
                 "period touches ({start} – {end}), as on the Profit page. A SKU with no sales then shows an "
                 "estimated margin: list price less landed cost and fees in {market}, the filtered market with the "
                 "most revenue.", start=formatting.date(months.start, language()),
                 end=formatting.date(months.end, language()), market=market))
    _ranking(table, users.role_allows(user.role, "manager"), filters.currency)
    _lifecycle(table)
    _abc(table, filters.currency)
    _returns(table, filters.currency)


def _ranking(table: pd.DataFrame, can_edit: bool, currency: str) -> None:
    @guarded_fragment("viewer")
    def ranking() -> None:
        st.subheader(t("Opportunity ranking"))
        weights = dict(ps.DEFAULT_WEIGHTS)
        if can_edit:
            st.caption(t("Move the weights to change how the opportunity score ranks products."))
            columns = st.columns(len(ps.SUBSCORES))
            for column, name in zip(columns, ps.SUBSCORES):
                weights[name] = column.slider(t(SUBSCORE_LABELS[name]), 0, 100, ps.DEFAULT_WEIGHTS[name], 5,
                                              key=f"weight_{name}")
        else:
            st.caption(t("Weights (managers can change them): {weights}", weights=", ".join(
                f"{t(SUBSCORE_LABELS[k])} {v}" for k, v in weights.items())))
        ranked = ps.rank(table, weights)
        st.caption(t("Top three now: {skus}", skus=plain(", ".join(ranked["sku"].head(3)))))
        shown = ranked[["rank", "sku", "name", "status", "category", "opportunity", *ps.SUBSCORES, "contribution",
                        "margin_pct", "margin_estimated"]]
        shown = shown.assign(status=labelled(shown["status"], codes.PRODUCT_STATUSES))
        config = {"rank": t("Rank"), "sku": "SKU", "name": t("Product"), "status": t("Status"),
                  "category": t("Category"),
                  "opportunity": st.column_config.ProgressColumn(t("Opportunity"), min_value=0, max_value=100,
                                                                 format="%.0f"),
                  "contribution": money_column(t("Contribution profit ({currency})", currency=currency), currency),
                  "margin_pct": percent_column(t("Contribution margin")),
                  "margin_estimated": st.column_config.CheckboxColumn(
                      t("Estimated margin"), help=t("No sales in the period: the margin is estimated from the list "
                                                    "price, landed cost and fees, not taken from the ledger."))}
        config.update({k: st.column_config.NumberColumn(t(SUBSCORE_LABELS[k]), format="%.0f") for k in ps.SUBSCORES})
        tab_all, tab_candidates = st.tabs([t("All products"), t("Candidates vs current products")])
        with tab_all:
            st.dataframe(shown, hide_index=True, width="stretch", column_config=config, key="ranking_table")
            download_csv(shown, "opportunity_ranking.csv", key="dl_ranking")
        with tab_candidates:
            compare = shown[ranked["status"].isin(["candidate", "active"])].head(50)
            st.dataframe(compare, hide_index=True, width="stretch", column_config=config)
            download_csv(compare, "candidates_vs_products.csv", key="dl_candidates")
        _blue_ocean(ranked)

    ranking()


def _blue_ocean(ranked: pd.DataFrame) -> None:
    data = ranked.head(150)[["sku", "name", "status", "demand", "competition", "margin", "opportunity"]]
    data = data.assign(status=labelled(data["status"], codes.PRODUCT_STATUSES))
    statuses = [label(codes.PRODUCT_STATUSES, s) for s in ("active", "candidate", "discontinued")]
    chart = alt.Chart(data).mark_circle(opacity=0.7).encode(
        x=alt.X("competition:Q", title=t("Competition score (100 = little competition)"),
                scale=alt.Scale(domain=[0, 100])),
        y=alt.Y("demand:Q", title=t("Demand score (0-100)"), scale=alt.Scale(domain=[0, 100])),
        size=alt.Size("margin:Q", title=t("Margin score"), scale=alt.Scale(range=[20, 400])),
        color=alt.Color("status:N", title=t("Status"), scale=alt.Scale(
            domain=statuses, range=[PRIMARY, SECONDARY, "#999999"])),
        tooltip=[alt.Tooltip("sku:N", title="SKU"), alt.Tooltip("name:N", title=t("Product")),
                 alt.Tooltip("demand:Q", title=t("Demand"), format=".0f"),
                 alt.Tooltip("competition:Q", title=t("Competition"), format=".0f"),
                 alt.Tooltip("margin:Q", title=t("Margin"), format=".0f"),
                 alt.Tooltip("opportunity:Q", title=t("Opportunity"), format=".0f")],
    ).properties(title=t("Blue ocean: demand vs competition (bubble = margin score), top 150"), height=380)
    st.altair_chart(chart, width="stretch")


def _lifecycle(table: pd.DataFrame) -> None:
    st.subheader(t("Lifecycle stages"))
    growth = limit_percent(thresholds.LIFECYCLE_GROWTH_MIN)
    st.caption(t("Introduction: on sale under {months} months. Otherwise the last 3 full months against the 3 "
                 "before: +{growth} or more growth, −{growth} or less decline, maturity in between.",
                 months=thresholds.LIFECYCLE_INTRODUCTION_MONTHS, growth=growth))
    selling = table[table["status"] != "candidate"]
    counts = selling["lifecycle"].value_counts().reindex(ps.LIFECYCLE_STAGES, fill_value=0).reset_index()
    counts.columns = ["stage", "skus"]
    counts["label"] = counts["stage"].map(lambda s: t(STAGE_LABELS[s]))
    left, right = st.columns([2, 3])
    with left:
        chart = alt.Chart(counts).mark_bar(color=PRIMARY).encode(
            x=alt.X("label:N", title=t("Stage"), sort=None), y=alt.Y("skus:Q", title=t("SKUs")),
            tooltip=[alt.Tooltip("label:N", title=t("Stage")), alt.Tooltip("skus:Q", title=t("SKUs"))],
        ).properties(title=t("SKUs per lifecycle stage"), height=260)
        st.altair_chart(chart, width="stretch")
    with right:
        declining = selling[(selling["lifecycle"] == "decline") & (selling["on_hand"] > 0)]
        st.markdown(t("**Declining SKUs that still have stock**"))
        if declining.empty:
            empty_state(t("No declining SKU has stock left."))
        else:
            shown = declining[["sku", "name", "on_hand", "units", "monthly_units"]].sort_values(
                "on_hand", ascending=False)
            st.dataframe(shown, hide_index=True, width="stretch", column_config={
                "sku": "SKU", "name": t("Product"), "on_hand": st.column_config.NumberColumn(t("On hand"), format="%d"),
                "units": st.column_config.NumberColumn(t("Units in period"), format="%d"),
                "monthly_units": st.column_config.LineChartColumn(t("Units, last 12 months"))})
            download_csv(shown, "declining_with_stock.csv", key="dl_declining")


def _abc(table: pd.DataFrame, currency: str) -> None:
    st.subheader(t("ABC analysis"))
    selling = table[(table["status"] != "candidate") & (table["revenue"] > 0)].sort_values(
        "revenue", ascending=False).reset_index(drop=True)
    if selling.empty:
        empty_state(t("No sales in this period. Widen the date range in the sidebar."))
        return
    selling["cumulative"] = selling["revenue"].cumsum() / selling["revenue"].sum()
    selling["position"] = selling.index + 1
    st.caption(t("A = SKUs making the top {a_share} of revenue, B = the next {b_share}, C = the last {c_share}. "
                 "{a} A, {b} B, {c} C.", a_share=limit_percent(thresholds.ABC_A_SHARE),
                 b_share=limit_percent(round(thresholds.ABC_B_SHARE - thresholds.ABC_A_SHARE, 6)),
                 c_share=limit_percent(round(1 - thresholds.ABC_B_SHARE, 6)),
                 a=int((selling["abc"] == "A").sum()), b=int((selling["abc"] == "B").sum()),
                 c=int((selling["abc"] == "C").sum())))
    revenue_title = t("Net revenue ({currency})", currency=currency)
    base = alt.Chart(selling).encode(x=alt.X("position:Q", title=t("SKUs ranked by revenue")))
    bars = base.mark_bar().encode(
        y=alt.Y("revenue:Q", title=revenue_title),
        color=alt.Color("abc:N", title=t("Class"), scale=alt.Scale(
            domain=["A", "B", "C"], range=[STATUS_COLOURS["ok"], STATUS_COLOURS["warning"], STATUS_COLOURS["breach"]])),
        tooltip=[alt.Tooltip("sku:N", title="SKU"), alt.Tooltip("revenue:Q", title=revenue_title, format=",.0f"),
                 alt.Tooltip("cumulative:Q", title=t("Cumulative share"), format=".1%"),
                 alt.Tooltip("abc:N", title=t("Class"))])
    line = base.mark_line(color=SECONDARY).encode(
        y=alt.Y("cumulative:Q", title=t("Cumulative share of revenue"), axis=alt.Axis(format="%")))
    st.altair_chart(alt.layer(bars, line).resolve_scale(y="independent").properties(
        title=t("Pareto chart of revenue by SKU"), height=300), width="stretch")
    shown = selling[["sku", "name", "abc", "revenue", "cumulative"]]
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "sku": "SKU", "name": t("Product"), "abc": t("Class"), "revenue": money_column(revenue_title, currency),
        "cumulative": percent_column(t("Cumulative share"))})
    download_csv(shown, "abc_analysis.csv", key="dl_abc")


def _returns(table: pd.DataFrame, currency: str) -> None:
    st.subheader(t("Repurchase, ratings and returns"))
    selling = table[(table["status"] != "candidate") & (table["units"] > 0)]
    if selling.empty:
        empty_state(t("No sales in this period. Widen the date range in the sidebar."))
        return
    flagged = int(selling["high_returns"].sum())
    if flagged:
        st.warning(t("{count} SKUs return at least {factor} × their category's rate (and at least {floor}).",
                     count=flagged, factor=limit_number(thresholds.HIGH_RETURN_CATEGORY_FACTOR),
                     floor=limit_percent(thresholds.HIGH_RETURN_RATE_FLOOR)),
                   icon=":material/assignment_return:")
    shown = selling[["sku", "name", "units", "repurchase_rate", "rating", "reviews", "return_rate", "high_returns"]
                    ].sort_values(["high_returns", "return_rate"], ascending=False)
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "sku": "SKU", "name": t("Product"), "units": st.column_config.NumberColumn(t("Units"), format="%d"),
        "repurchase_rate": percent_column(t("Repurchase rate")),
        "rating": st.column_config.NumberColumn(t("Average rating"), format="%.2f ★"),
        "reviews": st.column_config.NumberColumn(t("Reviews"), format="%d"),
        "return_rate": percent_column(t("Return rate")),
        "high_returns": st.column_config.CheckboxColumn(t("High returns"))})
    download_csv(shown, "repurchase_and_returns.csv", key="dl_returns")
