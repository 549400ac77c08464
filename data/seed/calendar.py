"""The seed's calendar: the history window ending on the end date, and day-number arithmetic
(weekday, month, day of month, Chinese New Year).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.seed.arrays import as_days, to_day_numbers

HISTORY_MONTHS = 24
CHINESE_NEW_YEAR = tuple(
    dt.date.fromisoformat(d)
    for d in (
        "2020-01-25", "2021-02-12", "2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29",
        "2026-02-17", "2027-02-06", "2028-01-26", "2029-02-13", "2030-02-03", "2031-01-23",
    )
)


@dataclass(frozen=True)
class Calendar:
    start: dt.date
    end: dt.date

    @classmethod
    def ending(cls, end: dt.date, months: int = HISTORY_MONTHS) -> Calendar:
        start = (pd.Timestamp(end) - pd.DateOffset(months=months)).date() + dt.timedelta(days=1)
        return cls(start, end)

    @property
    def days(self) -> np.ndarray:
        return np.arange(np.datetime64(self.start), np.datetime64(self.end) + 1)

    @property
    def start_day(self) -> int:
        return int(np.datetime64(self.start).astype(np.int64))

    @property
    def end_day(self) -> int:
        return int(np.datetime64(self.end).astype(np.int64))

    @property
    def now(self) -> np.datetime64:
        """The first second after the end date: nothing in the data happens at or after it."""
        return np.datetime64(self.end + dt.timedelta(days=1), "s")

    def month_index(self, day_numbers: np.ndarray) -> np.ndarray:
        months = as_days(day_numbers).astype("datetime64[M]")
        return (months - np.datetime64(self.start, "M")).astype(np.int64)

    @property
    def n_months(self) -> int:
        return int((np.datetime64(self.end, "M") - np.datetime64(self.start, "M")).astype(int)) + 1

    def recent_months(self, count: int, ahead: int = 0) -> np.ndarray:
        """First days of the `count` months up to the end date's month, plus `ahead` later months."""
        end_month = np.datetime64(self.end, "M")
        return (end_month + np.arange(-count + 1, ahead + 1)).astype("datetime64[D]")


def month_of_year(day_numbers: np.ndarray) -> np.ndarray:
    return as_days(day_numbers).astype("datetime64[M]").astype(np.int64) % 12  # 0 = January


def day_of_month(day_numbers: np.ndarray) -> np.ndarray:
    month_start = as_days(day_numbers).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return np.asarray(day_numbers) - month_start + 1


def weekday_of(day_numbers: np.ndarray) -> np.ndarray:
    return (np.asarray(day_numbers) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday


def near_chinese_new_year(day_numbers: np.ndarray, before: int, after: int) -> np.ndarray:
    cny = to_day_numbers(CHINESE_NEW_YEAR)
    offset = np.asarray(day_numbers)[:, None] - cny[None, :]
    return ((offset >= -before) & (offset <= after)).any(axis=1)
