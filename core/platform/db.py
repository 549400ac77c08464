"""Engine, sessions and the unit of work.

One engine per database URL per process. SQLite gets WAL and foreign keys on
every connection; PostgreSQL goes through psycopg 3. A SQLite database file holds
the users' password hashes, so it and its -wal/-shm files are readable by this
account only (0600), in a directory only it can enter (0700).

Writers that must take turns (imports) hold a named lock until their transaction ends:
`hold_write_lock` (BEGIN IMMEDIATE on SQLite, pg_advisory_xact_lock on PostgreSQL).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core.platform import config


def _normalise_url(url: str) -> str:
    parsed = make_url(url)
    # Users paste libpq-style URLs; route them to psycopg 3, the driver we ship.
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _restrict(path: Path, allowed: int) -> None:
    """Drop every permission bit outside `allowed` from a file or directory this account owns."""
    try:
        info = path.stat()
        mode = stat.S_IMODE(info.st_mode)
        owned = not hasattr(os, "getuid") or info.st_uid == os.getuid()
        if mode & ~allowed and owned:
            path.chmod(mode & allowed)
    except OSError:  # not ours to change, or gone meanwhile: leave it to the operator
        pass


def _private_sqlite_files(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it (SQLite gives the -wal, -shm and -journal files it
    creates the database file's mode), its directory 0700 if it is new or the app's own data/, and tighten
    files left more open by earlier versions. A directory given in DATABASE_URL is the operator's to set."""
    directory = path.parent
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif directory.resolve() == config.DATA_DIR.resolve():
        _restrict(directory, 0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for file in (path, *(path.with_name(path.name + suffix) for suffix in _SQLITE_SIDE_FILES)):
        if file.exists():
            _restrict(file, 0o600)


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url`, else for DATABASE_URL as it is now: one engine per URL in the process."""
    # The URL is resolved before the cache is consulted: caching get_engine(None) itself kept the engine of the
    # first DATABASE_URL seen, so code that later ran under another one wrote to the first database.
    return _engine_for(_normalise_url(url or config.database_url()))


@functools.cache
def _engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        db_path = make_url(url).database
        if db_path and db_path != ":memory:" and not db_path.startswith("file:"):
            _private_sqlite_files(Path(db_path))
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@functools.cache
def _session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """A transaction: commits when the block ends, rolls back on any exception."""
    session = _session_factory(engine or get_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def larger_sqlite_page_cache(connection: Connection, kib: int) -> Iterator[None]:
    """For a bulk load (the seed, a large import): let SQLite keep up to `kib` KiB of pages while the block runs.

    With its 2 MB default a large load writes index pages out and reads them back over and over (index inserts
    arrive in random key order). A cap, not an allocation; PostgreSQL is left as it is."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


# A writer that finds the lock taken waits this long before it is told so (a sign-in's write takes milliseconds
# and is no reason to tell anyone anything), then tries again at this interval.
LOCK_GRACE_SECONDS = 0.25
LOCK_POLL_SECONDS = 0.2


class LockWaitTimeout(Exception):
    """Another transaction held the lock for longer than the caller would wait."""

    def __init__(self, name: str, seconds: float):
        self.name, self.seconds = name, seconds
        super().__init__(f"the {name} lock was still held after {seconds:g} seconds")


def hold_write_lock(session: Session, name: str, *, wait_seconds: float,
                    on_wait: Callable[[], None] | None = None) -> bool:
    """Make the session's transaction the one writer holding the lock `name` until it commits or rolls back.

    True when it had to wait for another holder (which has committed since, so what it wrote is visible now);
    `on_wait` is called once, when the wait begins. LockWaitTimeout after `wait_seconds`.
    - PostgreSQL: a transaction-level advisory lock keyed by the name, tried every LOCK_POLL_SECONDS (a waiting
      pg_advisory_xact_lock could only be given up by aborting the caller's transaction).
    - SQLite has one writer at a time for the whole database: BEGIN IMMEDIATE takes the write lock at the start
      of the transaction, not at its first write, so a waiting writer cannot fail halfway with "database is
      locked" once the busy timeout runs out. The sqlite3 module begins a transaction at the first write, so one
      already open has written and holds the lock. Every name is the same lock there."""
    connection = session.connection()
    attempt = _sqlite_attempt(connection) if connection.dialect.name == "sqlite" else _advisory_attempt(
        connection, name)
    if attempt is None or attempt(LOCK_GRACE_SECONDS):
        return False
    if on_wait is not None:
        on_wait()
    deadline = time.monotonic() + wait_seconds
    while (remaining := deadline - time.monotonic()) > 0:
        if attempt(min(LOCK_POLL_SECONDS, remaining)):
            return True
    raise LockWaitTimeout(name, wait_seconds)


def _advisory_attempt(connection: Connection, name: str) -> Callable[[float], bool]:
    # a stable signed 64-bit key: hash() differs between processes
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)

    def attempt(seconds: float) -> bool:
        if connection.execute(select(func.pg_try_advisory_xact_lock(key))).scalar():
            return True
        time.sleep(seconds)
        return False

    return attempt


def _sqlite_attempt(connection: Connection) -> Callable[[float], bool] | None:
    """BEGIN IMMEDIATE, waiting up to the given seconds; None when the transaction already holds the lock."""
    raw = connection.connection.driver_connection
    if raw.in_transaction:
        return None

    def attempt(seconds: float) -> bool:
        previous = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        raw.execute(f"PRAGMA busy_timeout = {max(1, int(seconds * 1000))}")
        try:
            raw.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            return False
        finally:
            raw.execute(f"PRAGMA busy_timeout = {int(previous)}")

    return attempt
