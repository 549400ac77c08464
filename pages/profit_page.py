"""Profit: the contribution-profit ledger (core.profit) for the filters.

KPIs against the previous period, the P&L waterfall, the monthly trend, one table by a chosen grouping whose
selected row gets its own waterfall and trend, and the sales no unit cost covers (managers enter one here; the
write and its checks live in core.profit.record_cost). Every figure comes from core.profit; lines that are not
measured (estimated, allocated) say so wherever they are shown.
"""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from core import profit, thresholds
from core.platform import clock, formatting, users
from core.platform import labels as codes
from core.platform.filters import Filters, KpiDelta
from core.platform.i18n import N_
from ui.auth import guard, permission_message
from ui.data import cached, clear_caches, uncached
from ui.fragments import guarded_fragment
from ui.i18n import language, t
from ui.labels import label
from ui.sidebar import active_filters
from ui.text import plain
from ui.theme import PRIMARY, SECONDARY, STATUS_COLOURS
from ui.widgets import (
    Card,
    download_csv,
    empty_state,
    kpi_row,
    money_column,
    percent_column,
    points_delta,
    relative_delta,
)

KPI_LABELS = {
    "net_revenue": N_("Net revenue"), "contribution": N_("Contribution profit"),
    "contribution_margin": N_("Contribution margin"), "profit_per_order": N_("Profit per order"),
    "loss_making_skus": N_("Loss-making SKUs"),
}
KPI_HELP = {
    "net_revenue": N_("Item revenue net of VAT and discounts, at each order day's rate."),
    "contribution": N_("Net revenue and shipping charged less every cost line of the waterfall below."),
    "contribution_margin": N_("Contribution profit / net revenue."),
    "profit_per_order": N_("Contribution profit / non-cancelled orders."),
    "loss_making_skus": N_("SKUs whose contribution over the period is below 0 on at least {units} units."),
}
GROUPING_LABELS = {  # core.profit.GROUPINGS
    "sku": N_("SKU"), "sku_market": N_("SKU × market"), "sku_market_channel": N_("SKU × market × channel"),
    "market": N_("Market"), "channel": N_("Sales channel"), "category": N_("Category"),
}
NAME_COLUMNS = {  # what names each grouping's rows, in the table's order
    "sku": ("sku", "product", "category"), "sku_market": ("sku", "product", "market"),
    "sku_market_channel": ("sku", "product", "market", "channel"), "market": ("market",), "channel": ("channel",),
    "category": ("category",),
}
# A line that is not measured carries its basis in its label wherever it is shown.
MARKED = {"estimated": N_("{label} (estimated)"), "allocated": N_("{label} (allocated)"),
          "partly_estimated": N_("{label} (partly estimated)")}
FIELD_LABELS = {"sku": N_("SKU"), "valid_from": N_("Valid from"), "unit_cost_usd": N_("Unit cost (USD)")}
EFFECTS = {"total": N_("Total"), "up": N_("Adds"), "down": N_("Subtracts")}
EFFECT_COLOURS = {"total": PRIMARY, "up": STATUS_COLOURS["ok"], "down": STATUS_COLOURS["breach"]}
# A mark in the cell, not a Styler background: styling costs about 0.25 s per thousand rows on every run, and the
# SKU x market x channel table has thousands.
LOSS_MARK = "🔴"
_SAVED = "profit_cost_saved"  # the message of the last cost entry, shown after the rerun that follows it


def render() -> None:
    user = guard("viewer")
    filters, lang = active_filters(), language()
    st.title(t("Profit"))
    st.caption(t("{start} – {end}, compared with the {days} days before. Amounts in {currency}.",
                 start=formatting.date(filters.start, lang), end=formatting.date(filters.end, lang),
                 days=filters.days, currency=filters.currency))
    with st.spinner(t("Loading figures…")):
        deltas = {d.name: d for d in cached(profit.kpi_deltas, filters)}
    if deltas["profit_per_order"].current is None:  # no order at all: nothing to show a profit of
        empty_state(t("No orders in this period for these filters. Widen the date range or clear the market "
                      "and channel filters in the sidebar."))
        return
    kpi_row([_card(deltas[name], filters.currency) for name in KPI_LABELS])
    st.caption(t("Lines marked (estimated) or (allocated) are not measured: hover a bar, or open \"How each line is "
                 "worked out\" under the waterfall, to see how each was arrived at."))
    _waterfall(filters, None, t("Profit and loss for the period ({currency})", currency=filters.currency))
    _trend(filters, None, t("Monthly net revenue and contribution margin ({currency})", currency=filters.currency))
    _table(filters)
    _uncosted(filters, user)


