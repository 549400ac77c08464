"""Logistics summaries, by ship date: delivery outcomes per carrier and service, the transit-time
histogram, and units shipped per warehouse and SKU (by order day) for the stock cover figures."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.platform.models import DailyDelivery, DailyProductDemand, DailyTransit, Order, OrderLine, Shipment
from core.summaries.registry import register
from core.summaries.sql import count_if, in_range, rebuild, sum_if, transit_days


@register("daily_delivery", "shipments", "orders")
def refresh_daily_delivery(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    delivered = Shipment.status == "delivered"
    transit = transit_days(session)
    on_time = and_(delivered, transit <= Shipment.promised_days)
    keys = (Shipment.ship_date, Order.market_code, Order.channel_id, Shipment.carrier, Shipment.service)
    stmt = (
        select(
            Shipment.ship_date.label("day"), *keys[1:],
            func.count().label("shipments"),
            count_if(delivered).label("delivered"),
            count_if(on_time).label("delivered_on_time"),
            count_if(Shipment.status == "lost").label("lost"),
            count_if(Shipment.status == "returned_to_sender").label("returned_to_sender"),
            count_if(Shipment.late_dispatch).label("late_dispatch"),
            count_if(Shipment.tracking_valid).label("valid_tracking"),
            sum_if(delivered, transit).label("transit_days_sum"),
            func.sum(Shipment.cost_usd).label("cost_usd"),
        )
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.ship_date.is_not(None), in_range(Shipment.ship_date, start, end))
        .group_by(*keys)
    )
    return rebuild(session, DailyDelivery, DailyDelivery.day, start, end, stmt)


@register("daily_product_demand", "orders", "order_lines", "shipments")
def refresh_daily_product_demand(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    stmt = (
        select(Order.order_date.label("day"), Shipment.warehouse_id, OrderLine.product_id,
               func.sum(OrderLine.quantity).label("units"))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Shipment, Shipment.order_id == Order.id)
        .where(in_range(Order.order_date, start, end), Order.status != "cancelled")
        .group_by(Order.order_date, Shipment.warehouse_id, OrderLine.product_id)
    )
    return rebuild(session, DailyProductDemand, DailyProductDemand.day, start, end, stmt)


@register("daily_transit", "shipments", "orders")
def refresh_daily_transit(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    transit = transit_days(session)
    stmt = (
        select(
            Shipment.ship_date.label("day"), Order.market_code, Order.channel_id, Shipment.carrier,
            transit.label("transit_days"), func.count().label("delivered"),
            count_if(transit <= Shipment.promised_days).label("on_time"),
        )
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.status == "delivered", Shipment.ship_date.is_not(None),
               in_range(Shipment.ship_date, start, end))
        .group_by(Shipment.ship_date, Order.market_code, Order.channel_id, Shipment.carrier, transit)
    )
    return rebuild(session, DailyTransit, DailyTransit.day, start, end, stmt)
