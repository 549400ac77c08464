"""The risk page's data: the risk register (generated with the other tables), and the policy-change register
and compliance checklist (a page seeder, run after the orders).

The page seeder reads data/reference/policy_changes.csv and compliance.csv. A policy change's `skus` column
links SKUs: `top:N` = the N SKUs with the most units sold into its markets over the last 90 days of the seed,
`category:a;b` = every active SKU of those categories, empty = none.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.platform.models import (
    Category,
    ComplianceItem,
    Order,
    OrderLine,
    PolicyChange,
    PolicyChangeMarket,
    PolicyChangeSku,
    Product,
)
from data.seed.context import SEED_USER, Context
from data.seed.reference import read_reference
from data.seed.registry import ORDERS, seeder


def build_risks(ctx: Context) -> dict:
    rng = ctx.rng("risks")
    risks = ctx.ref.risks
    n = len(risks)
    end = np.datetime64(ctx.cal.end)
    updated = end.astype("datetime64[s]") + np.timedelta64(9, "h") - \
        (rng.integers(0, 60, n) * 86_400).astype("timedelta64[s]")
    return {
        "id": np.arange(1, n + 1), **{c: risks[c].to_numpy() for c in ("title", "category", "likelihood", "impact",
                                                                         "owner", "mitigation", "status")},
        "review_on": end + risks["review_in_days"].to_numpy(int).astype("timedelta64[D]"),
        "updated_by": np.full(n, SEED_USER, dtype=object), "updated_at": updated,
    }


def _linked_products(session: Session, rule: str, markets: list[str], end: dt.date) -> list[int]:
    if not rule:
        return []
    kind, _, argument = rule.partition(":")
    if kind == "top":
        since = end - dt.timedelta(days=89)
        units = func.sum(OrderLine.quantity)
        return list(session.scalars(
            select(OrderLine.product_id).join(Order, Order.id == OrderLine.order_id)
            .where(Order.market_code.in_(markets), Order.order_date >= since, Order.order_date <= end,
                   Order.status != "cancelled")
            .group_by(OrderLine.product_id).order_by(units.desc(), OrderLine.product_id).limit(int(argument))))
    if kind == "category":
        return list(session.scalars(
            select(Product.id).join(Category, Category.id == Product.category_id)
            .where(Category.code.in_(argument.split(";")), Product.status == "active").order_by(Product.id)))
    raise ValueError(f"Unknown SKU rule '{rule}' in policy_changes.csv")


def seed_policy_changes(session: Session, end: dt.date) -> dict[str, int]:
    changes = read_reference("policy_changes.csv")
    links_m, links_s = [], []
    for position, row in enumerate(changes.itertuples(index=False), start=1):
        session.execute(insert(PolicyChange), [{
            "id": position, "code": row.code, "effective_on": dt.date.fromisoformat(row.effective_on),
            "title": row.title, "kind": row.kind, "authority": row.authority, "summary": row.summary,
            "service_code": row.service_code if isinstance(row.service_code, str) else None,
        }])
        markets = row.markets.split(";")
        links_m += [{"policy_change_id": position, "market_code": m} for m in markets]
        skus = row.skus if isinstance(row.skus, str) else ""
        links_s += [{"policy_change_id": position, "product_id": p}
                    for p in _linked_products(session, skus, markets, end)]
    session.execute(insert(PolicyChangeMarket), links_m)
    if links_s:
        session.execute(insert(PolicyChangeSku), links_s)
    return {"policy_changes": len(changes), "policy_change_markets": len(links_m),
            "policy_change_skus": len(links_s)}


def seed_compliance(session: Session, end: dt.date) -> dict[str, int]:
    items = read_reference("compliance.csv")
    stamp = dt.datetime.combine(end, dt.time(9))
    records = [{
        "market_code": row.market_code, "area": row.area, "requirement": row.requirement, "status": row.status,
        "owner": row.owner, "note": "", "updated_by": SEED_USER, "updated_at": stamp,
        "due_on": None if pd.isna(row.due_in_days) else end + dt.timedelta(days=int(row.due_in_days)),
    } for row in items.itertuples(index=False)]
    session.execute(insert(ComplianceItem), records)
    return {"compliance_items": len(records)}


@seeder(after=ORDERS)
def seed_risk(session: Session, ctx: Context) -> dict[str, int]:
    """Policy changes and the compliance checklist, dated from the seed's end (SKU links read the orders)."""
    return seed_policy_changes(session, ctx.cal.end) | seed_compliance(session, ctx.cal.end)
