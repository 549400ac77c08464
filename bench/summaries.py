"""Time each summary refresher (core.summaries.REFRESHERS) on a seeded database.

    .venv/bin/python -m bench.summaries --database-url sqlite:////tmp/sums.db            # seeds it when empty
    .venv/bin/python -m bench.summaries --database-url sqlite:////tmp/sums.db --start 2025-03-10 --end 2025-05-20
    .venv/bin/python -m bench.summaries --database-url sqlite:////tmp/sums.db --repeat 5 --cpu    # busy machine

Every refresher runs in one transaction that is rolled back, so the database is left as it was and runs can be
repeated; each line gives the median and the best of `--repeat` runs (the machine is shared: the median says what
is typical, the best run is the least disturbed).
Target (seed of 150k orders < 60 s): the whole refresh well under the ~40 s it took through pandas.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def _ensure_seeded(engine, orders: int, end_date: dt.date) -> None:
    from core.platform.models import Order
    from core.platform.schema import upgrade
    from data.seed import seed_database

    upgrade(engine)
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(Order)):
            return
    started = time.perf_counter()
    seed_database(engine, orders=orders, end_date=end_date)
    print(f"seeded {orders:,} orders in {time.perf_counter() - started:.1f} s")


def _time_each(engine, start, end, clock=time.perf_counter) -> dict[str, float]:
    from core.summaries import REFRESHERS

    seconds = {}
    with Session(engine) as session:
        try:
            for name, refresher in REFRESHERS.items():
                started = clock()
                refresher.run(session, start, end)
                seconds[name] = clock() - started
        finally:
            session.rollback()
    return seconds


def main(argv: list[str] | None = None) -> int:
    from core.platform.db import get_engine

    parser = argparse.ArgumentParser(prog="python -m bench.summaries")
    parser.add_argument("--database-url", required=True, help="seeded with --orders first when it has no orders")
    parser.add_argument("--orders", type=int, default=150_000)
    parser.add_argument("--end-date", type=dt.date.fromisoformat, default=dt.date(2026, 6, 30))
    parser.add_argument("--start", type=dt.date.fromisoformat, default=None, help="refresh [start, end] only")
    parser.add_argument("--end", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cpu", action="store_true",
                        help="time this process's CPU instead of the wall clock: steadier on a busy machine, and "
                             "complete on SQLite (in-process), not on PostgreSQL (the server's work is not counted)")
    args = parser.parse_args(argv)

    engine = get_engine(args.database_url)
    _ensure_seeded(engine, args.orders, args.end_date)
    clock = time.process_time if args.cpu else time.perf_counter
    runs = [_time_each(engine, args.start, args.end, clock) for _ in range(args.repeat)]
    print(f"{'refresher':<24} {'median':>9} {'best':>9}")
    for name in runs[0]:
        seconds = [run[name] for run in runs]
        print(f"{name:<24} {statistics.median(seconds):7.3f} s {min(seconds):7.3f} s")
    totals = [sum(run.values()) for run in runs]
    print(f"{'total':<24} {statistics.median(totals):7.3f} s {min(totals):7.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
