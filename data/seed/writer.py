"""Bulk writing: numpy columns inserted with executemany in large chunks on the seed's own transaction
(raw DBAPI on SQLite, SQLAlchemy `insert()` on PostgreSQL), primary keys assigned by the generator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import contextmanager

import numpy as np
from sqlalchemy import Boolean, DateTime, Float, Integer, Numeric, insert
from sqlalchemy.engine import Connection

from core.platform.db import larger_sqlite_page_cache

INSERT_CHUNK_ROWS = 50_000
SQLITE_BULK_CACHE_KIB = 512 * 1024


def _sqlite_datetimes(values: np.ndarray) -> np.ndarray:
    """SQLAlchemy's SQLite DATETIME text format ('YYYY-MM-DD HH:MM:SS.ffffff'), built without strftime."""
    text_form = np.ascontiguousarray(np.datetime_as_string(values.astype("datetime64[s]")).astype("<U19"))
    codes = np.empty((len(values), 26), dtype=np.uint32)
    codes[:, :19] = text_form.view(np.uint32).reshape(-1, 19)
    codes[:, 10] = ord(" ")
    codes[:, 19:] = np.frombuffer(".000000".encode("utf-32-le"), dtype=np.uint32)
    return codes.view("<U26").ravel()


def _python_values(values, column, sqlite: bool) -> list:
    """Column values as DBAPI-ready Python objects (None for NULL)."""
    array = np.asarray(values)
    if array.dtype.kind == "M":
        missing = np.isnat(array)
        if isinstance(column.type, DateTime):
            converted = _sqlite_datetimes(array) if sqlite else array.astype("datetime64[us]")
        else:
            converted = np.datetime_as_string(array.astype("datetime64[D]")) if sqlite else \
                array.astype("datetime64[D]")
        out = converted.astype(object)
        out[missing] = None
        return out.tolist()
    if array.dtype.kind == "f":
        missing = np.isnan(array)
        if isinstance(column.type, Integer):
            out = np.where(missing, 0, array).astype(np.int64).astype(object)
        elif isinstance(column.type, Boolean):
            out = np.where(missing, 0, array).astype(bool).astype(object)
        else:
            out = array.astype(object)
        out[missing] = None
        return out.tolist()
    if array.dtype.kind in "iu" and isinstance(column.type, (Float, Numeric)) and not isinstance(column.type, Integer):
        return array.astype(float).tolist()
    return array.tolist()


class BulkWriter:
    """Inserts numpy columns in large executemany chunks on the caller's connection and transaction."""

    def __init__(self, connection: Connection, report: Callable[[str], None] | None = None) -> None:
        self.connection = connection
        self.sqlite = connection.dialect.name == "sqlite"
        self.report = report or (lambda _: None)
        self.counts: dict[str, int] = {}

    def write(self, model, columns: Mapping[str, object]) -> int:
        table = model.__table__
        missing = [c.name for c in table.columns if c.name not in columns]
        if missing:
            raise KeyError(f"{table.name}: no values for {missing}")
        n_rows = next(len(v) for v in columns.values() if isinstance(v, (np.ndarray, list)))
        self.report(f"writing {table.name} ({n_rows:,} rows)")
        names = [c.name for c in table.columns]
        for start in range(0, n_rows, INSERT_CHUNK_ROWS):
            stop = min(start + INSERT_CHUNK_ROWS, n_rows)
            values = [
                _python_values(columns[c.name][start:stop], c, self.sqlite)
                if isinstance(columns[c.name], (np.ndarray, list)) else [columns[c.name]] * (stop - start)
                for c in table.columns
            ]
            self._insert(table, names, list(zip(*values)))
        self.counts[table.name] = n_rows
        return n_rows

    def _insert(self, table, names: list[str], rows: list[tuple]) -> None:
        if self.sqlite:
            quote = self.connection.dialect.identifier_preparer.quote
            sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
                   f"VALUES ({', '.join('?' * len(names))})")
            self.connection.exec_driver_sql(sql, rows)
        else:
            self.connection.execute(insert(table), [dict(zip(names, row)) for row in rows])


@contextmanager
def roomy_sqlite_cache(connection: Connection):
    """The seed's load keeps up to SQLITE_BULK_CACHE_KIB of SQLite pages (see larger_sqlite_page_cache)."""
    with larger_sqlite_page_cache(connection, SQLITE_BULK_CACHE_KIB):
        yield
