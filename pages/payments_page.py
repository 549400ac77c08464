"""Payments and settlement: method mix, authorisation, fees, payouts, FX exposure, disputes against scheme limits."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core import payments, thresholds
from core.platform import clock, formatting
from core.platform import labels as codes
from core.platform.filters import Filters
from core.platform.i18n import N_
from ui.auth import guard
from ui.data import cached
from ui.fragments import guarded_fragment
from ui.i18n import language, t
from ui.labels import label as code_label
from ui.labels import limit_number, limit_percent
from ui.sidebar import active_filters
from ui.theme import PRIMARY, SECONDARY, STATUS_COLOURS, colour_scale
from ui.widgets import Card, download_csv, empty_state, kpi_row, money_column, percent_column

STATUS_LABELS = {"ok": N_("OK"), "warning": N_("Warning"), "excessive": N_("Excessive"), "ECM": "ECM", "HECM": "HECM"}
VAMP_STATUS_COLOURS = {"ok": STATUS_COLOURS["ok"], "warning": STATUS_COLOURS["warning"],
                       "excessive": STATUS_COLOURS["breach"]}


def _method(code: str) -> str:
    return code_label(codes.PAYMENT_METHODS, code)


def _gateway(code: str) -> str:
    return code_label(codes.PAYMENT_GATEWAYS, code)


def render() -> None:
    guard("viewer")
    filters, today = active_filters(), clock.today()
    st.title(t("Payments"))
    st.caption(t("{start} – {end}. Amounts in {currency}. Cash in transit is today's position.",
                 start=formatting.date(filters.start, language()), end=formatting.date(filters.end, language()),
                 currency=filters.currency))
    with st.spinner(t("Loading figures…")):
        k = cached(payments.kpis, filters)
        transit = cached(payments.cash_in_transit, filters, today)
    if not k["attempts"]:
        empty_state(t("No payments in this period for these filters. Widen the date range or clear the market "
                      "and channel filters in the sidebar."))
        return
    _kpis(k, transit, filters.currency)
    _methods(filters)
    _fees(filters)
    _settlement(filters, transit)
    _fx(filters)
    _disputes(filters)


def _kpis(k: dict, transit: dict, currency: str) -> None:
    lang = language()
    kpi_row([
        Card(t("Authorisation rate"), formatting.percent(k["auth_rate"], lang),
             help=t("Payment attempts not declined / payment attempts.")),
        Card(t("Effective fee rate"), formatting.percent(k["fee_rate"], lang, 2),
             help=t("Fees (gateway percent, fixed, cross-border and currency conversion, or marketplace referral) "
                    "/ amount captured.")),
        Card(t("Fee per payment"), formatting.money(k["fee_per_payment"], currency, lang),
             help=t("Fees / captured payments.")),
        Card(t("Cash in transit"), formatting.money(transit["total"], currency, lang, compact=True),
             help=t("Captured payments not paid out yet, at today's rate.")),
        Card(t("Dispute rate"), formatting.percent(k["dispute_rate"], lang, 2),
             help=t("Disputes raised in the period / captured payments in the period.")),
    ])


# --- method mix and authorisation ---------------------------------------------------------------------------------------


def _methods(filters: Filters) -> None:
    st.subheader(t("How customers pay"))
    mix = cached(payments.method_mix, filters)
    ccy = filters.currency
    left, right = st.columns(2)
    with left:
        if mix.empty:
            empty_state(t("No captured payments for these filters."))
        else:
            data = mix.assign(method_label=mix["method"].map(_method))
            chart = alt.Chart(data).mark_bar().encode(
                y=alt.Y("market:N", title=t("Market"), sort=None),
                x=alt.X("amount:Q", stack="normalize", title=t("Share of amount captured"),
                        axis=alt.Axis(format="%")),
                color=alt.Color("method_label:N", title=t("Method")),
                tooltip=[alt.Tooltip("market:N", title=t("Market")),
                         alt.Tooltip("method_label:N", title=t("Method")),
                         alt.Tooltip("payments:Q", title=t("Payments"), format=","),
                         alt.Tooltip("amount:Q", title=t("Amount ({currency})", currency=ccy), format=",.0f"),
                         alt.Tooltip("share:Q", title=t("Share"), format=".1%")],
            ).properties(title=t("Payment-method mix by market (share of amount, {currency})", currency=ccy),
                         height=340)
            st.altair_chart(chart, width="stretch")
    with right:
        by = st.segmented_control(
            t("Authorisation rate by"), options=["method", "gateway", "card_country"], default="method",
            format_func=lambda o: {"method": t("Method"), "gateway": t("Gateway"),
                                   "card_country": t("Card country")}[o],
            key="pay_auth_by", required=True,
        )
        rates = cached(payments.auth_rates, filters, by)
        if rates.empty:
            empty_state(t("No payment attempts for these filters."))
        else:
            label = {"method": _method, "gateway": _gateway, "card_country": str}[by]
            data = rates.head(15).assign(label=rates[by].head(15).map(label))
            chart = alt.Chart(data).mark_bar(color=PRIMARY).encode(
                y=alt.Y("label:N", title=None, sort="-x"),
                x=alt.X("auth_rate:Q", title=t("Authorisation rate (%)"), axis=alt.Axis(format="%"),
                        scale=alt.Scale(domain=[0, 1])),
                tooltip=[alt.Tooltip("label:N", title=t("Group")),
                         alt.Tooltip("attempts:Q", title=t("Attempts"), format=","),
                         alt.Tooltip("succeeded:Q", title=t("Authorised"), format=","),
                         alt.Tooltip("auth_rate:Q", title=t("Authorisation rate"), format=".1%")],
            ).properties(title=t("Authorisation rate (busiest 15)"), height=300)
            st.altair_chart(chart, width="stretch")
    declines = cached(payments.declines_by_reason, filters)
    if not declines.empty:
        table = declines.assign(reason=declines["reason"].map(lambda r: code_label(codes.DECLINE_REASONS, r)))
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "reason": t("Decline reason"), "declines": st.column_config.NumberColumn(t("Declines"), format="%d"),
            "share": percent_column(t("Share of declines")),
        })


# --- fees -------------------------------------------------------------------------------------------------------------


def _fees(filters: Filters) -> None:
    st.subheader(t("Fees"))
    ccy = filters.currency
    fees = cached(payments.fees_by_gateway, filters)
    monthly = cached(payments.fees_monthly, filters)
    if fees.empty:
        empty_state(t("No fees in this period for these filters."))
        return
    left, right = st.columns(2)
    with left:
        table = fees.assign(gateway=fees["gateway"].map(_gateway), method=fees["method"].map(_method))
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "gateway": t("Gateway"), "method": t("Method"),
            "payments": st.column_config.NumberColumn(t("Payments"), format="%d"),
            "amount": money_column(t("Captured ({currency})", currency=ccy), ccy),
            "fees": money_column(t("Fees ({currency})", currency=ccy), ccy),
            "fee_rate": percent_column(t("Effective fee rate")),
            "fee_per_payment": money_column(t("Fee per payment ({currency})", currency=ccy), ccy),
        })
        download_csv(fees, "fees_by_gateway.csv", key="pay_fees_csv")
    with right:
        if not monthly.empty:
            data = monthly.assign(gateway_label=monthly["gateway"].map(_gateway))
            chart = alt.Chart(data).mark_bar().encode(
                x=alt.X("yearmonth(month):O", title=t("Month"), axis=alt.Axis(labelAngle=0)),
                y=alt.Y("fees:Q", title=t("Fees ({currency})", currency=ccy), axis=alt.Axis(format="~s")),
                color=alt.Color("gateway_label:N", title=t("Gateway")),
                tooltip=[alt.Tooltip("yearmonth(month):T", title=t("Month")),
                         alt.Tooltip("gateway_label:N", title=t("Gateway")),
                         alt.Tooltip("fees:Q", title=t("Fees ({currency})", currency=ccy), format=",.0f"),
                         alt.Tooltip("fee_rate:Q", title=t("Effective fee rate"), format=".2%")],
            ).properties(title=t("Fees per month by gateway ({currency})", currency=ccy), height=300)
            st.altair_chart(chart, width="stretch")
    with st.expander(t("Published fee terms on a USD 100 payment")):
        schedule = cached(payments.published_fees, 100.0, filters.end)
        schedule = schedule.assign(gateway=schedule["gateway"].map(_gateway), method=schedule["method"].map(_method))
        st.dataframe(schedule[["gateway", "method", "percent", "fixed_usd", "cross_border_pct", "fx_pct",
                               "domestic_fee", "cross_border_fee", "settle_hold_days", "payout_interval_days"]],
                     hide_index=True, width="stretch", column_config={
                         "gateway": t("Gateway"), "method": t("Method"), "percent": percent_column(t("Percent")),
                         "fixed_usd": money_column(t("Fixed (USD)"), "USD"),
                         "cross_border_pct": percent_column(t("Cross-border")),
                         "fx_pct": percent_column(t("Currency conversion")),
                         "domestic_fee": money_column(t("Fee, domestic (USD)"), "USD"),
                         "cross_border_fee": money_column(t("Fee, foreign card and currency (USD)"), "USD"),
                         "settle_hold_days": st.column_config.NumberColumn(t("Hold (days)"), format="%d"),
                         "payout_interval_days": st.column_config.NumberColumn(t("Payout every (days)"),
                                                                               format="%d"),
                     })


# --- settlement ---------------------------------------------------------------------------------------------------------


def _settlement(filters: Filters, transit: dict) -> None:
    st.subheader(t("Settlement"))
    ccy = filters.currency
    lag = cached(payments.payout_lag, filters)
    left, right = st.columns(2)
    with left:
        if lag.empty:
            empty_state(t("No payouts arrived in this period. Widen the date range."))
        else:
            data = lag.assign(label=lag["gateway"].map(_gateway))
            chart = alt.Chart(data).mark_bar(color=SECONDARY).encode(
                y=alt.Y("label:N", title=None, sort="-x"),
                x=alt.X("mean_lag_days:Q", title=t("Mean payout lag (days)")),
                tooltip=[alt.Tooltip("label:N", title=t("Gateway or marketplace")),
                         alt.Tooltip("mean_lag_days:Q", title=t("Mean payout lag (days)"), format=".1f"),
                         alt.Tooltip("payments:Q", title=t("Payments"), format=","),
                         alt.Tooltip("amount:Q", title=t("Paid out ({currency})", currency=ccy), format=",.0f")],
            ).properties(title=t("Payout lag: attempt to money received"), height=280)
            st.altair_chart(chart, width="stretch")
    with right:
        calendar = transit["calendar"]
        if calendar.empty:
            empty_state(t("No cash in transit: every captured payment has been paid out."))
        else:
            data = calendar.assign(label=calendar["gateway"].map(_gateway))
            chart = alt.Chart(data).mark_bar().encode(
                x=alt.X("monthdate(day):O", title=t("Expected arrival"), axis=alt.Axis(labelAngle=-45)),
                y=alt.Y("amount:Q", title=t("Expected cash ({currency})", currency=ccy), axis=alt.Axis(format="~s")),
                color=alt.Color("label:N", title=t("Gateway")),
                tooltip=[alt.Tooltip("day:T", title=t("Expected arrival")),
                         alt.Tooltip("label:N", title=t("Gateway")),
                         alt.Tooltip("amount:Q", title=t("Expected cash ({currency})", currency=ccy),
                                     format=",.0f")],
            ).properties(title=t("Cash arrivals expected over the next 30 days ({currency})", currency=ccy),
                         height=280)
            st.altair_chart(chart, width="stretch")
            st.caption(t("Expected arrival = attempt day + that gateway's mean payout lag over the last 90 days; "
                         "overdue money is shown tomorrow."))


# --- FX -----------------------------------------------------------------------------------------------------------------


def _fx(filters: Filters) -> None:
    st.subheader(t("Currencies"))
    ccy = filters.currency
    fx = cached(payments.fx_by_currency, filters)
    transit = cached(payments.cash_in_transit, filters, clock.today())["by_currency"]
    if fx.empty:
        empty_state(t("No sales or payouts in this period for these filters."))
        return
    table = fx.merge(transit[["currency", "amount"]].rename(columns={"amount": "receivables"}), on="currency",
                     how="left").fillna({"receivables": 0.0})
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "currency": t("Currency"), "gmv": money_column(t("GMV ({currency})", currency=ccy), ccy),
        "net_revenue": money_column(t("Net revenue ({currency})", currency=ccy), ccy),
        "paid_out": money_column(t("Paid out ({currency})", currency=ccy), ccy),
        "realised_fx": money_column(t("Realised FX gain/loss ({currency})", currency=ccy), ccy),
        "receivables": money_column(t("Receivables in transit ({currency})", currency=ccy), ccy),
    })
    st.caption(t("Realised FX = payouts valued at the payout-day rate − the same amounts at the order-day rate."))
    download_csv(table, "currencies.csv", key="pay_fx_csv")
    _fx_shock(filters)


@guarded_fragment("viewer")
def _fx_shock(filters: Filters) -> None:
    """Changes nothing stored: every role may play with it."""
    exposure = cached(payments.fx_exposure, filters)
    currencies = sorted(c for c in set(exposure["revenue"]) | set(exposure["costs"]) if c != filters.currency)
    st.subheader(t("FX shock"))
    st.caption(t("Move a currency against {currency} (+ = that currency is worth more) to see the contribution "
                 "margin after every cost of the profit ledger. Product cost is held in CNY, outbound shipping in "
                 "USD, every other cost in the currency of the market that sold.", currency=filters.currency))
    if not exposure["revenue"]:
        empty_state(t("No sales in this period for these filters."))
        return
    shocks = {}
    shock_max = round(thresholds.FX_SHOCK_MAX * 100)
    columns = st.columns(4)
    for index, code in enumerate(currencies):
        with columns[index % 4]:
            shocks[code] = st.slider(code, min_value=-shock_max, max_value=shock_max, value=0, step=1, format="%d%%",
                                     key=f"fx_shock_{code}") / 100
    base_profit, base_margin = payments.shocked_margin(exposure["revenue"], exposure["costs"], {})
    profit, margin = payments.shocked_margin(exposure["revenue"], exposure["costs"], shocks)
    lang = language()
    delta_pp = None if margin is None or base_margin is None else (margin - base_margin) * 100
    kpi_row([
        Card(t("Margin after FX shock"), formatting.percent(margin, lang, 2),
             None if delta_pp is None else ("+" if delta_pp >= 0 else "") + formatting.number(delta_pp, lang, 2)
             + " " + t("pp")),
        Card(t("Profit after FX shock ({currency})", currency=filters.currency),
             formatting.money(profit, filters.currency, lang, compact=True),
             formatting.money(profit - base_profit, filters.currency, lang, compact=True)),
    ])


# --- disputes and refunds -----------------------------------------------------------------------------------------------


def _scheme_rules() -> str:
    """The Visa and Mastercard limits as core.payments applies them (>= at each)."""
    return t("VAMP: (fraud reports + disputes) / settled card-not-present payments; excessive at ≥ {vamp} "
             "({vamp_new} from {vamp_new_from}) once {vamp_count} are counted. Mastercard ECM: ≥ {ecm_count} "
             "chargebacks and ≥ {ecm} of last month's transactions; HECM: ≥ {hecm_count} and ≥ {hecm}.",
             vamp=limit_percent(thresholds.VAMP_EXCESSIVE_BEFORE_2026_04),
             vamp_new=limit_percent(thresholds.VAMP_EXCESSIVE_FROM_2026_04),
             vamp_new_from=formatting.date(thresholds.VAMP_NEW_LIMIT_FROM, language()),
             vamp_count=limit_number(thresholds.VAMP_MIN_COUNT),
             ecm_count=limit_number(thresholds.ECM_MIN_CHARGEBACKS), ecm=limit_percent(thresholds.ECM_MIN_RATIO),
             hecm_count=limit_number(thresholds.HECM_MIN_CHARGEBACKS), hecm=limit_percent(thresholds.HECM_MIN_RATIO))


def _disputes(filters: Filters) -> None:
    st.subheader(t("Disputes and refunds"))
    ccy = filters.currency
    monitoring = cached(payments.dispute_monitoring, filters)
    if monitoring["settled_cnp"].sum() == 0:
        empty_state(t("No card payments in this period for these filters."))
    else:
        data = monitoring.assign(month=pd.to_datetime(monitoring["month"]),
                                 status_label=monitoring["vamp_status"].map(lambda s: t(STATUS_LABELS[s])))
        base = alt.Chart(data).encode(x=alt.X("yearmonth(month):O", title=t("Month"), axis=alt.Axis(labelAngle=0)))
        tooltip = [alt.Tooltip("yearmonth(month):T", title=t("Month")),
                   alt.Tooltip("vamp_ratio:Q", title=t("VAMP ratio"), format=".2%"),
                   alt.Tooltip("vamp_limit:Q", title=t("Limit"), format=".1%"),
                   alt.Tooltip("status_label:N", title=t("Status")),
                   alt.Tooltip("chargeback_ratio:Q", title=t("Chargeback ratio (Mastercard)"), format=".2%")]
        bars = base.mark_bar().encode(
            y=alt.Y("vamp_ratio:Q", title=t("VAMP ratio (%)"), axis=alt.Axis(format="%")),
            color=alt.Color("vamp_status:N", title=t("Status"),
                            scale=colour_scale(VAMP_STATUS_COLOURS), legend=None),
            tooltip=tooltip,
        )
        limit = base.mark_line(color=STATUS_COLOURS["breach"], strokeDash=[6, 3]).encode(y="vamp_limit:Q",
                                                                                         tooltip=tooltip)
        cb = base.mark_line(color=SECONDARY, point=True).encode(y="chargeback_ratio:Q", tooltip=tooltip)
        st.altair_chart(alt.layer(bars, limit, cb).properties(
            title=t("Visa VAMP ratio (bars) against its limit (dashed) and the Mastercard chargeback ratio (line)"),
            height=300), width="stretch")
        table = monitoring.assign(vamp_status=monitoring["vamp_status"].map(lambda s: t(STATUS_LABELS[s])),
                                  ecm_status=monitoring["ecm_status"].map(lambda s: t(STATUS_LABELS[s])),
                                  month=pd.to_datetime(monitoring["month"]).dt.strftime("%Y-%m"))
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "month": t("Month"), "settled_cnp": st.column_config.NumberColumn(t("Settled card payments"), format="%d"),
            "disputes": st.column_config.NumberColumn(t("Disputes"), format="%d"),
            "fraud_reports": st.column_config.NumberColumn(t("Fraud reports"), format="%d"),
            "vamp_ratio": percent_column(t("VAMP ratio")), "vamp_limit": percent_column(t("VAMP limit")),
            "vamp_status": t("VAMP status"), "chargebacks": st.column_config.NumberColumn(t("Chargebacks"),
                                                                                          format="%d"),
            "ecm_status": t("Mastercard ECM"), "chargeback_ratio": percent_column(t("Chargeback ratio")),
        })
        st.caption(_scheme_rules())
        download_csv(monitoring, "dispute_monitoring.csv", key="pay_disputes_csv")
    left, right = st.columns(2)
    with left:
        reasons = cached(payments.disputes_by_reason, filters)
        if reasons.empty:
            empty_state(t("No disputes raised in this period."))
        else:
            shown = reasons.assign(reason=reasons["reason"].map(lambda r: code_label(codes.DISPUTE_REASONS, r)))
            st.dataframe(shown, hide_index=True, width="stretch",
                         column_config={"reason": t("Dispute reason"),
                                        "disputes": st.column_config.NumberColumn(t("Disputes"), format="%d"),
                                        "amount": money_column(t("Amount ({currency})", currency=ccy), ccy)})
    with right:
        refunds = cached(payments.refunds_by_reason, filters)
        if refunds.empty:
            empty_state(t("No refunds on returns in this period."))
        else:
            shown = refunds.assign(reason=refunds["reason"].map(lambda r: code_label(codes.RETURN_REASONS, r)))
            st.dataframe(shown, hide_index=True, width="stretch",
                         column_config={"reason": t("Refund reason"),
                                        "returns": st.column_config.NumberColumn(t("Returns"), format="%d"),
                                        "refunds": money_column(t("Refunds ({currency})", currency=ccy), ccy)})

