"""The customers of imported orders (step 4 of core.imports.importers.import_file).

Customers (Shopify's Email): customer_ref = SHA-256 of the trimmed, lower-cased address (the model keeps no
addresses). New ones are inserted with the market and day of their first order; first_order_on and
is_first_order follow each customer's earliest order, file and database together (a stored order that loses
the flag is updated). Orders without an address keep the customer they have.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.imports.sql import ORDER_KEY, SPECS, _chunks, _compare, _Counts, _insert, _span, _stored, _update
from core.platform.models import Order


def _customer_ref(email: str) -> str:
    """What the model keeps of a customer's e-mail address: the SHA-256 of it, trimmed and lower-cased."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


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
