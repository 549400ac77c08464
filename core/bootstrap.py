"""Bring a database to a usable state: migrate, seed on first start, demo users.

`python -m core.bootstrap` does this from a terminal with progress lines; the
app calls `prepare_database()` too, so a first start by any route works.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DatabaseError, OperationalError

from core.platform.db import get_engine, unit_of_work
from core.platform.models import Order
from core.platform.schema import upgrade
from core.platform.users import ensure_demo_users

Progress = Callable[[float, str], None]

FIX_HINT = (
    "Check DATABASE_URL (now: {url}). For the embedded SQLite database, move the broken file aside "
    "and start again to rebuild it: `mv data/crossborder.db data/crossborder.db.broken && ./bin/run`."
)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened or migrated; the message says how to fix it."""


def _safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def has_orders(engine: Engine) -> bool:
    with unit_of_work(engine) as session:
        return bool(session.scalar(select(func.count()).select_from(Order).limit(1)))


def prepare_database(
    engine: Engine | None = None, *, seed_if_empty: bool = True, progress: Progress | None = None
) -> Engine:
    engine = engine or get_engine()
    try:
        upgrade(engine)
        if seed_if_empty and not has_orders(engine):
            from data.seed import seed_database  # late: the seed generator is only needed once

            seed_database(engine, progress=progress)
        with unit_of_work(engine) as session:
            ensure_demo_users(session)
    except (OperationalError, DatabaseError) as exc:
        reason = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        raise DatabaseUnavailable(
            f"The database could not be opened ({reason.strip()}). " + FIX_HINT.format(url=_safe_url(engine))
        ) from exc
    return engine


def _print_progress(fraction: float, step: str) -> None:
    print(f"[{fraction:4.0%}] {step}", flush=True)


def main() -> int:
    try:
        engine = prepare_database(progress=_print_progress)
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Database ready: {_safe_url(engine)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
