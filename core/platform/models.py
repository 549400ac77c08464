"""The domain model: every table the pages read, in one place.

Money is stored twice where pages aggregate it: in the transaction currency
(what the customer saw) and in USD at the order-date rate (what the summary
tables add up). Conversion to EUR or CNY for display happens at query time
against `fx_rates`, so one summary serves every reporting currency.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("viewer", "staff", "manager", "admin")


class Base(DeclarativeBase):
    pass


Money = Numeric(14, 2)


# --- reference data ---------------------------------------------------------


class Market(Base):
    __tablename__ = "markets"
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    region: Mapped[str] = mapped_column(String(20))  # EU, UK, NA, LATAM, APAC, MENA
    currency: Mapped[str] = mapped_column(String(3))
    vat_rate: Mapped[float] = mapped_column(Float)  # standard VAT/GST/sales-tax rate, 0.19 = 19 %
    language: Mapped[str] = mapped_column(String(5))
    low_value_rule: Mapped[str] = mapped_column(String(200))  # human summary; rules live in import_rules


class ImportRule(Base):
    """Duty and import VAT/GST rule for a market, valid over a date range (end exclusive)."""

    __tablename__ = "import_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"), index=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    max_consignment_value: Mapped[float | None] = mapped_column(Float)  # in threshold_currency; None = any
    threshold_currency: Mapped[str] = mapped_column(String(3))
    duty_basis: Mapped[str] = mapped_column(String(20))  # none, ad_valorem_cif, ad_valorem_fob, flat_per_line
    duty_rate: Mapped[float] = mapped_column(Float, default=0.0)
    flat_duty_per_line: Mapped[float] = mapped_column(Float, default=0.0)  # in threshold_currency
    vat_rate: Mapped[float] = mapped_column(Float, default=0.0)
    vat_basis: Mapped[str] = mapped_column(String(20))  # cif_plus_duty, goods_value, none
    vat_collection: Mapped[str] = mapped_column(String(20))  # checkout, border
    note: Mapped[str] = mapped_column(String(300), default="")


class Channel(Base):
    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # amazon, ebay, tiktok, shopify
    name: Mapped[str] = mapped_column(String(60))
    referral_fee_rate: Mapped[float] = mapped_column(Float)
    payout_interval_days: Mapped[int] = mapped_column(Integer)


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    hs_code: Mapped[str] = mapped_column(String(10))
    duty_rate_eu: Mapped[float] = mapped_column(Float)
    duty_rate_us: Mapped[float] = mapped_column(Float)
    price_elasticity: Mapped[float] = mapped_column(Float)  # seeded truth; pages estimate their own


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    city: Mapped[str] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(2), default="CN")
    quoted_lead_time_days: Mapped[int] = mapped_column(Integer)


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active, candidate, discontinued
    unit_cost_cny: Mapped[Decimal] = mapped_column(Money)
    list_price_usd: Mapped[Decimal] = mapped_column(Money)
    weight_kg: Mapped[float] = mapped_column(Float)
    length_cm: Mapped[float] = mapped_column(Float)
    width_cm: Mapped[float] = mapped_column(Float)
    height_cm: Mapped[float] = mapped_column(Float)
    fragile: Mapped[bool] = mapped_column(Boolean, default=False)
    launch_date: Mapped[dt.date | None] = mapped_column(Date)


class Warehouse(Base):
    __tablename__ = "warehouses"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(12))  # cn, overseas_3pl, fba
    country: Mapped[str] = mapped_column(String(2))


class InventorySnapshot(Base):
    __tablename__ = "inventory_snapshots"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    on_hand: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (
        UniqueConstraint("day", "warehouse_id", "product_id"),
        Index("ix_inventory_product_day", "product_id", "day"),
        # The ledger's storage line finds each count's next one (core.summaries.profit): 9.5 s -> 2.6 s.
        Index("ix_inventory_warehouse_product_day", "warehouse_id", "product_id", "day"),
    )


class InboundShipment(Base):
    """A purchase order moving from a supplier to one of our warehouses."""

    __tablename__ = "inbound_shipments"
    id: Mapped[int] = mapped_column(primary_key=True)
    po_ref: Mapped[str] = mapped_column(String(30), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    mode: Mapped[str] = mapped_column(String(12))  # express, air, sea
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cost_cny: Mapped[Decimal] = mapped_column(Money)
    freight_cost_usd: Mapped[Decimal] = mapped_column(Money)
    duty_usd: Mapped[Decimal] = mapped_column(Money, default=0)  # import duty paid when the batch entered
    ordered_on: Mapped[dt.date] = mapped_column(Date)
    promised_on: Mapped[dt.date] = mapped_column(Date)
    shipped_on: Mapped[dt.date | None] = mapped_column(Date)
    received_on: Mapped[dt.date | None] = mapped_column(Date)
    defect_quantity: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12))  # ordered, in_transit, received


# --- transactions -------------------------------------------------------------


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_ref: Mapped[str] = mapped_column(String(64), unique=True)  # hashed email or marketplace buyer id
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"), index=True)
    first_order_on: Mapped[dt.date | None] = mapped_column(Date)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    order_ref: Mapped[str] = mapped_column(String(40))
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    ordered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    order_date: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    items_total: Mapped[Decimal] = mapped_column(Money)  # local currency, incl. VAT where shown incl.
    discount_total: Mapped[Decimal] = mapped_column(Money, default=0)
    shipping_charged: Mapped[Decimal] = mapped_column(Money, default=0)
    tax_total: Mapped[Decimal] = mapped_column(Money, default=0)
    order_total: Mapped[Decimal] = mapped_column(Money)
    usd_per_unit: Mapped[float] = mapped_column(Float)  # 1 unit of `currency` in USD on order_date
    gmv_usd: Mapped[Decimal] = mapped_column(Money)  # order_total in USD
    status: Mapped[str] = mapped_column(String(20))  # completed, cancelled, refunded, partially_refunded
    refunded_usd: Mapped[Decimal] = mapped_column(Money, default=0)
    is_first_order: Mapped[bool] = mapped_column(Boolean, default=False)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    __table_args__ = (
        UniqueConstraint("channel_id", "order_ref"),
        Index("ix_orders_date_market_channel", "order_date", "market_code", "channel_id"),
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)  # local currency
    line_total: Mapped[Decimal] = mapped_column(Money)
    revenue_usd: Mapped[Decimal] = mapped_column(Money)  # net of VAT and discount
    cogs_usd: Mapped[Decimal] = mapped_column(Money)  # landed product cost
    # Looking a line up by (order, product) for returns: without it SQLite picks the product_id index.
    __table_args__ = (Index("ix_order_lines_order_product", "order_id", "product_id"),)


class Shipment(Base):
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    carrier: Mapped[str] = mapped_column(String(30))
    service: Mapped[str] = mapped_column(String(30))  # code in shipping_services
    tracking_number: Mapped[str | None] = mapped_column(String(40))
    tracking_valid: Mapped[bool] = mapped_column(Boolean, default=True)
    chargeable_weight_kg: Mapped[float] = mapped_column(Float)
    cost_usd: Mapped[Decimal] = mapped_column(Money)
    promised_days: Mapped[int] = mapped_column(Integer)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ship_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # in_transit, delivered, lost, returned_to_sender
    late_dispatch: Mapped[bool] = mapped_column(Boolean, default=False)
    # Duty and import VAT we paid on a DDP parcel, from core.landed_cost on the ship date when it was booked,
    # so a later rule change does not rewrite history (0 when the buyer paid or nothing was due).
    duty_usd: Mapped[Decimal] = mapped_column(Money, default=0)
    import_vat_usd: Mapped[Decimal] = mapped_column(Money, default=0)
    __table_args__ = (Index("ix_shipments_date_carrier", "ship_date", "carrier"),)


class ShippingService(Base):
    __tablename__ = "shipping_services"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    carrier: Mapped[str] = mapped_column(String(30))
    mode: Mapped[str] = mapped_column(String(20))  # express, postal, air_freight, sea_lcl, last_mile
    volumetric_divisor: Mapped[float | None] = mapped_column(Float)  # cm3 per kg; None = actual weight
    weight_increment_kg: Mapped[float] = mapped_column(Float)
    ddp_surcharge_usd: Mapped[float] = mapped_column(Float, default=0.0)
    destination_kind: Mapped[str] = mapped_column(String(20))  # customer, overseas_warehouse, fba


class CarrierRate(Base):
    """Rate card: a price for a weight break on a service into a zone."""

    __tablename__ = "carrier_rates"
    id: Mapped[int] = mapped_column(primary_key=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("shipping_services.code"), index=True)
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"))
    zone: Mapped[str] = mapped_column(String(10))
    weight_from_kg: Mapped[float] = mapped_column(Float)
    weight_to_kg: Mapped[float] = mapped_column(Float)
    base_usd: Mapped[float] = mapped_column(Float)
    per_kg_usd: Mapped[float] = mapped_column(Float)
    transit_days_min: Mapped[int] = mapped_column(Integer)
    transit_days_max: Mapped[int] = mapped_column(Integer)


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_ref: Mapped[str] = mapped_column(String(40), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    attempted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    attempt_date: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(20))  # card, paypal, klarna, konbini, cod, wallet, marketplace
    gateway: Mapped[str] = mapped_column(String(20))  # stripe, adyen, paypal, amazon, ebay, tiktok
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    fee_amount: Mapped[Decimal] = mapped_column(Money, default=0)
    usd_per_unit: Mapped[float] = mapped_column(Float)
    amount_usd: Mapped[Decimal] = mapped_column(Money)
    fee_usd: Mapped[Decimal] = mapped_column(Money, default=0)
    status: Mapped[str] = mapped_column(String(20))  # succeeded, declined, refunded, disputed
    decline_reason: Mapped[str | None] = mapped_column(String(40))
    card_country: Mapped[str | None] = mapped_column(String(2))
    ip_country: Mapped[str | None] = mapped_column(String(2))
    card_fingerprint: Mapped[str | None] = mapped_column(String(32), index=True)
    ip_hash: Mapped[str | None] = mapped_column(String(32))
    settled_on: Mapped[dt.date | None] = mapped_column(Date)
    settled_usd_per_unit: Mapped[float | None] = mapped_column(Float)
    disputed_on: Mapped[dt.date | None] = mapped_column(Date)
    dispute_reason: Mapped[str | None] = mapped_column(String(40))
    dispute_outcome: Mapped[str | None] = mapped_column(String(10))  # won, lost, pending; NULL without dispute
    dispute_fee_usd: Mapped[Decimal] = mapped_column(Money, default=0)  # the scheme's fee, won or lost
    fraud_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    refunded_usd: Mapped[Decimal] = mapped_column(Money, default=0)
    __table_args__ = (Index("ix_payments_date_market", "attempt_date", "market_code", "channel_id"),)


class FxRate(Base):
    """Units of `currency` per 1 USD on `day` (every calendar day, carried forward over weekends)."""

    __tablename__ = "fx_rates"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    per_usd: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(10))  # ecb, simulated


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_ref: Mapped[str] = mapped_column(String(30), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"))
    channel: Mapped[str] = mapped_column(String(20))  # email, chat, marketplace
    reason: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_date: Mapped[dt.date] = mapped_column(Date)
    first_response_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    csat: Mapped[int | None] = mapped_column(Integer)  # 1-5
    __table_args__ = (Index("ix_tickets_date_market", "created_date", "market_code"),)


class Return(Base):
    __tablename__ = "returns"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(30))
    requested_on: Mapped[dt.date] = mapped_column(Date)
    refund_usd: Mapped[Decimal] = mapped_column(Money)
    return_shipping_usd: Mapped[Decimal] = mapped_column(Money)
    restockable: Mapped[bool] = mapped_column(Boolean)


# --- market intelligence ------------------------------------------------------


class CompetitorListing(Base):
    __tablename__ = "competitor_listings"
    id: Mapped[int] = mapped_column(primary_key=True)
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    competitor: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(160))
    price_local: Mapped[Decimal] = mapped_column(Money)
    price_usd: Mapped[Decimal] = mapped_column(Money)
    rating: Mapped[float] = mapped_column(Float)
    review_count: Mapped[int] = mapped_column(Integer)
    est_monthly_sales: Mapped[int] = mapped_column(Integer)
    captured_on: Mapped[dt.date] = mapped_column(Date)
    __table_args__ = (Index("ix_competitors_market_category", "market_code", "category_id"),)


class SearchInterest(Base):
    __tablename__ = "search_interest"
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # first day of the month
    interest_index: Mapped[int] = mapped_column(Integer)  # 0-100


class MarketNote(Base):
    """SWOT and PEST notes per market, kept with who last changed them."""

    __tablename__ = "market_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"))
    framework: Mapped[str] = mapped_column(String(4))  # SWOT, PEST
    box: Mapped[str] = mapped_column(String(20))  # strengths, weaknesses, ..., political, economic, ...
    body: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("market_code", "framework", "box"),)


# --- planning, risk, audit ----------------------------------------------------


class Target(Base):
    """A SMART target: a metric, for a market (or all), for a month."""

    __tablename__ = "targets"
    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(30))  # gmv_usd, orders, on_time_rate
    market_code: Mapped[str | None] = mapped_column(ForeignKey("markets.code"))
    month: Mapped[dt.date] = mapped_column(Date)
    target_value: Mapped[float] = mapped_column(Float)
    owner: Mapped[str] = mapped_column(String(60))
    __table_args__ = (UniqueConstraint("metric", "market_code", "month"),)


class Risk(Base):
    __tablename__ = "risks"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(160))
    category: Mapped[str] = mapped_column(String(30))  # market, operational, financial, legal_compliance, supply_chain
    likelihood: Mapped[int] = mapped_column(Integer)  # 1-5
    impact: Mapped[int] = mapped_column(Integer)  # 1-5
    owner: Mapped[str] = mapped_column(String(60))
    mitigation: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="open")  # open, mitigating, closed
    review_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AuditEvent(Base):
    """Every write a user makes: risks, notes, users, imports, scenarios."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")  # JSON


