"""Import recognised exports into orders (with their line items and customers), payments, shipments and
tickets: all-or-nothing, idempotent, audited, undoable.

`import_file(session, actor, file_name, data, ...)`:
1. `authorize(actor, "staff")`; parse the file (core.imports.parsing) and recognise it (core.imports.templates), or use
   the kind and column mapping the user chose.
2. Build canonical records (`canonical_frame`): every value checked; the first bad cell raises UploadError
   naming file, line and column, before anything is written. Amounts are converted to USD at the rate of
   the record's day (`fx_rates`: units per USD, the latest rate on or before the day, else the first after);
   a currency without any rate is unknown. `usd = amount / per_usd` (USD itself: 1). Stripe takes its fee
   from the balance after conversion, so its Fee is in the Converted Currency: fee_usd = Fee at that currency's
   rate, fee_amount = fee_usd in the payment currency (a 36.05 THB fee on a USD charge is 1.03 USD, not 36.05).
   Amazon's order report has no order total: order_total = item price + shipping + gift wrap − promotions
   (written with either sign), plus item, shipping and gift-wrap tax where prices exclude tax
   (TAX_EXCLUSIVE_MARKETS; elsewhere item-price includes VAT). Items Amazon cancelled in an order that goes
   ahead add nothing. The market is the ship-country, else the marketplace of the sales-channel. Orders
   still Pending (payment not authorised, mostly no price) are skipped and counted (`pending_orders`): a
   later report imports them. Shopify's Subtotal is after discounts: items_total = Subtotal + Discount Amount.
   Rows for a market or sales channel we do not know are an error, or, when the user asked to skip them, left
   out and reported (how many, a few values as written): never counted as unchanged. A file without a
   currency column takes the currency the user gives (`defaults`).
3. Line items become order lines of catalogue products, replacing each order's stored lines: core.imports.lines.
4. Customers come from hashed e-mail addresses, with first-order flags: core.imports.customers.
5. Upsert by natural key ((channel, order_ref) for orders, payment_ref, tracking_number, ticket_ref,
   customer_ref): a key not in the database is inserted, a key whose stored values (and lines) all equal the
   file's is skipped, otherwise the row is updated and the values it overwrote (and the lines it replaced)
   are kept in `import_rows.before_json`. Rows repeated in the file count as skipped; the same key with
   different values is an error. Inserted orders carry `import_batch_id`, which is all undo needs of them;
   other inserted rows get an `import_rows` row each.
6. Record the batch in `import_batches` (who, when, file name, SHA-256 of the bytes, counts) and an
   `audit_events` row, and refresh the daily summaries for every affected day (before and after values).
   A file whose every row was left out writes nothing and records no batch (`batch_id` None).
Steps 5 and 6 run while the transaction holds the import lock (`_take_turn`): imports and undos take turns,
and one that waits is told so (`on_wait`) and builds its records again once its turn comes.
All of it happens in the caller's transaction (`core.platform.db.unit_of_work`): any error rolls everything back.

`undo_import(session, actor, batch_id)` deletes what the batch inserted (orders with their lines, the
customers it added) and restores what it overwrote (lines included), in the caller's transaction, refreshes
the summaries and marks the batch `undone`. It refuses when a later, still-applied import touched the same
rows or uses the customers it added (undo that one first), or when the batch is already undone.

Stored rows by natural key (lookup, compare, insert, update) and the DBAPI writes: core.imports.sql.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from core import summaries, thresholds
from core.landed_cost import booked_parcel_charges
from core.imports.customers import _customer_ref, _link_customers
from core.imports.lines import (
    LineItems,
    _changed_lines,
    _line_items,
    _lines_before,
    _put_back_lines,
    _with_order_ids,
    _write_lines,
)
from core.imports.parsing import Dialect, ParsedFile, UploadError, parse
from core.imports.source import Source
from core.imports.sql import (
    CHUNK,
    ORDER_CUSTOMER_FIELDS,
    SPECS,
    EntitySpec,
    _asof,
    _by_value,
    _chunks,
    _compare,
    _Counts,
    _from_json,
    _insert,
    _Lookups,
    _roomy_cache,
    _span,
    _stored,
    _update,
)
from core.imports.templates import EXPORTS_BY_KIND, KnownExport, Recognition, map_columns, recognise
from core.platform.db import LockWaitTimeout, hold_write_lock
from core.platform.models import (
    AuditEvent,
    Customer,
    FxRate,
    ImportBatch,
    ImportRow,
    Order,
    OrderLine,
    Payment,
    Shipment,
    Ticket,
    Warehouse,
)
from core.platform.reference import TAX_EXCLUSIVE_MARKETS
from core.platform.users import authorize

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
# Amazon's sales-channel names the marketplace; it gives the market of rows without a ship-country yet.
AMAZON_SITES = {"amazon.com": "US", "amazon.ca": "CA", "amazon.com.mx": "MX", "amazon.co.uk": "UK", "amazon.de": "DE",
                "amazon.fr": "FR", "amazon.it": "IT", "amazon.es": "ES", "amazon.nl": "NL", "amazon.co.jp": "JP",
                "amazon.com.au": "AU", "amazon.sa": "SA"}
# Columns an export has beyond the template fields (core.imports.templates maps those): its line items (lines exist
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
# The raw tables an import of each entity writes (or its undo restores): the summaries reading them refresh.
TOUCHED = {"orders": {"orders", "order_lines", "customers"}, "payments": {"payments"}, "shipments": {"shipments"},
           "tickets": {"tickets"}}
LEFT_OUT_EXAMPLES = 5  # values shown of the rows an import left out (unknown markets, channels)
IMPORT_LOCK = "imports"  # the database lock imports and undos take turns on (core.platform.db.hold_write_lock)


@dataclass(frozen=True)
class ImportOptions:
    kind: str | None = None  # a KnownExport kind; None: recognise
    mapping: dict[str, str | None] = field(default_factory=dict)  # field -> source column overrides
    defaults: dict[str, str] = field(default_factory=dict)  # field -> value for rows without one
    skip_unknown_markets: bool = False  # leave out rows for markets we do not sell in, and report them
    skip_unknown_channels: bool = False  # leave out rows of sales channels we do not know, and report them


@dataclass(frozen=True)
class ImportResult:
    batch_id: int | None  # None: every row was left out, so nothing was written and no batch recorded
    kind: str
    entity: str
    inserted: int
    updated: int
    skipped: int  # unchanged: already stored with the same values, or repeated in the file
    first_day: dt.date | None
    last_day: dt.date | None
    lines_inserted: int = 0  # order lines of orders new to the dashboard
    lines_updated: int = 0  # order lines added, changed or removed on orders already there
    unknown_sku_lines: int = 0  # line items left out: their SKU is not in the catalogue, or they have none
    unknown_skus: tuple[str, ...] = ()  # a few of those SKUs, as written
    customers_inserted: int = 0
    pending_orders: int = 0  # Amazon orders still Pending, skipped until a later report prices them
    unknown_market_rows: int = 0  # rows left out: a market we do not sell in (skip_unknown_markets)
    unknown_markets: tuple[str, ...] = ()  # a few of those markets, as written
    unknown_channel_rows: int = 0  # rows left out: a sales channel we do not know (skip_unknown_channels)
    unknown_channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class UndoResult:
    batch_id: int
    deleted: int
    restored: int


@dataclass(frozen=True)
class Canonical:
    recognition: Recognition
    records: pd.DataFrame  # one row per record, in the entity's columns (plus _line, _customer)
    lines: LineItems | None = None  # None: the export has no line items, stored lines stay as they are


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def known_currencies(session: Session) -> list[str]:
    """USD and every currency with an exchange rate: the currencies an import can convert (the upload page
    offers them for a file without a currency column, such as a Shopify export that left it out)."""
    return sorted({"USD", *session.scalars(select(FxRate.currency).distinct())})


# --- canonical records ------------------------------------------------------------


def _left_out(left_out: dict, reason: str, values: pd.Series, mask: pd.Series) -> None:
    """Note how many rows `mask` leaves out for `reason`, and the first few distinct values, as written."""
    if mask.any():
        examples = values[mask].dropna().astype(str).unique()[:LEFT_OUT_EXAMPLES]
        left_out[reason] = (int(mask.sum()), tuple(examples.tolist()))


def _channel_ids(src: Source, lookups: _Lookups, options: ImportOptions | None = None,
                 left_out: dict | None = None) -> tuple[pd.Series, pd.Series]:
    """Channel ids, and a mask of rows to skip (channels we do not know, when the user asked to skip; their id
    is 0). Without `options` every channel must be known."""
    written = src.text("channel", required=True)
    codes = written.str.lower()
    ids = _by_value(codes, lookups.channels.get)
    bad = ids.isna()
    if bad.any() and not (options and options.skip_unknown_channels):
        src.fail(bad.idxmax(), "channel", "{file}, line {line}, column {column}: {value} is not one of {allowed}.",
                 value=repr(codes.loc[bad.idxmax()]), allowed=", ".join(sorted(lookups.channels)))
    if left_out is not None:
        _left_out(left_out, "unknown_channels", written, bad)
    return ids.fillna(0).astype("int64"), bad


def _markets(src: Source, lookups: _Lookups, currencies: pd.Series | None, options: ImportOptions,
             left_out: dict, skipped: pd.Series, fallback: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """Market codes, and a mask of rows to skip (markets we do not sell in, when the user asked to skip).
    Rows already `skipped` (an unknown channel) are neither checked nor reported again."""
    values = src.text("market")
    if fallback is not None:
        values = values.fillna(fallback)
    if currencies is not None:  # exports without a market column: the market of a single-market currency
        values = values.fillna(_by_value(currencies, lookups.market_of_currency.get))
    src.require(values, "market")
    codes = _by_value(values, lambda v: lookups.markets.get(v.upper()))
    unknown = codes.isna() & ~skipped
    if unknown.any() and not options.skip_unknown_markets:
        index = unknown.idxmax()
        src.fail(index, "market", "{file}, line {line}, column {column}: {value} is not a market we sell in "
                 "({allowed}).", value=repr(values.loc[index]),
                 allowed=", ".join(sorted(set(lookups.markets.values()))))
    _left_out(left_out, "unknown_markets", values, unknown)
    return codes, unknown | skipped


def _currencies(src: Source, lookups: _Lookups) -> pd.Series:
    return src.text("currency", required=True).str.upper()


def _usd_per_unit(src: Source, lookups: _Lookups, currencies: pd.Series, days: pd.Series,
                  skip: pd.Series, field: str = "currency") -> pd.Series:
    """1 unit of the currency in USD on each day (1 / units-per-USD; latest rate on or before the day).
    `field` names the column a currency without any rate is reported in."""
    result = pd.Series(np.nan, index=currencies.index)
    result[(currencies == "USD").to_numpy()] = 1.0
    needed = set(currencies[(currencies != "USD") & ~skip].dropna().unique())
    unknown = currencies.isin({c for c in needed if lookups.rates(c) is None}) & ~skip
    if unknown.any():
        index = unknown.idxmax()
        src.fail(index, field, "{file}, line {line}, column {column}: unknown currency {value} (no exchange "
                 "rate for it).", value=repr(currencies.loc[index]))
    day_values = days.to_numpy()
    for currency in needed:
        mask = ((currencies == currency) & ~skip).to_numpy()
        result[mask] = 1.0 / _asof(day_values[mask], *lookups.rates(currency))
    return result


def _orders(src: Source, lookups: _Lookups, export: KnownExport,
            options: ImportOptions) -> tuple[pd.DataFrame, LineItems | None]:
    refs = src.text("order_ref", required=True)
    currencies = _currencies(src, lookups) if src.has("currency") else src.text("currency", required=True)
    ordered_at = src.when("ordered_at", required=True)
    left_out: dict = {}
    channel_ids, unknown_channel = _channel_ids(src, lookups, options, left_out)
    markets, skip = _markets(src, lookups, None, options, left_out, unknown_channel, _site_markets(src))
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
    out.attrs["pending_orders"] = int(refs[pending & ~unknown_channel].nunique())
    out.attrs["left_out"] = left_out
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


def _order_amounts(src: Source, export: KnownExport, markets: pd.Series) -> dict[str, pd.Series]:
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


def _amazon_paid(src: Source, items: pd.Series, amounts: dict[str, pd.Series], markets: pd.Series) -> pd.Series:
    """What the buyer paid for a row of Amazon's report, which has no order total: item price, shipping and gift
    wrap less promotions (written with either sign), plus item, shipping and gift-wrap tax where prices exclude
    tax (TAX_EXCLUSIVE_MARKETS); elsewhere item-price includes the VAT. Updates `amounts` to match."""
    amounts["tax_total"] = amounts["tax_total"] + src.number("shipping_tax") + src.number("gift_wrap_tax")
    amounts["discount_total"] = amounts["discount_total"].abs()
    on_top = markets.isin(TAX_EXCLUSIVE_MARKETS).to_numpy()
    return (items.fillna(0) + amounts["shipping_charged"] + src.number("gift_wrap") - amounts["discount_total"]
            - src.number("ship_discount").abs() + amounts["tax_total"].where(on_top, 0.0))


def _order_status(src: Source, export: KnownExport, refs: pd.Series) -> pd.Series:
    if export.kind == "uci_online_retail":  # invoice numbers starting with C are cancellations
        return pd.Series(np.where(refs.str.upper().str.startswith("C"), "cancelled", "completed"), index=refs.index)
    status = src.choice("status", ORDER_STATUSES, STATUS_WORDS["orders"], default="completed")
    if src.column("cancelled_at"):
        status = status.where(src.text("cancelled_at").isna(), "cancelled")
    return status


def _pending(src: Source, export: KnownExport) -> pd.Series:
    """Rows of Amazon orders still Pending: payment not authorised yet and, mostly, no price. They are no sale
    yet, so they are skipped; a later report imports them once Amazon has priced them."""
    if export.kind != "amazon_orders" or not src.column("status"):
        return pd.Series(False, index=src.parsed.frame.index)
    return src.text("status").str.lower().eq("pending").fillna(False).astype(bool)


def _live_items(src: Source) -> pd.Series:
    """False for items the marketplace cancelled in an order that goes ahead (Amazon's item-status): they add
    nothing to the order and make no line."""
    if not src.column("item_status"):
        return pd.Series(True, index=src.parsed.frame.index)
    return ~src.text("item_status").str.lower().eq("cancelled").fillna(False).astype(bool)


def _site_markets(src: Source) -> pd.Series | None:
    """The market of Amazon's sales-channel (Amazon.de, ...), for rows whose ship-country is not known yet."""
    if not src.column("site"):
        return None
    return _by_value(src.text("site"), lambda site: AMAZON_SITES.get(site.lower()))


def _combine_lines(out: pd.DataFrame, export: KnownExport, skip: pd.Series) -> pd.DataFrame:
    """Exports with one row per line item: keep order-level fields of the first row, or add up the lines.
    The order keeps its first row's index, so errors found later still name the right line of the file."""
    out = out[~skip]
    if export.lines != "one" and not out.empty:
        keys = ["channel_id", "order_ref"]
        combined = out.drop_duplicates(keys)
        if export.lines == "sum":
            sums = ["items_total", "discount_total", "shipping_charged", "tax_total", "order_total", "refunded_amount"]
            combined = combined.assign(**{c: s.to_numpy() for c, s in
                                          out.groupby(keys, sort=False)[sums].sum().items()})
        out = combined
    return out


def _payments(src: Source, lookups: _Lookups, export: KnownExport, options: ImportOptions) -> pd.DataFrame:
    refs = src.text("payment_ref", required=True)
    currencies = _currencies(src, lookups)
    attempted = src.when("attempted_at", required=True)
    left_out: dict = {}
    channel_ids, unknown_channel = _channel_ids(src, lookups, options, left_out)
    markets, skip = _markets(src, lookups, currencies, options, left_out, unknown_channel)
    amount = src.number("amount", required=True, default=None)
    fee, refunded = src.number("fee_amount"), src.number("refunded_amount")
    fee_currencies = _fee_currencies(src, currencies)
    status = src.choice("status", PAYMENT_STATUSES, STATUS_WORDS["payments"])
    if src.column("refunded_amount"):
        status = status.where(~((status == "succeeded") & (refunded > 0)), "refunded")
    method = src.text("method", default="card").str.lower()
    gateway = src.text("gateway", default="stripe").str.lower()
    order_refs = src.text("order_ref") if src.has("order_ref") else pd.Series(None, index=refs.index)
    out = pd.DataFrame({
        "payment_ref": refs, "channel_id": channel_ids, "market_code": markets, "attempted_at": attempted,
        "currency": currencies, "amount": amount.round(2), "status": status,
        "method": method, "gateway": gateway, "decline_reason": src.text("decline_reason"),
        "_order_ref": order_refs, "_line": src.lines,
    })[~skip]
    out.attrs["left_out"] = left_out
    out["attempt_date"] = out["attempted_at"].dt.date
    rate = _usd_per_unit(src, lookups, out["currency"], out["attempted_at"].dt.normalize(), skip[~skip])
    out["usd_per_unit"] = rate.round(8)
    out["amount_usd"] = (out["amount"] * rate).round(2)
    fee_usd = fee[~skip] * _usd_per_unit(src, lookups, fee_currencies[~skip], out["attempted_at"].dt.normalize(),
                                         skip[~skip], "fee_currency")
    out["fee_usd"] = fee_usd.round(2)
    out["fee_amount"] = (fee_usd / rate).round(2)
    out["refunded_usd"] = (refunded[~skip] * rate).round(2)
    out["order_id"] = _order_ids(lookups.session, out["channel_id"], out["_order_ref"])
    return out.drop(columns=["_order_ref"])


def _fee_currencies(src: Source, currencies: pd.Series) -> pd.Series:
    """The currency of each row's fee: Stripe takes its fee from the balance, after conversion, so Fee is in the
    Converted Currency (a row that settled nothing, a failed charge, has none); every other export and our
    template state the fee in the payment's currency."""
    if not src.column("fee_currency"):
        return currencies
    return src.text("fee_currency").str.upper().fillna(currencies)


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


def _shipments(src: Source, lookups: _Lookups, export: KnownExport, options: ImportOptions) -> pd.DataFrame:
    tracking = src.text("tracking_number", required=True)
    channel_ids, _ = _channel_ids(src, lookups)  # a shipment's order must be stored: its channel is known
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
    # Duty and border VAT we pay on a DDP parcel, by the rules in force on its ship date: stored with the shipment
    # so the profit ledger keeps it when a rule changes later.
    charges = booked_parcel_charges(lookups.session, out)
    out["duty_usd"], out["import_vat_usd"] = charges["duty_usd"], charges["import_vat_usd"]
    return out


def _tickets(src: Source, lookups: _Lookups, export: KnownExport, options: ImportOptions) -> pd.DataFrame:
    created = src.when("created_at", required=True)
    left_out: dict = {}
    markets, skip = _markets(src, lookups, None, options, left_out, pd.Series(False, index=created.index))
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
    out.attrs["left_out"] = left_out
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
    src = Source(parsed, recognition, options.defaults, extra)
    lookups = _Lookups(session)
    if recognition.entity == "orders":
        records, lines = _orders(src, lookups, export, options)
        return Canonical(recognition, records, lines)
    return Canonical(recognition, BUILDERS[recognition.entity](src, lookups, export, options))


# --- upsert -------------------------------------------------------------------------


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


def _upsert(session: Session, canonical: Canonical, batch_id: int) -> _Counts:
    entity = canonical.recognition.entity
    spec = SPECS[entity]
    counts = _Counts()
    frame = _without_repeats(canonical.records, spec, counts)
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


def _touched_days(spec: EntitySpec, matched: pd.DataFrame, known: pd.Series, changed: pd.Series) -> list[dt.date]:
    """Days of inserted rows, and the old and new days of updated ones."""
    if spec.day is None:
        return []
    days = _span(matched.loc[~known | changed, spec.day])
    return days + _span(matched.loc[changed, f"{spec.day}_db"]) if changed.any() else days


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
                *, dialect: Dialect | None = None, parsed: ParsedFile | None = None,
                on_wait: Callable[[], None] | None = None) -> ImportResult:
    """Parse, check and upsert a whole file in the caller's transaction; see the module docstring. `on_wait` is
    called when another import or undo is running and this one waits for it (`_take_turn`)."""
    authorize(session, actor, "staff")
    options = options or ImportOptions()
    parsed = parsed or parse(data, file_name, dialect)
    canonical = canonical_frame(session, parsed, options)  # a bad file is refused before it waits for its turn
    if canonical.records.empty:  # every row left out: nothing to write, so no batch to record or undo
        return ImportResult(None, canonical.recognition.kind, canonical.recognition.entity, 0, 0, 0, None, None,
                            **_reported(canonical))
    if _take_turn(session, on_wait, lambda seconds: UploadError(
            "Another import was still running after {seconds} seconds, so {file} was not imported. Import it "
            "again once that one has finished.", seconds=f"{seconds:g}", file=file_name)):
        canonical = canonical_frame(session, parsed, options)  # again: the orders and rates the other one wrote
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
    left_out = _reported(canonical)
    session.add(AuditEvent(at=batch.imported_at, username=actor, entity="import_batch", entity_id=str(batch.id),
                           action="import", detail=json.dumps({
                               "file": file_name, "kind": recognition.kind, "inserted": counts.inserted,
                               "updated": counts.updated, "skipped": counts.skipped,
                               "lines_inserted": counts.lines_inserted, "lines_updated": counts.lines_updated,
                               "unknown_sku_lines": lines.unknown, "customers_inserted": counts.customers_inserted,
                               "pending_orders": left_out["pending_orders"],
                               "unknown_market_rows": left_out["unknown_market_rows"],
                               "unknown_channel_rows": left_out["unknown_channel_rows"],
                               "sha256": batch.content_sha256})))
    session.flush()
    return ImportResult(batch.id, recognition.kind, recognition.entity, counts.inserted, counts.updated,
                        counts.skipped, first, last, counts.lines_inserted, counts.lines_updated, lines.unknown,
                        lines.unknown_skus, counts.customers_inserted, **left_out)


