"""Import recognised exports into orders, payments, shipments and tickets: all-or-nothing, idempotent,
audited, undoable.

`import_file(session, actor, file_name, data, ...)`:
1. `authorize(actor, "staff")`; parse the file (core.csv_detect) and recognise it (core.templates), or use
   the kind and column mapping the user chose.
2. Build canonical records (`canonical_frame`): every value checked; the first bad cell raises UploadError
   naming file, line and column, before anything is written. Amounts are converted to USD at the rate of
   the record's day (`fx_rates`: units per USD, the latest rate on or before the day, else the first after);
   a currency without any rate is unknown. `usd = amount / per_usd` (USD itself: 1).
3. Upsert by natural key ((channel, order_ref) for orders, payment_ref, tracking_number, ticket_ref):
   a key not in the database is inserted, a key whose stored values all equal the file's is skipped,
   otherwise the row is updated and the values it overwrote are kept in `import_rows.before_json`.
   Rows repeated in the file count as skipped; the same key with different values is an error.
4. Record the batch in `import_batches` (who, when, file name, SHA-256 of the bytes, counts) and an
   `audit_events` row, and refresh the daily summaries for every affected day (before and after values).
All of it happens in the caller's transaction (`core.db.unit_of_work`): any error rolls everything back.

`undo_import(session, actor, batch_id)` deletes what the batch inserted and restores what it overwrote,
in the caller's transaction, refreshes the summaries and marks the batch `undone`. It refuses when a later,
still-applied import touched the same rows (undo that one first) or when the batch is already undone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import Date, DateTime, Float, Numeric, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from core import summaries
from core.csv_detect import DATE_FORMATS, Dialect, ParsedFile, UploadError, _date_format, parse, to_datetimes, to_numbers
from core.models import (
    AuditEvent,
    Channel,
    FxRate,
    ImportBatch,
    ImportRow,
    Market,
    Order,
    Payment,
    Shipment,
    Ticket,
    Warehouse,
)
from core.templates import EXPORTS_BY_KIND, KnownExport, Recognition, map_columns, recognise
from core.users import authorize

CHUNK = 5000
ORDER_STATUSES = ("completed", "cancelled", "refunded", "partially_refunded")
PAYMENT_STATUSES = ("succeeded", "declined", "refunded", "disputed")
SHIPMENT_STATUSES = ("in_transit", "delivered", "lost", "returned_to_sender")
TICKET_CHANNELS = ("email", "chat", "marketplace")
# Vendor status words -> ours. Shopify financial status, Amazon order status, Stripe status.
STATUS_WORDS = {
    "orders": {"paid": "completed", "shipped": "completed", "delivered": "completed", "pending": "completed",
               "authorized": "completed", "unshipped": "completed", "partially_paid": "completed",
               "refunded": "refunded", "partially_refunded": "partially_refunded", "voided": "cancelled",
               "cancelled": "cancelled", "canceled": "cancelled", "completed": "completed"},
    "payments": {"paid": "succeeded", "succeeded": "succeeded", "failed": "declined", "declined": "declined",
                 "refunded": "refunded", "partially refunded": "refunded", "disputed": "disputed"},
}
MARKET_ALIASES = {"GB": "UK", "UNITED KINGDOM": "UK", "GREAT BRITAIN": "UK", "USA": "US", "EIRE": "IE"}


@dataclass(frozen=True)
class EntitySpec:
    model: type
    keys: tuple[str, ...]
    fields: tuple[str, ...]  # stored columns compared for skip/update (keys included)
    day: str  # the date column the daily summaries group by


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
}


@dataclass(frozen=True)
class ImportOptions:
    kind: str | None = None  # a KnownExport kind; None: recognise
    mapping: dict[str, str | None] = field(default_factory=dict)  # field -> source column overrides
    defaults: dict[str, str] = field(default_factory=dict)  # field -> value for rows without one
    skip_unknown_markets: bool = False  # count rows for markets we do not sell in as skipped


@dataclass(frozen=True)
class ImportResult:
    batch_id: int
    kind: str
    entity: str
    inserted: int
    updated: int
    skipped: int
    first_day: dt.date | None
    last_day: dt.date | None


@dataclass(frozen=True)
class UndoResult:
    batch_id: int
    deleted: int
    restored: int


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- canonical records ------------------------------------------------------------


class _Source:
    """The parsed file seen through a mapping: typed columns by field, with line numbers for errors."""

    def __init__(self, parsed: ParsedFile, recognition: Recognition, defaults: dict[str, str]):
        self.parsed, self.recognition = parsed, recognition
        self.constants = {**recognition.constants, **{k: v for k, v in defaults.items() if v not in (None, "")}}
        self.lines = pd.Series(np.arange(len(parsed.frame)) + parsed.first_data_line, index=parsed.frame.index)

    def column(self, name: str) -> str | None:
        return self.recognition.mapping.get(name)

    def has(self, name: str) -> bool:
        return bool(self.column(name)) or name in self.constants

    def fail(self, index, name: str, template: str, **values):
        raise UploadError(template, file=self.parsed.file_name, line=int(self.lines.loc[index]),
                          column=self.column(name) or name, **values)

    def raw(self, name: str) -> pd.Series:
        column = self.column(name)
        if column is None:
            return pd.Series(self.constants.get(name), index=self.parsed.frame.index, dtype="object")
        source = self.parsed.raw if self.parsed.raw is not None else self.parsed.frame
        return source[column]

    def text(self, name: str, *, required: bool = False, default: str | None = None) -> pd.Series:
        column = self.column(name)
        if column is None:
            value = self.constants.get(name, default)
            if value is None and required:
                self.fail(self.parsed.frame.index[0], name, "{file}: required field {column} is missing.")
            return pd.Series(value, index=self.parsed.frame.index, dtype="object")
        values = self.parsed.frame[column]
        if pd.api.types.is_float_dtype(values) or pd.api.types.is_integer_dtype(values):
            values = self.raw(name)
        if pd.api.types.is_float_dtype(values) or pd.api.types.is_integer_dtype(values) or \
                pd.api.types.is_string_dtype(values) or values.dtype == object:
            text = values.astype("string").str.strip()
            values = text.astype("object").where(text.notna() & (text != ""), None)
        else:
            values = values.astype("object").where(values.notna(), None)
            values = values.map(lambda v: None if v is None else (str(v).strip() or None))
        if default is not None or name in self.constants:
            values = values.fillna(self.constants.get(name, default))
        if required:
            self.require(values, name)
        return values

    def require(self, values: pd.Series, name: str) -> None:
        missing = values.isna()
        if missing.any():
            self.fail(missing.idxmax(), name, "{file}, line {line}, column {column}: a value is required.")

    def number(self, name: str, *, required: bool = False, default: float | None = 0.0) -> pd.Series:
        column = self.column(name)
        if column is None:
            value = self.constants.get(name)
            if value is None and required:
                self.fail(self.parsed.frame.index[0], name, "{file}: required field {column} is missing.")
            return pd.Series(float(value) if value is not None else default, index=self.parsed.frame.index,
                             dtype="float64")
        values = self.parsed.frame[column]
        raw = self.raw(name)
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            import pyarrow as pa

            text = pa.array(raw.astype("object").where(raw.notna(), None).map(
                lambda v: None if v is None else str(v).strip().replace("\u00a0", "") or None), type=pa.string())
            values = pd.Series(to_numbers(text, self.parsed.dialect.decimal).to_numpy(zero_copy_only=False),
                               index=raw.index)
        values = values.astype("float64")
        blank = raw.isna() | (raw.astype("string").str.strip().isin(["", "NA", "N/A", "nan", "null", "-"]))
        bad = values.isna() & ~blank.fillna(True)
        if bad.any():
            index = bad.idxmax()
            self.fail(index, name, "{file}, line {line}, column {column}: {value} is not a number.",
                      value=repr(str(raw.loc[index])))
        if required and values.isna().any():
            self.require(values.where(values.notna(), None).astype("object"), name)
        return values.fillna(default) if default is not None else values

    def when(self, name: str, *, required: bool = False) -> pd.Series:
        column = self.column(name)
        index = self.parsed.frame.index
        if column is None:
            value = self.constants.get(name)
            if value is None:
                if required:
                    self.fail(index[0], name, "{file}: required field {column} is missing.")
                return pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
            return pd.Series(pd.Timestamp(value), index=index)
        values = self.parsed.frame[column]
        raw = self.raw(name).astype("object")
        raw_text = raw.where(raw.notna(), None).map(lambda v: None if v is None else (str(v).strip() or None))
        if not pd.api.types.is_datetime64_any_dtype(values):
            present = raw_text.dropna()
            found = _best_date_format(present.head(500).tolist()) if len(present) else None
            if found is None and len(present):
                first = present.index[0]
                self.fail(first, name, "{file}, line {line}, column {column}: {value} is not a date.",
                          value=repr(str(raw_text.loc[first])))
            values = to_datetimes(raw_text, *found) if found else pd.Series(pd.NaT, index=index)
        bad = values.isna() & raw_text.notna()
        if bad.any():
            first = bad.idxmax()
            self.fail(first, name, "{file}, line {line}, column {column}: {value} is not a date.",
                      value=repr(str(raw_text.loc[first])))
        if required and values.isna().any():
            self.fail(values.isna().idxmax(), name, "{file}, line {line}, column {column}: a value is required.")
        return values

    def choice(self, name: str, allowed: tuple[str, ...], words: dict[str, str] | None = None, *,
               default: str | None = None) -> pd.Series:
        values = self.text(name, default=default)
        mapped = values.map(lambda v: None if v is None else (words or {}).get(v.lower(), v.lower()))
        bad = mapped.notna() & ~mapped.isin(allowed)
        if bad.any():
            index = bad.idxmax()
            self.fail(index, name, "{file}, line {line}, column {column}: {value} is not one of {allowed}.",
                      value=repr(values.loc[index]), allowed=", ".join(allowed))
        if mapped.isna().any():
            if default is None:
                self.require(mapped, name)
            mapped = mapped.fillna(default)
        return mapped


def _best_date_format(sample: list[str]) -> tuple[str, bool] | None:
    """The date format most sampled cells follow (the others are then reported as not dates)."""
    found = _date_format(sample)
    if found is not None:
        return found
    best, best_hits = None, 0
    for fmt, pattern, aware in DATE_FORMATS:
        regex = re.compile("^" + pattern + "$")
        hits = sum(1 for v in sample if regex.match(v))
        if hits > best_hits:
            best, best_hits = (fmt, aware), hits
    return best


class _Lookups:
    def __init__(self, session: Session):
        self.session = session
        self.channels = dict(session.execute(select(Channel.code, Channel.id)).all())
        markets = session.execute(select(Market.code, Market.name, Market.currency)).all()
        self.markets = {code: code for code, _, _ in markets}
        self.markets.update({name.upper(): code for code, name, _ in markets})
        self.markets.update({k: v for k, v in MARKET_ALIASES.items() if v in self.markets.values()})
        by_currency: dict[str, list[str]] = {}
        for code, _, currency in markets:
            by_currency.setdefault(currency, []).append(code)
        self.market_of_currency = {c: codes[0] for c, codes in by_currency.items() if len(codes) == 1}

    def fx(self, currencies: set[str]) -> pd.DataFrame:
        rows = self.session.execute(
            select(FxRate.day, FxRate.currency, FxRate.per_usd).where(FxRate.currency.in_(sorted(currencies)))
        ).all()
        return pd.DataFrame(rows, columns=["day", "currency", "per_usd"])


def _channel_ids(src: _Source, lookups: _Lookups) -> pd.Series:
    codes = src.text("channel", required=True).str.lower()
    ids = codes.map(lookups.channels)
    bad = ids.isna()
    if bad.any():
        src.fail(bad.idxmax(), "channel", "{file}, line {line}, column {column}: {value} is not one of {allowed}.",
                 value=repr(codes.loc[bad.idxmax()]), allowed=", ".join(sorted(lookups.channels)))
    return ids.astype("int64")


def _markets(src: _Source, lookups: _Lookups, currencies: pd.Series | None,
             options: ImportOptions) -> tuple[pd.Series, pd.Series]:
    """Market codes, and a mask of rows to skip (markets we do not sell in, when the user asked to skip)."""
    values = src.text("market")
    if currencies is not None:  # exports without a market column: the market of a single-market currency
        values = values.fillna(currencies.map(lookups.market_of_currency))
    src.require(values, "market")
    codes = values.str.upper().map(lookups.markets)
    unknown = codes.isna()
    if unknown.any() and not options.skip_unknown_markets:
        index = unknown.idxmax()
        src.fail(index, "market", "{file}, line {line}, column {column}: {value} is not a market we sell in "
                 "({allowed}).", value=repr(values.loc[index]),
                 allowed=", ".join(sorted(set(lookups.markets.values()))))
    return codes, unknown


def _currencies(src: _Source, lookups: _Lookups) -> pd.Series:
    return src.text("currency", required=True).str.upper()


def _usd_per_unit(src: _Source, lookups: _Lookups, currencies: pd.Series, days: pd.Series,
                  skip: pd.Series) -> pd.Series:
    """1 unit of the currency in USD on each day (1 / units-per-USD; latest rate on or before the day)."""
    result = pd.Series(np.nan, index=currencies.index)
    result[currencies == "USD"] = 1.0
    needed = set(currencies[(currencies != "USD") & ~skip].dropna())
    if not needed:
        return result
    fx = lookups.fx(needed)
    known = set(fx["currency"])
    unknown = currencies.isin(needed - known) & ~skip
    if unknown.any():
        index = unknown.idxmax()
        src.fail(index, "currency", "{file}, line {line}, column {column}: unknown currency {value} (no exchange "
                 "rate for it).", value=repr(currencies.loc[index]))
    fx["day"] = pd.to_datetime(fx["day"])
    fx = fx.sort_values("day")
    for currency, rates in fx.groupby("currency"):
        mask = (currencies == currency) & ~skip
        if not mask.any():
            continue
        wanted = pd.DataFrame({"day": pd.to_datetime(days[mask]).astype("datetime64[ns]"),
                               "_i": days[mask].index}).sort_values("day")
        rates = rates.assign(day=rates["day"].astype("datetime64[ns]"))
        matched = pd.merge_asof(wanted, rates[["day", "per_usd"]], on="day", direction="backward")
        matched["per_usd"] = matched["per_usd"].fillna(rates["per_usd"].iloc[0])  # before the first rate
        result.loc[matched["_i"].to_numpy()] = (1.0 / matched["per_usd"]).to_numpy()
    return result


def _orders(src: _Source, lookups: _Lookups, export: KnownExport, options: ImportOptions) -> pd.DataFrame:
    frame = src.parsed.frame
    refs = src.text("order_ref", required=True)
    currencies = _currencies(src, lookups) if src.has("currency") else src.text("currency", required=True)
    ordered_at = src.when("ordered_at", required=True)
    if export.kind == "uci_online_retail":
        price = pd.to_numeric(frame["UnitPrice"], errors="coerce").fillna(0.0)
        quantity = pd.to_numeric(frame["Quantity"], errors="coerce").fillna(0.0)
        items = quantity * price
        status = pd.Series(np.where(refs.str.upper().str.startswith("C"), "cancelled", "completed"),
                           index=frame.index)
        order_total, discount, shipping, tax, refunded = items, 0.0 * items, 0.0 * items, 0.0 * items, 0.0 * items
    else:
        items = src.number("items_total", default=None)
        discount = src.number("discount_total")
        shipping = src.number("shipping_charged")
        tax = src.number("tax_total")
        refunded = src.number("refunded_amount")
        if export.kind == "amazon_orders":
            order_total = items.fillna(0) + shipping + (src.number("gift-wrap-price") if src.column("gift-wrap-price")
                                                        else 0) - discount
        else:
            order_total = src.number("order_total", required=True, default=None)
        items = items.fillna(order_total) if items.isna().any() else items
        status = src.choice("status", ORDER_STATUSES, STATUS_WORDS["orders"], default="completed")
        if src.column("cancelled_at"):
            status = status.where(src.text("cancelled_at").isna(), "cancelled")
    channel_ids = _channel_ids(src, lookups)
    markets, skip = _markets(src, lookups, None, options)
    out = pd.DataFrame({
        "channel_id": channel_ids, "order_ref": refs, "market_code": markets, "ordered_at": ordered_at,
        "currency": currencies, "items_total": items, "discount_total": discount, "shipping_charged": shipping,
        "tax_total": tax, "order_total": order_total, "status": status, "refunded_amount": refunded,
        "_line": src.lines,
    })
    out = _combine_lines(out, src, export, skip)
    if out.empty:
        return out
    out["order_date"] = out["ordered_at"].dt.date
    rate = _usd_per_unit(src, lookups, out["currency"], out["ordered_at"].dt.normalize(),
                         pd.Series(False, index=out.index))
    out["usd_per_unit"] = rate.round(8)
    for column in ("items_total", "discount_total", "shipping_charged", "tax_total", "order_total"):
        out[column] = out[column].round(2)
    out["gmv_usd"] = (out["order_total"] * rate).round(2)
    out["refunded_usd"] = (out["refunded_amount"] * rate).round(2)
    return out.drop(columns=["refunded_amount"])


def _combine_lines(out: pd.DataFrame, src: _Source, export: KnownExport, skip: pd.Series) -> pd.DataFrame:
    """Exports with one row per line item: keep order-level fields of the first row, or add up the lines."""
    skipped = int(skip.sum())
    out = out[~skip]
    if export.lines == "one" or out.empty:
        out.attrs["skipped_rows"] = skipped
        return out
    keys = ["channel_id", "order_ref"]
    if export.lines == "first":
        combined = out.groupby(keys, sort=False, as_index=False).first()
    else:
        sums = ["items_total", "discount_total", "shipping_charged", "tax_total", "order_total", "refunded_amount"]
        agg = {c: ("sum" if c in sums else "first") for c in out.columns if c not in keys}
        combined = out.groupby(keys, sort=False, as_index=False).agg(agg)
    combined.attrs["skipped_rows"] = skipped
    return combined


def _payments(src: _Source, lookups: _Lookups, export: KnownExport, options: ImportOptions) -> pd.DataFrame:
    refs = src.text("payment_ref", required=True)
    currencies = _currencies(src, lookups)
    attempted = src.when("attempted_at", required=True)
    channel_ids = _channel_ids(src, lookups)
    markets, skip = _markets(src, lookups, currencies, options)
    amount = src.number("amount", required=True, default=None)
    fee, refunded = src.number("fee_amount"), src.number("refunded_amount")
    status = src.choice("status", PAYMENT_STATUSES, STATUS_WORDS["payments"])
    if src.column("refunded_amount"):
        status = status.where(~((status == "succeeded") & (refunded > 0)), "refunded")
    method = src.text("method", default="card").str.lower()
    gateway = src.text("gateway", default="stripe").str.lower()
    order_refs = src.text("order_ref") if src.has("order_ref") else pd.Series(None, index=refs.index)
    out = pd.DataFrame({
        "payment_ref": refs, "channel_id": channel_ids, "market_code": markets, "attempted_at": attempted,
        "currency": currencies, "amount": amount.round(2), "fee_amount": fee.round(2), "status": status,
        "method": method, "gateway": gateway, "decline_reason": src.text("decline_reason"),
        "_order_ref": order_refs, "_line": src.lines,
    })[~skip]
    out.attrs["skipped_rows"] = int(skip.sum())
    out["attempt_date"] = out["attempted_at"].dt.date
    rate = _usd_per_unit(src, lookups, out["currency"], out["attempted_at"].dt.normalize(), skip[~skip])
    out["usd_per_unit"] = rate.round(8)
    out["amount_usd"] = (out["amount"] * rate).round(2)
    out["fee_usd"] = (out["fee_amount"] * rate).round(2)
    out["refunded_usd"] = (refunded[~skip] * rate).round(2)
    out["order_id"] = _order_ids(lookups.session, out["channel_id"], out["_order_ref"])
    return out.drop(columns=["_order_ref"])


def _order_ids(session: Session, channel_ids: pd.Series, refs: pd.Series) -> pd.Series:
    result = pd.Series(None, index=refs.index, dtype="object")
    wanted = pd.DataFrame({"c": channel_ids, "r": refs}).dropna()
    for channel_id, group in wanted.groupby("c"):
        found = {}
        unique = group["r"].unique().tolist()
        for start in range(0, len(unique), CHUNK):
            found.update(session.execute(select(Order.order_ref, Order.id).where(
                Order.channel_id == int(channel_id), Order.order_ref.in_(unique[start:start + CHUNK]))).all())
        result.loc[group.index] = group["r"].map(found)
    return result.astype("object").where(result.notna(), None)


def _shipments(src: _Source, lookups: _Lookups, export: KnownExport, options: ImportOptions) -> pd.DataFrame:
    tracking = src.text("tracking_number", required=True)
    channel_ids = _channel_ids(src, lookups)
    order_refs = src.text("order_ref", required=True)
    order_ids = _order_ids(lookups.session, channel_ids, order_refs)
    if order_ids.isna().any():
        index = order_ids.isna().idxmax()
        src.fail(index, "order_ref", "{file}, line {line}, column {column}: order {value} is not in the dashboard; "
                 "import the orders first.", value=repr(order_refs.loc[index]))
    warehouses = dict(lookups.session.execute(select(Warehouse.code, Warehouse.id)).all())
    codes = src.text("warehouse", required=True)
    warehouse_ids = codes.map(warehouses)
    if warehouse_ids.isna().any():
        index = warehouse_ids.isna().idxmax()
        src.fail(index, "warehouse", "{file}, line {line}, column {column}: {value} is not one of {allowed}.",
                 value=repr(codes.loc[index]), allowed=", ".join(sorted(warehouses)))
    shipped = src.when("shipped_at")
    promised = src.number("promised_days", required=True, default=None)
    out = pd.DataFrame({
        "tracking_number": tracking, "order_id": order_ids, "warehouse_id": warehouse_ids.astype("int64"),
        "carrier": src.text("carrier", required=True), "service": src.text("service", required=True),
        "chargeable_weight_kg": src.number("chargeable_weight_kg"),
        "cost_usd": src.number("cost_usd", required=True, default=None).round(2),
        "promised_days": promised.round().astype("int64"), "shipped_at": shipped,
        "delivered_at": src.when("delivered_at"), "status": src.choice("status", SHIPMENT_STATUSES),
        "_line": src.lines,
    })
    out["ship_date"] = shipped.dt.date.where(shipped.notna(), None)
    out.attrs["skipped_rows"] = 0
    return out


def _tickets(src: _Source, lookups: _Lookups, export: KnownExport, options: ImportOptions) -> pd.DataFrame:
    created = src.when("created_at", required=True)
    markets, skip = _markets(src, lookups, None, options)
    csat = src.number("csat", default=None)
    bad = csat.notna() & ~csat.isin([1, 2, 3, 4, 5])
    if bad.any():
        index = bad.idxmax()
        src.fail(index, "csat", "{file}, line {line}, column {column}: {value} is not one of {allowed}.",
                 value=repr(str(src.raw("csat").loc[index])), allowed="1, 2, 3, 4, 5")
    out = pd.DataFrame({
        "ticket_ref": src.text("ticket_ref", required=True), "market_code": markets,
        "channel": src.choice("channel", TICKET_CHANNELS), "reason": src.text("reason", required=True),
        "language": src.text("language", default="en"), "created_at": created,
        "first_response_at": src.when("first_response_at"), "resolved_at": src.when("resolved_at"),
        "csat": csat.astype("Int64").astype("object").where(csat.notna(), None), "_line": src.lines,
    })[~skip]
    out["created_date"] = out["created_at"].dt.date
    out.attrs["skipped_rows"] = int(skip.sum())
    return out


BUILDERS: dict[str, Callable] = {"orders": _orders, "payments": _payments, "shipments": _shipments,
                                 "tickets": _tickets}


def resolve(parsed: ParsedFile, options: ImportOptions) -> Recognition:
    """The export kind and column mapping: the user's choice, else what `recognise` finds."""
    columns = list(parsed.frame.columns)
    if options.kind:
        if options.kind not in EXPORTS_BY_KIND:
            raise UploadError("{file}: unknown import kind {kind}.", file=parsed.file_name, kind=options.kind)
        return map_columns(EXPORTS_BY_KIND[options.kind], columns, options.mapping)
    found = recognise(columns)
    if found is None:
        raise UploadError("{file} is not an export we can import. Use one of our templates or a recognised "
                          "export (Shopify, Amazon, Stripe, UCI Online Retail).", file=parsed.file_name)
    if options.mapping:
        found = map_columns(EXPORTS_BY_KIND[found.kind], columns, options.mapping)
    return found


