"""An export's line items as order lines (step 3 of core.imports.importers.import_file), and the stored lines they
replace.

Line items (EXTRA_COLUMNS: Shopify, Amazon, UCI) become order lines of the catalogue product with the same
SKU; the same SKU twice in an order is one line (as the seed writes them):
  unit_price, line_total  the file's, local currency (Amazon's item-price is the line total)
  revenue_usd = line_total × (1 − order discount / order line totals) × net_of_tax × usd_per_unit,
                net_of_tax = 1 / (1 + market VAT) where prices include it, else 1
  cogs_usd    = quantity × unit_cost_cny / CNY per USD on the order day × (1 + landed share),
                the landed share (inbound freight and duty) as the product's own lines book it
                (`_landed_shares`), else DEFAULT_LANDED_SHARE
Line items whose SKU the catalogue does not know, or that have none, are left out and reported in the result
(`unknown_sku_lines`, a few `unknown_skus`). An export lists whole orders, so its lines replace the stored
lines of each of its orders: an order whose lines differ counts as updated, and the lines it replaced go into
its import row's before_json (`_lines_before`), from which undo puts them back (`_put_back_lines`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from core.imports.parsing import UploadError
from core.imports.source import Source
from core.imports.sql import (
    ORDER_KEY,
    _asof,
    _by_value,
    _chunks,
    _Counts,
    _fetchall,
    _from_json,
    _insert_frame,
    _json_value,
    _Lookups,
    _mark,
    _read_sql,
)
from core.platform.models import Order, OrderLine, Product
from core.platform.reference import TAX_EXCLUSIVE_MARKETS

# Inbound freight and duty on top of the factory price, for products the dashboard has booked no line of:
# the middle of the 8-15 % the seeded catalogue carries (data/seed/catalogue.py).
DEFAULT_LANDED_SHARE = 0.115
UNKNOWN_SKU_EXAMPLES = 5
LINE_FIELDS = ("product_id", "quantity", "unit_price", "line_total", "revenue_usd", "cogs_usd")


@dataclass(frozen=True)
class LineItems:
    """An export's line items as order lines of catalogue products, and how many it could not match."""
    frame: pd.DataFrame  # channel_id, order_ref and LINE_FIELDS
    unknown: int = 0
    unknown_skus: tuple[str, ...] = ()


# --- from the export ----------------------------------------------------------------


def _line_items(src: Source, lookups: _Lookups, rows: pd.DataFrame, orders: pd.DataFrame) -> LineItems | None:
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


def _cogs(src: Source, lookups: _Lookups, lines: pd.DataFrame) -> pd.Series:
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


# --- against the stored lines -------------------------------------------------------


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


def _put_back_lines(session: Session, order_id: int, lines: list[list]) -> None:
    table = OrderLine.__table__
    session.execute(delete(table).where(table.c.order_id == order_id))
    if lines:
        session.execute(insert(table), [_from_json(table, {"order_id": order_id, **dict(zip(LINE_FIELDS, line))})
                                        for line in lines])
