"""Risk: threshold watch, risk register and heat map, policy changes, fraud signals, account health,
concentration and the compliance checklist. Managers edit risks and the checklist; others read."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from core import fraud, risk, thresholds
from core.platform import clock, formatting, users
from core.platform import labels as codes
from core.platform.filters import Filters
from core.platform.i18n import N_
from ui.auth import guard
from ui.data import cached, clear_caches, uncached
from ui.i18n import language, t
from ui.labels import labelled, limit_number, limit_percent
from ui.sidebar import active_filters
from ui.text import plain
from ui.theme import MARKET_COLOURS, PRIMARY, RISK_BAND_COLOURS, STATUS_COLOURS, colour_scale
from ui.widgets import Card, download_csv, empty_state, kpi_row, money_column, percent_column

METRIC_LABELS = {
    "order_defect_rate": N_("Order defect rate ({days} days)"),
    "late_shipment_rate": N_("Late shipment rate"),
    "cancel_rate": N_("Pre-fulfilment cancel rate"),
    "valid_tracking_rate": N_("Valid tracking rate"),
    "on_time_rate": N_("On-time delivery"),
    "vamp_ratio": N_("Visa VAMP ratio (latest month)"),
    "mastercard_ecm_ratio": N_("Mastercard chargeback ratio (latest month)"),
}
STATUS_LABELS = {"ok": N_("OK"), "warning": N_("Early warning"), "breach": N_("Breach")}
STATUS_MARKS = {"ok": "🟢", "warning": "🟡", "breach": "🔴"}
CATEGORY_LABELS = {"market": N_("Market"), "operational": N_("Operational"), "financial": N_("Financial"),
                   "legal_compliance": N_("Legal & compliance"), "supply_chain": N_("Supply chain")}
RISK_STATUS_LABELS = {"open": N_("Open"), "mitigating": N_("Mitigating"), "closed": N_("Closed")}
BAND_LABELS = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High"), "critical": N_("Critical")}
RULE_LABELS = {"velocity": N_("Velocity ({attempts}+ attempts per card, IP or customer in {minutes} minutes)"),
               "country_mismatch": N_("Card, IP and shipping countries differ"),
               "duplicate": N_("Duplicate charge within {hours} hours"),
               "high_value_first": N_("High-value first order (USD {usd}+)"),
               "decline_then_success": N_("Success right after a decline")}
RULE_SHORT = {"velocity": N_("Velocity"), "country_mismatch": N_("Country mismatch"), "duplicate": N_("Duplicate"),
              "high_value_first": N_("High-value first order"), "decline_then_success": N_("Decline then success")}
POLICY_KINDS = {"customs": N_("Customs"), "tax": N_("Tax"), "payments": N_("Payments"),
                "product_safety": N_("Product safety"), "marketplace_fee": N_("Marketplace fee")}
POLICY_STATUS = {"in_force": N_("In force"), "upcoming": N_("Upcoming")}
AREA_LABELS = {"data_protection": N_("Data protection"), "product_safety": N_("Product safety"),
               "trademark": N_("Trademark"), "tax_registration": N_("Tax registration")}
COMPLIANCE_STATUS_LABELS = {"done": N_("Done"), "in_progress": N_("In progress"), "missing": N_("Missing"),
                            "not_applicable": N_("Not applicable")}
HHI_LABELS = {"unconcentrated": N_("unconcentrated"), "moderate": N_("moderately concentrated"),
              "high": N_("highly concentrated")}


def render() -> None:
    user = guard("viewer")
    filters, today = active_filters(), clock.today()
    can_edit = users.role_allows(user.role, "manager")
    st.title(t("Risk"))
    st.caption(t("{start} – {end}. Amounts in {currency}. Early warning at {share} of each limit.",
                 start=formatting.date(filters.start, language()), end=formatting.date(filters.end, language()),
                 currency=filters.currency, share=limit_percent(thresholds.EARLY_WARNING_SHARE)))
    _flash()
    with st.spinner(t("Loading figures…")):
        _threshold_watch(filters)
    tabs = st.tabs([t("Risk register"), t("Policy changes"), t("Fraud signals"), t("Account health"),
                    t("Concentration"), t("Compliance")])
    with tabs[0]:
        _register(user.username, can_edit)
    with tabs[1]:
        _policy_changes(today)
    with tabs[2]:
        _fraud(filters)
    with tabs[3]:
        _account_health(filters)
    with tabs[4]:
        _concentration(filters)
    with tabs[5]:
        _compliance(filters, user.username, can_edit)


CHARTS = {"watch": "_watch_chart", "heat_map": "_heat_map_chart", "signals": "_signals_chart",
          "markets": "_markets_chart"}


@st.cache_data(show_spinner=False, max_entries=256, ttl=600)
def _chart_spec(name: str, data: pd.DataFrame, lang: str, extra: tuple) -> dict:
    """The Vega-Lite spec of an altair chart, built once per data and language: altair's validation costs
    tens of milliseconds a chart, too much for a warm rerun."""
    spec = globals()[CHARTS[name]](data, *extra).to_dict()
    spec.get("config", {}).pop("view", None)  # altair's default 300 px view size; streamlit sizes the chart
    return spec


def _chart(name: str, data: pd.DataFrame, *extra) -> None:
    st.vega_lite_chart(_chart_spec(name, data, language(), extra), width="stretch")


def _flash() -> None:
    message = st.session_state.pop("risk_flash", None)
    if message:
        st.success(message, icon=":material/check_circle:")


def _status_text(status: str) -> str:
    return f"{STATUS_MARKS.get(status, '')} {t(STATUS_LABELS.get(status, status))}"


# --- threshold watch --------------------------------------------------------------------------------------------


def _utilisation(row) -> float | None:
    """How much of the limit is used: value / limit for a ceiling, shortfall / allowed shortfall for a floor."""
    if row["value"] is None or pd.isna(row["value"]):
        return None
    if row["direction"] == "max":
        return row["value"] / row["limit"]
    return (1 - row["value"]) / (1 - row["limit"])


def _threshold_watch(filters: Filters) -> None:
    st.subheader(t("Threshold watch"))
    watch = cached(risk.threshold_watch, filters)
    if watch.empty or watch["value"].isna().all():
        empty_state(t("No orders, shipments or card payments in this period for these filters. Widen the date "
                      "range or clear the market and channel filters in the sidebar."))
        return
    watch = watch.assign(
        label=[t(METRIC_LABELS[m], days=thresholds.ODR_WINDOW_DAYS) for m in watch["metric"]],
        used=[_utilisation(r) for _, r in watch.iterrows()],
        state=[_status_text(s) for s in watch["status"]],
        # thresholds.band: a ceiling is breached at the limit itself, a floor only below it
        rule=[t("below {limit}", limit=limit_percent(v)) if d == "max"
              else t("at least {limit}", limit=limit_percent(v)) for v, d in zip(watch["limit"], watch["direction"])],
    )
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(
            watch[["label", "rule", "value", "previous", "change", "state"]],
            hide_index=True, width="stretch",
            column_config={
                "label": t("Ratio"), "rule": t("Threshold"),
                "value": st.column_config.NumberColumn(t("Current"), format="percent"),
                "previous": st.column_config.NumberColumn(t("Previous period"), format="percent"),
                "change": st.column_config.NumberColumn(t("Change"), format="percent"),
                "state": t("Status"),
            },
        )
    with right:
        _chart("watch", watch[["label", "value", "limit", "used", "status"]].dropna(subset=["used"]))


def _watch_chart(data: pd.DataFrame) -> alt.LayerChart:
    data = data.assign(status_label=[t(STATUS_LABELS[s]) for s in data["status"]])
    domain = [t(STATUS_LABELS[s]) for s in STATUS_COLOURS]
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("label:N", title=None, sort=None),
        x=alt.X("used:Q", title=t("Share of the limit used"), axis=alt.Axis(format="%"),
                scale=alt.Scale(domainMax=1.2, clamp=True)),
        color=alt.Color("status_label:N", title=t("Status"),
                        scale=alt.Scale(domain=domain, range=list(STATUS_COLOURS.values()))),
        tooltip=[alt.Tooltip("label:N", title=t("Ratio")),
                 alt.Tooltip("value:Q", title=t("Current"), format=".2%"),
                 alt.Tooltip("limit:Q", title=t("Limit"), format=".2%"),
                 alt.Tooltip("used:Q", title=t("Share of the limit used"), format=".0%")],
    )
    marks = pd.DataFrame({"x": [thresholds.EARLY_WARNING_SHARE, 1.0]})
    rules = alt.Chart(marks).mark_rule(strokeDash=[4, 3], color="#57606a").encode(x="x:Q")
    return (bars + rules).properties(title=t("How close each ratio is to its limit"), height=240)


# --- risk register ----------------------------------------------------------------------------------------------


def _register(username: str, can_edit: bool) -> None:
    register = cached(risk.risk_register)
    cells = cached(risk.heat_map)
    left, right = st.columns([2, 3])
    with left:
        _heat_map(cells)
    with right:
        st.subheader(t("Risk register"))
        if register.empty:
            empty_state(t("No risks recorded yet. A manager can add the first one below."))
        else:
            shown = register.assign(
                category=[t(CATEGORY_LABELS.get(c, c)) for c in register["category"]],
                status=[t(RISK_STATUS_LABELS.get(s, s)) for s in register["status"]],
                band=[t(BAND_LABELS[b]) for b in register["band"]],
            )
            columns = ["id", "title", "category", "likelihood", "impact", "score", "band", "owner", "status",
                       "review_on", "mitigation"]
            st.dataframe(
                shown[columns], hide_index=True, width="stretch", key="risk_table",
                column_config={
                    "id": st.column_config.NumberColumn("#", format="%d", width="small"),
                    "title": t("Risk"), "category": t("Risk category"),
                    "likelihood": st.column_config.NumberColumn(t("Likelihood (1-5)"), format="%d"),
                    "impact": st.column_config.NumberColumn(t("Impact (1-5)"), format="%d"),
                    "score": st.column_config.ProgressColumn(t("Score (L × I)"), min_value=0,
                                                             max_value=thresholds.RISK_BANDS[-1][1],
                                                             format="%d"),
                    "band": t("Band"), "owner": t("Owner"), "status": t("Status"),
                    "review_on": st.column_config.DateColumn(t("Review date"), format="YYYY-MM-DD"),
                    "mitigation": t("Mitigation"),
                },
            )
            download_csv(register[columns], "risk_register.csv", key="risk_register_csv")
    if can_edit:
        _risk_editors(register, username)
    with st.expander(t("Change history"), icon=":material/history:"):
        history = uncached(risk.risk_history)
        if history.empty:
            st.text(t("No changes recorded yet."))
        else:
            st.dataframe(history, hide_index=True, width="stretch", column_config={
                "at": st.column_config.DatetimeColumn(t("When (UTC)"), format="YYYY-MM-DD HH:mm"),
                "username": t("User"), "risk_id": t("Risk #"), "action": t("Action"),
                "detail": t("Changes (old → new)"),
            })


def _heat_map(cells: pd.DataFrame) -> None:
    st.subheader(t("Heat map"))
    _chart("heat_map", cells)
    total = int(cells["risks"].sum())
    # built before the caption's t(): the extractor does not see a t() nested in another's arguments
    bands = [t("{low}–{high} {band}", low=low, high=high, band=t(BAND_LABELS[name]).lower())
             for name, low, high in _band_ranges()]
    st.caption(t("{count} risks not closed. Score = likelihood × impact: {bands}.", count=total,
                 bands=", ".join(bands)))


def _band_ranges() -> list[tuple[str, int, int]]:
    """(band, lowest score, highest score) from thresholds.RISK_BANDS' inclusive upper edges."""
    lows = [1] + [upper + 1 for _, upper in thresholds.RISK_BANDS[:-1]]
    return [(name, low, upper) for (name, upper), low in zip(thresholds.RISK_BANDS, lows)]


