"""Page render times at scale: build (or reuse) a database of N orders, then time every page
through AppTest with an empty cache (as after any filter change) and warm.

    .venv/bin/python -m bench.pages --orders 1000000
    .venv/bin/python -m bench.pages --orders 1000000 --database-url postgresql://...

Targets (issue 2): at 1M orders a filter change re-renders in < 1.5 s, a warm rerun in < 0.3 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
PAGES = ["overview", "profit", "market", "product-selection", "logistics", "payments", "customer-service", "risk",
         "what-if", "upload", "users"]
COLD_TARGET, WARM_TARGET = 1.5, 0.3


def build(url: str, orders: int) -> None:
    from core.bootstrap import has_orders, prepare_database
    from core.platform.db import get_engine
    from core.platform.schema import upgrade
    from data.seed import seed_database

    engine = get_engine(url)
    upgrade(engine)
    if has_orders(engine):
        print(f"reusing {engine.url.render_as_string(hide_password=True)}")
    else:
        started = time.perf_counter()
        seed_database(engine, orders=orders, progress=lambda f, step: print(f"  [{f:4.0%}] {step}", flush=True))
        print(f"seeded {orders:,} orders in {time.perf_counter() - started:.1f} s")
    prepare_database(engine, seed_if_empty=False)


def time_pages(repeats: int) -> list[tuple[str, float, float]]:
    import streamlit as st

    from tests.apptest_support import app_as, open_page

    at = app_as("admin")
    results = []
    for page in PAGES:
        cold, warm = [], []
        for _ in range(repeats):
            st.cache_data.clear()
            started = time.perf_counter()
            open_page(at, page)
            cold.append(time.perf_counter() - started)
            if at.exception:
                raise SystemExit(f"{page} raised: {at.exception[0].value}")
            started = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - started)
        results.append((page, statistics.median(cold), statistics.median(warm)))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    url = args.database_url or f"sqlite:///{OUT}/bench_{args.orders}.db"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CBO_COOKIE_KEY", "bench-only-cookie-key-" + "x" * 40)
    os.chdir(Path(__file__).resolve().parent.parent)
    sys.path.insert(0, os.getcwd())
    build(url, args.orders)
    print(f"\n{'page':20} {'cold (s)':>9} {'warm (s)':>9}   targets: cold < {COLD_TARGET}, warm < {WARM_TARGET}")
    failed = False
    for page, cold, warm in time_pages(args.repeats):
        flag = "" if cold < COLD_TARGET and warm < WARM_TARGET else "  <- over target"
        failed |= bool(flag)
        print(f"{page:20} {cold:9.3f} {warm:9.3f}{flag}")
    print(f"\n{dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
