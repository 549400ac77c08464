"""Seed step for the market and product-selection pages: our own listings' ratings and review counts.

Every SKU that has been on sale gets a listing in each market where it sold. Ratings lean lower for
categories and fragile items that come back more often, so the ratings agree with the return data.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.platform.models import Category, Order, OrderLine, Product, ProductListing


def seed_product_listings(session: Session, ctx) -> dict[str, int]:
    rng = np.random.default_rng([ctx.seed, 3003])
    return_rate = dict(zip(ctx.ref.categories["code"], ctx.ref.categories["return_rate"].astype(float)))
    products = session.execute(
        select(Product.id, Product.fragile, Category.code, Product.launch_date)
        .join(Category, Category.id == Product.category_id)
        .where(Product.status != "candidate")
        .order_by(Product.id)
    ).all()
    sold = set(session.execute(
        select(OrderLine.product_id, Order.market_code).join(Order, Order.id == OrderLine.order_id).distinct()
    ).all())
    quality = {pid: rng.normal(0, 0.25) for pid, *_ in products}
    rows = []
    for pid, fragile, code, launch in products:
        for market in ctx.market_codes:
            if (pid, market) not in sold:
                continue
            age_days = max(30, (ctx.cal.end - launch).days) if launch else 365
            rating = 4.6 - 4.0 * return_rate[code] - (0.2 if fragile else 0.0) + quality[pid] + rng.normal(0, 0.1)
            reviews = int(rng.lognormal(np.log(age_days / 6), 0.8))
            rows.append({"product_id": pid, "market_code": market, "rating": round(float(np.clip(rating, 3.0, 5.0)), 1),
                         "review_count": reviews, "captured_on": ctx.cal.end})
    if rows:
        session.execute(insert(ProductListing), rows)
    return {"product_listings": len(rows)}
