"""What the risk page reads about fraud: rule counts, the suspicious payments list and their total.

The rules, their points and the scoring that fills `suspicious_payments` are the summary's own, in
core.summaries.fraud_scores (rules table in its docstring); this module only filters that small indexed table.
A payment scoring at least `thresholds.FRAUD_SUSPICIOUS_SCORE` (40) is suspicious.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import thresholds
from core.platform.filters import Filters
from core.platform.models import Channel, SuspiciousPayment
from core.platform.queries import frame, where_filters

# The rules' points, cap and windows (the page's labels show them) are defined with the scoring they describe.
from core.summaries.fraud_scores import DUPLICATE_WINDOW_S, MAX_SCORE, RULE_POINTS, RULES, VELOCITY_WINDOW_S

__all__ = ["DUPLICATE_WINDOW_S", "MAX_SCORE", "RULE_POINTS", "RULES", "VELOCITY_WINDOW_S", "signal_counts",
           "suspicious_payments", "suspicious_total"]

# --- what the page reads ---------------------------------------------------------------------------------------


def _filtered(stmt, filters: Filters):
    return where_filters(stmt, filters, day=SuspiciousPayment.attempt_date, market=SuspiciousPayment.market_code,
                         channel_id=SuspiciousPayment.channel_id)


def signal_counts(session: Session, filters: Filters) -> pd.DataFrame:
    """Per rule: payments in the period where it fired, and how many of those are suspicious (score >= 40)."""
    rows = frame(session, _filtered(
        select(SuspiciousPayment.reasons, SuspiciousPayment.score, func.count().label("payments"))
        .group_by(SuspiciousPayment.reasons, SuspiciousPayment.score), filters))
    out = []
    for rule in RULES:
        fired = rows[rows["reasons"].str.split(",").map(lambda r, rule=rule: rule in r)] if not rows.empty else rows
        suspicious = fired[fired["score"] >= thresholds.FRAUD_SUSPICIOUS_SCORE] if not fired.empty else fired
        out.append({"rule": rule, "points": RULE_POINTS[rule],
                    "payments": int(fired["payments"].sum()) if not fired.empty else 0,
                    "suspicious": int(suspicious["payments"].sum()) if not suspicious.empty else 0})
    return pd.DataFrame(out)


def suspicious_payments(session: Session, filters: Filters, limit: int = 500) -> pd.DataFrame:
    """The highest-scoring suspicious payments of the period (score >= 40), newest first within a score."""
    stmt = _filtered(
        select(SuspiciousPayment.attempted_at, SuspiciousPayment.payment_ref, SuspiciousPayment.market_code,
               Channel.code.label("channel"), SuspiciousPayment.method, SuspiciousPayment.status,
               SuspiciousPayment.amount_usd, SuspiciousPayment.card_country, SuspiciousPayment.ip_country,
               SuspiciousPayment.score, SuspiciousPayment.reasons)
        .join(Channel, Channel.id == SuspiciousPayment.channel_id)
        .where(SuspiciousPayment.score >= thresholds.FRAUD_SUSPICIOUS_SCORE), filters)
    stmt = stmt.order_by(SuspiciousPayment.score.desc(), SuspiciousPayment.attempted_at.desc()).limit(limit)
    return frame(session, stmt)


def suspicious_total(session: Session, filters: Filters) -> tuple[int, float]:
    """Number and USD amount of suspicious payments (score >= 40) in the period."""
    count, amount = session.execute(_filtered(
        select(func.count(), func.coalesce(func.sum(SuspiciousPayment.amount_usd), 0.0))
        .where(SuspiciousPayment.score >= thresholds.FRAUD_SUSPICIOUS_SCORE), filters)).one()
    return int(count), float(amount)
