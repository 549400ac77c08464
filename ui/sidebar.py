"""The shared sidebar filters. Bound to the URL, so a copied link opens the same view,
and kept across page switches because the router renders them around every page.

A bound widget writes its *displayed* option text into the URL, so every option label here
is language-neutral (market codes, channel brand names, currency codes, each language's own
name): a link copied in Chinese opens the same view in English.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.platform import clock, reference, users
from core.platform.filters import REPORTING_CURRENCIES, Filters, default_range
from core.platform.i18n import DEFAULT_LANGUAGE, LANGUAGES
from ui.auth import signed_in_username
from ui.data import cached, uncached
from ui.i18n import LANGUAGE_KEY, t

FILTERS_KEY = "active_filters"


def apply_saved_language(user) -> None:
    """Once per session: a signed-in user's saved language, unless the URL already names one."""
    if st.session_state.get("_language_applied") or user is None:
        return
    st.session_state["_language_applied"] = True
    if LANGUAGE_KEY not in st.query_params and user.language in LANGUAGES:
        st.session_state[LANGUAGE_KEY] = user.language


def _remember_language() -> None:
    username = signed_in_username()
    if username:
        uncached(users.set_language, username, st.session_state[LANGUAGE_KEY])


def language_picker() -> None:
    st.sidebar.segmented_control(
        "🌐",
        options=list(LANGUAGES),
        format_func=LANGUAGES.get,
        # A default alongside a value set through session state (the saved language) makes Streamlit warn.
        default=None if LANGUAGE_KEY in st.session_state else DEFAULT_LANGUAGE,
        key=LANGUAGE_KEY,
        bind="query-params",
        label_visibility="collapsed",
        required=True,
        on_change=_remember_language,
    )


def filters_sidebar(today: dt.date) -> Filters:
    markets = cached(reference.markets)
    channels = cached(reference.channels)
    market_names = dict(zip(markets["code"], markets["name"]))
    channel_names = dict(zip(channels["code"], channels["name"]))
    sidebar = st.sidebar
    sidebar.subheader(t("Filters"))
    period = sidebar.date_input(
        t("Date range"),
        value=default_range(today),
        max_value=today,
        key="period",
        bind="query-params",
        format="YYYY-MM-DD",
    )
    start, end = _complete_range(period, today)
    chosen_markets = sidebar.multiselect(
        t("Markets"),
        options=list(market_names),
        help=", ".join(f"{code}: {t(name)}" for code, name in market_names.items()),
        key="markets",
        bind="query-params",
        placeholder=t("All markets"),
    )
    chosen_channels = sidebar.multiselect(
        t("Sales channels"),
        options=list(channel_names),
        format_func=lambda code: channel_names[code],
        key="channels",
        bind="query-params",
        placeholder=t("All channels"),
    )
    currency = sidebar.selectbox(
        t("Reporting currency"), options=REPORTING_CURRENCIES, key="ccy", bind="query-params"
    )
    filters = Filters(start, end, tuple(sorted(chosen_markets)), tuple(sorted(chosen_channels)), currency)
    st.session_state[FILTERS_KEY] = filters
    return filters


def active_filters() -> Filters:
    """The filters the router rendered for this run (defaults if a page runs on its own, as in tests)."""
    filters = st.session_state.get(FILTERS_KEY)
    if filters is None:
        start, end = default_range(clock.today())
        filters = Filters(start, end)
    return filters


def _complete_range(period, today: dt.date) -> tuple[dt.date, dt.date]:
    """While the user has picked only the first date of a range, show that single day."""
    if isinstance(period, (tuple, list)):
        if len(period) == 2:
            return period[0], period[1]
        if len(period) == 1:
            return period[0], period[0]
        return default_range(today)
    return (period, period) if period else default_range(today)