def _fill_order_level(parsed: ParsedFile, ref_column: str) -> ParsedFile:
    """Line-item rows of an order (Shopify) leave order-level cells empty: take them from the order's first row."""
    def fill(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None:
            return None
        filled = frame.groupby(frame[ref_column], sort=False, dropna=False).transform("first")
        filled[ref_column] = frame[ref_column]
        return filled[frame.columns]

    return replace(parsed, frame=fill(parsed.frame), raw=fill(parsed.raw))


def canonical_frame(session: Session, parsed: ParsedFile, options: ImportOptions) -> tuple[Recognition, pd.DataFrame]:
    recognition = resolve(parsed, options)
    supplied = {k for k, v in options.defaults.items() if v not in (None, "")}
    missing = [m for m in recognition.missing_required if m not in supplied]
    if missing:
        raise UploadError("{file}: required fields are missing: {fields}. Map them to columns or give a "
                          "default.", file=parsed.file_name, fields=", ".join(missing))
    export = EXPORTS_BY_KIND[recognition.kind]
    if export.lines == "first" and recognition.mapping.get("order_ref"):
        parsed = _fill_order_level(parsed, recognition.mapping["order_ref"])
    src = _Source(parsed, recognition, options.defaults)
    frame = BUILDERS[recognition.entity](src, _Lookups(session), export, options)
    return recognition, frame


# --- upsert -------------------------------------------------------------------------


def _key_strings(frame: pd.DataFrame, spec: EntitySpec) -> pd.Series:
    if len(spec.keys) == 1:
        return frame[spec.keys[0]].astype(str)
    return frame[spec.keys[0]].astype(str) + "|" + frame[spec.keys[1]].astype(str)


def _comparable(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, Decimal | float | np.floating):
        return round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=value.microsecond)
    return value