class Scenario(Base):
    __tablename__ = "scenarios"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    author: Mapped[str] = mapped_column(String(60), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    inputs_json: Mapped[str] = mapped_column(Text)
    results_json: Mapped[str] = mapped_column(Text)


class ImportBatch(Base):
    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime)
    file_name: Mapped[str] = mapped_column(String(255))
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="applied")  # applied, undone


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(String(100))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(5), default="en")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Remembered-login cookies issued before this moment are refused (set by Log out and resets).
    logins_revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class SignInAttempt(Base):
    """Every sign-in that reached the password check: the sign-in audit (when, who, from where, outcome)
    and the memory of the sign-in throttle (core.platform.login_throttle), so a restart does not reset it.

    `username` is what was typed (normalised), known or not. A row is written as a failure before the
    password is checked and turned into a success after, so parallel guesses count each other.
    """

    __tablename__ = "sign_in_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    username: Mapped[str] = mapped_column(String(60))
    client: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by an admin's unlock: the failure stays in the audit but no longer counts towards a delay or lock.
    cleared_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (
        Index("ix_sign_in_attempts_username_at", "username", "at"),
        Index("ix_sign_in_attempts_client_at", "client", "at"),
        Index("ix_sign_in_attempts_at", "at"),
    )


# --- summary tables -------------------------------------------------------------
# Kept current by the seed and by every import (core.summaries.refresh_*), so
# pages never GROUP BY over millions of raw rows on a filter change.