def _heat_map_chart(cells: pd.DataFrame) -> alt.LayerChart:
    data = cells.assign(band_label=[t(BAND_LABELS[b]) for b in cells["band"]],
                        count_text=[str(n) if n else "" for n in cells["risks"]])
    domain = [t(BAND_LABELS[b]) for b in RISK_BAND_COLOURS]
    base = alt.Chart(data).encode(
        x=alt.X("impact:O", title=t("Impact (1-5)"), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("likelihood:O", title=t("Likelihood (1-5)"), sort="descending"),
    )
    rects = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color("band_label:N", title=t("Band"),
                        scale=alt.Scale(domain=domain, range=list(RISK_BAND_COLOURS.values()))),
        opacity=alt.condition(alt.datum.risks > 0, alt.value(1.0), alt.value(0.35)),
        tooltip=[alt.Tooltip("likelihood:O", title=t("Likelihood (1-5)")),
                 alt.Tooltip("impact:O", title=t("Impact (1-5)")),
                 alt.Tooltip("score:Q", title=t("Score (L × I)")),
                 alt.Tooltip("band_label:N", title=t("Band")),
                 alt.Tooltip("risks:Q", title=t("Risks not closed"))],
    )
    text = base.mark_text(fontSize=16, fontWeight="bold", color="white").encode(text="count_text:N")
    return (rects + text).properties(title=t("Risks not closed by likelihood and impact"), height=300)


