"""Tiny hand-made datasets, small enough to work every figure out on paper."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from core.platform.models import (
    Category,
    Channel,
    FxRate,
    Market,
    Order,
    OrderLine,
    Payment,
    Product,
    Shipment,
    Supplier,
    Ticket,
    Warehouse,
)


def reference_rows(session: Session) -> None:
    session.add_all([
        Market(code="US", name="United States", region="NA", currency="USD", vat_rate=0.0, language="en",
               low_value_rule="no de minimis"),
        Market(code="DE", name="Germany", region="EU", currency="EUR", vat_rate=0.19, language="de",
               low_value_rule="IOSS <= EUR 150"),
        Channel(id=1, code="amazon", name="Amazon", referral_fee_rate=0.15, payout_interval_days=14),
        Channel(id=2, code="shopify", name="Shopify", referral_fee_rate=0.0, payout_interval_days=2),
        Category(id=1, code="phone", name="Phone accessories", hs_code="8517", duty_rate_eu=0.0,
                 duty_rate_us=0.25, price_elasticity=-1.5),
        Supplier(id=1, name="Shenzhen Co", city="Shenzhen", quoted_lead_time_days=30),
    ])
    session.flush()  # parents first: these models declare no relationships for the unit of work to order by
    session.add_all([
        Product(id=1, sku="SKU-1", name="Cable", category_id=1, supplier_id=1, unit_cost_cny=Decimal("10"),
                list_price_usd=Decimal("20"), weight_kg=0.1, length_cm=10, width_cm=5, height_cm=2),
        Warehouse(id=1, code="CN-SZ", name="Shenzhen", kind="cn", country="CN"),
    ])
    session.flush()


def fx(session: Session, day: dt.date, currency: str, per_usd: float) -> None:
    session.add(FxRate(day=day, currency=currency, per_usd=per_usd, source="test"))


def order(
    session: Session, order_id: int, day: dt.date, market: str, channel_id: int, gmv: str, revenue: str,
    cogs: str, *, status: str = "completed", refunded: str = "0", first: bool = False,
) -> Order:
    placed = dt.datetime.combine(day, dt.time(10, 0))
    row = Order(
        id=order_id, channel_id=channel_id, order_ref=f"O-{order_id}", market_code=market, ordered_at=placed,
        order_date=day, currency="USD", items_total=Decimal(gmv), order_total=Decimal(gmv), usd_per_unit=1.0,
        gmv_usd=Decimal(gmv), status=status, refunded_usd=Decimal(refunded), is_first_order=first,
    )
    session.add(row)
    session.flush()
    session.add(OrderLine(order_id=order_id, product_id=1, quantity=1, unit_price=Decimal(gmv),
                          line_total=Decimal(gmv), revenue_usd=Decimal(revenue), cogs_usd=Decimal(cogs)))
    return row


def shipment(session: Session, order_id: int, shipped: dt.date, delivered: dt.date | None, promised_days: int,
             cost: str, *, carrier: str = "DHL", late_dispatch: bool = False, status: str = "delivered") -> None:
    session.add(Shipment(
        order_id=order_id, warehouse_id=1, carrier=carrier, service="dhl_express", chargeable_weight_kg=0.5,
        cost_usd=Decimal(cost), promised_days=promised_days,
        shipped_at=dt.datetime.combine(shipped, dt.time(9)),
        delivered_at=dt.datetime.combine(delivered, dt.time(15)) if delivered else None,
        ship_date=shipped, status=status, late_dispatch=late_dispatch,
    ))


def ticket(session: Session, ref: str, day: dt.date, market: str, csat: int | None, response_hours: float) -> None:
    created = dt.datetime.combine(day, dt.time(8))
    session.add(Ticket(
        ticket_ref=ref, market_code=market, channel="email", reason="where_is_my_order", language="en",
        created_at=created, created_date=day, first_response_at=created + dt.timedelta(hours=response_hours),
        csat=csat,
    ))


def card_payment(session: Session, ref: str, order_id: int, day: dt.date, *, status: str = "succeeded",
                 disputed: bool = False, fraud: bool = False) -> None:
    session.add(Payment(
        payment_ref=ref, order_id=order_id, market_code="US", channel_id=2,
        attempted_at=dt.datetime.combine(day, dt.time(10)), attempt_date=day, method="card", gateway="stripe",
        amount=Decimal("10"), currency="USD", usd_per_unit=1.0, amount_usd=Decimal("10"), status=status,
        disputed_on=day if disputed else None, fraud_reported=fraud,
    ))
