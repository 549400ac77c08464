"""The shared filters every page reads: a date range, markets, channels, reporting currency."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

REPORTING_CURRENCIES = ("USD", "EUR", "CNY")
DEFAULT_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date  # inclusive
    markets: tuple[str, ...] = ()  # empty = all markets
    channels: tuple[str, ...] = ()  # channel codes; empty = all channels
    currency: str = "USD"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("The end date is before the start date")
        if self.currency not in REPORTING_CURRENCIES:
            raise ValueError(f"Reporting currency must be one of {', '.join(REPORTING_CURRENCIES)}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous_period(self) -> Filters:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - dt.timedelta(days=1)
        return Filters(end - dt.timedelta(days=self.days - 1), end, self.markets, self.channels, self.currency)


@dataclass(frozen=True)
class KpiDelta:
    name: str
    current: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        """Relative change for amounts and counts (e.g. +0.12 = +12 %)."""
        if self.current is None or not self.previous:
            return None
        return (self.current - self.previous) / abs(self.previous)

    @property
    def difference(self) -> float | None:
        """Absolute change, used for rates (percentage points) and scores."""
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous


def default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last 90 days, today included."""
    return today - dt.timedelta(days=DEFAULT_WINDOW_DAYS - 1), today
