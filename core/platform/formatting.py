"""Numbers, money, percentages and dates formatted for the reader's language."""

from __future__ import annotations

import datetime as dt
import math

from babel.dates import format_date as _babel_date
from babel.numbers import format_compact_currency, format_currency, format_decimal, format_percent

from core.platform.i18n import BABEL_LOCALES, DEFAULT_LANGUAGE


def _locale(language: str) -> str:
    return BABEL_LOCALES.get(language, BABEL_LOCALES[DEFAULT_LANGUAGE])


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: float | None, currency: str, language: str = DEFAULT_LANGUAGE, *, compact: bool = False) -> str:
    if _missing(value):
        return "–"
    if compact and abs(value) >= 10_000:
        return format_compact_currency(value, currency, locale=_locale(language), fraction_digits=1)
    return format_currency(value, currency, locale=_locale(language))


def percent(value: float | None, language: str = DEFAULT_LANGUAGE, digits: int = 1) -> str:
    if _missing(value):
        return "–"
    return format_percent(value, format=f"#,##0.{'0' * digits}%", locale=_locale(language))


def number(value: float | None, language: str = DEFAULT_LANGUAGE, digits: int = 0) -> str:
    if _missing(value):
        return "–"
    pattern = "#,##0" + (f".{'0' * digits}" if digits else "")
    return format_decimal(value, format=pattern, locale=_locale(language))


def date(value: dt.date, language: str = DEFAULT_LANGUAGE) -> str:
    return _babel_date(value, format="medium", locale=_locale(language))
