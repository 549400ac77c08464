"""Page seeders: the demo data a page adds on top of the generated tables, registered where it is written.

A page seeder is `fn(session, ctx) -> {table name: rows written}` in any module of this package:

    @seeder(after="orders")
    def seed_product_listings(session: Session, ctx: Context) -> dict[str, int]: ...

It runs in the seed's transaction, before the summary tables are rebuilt. `after="orders"` (ORDERS) means
once every generated table is written (the catalogue, the orders and everything `generate_tables` yields);
`after="<another seeder's function name>"` means after that seeder. Seeders that could run at the same point
run in module, then function name order, so the order (and the output) never depends on import order.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from data.seed.context import Context

ORDERS = "orders"

SeederFn = Callable[[Session, Context], dict[str, int]]


@dataclass(frozen=True)
class PageSeeder:
    name: str  # the function's name, what another seeder's `after` refers to
    module: str
    after: str
    run: SeederFn


_REGISTERED: dict[str, PageSeeder] = {}


def seeder(*, after: str = ORDERS) -> Callable[[SeederFn], SeederFn]:
    """Register the decorated function as a page seeder that runs after `after` (see the module docstring)."""

    def register(fn: SeederFn) -> SeederFn:
        known = _REGISTERED.get(fn.__name__)
        if known is not None and known.module != fn.__module__:
            raise ValueError(f"Two page seeders are called {fn.__name__} ({known.module}, {fn.__module__})")
        _REGISTERED[fn.__name__] = PageSeeder(fn.__name__, fn.__module__, after, fn)
        return fn

    return register


def run_order(seeders: Iterable[PageSeeder]) -> list[PageSeeder]:
    """The seeders in the order they run: each after what it names, ties broken by (module, name)."""
    pending = sorted(seeders, key=lambda s: (s.module, s.name))
    done, ordered = {ORDERS}, []
    while pending:
        ready = next((s for s in pending if s.after in done), None)
        if ready is None:
            waiting = ", ".join(f"{s.name} (after {s.after})" for s in pending)
            raise ValueError(f"Page seeders wait for a step that never runs: {waiting}")
        pending.remove(ready)
        done.add(ready.name)
        ordered.append(ready)
    return ordered


def page_seeders() -> list[PageSeeder]:
    """Every page seeder of the package, in run order."""
    # Importing each module runs its @seeder decorators: a new seeder module needs no list entry anywhere.
    for module in pkgutil.iter_modules(importlib.import_module(__package__).__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__package__}.{module.name}")
    return run_order(_REGISTERED.values())
