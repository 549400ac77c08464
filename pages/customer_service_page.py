"""Customer service: volume, response and resolution times against SLA targets, CSAT, returns, repeat customers."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core import customer_service as cs
from core import thresholds
from core.platform import formatting
from core.platform import labels as codes
from core.platform.filters import Filters
from core.platform.i18n import N_
from ui.auth import guard
from ui.data import cached
from ui.i18n import language, t
from ui.labels import label, limit_percent
from ui.sidebar import active_filters
from ui.theme import PRIMARY, SECONDARY, STATUS_COLOURS
from ui.widgets import Card, download_csv, empty_state, kpi_row, money_column, percent_column

DIMENSION_LABELS = {"reason": N_("Reason"), "channel": N_("Support channel"), "language": N_("Language"),
                    "market_code": N_("Market")}
DIMENSION_CODES = {"reason": codes.TICKET_REASONS, "channel": codes.TICKET_CHANNELS, "language": codes.LANGUAGES}
SLA_OPTIONS = [1, 2, 4, 8, 12, 24, 48, 72, 96, 120, 168]


def _label(dimension: str, value: str) -> str:
    """Ticket reasons, support channels and languages are our codes; market codes stay as they are."""
    return label(DIMENSION_CODES[dimension], value) if dimension in DIMENSION_CODES else value


def _hours(value: float | None) -> str:
    return "—" if value is None else t("{hours} h", hours=formatting.number(value, language(), 1))


def render() -> None:
    guard("viewer")
    filters = active_filters()
    st.title(t("Customer service"))
    st.caption(t("{start} – {end}. Amounts in {currency}. Tickets are not tied to a sales channel, so the channel "
                 "filter applies only to returns.", start=formatting.date(filters.start, language()),
                 end=formatting.date(filters.end, language()), currency=filters.currency))
    left, right = st.columns(2)
    first_target = left.select_slider(t("First-response target (hours)"), options=SLA_OPTIONS,
                                      value=thresholds.FIRST_RESPONSE_SLA_HOURS, key="cs_first_target")
    resolution_target = right.select_slider(t("Resolution target (hours)"), options=SLA_OPTIONS,
                                            value=thresholds.RESOLUTION_SLA_HOURS, key="cs_resolution_target")
    with st.spinner(t("Loading figures…")):
        k = cached(cs.kpis, filters, float(first_target), float(resolution_target))
    if not k["tickets"]:
        empty_state(t("No tickets in this period for these filters. Widen the date range or clear the market "
                      "filter in the sidebar."))
        return
    lang = language()
    kpi_row([
        Card(t("Tickets"), formatting.number(k["tickets"], lang)),
        Card(t("Tickets per 100 orders"), formatting.number(k["per_100_orders"], lang, 1),
             help=t("Tickets opened / orders placed in the period × 100.")),
        Card(t("First response, median"), _hours(k["first_response_median"]),
             help=t("p90: {p90}", p90=_hours(k["first_response_p90"]))),
        Card(t("First-response SLA breaches"), formatting.percent(k["first_response_breach"], lang),
             help=t("Answered tickets whose first reply took longer than {hours} h.", hours=first_target)),
    ])
    kpi_row([
        Card(t("Resolution, median"), _hours(k["resolution_median"]),
             help=t("p90: {p90}", p90=_hours(k["resolution_p90"]))),
        Card(t("Resolution SLA breaches"), formatting.percent(k["resolution_breach"], lang),
             help=t("Resolved tickets that took longer than {hours} h.", hours=resolution_target)),
        Card("CSAT", formatting.number(k["csat"], lang, 2), help=t("Mean 1–5 rating on tickets opened in the period.")),
        Card(t("Repeat-customer rate"), formatting.percent(k["repeat_rate"], lang),
             help=t("Customers ordering in a month who had ordered in an earlier month / customers ordering in "
                    "that month, over the months the period touches.")),
    ])
    _volume(filters)
    _times(filters, float(first_target), float(resolution_target))
    _csat(filters)
    _returns(filters)
    _cohorts(filters)


def _volume(filters: Filters) -> None:
    st.subheader(t("What people write about"))
    by = st.segmented_control(t("Tickets by"), options=list(DIMENSION_LABELS), default="reason",
                              format_func=lambda d: t(DIMENSION_LABELS[d]), key="cs_volume_by", required=True)
    data = cached(cs.tickets_by, filters, by)
    if data.empty:
        empty_state(t("No tickets for these filters."))
        return
    data = data.assign(label=data[by].map(lambda v: _label(by, v)))
    tooltip = [alt.Tooltip("label:N", title=t(DIMENSION_LABELS[by])),
               alt.Tooltip("tickets:Q", title=t("Tickets"), format=","),
               alt.Tooltip("share:Q", title=t("Share"), format=".1%"),
               alt.Tooltip("csat:Q", title="CSAT", format=".2f")]
    if by == "market_code":
        tooltip.append(alt.Tooltip("per_100_orders:Q", title=t("Tickets per 100 orders"), format=".1f"))
    chart = alt.Chart(data).mark_bar(color=PRIMARY).encode(
        y=alt.Y("label:N", title=None, sort="-x"), x=alt.X("tickets:Q", title=t("Tickets (count)")), tooltip=tooltip,
    ).properties(title=t("Tickets by {dimension}", dimension=t(DIMENSION_LABELS[by]).lower()), height=300)
    st.altair_chart(chart, width="stretch")


def _times(filters: Filters, first_target: float, resolution_target: float) -> None:
    st.subheader(t("Response and resolution times"))
    by = st.segmented_control(t("Split by"), options=["channel", "language"], default="channel",
                              format_func=lambda d: t(DIMENSION_LABELS[d]), key="cs_times_by", required=True)
    times = cached(cs.response_times, filters, by, first_target, resolution_target)
    if times.empty:
        empty_state(t("No answered tickets for these filters."))
        return
    table = times.assign(**{by: times[by].map(lambda v: _label(by, v))})
    hours = {"format": "%.1f h"}
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        by: t(DIMENSION_LABELS[by]), "answered": st.column_config.NumberColumn(t("Answered"), format="%d"),
        "first_response_median": st.column_config.NumberColumn(t("First response, median"), **hours),
        "first_response_p90": st.column_config.NumberColumn(t("First response, p90"), **hours),
        "first_response_breach": percent_column(t("Breaches of {hours} h", hours=int(first_target))),
        "resolved": st.column_config.NumberColumn(t("Resolved"), format="%d"),
        "resolution_median": st.column_config.NumberColumn(t("Resolution, median"), **hours),
        "resolution_p90": st.column_config.NumberColumn(t("Resolution, p90"), **hours),
        "resolution_breach": percent_column(t("Breaches of {hours} h", hours=int(resolution_target))),
    })
    st.caption(t("Median and p90 come from hourly buckets (wider after 24 h), interpolated within the bucket."))


def _csat(filters: Filters) -> None:
    st.subheader(t("Customer satisfaction"))
    trend = cached(cs.csat_trend, filters)
    by_reason = cached(cs.tickets_by, filters, "reason")
    left, right = st.columns(2)
    with left:
        if trend["ratings"].sum() if not trend.empty else 0:
            chart = alt.Chart(trend).mark_line(point=True, color=SECONDARY).encode(
                x=alt.X("yearmonth(month):O", title=t("Month"), axis=alt.Axis(labelAngle=0)),
                y=alt.Y("csat:Q", title=t("CSAT (1–5)"), scale=alt.Scale(domain=[1, 5])),
                tooltip=[alt.Tooltip("yearmonth(month):T", title=t("Month")),
                         alt.Tooltip("csat:Q", title="CSAT", format=".2f"),
                         alt.Tooltip("ratings:Q", title=t("Ratings"), format=",")],
            ).properties(title=t("CSAT per month"), height=260)
            st.altair_chart(chart, width="stretch")
        else:
            empty_state(t("No ratings in this period."))
    with right:
        data = by_reason.dropna(subset=["csat"]) if not by_reason.empty else by_reason
        if data.empty:
            empty_state(t("No ratings in this period."))
        else:
            data = data.assign(label=data["reason"].map(lambda v: _label("reason", v)))
            chart = alt.Chart(data).mark_bar(color=PRIMARY).encode(
                y=alt.Y("label:N", title=None, sort="x"),
                x=alt.X("csat:Q", title=t("CSAT (1–5)"), scale=alt.Scale(domain=[0, 5])),
                tooltip=[alt.Tooltip("label:N", title=t("Reason")), alt.Tooltip("csat:Q", title="CSAT", format=".2f"),
                         alt.Tooltip("tickets:Q", title=t("Tickets"), format=",")],
            ).properties(title=t("CSAT by reason"), height=260)
            st.altair_chart(chart, width="stretch")


def _returns(filters: Filters) -> None:
    st.subheader(t("Returns"))
    ccy = filters.currency
    reasons = cached(cs.returns_by_reason, filters)
    # the limits the warning below names, passed so the flag and its label come from the same thresholds
    skus = cached(cs.returns_by_sku, filters, thresholds.RETURN_RATE_FLAG, thresholds.RETURN_RATE_MIN_UNITS)
    if reasons.empty and skus.empty:
        empty_state(t("No returns in this period for these filters. Widen the date range."))
        return
    if not reasons.empty:
        data = reasons.assign(label=reasons["reason"].map(lambda v: label(codes.RETURN_REASONS, v)))
        long = data.melt(id_vars=["label"], value_vars=["refunds", "return_shipping", "unsellable"],
                         var_name="part", value_name="amount")
        parts = {"refunds": t("Refunds"), "return_shipping": t("Return shipping"),
                 "unsellable": t("Unsellable stock")}
        long["part"] = long["part"].map(parts)
        chart = alt.Chart(long).mark_bar().encode(
            y=alt.Y("label:N", title=None, sort="-x"),
            x=alt.X("amount:Q", title=t("Cost of returns ({currency})", currency=ccy), axis=alt.Axis(format="~s")),
            color=alt.Color("part:N", title=t("Cost"), scale=alt.Scale(
                domain=list(parts.values()), range=[PRIMARY, SECONDARY, STATUS_COLOURS["breach"]])),
            tooltip=[alt.Tooltip("label:N", title=t("Reason")), alt.Tooltip("part:N", title=t("Cost")),
                     alt.Tooltip("amount:Q", title=t("Amount ({currency})", currency=ccy), format=",.0f")],
        ).properties(title=t("Cost of returns by reason ({currency})", currency=ccy), height=260)
        st.altair_chart(chart, width="stretch")
    if not skus.empty:
        flagged = int(skus["flagged"].sum())
        if flagged:
            st.warning(t("{count} SKUs return more than {limit} of units sold: pass them to the product team.",
                         count=flagged, limit=limit_percent(thresholds.RETURN_RATE_FLAG)),
                       icon=":material/assignment_return:")
        st.dataframe(skus.head(200), hide_index=True, width="stretch", column_config={
            "sku": "SKU", "name": t("Product"),
            "units_sold": st.column_config.NumberColumn(t("Units sold"), format="%d"),
            "units_returned": st.column_config.NumberColumn(t("Units returned"), format="%d"),
            "return_rate": percent_column(t("Return rate")),
            "cost": money_column(t("Cost of returns ({currency})", currency=ccy), ccy),
            "flagged": st.column_config.CheckboxColumn(t("Over threshold")),
        })
        st.caption(t("Return rate = units returned / units sold, by order month (the months the period touches). "
                     "Cost = refunds + return shipping + landed cost of units that cannot be resold."))
        download_csv(skus, "returns_by_sku.csv", key="cs_returns_csv")


def _cohorts(filters: Filters) -> None:
    st.subheader(t("Do customers come back?"))
    cohorts = cached(cs.cohort_retention, filters)
    if cohorts.empty:
        empty_state(t("No first orders in the 12 months up to the end of the period."))
        return
    data = cohorts[cohorts["months_since"] > 0].assign(cohort=pd.to_datetime(cohorts["cohort_month"]).dt.strftime(
        "%Y-%m"))
    if data.empty:
        empty_state(t("No customer has come back yet in these months."))
        return
    chart = alt.Chart(data).mark_rect().encode(
        x=alt.X("months_since:O", title=t("Months since first order")),
        y=alt.Y("cohort:O", title=t("First-order month")),
        color=alt.Color("retention:Q", title=t("Retention (%)"), scale=alt.Scale(scheme="blues"),
                        legend=alt.Legend(format="%")),
        tooltip=[alt.Tooltip("cohort:O", title=t("First-order month")),
                 alt.Tooltip("months_since:O", title=t("Months since first order")),
                 alt.Tooltip("customers:Q", title=t("Customers back"), format=","),
                 alt.Tooltip("cohort_size:Q", title=t("Cohort size"), format=","),
                 alt.Tooltip("retention:Q", title=t("Retention (%)"), format=".1%")],
    ).properties(title=t("Monthly cohort retention: share of each first-order month ordering again"), height=320)
    st.altair_chart(chart, width="stretch")