def _risk_form_fields(prefix: str, current: dict) -> dict:
    title = st.text_input(t("Risk"), value=current.get("title", ""), max_chars=160, key=f"{prefix}_title")
    c1, c2, c3 = st.columns(3)
    category = c1.selectbox(t("Risk category"), risk.RISK_CATEGORIES,
                            index=risk.RISK_CATEGORIES.index(current.get("category", "operational")),
                            format_func=lambda c: t(CATEGORY_LABELS[c]), key=f"{prefix}_category")
    likelihood = c2.number_input(t("Likelihood (1-5)"), min_value=1, max_value=5, step=1,
                                 value=int(current.get("likelihood", 3)), key=f"{prefix}_likelihood")
    impact = c3.number_input(t("Impact (1-5)"), min_value=1, max_value=5, step=1,
                             value=int(current.get("impact", 3)), key=f"{prefix}_impact")
    c4, c5, c6 = st.columns(3)
    owner = c4.text_input(t("Owner"), value=current.get("owner", ""), max_chars=60, key=f"{prefix}_owner")
    status = c5.selectbox(t("Status"), risk.RISK_STATUSES,
                          index=risk.RISK_STATUSES.index(current.get("status", "open")),
                          format_func=lambda s: t(RISK_STATUS_LABELS[s]), key=f"{prefix}_status")
    review = current.get("review_on")
    review_on = c6.date_input(t("Review date"), value=None if review is None or pd.isna(review) else review,
                              format="YYYY-MM-DD", key=f"{prefix}_review")
    mitigation = st.text_area(t("Mitigation"), value=current.get("mitigation", ""), key=f"{prefix}_mitigation")
    return dict(title=title, category=category, likelihood=int(likelihood), impact=int(impact), owner=owner,
                status=status, review_on=review_on, mitigation=mitigation)