# --- KPIs ---------------------------------------------------------------------------------------------------------


def _card(delta: KpiDelta, currency: str) -> Card:
    lang = language()
    help_text = t(KPI_HELP[delta.name], units=thresholds.LOSS_MAKER_MIN_UNITS)
    if delta.name == "contribution_margin":
        return Card(t(KPI_LABELS[delta.name]), formatting.percent(delta.current, lang),
                    points_delta(delta.difference), help=help_text)
    if delta.name == "loss_making_skus":
        change = None if delta.difference is None else f"{delta.difference:+,.0f}"
        return Card(t(KPI_LABELS[delta.name]), formatting.number(delta.current, lang), change, inverse=True,
                    help=help_text)
    compact = delta.name != "profit_per_order"
    return Card(t(KPI_LABELS[delta.name]), formatting.money(delta.current, currency, lang, compact=compact),
                relative_delta(delta.change), help=help_text)


# --- waterfall and trend (of the period, or of one row of the table) ----------------------------------------------


def _line_label(english: str, basis: str) -> str:
    shown = t(english)
    return t(MARKED[basis], label=shown) if basis in MARKED else shown


def _waterfall(filters: Filters, selection: profit.Selection | None, title: str) -> None:
    steps = cached(profit.waterfall, filters, selection)
    ccy = filters.currency
    data = steps.assign(
        step=[_line_label(english, basis) for english, basis in zip(steps["label"], steps["basis"])],
        basis_label=[label(codes.PROFIT_BASES, basis) for basis in steps["basis"]],
        how_text=[t(how) for how in steps["how"]],
        effect=["total" if kind == "total" else "up" if amount >= 0 else "down"
                for kind, amount in zip(steps["kind"], steps["amount"])],
        measured=steps["basis"] == "actual",
    )
    data["effect_label"] = [t(EFFECTS[e]) for e in data["effect"]]
    amount_title = t("Amount ({currency})", currency=ccy)
    share_title = t("% of net revenue")
    step_title = t("Line")
    chart = alt.Chart(data).mark_bar().encode(
        y=alt.Y("step:N", sort=list(data["step"]), title=None, axis=alt.Axis(labelLimit=280, labelOverlap=False)),
        x=alt.X("start:Q", title=amount_title, axis=alt.Axis(format="~s")),
        x2="end:Q",
        color=alt.Color("effect_label:N", title=None,
                        scale=alt.Scale(domain=[t(EFFECTS[e]) for e in EFFECTS], range=list(EFFECT_COLOURS.values())),
                        legend=alt.Legend(orient="bottom")),
        opacity=alt.condition(alt.datum.measured, alt.value(1.0), alt.value(0.55)),
        tooltip=[alt.Tooltip("step:N", title=step_title),
                 alt.Tooltip("amount:Q", title=amount_title, format=",.2f"),
                 alt.Tooltip("share:Q", title=share_title, format=".1%"),
                 alt.Tooltip("basis_label:N", title=t("Basis")),
                 alt.Tooltip("how_text:N", title=t("How it is worked out"))],
    ).properties(title=title, height=30 * len(data) + 40)
    left, right = st.columns([5, 4])
    with left:
        st.altair_chart(chart, width="stretch")
    with right:
        st.dataframe(
            data[["step", "amount", "share", "basis_label"]], hide_index=True, width="stretch",
            height=35 * len(data) + 38,
            column_config={
                "step": st.column_config.TextColumn(step_title, width="medium"),
                "amount": money_column(amount_title, ccy),
                "share": percent_column(share_title),
                "basis_label": st.column_config.TextColumn(t("Basis"), width="small"),
            },
        )
    st.caption(t("Lighter bars: estimated or allocated lines. Net revenue and contribution profit are totals; the "
                 "other bars start where the previous one ended."))
    with st.expander(t("How each line is worked out")):
        st.markdown("\n".join(f"- **{step}** ({basis}): {how}" for step, basis, how
                              in zip(data["step"], data["basis_label"], data["how_text"])))