class DailySales(Base):
    __tablename__ = "daily_sales"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    new_customers: Mapped[int] = mapped_column(Integer)
    gmv_usd: Mapped[float] = mapped_column(Float)  # what customers paid, incl. tax and shipping
    net_revenue_usd: Mapped[float] = mapped_column(Float)  # lines net of VAT and discount
    cogs_usd: Mapped[float] = mapped_column(Float)
    shipping_cost_usd: Mapped[float] = mapped_column(Float)
    refunds_usd: Mapped[float] = mapped_column(Float)
    refunded_orders: Mapped[int] = mapped_column(Integer)
    cancelled_orders: Mapped[int] = mapped_column(Integer)


class DailyDelivery(Base):
    __tablename__ = "daily_delivery"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # ship date
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(30), primary_key=True)
    service: Mapped[str] = mapped_column(String(30), primary_key=True)
    shipments: Mapped[int] = mapped_column(Integer)
    delivered: Mapped[int] = mapped_column(Integer)
    delivered_on_time: Mapped[int] = mapped_column(Integer)
    lost: Mapped[int] = mapped_column(Integer)
    returned_to_sender: Mapped[int] = mapped_column(Integer)
    late_dispatch: Mapped[int] = mapped_column(Integer)
    valid_tracking: Mapped[int] = mapped_column(Integer)
    transit_days_sum: Mapped[float] = mapped_column(Float)
    cost_usd: Mapped[float] = mapped_column(Float)


