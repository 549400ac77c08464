"""What-if slider latency: time the simulator fragment's compute path on cached baselines.

    .venv/bin/python -m bench.what_if --database-url sqlite:///bench/out/bench_1000000.db
    .venv/bin/python -m bench.what_if --database-url sqlite:////tmp/wi.db       # the default seed

A slider move reruns only the fragment, which does pure math on baselines the page caches per market and day
(`core.what_if.baseline`, `category_elasticities`, `routes`): this times those cached loads once (cold, as on
the first visit of the day) and then the per-move path many times. Target (issue 7): < 100 ms per move.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import pandas as pd

TARGET_SECONDS = 0.100


def _timed(function, repeats: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), max(runs)


def main(argv: list[str] | None = None) -> int:
    from core import what_if
    from core.platform.db import get_engine, unit_of_work

    parser = argparse.ArgumentParser(prog="python -m bench.what_if")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--market", default="DE")
    parser.add_argument("--portfolio-markets", default="DE,US,UK,FR,IT,ES,NL,JP,AU,CA,MX,SA")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    today = dt.date.today()
    engine = get_engine(args.database_url)

    with unit_of_work(engine) as session:
        started = time.perf_counter()
        elasticities = what_if.category_elasticities(session, today)
        cold_elasticity = time.perf_counter() - started
        started = time.perf_counter()
        base = what_if.baseline(session, args.market, today)
        cold_baseline = time.perf_counter() - started
        row = base.sort_values("units", ascending=False).head(1).reset_index(drop=True)
        started = time.perf_counter()
        routes = what_if.routes(session, int(row["product_id"].iloc[0]), args.market, today)
        cold_routes = time.perf_counter() - started
        started = time.perf_counter()
        every = pd.concat([what_if.baseline(session, m, today) for m in args.portfolio_markets.split(",")],
                          ignore_index=True)
        cold_all = time.perf_counter() - started
    estimates = dict(zip(elasticities["category_id"], elasticities["elasticity"]))
    started = time.perf_counter()
    sold = what_if.with_base_economics(base[base["units"] > 0].reset_index(drop=True))
    sold_all = what_if.with_base_economics(every[every["units"] > 0].reset_index(drop=True))
    base_economics = time.perf_counter() - started
    service = routes["service"].iloc[-1] if not routes.empty else None
    levers = what_if.Levers(price_change=0.05, discount=0.05, fx_change=-0.03, marketplace_fee_delta=0.01,
                            freight_change=0.08, service=service, ad_rate_delta=0.05, elasticity=None)

    def one_sku():
        routed = what_if.with_route(row, routes, service)
        result = what_if.simulate(row, levers, estimates, scenario_rows=routed)
        what_if.outcome(result)
        what_if.waterfall(result)
        what_if.price_sweep(routed, levers, estimates)

    def portfolio(rows):
        def run():
            result = what_if.simulate(rows, what_if.Levers(price_change=0.05, freight_change=0.08), estimates)
            what_if.outcome(result)
            what_if.waterfall(result)
            what_if.movers(result)
        return run

    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    print(f"cached loads (once per market and day): elasticities {cold_elasticity:.2f} s, "
          f"baseline {args.market} {cold_baseline:.2f} s, routes of one SKU {cold_routes:.3f} s, "
          f"baselines of {len(args.portfolio_markets.split(','))} markets {cold_all:.2f} s; "
          f"baseline economics of both portfolios (per full page run) {base_economics * 1000:.0f} ms")
    ok = True
    for label, function in [
        (f"one SKU ({row['sku'].iloc[0]} in {args.market}, with sweep)", one_sku),
        (f"portfolio {args.market} ({len(sold)} SKUs)", portfolio(sold)),
        (f"portfolio all markets ({len(sold_all)} SKU listings)", portfolio(sold_all)),
    ]:
        median, worst = _timed(function, args.repeats)
        passed = median < TARGET_SECONDS
        ok &= passed
        print(f"  {label:55} median {median * 1000:6.1f} ms  max {worst * 1000:6.1f} ms  "
              f"{'ok' if passed else 'SLOW'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