def _risk_editors(register: pd.DataFrame, username: str) -> None:
    st.subheader(t("Edit the register"))
    edit_tab, add_tab = st.tabs([t("Edit or close a risk"), t("Add a risk")])
    with edit_tab:
        if register.empty:
            empty_state(t("No risks to edit yet."))
        else:
            options = list(register["id"])
            titles = dict(zip(register["id"], register["title"]))
            chosen = st.selectbox(t("Risk to edit"), options, format_func=lambda i: f"#{i} · {titles[i]}",
                                  key="risk_edit_choice")
            current = register[register["id"] == chosen].iloc[0].to_dict()
            with st.form(f"risk_edit_{chosen}"):
                values = _risk_form_fields(f"edit_{chosen}", current)
                saved = st.form_submit_button(t("Save changes"), type="primary")
            if saved:
                _write(lambda s: risk.update_risk(s, username, int(chosen), **values),
                       t("Risk #{id} saved.", id=int(chosen)))
            if current["status"] != "closed" and st.button(t("Close this risk"), key=f"risk_close_{chosen}"):
                _write(lambda s: risk.close_risk(s, username, int(chosen)), t("Risk #{id} closed.", id=int(chosen)))
    with add_tab:
        with st.form("risk_add", clear_on_submit=True):
            values = _risk_form_fields("add", {})
            added = st.form_submit_button(t("Add risk"), type="primary")
        if added:
            _write(lambda s: risk.add_risk(s, username, **values), t("Risk added."))


def _write(action, success: str) -> None:
    """Run a write in its own transaction; on success clear the caches and rerun with a confirmation."""
    try:
        uncached(action)
    except users.PermissionDenied:
        st.error(t("Only managers can change the risk register and the compliance checklist."))
        return
    except (risk.InvalidRiskInput, ValueError) as error:
        st.error(t("Not saved: {reason}", reason=plain(error)))  # a ValueError may quote what was typed
        return
    clear_caches()
    st.session_state["risk_flash"] = success
    st.rerun()


