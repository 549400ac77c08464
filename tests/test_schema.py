"""The migrations and the models describe the same schema, and the engine is configured as promised."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from core.platform.models import Base
from core.platform.schema import has_schema


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"models changed without a migration: {diff}"


def test_schema_is_recorded(engine):
    assert has_schema(engine)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas only")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_the_default_engine_follows_database_url(tmp_path, monkeypatch):
    """get_engine() reads DATABASE_URL each time: it cached the first one it saw, so a later caller (a test, the
    users CLI after a settings change) silently wrote to the first database."""
    from core.platform.db import get_engine

    first, second = (f"sqlite:///{tmp_path / name}" for name in ("first.db", "second.db"))
    monkeypatch.setenv("DATABASE_URL", first)
    assert get_engine().url.database.endswith("first.db")
    monkeypatch.setenv("DATABASE_URL", second)
    assert get_engine().url.database.endswith("second.db")
    assert get_engine() is get_engine(second)  # still one engine per URL


def test_a_bulk_load_gets_a_larger_sqlite_page_cache_and_gives_it_back(engine):
    """On SQLite the cache grows for the block and is restored after; on PostgreSQL nothing is sent (a PRAGMA
    there would be a syntax error, so the block running at all is the check)."""
    from core.platform.db import is_sqlite, larger_sqlite_page_cache

    def cache_size(conn):
        return conn.exec_driver_sql("PRAGMA cache_size").scalar() if is_sqlite(engine) else None

    with engine.connect() as conn:
        before = cache_size(conn)
        with larger_sqlite_page_cache(conn, 4096):
            inside = cache_size(conn)
        assert (inside, cache_size(conn)) == ((-4096, before) if is_sqlite(engine) else (None, None))