def _existing(session: Session, spec: EntitySpec, frame: pd.DataFrame) -> dict[str, dict]:
    table = spec.model.__table__
    columns = [table.c.id, *[table.c[f] for f in spec.fields]]
    found: dict[str, dict] = {}
    if len(spec.keys) == 1:
        groups = [(None, frame[spec.keys[0]].tolist())]
    else:
        groups = [(k, g[spec.keys[1]].tolist()) for k, g in frame.groupby(spec.keys[0])]
    for first, values in groups:
        for start in range(0, len(values), CHUNK):
            chunk = values[start:start + CHUNK]
            condition = table.c[spec.keys[-1]].in_(chunk)
            if first is not None:
                condition = and_(table.c[spec.keys[0]] == int(first), condition)
            for row in session.execute(select(*columns).where(condition)).mappings():
                key = "|".join(str(row[k]) for k in spec.keys)
                found[key] = dict(row)
    return found


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    data = {}
    for column in columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            values = series.dt.to_pydatetime() if hasattr(series.dt, "to_pydatetime") else series
            data[column] = [None if pd.isna(v) else v for v in np.asarray(values, dtype=object)]
        elif pd.api.types.is_float_dtype(series):
            data[column] = [None if v != v else float(v) for v in series.to_numpy()]
        elif pd.api.types.is_integer_dtype(series):
            data[column] = [int(v) for v in series.to_numpy()]
        else:
            data[column] = [None if (v is None or v is pd.NaT or (isinstance(v, float) and v != v)) else v
                            for v in series.astype("object").to_numpy()]
    return [dict(zip(columns, values)) for values in zip(*(data[c] for c in columns))]