# --- policy changes ---------------------------------------------------------------------------------------------


def _policy_changes(today: dt.date) -> None:
    st.subheader(t("Policy-change register"))
    changes = cached(risk.policy_register, today)
    if changes.empty:
        empty_state(t("No policy changes recorded. They are seeded from data/reference/policy_changes.csv."))
        return
    shown = changes.assign(
        kind=[t(POLICY_KINDS.get(k, k)) for k in changes["kind"]],
        status=[t(POLICY_STATUS[s]) for s in changes["status"]],
        sku_count=[len(s.split(", ")) if s else 0 for s in changes["skus"]],
    )
    st.dataframe(
        shown[["effective_on", "title", "kind", "authority", "markets", "sku_count", "status", "days_until",
               "monthly_impact_usd", "skus"]],
        hide_index=True, width="stretch",
        column_config={
            "effective_on": st.column_config.DateColumn(t("Effective"), format="YYYY-MM-DD"),
            "title": t("Change"), "kind": t("Kind"), "authority": t("Authority"), "markets": t("Markets"),
            "sku_count": st.column_config.NumberColumn(t("Linked SKUs"), format="%d"),
            "status": t("Status"),
            "days_until": st.column_config.NumberColumn(t("Days until (− = in force for)"), format="%d"),
            "monthly_impact_usd": money_column(t("Est. monthly cost impact (USD)"), "USD"),
            "skus": t("SKU list"),
        },
    )
    st.caption(t("Monthly impact = (landed cost of one unit on the effective day − the day before) × units of "
                 "each linked SKU sold into each linked market last month, from the landed-cost engine. "
                 "Blank where the engine cannot price the change (fees, card schemes, product safety)."))
    with st.expander(t("What each change means")):
        st.dataframe(changes[["effective_on", "title", "summary"]], hide_index=True, width="stretch",
                     column_config={"effective_on": st.column_config.DateColumn(t("Effective"), format="YYYY-MM-DD"),
                                    "title": t("Change"), "summary": t("Summary")})
    download_csv(changes.drop(columns=["id"]), "policy_changes.csv", key="policy_changes_csv")


# --- fraud ------------------------------------------------------------------------------------------------------


def _fraud(filters: Filters) -> None:
    st.subheader(t("Fraud signals"))
    count, amount = cached(fraud.suspicious_total, filters)
    signals = cached(fraud.signal_counts, filters)
    kpi_row([
        Card(t("Suspicious payments"), formatting.number(count, language()),
             help=t("Payments scoring {score} or more on the fraud rules.", score=thresholds.FRAUD_SUSPICIOUS_SCORE)),
        Card(t("Suspicious amount (USD)"), formatting.money(amount, "USD", language(), compact=True)),
    ])
    signals = signals.assign(rule_label=[_rule_label(r) for r in signals["rule"]])
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(signals[["rule_label", "points", "payments", "suspicious"]], hide_index=True, width="stretch",
                     column_config={"rule_label": t("Rule"),
                                    "points": st.column_config.NumberColumn(t("Points"), format="%d"),
                                    "payments": st.column_config.NumberColumn(t("Payments flagged"), format="%d"),
                                    "suspicious": st.column_config.NumberColumn(t("Of which suspicious"),
                                                                                format="%d")})
        st.caption(t("Score = sum of the points of the rules that fire (country mismatch: {points} per extra "
                     "country), capped at {cap}; {score}+ is suspicious.",
                     points=fraud.RULE_POINTS["country_mismatch"], cap=fraud.MAX_SCORE,
                     score=thresholds.FRAUD_SUSPICIOUS_SCORE))
    with right:
        _chart("signals", signals[["rule_label", "payments", "suspicious"]])
    table = cached(fraud.suspicious_payments, filters)
    st.markdown("**" + t("Suspicious transactions") + "**")
    if table.empty:
        empty_state(t("No suspicious payments in this period for these filters."))
        return
    table = table.assign(reasons=[", ".join(t(RULE_SHORT[r]) for r in fired.split(",") if r)
                                  for fired in table["reasons"]],
                         channel=labelled(table["channel"], codes.SALES_CHANNELS),
                         method=labelled(table["method"], codes.PAYMENT_METHODS),
                         status=labelled(table["status"], codes.PAYMENT_STATUSES))
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "attempted_at": st.column_config.DatetimeColumn(t("Attempted (UTC)"), format="YYYY-MM-DD HH:mm"),
        "payment_ref": t("Payment"), "market_code": t("Market"), "channel": t("Channel"), "method": t("Method"),
        "status": t("Status"), "amount_usd": money_column(t("Amount (USD)"), "USD"),
        "card_country": t("Card country"), "ip_country": t("IP country"),
        "score": st.column_config.ProgressColumn(t("Score"), min_value=0, max_value=fraud.MAX_SCORE, format="%d"),
        "reasons": t("Reasons"),
    })
    download_csv(table, "suspicious_payments.csv", key="suspicious_csv")