class DailyTickets(Base):
    __tablename__ = "daily_tickets"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(30), primary_key=True)
    tickets: Mapped[int] = mapped_column(Integer)
    csat_sum: Mapped[int] = mapped_column(Integer)
    csat_count: Mapped[int] = mapped_column(Integer)
    first_response_hours_sum: Mapped[float] = mapped_column(Float)
    responded: Mapped[int] = mapped_column(Integer)


class DailyPayments(Base):
    __tablename__ = "daily_payments"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    succeeded: Mapped[int] = mapped_column(Integer)
    declined: Mapped[int] = mapped_column(Integer)
    disputed: Mapped[int] = mapped_column(Integer)
    fraud_reported: Mapped[int] = mapped_column(Integer)
    amount_usd: Mapped[float] = mapped_column(Float)
    fee_usd: Mapped[float] = mapped_column(Float)
    refunded_usd: Mapped[float] = mapped_column(Float)


# --- market research and product selection (issue 3) --------------------------


class ProductListing(Base):
    """Our own listing of a product in a market, as the marketplace shows it: rating and review depth."""

    __tablename__ = "product_listings"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"), primary_key=True)
    rating: Mapped[float] = mapped_column(Float)  # 1-5 stars
    review_count: Mapped[int] = mapped_column(Integer)
    captured_on: Mapped[dt.date] = mapped_column(Date)


