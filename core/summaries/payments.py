"""Payments summaries (read by core.payments): attempts and outcomes by attempt day, disputes by the day
they were raised, payouts by payout day, and what is still in transit. Disputes and payouts follow their
attempt, so those two rebuild from `start` on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.platform.models import (
    DailyDisputes,
    DailyPaymentOutcomes,
    DailyPayments,
    DailySettlements,
    Payment,
    PaymentsInTransit,
)
from core.summaries.registry import register
from core.summaries.sql import count_if, days_between, in_range, rebuild, sum_if

PAYMENT_KEYS = (Payment.market_code, Payment.channel_id, Payment.method, Payment.gateway)


@register("daily_payments", "payments")
def refresh_daily_payments(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    succeeded = Payment.status != "declined"
    stmt = (
        select(
            Payment.attempt_date.label("day"), *PAYMENT_KEYS,
            func.count().label("attempts"),
            count_if(succeeded).label("succeeded"),
            count_if(~succeeded).label("declined"),
            count_if(Payment.disputed_on.is_not(None)).label("disputed"),
            count_if(Payment.fraud_reported).label("fraud_reported"),
            sum_if(succeeded, Payment.amount_usd).label("amount_usd"),
            func.sum(Payment.fee_usd).label("fee_usd"),
            func.sum(Payment.refunded_usd).label("refunded_usd"),
        )
        .where(in_range(Payment.attempt_date, start, end))
        .group_by(Payment.attempt_date, *PAYMENT_KEYS)
    )
    return rebuild(session, DailyPayments, DailyPayments.day, start, end, stmt)


@register("daily_payment_outcomes", "payments")
def refresh_daily_payment_outcomes(session: Session, start: dt.date | None = None,
                                   end: dt.date | None = None) -> int:
    declined = Payment.status == "declined"
    card_country = func.coalesce(Payment.card_country, "")
    reason = case((declined, func.coalesce(Payment.decline_reason, "")), else_="")
    stmt = (
        select(Payment.attempt_date.label("day"), *PAYMENT_KEYS, card_country.label("card_country"),
               reason.label("decline_reason"), func.count().label("attempts"), count_if(~declined).label("succeeded"))
        .where(in_range(Payment.attempt_date, start, end))
        .group_by(Payment.attempt_date, *PAYMENT_KEYS, card_country, reason)
    )
    return rebuild(session, DailyPaymentOutcomes, DailyPaymentOutcomes.day, start, end, stmt)


@register("daily_disputes", "payments")
def refresh_daily_disputes(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """By the day a dispute was raised, which follows the attempt: rebuilt from `start` on."""
    raised = func.coalesce(Payment.disputed_on, Payment.attempt_date)
    reason = func.coalesce(Payment.dispute_reason, "")
    stmt = (
        select(raised.label("day"), *PAYMENT_KEYS, reason.label("reason"),
               count_if(Payment.disputed_on.is_not(None)).label("disputes"),
               count_if(Payment.fraud_reported).label("fraud_reported"),
               func.sum(Payment.amount_usd).label("amount_usd"))
        .where(Payment.disputed_on.is_not(None) | Payment.fraud_reported, in_range(raised, start, None))
        .group_by(raised, *PAYMENT_KEYS, reason)
    )
    return rebuild(session, DailyDisputes, DailyDisputes.day, start, None, stmt)


@register("daily_settlements", "payments")
def refresh_daily_settlements(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """By payout day, which follows the attempt: rebuilt from `start` on."""
    stmt = (
        select(
            Payment.settled_on.label("day"), *PAYMENT_KEYS, Payment.currency, func.count().label("payments"),
            func.sum(Payment.amount).label("amount_local"), func.sum(Payment.amount_usd).label("amount_usd"),
            func.sum(Payment.amount * Payment.settled_usd_per_unit).label("settled_usd"),
            func.sum(Payment.fee_usd).label("fee_usd"),
            func.sum(days_between(session, Payment.settled_on, Payment.attempt_date)).label("lag_days_sum"),
        )
        .where(Payment.settled_on.is_not(None), Payment.status != "declined",
               in_range(Payment.settled_on, start, None))
        .group_by(Payment.settled_on, *PAYMENT_KEYS, Payment.currency)
    )
    return rebuild(session, DailySettlements, DailySettlements.day, start, None, stmt)


@register("payments_in_transit", "payments")
def refresh_payments_in_transit(session: Session, start: dt.date | None = None,
                                end: dt.date | None = None) -> int:
    """Always whole: a payout on any later day takes an old attempt out of transit."""
    stmt = (
        select(Payment.attempt_date.label("day"), *PAYMENT_KEYS, Payment.currency, func.count().label("payments"),
               func.sum(Payment.amount).label("amount_local"), func.sum(Payment.amount_usd).label("amount_usd"),
               func.sum(Payment.fee_usd).label("fee_usd"))
        .where(Payment.settled_on.is_(None), Payment.status != "declined", Payment.status != "refunded")
        .group_by(Payment.attempt_date, *PAYMENT_KEYS, Payment.currency)
    )
    return rebuild(session, PaymentsInTransit, PaymentsInTransit.day, None, None, stmt)