def _rule_label(rule: str) -> str:
    return t(RULE_LABELS[rule], attempts=thresholds.FRAUD_VELOCITY_ATTEMPTS, minutes=fraud.VELOCITY_WINDOW_S // 60,
             hours=fraud.DUPLICATE_WINDOW_S // 3600, usd=limit_number(thresholds.FRAUD_HIGH_VALUE_FIRST_ORDER_USD))


def _signals_chart(signals: pd.DataFrame) -> alt.Chart:
    return alt.Chart(signals).mark_bar(color=PRIMARY).encode(
        y=alt.Y("rule_label:N", title=None, sort="-x"),
        x=alt.X("payments:Q", title=t("Payments flagged")),
        tooltip=[alt.Tooltip("rule_label:N", title=t("Rule")),
                 alt.Tooltip("payments:Q", title=t("Payments flagged"), format=","),
                 alt.Tooltip("suspicious:Q", title=t("Of which suspicious"), format=",")],
    ).properties(title=t("Payments flagged per rule"), height=220)


# --- account health ---------------------------------------------------------------------------------------------


def _account_health(filters: Filters) -> None:
    st.subheader(t("Account health per sales channel"))
    health = cached(risk.account_health, filters)
    if health.empty:
        empty_state(t("No orders or shipments in this period for these filters."))
        return
    shown = health.assign(channel=labelled(health["channel"], codes.SALES_CHANNELS))
    for metric, *_ in risk.HEALTH_LIMITS:
        shown[f"{metric}_status"] = [_status_text(s) for s in shown[f"{metric}_status"]]
    st.dataframe(
        shown[["channel", "orders_60d", "order_defect_rate", "order_defect_rate_status", "negative_feedback",
               "a_to_z_claims", "chargebacks", "late_shipment_rate", "late_shipment_rate_status", "cancel_rate",
               "cancel_rate_status", "valid_tracking_rate", "valid_tracking_rate_status", "on_time_rate",
               "on_time_rate_status"]],
        hide_index=True, width="stretch",
        column_config={
            "channel": t("Channel"),
            "orders_60d": st.column_config.NumberColumn(t("Orders ({days} days)", days=thresholds.ODR_WINDOW_DAYS),
                                                        format="%d"),
            # the signs are thresholds.band's: a ceiling is breached at the limit, a floor below it
            "order_defect_rate": percent_column(t("Order defect rate (< {limit})",
                                                  limit=limit_percent(thresholds.ORDER_DEFECT_RATE_MAX))),
            "order_defect_rate_status": " ",
            "negative_feedback": st.column_config.NumberColumn(t("Negative feedback"), format="%d"),
            "a_to_z_claims": st.column_config.NumberColumn(t("A-to-z claims"), format="%d"),
            "chargebacks": st.column_config.NumberColumn(t("Chargebacks"), format="%d"),
            "late_shipment_rate": percent_column(t("Late shipment (< {limit})",
                                                   limit=limit_percent(thresholds.LATE_SHIPMENT_RATE_MAX))),
            "late_shipment_rate_status": " ",
            "cancel_rate": percent_column(t("Pre-fulfilment cancel (< {limit})",
                                            limit=limit_percent(thresholds.PRE_FULFILMENT_CANCEL_RATE_MAX))),
            "cancel_rate_status": " ",
            "valid_tracking_rate": percent_column(t("Valid tracking (≥ {limit})",
                                                    limit=limit_percent(thresholds.VALID_TRACKING_RATE_MIN))),
            "valid_tracking_rate_status": " ",
            "on_time_rate": percent_column(t("On-time delivery (≥ {limit})",
                                             limit=limit_percent(thresholds.ON_TIME_DELIVERY_TARGET))),
            "on_time_rate_status": " ",
        },
    )
    st.caption(t("Order defect rate over the {days} days to {end}: orders with negative feedback (rated 1-2), an "
                 "A-to-z claim (item-not-received ticket on a lost or returned parcel) or a chargeback / orders. "
                 "The other rates cover the selected period.", days=thresholds.ODR_WINDOW_DAYS,
                 end=formatting.date(filters.end, language())))


# --- concentration ----------------------------------------------------------------------------------------------


HHI_HELP = N_("Herfindahl-Hirschman index: sum of squared percentage shares (0-10,000). "
              "Below {moderate} unconcentrated, {moderate}-{high} moderate, above {high} high.")


def _hhi_card(label: str, frame: pd.DataFrame, amount: str) -> Card:
    index = risk.hhi(frame[amount]) if not frame.empty else None
    shown = "–" if index is None else t("{index} ({band})", index=formatting.number(index, language()),
                                        band=t(HHI_LABELS[risk.hhi_band(index)]))
    return Card(label, shown, help=t(HHI_HELP, moderate=limit_number(thresholds.HHI_MODERATE),
                                     high=limit_number(thresholds.HHI_HIGH)))


def _concentration(filters: Filters) -> None:
    ccy = filters.currency
    suppliers = cached(risk.supplier_concentration, filters)
    markets = cached(risk.market_concentration, filters)
    kpi_row([_hhi_card(t("Supplier spend HHI"), suppliers, "spend_cny"),
             _hhi_card(t("Market revenue HHI"), markets, "revenue")])
    left, right = st.columns(2)
    with left:
        st.markdown("**" + t("Supplier spend share") + "**")
        if suppliers.empty:
            empty_state(t("No purchase orders placed in this period."))
        else:
            st.dataframe(suppliers, hide_index=True, width="stretch", column_config={
                "supplier": t("Supplier"), "city": t("City"),
                "spend_cny": money_column(t("PO spend (CNY)"), "CNY"),
                "skus": st.column_config.NumberColumn(t("SKUs"), format="%d"),
                "share": st.column_config.ProgressColumn(t("Share"), min_value=0.0, max_value=1.0,
                                                         format="percent"),
            })
    with right:
        st.markdown("**" + t("Market revenue share") + "**")
        if markets.empty:
            empty_state(t("No sales in this period for these filters."))
        else:
            _chart("markets", markets, ccy)
    st.markdown("**" + t("Currency exposure") + "**")
    exposure = cached(risk.currency_exposure, filters)
    if exposure.empty:
        empty_state(t("No sales in this period for these filters."))
    else:
        st.dataframe(exposure, hide_index=True, width="stretch", column_config={
            "currency": t("Currency"),
            "revenue": money_column(t("Revenue earned ({currency})", currency=ccy), ccy),
            "costs": money_column(t("Costs paid ({currency})", currency=ccy), ccy),
            "net": money_column(t("Net exposure ({currency})", currency=ccy), ccy),
            "share": percent_column(t("Share of revenue")),
        })
        st.caption(t("Product cost is paid in CNY and carriage in USD; revenue is earned in each market's currency."))
    st.markdown("**" + t("Single points of failure") + "**")
    spof = cached(risk.single_points_of_failure, filters)
    if spof.empty:
        empty_state(t("No SKU from a single supplier earns {share} or more of net revenue in this period.",
                      share=formatting.percent(thresholds.SPOF_REVENUE_SHARE_MIN, language(), 0)))
    else:
        st.dataframe(spof, hide_index=True, width="stretch", column_config={
            "sku": "SKU", "name": t("Product"), "supplier": t("Only supplier"),
            "suppliers": st.column_config.NumberColumn(t("Suppliers"), format="%d"),
            "revenue": money_column(t("Net revenue ({currency})", currency=ccy), ccy),
            "share": percent_column(t("Share of net revenue")),
        })
        download_csv(spof, "single_points_of_failure.csv", key="spof_csv")


def _markets_chart(markets: pd.DataFrame, ccy: str) -> alt.Chart:
    return alt.Chart(markets).mark_bar().encode(
        x=alt.X("share:Q", title=t("Share of net revenue"), axis=alt.Axis(format="%")),
        y=alt.Y("market:N", title=t("Market"), sort="-x"),
        color=alt.Color("market:N", scale=colour_scale(MARKET_COLOURS, list(markets["market"])), legend=None),
        tooltip=[alt.Tooltip("market:N", title=t("Market")),
                 alt.Tooltip("revenue:Q", title=t("Net revenue ({currency})", currency=ccy), format=",.0f"),
                 alt.Tooltip("share:Q", title=t("Share"), format=".1%")],
    ).properties(title=t("Net revenue by market ({currency}), all markets", currency=ccy), height=300)


# --- compliance -------------------------------------------------------------------------------------------------


def _compliance(filters: Filters, username: str, can_edit: bool) -> None:
    st.subheader(t("Compliance checklist"))
    checklist = cached(risk.compliance_checklist, filters.markets)
    if checklist.empty:
        empty_state(t("No compliance items for these markets. They are seeded from data/reference/compliance.csv."))
        return
    summary = risk.compliance_summary(checklist)
    st.dataframe(summary, hide_index=True, width="stretch", column_config={
        "market_code": t("Market"), "items": st.column_config.NumberColumn(t("Applicable items"), format="%d"),
        "done": st.column_config.NumberColumn(t("Done"), format="%d"),
        "missing": st.column_config.NumberColumn(t("Missing"), format="%d"),
        "done_share": st.column_config.ProgressColumn(t("Done"), min_value=0.0, max_value=1.0, format="percent"),
    })
    view = checklist.assign(area=[t(AREA_LABELS.get(a, a)) for a in checklist["area"]],
                            status=[t(COMPLIANCE_STATUS_LABELS[s]) for s in checklist["status"]])
    columns = ["id", "market_code", "area", "requirement", "status", "owner", "due_on", "note", "updated_by"]
    config = {
        "id": st.column_config.NumberColumn("#", format="%d", width="small"), "market_code": t("Market"),
        "area": t("Area"), "requirement": t("Requirement"), "owner": t("Owner"),
        "due_on": st.column_config.DateColumn(t("Due"), format="YYYY-MM-DD"), "note": t("Note"),
        "updated_by": t("Last changed by"),
    }
    if not can_edit:
        st.dataframe(view[columns], hide_index=True, width="stretch",
                     column_config=config | {"status": t("Status")})
        download_csv(checklist, "compliance_checklist.csv", key="compliance_csv")
        return
    labels = [t(COMPLIANCE_STATUS_LABELS[s]) for s in risk.COMPLIANCE_STATUSES]
    edited = st.data_editor(
        view[columns], hide_index=True, width="stretch", key="compliance_editor", num_rows="fixed",
        disabled=["id", "market_code", "area", "requirement", "updated_by"],
        column_config=config | {"status": st.column_config.SelectboxColumn(t("Status"), options=labels,
                                                                            required=True)},
    )
    if st.button(t("Save checklist"), type="primary", key="compliance_save"):
        from_label = dict(zip(labels, risk.COMPLIANCE_STATUSES))
        original = checklist.set_index("id")
        changes = []
        for row in edited.itertuples(index=False):
            before = original.loc[row.id]
            wanted = {"status": from_label[row.status], "owner": row.owner or "",
                      "due_on": None if pd.isna(row.due_on) else pd.Timestamp(row.due_on).date(),
                      "note": row.note or ""}
            old_due = None if pd.isna(before["due_on"]) else pd.Timestamp(before["due_on"]).date()
            current = {"status": before["status"], "owner": before["owner"], "due_on": old_due,
                       "note": before["note"]}
            diff = {k: v for k, v in wanted.items() if v != current[k]}
            if diff:
                changes.append((int(row.id), diff))
        if not changes:
            st.info(t("Nothing changed."))
        else:
            def save(session):
                for item_id, diff in changes:
                    risk.update_compliance_item(session, username, item_id, **diff)

            _write(save, t("{count} checklist items saved.", count=len(changes)))
    download_csv(checklist, "compliance_checklist.csv", key="compliance_csv")
