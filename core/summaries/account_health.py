"""Order defects per order day (`daily_account_health`), the inputs of the risk page's order defect rate.

A defect is negative feedback (a ticket rated 1-2 of 5), a guarantee claim (a "where is my order" ticket on an
order whose shipment was lost or returned to sender) or a chargeback (a payment disputed with the card issuer);
an order with several defects counts once. Only live (not cancelled) orders count. core.risk reads the table
and owns the rate's definition and window.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from core.platform.models import DailyAccountHealth, Order, Payment, Shipment, Ticket
from core.summaries.registry import register
from core.summaries.sql import in_range, rebuild


@register("daily_account_health", "orders", "tickets", "shipments", "payments")
def refresh_daily_account_health(session: Session, start: dt.date | None = None,
                                 end: dt.date | None = None) -> int:
    """Rebuild `daily_account_health` (defects of live orders, by order day) for [start, end]."""
    negative = select(Ticket.order_id.label("order_id"), literal(1).label("nf"), literal(0).label("cl"),
                      literal(0).label("cb")).where(Ticket.order_id.is_not(None), Ticket.csat <= 2)
    claims = select(Ticket.order_id, literal(0), literal(1), literal(0)).join(
        Shipment, Shipment.order_id == Ticket.order_id).where(
        Ticket.reason == "where_is_my_order", Shipment.status.in_(("lost", "returned_to_sender")))
    chargebacks = select(Payment.order_id, literal(0), literal(0), literal(1)).where(
        Payment.order_id.is_not(None), Payment.disputed_on.is_not(None))
    flags = union_all(negative, claims, chargebacks).subquery()
    per_order = select(flags.c.order_id, func.max(flags.c.nf).label("nf"), func.max(flags.c.cl).label("cl"),
                       func.max(flags.c.cb).label("cb")).group_by(flags.c.order_id).subquery()
    stmt = (
        select(
            Order.order_date.label("day"), Order.market_code, Order.channel_id,
            func.sum(per_order.c.nf).label("negative_feedback"), func.sum(per_order.c.cl).label("a_to_z_claims"),
            func.sum(per_order.c.cb).label("chargebacks"), func.count().label("defective_orders"),
        )
        .join(per_order, per_order.c.order_id == Order.id)
        .where(Order.status != "cancelled", in_range(Order.order_date, start, end))
        .group_by(Order.order_date, Order.market_code, Order.channel_id)
    )
    return rebuild(session, DailyAccountHealth, DailyAccountHealth.day, start, end, stmt)
