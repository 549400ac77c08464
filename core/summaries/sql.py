"""SQL building blocks the refreshers share: day ranges, conditional sums, dialect-specific date arithmetic
and `rebuild`, the delete-then-`INSERT INTO ... SELECT` every summary table is written with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Date, DateTime, Integer, and_, case, cast, delete, func, insert
from sqlalchemy.orm import Session

from core.platform.models import Shipment


def in_range(column, start: dt.date | None, end: dt.date | None):
    """`column` within [start, end]; a missing bound is open."""
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column <= end)
    return and_(True, *conditions)


def count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def sum_if(condition, value):
    return func.sum(case((condition, value), else_=0))


def left_join(base, other, keys: Iterable[str]):
    return and_(*[base.c[key] == other.c[key] for key in keys])


# --- dates (SQLite and PostgreSQL differ) ---------------------------------------------------------------------


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def transit_days(session: Session):
    """Whole days from dispatch to delivery, in the dialect's own date arithmetic."""
    if is_sqlite(session):
        return cast(func.julianday(Shipment.delivered_at) - func.julianday(Shipment.shipped_at), Integer)
    seconds = func.extract("epoch", Shipment.delivered_at - Shipment.shipped_at)
    return cast(func.floor(seconds / 86400), Integer)


def hours_between(session: Session, later, earlier):
    if is_sqlite(session):
        # Day fractions from julianday() do not subtract exactly: a 2-hour reply came out as 1.99999999 h and
        # fell in the 1-hour bucket (PostgreSQL says 2). julianday() keeps milliseconds, so round to those.
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86_400_000) / 3_600_000.0
    return func.extract("epoch", later - earlier) / 3600.0


def days_between(session: Session, later, earlier):
    """Days between two dates as an integer."""
    if is_sqlite(session):
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return later - earlier  # date - date is an integer number of days in PostgreSQL


def month_of(session: Session, day):
    """The first day of `day`'s month as a date the summary's Date column accepts. (core.platform.queries.month_start
    gives text, which PostgreSQL will not insert into a date column; SQLite stores dates as that same text.)"""
    if is_sqlite(session):
        return func.strftime("%Y-%m-01", day)
    return cast(func.date_trunc("month", cast(day, DateTime)), Date)


def month_end(day: dt.date | None) -> dt.date | None:
    if day is None:
        return None
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def first_of_month(day: dt.date | None) -> dt.date | None:
    return day.replace(day=1) if day else None


# --- writing a summary ------------------------------------------------------------------------------------------


def rebuild(session: Session, model, day_column, start: dt.date | None, end: dt.date | None, *selects) -> int:
    """Delete the summary rows of [start, end] and insert what each SELECT (labelled like the table's
    columns) yields; returns the rows written."""
    table = model.__table__
    unbounded = start is None and end is None
    # No WHERE at all lets SQLite truncate the table instead of deleting row by row.
    session.execute(delete(table) if unbounded else delete(table).where(in_range(day_column, start, end)))
    written = 0
    for stmt in selects:
        # Without preserve_rowcount SQLAlchemy reads an INSERT's rowcount after psycopg closed the cursor: -1.
        statement = insert(table).from_select(list(stmt.selected_columns.keys()), stmt)
        written += session.execute(statement.execution_options(preserve_rowcount=True)).rowcount
    return written
