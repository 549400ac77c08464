"""Our documented CSV templates, and the exports we recognise.

Templates (download them header-only from the upload page; UTF-8, comma-separated, one row per record,
dates as ISO `2026-03-01` or `2026-03-01 14:05:00`, amounts with a decimal point, no thousands separator):

orders    one row per order; natural key (channel, order_ref)
  channel*        amazon, ebay, tiktok or shopify
  order_ref*      the marketplace's order number, unique within the channel
  market*         market code we sell in (US, CA, MX, UK, DE, FR, IT, ES, NL, JP, AU, SA) or its name
  ordered_at*     when the order was placed
  currency*       ISO 4217 code of the amounts (USD, EUR, ...)
  order_total*    what the customer paid, incl. tax and shipping
  items_total     goods value; default order_total
  discount_total, shipping_charged, tax_total, refunded_amount   default 0
  status          completed, cancelled, refunded, partially_refunded; default completed

payments  one row per payment attempt; natural key payment_ref
  payment_ref*, channel*, market*, attempted_at*, amount*, currency*, status* (succeeded, declined,
  refunded, disputed); method (default card), gateway (default stripe), fee_amount, refunded_amount,
  decline_reason, order_ref (links the payment to an order of the same channel when found)

shipments one row per parcel; natural key tracking_number
  tracking_number*, channel*, order_ref* (the order must exist), warehouse* (warehouse code), carrier*,
  service*, status* (in_transit, delivered, lost, returned_to_sender), cost_usd*, promised_days*,
  shipped_at, delivered_at, chargeable_weight_kg

tickets   one row per support ticket; natural key ticket_ref
  ticket_ref*, market*, channel* (email, chat, marketplace), reason*, created_at*, language (default en),
  first_response_at, resolved_at, csat (1-5)

(* required)

Recognised exports map their own columns onto these fields (`KNOWN_EXPORTS`): Shopify orders export,
Amazon "All Orders" report (tab-separated), Stripe payments export, UCI Online Retail style invoices and
the four templates. `recognise(columns)` picks the export whose signature columns are present.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.platform.i18n import N_


@dataclass(frozen=True)
class TemplateField:
    name: str
    required: bool
    description: str
    example: str


def _f(name: str, required: bool, description: str, example: str) -> TemplateField:
    return TemplateField(name, required, description, example)


TEMPLATES: dict[str, tuple[TemplateField, ...]] = {
    "orders": (
        _f("channel", True, N_("Sales channel: amazon, ebay, tiktok or shopify"), "amazon"),
        _f("order_ref", True, N_("Order number, unique within the channel"), "302-1234567-7654321"),
        _f("market", True, N_("Market code (US, UK, DE, ...) or name"), "DE"),
        _f("ordered_at", True, N_("Date and time the order was placed"), "2026-03-01 14:05:00"),
        _f("currency", True, N_("ISO currency code of the amounts"), "EUR"),
        _f("order_total", True, N_("What the customer paid, incl. tax and shipping"), "59.90"),
        _f("items_total", False, N_("Goods value (default: order_total)"), "54.90"),
        _f("discount_total", False, N_("Discounts (default 0)"), "0"),
        _f("shipping_charged", False, N_("Shipping charged to the customer (default 0)"), "5.00"),
        _f("tax_total", False, N_("Tax included (default 0)"), "9.56"),
        _f("refunded_amount", False, N_("Refunded so far (default 0)"), "0"),
        _f("status", False, N_("completed, cancelled, refunded or partially_refunded"), "completed"),
    ),
    "payments": (
        _f("payment_ref", True, N_("Gateway payment id, unique"), "ch_3Su0001"),
        _f("channel", True, N_("Sales channel: amazon, ebay, tiktok or shopify"), "shopify"),
        _f("market", True, N_("Market code (US, UK, DE, ...) or name"), "US"),
        _f("attempted_at", True, N_("Date and time of the attempt"), "2026-03-01 14:05:00"),
        _f("amount", True, N_("Amount in the payment currency"), "59.90"),
        _f("currency", True, N_("ISO currency code"), "USD"),
        _f("status", True, N_("succeeded, declined, refunded or disputed"), "succeeded"),
        _f("method", False, N_("card, paypal, klarna, konbini, cod, wallet or marketplace (default card)"), "card"),
        _f("gateway", False, N_("stripe, adyen, paypal, amazon, ebay or tiktok (default stripe)"), "stripe"),
        _f("fee_amount", False, N_("Gateway fee in the payment currency (default 0)"), "1.97"),
        _f("refunded_amount", False, N_("Refunded in the payment currency (default 0)"), "0"),
        _f("decline_reason", False, N_("Why it was declined"), ""),
        _f("order_ref", False, N_("Order number in the same channel, to link the payment"), "#1081"),
    ),
    "shipments": (
        _f("tracking_number", True, N_("Carrier tracking number, unique"), "1Z999AA10123456784"),
        _f("channel", True, N_("Sales channel of the order"), "amazon"),
        _f("order_ref", True, N_("Order number (the order must already be in the dashboard)"), "302-1234567-7654321"),
        _f("warehouse", True, N_("Warehouse code it shipped from"), "CN-SZ"),
        _f("carrier", True, N_("Carrier name"), "DHL"),
        _f("service", True, N_("Shipping service code"), "dhl_express"),
        _f("status", True, N_("in_transit, delivered, lost or returned_to_sender"), "delivered"),
        _f("cost_usd", True, N_("What we paid the carrier, in USD"), "12.40"),
        _f("promised_days", True, N_("Promised delivery time in days"), "7"),
        _f("shipped_at", False, N_("Date and time handed to the carrier"), "2026-03-02 09:00:00"),
        _f("delivered_at", False, N_("Date and time delivered"), "2026-03-06 15:00:00"),
        _f("chargeable_weight_kg", False, N_("Chargeable weight in kg (default 0)"), "0.5"),
    ),
    "tickets": (
        _f("ticket_ref", True, N_("Help-desk ticket id, unique"), "T-100234"),
        _f("market", True, N_("Market code (US, UK, DE, ...) or name"), "UK"),
        _f("channel", True, N_("email, chat or marketplace"), "email"),
        _f("reason", True, N_("Contact reason code"), "where_is_my_order"),
        _f("created_at", True, N_("Date and time the ticket was opened"), "2026-03-03 08:00:00"),
        _f("language", False, N_("Language code (default en)"), "en"),
        _f("first_response_at", False, N_("Date and time of our first reply"), "2026-03-03 10:30:00"),
        _f("resolved_at", False, N_("Date and time it was resolved"), ""),
        _f("csat", False, N_("Customer rating 1-5"), "5"),
    ),
}


def template_columns(entity: str) -> list[str]:
    return [f.name for f in TEMPLATES[entity]]


def required_fields(entity: str) -> list[str]:
    return [f.name for f in TEMPLATES[entity] if f.required]


def template_csv(entity: str) -> bytes:
    """The header-only CSV a user fills in (UTF-8 with BOM so Excel keeps Chinese and accents)."""
    return (",".join(template_columns(entity)) + "\r\n").encode("utf-8-sig")


@dataclass(frozen=True)
class KnownExport:
    kind: str
    label: str
    entity: str  # orders, payments, shipments, tickets
    signature: tuple[str, ...]  # columns that identify it
    mapping: dict[str, tuple[str, ...]]  # field -> candidate source columns, first present wins
    constants: dict[str, str] = field(default_factory=dict)  # field -> fixed value
    lines: str = "one"  # one: one row per record; first: order-level fields on the first row; sum: add lines
    derived: tuple[str, ...] = ()  # fields computed by the importer (see core.imports.importers)


def _identity(entity: str) -> dict[str, tuple[str, ...]]:
    return {name: (name,) for name in template_columns(entity)}


KNOWN_EXPORTS: tuple[KnownExport, ...] = (
    KnownExport(
        "shopify_orders", N_("Shopify orders export"), "orders",
        ("Name", "Financial Status", "Created at", "Lineitem quantity", "Lineitem name", "Total", "Currency"),
        {"order_ref": ("Name",), "ordered_at": ("Created at",), "currency": ("Currency",),
         "order_total": ("Total",), "items_total": ("Subtotal",), "discount_total": ("Discount Amount",),
         "shipping_charged": ("Shipping",), "tax_total": ("Taxes",), "refunded_amount": ("Refunded Amount",),
         "status": ("Financial Status",), "market": ("Shipping Country", "Billing Country"),
         "cancelled_at": ("Cancelled at",)},
        {"channel": "shopify"}, lines="first",
    ),
    KnownExport(
        "amazon_orders", N_("Amazon order report"), "orders",
        ("amazon-order-id", "purchase-date", "order-status", "sku", "item-price", "currency"),
        {"order_ref": ("amazon-order-id",), "ordered_at": ("purchase-date",), "currency": ("currency",),
         "items_total": ("item-price",), "tax_total": ("item-tax",), "shipping_charged": ("shipping-price",),
         "discount_total": ("item-promotion-discount",), "status": ("order-status",),
         "market": ("ship-country",)},
        {"channel": "amazon"}, lines="sum", derived=("order_total",),
    ),
    KnownExport(
        "stripe_payments", N_("Stripe payments export"), "payments",
        ("id", "Amount", "Amount Refunded", "Currency", "Fee", "Status"),
        {"payment_ref": ("id",), "attempted_at": ("Created date (UTC)", "Created (UTC)", "Created"),
         "amount": ("Amount",), "currency": ("Currency",), "fee_amount": ("Fee",),
         # Fee (like Converted Amount) is in the balance's currency, after conversion: core.imports.importers
         "fee_currency": ("Converted Currency",),
         "refunded_amount": ("Amount Refunded",), "status": ("Status",), "decline_reason": ("Decline Reason",)},
        {"gateway": "stripe", "method": "card"}, derived=("market",),  # market: from a one-market currency
    ),
    KnownExport(
        "uci_online_retail", N_("UCI Online Retail invoices"), "orders",
        ("InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "Country"),
        {"order_ref": ("InvoiceNo",), "ordered_at": ("InvoiceDate",), "market": ("Country",)},
        {"currency": "GBP"}, lines="sum", derived=("order_total", "items_total", "status"),
    ),
    KnownExport("template_orders", N_("Orders template"), "orders", tuple(required_fields("orders")),
                _identity("orders")),
    KnownExport("template_payments", N_("Payments template"), "payments", tuple(required_fields("payments")),
                _identity("payments")),
    KnownExport("template_shipments", N_("Shipments template"), "shipments", tuple(required_fields("shipments")),
                _identity("shipments")),
    KnownExport("template_tickets", N_("Tickets template"), "tickets", tuple(required_fields("tickets")),
                _identity("tickets")),
)
EXPORTS_BY_KIND = {e.kind: e for e in KNOWN_EXPORTS}
RECOGNITION_THRESHOLD = 0.8


@dataclass(frozen=True)
class Recognition:
    kind: str
    label: str
    entity: str
    score: float
    mapping: dict[str, str | None]  # every template field -> the source column used (None: not found)
    constants: dict[str, str]
    missing_required: tuple[str, ...]  # required fields with neither a column, a constant nor a derivation


def map_columns(export: KnownExport, columns: list[str],
                overrides: dict[str, str | None] | None = None) -> Recognition:
    present = {c.strip().lower(): c for c in columns}
    mapping: dict[str, str | None] = {}
    for name in [*template_columns(export.entity), *export.mapping.keys()]:
        if name in mapping:
            continue
        found = None
        for candidate in export.mapping.get(name, ()):
            if candidate.lower() in present:
                found = present[candidate.lower()]
                break
        mapping[name] = found
    for name, column in (overrides or {}).items():
        mapping[name] = column if column in columns else None
    supplied = {n for n, c in mapping.items() if c} | set(export.constants) | set(export.derived)
    missing = tuple(n for n in required_fields(export.entity) if n not in supplied)
    score = sum(1 for s in export.signature if s.lower() in present) / len(export.signature)
    return Recognition(export.kind, export.label, export.entity, score, mapping, dict(export.constants), missing)


def recognise(columns: list[str]) -> Recognition | None:
    """The best-matching known export, or None when no signature is present enough."""
    best = None
    for export in KNOWN_EXPORTS:
        found = map_columns(export, columns)
        if found.score >= RECOGNITION_THRESHOLD and (best is None or found.score > best.score):
            best = found
    return best
