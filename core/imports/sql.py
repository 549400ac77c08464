"""The database side of an import (core.imports.importers): the reference data its records are checked against,
stored rows looked up, compared and written by natural key (with an `import_rows` row for undo), and plain
DBAPI reads and writes that keep a million-row import fast.

All of it runs in the caller's transaction. Values reach the DBAPI as it takes them (`_db_columns`); what an
update overwrites is kept as JSON that gives it back exactly (`_json_value`, `_from_json`). On SQLite a bulk
insert rebuilds the table's secondary indexes afterwards (BULK_ROWS, BULK_SHARE) and the import keeps a
larger page cache (IMPORT_CACHE_KIB).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, select
from sqlalchemy.orm import Session

from core.platform.db import larger_sqlite_page_cache
from core.platform.models import Channel, Customer, FxRate, ImportRow, Market, Order, Payment, Product, Shipment, Ticket

CHUNK = 5000  # keys per IN (...) lookup
SLICE_ROWS = CHUNK * 10  # rows converted to DBAPI values at a time
IMPORT_CACHE_KIB = 256 * 1024  # SQLite page cache while importing (a cap, not an allocation)
# SQLite: an insert this large, and at least 1/BULK_SHARE of the rows already there, drops the table's own
# secondary indexes and builds them again afterwards. Each index costs ~2.7 s per million rows inserted into
# it, and ~0.4 s per million rows in the table to build (measured, bench/upload.py), so rebuilding wins once
# the insert is about a sixth of the table.
BULK_ROWS = 100_000
BULK_SHARE = 5
MARKET_ALIASES = {"GB": "UK", "UNITED KINGDOM": "UK", "GREAT BRITAIN": "UK", "USA": "US", "EIRE": "IE"}
ORDER_KEY = ["channel_id", "order_ref"]
ORDER_CUSTOMER_FIELDS = ("customer_id", "is_first_order")


@dataclass(frozen=True)
class EntitySpec:
    model: type
    keys: tuple[str, ...]
    fields: tuple[str, ...]  # stored columns compared for skip/update (keys included)
    day: str | None  # the date column the daily summaries group by


SPECS = {
    "orders": EntitySpec(Order, ("channel_id", "order_ref"), (
        "channel_id", "order_ref", "market_code", "ordered_at", "order_date", "currency", "items_total",
        "discount_total", "shipping_charged", "tax_total", "order_total", "usd_per_unit", "gmv_usd", "status",
        "refunded_usd"), "order_date"),
    "payments": EntitySpec(Payment, ("payment_ref",), (
        "payment_ref", "order_id", "market_code", "channel_id", "attempted_at", "attempt_date", "method",
        "gateway", "amount", "currency", "fee_amount", "usd_per_unit", "amount_usd", "fee_usd", "status",
        "decline_reason", "refunded_usd"), "attempt_date"),
    "shipments": EntitySpec(Shipment, ("tracking_number",), (
        "tracking_number", "order_id", "warehouse_id", "carrier", "service", "chargeable_weight_kg", "cost_usd",
        "promised_days", "shipped_at", "delivered_at", "ship_date", "status"), "ship_date"),
    "tickets": EntitySpec(Ticket, ("ticket_ref",), (
        "ticket_ref", "market_code", "channel", "reason", "language", "created_at", "created_date",
        "first_response_at", "resolved_at", "csat"), "created_date"),
    "customers": EntitySpec(Customer, ("customer_ref",), ("customer_ref", "market_code", "first_order_on"), None),
}


@dataclass
class _Counts:
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    days: list = field(default_factory=list)  # dates whose daily summaries the import changed
    lines_inserted: int = 0
    lines_updated: int = 0
    customers_inserted: int = 0


def _by_value(values: pd.Series, function: Callable) -> pd.Series:
    """`function` of every cell, called once per distinct value: exports repeat a few codes (channels, markets,
    statuses) a million times, and a Python call per row would dominate the import. Missing cells give None."""
    codes, uniques = pd.factorize(values)
    results = np.empty(len(uniques) + 1, dtype=object)  # the last slot, picked by code -1, stays None
    results[:len(uniques)] = [function(value) for value in uniques]
    return pd.Series(results[codes], index=values.index, dtype="object")


# --- reference data -----------------------------------------------------------------


class _Lookups:
    def __init__(self, session: Session):
        self.session = session
        self.channels = dict(session.execute(select(Channel.code, Channel.id)).all())
        markets = session.execute(select(Market.code, Market.name, Market.currency, Market.vat_rate)).all()
        self.markets = {code: code for code, _, _, _ in markets}
        self.markets.update({name.upper(): code for code, name, _, _ in markets})
        self.markets.update({k: v for k, v in MARKET_ALIASES.items() if v in self.markets.values()})
        self.vat = {code: vat for code, _, _, vat in markets}
        by_currency: dict[str, list[str]] = {}
        for code, _, currency, _ in markets:
            by_currency.setdefault(currency, []).append(code)
        self.market_of_currency = {c: codes[0] for c, codes in by_currency.items() if len(codes) == 1}
        self._rates: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}

    def rates(self, currency: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(days, units per USD) of a currency, by day; None when it has no rate at all."""
        if currency not in self._rates:
            rows = self.session.execute(select(FxRate.day, FxRate.per_usd).where(FxRate.currency == currency)
                                        .order_by(FxRate.day)).all()
            self._rates[currency] = (np.array([day for day, _ in rows], dtype="datetime64[D]"),
                                     np.array([rate for _, rate in rows], dtype="float64")) if rows else None
        return self._rates[currency]

    def products(self, skus: list[str]) -> pd.DataFrame:
        """Catalogue products with these SKUs: sku, product_id, unit_cost_cny."""
        rows = []
        for start in range(0, len(skus), CHUNK):
            rows += self.session.execute(select(Product.sku, Product.id, Product.unit_cost_cny)
                                         .where(Product.sku.in_(skus[start:start + CHUNK]))).all()
        return pd.DataFrame(rows, columns=["sku", "product_id", "unit_cost_cny"]).astype(
            {"product_id": "int64", "unit_cost_cny": "float64"})


