"""Deterministic demo data for Cross-Border Ops.

`seed_database(engine)` fills every domain table (not `users`) with two years of believable history for a
seller sourcing in China and selling in twelve markets, then rebuilds the summary tables. Everything is drawn
from `numpy.random.default_rng`, one independent stream per concern (`ctx.rng(name)`), so the same seed, end
date and order count always give the same rows, and changing the order count leaves the catalogue, FX walk
and market intelligence untouched.

Generation is vectorised end to end: rows are built as numpy columns and written with executemany in large
chunks inside a single transaction, with primary keys assigned here so children never wait for parents' ids.

One module per domain: calendar, reference, fx, catalogue, demand, orders, pricing (order lines), shipments,
returns, payments, service (tickets), inventory, market, targets, risk, and the profit ledger's inputs: costs
(fee schedule, storage rates, opening-stock valuations), duties (DDP parcels, purchase batches) and
advertising (campaigns and daily spend); `context` (the build context), `rng`
and `arrays` are shared by all; `pipeline` runs the generators in foreign-key order, `writer` bulk-inserts,
`registry` holds the page seeders (`@seeder(after="orders")`) and `database` is the entry point.

    python -m data.seed [--orders N] [--end-date YYYY-MM-DD] [--seed 42] [--database-url URL] [--fresh]
"""

from data.seed.context import Context, build_context
from data.seed.database import clear_domain_data, main, seed_database
from data.seed.pipeline import generate_tables

__all__ = ["Context", "build_context", "clear_domain_data", "generate_tables", "main", "seed_database"]