def _reported(canonical: Canonical) -> dict:
    """The rows the records leave out, as ImportResult reports them: pending orders, unknown markets and
    channels (how many, and a few of their values)."""
    left_out = canonical.records.attrs.get("left_out", {})
    markets, market_examples = left_out.get("unknown_markets", (0, ()))
    channels, channel_examples = left_out.get("unknown_channels", (0, ()))
    return {"pending_orders": int(canonical.records.attrs.get("pending_orders", 0)),
            "unknown_market_rows": markets, "unknown_markets": market_examples,
            "unknown_channel_rows": channels, "unknown_channels": channel_examples}


def _take_turn(session: Session, on_wait: Callable[[], None] | None, refused: Callable[[float], Exception]) -> bool:
    """Imports and undos take turns: the transaction holds the database's import lock until it ends, so a second
    one never inserts the same keys as a first still running (PostgreSQL: a unique-key violation) nor fails
    halfway on a database the first holds (SQLite: "database is locked"). True when it waited for another,
    which has committed since; after thresholds.IMPORT_WAIT_SECONDS the `refused` error."""
    try:
        return hold_write_lock(session, IMPORT_LOCK, wait_seconds=thresholds.IMPORT_WAIT_SECONDS, on_wait=on_wait)
    except LockWaitTimeout as exc:
        raise refused(exc.seconds) from None


