"""Published thresholds the dashboard watches, kept in one place with their sources.

Every limit the product compares a figure against lives here, and every label that shows one is formatted
from these names (pages never repeat a value as text). Core reads them at call time (`thresholds.X`), not
copied into module constants, so a label and its rule cannot disagree.

Early warning starts at 80 % of a limit, so a ratio is flagged before it breaches.
"""

from __future__ import annotations

import datetime as dt

EARLY_WARNING_SHARE = 0.8  # our own rule: warn once a ratio has used 80 % of its limit

# Amazon seller account health targets (Seller Central "Account Health"). A ceiling breaches at the value
# (`band`: value >= limit), so the healthy range is below it; a floor breaches below it (>= is healthy).
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

# Mastercard Excessive Chargeback Program (ECM / HECM, "Security Rules and Procedures"): chargebacks this
# month / card transactions last month. Both the count and the ratio must be reached (>=).
ECM_MIN_CHARGEBACKS, ECM_MIN_RATIO = 100, 0.015
HECM_MIN_CHARGEBACKS, HECM_MIN_RATIO = 300, 0.03


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


# --- risk page (issue 6) --------------------------------------------------------------------------------------
# Risk matrix: score = likelihood (1-5) x impact (1-5); bands by score (inclusive upper edges).
RISK_BANDS = (("low", 4), ("medium", 9), ("high", 15), ("critical", 25))
# Amazon measures the order defect rate over a rolling 60-day window.
ODR_WINDOW_DAYS = 60
# Herfindahl-Hirschman index on percentage shares (0-10,000); US DOJ/FTC 2010 Horizontal Merger Guidelines:
# below 1,500 unconcentrated, 1,500-2,500 moderately concentrated, above 2,500 highly concentrated.
HHI_MODERATE = 1500
HHI_HIGH = 2500
# Single point of failure: a SKU bought from one supplier only that earns at least this share of net revenue.
SPOF_REVENUE_SHARE_MIN = 0.02
# Fraud rules (core.fraud): our own rule set, tuned on the seeded history, not a published limit.
FRAUD_VELOCITY_ATTEMPTS = 5  # attempts by one card, IP or customer within the trailing hour
FRAUD_HIGH_VALUE_FIRST_ORDER_USD = 250.0
FRAUD_SUSPICIOUS_SCORE = 40  # a payment scoring at least this is listed as suspicious

# Customer service (issue 5): defaults the page lets the lead change.
FIRST_RESPONSE_SLA_HOURS = 24  # Amazon expects replies to buyer messages within 24 hours
RESOLUTION_SLA_HOURS = 72
RETURN_RATE_FLAG = 0.10  # SKUs returning more than 10 % of units sold go to the product team
RETURN_RATE_MIN_UNITS = 20  # ... once they sold at least this many units in the period

# Logistics (issue 4): our own inventory and supplier policy, not a published limit.
# More days of cover than this is overstock: 12 weeks, about one sea-freight replenishment cycle.
OVERSTOCK_DAYS = 84
# Supplier scorecard grades: the lowest score (0-1) of each grade, best first (>=); below the last is D.
SUPPLIER_GRADE_FLOORS = (("A", 0.90), ("B", 0.80), ("C", 0.70))

# Product selection (issue 3): our own classification rules.
LIFECYCLE_INTRODUCTION_MONTHS = 6  # on sale for fewer months than this: introduction
LIFECYCLE_GROWTH_MIN = 0.15  # last 3 months vs the 3 before: >= +15 % growth, <= -15 % decline
# ABC (Pareto) analysis: A while the SKUs ranked above hold < 80 % of revenue, B < 95 %, else C.
ABC_A_SHARE, ABC_B_SHARE = 0.80, 0.95
# High returns: a return rate >= max(5 %, 1.5 x the category's rate), once the SKU sold at least 20 units.
HIGH_RETURN_RATE_FLOOR, HIGH_RETURN_CATEGORY_FACTOR, HIGH_RETURN_MIN_UNITS = 0.05, 1.5, 20

# Profit ledger (issue 16): our own rules.
# A loss-maker: contribution < 0 over the period on at least this many units (fewer is noise, not a verdict).
LOSS_MAKER_MIN_UNITS = 5
# A landed unit cost a manager enters is refused above this (a typo, not a product we buy); USD per unit.
MANUAL_UNIT_COST_MAX_USD = 5000.0

# Payments what-if (issue 7): the FX shock sliders move a currency at most this far either way.
FX_SHOCK_MAX = 0.20

# Imports take turns (issue 17; core.imports.importers): one that finds another running waits this long for it,
# then is refused. Our own rule: long enough for a 1M-row import to finish (bench/upload.py), short enough that
# the waiting user hears back within the page's session.
IMPORT_WAIT_SECONDS = 600

# --- sign-in throttle (issue 15; core.platform.login_throttle) ------------------------------------------------
# OWASP ASVS 4.0.3 V2.2.1: no more than 100 failed attempts per hour on one account. Our own rules stay well
# under it (an attacker who retries the moment each wait ends gets fewer than 80 an hour, tests/test_auth.py)
# and lock a guessing client first, so a lone anonymous visitor never locks an account for everyone.
SIGN_IN_CLIENT_WINDOW_MINUTES = 15  # a client's failures count this long; its own success forgives them
SIGN_IN_CLIENT_FREE_FAILURES = 3  # failures a client may make before it has to wait
SIGN_IN_CLIENT_LOCK_FAILURES = 10  # failures within the window that lock the client ...
SIGN_IN_CLIENT_LOCK_MINUTES = 15  # ... for this long after its last failure
SIGN_IN_ACCOUNT_WINDOW_MINUTES = 60  # an account's failures (from every client) count this long
SIGN_IN_ACCOUNT_FREE_FAILURES = 10  # failures on one account before every client has to wait
SIGN_IN_ACCOUNT_LOCK_FAILURES = 50  # failures within the window that lock the account for every client ...
SIGN_IN_ACCOUNT_LOCK_MINUTES = 5  # ... capped short: many clients guessing together keep its owner out briefly
SIGN_IN_DELAY_FIRST_SECONDS = 2  # the first wait; it doubles with each further failure ...
SIGN_IN_DELAY_MAX_SECONDS = 60  # ... up to this
SIGN_IN_RECENT_HOURS = 24  # the Users page lists the failures of this many hours
