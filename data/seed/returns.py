"""Returns and refunds: which delivered lines come back and why, and from them, lost parcels and goodwill
gestures, each order's refunded amount and final status.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.seed.arrays import as_days, pick_per_row, to_day_numbers
from data.seed.catalogue import Catalogue
from data.seed.context import Context
from data.seed.orders import Orders
from data.seed.pricing import Lines
from data.seed.reference import SHOPIFY
from data.seed.shipments import Shipments, shipment_of_order

ELECTRONIC_CATEGORIES = ("phone_accessories", "led_lighting", "beauty_tools", "car_accessories")
RETURN_REASONS = ("damaged", "not_as_described", "wrong_size", "changed_mind", "defective", "late_delivery")
RETURN_RATE_SCALE = 0.65
RETURN_CHANNEL_FACTOR = (1.25, 0.9, 1.1, 0.8)


@dataclass
class Returns:
    order: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    reason: np.ndarray
    requested_day: np.ndarray
    refund_usd: np.ndarray
    return_shipping_usd: np.ndarray
    restockable: np.ndarray

    @property
    def n(self) -> int:
        return len(self.order)


def _return_reason_weights(ctx: Context, catalogue: Catalogue, product: np.ndarray, late: np.ndarray) -> np.ndarray:
    codes = ctx.ref.categories["code"].to_numpy(dtype=object)[catalogue.category[product]]
    fragile = catalogue.frame["fragile"].to_numpy(bool)[product]
    weights = np.tile([0.12, 0.22, 0.0, 0.36, 0.15, 0.03], (len(product), 1))
    weights[:, RETURN_REASONS.index("damaged")] += 0.35 * fragile
    weights[:, RETURN_REASONS.index("wrong_size")] += 0.8 * (codes == "apparel_accessories")
    weights[:, RETURN_REASONS.index("defective")] += 0.2 * np.isin(codes, ELECTRONIC_CATEGORIES)
    weights[:, RETURN_REASONS.index("late_delivery")] += 0.6 * late
    return weights


def build_returns(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines, shipments: Shipments) -> Returns:
    rng = ctx.rng("returns")
    ship = shipment_of_order(orders.n, shipments)[lines.order]
    has_shipment = ship >= 0
    ship = np.where(has_shipment, ship, 0)
    delivered = has_shipment & (shipments.status[ship] == "delivered")
    late = shipments.late_delivery[ship] & delivered
    categories = ctx.ref.categories
    rate = (categories["return_rate"].to_numpy(float)[catalogue.category[lines.product]] * RETURN_RATE_SCALE
            * np.asarray(RETURN_CHANNEL_FACTOR)[orders.channel[lines.order]]
            * np.array([p.return_factor for p in ctx.profiles])[orders.market[lines.order]]
            * (1 + 0.4 * late) * np.where(catalogue.frame["fragile"].to_numpy(bool)[lines.product], 1.3, 1.0))
    picked = np.flatnonzero(delivered & (rng.random(lines.n) < rate))

    product = lines.product[picked]
    reason = np.asarray(RETURN_REASONS, dtype=object)[pick_per_row(rng, _return_reason_weights(ctx, catalogue, product,
                                                                                           late[picked]))]
    k = len(picked)
    delay = np.select([np.isin(reason, ("damaged", "defective")), reason == "late_delivery"],
                      [rng.integers(1, 8, k), rng.integers(0, 4, k)], default=rng.integers(2, 22, k))
    delivered_day = to_day_numbers(shipments.delivered_at[ship[picked]].astype("datetime64[D]"))
    requested_day = delivered_day + delay
    quantity = np.where((lines.quantity[picked] > 1) & (rng.random(k) < 0.3), 1, lines.quantity[picked])
    unit_paid = lines.paid_usd[picked] / lines.quantity[picked]
    refund = unit_paid * quantity
    refund = np.where(rng.random(k) < 0.04, 0.0, refund)  # rejected: used, or returned outside the window
    restocking_fee = (reason == "changed_mind") & (orders.channel[lines.order[picked]] == SHOPIFY)
    refund = np.round(np.where(restocking_fee, refund * 0.85, refund), 2)
    returnless = ((unit_paid < 12) | (reason == "damaged")) & (rng.random(k) < 0.6)
    domestic_label = np.isin(shipments.route[ship[picked]], ("fba", "3pl"))
    label_cost = np.where(domestic_label, rng.uniform(4, 9, k), rng.uniform(8, 16, k))
    resaleable = np.select([np.isin(reason, ("changed_mind", "wrong_size", "late_delivery")),
                            reason == "not_as_described"],
                           [rng.random(k) < 0.85, rng.random(k) < 0.5], default=False)
    keep = requested_day <= ctx.cal.end_day
    return Returns(
        order=lines.order[picked][keep], product=product[keep], quantity=quantity[keep], reason=reason[keep],
        requested_day=requested_day[keep], refund_usd=refund[keep],
        return_shipping_usd=np.round(np.where(returnless, 0.0, label_cost), 2)[keep],
        restockable=(resaleable & ~returnless)[keep],
    )


def settle_refunds(ctx: Context, orders: Orders, shipments: Shipments, returns: Returns) -> None:
    """Order refunds and final status from returns, lost parcels and goodwill gestures."""
    rng = ctx.rng("refunds")
    ship = shipment_of_order(orders.n, shipments)
    has_shipment = ship >= 0
    ship = np.where(has_shipment, ship, 0)
    status = np.where(has_shipment, shipments.status[ship], "none")
    never_arrived = np.isin(status, ("lost", "returned_to_sender"))
    late = has_shipment & shipments.late_delivery[ship]
    goodwill = np.where(late & (rng.random(orders.n) < 0.1), 0.15 * orders.gmv_usd, 0.0)
    from_returns = np.bincount(returns.order, weights=returns.refund_usd, minlength=orders.n)
    refunded = np.minimum(orders.gmv_usd, np.round(from_returns + goodwill, 2))
    refunded = np.where(never_arrived | orders.cancelled, orders.gmv_usd, refunded)
    goods_paid = orders.gmv_usd - orders.shipping_usd
    orders.refunded_usd = refunded
    orders.status = np.select(
        [orders.cancelled, (refunded > 0) & (refunded >= goods_paid - 0.01), refunded > 0],
        ["cancelled", "refunded", "partially_refunded"], default="completed",
    ).astype(object)


def return_rows(returns: Returns) -> dict:
    return {
        "id": np.arange(1, returns.n + 1), "order_id": returns.order + 1, "product_id": returns.product + 1,
        "quantity": returns.quantity, "reason": returns.reason, "requested_on": as_days(returns.requested_day),
        "refund_usd": returns.refund_usd, "return_shipping_usd": returns.return_shipping_usd,
        "restockable": returns.restockable,
    }
