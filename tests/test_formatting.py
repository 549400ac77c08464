from __future__ import annotations

import datetime as dt

import pytest

from core.platform import formatting


@pytest.mark.parametrize(
    ("value", "currency", "language", "compact", "shown"),
    [
        (1234.5, "USD", "en", False, "$1,234.50"),
        (1234.5, "EUR", "en", False, "€1,234.50"),
        (2_345_678, "USD", "en", True, "$2.3M"),
        (999, "USD", "en", True, "$999.00"),
        (None, "USD", "en", False, "–"),
        (float("nan"), "USD", "en", False, "–"),
    ],
)
def test_money(value, currency, language, compact, shown):
    assert formatting.money(value, currency, language, compact=compact) == shown


@pytest.mark.parametrize(("value", "digits", "shown"), [(0.1234, 1, "12.3%"), (0.5, 0, "50%"), (None, 1, "–")])
def test_percent(value, digits, shown):
    assert formatting.percent(value, "en", digits) == shown


def test_chinese_dates_and_money():
    assert formatting.date(dt.date(2026, 11, 21), "zh") == "2026年11月21日"
    assert formatting.money(2_345_678, "USD", "zh", compact=True) == "US$234.6万"