def _json_value(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


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


def _db_values(session: Session, table, columns: list[str], frame: pd.DataFrame) -> list[tuple]:
    """Rows as DBAPI tuples (no per-row SQLAlchemy work): SQLite gets dates and datetimes as the text
    SQLAlchemy itself stores; PostgreSQL gets Python objects."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    data = []
    for column in columns:
        series = frame[column]
        column_type = table.c[column].type
        if pd.api.types.is_datetime64_any_dtype(series):
            if sqlite:
                text = series.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
                data.append(text.astype("object").where(series.notna(), None).tolist())
            else:
                data.append([None if pd.isna(v) else v for v in series.dt.to_pydatetime()])
        elif isinstance(column_type, Date):
            values = series.astype("object")
            data.append([None if v is None or v is pd.NaT or (isinstance(v, float) and v != v)
                         else (v.isoformat() if sqlite else v) for v in values.tolist()])
        elif pd.api.types.is_float_dtype(series):
            data.append(series.astype("object").where(series.notna(), None).tolist())
        elif pd.api.types.is_integer_dtype(series):
            data.append(series.astype("object").where(series.notna(), None).tolist())
        else:
            values = series.astype("object")
            data.append(values.where(values.notna(), None).tolist())
    return list(zip(*data))


def _executemany(session: Session, table, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    marks = ", ".join(["?" if sqlite else "%s"] * len(columns))
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
    cursor = connection.connection.driver_connection.cursor()
    try:
        for start in range(0, len(rows), CHUNK * 10):
            cursor.executemany(sql, rows[start:start + CHUNK * 10])
    finally:
        cursor.close()


def _existing_keys(session: Session, spec: EntitySpec, frame: pd.DataFrame) -> set[str]:
    """Natural keys of the file already in the database: one indexed scan of the key column(s)."""
    table = spec.model.__table__
    found: set[str] = set()
    if len(spec.keys) == 1:
        column = table.c[spec.keys[0]]
        for (value,) in session.execute(select(column)):
            found.add(str(value))
    else:
        for first in frame[spec.keys[0]].unique().tolist():
            for (value,) in session.execute(select(table.c[spec.keys[1]]).where(table.c[spec.keys[0]] == int(first))):
                found.add(f"{first}|{value}")
    return found


def _upsert(session: Session, entity: str, frame: pd.DataFrame, batch_id: int) -> tuple[int, int, int, list]:
    spec = SPECS[entity]
    table = spec.model.__table__
    skipped = int(frame.attrs.get("skipped_rows", 0))
    frame = frame.copy()
    frame["_key"] = _key_strings(frame, spec)
    stored = list(spec.fields)
    repeated = frame["_key"].duplicated(keep=False)
    if repeated.any():  # rows repeated in the file: identical ones count as skipped, others are an error
        for key, group in frame[repeated].groupby("_key", sort=False):
            records = _records(group, [*stored, "_line"])
            for record in records[1:]:
                if any(_comparable(records[0][f]) != _comparable(record[f]) for f in stored):
                    raise UploadError("{file}, lines {first} and {line}: the same {key} appears twice with "
                                      "different values.", file="", first=records[0]["_line"],
                                      line=record["_line"], key=key)
        skipped += int(frame["_key"].duplicated().sum())
        frame = frame.drop_duplicates("_key")
    present = _existing_keys(session, spec, frame)
    known = frame["_key"].isin(present)
    fresh = frame[~known]
    inserts_count = len(fresh)
    days: list = []
    updates, log_updates = [], []
    if known.any():
        existing = _existing(session, spec, frame[known])
        for record in _records(frame[known], [*stored, "_key"]):
            current = existing[record["_key"]]
            row = {f: record[f] for f in stored}
            if all(_comparable(current[f]) == _comparable(row[f]) for f in stored):
                skipped += 1
                continue
            updates.append({**{f"v_{f}": v for f, v in row.items()}, "_id": current["id"]})
            before = {f: _json_value(current[f]) for f in stored}
            log_updates.append((batch_id, entity, record["_key"], "updated", json.dumps(before)))
            days.append(current[spec.day])
    columns = list(stored)
    if entity == "orders":
        fresh = fresh.assign(import_batch_id=batch_id)
        columns.append("import_batch_id")
    for column in table.columns:  # raw inserts skip SQLAlchemy's column defaults: apply the scalar ones
        if column.name not in columns and column.default is not None and column.default.is_scalar:
            fresh = fresh.assign(**{column.name: column.default.arg})
            columns.append(column.name)
    slice_rows = CHUNK * 10  # build DBAPI tuples a slice at a time: a million at once would cost gigabytes
    for start in range(0, len(fresh), slice_rows):
        part = fresh.iloc[start:start + slice_rows]
        _executemany(session, table, columns, _db_values(session, table, columns, part))
    if updates:
        statement = update(table).where(table.c.id == bindparam("_id")).values(
            {f: bindparam(f"v_{f}") for f in stored})
        session.connection().execute(statement, updates)
    log_columns = ["batch_id", "entity", "row_key", "action", "before_json"]
    keys = fresh["_key"].tolist()
    for start in range(0, len(keys), slice_rows):
        _executemany(session, ImportRow.__table__, log_columns,
                     [(batch_id, entity, key, "inserted", None) for key in keys[start:start + slice_rows]])
    _executemany(session, ImportRow.__table__, log_columns, log_updates)
    new_days = frame[spec.day].dropna()
    days.extend([new_days.min(), new_days.max()] if len(new_days) else [])
    return inserts_count, len(updates), skipped, days


def _refresh(session: Session, days: list,
             touched: set[str] | None = None) -> tuple[dt.date | None, dt.date | None]:
    """Refresh the summaries over `days`: only those reading the `touched` raw tables when the caller names
    them (a tickets import need not rebuild the sales summaries), else all of them."""
    days = [d for d in days if d is not None and not (isinstance(d, float) and math.isnan(d))]
    if not days:
        return None, None
    days = [d.date() if isinstance(d, dt.datetime) else d for d in days]
    first, last = min(days), max(days)
    if touched is None:
        summaries.refresh_all(session, first, last)
    else:
        summaries.refresh_affected(session, touched, first, last)
    return first, last


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def import_file(session: Session, actor: str, file_name: str, data: bytes, options: ImportOptions | None = None,
                *, dialect: Dialect | None = None, parsed: ParsedFile | None = None) -> ImportResult:
    """Parse, check and upsert a whole file in the caller's transaction; see the module docstring."""
    authorize(session, actor, "staff")
    options = options or ImportOptions()
    parsed = parsed or parse(data, file_name, dialect)
    recognition, frame = canonical_frame(session, parsed, options)
    batch = ImportBatch(username=actor, imported_at=_now(), file_name=file_name[:255], content_sha256=sha256(data),
                        kind=recognition.kind, status="applied")
    session.add(batch)
    session.flush()
    try:
        inserted, updated, skipped, days = _upsert(session, recognition.entity, frame, batch.id)
    except UploadError as exc:
        if exc.values.get("file") == "":
            raise UploadError(exc.template, **{**exc.values, "file": file_name}) from None
        raise
    batch.rows_inserted, batch.rows_updated, batch.rows_skipped = inserted, updated, skipped
    first, last = _refresh(session, days)
    session.add(AuditEvent(at=batch.imported_at, username=actor, entity="import_batch", entity_id=str(batch.id),
                           action="import", detail=json.dumps({"file": file_name, "kind": recognition.kind,
                                                               "inserted": inserted, "updated": updated,
                                                               "skipped": skipped, "sha256": batch.content_sha256})))
    session.flush()
    return ImportResult(batch.id, recognition.kind, recognition.entity, inserted, updated, skipped, first, last)


# --- undo and history ---------------------------------------------------------------


class UndoRefused(ValueError):
    def __init__(self, template: str, **values):
        self.template, self.values = template, values
        super().__init__(template.format(**values))


def _entity_of_kind(kind: str) -> str:
    return EXPORTS_BY_KIND[kind].entity if kind in EXPORTS_BY_KIND else "orders"


def undo_import(session: Session, actor: str, batch_id: int) -> UndoResult:
    authorize(session, actor, "staff")
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise UndoRefused("There is no import {batch}.", batch=batch_id)
    if batch.status != "applied":
        raise UndoRefused("Import {batch} was already undone.", batch=batch_id)
    later = ImportRow.__table__.alias("later")
    mine = ImportRow.__table__.alias("mine")
    blocking = session.execute(
        select(func.min(later.c.batch_id))
        .select_from(mine.join(later, and_(mine.c.entity == later.c.entity, mine.c.row_key == later.c.row_key)))
        .join(ImportBatch, ImportBatch.id == later.c.batch_id)
        .where(mine.c.batch_id == batch_id, later.c.batch_id > batch_id, ImportBatch.status == "applied")
    ).scalar()
    if blocking is not None:
        raise UndoRefused("Import {later} changed the same rows after import {batch}; undo import {later} "
                          "first.", later=blocking, batch=batch_id)
    entity = _entity_of_kind(batch.kind)
    spec = SPECS[entity]
    table = spec.model.__table__
    days: list = []
    deleted = restored = 0
    inserted_keys = session.scalars(select(ImportRow.row_key).where(
        ImportRow.batch_id == batch_id, ImportRow.action == "inserted")).all()
    if inserted_keys:
        if entity == "orders":
            condition = table.c.import_batch_id == batch_id
            days.extend(session.execute(select(func.min(table.c.order_date), func.max(table.c.order_date))
                                        .where(condition)).one())
            deleted += session.execute(delete(table).where(condition)).rowcount or 0
        else:
            key = table.c[spec.keys[0]]
            for start in range(0, len(inserted_keys), CHUNK):
                chunk = inserted_keys[start:start + CHUNK]
                days.extend(session.execute(select(func.min(table.c[spec.day]), func.max(table.c[spec.day]))
                                            .where(key.in_(chunk))).one())
                deleted += session.execute(delete(table).where(key.in_(chunk))).rowcount or 0
    updated = session.execute(select(ImportRow.row_key, ImportRow.before_json).where(
        ImportRow.batch_id == batch_id, ImportRow.action == "updated")).all()
    for row_key, before_json in updated:
        if not before_json:
            raise UndoRefused("Import {batch} cannot be undone: what it overwrote was not recorded.", batch=batch_id)
        before = _from_json(table, json.loads(before_json))
        parts = row_key.split("|", 1) if len(spec.keys) == 2 else [row_key]
        condition = and_(*[table.c[k] == (int(v) if k == "channel_id" else v) for k, v in zip(spec.keys, parts)])
        current_day = session.execute(select(table.c[spec.day]).where(condition)).scalar()
        if current_day is None and session.execute(select(table.c.id).where(condition)).first() is None:
            raise UndoRefused("Import {batch} cannot be undone: a row it changed ({key}) was deleted since.",
                              batch=batch_id, key=row_key)
        session.execute(update(table).where(condition).values(before))
        days.extend([current_day, before.get(spec.day)])
        restored += 1
    batch.status = "undone"
    _refresh(session, days)
    session.add(AuditEvent(at=_now(), username=actor, entity="import_batch", entity_id=str(batch_id), action="undo",
                           detail=json.dumps({"deleted": deleted, "restored": restored})))
    session.flush()
    return UndoResult(batch_id, deleted, restored)


def import_history(session: Session, limit: int = 200) -> pd.DataFrame:
    rows = session.execute(
        select(ImportBatch.id, ImportBatch.imported_at, ImportBatch.username, ImportBatch.file_name,
               ImportBatch.kind, ImportBatch.rows_inserted, ImportBatch.rows_updated, ImportBatch.rows_skipped,
               ImportBatch.status, ImportBatch.content_sha256)
        .order_by(ImportBatch.id.desc()).limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=["id", "imported_at", "username", "file_name", "kind", "inserted", "updated",
                                       "skipped", "status", "sha256"])