class MonthlySkuSales(Base):
    """Month x SKU x market x channel: what product pages add up (non-cancelled orders only)."""

    __tablename__ = "monthly_sku_sales"
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # first day of the month
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    repeat_orders: Mapped[int] = mapped_column(Integer)  # orders placed by returning customers
    units: Mapped[int] = mapped_column(Integer)
    sales_usd: Mapped[float] = mapped_column(Float)  # shelf price paid, incl. VAT where shown incl.
    net_revenue_usd: Mapped[float] = mapped_column(Float)
    cogs_usd: Mapped[float] = mapped_column(Float)
    returned_units: Mapped[int] = mapped_column(Integer)  # returns requested against these orders
    __table_args__ = (Index("ix_monthly_sku_sales_product_month", "product_id", "month"),)


class MonthlyOrderValues(Base):
    """Month x market x channel x order-value band (USD): the order-value distribution."""

    __tablename__ = "monthly_order_values"
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    band_usd: Mapped[int] = mapped_column(Integer, primary_key=True)  # lower edge of the band
    orders: Mapped[int] = mapped_column(Integer)
    gmv_usd: Mapped[float] = mapped_column(Float)


# --- risk: policy changes, compliance, fraud and account-health summaries (issue 6) ---------------------------


class PolicyChange(Base):
    """A dated rule change (customs, tax, card schemes, product safety, marketplace fees)."""

    __tablename__ = "policy_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    effective_on: Mapped[dt.date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # customs, tax, payments, product_safety, marketplace_fee
    authority: Mapped[str] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(Text, default="")
    # Landed-cost estimate: the shipping service a typical parcel into the linked markets uses.
    service_code: Mapped[str | None] = mapped_column(String(30))


class PolicyChangeMarket(Base):
    __tablename__ = "policy_change_markets"
    policy_change_id: Mapped[int] = mapped_column(
        ForeignKey("policy_changes.id", ondelete="CASCADE"), primary_key=True
    )
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"), primary_key=True)


class PolicyChangeSku(Base):
    __tablename__ = "policy_change_skus"
    policy_change_id: Mapped[int] = mapped_column(
        ForeignKey("policy_changes.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)


class ComplianceItem(Base):
    """One requirement of a market's compliance checklist, with its status and owner."""

    __tablename__ = "compliance_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"), index=True)
    area: Mapped[str] = mapped_column(String(30))  # data_protection, product_safety, trademark, tax_registration
    requirement: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="missing")  # done, in_progress, missing, not_applicable
    owner: Mapped[str] = mapped_column(String(60), default="")
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("market_code", "area", "requirement"),)


