"""Customer-service summaries (read by core.customer_service), by the day a ticket was opened: volumes,
CSAT and response sums, and the histogram of first-response and resolution hours.

The histogram's buckets are defined here and imported by core.customer_service, which turns them back
into percentiles: the table and the page must agree on them, and the summary is the lower layer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, case, func, literal, literal_column, select
from sqlalchemy.orm import Session

from core.platform.models import DailyTickets, DailyTicketStats, DailyTicketTimes, Ticket
from core.summaries.registry import register
from core.summaries.sql import count_if, hours_between, in_range, rebuild

# Lower edges of the time buckets, in hours: hourly to 24 h, two-hourly to 48 h, then wider.
BUCKET_EDGES = tuple(range(0, 24)) + tuple(range(24, 48, 2)) + tuple(range(48, 72, 6)) + (
    72, 96, 120, 144, 168, 240, 336, 504, 720)
MEASURES = ("first_response", "resolution")


@register("daily_tickets", "tickets")
def refresh_daily_tickets(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    keys = (Ticket.created_date, Ticket.market_code, Ticket.channel, Ticket.reason)
    stmt = (
        select(
            Ticket.created_date.label("day"), *keys[1:],
            func.count().label("tickets"),
            func.coalesce(func.sum(Ticket.csat), 0).label("csat_sum"),
            func.count(Ticket.csat).label("csat_count"),
            func.coalesce(func.sum(hours_between(session, Ticket.first_response_at, Ticket.created_at)),
                          0.0).label("first_response_hours_sum"),
            count_if(Ticket.first_response_at.is_not(None)).label("responded"),
        )
        .where(in_range(Ticket.created_date, start, end))
        .group_by(*keys)
    )
    return rebuild(session, DailyTickets, DailyTickets.day, start, end, stmt)


@register("daily_ticket_stats", "tickets")
def refresh_daily_ticket_stats(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    keys = (Ticket.created_date, Ticket.market_code, Ticket.channel, Ticket.reason, Ticket.language)
    stmt = (
        select(
            Ticket.created_date.label("day"), *keys[1:],
            func.count().label("tickets"), count_if(Ticket.first_response_at.is_not(None)).label("responded"),
            count_if(Ticket.resolved_at.is_not(None)).label("resolved"),
            func.coalesce(func.sum(Ticket.csat), 0).label("csat_sum"), func.count(Ticket.csat).label("csat_count"),
        )
        .where(in_range(Ticket.created_date, start, end))
        .group_by(*keys)
    )
    return rebuild(session, DailyTicketStats, DailyTicketStats.day, start, end, stmt)


def _bucket(hours, edges: tuple[int, ...] = BUCKET_EDGES):
    """The lower edge of the bucket holding `hours` (negative hours fall in the first), as a binary search:
    SQLite inlines `hours` into every comparison, and a flat CASE over 40 edges cost a second per 30k tickets."""
    if len(edges) == 1:
        return literal_column(str(edges[0]))
    middle = len(edges) // 2
    return case((hours >= edges[middle], _bucket(hours, edges[middle:])), else_=_bucket(hours, edges[:middle]))


def _ticket_time_histogram(session: Session, measure: str, start, end):
    ended_at = {"first_response": Ticket.first_response_at, "resolution": Ticket.resolved_at}[measure]
    timed = (
        select(Ticket.created_date.label("day"), Ticket.market_code, Ticket.channel, Ticket.language,
               hours_between(session, ended_at, Ticket.created_at).label("hours"))
        .where(in_range(Ticket.created_date, start, end), ended_at.is_not(None))
        .subquery()
    )
    keys = (timed.c.day, timed.c.market_code, timed.c.channel, timed.c.language)
    bucket = _bucket(timed.c.hours)
    return select(*keys, literal(measure, String).label("measure"), bucket.label("bucket_hours"),
                  func.count().label("tickets")).group_by(*keys, bucket)


@register("daily_ticket_times", "tickets")
def refresh_daily_ticket_times(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Histogram of first-response and resolution hours of the tickets that have them."""
    return rebuild(session, DailyTicketTimes, DailyTicketTimes.day, start, end,
                   *[_ticket_time_histogram(session, measure, start, end) for measure in MEASURES])
