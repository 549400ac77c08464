"""Widgets every page shares: KPI cards, empty states, money columns, CSV downloads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.platform import formatting
from core.platform.export import to_safe_csv
from ui.i18n import language, t


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    delta: str | None = None
    inverse: bool = False  # True when a rise is bad (refund rate, costs)
    help: str | None = None


def kpi_row(cards: Sequence[Card]) -> None:
    for column, card in zip(st.columns(len(cards)), cards):
        column.metric(
            card.label,
            card.value,
            delta=card.delta,
            delta_color="inverse" if card.inverse else "normal",
            help=card.help,
            border=True,
        )


def relative_delta(change: float | None) -> str | None:
    """'+12.3 %' for amounts and counts."""
    if change is None:
        return None
    return ("+" if change >= 0 else "") + formatting.percent(change, language())


def points_delta(difference: float | None) -> str | None:
    """'+1.2 pp' for rates, where a relative change would mislead."""
    if difference is None:
        return None
    return ("+" if difference >= 0 else "") + formatting.number(difference * 100, language(), 1) + " " + t("pp")


def empty_state(message: str) -> None:
    st.info(message, icon=":material/info:")


def money_column(label: str, currency: str) -> st.column_config.NumberColumn:
    # The browser's own currency formats put the minus before the symbol (-$2,300.00, not $-2,300.00); there is
    # none for CNY with cents, so it keeps a printf pattern.
    predefined = {"USD": "dollar", "EUR": "euro"}
    if currency in predefined:
        return st.column_config.NumberColumn(label, format=predefined[currency])
    symbol = {"CNY": "¥"}.get(currency, currency + " ")
    return st.column_config.NumberColumn(label, format=f"{symbol}%,.2f")


def percent_column(label: str) -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(label, format="percent")


def download_csv(frame: pd.DataFrame, file_name: str, *, key: str) -> None:
    """A CSV download whose cells cannot run as spreadsheet formulas."""
    st.download_button(
        t("Download CSV"),
        data=to_safe_csv(frame),
        file_name=file_name,
        mime="text/csv",
        key=key,
        icon=":material/download:",
    )


def not_available_yet(title: str) -> None:
    st.title(title)
    empty_state(t("This page is not available yet. It is being built; the overview already works."))
