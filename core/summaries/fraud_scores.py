"""Fraud scores (`suspicious_payments`): a documented rule score per payment, precomputed for the risk page.

Rules (each fires at most once per payment; the score is the sum of the points, capped at 100):

| code                 | fires when                                                                     | points |
| -------------------- | ------------------------------------------------------------------------------ | ------ |
| velocity             | the same card, IP or customer made >= 5 attempts in the trailing 60 minutes,   | 35     |
|                      | this attempt included                                                          |        |
| country_mismatch     | card country, IP country and shipping country (the market) are not all equal:  | 15 per |
|                      | 15 points for each country beyond the first among the known ones (max 30)      | extra  |
| duplicate            | another accepted payment with the same card (or customer), amount and currency | 20     |
|                      | in the previous 24 hours                                                       |        |
| high_value_first     | the customer's first order and the payment is >= USD 250                       | 25     |
| decline_then_success | an accepted payment preceded by a decline from the same card, IP or customer   | 15     |
|                      | within the previous 60 minutes                                                 |        |

A payment scoring at least `thresholds.FRAUD_SUSPICIOUS_SCORE` (40) is suspicious: two independent
signals, or velocity plus anything. Rows scoring above 0 are kept in `suspicious_payments` with their
reasons, so the page filters a small indexed table instead of scanning every payment.

Why the scoring lives here and not in core.fraud: the score is one figure with one home, the table this module
fills, and the seed and the imports rebuild it through the registry like every other summary. core.fraud keeps what
the risk page reads (filtered counts and lists over `suspicious_payments`) and imports the rule names and points
from here. Leaving the refresher in core.fraud would make the summaries package import a page's domain module, the
upward dependency the layering forbids (or core.fraud would have to sit below the summaries although the page's
reads live there). Unlike the other summaries, the rules need time windows per card, IP and customer, so the
payments are scored in pandas and only the rows scoring above 0 are written. The limits are read from
core.thresholds (which imports nothing of the project) at call time.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Float, Integer, String, cast, delete, insert, select, type_coerce
from sqlalchemy.orm import Session

from core import thresholds
from core.platform.models import Order, Payment, SuspiciousPayment
from core.platform.queries import frame
from core.summaries.registry import register
from core.summaries.sql import in_range

RULE_POINTS = {
    "velocity": 35,
    "country_mismatch": 15,  # per country beyond the first
    "duplicate": 20,
    "high_value_first": 25,
    "decline_then_success": 15,
}
RULES = tuple(RULE_POINTS)
MAX_SCORE = 100
VELOCITY_WINDOW_S = 3600
DUPLICATE_WINDOW_S = 24 * 3600
DECLINE_WINDOW_S = 3600


def fraud_score(*, velocity: bool = False, countries: int = 1, duplicate: bool = False,
                high_value_first: bool = False, decline_then_success: bool = False) -> tuple[int, list[str]]:
    """Score and reasons of one payment from its rule outcomes (see the module docstring).

    `countries` is the number of distinct countries among card, IP and shipping country (1-3).
    """
    points, reasons = 0, []
    for code, fired in (("velocity", velocity), ("duplicate", duplicate), ("high_value_first", high_value_first),
                        ("decline_then_success", decline_then_success)):
        if fired:
            points += RULE_POINTS[code]
            reasons.append(code)
    extra = max(0, min(countries, 3) - 1)
    if extra:
        points += RULE_POINTS["country_mismatch"] * extra
        reasons.append("country_mismatch")
    return min(points, MAX_SCORE), [r for r in RULES if r in reasons]


def _window_counts(keys: pd.Series, seconds: np.ndarray, window: int, counted: np.ndarray, *,
                   include_same_second: bool) -> np.ndarray:
    """For each row: how many `counted` rows share its (non-null) key with a time in [t - window, t]
    (or [t - window, t) when `include_same_second` is False)."""
    codes, _ = pd.factorize(keys, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    span = np.int64(int(seconds.max() - seconds.min()) + window + 1) if len(seconds) else np.int64(1)
    t = (seconds - (seconds.min() if len(seconds) else 0)).astype(np.int64)
    combined = codes * span + t
    reference = np.sort(combined[counted & (codes >= 0)])
    upper = np.searchsorted(reference, combined, side="right" if include_same_second else "left")
    lower = np.searchsorted(reference, combined - window, side="left")
    return np.where(codes >= 0, upper - lower, 0)


def _distinct_countries(shipping: pd.Series, card: pd.Series, ip: pd.Series) -> np.ndarray:
    """How many different countries among the shipping country and the known card and IP countries (1-3)."""
    ship, card_c, ip_c = (s.astype(object).to_numpy() for s in (shipping, card, ip))
    card_known, ip_known = pd.notna(card_c), pd.notna(ip_c)
    card_new = card_known & (card_c != ship)
    ip_new = ip_known & (ip_c != ship) & ~(card_known & (ip_c == card_c))
    return 1 + card_new.astype(int) + ip_new.astype(int)


def score_payments(payments: pd.DataFrame) -> pd.DataFrame:
    """Apply the rules to a frame of payments; returns it with `score` and `reasons` (comma-separated).

    Expects columns attempted_at, status, amount_usd, currency, market_code, card_country, ip_country,
    card_fingerprint, ip_hash, customer_id, is_first_order. Context rows (e.g. the day before a refreshed
    range) should be included so windows that straddle the range start see them.
    """
    df = payments.reset_index(drop=True)
    n = len(df)
    if n == 0:
        return df.assign(score=pd.Series(dtype=int), reasons=pd.Series(dtype=str))
    seconds = pd.to_datetime(df["attempted_at"]).to_numpy("datetime64[s]").astype(np.int64)
    declined = (df["status"] == "declined").to_numpy()
    accepted = ~declined
    everyone = np.ones(n, dtype=bool)
    customer = ("c" + df["customer_id"].astype("Int64").astype(str)).where(df["customer_id"].notna())
    keys = {"card": df["card_fingerprint"], "ip": df["ip_hash"], "customer": customer}

    velocity = np.zeros(n, dtype=bool)
    after_decline = np.zeros(n, dtype=bool)
    for key in keys.values():
        counts = _window_counts(key, seconds, VELOCITY_WINDOW_S, everyone, include_same_second=True)
        velocity |= counts >= thresholds.FRAUD_VELOCITY_ATTEMPTS
        prior = _window_counts(key, seconds, DECLINE_WINDOW_S, declined, include_same_second=False)
        after_decline |= accepted & (prior >= 1)

    payer = df["card_fingerprint"].where(df["card_fingerprint"].notna(), customer)
    amount = df["amount_usd"].astype(float).round(2).astype(str)
    same_charge = (payer.fillna("").astype(str) + "|" + amount + "|" + df["currency"]).where(payer.notna())
    duplicate = accepted & (_window_counts(same_charge, seconds, DUPLICATE_WINDOW_S, accepted,
                                           include_same_second=True) >= 2)

    countries = _distinct_countries(df["market_code"], df["card_country"], df["ip_country"])
    high_value_first = (df["is_first_order"].fillna(False).astype(bool).to_numpy()
                        & (df["amount_usd"].astype(float).to_numpy() >= thresholds.FRAUD_HIGH_VALUE_FIRST_ORDER_USD))

    extra_countries = np.clip(countries, 1, 3) - 1
    score = (RULE_POINTS["velocity"] * velocity + RULE_POINTS["duplicate"] * duplicate
             + RULE_POINTS["high_value_first"] * high_value_first
             + RULE_POINTS["decline_then_success"] * after_decline
             + RULE_POINTS["country_mismatch"] * extra_countries)
    flags = {"velocity": velocity, "country_mismatch": extra_countries > 0, "duplicate": duplicate,
             "high_value_first": high_value_first, "decline_then_success": after_decline}
    reasons = np.full(n, "", dtype=object)
    for code in RULES:
        fired = flags[code]
        reasons[fired] = np.where(reasons[fired] == "", code, reasons[fired] + "," + code)
    return df.assign(score=np.minimum(score, MAX_SCORE).astype(int), reasons=reasons)


# --- the summary table ---------------------------------------------------------------------------------------


def _load_for_scoring(session: Session, condition) -> pd.DataFrame:
    """The columns the rules need, fetched without per-value type processing (1M rows in seconds)."""
    result = session.execute(
        select(
            Payment.id.label("payment_id"), type_coerce(Payment.attempted_at, String).label("attempted_at"),
            Payment.status, cast(Payment.amount_usd, Float).label("amount_usd"), Payment.currency,
            Payment.market_code, Payment.card_country, Payment.ip_country, Payment.card_fingerprint, Payment.ip_hash,
            Payment.customer_id, type_coerce(Order.is_first_order, Integer).label("is_first_order"),
        )
        .outerjoin(Order, Order.id == Payment.order_id)
        .where(condition)
    )
    keys, rows = list(result.keys()), result.fetchall()
    if not rows:
        return pd.DataFrame(columns=keys)
    columns = dict(zip(keys, (np.array(values, dtype=object) for values in zip(*rows))))
    df = pd.DataFrame(columns)
    df["attempted_at"] = pd.to_datetime(df["attempted_at"])
    df["amount_usd"] = df["amount_usd"].astype(float)
    df["customer_id"] = pd.to_numeric(df["customer_id"])
    df["is_first_order"] = df["is_first_order"].fillna(0).astype(int).astype(bool)
    return df


@register("suspicious_payments", "payments", "orders")
def refresh_suspicious_payments(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Rescore the payments attempted in [start, end] (all when None) and replace their rows.
    The day before `start` is loaded too, so windows that straddle the range start see their attempts."""
    session.execute(delete(SuspiciousPayment.__table__).where(in_range(SuspiciousPayment.attempt_date, start, end)))
    context_start = start - dt.timedelta(days=1) if start is not None else None
    payments = _load_for_scoring(session, in_range(Payment.attempt_date, context_start, end))
    if payments.empty:
        return 0
    scored = score_payments(payments)
    scored = scored.loc[scored["score"] > 0, ["payment_id", "score", "reasons"]]
    written = 0
    for offset in range(0, len(scored), 500):
        chunk = scored.iloc[offset: offset + 500]
        details = frame(session, select(
            Payment.id.label("payment_id"), Payment.attempt_date, Payment.attempted_at, Payment.market_code,
            Payment.channel_id, Payment.payment_ref, Payment.method, Payment.status,
            cast(Payment.amount_usd, Float).label("amount_usd"), Payment.card_country, Payment.ip_country,
        ).where(Payment.id.in_([int(i) for i in chunk["payment_id"]])))
        if start is not None:
            details = details[details["attempt_date"] >= start]
        rows = details.merge(chunk, on="payment_id")
        records = [{k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else v) for k, v in r.items()}
                   for r in rows.astype(object).to_dict(orient="records")]
        records = [r | {"payment_id": int(r["payment_id"]), "channel_id": int(r["channel_id"]),
                        "score": int(r["score"]), "amount_usd": float(r["amount_usd"])} for r in records]
        if records:
            session.execute(insert(SuspiciousPayment), records)
            written += len(records)
    return written