class SuspiciousPayment(Base):
    """Payments the fraud rules scored (core.summaries.fraud_scores), read by core.fraud."""

    __tablename__ = "suspicious_payments"
    payment_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_date: Mapped[dt.date] = mapped_column(Date)
    attempted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    market_code: Mapped[str] = mapped_column(String(2))
    channel_id: Mapped[int] = mapped_column(Integer)
    payment_ref: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    amount_usd: Mapped[float] = mapped_column(Float)
    card_country: Mapped[str | None] = mapped_column(String(2))
    ip_country: Mapped[str | None] = mapped_column(String(2))
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(String(120))  # comma-separated rule codes
    __table_args__ = (Index("ix_suspicious_date_market", "attempt_date", "market_code", "channel_id"),)


class DailyAccountHealth(Base):
    """Order defects per order day (core.summaries.account_health): the inputs of core.risk's ODR."""

    __tablename__ = "daily_account_health"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    negative_feedback: Mapped[int] = mapped_column(Integer)
    a_to_z_claims: Mapped[int] = mapped_column(Integer)
    chargebacks: Mapped[int] = mapped_column(Integer)
    defective_orders: Mapped[int] = mapped_column(Integer)


# --- payments and customer service summaries (issue 5) ---------------------------
# Rebuilt by core.summaries (refresh_all / refresh_affected). Empty text ('') stands for "none" in key columns.


class DailyPaymentOutcomes(Base):
    """Payment attempts by card country and decline reason (authorisation rate, declines by reason)."""

    __tablename__ = "daily_payment_outcomes"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # attempt date
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20), primary_key=True)
    card_country: Mapped[str] = mapped_column(String(2), primary_key=True)  # '' when not a card
    decline_reason: Mapped[str] = mapped_column(String(40), primary_key=True)  # '' when not declined
    attempts: Mapped[int] = mapped_column(Integer)
    succeeded: Mapped[int] = mapped_column(Integer)


class DailyDisputes(Base):
    """Disputes and fraud reports by the day they were raised (the day the card schemes count them)."""

    __tablename__ = "daily_disputes"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # disputed_on (attempt date if fraud only)
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(40), primary_key=True)  # '' for a fraud report without dispute
    disputes: Mapped[int] = mapped_column(Integer)
    fraud_reported: Mapped[int] = mapped_column(Integer)
    amount_usd: Mapped[float] = mapped_column(Float)


class DailySettlements(Base):
    """Payouts by the day the money arrived, with the payout lag and the settlement-day value."""

    __tablename__ = "daily_settlements"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # settled_on
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    payments: Mapped[int] = mapped_column(Integer)
    amount_local: Mapped[float] = mapped_column(Float)
    amount_usd: Mapped[float] = mapped_column(Float)  # at the attempt (order) date rate
    settled_usd: Mapped[float] = mapped_column(Float)  # the same amount at the settlement date rate
    fee_usd: Mapped[float] = mapped_column(Float)
    lag_days_sum: Mapped[int] = mapped_column(Integer)


class PaymentsInTransit(Base):
    """Captured payments not paid out yet, by attempt day (cash in transit)."""

    __tablename__ = "payments_in_transit"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # attempt date
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    payments: Mapped[int] = mapped_column(Integer)
    amount_local: Mapped[float] = mapped_column(Float)
    amount_usd: Mapped[float] = mapped_column(Float)
    fee_usd: Mapped[float] = mapped_column(Float)


class DailyTicketStats(Base):
    __tablename__ = "daily_ticket_stats"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # created date
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(30), primary_key=True)
    language: Mapped[str] = mapped_column(String(5), primary_key=True)
    tickets: Mapped[int] = mapped_column(Integer)
    responded: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    csat_sum: Mapped[int] = mapped_column(Integer)
    csat_count: Mapped[int] = mapped_column(Integer)


class DailyTicketTimes(Base):
    """Histogram of response and resolution times, so medians, p90 and SLA breaches come from buckets."""

    __tablename__ = "daily_ticket_times"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # created date
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    language: Mapped[str] = mapped_column(String(5), primary_key=True)
    measure: Mapped[str] = mapped_column(String(20), primary_key=True)  # first_response, resolution
    bucket_hours: Mapped[float] = mapped_column(Float, primary_key=True)  # lower edge of the bucket
    tickets: Mapped[int] = mapped_column(Integer)


