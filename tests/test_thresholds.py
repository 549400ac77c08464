from __future__ import annotations

import datetime as dt

import pytest

from core import thresholds


@pytest.mark.parametrize(
    ("day", "limit"),
    [(dt.date(2026, 3, 31), 0.022), (dt.date(2026, 4, 1), 0.015), (dt.date(2027, 1, 1), 0.015)],
)
def test_vamp_limit_changes_on_1_april_2026(day, limit):
    assert thresholds.vamp_limit(day) == limit


@pytest.mark.parametrize(
    ("value", "limit", "higher_is_worse", "expected"),
    [
        (0.031, 0.04, True, "ok"),  # below 80 % of 4 % (3.2 %)
        (0.032, 0.04, True, "warning"),  # exactly 80 % of the limit
        (0.0399, 0.04, True, "warning"),
        (0.04, 0.04, True, "breach"),
        (None, 0.04, True, "ok"),
        (0.97, 0.95, False, "ok"),  # 3 % short of 100 %, room is 5 %: 60 %
        (0.96, 0.95, False, "warning"),  # 4 % short: 80 % of the room
        (0.949, 0.95, False, "breach"),
    ],
)
def test_band(value, limit, higher_is_worse, expected):
    assert thresholds.band(value, limit, higher_is_worse=higher_is_worse) == expected
