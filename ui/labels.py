"""Codes shown as labels in the reader's language, and thresholds formatted for labels.

Pages keep the codes in their data, filters and URLs and translate only what is shown: table cells
(`labelled`), chart axes and legends (a label column built with `labelled`), selectbox options
(`format_func`). The labels themselves live in core.platform.labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import pandas as pd

from core.platform import formatting
from core.platform import labels as codes
from ui.i18n import language


def label(enumeration: Mapping[str, str], code) -> str:
    return codes.label(enumeration, code, language())


def labelled(values: pd.Series, enumeration: Mapping[str, str]) -> pd.Series:
    """A column of codes as translated labels (for display only; keep the codes for filtering)."""
    lang = language()
    return values.map(lambda code: codes.label(enumeration, code, lang))


def format_func(enumeration: Mapping[str, str], options: Iterable) -> Callable[[object], str]:
    """A selectbox format_func over `options`. The labels are translated now, in the script run: AppTest calls
    format_func outside it, where the session (and so the language) is not available."""
    lang = language()
    shown = {option: codes.label(enumeration, option, lang) for option in options}
    return lambda option: shown.get(option, str(option))


def limit_percent(value: float) -> str:
    """A threshold ratio as a percentage with as many decimals as it has (95 %, 2.5 %, 0.65 %)."""
    digits = next((d for d in range(4) if abs(round(value * 100, d) - value * 100) < 1e-9), 4)
    return formatting.percent(value, language(), digits)


def limit_number(value: float) -> str:
    """A threshold count, amount or factor in the reader's number format, with the decimals it has (1,500; 1.5)."""
    digits = next((d for d in range(4) if abs(round(value, d) - value) < 1e-9), 4)
    return formatting.number(value, language(), digits)