class DailyReturns(Base):
    __tablename__ = "daily_returns"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # requested_on
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(String(30), primary_key=True)
    returns: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    refund_usd: Mapped[float] = mapped_column(Float)
    return_shipping_usd: Mapped[float] = mapped_column(Float)
    unsellable_usd: Mapped[float] = mapped_column(Float)  # landed cost of returned units that cannot be resold


class MonthlySkuReturns(Base):
    """Units sold and returned per SKU, returns counted in the month of their order (return rate)."""

    __tablename__ = "monthly_sku_returns"
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # first day of the order month
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    units_sold: Mapped[int] = mapped_column(Integer)
    units_returned: Mapped[int] = mapped_column(Integer)
    refund_usd: Mapped[float] = mapped_column(Float)
    return_shipping_usd: Mapped[float] = mapped_column(Float)
    unsellable_usd: Mapped[float] = mapped_column(Float)


class MonthlyCohorts(Base):
    """Customers active in a month, by the month of their first order (cohort retention, repeat rate)."""

    __tablename__ = "monthly_cohorts"
    cohort_month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)


# --- CSV import (issue 8) ---------------------------------------------------------


class ImportRow(Base):
    """One row an import inserted or updated, with what an update overwrote, so the import can be undone."""

    __tablename__ = "import_rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"), index=True)
    entity: Mapped[str] = mapped_column(String(20))  # orders, payments, shipments, tickets
    row_key: Mapped[str] = mapped_column(String(80))  # the natural key, e.g. "<channel_id>|<order_ref>"
    action: Mapped[str] = mapped_column(String(10))  # inserted, updated
    before_json: Mapped[str | None] = mapped_column(Text)  # the overwritten values of an update
    __table_args__ = (Index("ix_import_rows_entity_key", "entity", "row_key"),)


Index("ix_shipments_tracking_number", Shipment.tracking_number)  # natural key of imported shipments


# --- logistics (issue 4) ----------------------------------------------------------


class DailyProductDemand(Base):
    """Units sold per order day, shipping warehouse and product (non-cancelled orders): stock planning demand."""

    __tablename__ = "daily_product_demand"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    units: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_daily_product_demand_product_day", "product_id", "day"),)


class DailyTransit(Base):
    """Delivered shipments per ship day, market, channel, carrier and whole transit days (the distribution)."""

    __tablename__ = "daily_transit"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # ship date
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(30), primary_key=True)
    transit_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivered: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)


# --- profit ledger (issue 16) -------------------------------------------------------------------------------
# Cost inputs the ledger (core.profit, core.summaries.profit) reads beside the transactions above.


class MarketplaceFee(Base):
    """A channel's referral-fee rate, valid over a date range (end exclusive); a category's own rate wins
    over the channel's default (category_id NULL)."""

    __tablename__ = "marketplace_fees"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    referral_rate: Mapped[float] = mapped_column(Float)  # of what the buyer paid for the item, tax included
    source: Mapped[str] = mapped_column(String(200), default="")


class StorageRate(Base):
    """What a warehouse charges to hold stock: USD per cubic metre per month, valid over a date range
    (end exclusive), with the October-December rate FBA charges."""

    __tablename__ = "storage_rates"
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    usd_per_m3_month: Mapped[float] = mapped_column(Float)
    peak_usd_per_m3_month: Mapped[float] = mapped_column(Float)  # October-December


