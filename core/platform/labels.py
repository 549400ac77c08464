"""Display labels of the enumerated codes that are ours, not the user's: one English label per code.

The database, filters and URLs keep the codes (`sea_lcl_fba`, `insufficient_funds`); a page shows
`t(label)` through `ui.labels`. Every label is marked with N_() so `python -m tools.i18n update` puts it in
the Chinese catalogue, and tests/test_labels.py checks that every code the seed, the reference data and the
importers can write has a label and a translation. A code not listed here came from an upload and is shown
as it came (uploaded values are never translated).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from core.platform.i18n import N_, translate

MISSING = "—"

SALES_CHANNELS = {  # channels.code: the names of data/reference/channels.csv
    "amazon": N_("Amazon"), "ebay": N_("eBay"), "tiktok": N_("TikTok Shop"), "shopify": N_("Shopify store"),
}
PAYMENT_METHODS = {  # payments.method
    "card": N_("Card"), "paypal": N_("PayPal"), "klarna": N_("Klarna"), "konbini": N_("Konbini"),
    "cod": N_("Cash on delivery"), "wallet": N_("Wallet"), "marketplace": N_("Marketplace payout"),
}
PAYMENT_GATEWAYS = {  # payments.gateway: brand names, except the courier that collects cash on delivery
    "stripe": N_("Stripe"), "adyen": N_("Adyen"), "paypal": N_("PayPal"), "cod": N_("COD courier"),
    "amazon": N_("Amazon"), "ebay": N_("eBay"), "tiktok": N_("TikTok Shop"),
}
PAYMENT_STATUSES = {  # payments.status
    "succeeded": N_("Succeeded"), "declined": N_("Declined"), "refunded": N_("Refunded"), "disputed": N_("Disputed"),
}
DECLINE_REASONS = {  # payments.decline_reason (the issuer's or 3-D Secure's answer)
    "insufficient_funds": N_("Insufficient funds"), "do_not_honor": N_("Do not honour (issuer refused)"),
    "fraud_suspected": N_("Suspected fraud"), "expired_card": N_("Expired card"),
    "3ds_failed": N_("3-D Secure failed"),
}
DISPUTE_REASONS = {  # payments.dispute_reason (card-scheme reason groups)
    "fraudulent": N_("Fraudulent"), "product_not_received": N_("Product not received"),
    "product_unacceptable": N_("Product unacceptable"), "duplicate": N_("Duplicate charge"),
    "credit_not_processed": N_("Refund not processed"),
}
RETURN_REASONS = {  # returns.reason, also the refund reasons of the payments page
    "damaged": N_("Damaged"), "not_as_described": N_("Not as described"), "wrong_size": N_("Wrong size"),
    "changed_mind": N_("Changed mind"), "defective": N_("Defective"), "late_delivery": N_("Late delivery"),
}
TICKET_REASONS = {  # tickets.reason
    "where_is_my_order": N_("Where is my order?"), "damaged": N_("Damaged"), "wrong_item": N_("Wrong item"),
    "return_request": N_("Return request"), "refund_status": N_("Refund status"),
    "product_question": N_("Product question"), "address_change": N_("Address change"),
    "customs_fees": N_("Customs fees"),
}
TICKET_CHANNELS = {  # tickets.channel
    "email": N_("Email"), "chat": N_("Chat"), "marketplace": N_("Marketplace messages"),
}
LANGUAGES = {  # tickets.language, markets.language (ISO 639-1)
    "en": N_("English"), "es": N_("Spanish"), "de": N_("German"), "fr": N_("French"), "it": N_("Italian"),
    "nl": N_("Dutch"), "ja": N_("Japanese"), "ar": N_("Arabic"),
}
ORDER_STATUSES = {  # orders.status
    "completed": N_("Completed"), "cancelled": N_("Cancelled"), "refunded": N_("Refunded"),
    "partially_refunded": N_("Partially refunded"),
}
SHIPMENT_STATUSES = {  # shipments.status
    "in_transit": N_("In transit"), "delivered": N_("Delivered"), "lost": N_("Lost"),
    "returned_to_sender": N_("Returned to sender"),
}
SHIPPING_SERVICES = {  # shipping_services.code (data/reference/shipping_services.csv), shipments.service
    "dhl_express": N_("DHL Express"), "fedex_ip": N_("FedEx International Priority"),
    "ups_saver": N_("UPS Worldwide Saver"), "cpost_epacket": N_("China Post ePacket"),
    "yun_direct": N_("YunExpress direct line"), "air_3pl": N_("Air freight to a 3PL warehouse"),
    "air_fba": N_("Air freight to FBA"), "sea_lcl_3pl": N_("Sea LCL to a 3PL warehouse"),
    "sea_lcl_fba": N_("Sea LCL to FBA"), "usps_ground": N_("USPS Ground Advantage"), "ups_ground": N_("UPS Ground"),
    "dhl_paket": N_("DHL Paket"), "royal_mail_48": N_("Royal Mail Tracked 48"),
    "amzl_fba": N_("Amazon Logistics (FBA delivery)"),
}
SHIPPING_MODES = {  # shipping_services.mode
    "express": N_("Express"), "postal": N_("Postal"), "air_freight": N_("Air freight"), "sea_lcl": N_("Sea LCL"),
    "last_mile": N_("Last mile"),
}
ROUTES = {  # core.logistics route kinds (landed_cost.ROUTES)
    "direct_express": N_("Direct express"), "direct_postal": N_("Direct postal"),
    "air_freight_3pl": N_("Air to overseas warehouse + last mile"),
    "sea_lcl_3pl": N_("Sea to overseas warehouse + last mile"),
    "air_freight_fba": N_("Air to FBA"), "sea_lcl_fba": N_("Sea to FBA"),
}
PRODUCT_STATUSES = {  # products.status
    "active": N_("Active"), "candidate": N_("Candidate"), "discontinued": N_("Discontinued"),
}
MARKET_NOTE_BOXES = {  # market_notes.box: the SWOT and PEST boxes
    "strengths": N_("Strengths"), "weaknesses": N_("Weaknesses"), "opportunities": N_("Opportunities"),
    "threats": N_("Threats"), "political": N_("Political"), "economic": N_("Economic"), "social": N_("Social"),
    "technological": N_("Technological"),
}
AD_PLATFORMS = {  # ad_campaigns.platform
    "amazon_sp": N_("Amazon Sponsored Products"), "google_shopping": N_("Google Shopping"), "meta": N_("Meta ads"),
    "tiktok": N_("TikTok ads"),
}
DISPUTE_OUTCOMES = {  # payments.dispute_outcome ("Lost" alone is a lost parcel)
    "won": N_("Dispute won"), "lost": N_("Dispute lost"), "pending": N_("Dispute pending"),
}
PROFIT_BASES = {  # core.profit.Line.basis and the waterfall's basis: how a ledger line was arrived at
    "actual": N_("Actual"), "estimated": N_("Estimated"), "allocated": N_("Allocated"),
    "partly_estimated": N_("Partly estimated"),
}

# Every enumeration by name, for the catalogue test.
ENUMERATIONS: dict[str, Mapping[str, str]] = {
    "sales_channels": SALES_CHANNELS, "payment_methods": PAYMENT_METHODS, "payment_gateways": PAYMENT_GATEWAYS, "payment_statuses": PAYMENT_STATUSES,
    "decline_reasons": DECLINE_REASONS, "dispute_reasons": DISPUTE_REASONS, "return_reasons": RETURN_REASONS,
    "ticket_reasons": TICKET_REASONS, "ticket_channels": TICKET_CHANNELS, "languages": LANGUAGES,
    "order_statuses": ORDER_STATUSES, "shipment_statuses": SHIPMENT_STATUSES, "shipping_services": SHIPPING_SERVICES,
    "shipping_modes": SHIPPING_MODES, "routes": ROUTES, "product_statuses": PRODUCT_STATUSES,
    "market_note_boxes": MARKET_NOTE_BOXES, "ad_platforms": AD_PLATFORMS, "dispute_outcomes": DISPUTE_OUTCOMES,
    "profit_bases": PROFIT_BASES,
}


def is_missing(code) -> bool:
    return code is None or code == "" or (isinstance(code, float) and math.isnan(code))


def label(enumeration: Mapping[str, str], code, language: str) -> str:
    """The label of `code` in `language`; an unknown code (an upload's own value) as it came; none: a dash."""
    if is_missing(code):
        return MISSING
    english = enumeration.get(code)
    return str(code) if english is None else translate(language, english)
