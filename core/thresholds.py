"""Published thresholds the dashboard watches, kept in one place with their sources.

Early warning starts at 80 % of a limit, so a ratio is flagged before it breaches.
"""

from __future__ import annotations

import datetime as dt

EARLY_WARNING_SHARE = 0.8

# Amazon seller account health targets (Seller Central "Account Health"):
ORDER_DEFECT_RATE_MAX = 0.01
LATE_SHIPMENT_RATE_MAX = 0.04
PRE_FULFILMENT_CANCEL_RATE_MAX = 0.025
VALID_TRACKING_RATE_MIN = 0.95

ON_TIME_DELIVERY_TARGET = 0.97  # our own delivery promise target

# Visa Acquirer Monitoring Program (VAMP): (fraud reports + disputes) / settled CNP transactions.
VAMP_EXCESSIVE_BEFORE_2026_04 = 0.022
VAMP_EXCESSIVE_FROM_2026_04 = 0.015
VAMP_NEW_LIMIT_FROM = dt.date(2026, 4, 1)
VAMP_MIN_COUNT = 1500  # "excessive" applies only once fraud + disputes reach this count in the month


def vamp_limit(on: dt.date) -> float:
    return VAMP_EXCESSIVE_FROM_2026_04 if on >= VAMP_NEW_LIMIT_FROM else VAMP_EXCESSIVE_BEFORE_2026_04


def band(value: float | None, limit: float, *, higher_is_worse: bool = True) -> str:
    """ok / warning (within 80 % of the limit) / breach, for a ratio against its limit."""
    if value is None:
        return "ok"
    if higher_is_worse:
        if value >= limit:
            return "breach"
        return "warning" if value >= EARLY_WARNING_SHARE * limit else "ok"
    # A floor (e.g. valid tracking >= 95 %): the shortfall is measured against the room below 100 %.
    if value < limit:
        return "breach"
    return "warning" if (1 - value) >= EARLY_WARNING_SHARE * (1 - limit) else "ok"
