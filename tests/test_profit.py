"""The contribution-profit ledger (core.summaries.profit, core.summaries.costs, core.profit) on three orders worked
out by hand, to the cent.

Reference: US (no VAT, prices exclude tax), DE (VAT 19 %, prices include it); 1 EUR = 1.25 USD, 1 USD = 7 CNY.
Products: SKU-1 0.1 kg, 10 x 10 x 10 cm (0.001 m³); SKU-2 0.6 kg, 20 x 10 x 10 cm (0.002 m³).
Warehouses: 1 CN-SZ (own), 2 FBA-US (FBA; storage 30.4375 USD per m³-month = 1 USD per m³-day, 3x Oct-Dec).

Purchase batches (landed unit cost = (quantity x CNY price / 7 + freight + duty) / good units):
  SKU-1  A  received Feb 1: 100 x 35 CNY = 500 + freight 100            = 600 / 100 good = 6.00
  SKU-1  C  received Mar 1: 100 x 49 CNY = 700 + freight 100            = 800 / 100 good = 8.00
  SKU-2  B  received Feb 1:  50 x 70 CNY = 500 + freight 60 + duty 40   = 600 /  40 good = 15.00 (10 defective)
  so in March SKU-1 costs (100 x 6 + 100 x 8) / 200 = 7.00 and SKU-2 15.00.

Order 1, Mar 2, DE, Shopify, EUR: SKU-1 x2 23.80 EUR, SKU-2 x1 35.70 EUR; items 59.50, discount 5.95 (10 %),
  shipping charged 5.95, tax 9.50, total 59.50 EUR (74.38 USD). Line revenue (net of VAT and discount):
  23.80 x 0.9 / 1.19 x 1.25 = 22.50 and 33.75 (value shares 0.4 / 0.6).
  Shipment from CN-SZ 20.00 USD (weight shares 0.2 kg / 0.6 kg = 0.25 / 0.75). Stripe card: fee 2.50,
  paid out at 1.20 USD per EUR: FX cost 74.38 - 59.50 x 1.20 = 2.98.
  Return: 1 unit of SKU-1, not restockable, refund 14.00, return label 5.00; the order refunded 19.00 in all
  (5.00 goodwill beyond the return, shared by value). Refunds are net of the tax they give back: x 50 / 59.5.
  Meta ads (DE, Shopify) that day: 10 EUR = 12.50 USD, no SKU named: 5.00 / 7.50 by net revenue.
Order 2, Mar 3, US, Shopify, USD: SKU-2 x2 60.00; CN-SZ DDP parcel 18.00 with duty 15.00; Stripe fee 2.04.
Order 3, Mar 4, US, Amazon, USD: SKU-1 x3 30.00 from FBA-US: fulfilment 9.00; marketplace payout fee 4.50;
  the buyer's dispute was lost: 30.00 + dispute fee 15.00. Sponsored Products on SKU-1 that day: 6.00.
Also: Shopify ads in the US on Mar 5, when nothing sold there: 4.00 on product 0. Stock: SKU-1 1,000 units at
  FBA-US counted Mar 2 and Mar 9 (1 m³: 7 days = 7.00, then 1 day = 1.00, all to US Amazon, where it shipped);
  SKU-2 500 units at FBA-US counted Oct 5, shipped nothing in October (1 m³ x 1 day x 3 = 3.00, no market).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update

from core import profit
from core.platform import users
from core.platform.db import unit_of_work
from core.platform.filters import Filters
from core.platform.models import (
    AdCampaign,
    AdSpend,
    AuditEvent,
    Category,
    Channel,
    DailyProfit,
    FxRate,
    InboundShipment,
    InventorySnapshot,
    Market,
    MarketplaceFee,
    Order,
    OrderLine,
    Payment,
    Product,
    Return,
    Shipment,
    SkuCost,
    StorageRate,
    Supplier,
    Warehouse,
)
from core.summaries import refresh_affected, refresh_all
from core.summaries.profit import COSTS, COUNTS, INCOME, MEASURES

FEB1, MAR1 = dt.date(2026, 2, 1), dt.date(2026, 3, 1)
D2, D3, D4, D5, D9 = (dt.date(2026, 3, d) for d in (2, 3, 4, 5, 9))
OCT5 = dt.date(2026, 10, 5)
MARCH = Filters(MAR1, dt.date(2026, 3, 31))
UNTAXED = 50 / 59.5


def _reference(s) -> None:
    s.add_all([
        Market(code="US", name="United States", region="NA", currency="USD", vat_rate=0.0, language="en",
               low_value_rule=""),
        Market(code="DE", name="Germany", region="EU", currency="EUR", vat_rate=0.19, language="de",
               low_value_rule=""),
        Channel(id=1, code="amazon", name="Amazon", referral_fee_rate=0.15, payout_interval_days=14),
        Channel(id=2, code="shopify", name="Shopify", referral_fee_rate=0.0, payout_interval_days=2),
        Category(id=1, code="phone", name="Phone", hs_code="8517", duty_rate_eu=0.0, duty_rate_us=0.25,
                 price_elasticity=-1.5),
        Supplier(id=1, name="Shenzhen Co", city="Shenzhen", quoted_lead_time_days=30),
        Warehouse(id=1, code="CN-SZ", name="Shenzhen", kind="cn", country="CN"),
        Warehouse(id=2, code="FBA-US", name="FBA US", kind="fba", country="US"),
    ])
    s.flush()
    s.add_all([
        Product(id=1, sku="SKU-1", name="Cable", category_id=1, supplier_id=1, unit_cost_cny=Decimal("35"),
                list_price_usd=Decimal("10"), weight_kg=0.1, length_cm=10, width_cm=10, height_cm=10),
        Product(id=2, sku="SKU-2", name="Stand", category_id=1, supplier_id=1, unit_cost_cny=Decimal("70"),
                list_price_usd=Decimal("30"), weight_kg=0.6, length_cm=20, width_cm=10, height_cm=10),
        StorageRate(warehouse_id=2, valid_from=dt.date(2026, 1, 1), usd_per_m3_month=30.4375,
                    peak_usd_per_m3_month=91.3125),
        MarketplaceFee(channel_id=1, category_id=None, valid_from=dt.date(2025, 1, 1), referral_rate=0.15),
        MarketplaceFee(channel_id=2, category_id=None, valid_from=dt.date(2025, 1, 1), referral_rate=0.0),
    ])
    day = dt.date(2026, 1, 1)
    while day <= dt.date(2026, 12, 31):
        s.add_all([FxRate(day=day, currency="EUR", per_usd=0.8, source="test"),
                   FxRate(day=day, currency="CNY", per_usd=7.0, source="test")])
        day += dt.timedelta(days=1)
    s.flush()


def _batch(s, ref, product_id, received, quantity, cny, freight, duty="0", defects=0) -> None:
    s.add(InboundShipment(po_ref=ref, supplier_id=1, product_id=product_id, warehouse_id=2, mode="sea",
                          quantity=quantity, unit_cost_cny=Decimal(cny), freight_cost_usd=Decimal(freight),
                          duty_usd=Decimal(duty), ordered_on=dt.date(2026, 1, 10), promised_on=received,
                          shipped_on=received, received_on=received, defect_quantity=defects, status="received"))


def _order(s, order_id, day, market, channel_id, currency, usd_per_unit, lines, *, items, discount="0",
           shipping="0", tax="0", total, refunded="0") -> None:
    s.add(Order(id=order_id, channel_id=channel_id, order_ref=f"O-{order_id}", market_code=market,
                ordered_at=dt.datetime.combine(day, dt.time(10)), order_date=day, currency=currency,
                items_total=Decimal(items), discount_total=Decimal(discount), shipping_charged=Decimal(shipping),
                tax_total=Decimal(tax), order_total=Decimal(total), usd_per_unit=usd_per_unit,
                gmv_usd=Decimal(str(round(float(total) * usd_per_unit, 2))), status="completed",
                refunded_usd=Decimal(refunded)))
    s.flush()
    for product_id, quantity, line_total, revenue in lines:
        s.add(OrderLine(order_id=order_id, product_id=product_id, quantity=quantity,
                        unit_price=Decimal(line_total) / quantity, line_total=Decimal(line_total),
                        revenue_usd=Decimal(revenue), cogs_usd=Decimal("0")))


def _shipment(s, order_id, warehouse_id, day, cost, duty="0") -> None:
    s.add(Shipment(order_id=order_id, warehouse_id=warehouse_id, carrier="DHL", service="dhl_express",
                   chargeable_weight_kg=0.5, cost_usd=Decimal(cost), duty_usd=Decimal(duty), promised_days=5,
                   shipped_at=dt.datetime.combine(day, dt.time(9)), ship_date=day, status="in_transit"))


def _payment(s, ref, order_id, day, market, channel_id, method, gateway, amount, currency, usd_per_unit, fee,
             **extra) -> None:
    s.add(Payment(payment_ref=ref, order_id=order_id, market_code=market, channel_id=channel_id,
                  attempted_at=dt.datetime.combine(day, dt.time(10)), attempt_date=day, method=method,
                  gateway=gateway, amount=Decimal(amount), currency=currency, usd_per_unit=usd_per_unit,
                  amount_usd=Decimal(str(round(float(amount) * usd_per_unit, 2))), fee_usd=Decimal(fee),
                  status=extra.pop("status", "succeeded"), **extra))


def _ads(s) -> None:
    s.add_all([
        AdCampaign(id=1, platform="amazon_sp", campaign_ref="SP-1", name="SP cables", market_code="US", channel_id=1),
        AdCampaign(id=2, platform="meta", campaign_ref="M-1", name="Meta DE", market_code="DE", channel_id=2),
        AdCampaign(id=3, platform="google_shopping", campaign_ref="G-1", name="Shopping US", market_code="US",
                   channel_id=2),
    ])
    s.flush()
    s.add_all([
        AdSpend(day=D4, campaign_id=1, product_id=1, currency="USD", spend=Decimal("6"), spend_usd=Decimal("6")),
        AdSpend(day=D2, campaign_id=2, product_id=None, currency="EUR", spend=Decimal("10"),
                spend_usd=Decimal("12.50")),
        AdSpend(day=D5, campaign_id=3, product_id=None, currency="USD", spend=Decimal("4"), spend_usd=Decimal("4")),
    ])


def build(s) -> None:
    _reference(s)
    _batch(s, "A", 1, FEB1, 100, "35", "100")
    _batch(s, "C", 1, MAR1, 100, "49", "100")
    _batch(s, "B", 2, FEB1, 50, "70", "60", duty="40", defects=10)
    _order(s, 1, D2, "DE", 2, "EUR", 1.25, [(1, 2, "23.80", "22.50"), (2, 1, "35.70", "33.75")],
           items="59.50", discount="5.95", shipping="5.95", tax="9.50", total="59.50", refunded="19.00")
    _order(s, 2, D3, "US", 2, "USD", 1.0, [(2, 2, "60.00", "60.00")], items="60", total="60")
    _order(s, 3, D4, "US", 1, "USD", 1.0, [(1, 3, "30.00", "30.00")], items="30", total="30")
    _shipment(s, 1, 1, D2, "20.00")
    _shipment(s, 2, 1, D3, "18.00", duty="15.00")
    _shipment(s, 3, 2, D4, "9.00")
    _payment(s, "P1", 1, D2, "DE", 2, "card", "stripe", "59.50", "EUR", 1.25, "2.50", settled_on=D9,
             settled_usd_per_unit=1.20)
    _payment(s, "P2", 2, D3, "US", 2, "card", "stripe", "60", "USD", 1.0, "2.04", settled_on=D5,
             settled_usd_per_unit=1.0)
    _payment(s, "P3", 3, D4, "US", 1, "marketplace", "amazon", "30", "USD", 1.0, "4.50", status="disputed",
             disputed_on=dt.date(2026, 3, 20), dispute_reason="not_received", dispute_outcome="lost",
             dispute_fee_usd=Decimal("15.00"))
    s.add(Return(order_id=1, product_id=1, quantity=1, reason="damaged", requested_on=D9, refund_usd=Decimal("14.00"),
                 return_shipping_usd=Decimal("5.00"), restockable=False))
    _ads(s)
    s.add_all([InventorySnapshot(day=D2, warehouse_id=2, product_id=1, on_hand=1000),
               InventorySnapshot(day=D9, warehouse_id=2, product_id=1, on_hand=1000),
               InventorySnapshot(day=OCT5, warehouse_id=2, product_id=2, on_hand=500)])
    s.flush()


def _row(day, product_id, market, channel_id, *, orders=0, units=0, returned=0, uncosted=0, **amounts) -> dict:
    row = {"day": day, "product_id": product_id, "market_code": market, "channel_id": channel_id, "orders": orders,
           "units": units, "returned_units": returned, "uncosted_units": uncosted}
    row |= {name: float(amounts.get(name.removesuffix("_usd"), 0.0)) for name in MEASURES}
    row["contribution_usd"] = sum(row[name] for name in INCOME) - sum(row[name] for name in COSTS)
    return row


EXPECTED = [
    _row(D2, 1, "DE", 2, orders=1, units=2, returned=1, gross_sales=29.75, vat=4.275, discounts=2.975,
         net_revenue=22.50, shipping_income=2.50, product_cost=7.00, shipping=5.00, payment_fees=1.00,
         fx_cost=1.192, refunds=(14.00 + 2.00) * UNTAXED, return_shipping=5.00, write_off=7.00,
         unattributed_ads=5.00),
    _row(D2, 2, "DE", 2, orders=1, units=1, gross_sales=44.625, vat=6.4125, discounts=4.4625, net_revenue=33.75,
         shipping_income=3.75, product_cost=15.00, shipping=15.00, payment_fees=1.50, fx_cost=1.788,
         refunds=3.00 * UNTAXED, unattributed_ads=7.50),
    _row(D3, 2, "US", 2, orders=1, units=2, gross_sales=60.0, net_revenue=60.0, product_cost=30.00, shipping=18.00,
         payment_fees=2.04, duty=15.00),
    _row(D4, 1, "US", 1, orders=1, units=3, gross_sales=30.0, net_revenue=30.0, product_cost=21.00,
         fulfilment_fees=9.00, marketplace_fees=4.50, chargebacks=30.00, dispute_fees=15.00, advertising=6.00),
    _row(D5, 0, "US", 2, unattributed_ads=4.00),
    _row(D2, 1, "US", 1, storage=7.00),
    _row(D9, 1, "US", 1, storage=1.00),
    _row(OCT5, 2, "", 0, storage=3.00),
]


def ledger_rows(s) -> list[dict]:
    rows = [dict(r._mapping) for r in s.execute(select(DailyProfit.__table__))]
    for row in rows:
        for name in (*MEASURES, "contribution_usd"):
            row[name] = round(float(row[name]), 6)
    return sorted(rows, key=lambda r: (r["day"], r["product_id"], r["market_code"]))


def _rounded(rows: list[dict]) -> list[dict]:
    return sorted(({k: round(v, 6) if isinstance(v, float) else v for k, v in r.items()} for r in rows),
                  key=lambda r: (r["day"], r["product_id"], r["market_code"]))


@pytest.fixture
def dataset(engine):
    with unit_of_work(engine) as s:
        build(s)
        refresh_all(s)
    return engine


def test_the_ledger_matches_the_hand_worked_rows_to_the_cent(dataset):
    with unit_of_work(dataset) as s:
        assert ledger_rows(s) == _rounded(EXPECTED)


def test_unit_costs_are_the_moving_average_of_the_received_batches(dataset):
    with unit_of_work(dataset) as s:
        costs = [(r.product_id, r.valid_from, round(r.unit_cost_usd, 4), r.source)
                 for r in s.scalars(select(SkuCost).order_by(SkuCost.product_id, SkuCost.valid_from))]
    # SKU-1: batch A alone, both from Mar 1, C alone once A leaves the 180-day window (Jul 31), SKU-2: B throughout
    assert costs == [(1, FEB1, 6.0, "batches"), (1, MAR1, 7.0, "batches"), (1, dt.date(2026, 7, 31), 8.0, "batches"),
                     (2, FEB1, 15.0, "batches")]


def test_a_refresh_of_one_day_rewrites_that_day_only(dataset):
    with unit_of_work(dataset) as s:
        s.execute(update(Shipment).where(Shipment.order_id == 2).values(cost_usd=Decimal("28.00")))
        s.execute(update(Shipment).where(Shipment.order_id == 3).values(cost_usd=Decimal("99.00")))
        refresh_affected(s, {"shipments"}, D3, D3)
        moved = DailyProfit.shipping_usd + DailyProfit.fulfilment_fees_usd
        shipping = dict(s.execute(select(DailyProfit.day, func.sum(moved)).group_by(DailyProfit.day)).all())
    # A shipment shipped on Mar 3 belongs to an order placed on or before it: order days up to Mar 3 are
    # rebuilt, so order 3 (Mar 4), changed behind the ledger's back, keeps its old row.
    assert round(shipping[D3], 2) == 28.00 and round(shipping[D4], 2) == 9.00


def test_the_page_reads_add_up(dataset):
    with unit_of_work(dataset) as s:
        total = profit.totals(s, MARCH)
        steps = profit.waterfall(s, MARCH).set_index("key")
        by_sku = profit.table(s, MARCH, "sku").set_index("product_id")
    expected = sum(r["contribution_usd"] for r in EXPECTED if r["day"].month == 3)
    assert total["contribution"] == pytest.approx(expected, abs=1e-6)
    assert total["net_revenue"] == pytest.approx(22.50 + 33.75 + 60 + 30)
    # the waterfall walks from gross sales to the contribution: the last step ends where the costs took it
    costs_end = steps.loc["storage", "end"]
    assert costs_end == pytest.approx(steps.loc["contribution", "amount"], abs=1e-9)
    assert steps.loc["marketplace_fees", "amount"] == pytest.approx(-(4.50 + 9.00))  # FBA fulfilment shown with it
    assert steps.loc["net_revenue", "share"] == 1.0
    assert set(by_sku.index) == {0, 1, 2}
    assert by_sku["units"].to_dict() == {0: 0, 1: 5, 2: 3}
    assert by_sku["loss_maker"].to_dict() == {0: False, 1: True, 2: False}  # SKU-2 lost money on 3 units only


def test_a_loss_maker_needs_enough_units(dataset, monkeypatch):
    from core import thresholds
    with unit_of_work(dataset) as s:
        monkeypatch.setattr(thresholds, "LOSS_MAKER_MIN_UNITS", 3)
        table = profit.table(s, MARCH, "sku").set_index("product_id")
        assert table["loss_maker"].to_dict() == {0: False, 1: True, 2: True}
        monkeypatch.setattr(thresholds, "LOSS_MAKER_MIN_UNITS", 6)
        assert not profit.table(s, MARCH, "sku")["loss_maker"].any()


def test_without_a_marketplace_payout_the_fee_comes_from_the_dated_schedule(dataset):
    """The category's own rate wins from its date; before it, the channel's default."""
    with unit_of_work(dataset) as s:
        s.execute(delete(Payment).where(Payment.payment_ref == "P3"))
        s.add(MarketplaceFee(channel_id=1, category_id=1, valid_from=D4, referral_rate=0.08))
        s.flush()
        refresh_all(s)
        row = s.execute(select(DailyProfit.marketplace_fees_usd, DailyProfit.marketplace_fees_estimated_usd)
                        .where(DailyProfit.day == D4, DailyProfit.product_id == 1)).one()
        assert (round(row[0], 2), round(row[1], 2)) == (2.40, 2.40)  # 30.00 x 8 %
        s.execute(update(MarketplaceFee).where(MarketplaceFee.category_id == 1).values(valid_from=D5))
        refresh_all(s)
        steps = profit.waterfall(s, MARCH).set_index("key")
        assert steps.loc["marketplace_fees", "basis"] == "partly_estimated"
        assert steps.loc["marketplace_fees", "amount"] == pytest.approx(-(4.50 + 9.00))  # 15 % default


def test_a_sale_without_a_known_cost_is_counted_and_listed_not_costed_silently(dataset):
    with unit_of_work(dataset) as s:
        s.execute(delete(InboundShipment).where(InboundShipment.product_id == 2))
        refresh_all(s)
        listed = profit.uncosted_sales(s, MARCH)
        total = profit.totals(s, MARCH)
    assert listed[["sku", "units"]].values.tolist() == [["SKU-2", 3]]
    assert total["uncosted_units"] == 3


def _manager(s) -> None:
    users.create_user(s, "boss", "a-long-password-1", "manager")
    users.create_user(s, "reader", "a-long-password-2", "viewer")


def test_a_manager_enters_a_cost_and_the_ledger_uses_it_from_that_day_audited(dataset):
    with unit_of_work(dataset) as s:
        s.execute(delete(InboundShipment).where(InboundShipment.product_id == 2))
        refresh_all(s)
        _manager(s)
        profit.record_cost(s, "boss", "SKU-2", D3, 12.5, "quote from supplier", today=D9)
        assert profit.totals(s, Filters(D3, D3))["product_cost"] == pytest.approx(25.00)
        assert profit.totals(s, Filters(D2, D2))["uncosted_units"] == 1  # before the entry's date
        profit.record_cost(s, "boss", "SKU-2", D3, 13, today=D9)
        audited = select(AuditEvent).where(AuditEvent.entity == "product_cost").order_by(AuditEvent.id)
        events = [json.loads(e.detail) | {"action": e.action, "who": e.username} for e in s.scalars(audited)]
    assert [(e["action"], e["who"], e["before"], e["after"]) for e in events] == [
        ("create", "boss", None, 12.5), ("update", "boss", 12.5, 13.0)]


@pytest.mark.parametrize(("actor", "sku", "day", "cost", "field"), [
    ("boss", "NOPE", D3, 10, "sku"),
    ("boss", "SKU-2", dt.date(2026, 3, 10), 10, "valid_from"),  # after today (Mar 9)
    ("boss", "SKU-2", D3, -1, "unit_cost_usd"),
    ("boss", "SKU-2", D3, 0, "unit_cost_usd"),
    ("boss", "SKU-2", D3, float("nan"), "unit_cost_usd"),
    ("boss", "SKU-2", D3, "ten", "unit_cost_usd"),
    ("boss", "SKU-2", D3, 50_000, "unit_cost_usd"),
    ("boss", "SKU-1", D3, 10, "valid_from"),  # SKU-1 has purchase batches from Feb 1
])
def test_a_bad_cost_entry_is_refused_naming_the_field(dataset, actor, sku, day, cost, field):
    with unit_of_work(dataset) as s:
        _manager(s)
        with pytest.raises(profit.CostEntryError) as refused:
            profit.record_cost(s, actor, sku, day, cost, today=D9)
        assert refused.value.field == field
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.entity == "product_cost")) == 0


@pytest.mark.parametrize("actor", ["reader", None, "nobody"])
def test_only_managers_enter_costs_checked_in_core(dataset, actor):
    with unit_of_work(dataset) as s:
        _manager(s)
        with pytest.raises(users.PermissionDenied):
            profit.record_cost(s, actor, "SKU-2", D3, 10, today=D9)


def test_the_monthly_trend_marks_partly_covered_months(dataset):
    with unit_of_work(dataset) as s:
        trend = profit.monthly(s, Filters(D2, OCT5))
    assert trend["month"].dt.month.tolist() == [3, 10]
    assert trend["partial"].tolist() == [True, True]
    with unit_of_work(dataset) as s:
        assert profit.monthly(s, MARCH)["partial"].tolist() == [False]


def test_the_reporting_currency_converts_at_each_days_rate(dataset):
    with unit_of_work(dataset) as s:
        usd = profit.totals(s, MARCH)
        eur = profit.totals(s, Filters(MARCH.start, MARCH.end, currency="EUR"))
    assert eur["contribution"] == pytest.approx(usd["contribution"] * 0.8)


def test_counts_and_measures_are_all_in_the_union(dataset):
    """Every column of daily_profit is written by the refresher: none left at a default."""
    assert set(COUNTS) | set(MEASURES) | {"contribution_usd", "day", "product_id", "market_code", "channel_id"} == \
        {c.name for c in DailyProfit.__table__.columns}


# --- invariants on the seeded database ---------------------------------------------------------------------------


def _sum(s, *columns) -> float:
    return float(s.scalar(select(func.coalesce(func.sum(sum(columns[1:], columns[0])), 0))) or 0)


def test_on_the_seeded_database_the_lines_add_up_to_the_contribution(seeded_engine):
    with unit_of_work(seeded_engine) as s:
        income = _sum(s, *[getattr(DailyProfit, name) for name in INCOME])
        costs = _sum(s, *[getattr(DailyProfit, name) for name in COSTS])
        contribution = _sum(s, DailyProfit.contribution_usd)
        steps = profit.waterfall(s, Filters(dt.date(2024, 1, 1), dt.date(2026, 12, 31))).set_index("key")
    assert contribution == pytest.approx(income - costs, abs=0.005)
    assert steps.loc["storage", "end"] == pytest.approx(steps.loc["contribution", "amount"], abs=0.005)


def test_on_the_seeded_database_each_allocation_sums_back_to_its_source(seeded_engine):
    from core.platform.models import DailySales

    with unit_of_work(seeded_engine) as s:
        live = select(Order.id).where(Order.status != "cancelled")
        shipped = float(s.scalar(select(func.sum(Shipment.cost_usd)).where(Shipment.order_id.in_(live))))
        duty = float(s.scalar(select(func.sum(Shipment.duty_usd + Shipment.import_vat_usd))
                              .where(Shipment.order_id.in_(live))) or 0)
        spent = float(s.scalar(select(func.sum(AdSpend.spend_usd))) or 0)
        checks = {
            "net revenue = the Overview's (daily_sales)": (_sum(s, DailyProfit.net_revenue_usd),
                                                          _sum(s, DailySales.net_revenue_usd)),
            "shipping + FBA fulfilment = shipments": (_sum(s, DailyProfit.shipping_usd,
                                                           DailyProfit.fulfilment_fees_usd), shipped),
            "duty = duty on shipments": (_sum(s, DailyProfit.duty_usd), duty),
            "advertising = ad spend": (_sum(s, DailyProfit.advertising_usd, DailyProfit.unattributed_ads_usd), spent),
            "storage = snapshots x volume x rate": (_sum(s, DailyProfit.storage_usd), _storage_by_hand(s)),
        }
    assert {name: round(a - b, 2) for name, (a, b) in checks.items()} == {name: 0.0 for name in checks}
    assert spent > 0 and checks["storage = snapshots x volume x rate"][1] > 0  # the seed holds both


def _storage_by_hand(s) -> float:
    """Each snapshot's units x m³ x the month's rate x days to the next snapshot (1 for the last) / days a month."""
    import pandas as pd

    from core.platform.queries import frame

    snaps = frame(s, select(InventorySnapshot.day, InventorySnapshot.warehouse_id, InventorySnapshot.product_id,
                            InventorySnapshot.on_hand, (Product.length_cm * Product.width_cm * Product.height_cm
                                                        / 1e6).label("m3"))
                  .join(Product, Product.id == InventorySnapshot.product_id))
    rates = frame(s, select(StorageRate.warehouse_id, StorageRate.valid_from, StorageRate.valid_to,
                            StorageRate.usd_per_m3_month, StorageRate.peak_usd_per_m3_month))
    snaps["day"] = pd.to_datetime(snaps["day"])
    snaps = snaps.sort_values(["warehouse_id", "product_id", "day"])
    following = snaps.groupby(["warehouse_id", "product_id"])["day"].shift(-1)
    snaps["days"] = (following - snaps["day"]).dt.days.fillna(1)
    total = 0.0
    for row in snaps.itertuples():
        day = row.day.date()
        for rate in rates[rates["warehouse_id"] == row.warehouse_id].itertuples():
            if rate.valid_from <= day and (rate.valid_to is None or pd.isna(rate.valid_to) or day < rate.valid_to):
                monthly = rate.peak_usd_per_m3_month if day.month in (10, 11, 12) else rate.usd_per_m3_month
                if row.on_hand > 0:
                    total += row.on_hand * row.m3 * monthly * row.days / (365.25 / 12)
    return total


@pytest.mark.parametrize(("start", "end"), [
    (dt.date(2026, 8, 23), dt.date(2026, 11, 20)),  # partial months at both ends: two months + edge days
    (dt.date(2026, 9, 1), dt.date(2026, 10, 31)),  # whole months only
    (dt.date(2026, 9, 3), dt.date(2026, 9, 17)),  # inside one month: daily rows only
])
def test_the_roll_ups_give_the_figures_of_the_daily_ledger(seeded_engine, start, end):
    """Totals read the day x market x channel roll-up and SKU cuts whole months from the monthly one: each must
    equal the same sums over daily_profit itself."""
    filters = Filters(start, end)
    by_hand = (select(DailyProfit.product_id, DailyProfit.market_code, DailyProfit.channel_id,
                      func.sum(DailyProfit.units), func.sum(DailyProfit.contribution_usd),
                      func.sum(DailyProfit.storage_usd))
               .where(DailyProfit.day >= start, DailyProfit.day <= end)
               .group_by(DailyProfit.product_id, DailyProfit.market_code, DailyProfit.channel_id))
    with unit_of_work(seeded_engine) as s:
        expected = {(p, m, c): (u, round(k, 6), round(st, 6)) for p, m, c, u, k, st in s.execute(by_hand)}
        table = profit.table(s, filters, "sku_market_channel")
        total = profit.totals(s, filters)
    got = {(r.product_id, r.market_code, r.channel_id): (r.units, round(r.contribution, 6), round(r.storage, 6))
           for r in table.itertuples()}
    assert got == expected
    assert total["contribution"] == pytest.approx(sum(v[1] for v in expected.values()), abs=1e-4)  # float sums


def test_the_risk_pages_currency_exposure_reads_the_ledger(dataset):
    """March: EUR revenue 56.25 + 6.25 shipping charged; USD 90. Paid in CNY: product cost 7 + 15 + 30 + 21 and
    the written-off unit 7; in USD: shipping 5 + 15 + 18, FBA fulfilment 9, duty 15."""
    from core import risk

    with unit_of_work(dataset) as s:
        exposure = risk.currency_exposure(s, MARCH).set_index("currency")
    assert exposure[["revenue", "costs", "net"]].round(6).to_dict("index") == {
        "USD": {"revenue": 90.0, "costs": 62.0, "net": 28.0},
        "EUR": {"revenue": 62.5, "costs": 0.0, "net": 62.5},
        "CNY": {"revenue": 0.0, "costs": 80.0, "net": -80.0},
    }


def test_an_import_moves_the_ledger_on_its_days_and_its_undo_takes_it_out_again(dataset):
    """A second payment on order 2 (Mar 3, gateway fee 3.00) lands on that order's row; undone, the ledger is the
    hand-worked one again."""
    from core.imports.importers import ImportOptions, import_file, undo_import

    body = ("payment_ref,channel,market,attempted_at,amount,currency,status,fee_amount,order_ref\r\n"
            "ch_9,shopify,US,2026-03-03 12:00:00,60,USD,succeeded,3.00,O-2\r\n")
    with unit_of_work(dataset) as s:
        users.create_user(s, "stafford", "a-long-password-3", "staff")
        batch = import_file(s, "stafford", "payments.csv", body.encode(), ImportOptions()).batch_id
    with unit_of_work(dataset) as s:
        after = {(r["day"], r["product_id"], r["market_code"]): r for r in ledger_rows(s)}
    before = {(r["day"], r["product_id"], r["market_code"]): r for r in _rounded(EXPECTED)}
    moved = {key for key in before if after[key] != before[key]}
    assert moved == {(D3, 2, "US")}
    assert after[(D3, 2, "US")]["payment_fees_usd"] == pytest.approx(2.04 + 3.00)
    assert after[(D3, 2, "US")]["contribution_usd"] == pytest.approx(before[(D3, 2, "US")]["contribution_usd"] - 3.00)
    with unit_of_work(dataset) as s:
        undo_import(s, "stafford", batch)
    with unit_of_work(dataset) as s:
        assert ledger_rows(s) == _rounded(EXPECTED)
