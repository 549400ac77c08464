"""Which summary table each refresher writes, which raw tables it reads, and running them.

A family module declares its refreshers with `@register(table, keyed_by, *also_reads)`; `core.summaries`
imports every family, so `REFRESHERS` is complete whenever any part of the package is imported. `refresh_all`
(the seed) runs all of them; `refresh_affected` (imports) only those that read a table the import touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.platform.models import Base, Order

Refresh = Callable[[Session, "dt.date | None", "dt.date | None"], int]


@dataclass(frozen=True)
class Refresher:
    run: Refresh
    reads: frozenset[str]  # raw tables
    keyed_by: str  # the raw table whose date the summary's rows are filed under


REFRESHERS: dict[str, Refresher] = {}  # summary table -> its refresher, in the order refresh_all runs them


def register(table: str, keyed_by: str, *also_reads: str) -> Callable[[Refresh], Refresh]:
    """Decorator: `run` rebuilds `table` from the raw tables `keyed_by` (whose date files its rows) and
    `also_reads`. Names are checked against the models, since a misspelt one would never trigger a refresh."""
    unknown = {table, keyed_by, *also_reads} - set(Base.metadata.tables)
    if unknown:
        raise ValueError(f"unknown tables: {', '.join(sorted(unknown))}")

    def add(run: Refresh) -> Refresh:
        if table in REFRESHERS:
            raise ValueError(f"{table} already has a refresher")
        REFRESHERS[table] = Refresher(run, frozenset({keyed_by, *also_reads}), keyed_by)
        return run

    return add


PAYMENTS_AND_SERVICE = ("daily_payment_outcomes", "daily_disputes", "daily_settlements", "payments_in_transit",
                        "daily_ticket_stats", "daily_ticket_times", "daily_returns", "monthly_sku_returns",
                        "monthly_cohorts")


def _run(session: Session, names: Iterable[str], start, end) -> dict[str, int]:
    return {name: REFRESHERS[name].run(session, start, end) for name in names}


def refresh_all(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> dict[str, int]:
    """Recompute every summary for the days in [start, end] (all days when both are None)."""
    return _run(session, REFRESHERS, start, end)


def refresh_payments_and_service(session: Session, start: dt.date | None = None,
                                 end: dt.date | None = None) -> dict[str, int]:
    """The payments and customer-service summaries (issue 5) alone."""
    return _run(session, PAYMENTS_AND_SERVICE, start, end)


DATED_BY_THEIR_ORDER = frozenset({"order_lines", "customers"})


def affected_range(refresher: Refresher, touched: set[str], start: dt.date | None,
                   end: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """The days of `refresher`'s summary that rows changed on [start, end] of the `touched` tables can move.

    [start, end] are dates of the touched rows. When the summary files rows under another table's date,
    those dates are unknown, but an order's shipments, payments, tickets and returns come on or after it:
    a touched shipment moves order-day rows up to `end`, a touched order moves shipment-day rows from `start`.
    """
    others = (refresher.reads & touched) - {refresher.keyed_by}
    if refresher.keyed_by == "orders":
        # Lines carry their order's day, and an import changes a customer only through its orders on
        # [start, end] (summaries that follow customers later, like cohorts, rebuild from start on anyway).
        others -= DATED_BY_THEIR_ORDER
    if not others:
        return start, end
    if refresher.keyed_by == "orders":
        return None, end
    return start, None


def refresh_affected(session: Session, touched: set[str], start: dt.date | None = None,
                     end: dt.date | None = None) -> dict[str, int]:
    """Recompute only the summaries that read a raw table in `touched` (e.g. {"orders"} after an order
    import); [start, end] are the dates of the touched rows. Returns rows written per summary refreshed."""
    unknown = set(touched) - set(Base.metadata.tables)
    if unknown:  # a misspelt table would otherwise refresh nothing, silently
        raise ValueError(f"unknown tables: {', '.join(sorted(unknown))}")
    whole = _whole_history(session, start, end)
    written = {}
    for name, refresher in REFRESHERS.items():
        if refresher.reads & touched:
            first, last = affected_range(refresher, touched, start, end)
            if refresher.keyed_by == "orders":
                first, last = whole(first, last)
            written[name] = refresher.run(session, first, last)
    return written


def _whole_history(session: Session, start: dt.date | None, end: dt.date | None):
    """A range of order days with each bound dropped when it already reaches past every order.

    The rows are the same, but an unbounded refresh scans tables once, whereas a bounded one walks the
    order-date index and probes each order's lines: at 1M orders (a bulk import) 10 s instead of 27 s.
    """
    lowest, highest = (None, None)
    if start is not None or end is not None:
        lowest, highest = session.execute(select(func.min(Order.order_date), func.max(Order.order_date))).one()

    def widen(first: dt.date | None, last: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
        if lowest is None:
            return first, last
        return (None if first is not None and first <= lowest else first,
                None if last is not None and last >= highest else last)

    return widen