def _asof(days: np.ndarray, rate_days: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """The rate of each day: the latest on or before it, else (days before the first rate) the first one."""
    position = np.searchsorted(rate_days, days.astype("datetime64[D]"), side="right") - 1
    return rates[np.maximum(position, 0)]


# --- stored rows by natural key -----------------------------------------------------


def _stored(session: Session, spec: EntitySpec, frame: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """Stored rows whose natural key is in the file, looked up in chunks through the key's unique index (a
    small file must not read the whole table). Plain DBAPI queries: SQLAlchemy's handling of a 5,000-value
    IN list costs more than the query. Dates come back as stored (text on SQLite); money as float."""
    table = spec.model.__table__
    mark = _mark(session)
    selected = ", ".join([*spec.keys, "id", *(_read_sql(table.c[f]) for f in fields)])
    *first_key, last = spec.keys
    if first_key:
        groups = [(int(first), group[last]) for first, group in frame.groupby(first_key[0], sort=False)]
    else:
        groups = [(None, frame[last])]
    rows = []
    for first, values in groups:
        unique = values.dropna().unique().tolist()
        for start in range(0, len(unique), CHUNK):
            chunk = unique[start:start + CHUNK]
            sql = f"SELECT {selected} FROM {table.name} WHERE {last} IN ({', '.join([mark] * len(chunk))})"
            if first is not None:
                sql += f" AND {first_key[0]} = {mark}"
                chunk = [*chunk, first]
            rows.extend(_fetchall(session, sql, chunk))
    stored = pd.DataFrame(rows, columns=[*spec.keys, "_id", *(f"{f}_db" for f in fields)])
    return stored.astype({k: frame[k].dtype for k in spec.keys})


def _read_sql(column) -> str:
    """Money as float: a Decimal per value would cost more than the query; JSON keeps the places."""
    if isinstance(column.type, Numeric) and not isinstance(column.type, Float):
        return f"CAST({column.name} AS DOUBLE PRECISION)"
    return column.name


def _fetchall(session: Session, sql: str, parameters: list) -> list[tuple]:
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        cursor.execute(sql, parameters)
        return cursor.fetchall()
    finally:
        cursor.close()


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _match(session: Session, spec: EntitySpec, frame: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """The file's rows with the stored row of the same natural key beside them: `_id` and `<field>_db`
    (missing for keys not stored yet)."""
    stored = _stored(session, spec, frame, [f for f in fields if f not in spec.keys])
    frame = frame.reset_index(drop=True)
    if stored.empty:  # a first import: nothing to line up
        return frame.assign(_id=np.nan)
    return frame.merge(stored, on=list(spec.keys), how="left")


def _compare(session: Session, spec: EntitySpec, frame: pd.DataFrame,
             fields: list[str]) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The file's rows beside their stored rows; which of them are stored; which of those the file changes."""
    matched = _match(session, spec, frame, fields)
    known = matched["_id"].notna()
    if "customer_id" in fields:  # orders without a customer key keep the stored order's customer
        for name in ORDER_CUSTOMER_FIELDS:
            stored = matched[f"{name}_db"] if f"{name}_db" in matched else np.nan
            matched[name] = matched[name].where(matched[name].notna(), stored)
        matched["is_first_order"] = matched["is_first_order"].fillna(False).astype(bool)
    changed = pd.Series(False, index=matched.index)
    if known.any():
        changed[known] = _differs(matched[known], spec, fields)
    return matched, known, changed


def _differs(matched: pd.DataFrame, spec: EntitySpec, fields: list[str]) -> pd.Series:
    table = spec.model.__table__
    differs = pd.Series(False, index=matched.index)
    for name in fields:
        if name in spec.keys:
            continue
        new = _comparable_column(matched[name], table.c[name].type)
        old = _comparable_column(matched[f"{name}_db"], table.c[name].type)
        differs |= ~((new == old) | (new.isna() & old.isna()))
    return differs


def _comparable_column(values: pd.Series, column_type) -> pd.Series:
    """One representation per column type, so a file value equals the stored value it would write."""
    if isinstance(column_type, Date | DateTime):
        return pd.to_datetime(values)
    if isinstance(column_type, Numeric | Integer | Boolean):  # Float is a Numeric
        if not pd.api.types.is_float_dtype(values):
            values = values.astype(object).where(values.notna(), np.nan).astype("float64")
        return values.round(6)
    return values.astype(object)  # not str: building an Arrow string array of a million values costs seconds


# --- insert, update, log ------------------------------------------------------------


def _insert(session: Session, spec: EntitySpec, entity: str, fresh: pd.DataFrame, fields: list[str],
            batch_id: int) -> int:
    """New rows. Inserted orders carry their batch id, which is all undo needs; other rows get an import row."""
    if fresh.empty:
        return 0
    table = spec.model.__table__
    columns = list(fields)
    if spec.model is Order:
        fresh = fresh.assign(import_batch_id=batch_id)
        columns.append("import_batch_id")
    if in_index_order := _date_index_columns(spec):
        fresh = fresh.sort_values(in_index_order, kind="stable")
    for column in table.columns:  # raw inserts skip SQLAlchemy's column defaults: apply the scalar ones
        if column.name not in columns and column.default is not None and column.default.is_scalar:
            fresh = fresh.assign(**{column.name: column.default.arg})
            columns.append(column.name)
    _insert_frame(session, table, columns, fresh)
    if spec.model is not Order:
        _log(session, batch_id, entity, "inserted", _key_strings(fresh, spec).tolist())
    return len(fresh)


def _date_index_columns(spec: EntitySpec) -> list[str]:
    """The columns of the table's index that starts with its day, in order (else the day, else nothing).
    Rows inserted in that order get ids that follow it, so the summaries read a range's rows from adjacent
    pages, and building or extending that index appends (1M orders: 3 s less to import)."""
    if spec.day is None:
        return []
    for index in spec.model.__table__.indexes:
        names = [column.name for column in index.columns]
        if names[0] == spec.day:
            return names
    return [spec.day]


def _update(session: Session, spec: EntitySpec, entity: str, changed: pd.DataFrame, fields: list[str],
            batch_id: int, more_before: dict[int, dict] | None = None) -> int:
    """Overwrite changed rows, keeping what they held (and `more_before` of their id) in the import row."""
    if changed.empty:
        return 0
    table = spec.model.__table__
    columns = [f for f in fields if f not in spec.keys]
    mark = _mark(session)
    sql = f"UPDATE {table.name} SET {', '.join(f'{c} = {mark}' for c in columns)} WHERE id = {mark}"
    ids = changed["_id"].astype("int64").tolist()
    _executemany(session, sql, zip(*_db_columns(session, table, columns, changed), ids))
    before = zip(*([_json_value(v, table.c[f].type) for v in changed[f"{f}_db"].astype(object)] for f in columns))
    more_before = more_before or {}
    _log(session, batch_id, entity, "updated", _key_strings(changed, spec).tolist(),
         [json.dumps({**dict(zip(columns, row)), **more_before.get(i, {})}) for row, i in zip(before, ids)])
    return len(changed)


def _log(session: Session, batch_id: int, entity: str, action: str, keys: list[str],
         before: list[str] | None = None) -> None:
    columns = ["batch_id", "entity", "row_key", "action", "before_json"]
    data = [[batch_id] * len(keys), [entity] * len(keys), keys, [action] * len(keys), before or [None] * len(keys)]
    _insert_rows(session, ImportRow.__table__, columns, data)


def _span(days: pd.Series) -> list[dt.date]:
    days = pd.to_datetime(days.dropna())
    return [days.min().date(), days.max().date()] if len(days) else []


def _key_strings(frame: pd.DataFrame, spec: EntitySpec) -> pd.Series:
    if len(spec.keys) == 1:
        return frame[spec.keys[0]].astype(str)
    return frame[spec.keys[0]].astype(str) + "|" + frame[spec.keys[1]].astype(str)


# --- values as the DBAPI and the import rows take them ------------------------------


def _json_value(value, column_type):
    """A stored value as JSON that gives it back exactly: money as a decimal string, dates as ISO text."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(column_type, DateTime):
        return pd.Timestamp(value).isoformat()
    if isinstance(column_type, Date):
        return pd.Timestamp(value).date().isoformat()
    if isinstance(column_type, Boolean):
        return bool(value)
    if isinstance(column_type, Integer):
        return int(value)
    if isinstance(column_type, Numeric) and not isinstance(column_type, Float) and column_type.scale is not None:
        return f"{float(value):.{column_type.scale}f}"  # read as float for speed; the column keeps this many places
    return value.item() if isinstance(value, np.generic) else value


def _from_json(table, values: dict) -> dict:
    out = {}
    for name, value in values.items():
        column_type = table.c[name].type
        if value is not None and isinstance(column_type, DateTime):
            value = dt.datetime.fromisoformat(value)
        elif value is not None and isinstance(column_type, Date):
            value = dt.date.fromisoformat(value)
        elif value is not None and isinstance(column_type, Numeric) and not isinstance(column_type, Float):
            value = Decimal(str(value))
        out[name] = value
    return out


def _db_columns(session: Session, table, columns: list[str], frame: pd.DataFrame) -> list[list]:
    """Column values as the DBAPI takes them (no per-row SQLAlchemy work): SQLite gets dates and datetimes as
    the text SQLAlchemy itself stores; PostgreSQL gets Python objects."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    return [_db_column(frame[column], table.c[column].type, sqlite) for column in columns]


def _db_column(series: pd.Series, column_type, sqlite: bool) -> list:
    if isinstance(column_type, DateTime):
        stamps = pd.to_datetime(series).to_numpy(dtype="datetime64[us]")
        if not sqlite:
            return [None if pd.isna(v) else v for v in pd.Series(stamps).dt.to_pydatetime()]
        # "YYYY-MM-DDTHH:MM:SS.ffffff" -> SQLAlchemy's "YYYY-MM-DD HH:MM:SS.ffffff", writing the space straight
        # into numpy's fixed-width buffer (character 10 of every value): str.replace would take seconds a million
        text = np.datetime_as_string(stamps, unit="us")
        text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")
        values = text.astype(object)
        values[np.isnat(stamps)] = None
        return values.tolist()
    if isinstance(column_type, Date):
        days = pd.to_datetime(series)
        return _by_value(days, lambda d: d.date().isoformat() if sqlite else d.date()).tolist()
    if not series.hasnans:
        return series.tolist()
    values = series.astype(object)
    return values.where(values.notna(), None).tolist()


def _insert_frame(session: Session, table, columns: list[str], frame: pd.DataFrame) -> None:
    with _indexes_rebuilt_if_bulk(session, table, len(frame)):
        for start in range(0, len(frame), SLICE_ROWS):  # DBAPI values a slice at a time: a million costs GBs
            part = frame.iloc[start:start + SLICE_ROWS]
            _insert_rows(session, table, columns, _db_columns(session, table, columns, part))


@contextmanager
def _indexes_rebuilt_if_bulk(session: Session, table, rows: int):
    """On SQLite, a bulk insert (see BULK_ROWS) runs without the table's secondary indexes, which are then
    built again from their own stored DDL. It all happens in the import's transaction, so a failure restores
    them with everything else, and readers keep their WAL snapshot. Only plain CREATE INDEX indexes: the ones
    behind the primary key and UNIQUE constraints stay, so keys are still checked row by row. PostgreSQL would
    lock the table against readers for the whole import, so there the indexes stay."""
    connection = session.connection()
    if rows < BULK_ROWS or connection.dialect.name != "sqlite":
        yield
        return
    stored = connection.exec_driver_sql(f'SELECT count(*) FROM "{table.name}"').scalar()
    if rows * BULK_SHARE < stored:
        yield
        return
    names = [row[1] for row in connection.exec_driver_sql(f'PRAGMA index_list("{table.name}")')
             if row[3] == "c" and not row[2]]  # (seq, name, unique, origin, partial)
    ddl = [connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                                      (name,)).scalar() for name in names]
    for name in names:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for sql in ddl:
        connection.exec_driver_sql(sql)


def _insert_rows(session: Session, table, columns: list[str], data: list[list]) -> None:
    """Column lists into the table, one DBAPI executemany; rows are zipped as it reads them, not built first.
    (Multi-row INSERT ... VALUES statements measured no faster here with real-looking orders.)"""
    if data and data[0]:
        marks = ", ".join([_mark(session)] * len(columns))
        _executemany(session, f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", zip(*data))


def _mark(session: Session) -> str:
    return "?" if session.get_bind().dialect.name == "sqlite" else "%s"


def _executemany(session: Session, sql: str, rows: Iterable[Sequence]) -> None:
    """The DBAPI's own executemany: SQLAlchemy's per-row parameter processing would cost more than the insert."""
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


@contextmanager
def _roomy_cache(session: Session):
    """The import's transaction keeps up to IMPORT_CACHE_KIB of SQLite pages (see larger_sqlite_page_cache)."""
    with larger_sqlite_page_cache(session.connection(), IMPORT_CACHE_KIB):
        yield