# --- undo and history ---------------------------------------------------------------


class UndoRefused(ValueError):
    def __init__(self, template: str, **values):
        self.template, self.values = template, values
        super().__init__(template.format(**values))


def _entity_of_kind(kind: str) -> str:
    return EXPORTS_BY_KIND[kind].entity if kind in EXPORTS_BY_KIND else "orders"


def undo_import(session: Session, actor: str, batch_id: int,
                on_wait: Callable[[], None] | None = None) -> UndoResult:
    authorize(session, actor, "staff")
    _take_turn(session, on_wait, lambda seconds: UndoRefused(
        "Another import or undo was still running after {seconds} seconds, so import {batch} was not undone. Undo "
        "it again once that one has finished.", seconds=f"{seconds:g}", batch=batch_id))
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


def import_history(session: Session, limit: int = 200) -> pd.DataFrame:
    rows = session.execute(
        select(ImportBatch.id, ImportBatch.imported_at, ImportBatch.username, ImportBatch.file_name,
               ImportBatch.kind, ImportBatch.rows_inserted, ImportBatch.rows_updated, ImportBatch.rows_skipped,
               ImportBatch.status, ImportBatch.content_sha256)
        .order_by(ImportBatch.id.desc()).limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=["id", "imported_at", "username", "file_name", "kind", "inserted", "updated",
                                       "skipped", "status", "sha256"])
