"""Deterministic demo data for Cross-Border Ops.

The seed's entry points: `seed_database` writes the generated tables (`pipeline.generate_tables`),
runs the page seeders (`registry.page_seeders`), then rebuilds the summary tables, all in one
transaction; `main` is `python -m data.seed`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from sqlalchemy import Engine, Integer, delete, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.platform import clock
from core.platform import models as m
from core.platform.db import get_engine, unit_of_work
from core.platform.schema import upgrade
from core.summaries import refresh_all
from data.seed.context import build_context
from data.seed.pipeline import Progress, generate_tables
from data.seed.registry import page_seeders
from data.seed.writer import BulkWriter, roomy_sqlite_cache

# Everything the seed writes, parents before children. `--fresh` empties these in reverse.
SEEDED_MODELS = (
    m.Market, m.ImportRule, m.Channel, m.Category, m.Supplier, m.Product, m.Warehouse, m.ShippingService,
    m.CarrierRate, m.FxRate, m.MarketplaceFee, m.StorageRate, m.ProductCostEntry, m.Customer, m.Order, m.OrderLine,
    m.Shipment, m.Return, m.Payment, m.Ticket, m.AdCampaign, m.AdSpend, m.InventorySnapshot, m.InboundShipment,
    m.CompetitorListing, m.SearchInterest, m.Target, m.Risk, m.MarketNote,
)
KEPT_ON_FRESH = ("users", "alembic_version")


def reset_postgres_sequences(connection: Connection) -> None:
    """Bulk rows carry explicit ids, so move each serial past them or the app's next insert collides."""
    for model in SEEDED_MODELS:
        table = model.__table__
        if "id" in table.c and table.c.id.primary_key and isinstance(table.c.id.type, Integer):
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), COALESCE(MAX(id), 1), "
                f"MAX(id) IS NOT NULL) FROM {table.name}"
            ))


def clear_domain_data(session: Session) -> None:
    """Delete every row except users, children before parents."""
    for table in reversed(m.Base.metadata.sorted_tables):
        if table.name not in KEPT_ON_FRESH:
            session.execute(delete(table))


def _tables_with_rows(session: Session) -> list[str]:
    return [model.__tablename__ for model in SEEDED_MODELS
            if session.execute(select(text("1")).select_from(model.__table__).limit(1)).first() is not None]


def seed_database(
    engine: Engine,
    *,
    orders: int = 150_000,
    end_date: dt.date | None = None,
    seed: int = 42,
    progress: Progress | None = None,
    fresh: bool = False,
) -> dict[str, int]:
    """Fill an empty, migrated database with demo data; returns row counts per table.

    With `fresh=True` existing domain rows (everything but users) are deleted first, in the same
    transaction, so a failed run leaves the old data in place.
    """
    if orders < 1:
        raise ValueError("orders must be at least 1")
    report = _ProgressReporter(progress)
    report(0.0, "loading reference data")
    ctx = build_context(end_date or clock.today(), seed)
    with unit_of_work(engine) as session:
        if fresh:
            report(0.01, "deleting existing demo data")
            clear_domain_data(session)
        occupied = _tables_with_rows(session)
        if occupied:
            raise ValueError(
                f"The database already holds data in {', '.join(occupied)}; seeding needs empty domain tables. "
                "Rebuild with `python -m data.seed --fresh` (or seed_database(..., fresh=True))."
            )
        connection = session.connection()
        writer = BulkWriter(connection, report.detail)
        with roomy_sqlite_cache(connection):
            for model, columns in generate_tables(ctx, orders, report):
                writer.write(model, columns)
            counts = dict(writer.counts)
            for page_seeder in page_seeders():
                counts.update(page_seeder.run(session, ctx))
            report(0.6, "rebuilding summary tables")
            counts.update(refresh_all(session))
        if connection.dialect.name == "postgresql":
            reset_postgres_sequences(connection)
        report(0.98, "committing")
    report(1.0, "done")
    return counts


class _ProgressReporter:
    """Forwards steps to the caller's callback and lets table writes report at the current fraction."""

    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback or (lambda _fraction, _step: None)
        self.fraction = 0.0

    def __call__(self, fraction: float, step: str) -> None:
        self.fraction = fraction
        self.callback(fraction, step)

    def detail(self, step: str) -> None:
        self.callback(self.fraction, step)


def _print_progress(fraction: float, step: str) -> None:
    print(f"[{fraction:4.0%}] {step}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=150_000, help="number of orders (default 150,000)")
    parser.add_argument("--end-date", type=dt.date.fromisoformat, default=None,
                        help="last day of history, YYYY-MM-DD (default today, or CBO_TODAY)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: DATABASE_URL or the "
                                                             "embedded SQLite file)")
    parser.add_argument("--fresh", action="store_true", help="delete existing demo data first (users are kept)")
    args = parser.parse_args(argv)

    engine = get_engine(args.database_url)  # None: DATABASE_URL, then the embedded SQLite file
    upgrade(engine)
    started = time.perf_counter()
    try:
        counts = seed_database(engine, orders=args.orders, end_date=args.end_date, seed=args.seed,
                               progress=_print_progress, fresh=args.fresh)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for table, count in counts.items():
        print(f"  {table:<22} {count:>10,}")
    print(f"Seeded {engine.url.render_as_string(hide_password=True)} in {time.perf_counter() - started:.1f} s")
    return 0
