from __future__ import annotations

import datetime as dt

import pytest

from core.platform.filters import Filters, default_range

D = dt.date


@pytest.mark.parametrize(
    ("start", "end", "prev_start", "prev_end"),
    [
        (D(2026, 3, 1), D(2026, 3, 31), D(2026, 1, 29), D(2026, 2, 28)),  # 31 days back from 28 Feb
        (D(2026, 1, 1), D(2026, 1, 1), D(2025, 12, 31), D(2025, 12, 31)),
        (D(2024, 3, 1), D(2024, 3, 7), D(2024, 2, 23), D(2024, 2, 29)),  # leap year
    ],
)
def test_previous_period_has_the_same_length_and_ends_the_day_before(start, end, prev_start, prev_end):
    previous = Filters(start, end, ("US",), ("amazon",), "EUR").previous_period()
    assert (previous.start, previous.end) == (prev_start, prev_end)
    assert previous.days == Filters(start, end).days
    assert (previous.markets, previous.channels, previous.currency) == (("US",), ("amazon",), "EUR")


def test_default_range_is_the_last_90_days_including_today():
    start, end = default_range(D(2026, 11, 21))
    assert end == D(2026, 11, 21)
    assert (end - start).days + 1 == 90


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": D(2026, 2, 1), "end": D(2026, 1, 1)}, "before the start"),
        ({"start": D(2026, 1, 1), "end": D(2026, 1, 2), "currency": "GBP"}, "Reporting currency"),
    ],
)
def test_invalid_filters_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Filters(**kwargs)
