"""SQL building blocks shared by every page's service: filters, currency, months."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from core.platform.filters import Filters
from core.platform.models import Channel, FxRate


def frame(session: Session, stmt) -> pd.DataFrame:
    result = session.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def where_filters(stmt: Select, filters: Filters, *, day, market=None, channel_id=None) -> Select:
    """Restrict a statement over a table with day/market/channel columns to the shared filters."""
    stmt = stmt.where(day >= filters.start, day <= filters.end)
    if market is not None and filters.markets:
        stmt = stmt.where(market.in_(filters.markets))
    if channel_id is not None and filters.channels:
        stmt = stmt.where(channel_id.in_(select(Channel.id).where(Channel.code.in_(filters.channels))))
    return stmt


def join_fx(stmt: Select, day, currency: str) -> Select:
    """Join the day's rate so `in_currency()` can convert USD amounts; USD needs no join."""
    if currency == "USD":
        return stmt
    return stmt.join(FxRate, and_(FxRate.day == day, FxRate.currency == currency))


def in_currency(usd_amount, currency: str):
    return usd_amount if currency == "USD" else usd_amount * FxRate.per_usd


def month_start(session: Session, day):
    """The first day of the month as 'YYYY-MM-01' text, in the dialect's own functions."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-01", day)
    return func.to_char(day, "YYYY-MM-01")


def safe_ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)
