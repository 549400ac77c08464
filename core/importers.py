"""Import recognised exports into orders (with their line items and customers), payments, shipments and
tickets: all-or-nothing, idempotent, audited, undoable.

`import_file(session, actor, file_name, data, ...)`:
1. `authorize(actor, "staff")`; parse the file (core.csv_detect) and recognise it (core.templates), or use
   the kind and column mapping the user chose.
2. Build canonical records (`canonical_frame`): every value checked; the first bad cell raises UploadError
   naming file, line and column, before anything is written. Amounts are converted to USD at the rate of
   the record's day (`fx_rates`: units per USD, the latest rate on or before the day, else the first after);
   a currency without any rate is unknown. `usd = amount / per_usd` (USD itself: 1).
   Amazon's order report has no order total: order_total = item price + shipping + gift wrap − promotions
   (written with either sign), plus item, shipping and gift-wrap tax where prices exclude tax
   (TAX_EXCLUSIVE_MARKETS; elsewhere item-price includes VAT). Items Amazon cancelled in an order that goes
   ahead add nothing. The market is the ship-country, else the marketplace of the sales-channel. Orders
   still Pending (payment not authorised, mostly no price) are skipped and counted (`pending_orders`): a
   later report imports them. Shopify's Subtotal is after discounts: items_total = Subtotal + Discount Amount.
3. Line items (EXTRA_COLUMNS: Shopify, Amazon, UCI) become order lines of the catalogue product with the
   same SKU; the same SKU twice in an order is one line (as the seed writes them):
     unit_price, line_total  the file's, local currency (Amazon's item-price is the line total)
     revenue_usd = line_total × (1 − order discount / order line totals) × net_of_tax × usd_per_unit,
                   net_of_tax = 1 / (1 + market VAT) where prices include it, else 1
     cogs_usd    = quantity × unit_cost_cny / CNY per USD on the order day × (1 + landed share),
                   the landed share (inbound freight and duty) as the product's own lines book it
                   (`_landed_shares`), else DEFAULT_LANDED_SHARE
   Line items whose SKU the catalogue does not know, or that have none, are left out and reported in the
   result (`unknown_sku_lines`, a few `unknown_skus`). An export lists whole orders, so its lines replace
   the stored lines of each of its orders.
4. Customers (Shopify's Email): customer_ref = SHA-256 of the trimmed, lower-cased address (the model keeps
   no addresses). New ones are inserted with the market and day of their first order; first_order_on and
   is_first_order follow each customer's earliest order, file and database together (a stored order that
   loses the flag is updated). Orders without an address keep the customer they have.
5. Upsert by natural key ((channel, order_ref) for orders, payment_ref, tracking_number, ticket_ref,
   customer_ref): a key not in the database is inserted, a key whose stored values (and lines) all equal the
   file's is skipped, otherwise the row is updated and the values it overwrote (and the lines it replaced)
   are kept in `import_rows.before_json`. Rows repeated in the file count as skipped; the same key with
   different values is an error. Inserted orders carry `import_batch_id`, which is all undo needs of them;
   other inserted rows get an `import_rows` row each.
6. Record the batch in `import_batches` (who, when, file name, SHA-256 of the bytes, counts) and an
   `audit_events` row, and refresh the daily summaries for every affected day (before and after values).
All of it happens in the caller's transaction (`core.db.unit_of_work`): any error rolls everything back.

`undo_import(session, actor, batch_id)` deletes what the batch inserted (orders with their lines, the
customers it added) and restores what it overwrote (lines included), in the caller's transaction, refreshes
the summaries and marks the batch `undone`. It refuses when a later, still-applied import touched the same
rows or uses the customers it added (undo that one first), or when the batch is already undone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, and_, delete, func, insert, select, update
from sqlalchemy.orm import Session

from core import summaries
from core.csv_detect import DATE_FORMATS, Dialect, ParsedFile, UploadError, _date_format, parse, to_datetimes, to_numbers
from core.models import (
    AuditEvent,
    Channel,
    Customer,
    FxRate,
    ImportBatch,
    ImportRow,
    Market,
    Order,
    OrderLine,
    Payment,
    Product,
    Shipment,
    Ticket,
    Warehouse,
)
from core.templates import EXPORTS_BY_KIND, KnownExport, Recognition, map_columns, recognise
from core.users import authorize
from core.what_if import TAX_EXCLUSIVE_MARKETS

CHUNK = 5000  # keys per IN (...) lookup
SLICE_ROWS = CHUNK * 10  # rows converted to DBAPI values at a time
IMPORT_CACHE_KIB = 256 * 1024  # SQLite page cache while importing (a cap, not an allocation)
# SQLite: an insert this large, and at least 1/BULK_SHARE of the rows already there, drops the table's own
# secondary indexes and builds them again afterwards. Each index costs ~2.7 s per million rows inserted into
# it, and ~0.4 s per million rows in the table to build (measured, bench/upload.py), so rebuilding wins once
# the insert is about a sixth of the table.
BULK_ROWS = 100_000
BULK_SHARE = 5
ORDER_STATUSES = ("completed", "cancelled", "refunded", "partially_refunded")
PAYMENT_STATUSES = ("succeeded", "declined", "refunded", "disputed")
SHIPMENT_STATUSES = ("in_transit", "delivered", "lost", "returned_to_sender")
TICKET_CHANNELS = ("email", "chat", "marketplace")
# Vendor status words -> ours. Shopify financial status, Amazon order status, Stripe status.
STATUS_WORDS = {
    "orders": {"paid": "completed", "shipped": "completed", "delivered": "completed", "pending": "completed",
               "authorized": "completed", "unshipped": "completed", "partially_paid": "completed",
               "shipping": "completed",
               "refunded": "refunded", "partially_refunded": "partially_refunded", "voided": "cancelled",
               "cancelled": "cancelled", "canceled": "cancelled", "completed": "completed"},
    "payments": {"paid": "succeeded", "succeeded": "succeeded", "failed": "declined", "declined": "declined",
                 "refunded": "refunded", "partially refunded": "refunded", "disputed": "disputed"},
}
MARKET_ALIASES = {"GB": "UK", "UNITED KINGDOM": "UK", "GREAT BRITAIN": "UK", "USA": "US", "EIRE": "IE"}
# Amazon's sales-channel names the marketplace; it gives the market of rows without a ship-country yet.
AMAZON_SITES = {"amazon.com": "US", "amazon.ca": "CA", "amazon.com.mx": "MX", "amazon.co.uk": "UK", "amazon.de": "DE",
                "amazon.fr": "FR", "amazon.it": "IT", "amazon.es": "ES", "amazon.nl": "NL", "amazon.co.jp": "JP",
                "amazon.com.au": "AU", "amazon.sa": "SA"}
# Columns an export has beyond the template fields (core.templates maps those): its line items (lines exist
# when line_sku and line_quantity are present), the customer key, and Amazon's further amounts.
EXTRA_COLUMNS = {
    "shopify_orders": {"customer": "Email", "line_sku": "Lineitem sku", "line_quantity": "Lineitem quantity",
                       "line_price": "Lineitem price"},
    "amazon_orders": {"customer": "buyer-email", "line_sku": "sku", "line_quantity": "quantity",
                      "line_total": "item-price", "item_status": "item-status", "site": "sales-channel",
                      "shipping_tax": "shipping-tax", "gift_wrap": "gift-wrap-price", "gift_wrap_tax": "gift-wrap-tax",
                      "ship_discount": "ship-promotion-discount"},
    "uci_online_retail": {"line_sku": "StockCode", "line_quantity": "Quantity", "line_price": "UnitPrice"},
}
# Inbound freight and duty on top of the factory price, for products the dashboard has booked no line of:
# the middle of the 8-15 % the seeded catalogue carries (data/seed.py).
DEFAULT_LANDED_SHARE = 0.115
UNKNOWN_SKU_EXAMPLES = 5
ORDER_KEY = ["channel_id", "order_ref"]
LINE_FIELDS = ("product_id", "quantity", "unit_price", "line_total", "revenue_usd", "cogs_usd")
ORDER_CUSTOMER_FIELDS = ("customer_id", "is_first_order")
# The raw tables an import of each entity writes (or its undo restores): the summaries reading them refresh.
TOUCHED = {"orders": {"orders", "order_lines", "customers"}, "payments": {"payments"}, "shipments": {"shipments"},
           "tickets": {"tickets"}}


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
    lines_inserted: int = 0  # order lines of orders new to the dashboard
    lines_updated: int = 0  # order lines added, changed or removed on orders already there
    unknown_sku_lines: int = 0  # line items left out: their SKU is not in the catalogue, or they have none
    unknown_skus: tuple[str, ...] = ()  # a few of those SKUs, as written
    customers_inserted: int = 0
    pending_orders: int = 0  # Amazon orders still Pending, skipped until a later report prices them


@dataclass(frozen=True)
class UndoResult:
    batch_id: int
    deleted: int
    restored: int


@dataclass(frozen=True)
class LineItems:
    """An export's line items as order lines of catalogue products, and how many it could not match."""
    frame: pd.DataFrame  # channel_id, order_ref and LINE_FIELDS
    unknown: int = 0
    unknown_skus: tuple[str, ...] = ()


