"""Overview: KPIs against the previous period, the monthly trend, targets and alerts."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from core import overview
from core.platform import clock, formatting
from core.platform import labels as codes
from core.platform.filters import Filters
from core.platform.i18n import N_
from ui.auth import guard
from ui.data import cached
from ui.i18n import language, t
from ui.labels import label, limit_percent
from ui.sidebar import active_filters
from ui.theme import PRIMARY, SECONDARY
from ui.widgets import Card, empty_state, kpi_row, points_delta, relative_delta

RATE_KPIS = {"contribution_margin", "gross_margin", "refund_rate", "on_time_rate"}
MONEY_KPIS = {"net_revenue", "contribution", "gmv", "aov"}
RISING_IS_BAD = {"refund_rate"}


def render() -> None:
    guard("viewer")
    filters, today = active_filters(), clock.today()
    st.title(t("Overview"))
    st.caption(
        t("{start} – {end}, compared with the {days} days before. Amounts in {currency}.",
          start=formatting.date(filters.start, language()), end=formatting.date(filters.end, language()),
          days=filters.days, currency=filters.currency)
    )
    with st.spinner(t("Loading figures…")):
        deltas = cached(overview.kpi_deltas, filters)
    if not next(d for d in deltas if d.name == "orders").current:
        empty_state(t("No orders in this period for these filters. Widen the date range or clear the market "
                      "and channel filters in the sidebar."))
        return
    cards = [_card(d, filters.currency) for d in deltas]
    kpi_row(cards[:4])  # what the business earns: net revenue, contribution, its margin, gross margin
    kpi_row(cards[4:])  # volume and quality
    _trend(filters)
    left, right = st.columns([3, 2])
    with left:
        _targets(filters, today)
    with right:
        _alerts(filters, today)


KPI_LABELS = {
    "net_revenue": N_("Net revenue"), "contribution": N_("Contribution profit"),
    "contribution_margin": N_("Contribution margin"),
    "gmv": N_("GMV"), "orders": N_("Orders"), "aov": N_("AOV"), "gross_margin": N_("Gross margin"),
    "refund_rate": N_("Refund rate"), "on_time_rate": N_("On-time delivery"), "csat": N_("CSAT"),
}
KPI_HELP = {
    "gmv": N_("What customers paid on non-cancelled orders, incl. tax and shipping, at each order day's rate."),
    "aov": N_("Average order value: GMV / orders."),
    "net_revenue": N_("Item revenue net of VAT and discounts, at each order day's rate."),
    "contribution": N_("Net revenue and shipping charged less every cost: product cost, shipping, marketplace and "
                       "payment fees, FX, duty, refunds and returns, chargebacks, advertising and storage. The "
                       "Profit page shows each line."),
    "contribution_margin": N_("Contribution profit / net revenue."),
    "gross_margin": N_("(Net revenue − landed product cost) / net revenue. It leaves out shipping, marketplace and "
                       "payment fees, FX, duty, refunds, chargebacks, advertising and storage: price from the "
                       "contribution margin."),
    "refund_rate": N_("Refunds / GMV of the orders placed in the period."),
    "on_time_rate": N_("Shipments delivered within their promised days / shipments delivered, by ship date."),
    "csat": N_("Mean 1–5 rating on support tickets opened in the period (not split by sales channel)."),
}


def _card(delta: overview.KpiDelta, currency: str) -> Card:
    lang = language()
    value = delta.current
    if delta.name in MONEY_KPIS:
        shown = formatting.money(value, currency, lang, compact=True)
    elif delta.name in RATE_KPIS:
        shown = formatting.percent(value, lang)
    elif delta.name == "csat":
        shown = formatting.number(value, lang, 2)
    else:
        shown = formatting.number(value, lang)
    change = points_delta(delta.difference) if delta.name in RATE_KPIS else relative_delta(delta.change)
    if delta.name == "csat" and delta.difference is not None:
        change = ("+" if delta.difference >= 0 else "") + formatting.number(delta.difference, lang, 2)
    help_text = t(KPI_HELP[delta.name]) if delta.name in KPI_HELP else None
    return Card(t(KPI_LABELS[delta.name]), shown, change, delta.name in RISING_IS_BAD, help_text)


def _trend(filters: Filters) -> None:
    trend = cached(overview.monthly_trend, filters)
    if trend.empty:
        return
    ccy = filters.currency
    month_label, margin_label = t("Month"), t("Contribution margin")
    revenue_label = t("Net revenue ({currency})", currency=ccy)
    tooltip = [
        alt.Tooltip("yearmonth(month):T", title=month_label),
        alt.Tooltip("net_revenue:Q", title=revenue_label, format=",.0f"),
        alt.Tooltip("contribution:Q", title=t("Contribution profit ({currency})", currency=ccy), format=",.0f"),
        alt.Tooltip("margin:Q", title=margin_label, format=".1%"),
        alt.Tooltip("gmv:Q", title=t("GMV ({currency})", currency=ccy), format=",.0f"),
        alt.Tooltip("orders:Q", title=t("Orders"), format=","),
    ]
    base = alt.Chart(trend).encode(x=alt.X("yearmonth(month):O", title=month_label, axis=alt.Axis(labelAngle=0)))
    # a month the period covers only in part is paler: its figures are not the whole month's
    bars = base.mark_bar(color=PRIMARY).encode(
        y=alt.Y("net_revenue:Q", title=revenue_label, axis=alt.Axis(format="~s")),
        opacity=alt.condition("datum.partial", alt.value(0.35), alt.value(0.8)),
        tooltip=tooltip,
    )
    line = base.mark_line(color=SECONDARY, point=True, strokeWidth=2).encode(
        y=alt.Y("margin:Q", title=margin_label, axis=alt.Axis(format="%", titleColor=SECONDARY)),
        tooltip=tooltip,
    )
    chart = alt.layer(bars, line).resolve_scale(y="independent").properties(
        title=t("Monthly net revenue and contribution margin ({currency})", currency=ccy), height=320
    )
    st.altair_chart(chart, width="stretch")
    partial = [m.strftime("%Y-%m") for m, p in zip(trend["month"], trend["partial"]) if pd.notna(p) and bool(p)]
    if partial:
        st.caption(t("Lighter bars: months the date range covers only in part ({months}).",
                     months=", ".join(partial)))


def _targets(filters: Filters, today: dt.date) -> None:
    st.subheader(t("Targets vs actual"))
    targets = cached(overview.targets_vs_actual, filters, today)
    if targets.empty:
        empty_state(t("No GMV targets are set for these months and markets."))
        return
    table = targets.assign(
        month=pd.to_datetime(targets["month"]).dt.strftime("%Y-%m"),
        progress=targets["progress"].clip(upper=1.5),
    )
    st.dataframe(
        table[["month", "market", "owner", "target", "actual", "progress", "expected_share"]],
        hide_index=True,
        width="stretch",
        column_config={
            "month": t("Month"),
            "market": t("Market"),
            "owner": t("Owner"),
            "target": st.column_config.NumberColumn(t("Target ({currency})", currency=filters.currency),
                                                    format="%,.0f"),
            "actual": st.column_config.NumberColumn(t("Actual ({currency})", currency=filters.currency),
                                                    format="%,.0f"),
            "progress": st.column_config.ProgressColumn(t("Progress"), min_value=0.0, max_value=1.0,
                                                        format="percent"),
            "expected_share": st.column_config.ProgressColumn(t("Month elapsed"), min_value=0.0, max_value=1.0,
                                                              format="percent"),
        },
    )


ALERT_LABELS = {
    "late_shipment_rate": N_("Late shipment rate ({scope})"),
    "on_time_delivery": N_("On-time delivery ({scope})"),
    "vamp_ratio": N_("Visa VAMP ratio (cards)"),
    "stock_cover": N_("Stock cover of {scope}"),
}


def _alerts(filters: Filters, today: dt.date) -> None:
    st.subheader(t("Alerts"))
    found = cached(overview.alerts, filters, today)
    if not found:
        st.success(t("Nothing breaches a threshold for these filters."), icon=":material/check_circle:")
        return
    lang = language()
    stock = [a for a in found if a.metric == "stock_cover"]
    for alert in [a for a in found if a.metric != "stock_cover"]:
        # late shipment is watched per sales channel (a code); on-time delivery per carrier (a name)
        scope = label(codes.SALES_CHANNELS, alert.scope) if alert.metric == "late_shipment_rate" else alert.scope
        text = t("{label}: {value} (limit {limit})", label=t(ALERT_LABELS[alert.metric], scope=scope),
                 value=formatting.percent(alert.value, lang, 2), limit=limit_percent(alert.limit))
        (st.error if alert.status == "breach" else st.warning)(text, icon=":material/warning:")
    if stock:
        st.error(t("{count} SKUs will run out before a reorder placed today arrives (cover < supplier lead "
                   "time).", count=len(stock)), icon=":material/inventory_2:")
        st.dataframe(
            pd.DataFrame({"sku": [a.scope for a in stock], "cover": [a.value for a in stock],
                          "lead": [a.limit for a in stock]}).sort_values("cover").head(20),
            hide_index=True, width="stretch",
            column_config={"sku": "SKU",
                           "cover": st.column_config.NumberColumn(t("Days of cover"), format="%.1f"),
                           "lead": st.column_config.NumberColumn(t("Lead time (days)"), format="%d")},
        )