def _trend(filters: Filters, selection: profit.Selection | None, title: str) -> None:
    trend = cached(profit.monthly, filters, selection)
    if trend.empty:
        return
    ccy = filters.currency
    data = trend.assign(month_text=[
        t("{month} (partial)", month=m.strftime("%Y-%m")) if partial else m.strftime("%Y-%m")
        for m, partial in zip(trend["month"], trend["partial"])])
    month_title, revenue_title = t("Month"), t("Net revenue ({currency})", currency=ccy)
    contribution_title, margin_title = t("Contribution profit ({currency})", currency=ccy), t("Contribution margin")
    tooltip = [alt.Tooltip("month_text:N", title=month_title),
               alt.Tooltip("net_revenue:Q", title=revenue_title, format=",.0f"),
               alt.Tooltip("contribution:Q", title=contribution_title, format=",.0f"),
               alt.Tooltip("margin:Q", title=margin_title, format=".1%")]
    base = alt.Chart(data).encode(x=alt.X("yearmonth(month):O", title=month_title, axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar(color=PRIMARY).encode(
        y=alt.Y("net_revenue:Q", title=revenue_title, axis=alt.Axis(format="~s")),
        opacity=alt.condition(alt.datum.partial, alt.value(0.35), alt.value(0.85)),
        tooltip=tooltip,
    )
    line = base.mark_line(color=SECONDARY, point=True, strokeWidth=2).encode(
        y=alt.Y("margin:Q", title=margin_title, axis=alt.Axis(format="%", titleColor=SECONDARY)),
        tooltip=tooltip,
    )
    chart = alt.layer(bars, line).resolve_scale(y="independent").properties(title=title, height=300)
    st.altair_chart(chart, width="stretch")
    partial = [m.strftime("%Y-%m") for m, p in zip(trend["month"], trend["partial"]) if p]
    if partial:
        st.caption(t("Lighter bars: months the date range covers only in part ({months}).",
                     months=", ".join(partial)))


# --- the table by grouping, and its drill-down --------------------------------------------------------------------


def _names(table: pd.DataFrame, grouping: str) -> pd.DataFrame:
    """The table's name columns as shown: codes as labels, and the rows no SKU, market or channel carries."""
    shown = pd.DataFrame(index=table.index)
    if "sku" in NAME_COLUMNS[grouping]:
        no_sku = table["product_id"] == profit.NO_PRODUCT
        shown["sku"] = table["sku"].where(~no_sku, t("(no SKU)"))
        shown["product"] = table["product"].where(~no_sku, "")
    if "market" in NAME_COLUMNS[grouping]:
        shown["market"] = [t(name) if code and isinstance(name, str) else t("(no market)") if not code else code
                           for code, name in zip(table["market_code"], table["market"])]
    if "channel" in NAME_COLUMNS[grouping]:
        shown["channel"] = [label(codes.SALES_CHANNELS, code) if isinstance(code, str) else t("(no channel)")
                            for code in table["channel"]]
    if "category" in NAME_COLUMNS[grouping]:
        names = cached(profit.category_names)
        shown["category"] = [t(names.get(code, code)) if isinstance(code, str) else t("(no SKU)")
                             for code in table["category"]]
    return shown


def _selection(row: pd.Series, grouping: str) -> profit.Selection:
    """The ledger rows behind one row of the table (a category row without a category holds the no-SKU costs)."""
    keys = profit.GROUP_KEYS[grouping]
    if grouping == "category":
        if pd.isna(row["category_id"]):
            return profit.Selection(product_id=profit.NO_PRODUCT)
        return profit.Selection(category_id=int(row["category_id"]))
    return profit.Selection(
        product_id=int(row["product_id"]) if "product_id" in keys else None,
        market_code=str(row["market_code"]) if "market_code" in keys else None,
        channel_id=int(row["channel_id"]) if "channel_id" in keys else None,
    )


@guarded_fragment("viewer")
def _table(filters: Filters) -> None:
    """A fragment: switching the grouping or selecting a row reruns only this part of the page."""
    ccy = filters.currency
    st.subheader(t("Profit by group"))
    grouping = st.segmented_control(t("Group by"), list(GROUPING_LABELS), default="sku", required=True,
                                    format_func=lambda g: t(GROUPING_LABELS[g]), key="profit_grouping") or "sku"
    table = cached(profit.table, filters, grouping)
    if table.empty:
        empty_state(t("No ledger rows for these filters."))
        return
    names = _names(table, grouping)
    measures = ["units", "net_revenue", "shipping_income", *profit.COST_KEYS, "contribution", "margin"]
    loss = f"{LOSS_MARK} " + t("Loss")
    shown = pd.concat([table["loss_maker"].map({True: loss, False: ""}).rename("loss"), names, table[measures]],
                      axis=1)
    lines = {line.key: line for line in profit.LINES}
    config = {
        "loss": st.column_config.TextColumn(t("Loss-maker"), help=t(
            "Contribution below 0 over the period on at least {units} units.",
            units=thresholds.LOSS_MAKER_MIN_UNITS), width="small"),
        "sku": st.column_config.TextColumn(t("SKU")), "product": st.column_config.TextColumn(t("Product")),
        "market": st.column_config.TextColumn(t("Market")), "channel": st.column_config.TextColumn(t("Sales channel")),
        "category": st.column_config.TextColumn(t("Category")),
        "units": st.column_config.NumberColumn(t("Units"), format="%,d"),
        "margin": percent_column(t("Contribution margin")),
        **{key: money_column(_line_label(lines[key].label, lines[key].basis), ccy)
           for key in ["net_revenue", "shipping_income", *profit.COST_KEYS, "contribution"]},
    }
    losses = int(table["loss_maker"].sum())
    st.caption(t("{rows} rows, worst contribution first; {losses} loss-makers marked {mark}. Select a row to see "
                 "its own waterfall and trend.", rows=f"{len(table):,}", losses=losses, mark=LOSS_MARK))
    event = st.dataframe(shown, hide_index=True, width="stretch", height=420, column_config=config,
                         on_select="rerun", selection_mode="single-row", key=f"profit_table_{grouping}")
    export = pd.concat([names, table[measures], table["loss_maker"]], axis=1)
    download_csv(export, f"profit_by_{grouping}.csv", key=f"profit_csv_{grouping}")
    rows = event.selection.rows if event is not None else []
    if rows:
        row = table.iloc[rows[0]]
        # The product's name is data in English: the SKU code names it in every language.
        name = " · ".join(v for v in names.drop(columns="product", errors="ignore").iloc[rows[0]]
                          if isinstance(v, str) and v)
        st.subheader(t("Selected: {name}", name=plain(name)))
        selection = _selection(row, grouping)
        _waterfall(filters, selection, t("Profit and loss of the selected row ({currency})", currency=ccy))
        _trend(filters, selection, t("Monthly net revenue and contribution margin of the selected row ({currency})",
                                     currency=ccy))


# --- sales without a unit cost, and the managers' cost entry ---------------------------------------------------


def _uncosted(filters: Filters, user: users.UserView) -> None:
    st.subheader(t("Unit costs"))
    is_manager = users.role_allows(user.role, "manager")
    missing = cached(profit.uncosted_sales, filters)
    if missing.empty:
        st.success(t("Every unit sold in this period has a known unit cost."), icon=":material/check_circle:")
    else:
        units = int(missing["units"].sum())
        ask = (t("Enter their landed unit cost below.") if is_manager
               else t("Ask a manager to enter their landed unit cost."))
        st.warning(t("{count} SKUs sold {units} units in this period with no known unit cost: they count at 0 "
                     "product cost, so the contribution above is too high.", count=len(missing),
                     units=formatting.number(units, language())) + " " + ask, icon=":material/warning:")
        st.dataframe(missing[["sku", "product", "units", "first_day", "last_day"]], hide_index=True,
                     width="stretch", column_config={
                         "sku": st.column_config.TextColumn(t("SKU")),
                         "product": st.column_config.TextColumn(t("Product")),
                         "units": st.column_config.NumberColumn(t("Units without a cost"), format="%,d"),
                         "first_day": st.column_config.DateColumn(t("First sale")),
                         "last_day": st.column_config.DateColumn(t("Last sale")),
                     })
    if is_manager:
        _cost_form(user.username, list(missing["sku"]))
    else:
        st.caption(t("Managers can enter a dated unit cost for a SKU that has no purchase batches yet."))
    entries = uncached(profit.cost_entries)
    if not entries.empty:
        with st.expander(t("Entered unit costs ({count})", count=len(entries))):
            st.dataframe(entries, hide_index=True, width="stretch", column_config={
                "sku": st.column_config.TextColumn(t("SKU")),
                "product": st.column_config.TextColumn(t("Product")),
                "valid_from": st.column_config.DateColumn(t("Valid from")),
                "unit_cost_usd": money_column(t("Unit cost (USD)"), "USD"),
                "note": st.column_config.TextColumn(t("Note")),
                "entered_by": st.column_config.TextColumn(t("Entered by")),
                "entered_at": st.column_config.DatetimeColumn(t("Entered at"), format="YYYY-MM-DD HH:mm"),
            })


def _cost_form(username: str, uncosted: list[str]) -> None:
    saved = st.session_state.pop(_SAVED, None)
    if saved:
        st.success(saved, icon=":material/check_circle:")
    skus = cached(profit.cost_entry_skus)
    if skus.empty:
        return
    options = list(skus["sku"])
    first_batch = dict(zip(skus["sku"], skus["first_batch"]))
    shown = dict(zip(skus["sku"], skus["sku"] + " — " + skus["product"]))
    # The SKUs that need a cost come first.
    options = [s for s in options if s in uncosted] + [s for s in options if s not in uncosted]
    today = clock.today()
    with st.form("profit_cost_form"):
        st.markdown("**" + t("Enter a unit cost") + "**")
        left, middle, right = st.columns([2, 1, 1])
        sku = left.selectbox(t("SKU"), options, format_func=shown.get, key="profit_cost_sku")
        valid_from = middle.date_input(t("Valid from"), value=today - dt.timedelta(days=90), key="profit_cost_from",
                                       format="YYYY-MM-DD")
        cost = right.number_input(t("Unit cost (USD)"), value=None, step=0.01, format="%.2f", key="profit_cost_usd")
        note = st.text_input(t("Note"), max_chars=200, key="profit_cost_note")
        submitted = st.form_submit_button(t("Save unit cost"), icon=":material/save:")
    st.caption(t("A landed unit cost (supplier price, freight and duty) applies from its date until the SKU's first "
                 "purchase batch arrives; from then on the batches set the cost."))
    batch = first_batch.get(sku)
    if batch is not None and not pd.isna(batch):
        st.caption(t("{sku}: purchase batches set the cost from {day} on.", sku=plain(sku),
                     day=formatting.date(pd.Timestamp(batch).date(), language())))
    if submitted:
        _save_cost(username, sku, valid_from, cost, note, today)


def _save_cost(username: str, sku: str, valid_from: dt.date, cost: float | None, note: str, today: dt.date) -> None:
    try:
        uncached(profit.record_cost, username, sku, valid_from, cost, note, today=today)
    except users.PermissionDenied as exc:
        st.error(permission_message(exc), icon=":material/block:")
        return
    except profit.CostEntryError as exc:
        message = t(exc.template, **{name: plain(value) for name, value in exc.values.items()})
        st.error(t("{field}: {reason}", field=t(FIELD_LABELS.get(exc.field, exc.field)), reason=message),
                 icon=":material/error:")
        return
    clear_caches()
    st.session_state[_SAVED] = t("Saved: {sku} costs {cost} from {day}. The profit figures are updated from that "
                                 "day on.", sku=plain(sku), cost=formatting.money(cost, "USD", language()),
                                 day=formatting.date(valid_from, language()))
    st.rerun()