@dataclass(frozen=True)
class Canonical:
    recognition: Recognition
    records: pd.DataFrame  # one row per record, in the entity's columns (plus _line, _customer)
    lines: LineItems | None = None  # None: the export has no line items, stored lines stay as they are


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _customer_ref(email: str) -> str:
    """What the model keeps of a customer's e-mail address: the SHA-256 of it, trimmed and lower-cased."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


# --- canonical records ------------------------------------------------------------


class _Source:
    """The parsed file seen through a mapping: typed columns by field, with line numbers for errors."""

    def __init__(self, parsed: ParsedFile, recognition: Recognition, defaults: dict[str, str],
                 extra: dict[str, str] | None = None):
        self.parsed, self.recognition = parsed, recognition
        self.mapping = {**recognition.mapping, **(extra or {})}  # field -> column, EXTRA_COLUMNS included
        self.constants = {**recognition.constants, **{k: v for k, v in defaults.items() if v not in (None, "")}}
        self.lines = pd.Series(np.arange(len(parsed.frame)) + parsed.first_data_line, index=parsed.frame.index)

    def column(self, name: str) -> str | None:
        return self.mapping.get(name)

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
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            values = self.raw(name)  # a number, date or flag: the cell as written
        values = _stripped(values)
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
            text = _stripped(raw).str.replace("\u00a0", "")
            values = pd.Series(to_numbers(pa.array(text, type=pa.string()), self.parsed.dialect.decimal)
                               .to_numpy(zero_copy_only=False), index=raw.index)
        values = values.astype("float64")
        missing = values.isna()
        if missing.any():  # a blank cell is no value; anything else that did not convert is an error
            text = _stripped(raw)
            bad = missing & text.notna() & ~text.isin(["NA", "N/A", "nan", "null", "-"])
            if bad.any():
                index = bad.idxmax()
                self.fail(index, name, "{file}, line {line}, column {column}: {value} is not a number.",
                          value=repr(str(raw.loc[index])))
            if required:
                self.require(values.where(~missing, None).astype("object"), name)
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
        raw_text = _stripped(self.raw(name))
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
        words = words or {}
        mapped = _by_value(values, lambda v: words.get(v.lower(), v.lower()))
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


def _stripped(values: pd.Series) -> pd.Series:
    """Cells as trimmed text; blank and missing cells are missing."""
    text = values.astype("str").str.strip()
    return text.where(values.notna() & (text != ""))


def _by_value(values: pd.Series, function: Callable) -> pd.Series:
    """`function` of every cell, called once per distinct value: exports repeat a few codes (channels, markets,
    statuses) a million times, and a Python call per row would dominate the import. Missing cells give None."""
    codes, uniques = pd.factorize(values)
    results = np.empty(len(uniques) + 1, dtype=object)  # the last slot, picked by code -1, stays None
    results[:len(uniques)] = [function(value) for value in uniques]
    return pd.Series(results[codes], index=values.index, dtype="object")


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


def _channel_ids(src: _Source, lookups: _Lookups) -> pd.Series:
    codes = src.text("channel", required=True).str.lower()
    ids = _by_value(codes, lookups.channels.get)
    bad = ids.isna()
    if bad.any():
        src.fail(bad.idxmax(), "channel", "{file}, line {line}, column {column}: {value} is not one of {allowed}.",
                 value=repr(codes.loc[bad.idxmax()]), allowed=", ".join(sorted(lookups.channels)))
    return ids.astype("int64")


def _markets(src: _Source, lookups: _Lookups, currencies: pd.Series | None, options: ImportOptions,
             fallback: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """Market codes, and a mask of rows to skip (markets we do not sell in, when the user asked to skip)."""
    values = src.text("market")
    if fallback is not None:
        values = values.fillna(fallback)
    if currencies is not None:  # exports without a market column: the market of a single-market currency
        values = values.fillna(_by_value(currencies, lookups.market_of_currency.get))
    src.require(values, "market")
    codes = _by_value(values, lambda v: lookups.markets.get(v.upper()))
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
    result[(currencies == "USD").to_numpy()] = 1.0
    needed = set(currencies[(currencies != "USD") & ~skip].dropna().unique())
    unknown = currencies.isin({c for c in needed if lookups.rates(c) is None}) & ~skip
    if unknown.any():
        index = unknown.idxmax()
        src.fail(index, "currency", "{file}, line {line}, column {column}: unknown currency {value} (no exchange "
                 "rate for it).", value=repr(currencies.loc[index]))
    day_values = days.to_numpy()
    for currency in needed:
        mask = ((currencies == currency) & ~skip).to_numpy()
        result[mask] = 1.0 / _asof(day_values[mask], *lookups.rates(currency))
    return result


def _orders(src: _Source, lookups: _Lookups, export: KnownExport,
            options: ImportOptions) -> tuple[pd.DataFrame, LineItems | None]:
    refs = src.text("order_ref", required=True)
    currencies = _currencies(src, lookups) if src.has("currency") else src.text("currency", required=True)
    ordered_at = src.when("ordered_at", required=True)
    channel_ids = _channel_ids(src, lookups)
    markets, skip = _markets(src, lookups, None, options, _site_markets(src))
    pending = _pending(src, export)
    skip = skip | pending
    live = _live_items(src)
    amounts = {name: amount * live for name, amount in _order_amounts(src, export, markets).items()}
    rows = pd.DataFrame({
        "channel_id": channel_ids, "order_ref": refs, "market_code": markets, "ordered_at": ordered_at,
        "currency": currencies, **amounts, "status": _order_status(src, export, refs), "_line": src.lines,
    })
    if src.column("customer"):
        rows["_customer"] = _by_value(src.text("customer"), _customer_ref)
    out = _combine_lines(rows, export, skip)
    out.attrs["pending_orders"] = int(refs[pending].nunique())
    if out.empty:
        return out, None
    out["order_date"] = out["ordered_at"].dt.normalize()
    rate = _usd_per_unit(src, lookups, out["currency"], out["order_date"], pd.Series(False, index=out.index))
    out["usd_per_unit"] = rate.round(8)
    for column in ("items_total", "discount_total", "shipping_charged", "tax_total", "order_total"):
        out[column] = out[column].round(2)
    out["gmv_usd"] = (out["order_total"] * rate).round(2)
    out["refunded_usd"] = (out["refunded_amount"] * rate).round(2)
    return out.drop(columns=["refunded_amount"]), _line_items(src, lookups, rows[~skip & live], out)


def _order_amounts(src: _Source, export: KnownExport, markets: pd.Series) -> dict[str, pd.Series]:
    """Each row's amounts in the file's currency (exports with line items: the row's share, added up later)."""
    if export.kind == "uci_online_retail":  # invoice lines: quantity × unit price, nothing else
        items = src.number("line_quantity") * src.number("line_price")
        zero = items * 0.0
        return {"items_total": items, "discount_total": zero, "shipping_charged": zero, "tax_total": zero,
                "order_total": items, "refunded_amount": zero}
    items = src.number("items_total", default=None)
    amounts = {"discount_total": src.number("discount_total"), "shipping_charged": src.number("shipping_charged"),
               "tax_total": src.number("tax_total"), "refunded_amount": src.number("refunded_amount")}
    if export.kind == "amazon_orders":
        total = _amazon_paid(src, items, amounts, markets)
    else:
        total = src.number("order_total", required=True, default=None)
    items = items.fillna(total)
    if export.kind == "shopify_orders":  # Shopify's Subtotal is after discounts; items_total is before them
        items = items + amounts["discount_total"]
    return {"items_total": items, **amounts, "order_total": total}


def _amazon_paid(src: _Source, items: pd.Series, amounts: dict[str, pd.Series], markets: pd.Series) -> pd.Series:
    """What the buyer paid for a row of Amazon's report, which has no order total: item price, shipping and gift
    wrap less promotions (written with either sign), plus item, shipping and gift-wrap tax where prices exclude
    tax (TAX_EXCLUSIVE_MARKETS); elsewhere item-price includes the VAT. Updates `amounts` to match."""
    amounts["tax_total"] = amounts["tax_total"] + src.number("shipping_tax") + src.number("gift_wrap_tax")
    amounts["discount_total"] = amounts["discount_total"].abs()
    on_top = markets.isin(TAX_EXCLUSIVE_MARKETS).to_numpy()
    return (items.fillna(0) + amounts["shipping_charged"] + src.number("gift_wrap") - amounts["discount_total"]
            - src.number("ship_discount").abs() + amounts["tax_total"].where(on_top, 0.0))


def _order_status(src: _Source, export: KnownExport, refs: pd.Series) -> pd.Series:
    if export.kind == "uci_online_retail":  # invoice numbers starting with C are cancellations
        return pd.Series(np.where(refs.str.upper().str.startswith("C"), "cancelled", "completed"), index=refs.index)
    status = src.choice("status", ORDER_STATUSES, STATUS_WORDS["orders"], default="completed")
    if src.column("cancelled_at"):
        status = status.where(src.text("cancelled_at").isna(), "cancelled")
    return status


def _pending(src: _Source, export: KnownExport) -> pd.Series:
    """Rows of Amazon orders still Pending: payment not authorised yet and, mostly, no price. They are no sale
    yet, so they are skipped; a later report imports them once Amazon has priced them."""
    if export.kind != "amazon_orders" or not src.column("status"):
        return pd.Series(False, index=src.parsed.frame.index)
    return src.text("status").str.lower().eq("pending").fillna(False).astype(bool)


def _live_items(src: _Source) -> pd.Series:
    """False for items the marketplace cancelled in an order that goes ahead (Amazon's item-status): they add
    nothing to the order and make no line."""
    if not src.column("item_status"):
        return pd.Series(True, index=src.parsed.frame.index)
    return ~src.text("item_status").str.lower().eq("cancelled").fillna(False).astype(bool)


def _site_markets(src: _Source) -> pd.Series | None:
    """The market of Amazon's sales-channel (Amazon.de, ...), for rows whose ship-country is not known yet."""
    if not src.column("site"):
        return None
    return _by_value(src.text("site"), lambda site: AMAZON_SITES.get(site.lower()))


def _combine_lines(out: pd.DataFrame, export: KnownExport, skip: pd.Series) -> pd.DataFrame:
    """Exports with one row per line item: keep order-level fields of the first row, or add up the lines.
    The order keeps its first row's index, so errors found later still name the right line of the file."""
    skipped = int(skip.sum())
    out = out[~skip]
    if export.lines != "one" and not out.empty:
        keys = ["channel_id", "order_ref"]
        combined = out.drop_duplicates(keys)
        if export.lines == "sum":
            sums = ["items_total", "discount_total", "shipping_charged", "tax_total", "order_total", "refunded_amount"]
            combined = combined.assign(**{c: s.to_numpy() for c, s in
                                          out.groupby(keys, sort=False)[sums].sum().items()})
        out = combined
    out.attrs["skipped_rows"] = skipped
    return out


def _line_items(src: _Source, lookups: _Lookups, rows: pd.DataFrame, orders: pd.DataFrame) -> LineItems | None:
    """The line items of `rows` as order lines of catalogue products (see the module docstring); `orders` are
    their orders, already built."""
    if not (src.column("line_sku") and src.column("line_quantity")):
        return None
    quantity = src.number("line_quantity", required=True, default=None).loc[rows.index]
    if src.column("line_total"):  # Amazon's item-price is the price of the whole quantity
        total = src.number("line_total").loc[rows.index]
        price = (total / quantity.where(quantity != 0)).fillna(total)
    else:
        price = src.number("line_price").loc[rows.index]
        total = price * quantity
    items = pd.DataFrame({"channel_id": rows["channel_id"], "order_ref": rows["order_ref"],
                          "sku": src.text("line_sku").loc[rows.index], "quantity": quantity, "unit_price": price,
                          "line_total": total})
    items = items.merge(orders[[*ORDER_KEY, "market_code", "order_date", "usd_per_unit", "discount_total"]],
                        on=ORDER_KEY, how="left")
    items["revenue_usd"] = items["line_total"] * _kept_share(items) * _net_of_tax(items, lookups) * \
        items["usd_per_unit"]
    items = items.merge(lookups.products(items["sku"].dropna().unique().tolist()), on="sku", how="left")
    unknown = items["product_id"].isna()
    lines = _one_line_per_product(items[~unknown])
    lines["cogs_usd"] = _cogs(src, lookups, lines)
    lines = lines.astype({"product_id": "int64"}).assign(quantity=lines["quantity"].round().astype("int64"))
    for column in ("unit_price", "line_total", "revenue_usd", "cogs_usd"):
        lines[column] = lines[column].round(2)
    examples = tuple(items.loc[unknown, "sku"].dropna().unique()[:UNKNOWN_SKU_EXAMPLES].tolist())
    return LineItems(lines[[*ORDER_KEY, *LINE_FIELDS]].reset_index(drop=True), int(unknown.sum()), examples)


def _kept_share(items: pd.DataFrame) -> pd.Series:
    """The share of the goods the customer paid for: 1 − the order's discount / its line totals (as the seed)."""
    gross = items.groupby(ORDER_KEY, sort=False)["line_total"].transform("sum")
    return (1 - items["discount_total"] / gross.where(gross > 0)).clip(0, 1).fillna(1.0)


def _net_of_tax(items: pd.DataFrame, lookups: _Lookups) -> np.ndarray:
    """1 / (1 + VAT) where prices include it, 1 where tax comes on top (TAX_EXCLUSIVE_MARKETS)."""
    vat = _by_value(items["market_code"], lookups.vat.get).astype("float64")
    return np.where(items["market_code"].isin(TAX_EXCLUSIVE_MARKETS), 1.0, 1.0 / (1.0 + vat))


def _one_line_per_product(items: pd.DataFrame) -> pd.DataFrame:
    """The same SKU twice in an order is one line, as the seed writes them: quantities and amounts add up."""
    keys = [*ORDER_KEY, "product_id"]
    lines = items.drop_duplicates(keys)
    if len(lines) < len(items):
        sums = items.groupby(keys, sort=False)[["quantity", "line_total", "revenue_usd"]].sum()
        lines = lines.assign(**{column: values.to_numpy() for column, values in sums.items()})
        lines = lines.assign(unit_price=(lines["line_total"] / lines["quantity"].where(lines["quantity"] != 0))
                             .fillna(lines["unit_price"]))
    return lines.copy()


def _cogs(src: _Source, lookups: _Lookups, lines: pd.DataFrame) -> pd.Series:
    """Landed product cost: quantity × unit_cost_cny / CNY per USD on the order day × (1 + landed share)."""
    if lines.empty:
        return pd.Series(np.nan, index=lines.index)
    cny = lookups.rates("CNY")
    if cny is None:
        raise UploadError("{file}: there is no CNY exchange rate, so the product cost of its line items cannot be "
                          "valued.", file=src.parsed.file_name)
    cny_per_usd = _asof(lines["order_date"].to_numpy(), *cny)
    share = lines["product_id"].map(_landed_shares(lookups, sorted(lines["product_id"].unique().tolist())))
    return lines["unit_cost_cny"] * lines["quantity"] / cny_per_usd * (1 + share)


def _landed_shares(lookups: _Lookups, product_ids: list[int]) -> dict[int, float]:
    """Inbound freight and duty on top of the factory price, per product. The catalogue keeps the factory price
    only; the share is what the dashboard already books for the product, taken from its first order line that
    did not come from an import (cogs_usd = quantity × unit_cost_cny / CNY per USD × (1 + share)), so imported
    lines cost what its other lines cost. Imported lines never feed it: a file imported again costs the same.
    DEFAULT_LANDED_SHARE for a product without such a line."""
    shares = dict.fromkeys(product_ids, DEFAULT_LANDED_SHARE)
    # One LIMIT 1 walk of the product's index per product: MIN(id) ... GROUP BY product_id over the join took
    # minutes on a million orders.
    first_line = (select(OrderLine.id).join(Order, Order.id == OrderLine.order_id)
                  .where(OrderLine.product_id == Product.id, Order.import_batch_id.is_(None))
                  .order_by(OrderLine.id).limit(1).scalar_subquery())
    line_ids = [i for i in lookups.session.scalars(select(first_line).where(Product.id.in_(product_ids)))
                if i is not None]
    rows = lookups.session.execute(
        select(OrderLine.product_id, OrderLine.quantity, OrderLine.cogs_usd, Order.order_date, Product.unit_cost_cny)
        .join(Order, Order.id == OrderLine.order_id).join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.id.in_(line_ids))).all()
    for product_id, quantity, cogs, day, unit_cost in rows:
        cny_per_usd = _asof(np.array([day], dtype="datetime64[D]"), *lookups.rates("CNY"))[0]
        factory = quantity * float(unit_cost) / cny_per_usd
        if factory > 0 and cogs is not None and cogs > 0:
            shares[product_id] = float(cogs) / factory - 1
    return shares


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