class AdCampaign(Base):
    """An advertising campaign on one ad platform, driving sales of one sales channel in one market."""

    __tablename__ = "ad_campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))  # amazon_sp, google_shopping, meta, tiktok
    campaign_ref: Mapped[str] = mapped_column(String(80))  # the platform's campaign id or name
    name: Mapped[str] = mapped_column(String(160))
    market_code: Mapped[str] = mapped_column(ForeignKey("markets.code"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (UniqueConstraint("platform", "campaign_ref"),)


class AdSpend(Base):
    """A campaign's day: spend and what the platform attributes to it; `product_id` when the platform names
    the advertised SKU (Amazon Sponsored Products), NULL for spend no SKU is named for."""

    __tablename__ = "ad_spend"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("ad_campaigns.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    spend: Mapped[Decimal] = mapped_column(Money)  # in `currency`
    spend_usd: Mapped[Decimal] = mapped_column(Money)  # at the day's rate
    attributed_orders: Mapped[int] = mapped_column(Integer, default=0)
    attributed_sales_usd: Mapped[Decimal] = mapped_column(Money, default=0)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    __table_args__ = (Index("ix_ad_spend_day_campaign", "day", "campaign_id"),)


class ProductCostEntry(Base):
    """A landed unit cost a manager entered for a SKU from a date on, used where no purchase batch gives
    one (core.profit.record_cost); the seed enters each SKU's opening-stock valuation this way."""

    __tablename__ = "product_cost_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    unit_cost_usd: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str] = mapped_column(String(200), default="")
    entered_by: Mapped[str] = mapped_column(String(60))
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("product_id", "valid_from"),)


class SkuCost(Base):
    """The landed unit cost of a SKU over [valid_from, valid_to) (summary; core.summaries.costs)."""

    __tablename__ = "sku_costs"
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    valid_from: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[dt.date] = mapped_column(Date)  # exclusive; 9999-12-31 when open
    unit_cost_usd: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(10))  # batches, manual


class _ProfitMeasures:
    """The ledger's counts and amounts (one column list for daily_profit and its two roll-ups)."""

    orders: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    returned_units: Mapped[int] = mapped_column(Integer)
    uncosted_units: Mapped[int] = mapped_column(Integer)
    gross_sales_usd: Mapped[float] = mapped_column(Float)
    vat_usd: Mapped[float] = mapped_column(Float)
    discounts_usd: Mapped[float] = mapped_column(Float)
    net_revenue_usd: Mapped[float] = mapped_column(Float)
    shipping_income_usd: Mapped[float] = mapped_column(Float)
    product_cost_usd: Mapped[float] = mapped_column(Float)
    shipping_usd: Mapped[float] = mapped_column(Float)
    marketplace_fees_usd: Mapped[float] = mapped_column(Float)
    marketplace_fees_estimated_usd: Mapped[float] = mapped_column(Float)
    fulfilment_fees_usd: Mapped[float] = mapped_column(Float)
    payment_fees_usd: Mapped[float] = mapped_column(Float)
    fx_cost_usd: Mapped[float] = mapped_column(Float)
    duty_usd: Mapped[float] = mapped_column(Float)
    refunds_usd: Mapped[float] = mapped_column(Float)
    return_shipping_usd: Mapped[float] = mapped_column(Float)
    write_off_usd: Mapped[float] = mapped_column(Float)
    chargebacks_usd: Mapped[float] = mapped_column(Float)
    dispute_fees_usd: Mapped[float] = mapped_column(Float)
    advertising_usd: Mapped[float] = mapped_column(Float)
    unattributed_ads_usd: Mapped[float] = mapped_column(Float)
    storage_usd: Mapped[float] = mapped_column(Float)
    contribution_usd: Mapped[float] = mapped_column(Float)


class DailyProfit(_ProfitMeasures, Base):
    """The contribution-profit ledger: day x SKU x market x channel, every cost line in USD
    (core.summaries.profit writes it, core.profit reads it and documents each line).

    product_id 0 holds costs no SKU can carry (unattributed ad spend on a day without sales, stock that
    shipped nothing); market_code '' and channel_id 0 likewise for storage of stock that sold nowhere.
    `uncosted_units` are units sold with no known unit cost (costed at 0, listed); `marketplace_fees_estimated_usd`
    is the part of `marketplace_fees_usd` taken from the fee schedule."""

    __tablename__ = "daily_profit"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    __table_args__ = (Index("ix_daily_profit_product_day", "product_id", "day"),)


class DailyProfitMarkets(_ProfitMeasures, Base):
    """daily_profit summed over SKUs: day x market x channel, for totals, the waterfall and the trend
    (a few dozen rows a day instead of a thousand at 1M orders)."""

    __tablename__ = "daily_profit_markets"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class MonthlyProfitSkus(_ProfitMeasures, Base):
    """daily_profit summed over the days of each month: month x SKU x market x channel, for the SKU tables over
    whole months (a period's edge days come from daily_profit)."""

    __tablename__ = "monthly_profit_skus"
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # first day of the month
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    market_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
