"""Shared fixtures: a fresh database per test module, on SQLite or on PostgreSQL.

`CBO_TEST_POSTGRES_URL` (set by bin/test) runs every database test against a
real PostgreSQL server; without it the tests use temporary SQLite files.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from core.platform.db import get_engine
from core.platform.schema import upgrade

# Every seeded database ends on SEED_END and every page (in AppTest and in the browser tests' servers,
# which inherit the environment) treats that day as today: the suite's figures do not depend on the calendar.
SEED_END = dt.date(2026, 11, 20)
os.environ.setdefault("CBO_TODAY", SEED_END.isoformat())
os.environ.setdefault("CBO_DEV", "1")  # AppTest failures then show the real error, not the redacted one
os.environ.setdefault("CBO_BCRYPT_ROUNDS", "4")  # hashing at the production cost would dominate the suite
POSTGRES_URL = os.environ.get("CBO_TEST_POSTGRES_URL")


def _create_postgres_database(template: str | None = None) -> str:
    name = f"cbo_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return name


_postgres_template: list[str] = []


def _fresh_postgres_database() -> str:
    """A migrated database cloned from a template migrated once per run: running every migration
    for each of hundreds of tests made the PostgreSQL run many times slower than the SQLite one."""
    if not _postgres_template:
        template = _create_postgres_database()
        eng = get_engine(_postgres_url(template))
        upgrade(eng)
        eng.dispose()  # CREATE DATABASE ... TEMPLATE needs the template to have no connections
        _postgres_template.append(template)
    return _postgres_url(_create_postgres_database(_postgres_template[0]))


def _postgres_url(name: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


def fresh_database_url(tmp_path) -> str:
    if POSTGRES_URL:
        return _fresh_postgres_database()
    return f"sqlite:///{tmp_path}/test.db"


@pytest.fixture
def engine(tmp_path):
    """An empty, migrated database for one test."""
    eng = get_engine(fresh_database_url(tmp_path))
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def seeded_url(tmp_path_factory) -> str:
    """A small seeded database shared (read-only) by the tests of a whole run."""
    from core.bootstrap import prepare_database
    from data.seed import seed_database

    url = fresh_database_url(tmp_path_factory.mktemp("seeded"))
    eng = get_engine(url)
    upgrade(eng)
    seed_database(eng, orders=4000, end_date=SEED_END, seed=7)
    prepare_database(eng, seed_if_empty=False)  # adds the demo users
    return url


@pytest.fixture
def seeded_engine(seeded_url):
    return get_engine(seeded_url)


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    """Streamlit caches live per process: clear them so no test sees another's data."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