BUILDERS: dict[str, Callable] = {"payments": _payments, "shipments": _shipments, "tickets": _tickets}


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


def _extra_columns(export: KnownExport, columns: list[str]) -> dict[str, str]:
    """EXTRA_COLUMNS of the export that the file has (case and surrounding spaces aside)."""
    present = {c.strip().lower(): c for c in columns}
    return {name: present[column.lower()] for name, column in EXTRA_COLUMNS.get(export.kind, {}).items()
            if column.lower() in present}


def _fill_order_level(parsed: ParsedFile, ref_column: str, order_level: list[str]) -> ParsedFile:
    """Line-item rows of an order (Shopify) leave order-level cells empty: take them from the order's first row
    (only for the columns the import reads)."""
    def fill(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None:
            return None
        filled = frame.copy()
        filled[order_level] = frame[order_level].groupby(frame[ref_column], sort=False, dropna=False).transform("first")
        return filled

    return replace(parsed, frame=fill(parsed.frame), raw=fill(parsed.raw))


def canonical_frame(session: Session, parsed: ParsedFile, options: ImportOptions) -> Canonical:
    recognition = resolve(parsed, options)
    supplied = {k for k, v in options.defaults.items() if v not in (None, "")}
    missing = [m for m in recognition.missing_required if m not in supplied]
    if missing:
        raise UploadError("{file}: required fields are missing: {fields}. Map them to columns or give a "
                          "default.", file=parsed.file_name, fields=", ".join(missing))
    export = EXPORTS_BY_KIND[recognition.kind]
    extra = _extra_columns(export, list(parsed.frame.columns))
    if export.lines == "first" and recognition.mapping.get("order_ref"):
        ref_column = recognition.mapping["order_ref"]
        order_level = {c for c in recognition.mapping.values() if c} | \
            {c for name, c in extra.items() if not name.startswith("line_")}  # a line item's cells are its own
        parsed = _fill_order_level(parsed, ref_column, sorted(order_level - {ref_column}))
    src = _Source(parsed, recognition, options.defaults, extra)
    lookups = _Lookups(session)
    if recognition.entity == "orders":
        records, lines = _orders(src, lookups, export, options)
        return Canonical(recognition, records, lines)
    return Canonical(recognition, BUILDERS[recognition.entity](src, lookups, export, options))


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
    """SQLite keeps 2 MB of pages by default: a large import then writes index pages out and reads them back
    over and over. For its transaction the import lets the connection keep up to IMPORT_CACHE_KIB."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


@dataclass
class _Counts:
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    days: list = field(default_factory=list)  # dates whose daily summaries the import changed
    lines_inserted: int = 0
    lines_updated: int = 0
    customers_inserted: int = 0


def _upsert(session: Session, canonical: Canonical, batch_id: int) -> _Counts:
    entity = canonical.recognition.entity
    spec = SPECS[entity]
    counts = _Counts(skipped=int(canonical.records.attrs.get("skipped_rows", 0)))
    frame = _without_repeats(canonical.records, spec, counts)
    if frame.empty:  # every row skipped (markets we do not sell in)
        return counts
    fields = list(spec.fields)
    if "_customer" in frame:
        frame = _link_customers(session, frame, batch_id, counts)
        fields += ORDER_CUSTOMER_FIELDS
    matched, known, changed = _compare(session, spec, frame, fields)
    before_lines = None
    if canonical.lines is not None:
        lines = _with_order_ids(canonical.lines.frame, matched)
        stored_lines, replaced = _changed_lines(session, lines, matched.loc[known, "_id"], counts)
        changed |= matched["_id"].isin(replaced)
        before_lines = _lines_before(stored_lines, replaced)
    counts.skipped += int((known & ~changed).sum())
    counts.inserted += _insert(session, spec, entity, matched[~known], fields, batch_id)
    counts.updated += _update(session, spec, entity, matched[changed], fields, batch_id, before_lines)
    if canonical.lines is not None:
        counts.lines_inserted = _write_lines(session, batch_id, lines, replaced)
    counts.days += _touched_days(spec, matched, known, changed)
    return counts


def _without_repeats(frame: pd.DataFrame, spec: EntitySpec, counts: _Counts) -> pd.DataFrame:
    """Rows repeated in the file: identical ones count as skipped, the same key with other values is an error."""
    keys = list(spec.keys)
    repeated = frame.duplicated(keys, keep=False)
    if not repeated.any():
        return frame
    for _, group in frame[repeated].groupby(keys, sort=False):
        records = _records(group, [*spec.fields, "_line"])
        for record in records[1:]:
            if any(_comparable(records[0][f]) != _comparable(record[f]) for f in spec.fields):
                raise UploadError("{file}, lines {first} and {line}: the same {key} appears twice with "
                                  "different values.", file="", first=records[0]["_line"], line=record["_line"],
                                  key="|".join(str(record[k]) for k in keys))
    counts.skipped += int(frame.duplicated(keys).sum())
    return frame.drop_duplicates(keys)


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


def _link_customers(session: Session, frame: pd.DataFrame, batch_id: int, counts: _Counts) -> pd.DataFrame:
    """customer_id and is_first_order of the file's orders with a customer key (missing without one). Customers
    new to the dashboard are inserted with the market and day of their first order; a stored customer's
    first_order_on moves to an earlier order in the file, and so does the first-order flag (a stored order
    that loses it is updated). All of it is logged for undo."""
    frame = frame.assign(customer_id=pd.Series(pd.NA, index=frame.index, dtype="Int64"),
                         is_first_order=pd.Series(np.nan, index=frame.index, dtype="object"))
    with_key = frame["_customer"].notna()
    if not with_key.any():
        return frame
    spec = SPECS["customers"]
    mine = frame.loc[with_key, ["_customer", *ORDER_KEY, "ordered_at", "order_date", "market_code"]]
    refs = mine[["_customer"]].drop_duplicates().rename(columns={"_customer": "customer_ref"})
    stored = _stored(session, spec, refs, ["market_code", "first_order_on"])
    flagged = _flagged_first_orders(session, stored)
    firsts = pd.concat([mine, flagged.drop(columns="_id")]).sort_values(
        ["ordered_at", *ORDER_KEY], kind="stable").drop_duplicates("_customer")
    wanted = firsts.rename(columns={"_customer": "customer_ref", "order_date": "first_order_on"}).merge(
        stored, on="customer_ref", how="left")
    wanted["market_code"] = wanted["market_code_db"].fillna(wanted["market_code"])  # a customer keeps its market
    wanted["first_order_on"] = pd.concat([pd.to_datetime(wanted["first_order_on"]),
                                          pd.to_datetime(wanted["first_order_on_db"])], axis=1).min(axis=1)
    fields = list(spec.fields)
    matched, known, changed = _compare(session, spec, wanted[fields], fields)
    counts.customers_inserted = _insert(session, spec, "customers", matched[~known], fields, batch_id)
    _update(session, spec, "customers", matched[changed], fields, batch_id)
    ids = _stored(session, spec, refs, [])
    frame.loc[with_key, "customer_id"] = mine["_customer"].map(dict(zip(ids["customer_ref"], ids["_id"])))
    first_keys = pd.MultiIndex.from_frame(firsts[ORDER_KEY])
    frame.loc[with_key, "is_first_order"] = pd.MultiIndex.from_frame(mine[ORDER_KEY]).isin(first_keys)
    flagged_keys = pd.MultiIndex.from_frame(flagged[ORDER_KEY])
    overtaken = flagged[~flagged_keys.isin(first_keys) & ~flagged_keys.isin(pd.MultiIndex.from_frame(frame[ORDER_KEY]))]
    if not overtaken.empty:
        cleared = overtaken.assign(is_first_order=False, is_first_order_db=True)
        counts.updated += _update(session, SPECS["orders"], "orders", cleared, ["is_first_order"], batch_id)
        counts.days += _span(overtaken["order_date"])
    return frame


def _flagged_first_orders(session: Session, customers: pd.DataFrame) -> pd.DataFrame:
    """The stored orders flagged as the first of one of these stored customers (customer_ref, _id)."""
    ref_of = dict(zip(customers["_id"].astype("int64"), customers["customer_ref"]))
    rows = []
    for chunk in _chunks(list(ref_of)):
        rows += session.execute(select(Order.customer_id, Order.id, Order.channel_id, Order.order_ref,
                                       Order.ordered_at, Order.order_date, Order.market_code)
                                .where(Order.customer_id.in_(chunk), Order.is_first_order.is_(True))).all()
    flagged = pd.DataFrame(rows, columns=["customer_id", "_id", *ORDER_KEY, "ordered_at", "order_date", "market_code"])
    flagged = flagged.assign(_customer=flagged["customer_id"].map(ref_of),
                             ordered_at=pd.to_datetime(flagged["ordered_at"]),
                             order_date=pd.to_datetime(flagged["order_date"]))
    return flagged.drop(columns="customer_id").astype({"channel_id": "int64", "order_ref": "str"})


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _with_order_ids(lines: pd.DataFrame, matched: pd.DataFrame) -> pd.DataFrame:
    """The file's lines with the id of their order where it is stored already (order_id)."""
    return lines.merge(matched[[*ORDER_KEY, "_id"]].rename(columns={"_id": "order_id"}), on=ORDER_KEY, how="left")


def _changed_lines(session: Session, lines: pd.DataFrame, order_ids: pd.Series,
                   counts: _Counts) -> tuple[pd.DataFrame, set[int]]:
    """The stored lines of the file's stored orders, and the ids of the orders whose lines the file changes;
    counts.lines_updated: lines added, changed or removed. The file lists each order's whole content."""
    stored = _stored_lines(session, order_ids.astype("int64").tolist())
    new = lines.loc[lines["order_id"].notna(), ["order_id", *LINE_FIELDS]].astype({"order_id": "int64"})
    both = new.merge(stored, on=["order_id", "product_id"], how="outer", suffixes=("", "_db"), indicator=True)
    paired = both["_merge"] == "both"
    differs = ~paired
    for name in LINE_FIELDS[1:]:
        differs |= paired & (both[name].astype("float64").round(6) != both[f"{name}_db"].astype("float64").round(6))
    counts.lines_updated = int(differs.sum())
    return stored, set(both.loc[differs, "order_id"].astype("int64").tolist())


def _stored_lines(session: Session, order_ids: list[int]) -> pd.DataFrame:
    table = OrderLine.__table__
    columns = ["order_id", *LINE_FIELDS]
    selected = ", ".join(_read_sql(table.c[c]) for c in columns)
    rows = []
    for chunk in _chunks(order_ids):
        rows += _fetchall(session, f"SELECT {selected} FROM {table.name} WHERE order_id IN "
                          f"({', '.join([_mark(session)] * len(chunk))})", chunk)
    return pd.DataFrame(rows, columns=columns).astype(
        {"order_id": "int64", "product_id": "int64", "quantity": "int64", "unit_price": "float64",
         "line_total": "float64", "revenue_usd": "float64", "cogs_usd": "float64"})


def _lines_before(stored: pd.DataFrame, replaced: set[int]) -> dict[int, dict]:
    """What undo needs to put the replaced lines back: {order id: {"_lines": [[LINE_FIELDS...], ...]}}."""
    table = OrderLine.__table__
    before: dict[int, dict] = {order_id: {"_lines": []} for order_id in replaced}
    for row in stored[stored["order_id"].isin(replaced)].itertuples(index=False):
        before[row.order_id]["_lines"].append([_json_value(getattr(row, f), table.c[f].type) for f in LINE_FIELDS])
    return before


def _write_lines(session: Session, batch_id: int, lines: pd.DataFrame, replaced: set[int]) -> int:
    """The lines of the orders this import inserted, and of the stored orders whose lines it replaces; returns
    how many belong to inserted orders."""
    table = OrderLine.__table__
    for chunk in _chunks(sorted(replaced)):
        session.execute(delete(table).where(table.c.order_id.in_(chunk)))
    fresh = lines["order_id"].isna()
    if fresh.any():
        inserted = pd.DataFrame(_fetchall(session, f"SELECT channel_id, order_ref, id FROM orders WHERE "
                                                   f"import_batch_id = {_mark(session)}", [batch_id]),
                                columns=[*ORDER_KEY, "new_id"]).astype({"channel_id": "int64", "order_ref": "str"})
        lines = lines.merge(inserted, on=ORDER_KEY, how="left")
        lines["order_id"] = lines["order_id"].fillna(lines["new_id"])
    written = lines[fresh.to_numpy() | lines["order_id"].isin(replaced).to_numpy()].astype({"order_id": "int64"})
    written = written.sort_values("order_id", kind="stable")  # appends to the order_id index, in the orders' order
    _insert_frame(session, table, ["order_id", *LINE_FIELDS], written)
    return int(fresh.sum())


def _touched_days(spec: EntitySpec, matched: pd.DataFrame, known: pd.Series, changed: pd.Series) -> list[dt.date]:
    """Days of inserted rows, and the old and new days of updated ones."""
    if spec.day is None:
        return []
    days = _span(matched.loc[~known | changed, spec.day])
    return days + _span(matched.loc[changed, f"{spec.day}_db"]) if changed.any() else days


def _match(session: Session, spec: EntitySpec, frame: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """The file's rows with the stored row of the same natural key beside them: `_id` and `<field>_db`
    (missing for keys not stored yet)."""
    stored = _stored(session, spec, frame, [f for f in fields if f not in spec.keys])
    frame = frame.reset_index(drop=True)
    if stored.empty:  # a first import: nothing to line up
        return frame.assign(_id=np.nan)
    return frame.merge(stored, on=list(spec.keys), how="left")


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
    canonical = canonical_frame(session, parsed, options)
    recognition = canonical.recognition
    batch = ImportBatch(username=actor, imported_at=_now(), file_name=file_name[:255], content_sha256=sha256(data),
                        kind=recognition.kind, status="applied")
    session.add(batch)
    session.flush()
    with _roomy_cache(session):
        try:
            counts = _upsert(session, canonical, batch.id)
        except UploadError as exc:
            if exc.values.get("file") == "":
                raise UploadError(exc.template, **{**exc.values, "file": file_name}) from None
            raise
        batch.rows_inserted, batch.rows_updated, batch.rows_skipped = counts.inserted, counts.updated, counts.skipped
        first, last = _refresh(session, counts.days, TOUCHED[recognition.entity])
    lines = canonical.lines or LineItems(pd.DataFrame())
    pending = int(canonical.records.attrs.get("pending_orders", 0))
    session.add(AuditEvent(at=batch.imported_at, username=actor, entity="import_batch", entity_id=str(batch.id),
                           action="import", detail=json.dumps({
                               "file": file_name, "kind": recognition.kind, "inserted": counts.inserted,
                               "updated": counts.updated, "skipped": counts.skipped,
                               "lines_inserted": counts.lines_inserted, "lines_updated": counts.lines_updated,
                               "unknown_sku_lines": lines.unknown, "customers_inserted": counts.customers_inserted,
                               "pending_orders": pending, "sha256": batch.content_sha256})))
    session.flush()
    return ImportResult(batch.id, recognition.kind, recognition.entity, counts.inserted, counts.updated,
                        counts.skipped, first, last, counts.lines_inserted, counts.lines_updated, lines.unknown,
                        lines.unknown_skus, counts.customers_inserted, pending)


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
    blocking = _later_batch_touching(session, batch_id)
    if blocking is not None:
        raise UndoRefused("Import {later} changed the same rows after import {batch}; undo import {later} "
                          "first.", later=blocking, batch=batch_id)
    entity = _entity_of_kind(batch.kind)
    if entity == "orders":
        _refuse_while_customers_used(session, batch_id)
        _refuse_while_orders_have_dependents(session, batch_id)
    days: list = []
    with _roomy_cache(session):
        deleted = _delete_inserted(session, batch_id, entity, days)
        restored = _restore_updated(session, batch_id, entity, days)
        if entity == "orders":  # once no order of the batch refers to them any more
            _restore_updated(session, batch_id, "customers", days)
            _delete_inserted(session, batch_id, "customers", days)
        batch.status = "undone"
        _refresh(session, days, TOUCHED[entity])
    session.add(AuditEvent(at=_now(), username=actor, entity="import_batch", entity_id=str(batch_id), action="undo",
                           detail=json.dumps({"deleted": deleted, "restored": restored})))
    session.flush()
    return UndoResult(batch_id, deleted, restored)


def _later_batch_touching(session: Session, batch_id: int) -> int | None:
    """The first later, still-applied import that changed a row this one inserted or changed."""
    later = ImportRow.__table__.alias("later")
    mine = ImportRow.__table__.alias("mine")
    found = session.execute(
        select(func.min(later.c.batch_id))
        .select_from(mine.join(later, and_(mine.c.entity == later.c.entity, mine.c.row_key == later.c.row_key)))
        .join(ImportBatch, ImportBatch.id == later.c.batch_id)
        .where(mine.c.batch_id == batch_id, later.c.batch_id > batch_id, ImportBatch.status == "applied")
    ).scalar()
    updates = session.execute(  # inserted orders have no import row: match later updates to their batch id
        select(ImportRow.batch_id, ImportRow.row_key).join(ImportBatch, ImportBatch.id == ImportRow.batch_id)
        .where(ImportRow.entity == "orders", ImportRow.action == "updated", ImportRow.batch_id > batch_id,
               ImportBatch.status == "applied")
    ).all()
    if updates:
        by_key = pd.DataFrame(updates, columns=["later", "row_key"])
        parts = by_key["row_key"].str.split("|", n=1, expand=True)
        by_key = by_key.assign(channel_id=parts[0].astype("int64"), order_ref=parts[1])
        ours = _stored(session, SPECS["orders"], by_key, ["import_batch_id"])
        ours = ours[ours["import_batch_id_db"] == batch_id]
        hits = by_key.merge(ours[["channel_id", "order_ref"]], on=["channel_id", "order_ref"])["later"]
        if len(hits):
            found = min(int(hits.min()), found) if found is not None else int(hits.min())
    return found


def _refuse_while_orders_have_dependents(session: Session, batch_id: int) -> None:
    """Deleting the batch's orders would cascade to the shipments, payments and tickets that later
    imports attached to them, which those imports' own undo would then no longer find."""
    orders = select(Order.id).where(Order.import_batch_id == batch_id)
    dependents = sum(
        session.scalar(select(func.count()).select_from(model).where(model.order_id.in_(orders))) or 0
        for model in (Shipment, Payment, Ticket)
    )
    if dependents:
        raise UndoRefused("Import {batch} cannot be undone: {count} shipments, payments or tickets imported later "
                          "belong to its orders; undo those imports first.", batch=batch_id, count=dependents)


def _refuse_while_customers_used(session: Session, batch_id: int) -> None:
    """Customers the import added go with it, so no order it did not add or change may still refer to them."""
    refs = session.scalars(select(ImportRow.row_key).where(
        ImportRow.batch_id == batch_id, ImportRow.entity == "customers", ImportRow.action == "inserted")).all()
    users = []
    for chunk in _chunks(list(refs)):
        users += session.execute(
            select(Order.channel_id, Order.order_ref, Order.import_batch_id)
            .join(Customer, Customer.id == Order.customer_id)
            .where(Customer.customer_ref.in_(chunk), func.coalesce(Order.import_batch_id, 0) != batch_id)).all()
    if not users:
        return
    mine = set(session.scalars(select(ImportRow.row_key).where(
        ImportRow.batch_id == batch_id, ImportRow.entity == "orders", ImportRow.action == "updated")).all())
    others = [(f"{channel_id}|{ref}", batch) for channel_id, ref, batch in users if f"{channel_id}|{ref}" not in mine]
    if not others:
        return
    later = [batch for _, batch in others if batch is not None and batch > batch_id]
    for chunk in _chunks([key for key, _ in others]):
        later += session.scalars(
            select(ImportRow.batch_id).join(ImportBatch, ImportBatch.id == ImportRow.batch_id)
            .where(ImportRow.entity == "orders", ImportRow.action == "updated", ImportRow.row_key.in_(chunk),
                   ImportRow.batch_id > batch_id, ImportBatch.status == "applied")).all()
    if later:
        raise UndoRefused("Import {later} changed the same rows after import {batch}; undo import {later} "
                          "first.", later=min(later), batch=batch_id)
    raise UndoRefused("Import {batch} cannot be undone: orders it did not import now belong to customers it "
                      "added.", batch=batch_id)


def _delete_inserted(session: Session, batch_id: int, entity: str, days: list) -> int:
    spec = SPECS[entity]
    table = spec.model.__table__
    if entity == "orders":
        condition = table.c.import_batch_id == batch_id
        days.extend(session.execute(select(func.min(table.c.order_date), func.max(table.c.order_date))
                                    .where(condition)).one())
        session.execute(delete(OrderLine).where(OrderLine.order_id.in_(select(table.c.id).where(condition))))
        return session.execute(delete(table).where(condition)).rowcount or 0
    key = table.c[spec.keys[0]]
    inserted_keys = session.scalars(select(ImportRow.row_key).where(
        ImportRow.batch_id == batch_id, ImportRow.entity == entity, ImportRow.action == "inserted")).all()
    deleted = 0
    for chunk in _chunks(list(inserted_keys)):
        if spec.day is not None:
            days.extend(session.execute(select(func.min(table.c[spec.day]), func.max(table.c[spec.day]))
                                        .where(key.in_(chunk))).one())
        deleted += session.execute(delete(table).where(key.in_(chunk))).rowcount or 0
    return deleted


def _restore_updated(session: Session, batch_id: int, entity: str, days: list) -> int:
    spec = SPECS[entity]
    table = spec.model.__table__
    updated = session.execute(select(ImportRow.row_key, ImportRow.before_json).where(
        ImportRow.batch_id == batch_id, ImportRow.entity == entity, ImportRow.action == "updated")).all()
    for row_key, before_json in updated:
        if not before_json:
            raise UndoRefused("Import {batch} cannot be undone: what it overwrote was not recorded.", batch=batch_id)
        before = json.loads(before_json)
        lines = before.pop("_lines", None)
        before = _from_json(table, before)
        parts = row_key.split("|", 1) if len(spec.keys) == 2 else [row_key]
        condition = and_(*[table.c[k] == (int(v) if k == "channel_id" else v) for k, v in zip(spec.keys, parts)])
        current = session.execute(select(table.c.id, *([table.c[spec.day]] if spec.day else []))
                                  .where(condition)).first()
        if current is None:
            raise UndoRefused("Import {batch} cannot be undone: a row it changed ({key}) was deleted since.",
                              batch=batch_id, key=row_key)
        session.execute(update(table).where(table.c.id == current.id).values(before))
        if lines is not None:
            _put_back_lines(session, current.id, lines)
        if spec.day:
            days.extend([current[1], before.get(spec.day)])
    return len(updated)


def _put_back_lines(session: Session, order_id: int, lines: list[list]) -> None:
    table = OrderLine.__table__
    session.execute(delete(table).where(table.c.order_id == order_id))
    if lines:
        session.execute(insert(table), [_from_json(table, {"order_id": order_id, **dict(zip(LINE_FIELDS, line))})
                                        for line in lines])


def import_history(session: Session, limit: int = 200) -> pd.DataFrame:
    rows = session.execute(
        select(ImportBatch.id, ImportBatch.imported_at, ImportBatch.username, ImportBatch.file_name,
               ImportBatch.kind, ImportBatch.rows_inserted, ImportBatch.rows_updated, ImportBatch.rows_skipped,
               ImportBatch.status, ImportBatch.content_sha256)
        .order_by(ImportBatch.id.desc()).limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=["id", "imported_at", "username", "file_name", "kind", "inserted", "updated",
                                       "skipped", "status", "sha256"])
