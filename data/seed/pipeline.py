"""The generation pipeline: every generated table in foreign-key order as numpy columns, with the
intermediate results (catalogue, orders, lines, shipments...) handed from step to step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from core.platform import models as m
from data.seed.arrays import to_day_numbers
from data.seed.advertising import build_advertising
from data.seed.catalogue import Catalogue, build_catalogue, build_suppliers
from data.seed.context import Context
from data.seed.costs import marketplace_fee_rows, opening_cost_rows, order_referral_fees, storage_rate_rows
from data.seed.demand import build_demand
from data.seed.duties import parcel_charges
from data.seed.fx import fx_rows
from data.seed.inventory import build_inbound, build_inventory, shipped_units
from data.seed.market import build_competitors, build_market_notes, build_search_interest
from data.seed.orders import CANCEL_RATE, assign_customers, customer_rows, order_refs, order_rows, sample_orders
from data.seed.payments import build_payments, plan_payment_methods
from data.seed.pricing import build_lines, line_rows, price_orders
from data.seed.returns import build_returns, return_rows, settle_refunds
from data.seed.risk import build_risks
from data.seed.service import build_tickets
from data.seed.shipments import build_shipments, shipment_rows
from data.seed.targets import build_targets

Progress = Callable[[float, str], None]


def _columns(frame: pd.DataFrame, model) -> dict:
    return {c.name: frame[c.name].to_numpy() for c in model.__table__.columns if c.name in frame}


def reference_tables(ctx: Context, suppliers: pd.DataFrame, catalogue: Catalogue) -> list[tuple]:
    ref = ctx.ref
    rules = ref.import_rules.copy()
    rules.insert(0, "id", np.arange(1, len(rules) + 1))
    for column in ("valid_from", "valid_to"):
        rules[column] = pd.to_datetime(rules[column]).to_numpy().astype("datetime64[D]")
    categories = ref.categories.copy()
    categories.insert(0, "id", np.arange(1, len(categories) + 1))
    rates = ref.rates.copy()
    rates.insert(0, "id", np.arange(1, len(rates) + 1))
    return [
        (m.Market, _columns(ref.markets, m.Market)),
        (m.ImportRule, _columns(rules, m.ImportRule)),
        (m.Channel, _columns(ref.channels, m.Channel)),
        (m.Category, _columns(categories, m.Category)),
        (m.Supplier, _columns(suppliers, m.Supplier)),
        (m.Product, _columns(catalogue.frame, m.Product)),
        (m.Warehouse, _columns(ref.warehouses, m.Warehouse)),
        (m.ShippingService, _columns(ref.services, m.ShippingService)),
        (m.CarrierRate, _columns(rates, m.CarrierRate)),
        (m.FxRate, fx_rows(ctx.fx)),
        (m.MarketplaceFee, marketplace_fee_rows(ctx)),
        (m.StorageRate, storage_rate_rows(ctx)),
        (m.ProductCostEntry, opening_cost_rows(ctx, catalogue)),
    ]


def generate_tables(ctx: Context, n_orders: int, report: Progress):
    """Yield (model, columns) in foreign-key order; big intermediates are dropped as soon as they are written."""
    report(0.02, "building the catalogue")
    suppliers = build_suppliers(ctx.ref)
    catalogue = build_catalogue(ctx, suppliers)
    yield from reference_tables(ctx, suppliers, catalogue)

    report(0.04, f"sampling {n_orders:,} orders")
    demand = build_demand(ctx, to_day_numbers(ctx.cal.days))
    orders = sample_orders(ctx, demand, n_orders)
    demand_scale = n_orders / demand.expected.sum()
    del demand
    assign_customers(ctx, orders)
    orders.cancelled = ctx.rng("cancellations").random(orders.n) < CANCEL_RATE
    report(0.06, "pricing baskets")
    lines = build_lines(ctx, catalogue, orders)
    price_orders(ctx, catalogue, orders, lines)
    payment_plan = plan_payment_methods(ctx, orders)
    report(0.09, "shipping orders")
    shipments = build_shipments(ctx, catalogue, orders, lines, payment_plan["method"] == "cod")
    shipments.duty_usd, shipments.import_vat_usd = parcel_charges(ctx, catalogue, orders, lines, shipments)
    report(0.14, "returns and refunds")
    returns = build_returns(ctx, catalogue, orders, lines, shipments)
    settle_refunds(ctx, orders, shipments, returns)
    units = shipped_units(ctx, catalogue, orders, lines, shipments)

    report(0.15, "writing customers and orders")
    yield m.Customer, customer_rows(ctx, orders)
    yield m.Order, order_rows(ctx, orders, order_refs(orders, ctx.rng("order-refs")))
    yield m.OrderLine, line_rows(lines)
    yield m.Shipment, shipment_rows(shipments)
    yield m.Return, return_rows(returns)

    report(0.38, "payments")
    yield m.Payment, build_payments(ctx, orders, shipments, payment_plan,
                                    order_referral_fees(ctx, catalogue, orders, lines))
    report(0.55, "support tickets")
    yield m.Ticket, build_tickets(ctx, catalogue, orders, lines, shipments, returns)
    report(0.56, "advertising")
    campaigns, ad_spend = build_advertising(ctx, catalogue, orders, lines)
    yield m.AdCampaign, campaigns
    yield m.AdSpend, ad_spend
    del lines, returns, ad_spend

    report(0.57, "inventory and purchase orders")
    yield m.InventorySnapshot, build_inventory(ctx, catalogue, units)
    yield m.InboundShipment, build_inbound(ctx, catalogue, suppliers, units)
    report(0.59, "market intelligence and plans")
    yield m.CompetitorListing, build_competitors(ctx, catalogue)
    yield m.SearchInterest, build_search_interest(ctx)
    yield m.Target, build_targets(ctx, demand_scale, orders)
    yield m.Risk, build_risks(ctx)
    yield m.MarketNote, build_market_notes(ctx)
