"""Import of recognised exports: all-or-nothing, idempotent, audited, undoable (issue 8)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, func, inspect, select

from core.imports import importers, sql
from core.imports.importers import ImportOptions, UndoRefused, import_file, import_history, undo_import
from core.imports.parsing import UploadError
from core.platform.db import unit_of_work
from core.platform.models import (
    AuditEvent,
    Customer,
    DailySales,
    ImportBatch,
    ImportRow,
    Order,
    OrderLine,
    Payment,
    Product,
    Shipment,
    Ticket,
)
from core.platform.users import PermissionDenied, create_user
from tests import factories

REAL = Path(__file__).resolve().parent / "fixtures" / "real"  # see its PROVENANCE.md
DAY = dt.date(2026, 3, 1)


def real(name: str) -> bytes:
    return (REAL / name).read_bytes()


@pytest.fixture
def db(engine):
    with unit_of_work(engine) as session:
        factories.reference_rows(session)  # markets US (USD), DE (EUR); channels amazon=1, shopify=2
        factories.fx(session, DAY, "EUR", 0.8)  # 0.8 EUR per USD -> 1 EUR = 1.25 USD
        factories.fx(session, DAY + dt.timedelta(days=1), "EUR", 0.5)  # 1 EUR = 2 USD
        create_user(session, "stafford", "password-1", "staff")
        create_user(session, "vic", "password-1", "viewer")
    return engine


def run_import(engine, data: bytes, name: str = "file.csv", actor: str = "stafford", **options):
    with unit_of_work(engine) as session:
        return import_file(session, actor, name, data, ImportOptions(**options))


def count(engine, model) -> int:
    with unit_of_work(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


ORDERS_HEADER = "channel,order_ref,market,ordered_at,currency,order_total,items_total,tax_total,status\r\n"
ORDERS = ORDERS_HEADER + (
    "amazon,A-1,DE,2026-03-01 10:00:00,EUR,100.00,84.03,15.97,completed\r\n"
    "amazon,A-2,Germany,2026-03-02 11:00:00,EUR,10.00,,,\r\n"
    "shopify,#1001,US,2026-03-01 12:00:00,USD,25.50,25.50,0,refunded\r\n"
)


def test_template_orders_hand_worked(db):
    result = run_import(db, ORDERS.encode(), "orders.csv")
    assert (result.inserted, result.updated, result.skipped) == (3, 0, 0)
    with unit_of_work(db) as session:
        a1 = session.scalar(select(Order).where(Order.order_ref == "A-1"))
        a2 = session.scalar(select(Order).where(Order.order_ref == "A-2"))
        # EUR 100 at 0.8 EUR per USD -> 100 / 0.8 = USD 125.00
        assert (a1.channel_id, a1.market_code, a1.currency) == (1, "DE", "EUR")
        assert a1.gmv_usd == Decimal("125.00") and a1.usd_per_unit == pytest.approx(1.25)
        # A-2 on 2026-03-02: 0.5 EUR per USD -> 10 / 0.5 = USD 20; items default to the total; status default
        assert a2.gmv_usd == Decimal("20.00") and a2.items_total == Decimal("10.00") and a2.status == "completed"
        assert a1.import_batch_id == result.batch_id
        sales = {(r.day, r.market_code): r.gmv_usd for r in session.scalars(select(DailySales))}
        # summaries refreshed inside the import: 2026-03-01 DE 125 and US 25.50
        assert sales[(DAY, "DE")] == pytest.approx(125.0) and sales[(DAY, "US")] == pytest.approx(25.5)


def test_same_file_twice_changes_nothing_and_both_are_audited(db):
    first = run_import(db, ORDERS.encode(), "orders.csv")
    second = run_import(db, ORDERS.encode(), "orders-copy.csv")
    assert (second.inserted, second.updated, second.skipped) == (0, 0, 3)
    assert count(db, Order) == 3
    with unit_of_work(db) as session:
        batches = session.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()
        assert [(b.file_name, b.rows_inserted, b.rows_skipped, b.username) for b in batches] == [
            ("orders.csv", 3, 0, "stafford"), ("orders-copy.csv", 0, 3, "stafford")]
        assert batches[0].content_sha256 == importers.sha256(ORDERS.encode()) and len(batches[0].content_sha256) == 64
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "import_batch")) == 2
    assert first.batch_id != second.batch_id


def test_changed_rows_update_and_undo_restores_them(db):
    run_import(db, ORDERS.encode(), "orders.csv")
    changed = ORDERS_HEADER + "amazon,A-1,DE,2026-03-02 10:00:00,EUR,200.00,168.06,31.94,refunded\r\n" \
        "amazon,A-9,DE,2026-03-01 10:00:00,EUR,8.00,8.00,0,completed\r\n"
    result = run_import(db, changed.encode(), "orders-v2.csv")
    assert (result.inserted, result.updated, result.skipped) == (1, 1, 0)
    with unit_of_work(db) as session:
        a1 = session.scalar(select(Order).where(Order.order_ref == "A-1"))
        assert (a1.gmv_usd, a1.status, a1.order_date) == (Decimal("400.00"), "refunded", dt.date(2026, 3, 2))
        before = json.loads(session.scalar(select(ImportRow.before_json).where(ImportRow.action == "updated")))
        assert before["order_total"] == "100.00"
    with unit_of_work(db) as session:
        undone = undo_import(session, "stafford", result.batch_id)
    assert (undone.deleted, undone.restored) == (1, 1)
    with unit_of_work(db) as session:
        a1 = session.scalar(select(Order).where(Order.order_ref == "A-1"))
        assert (a1.gmv_usd, a1.status, a1.order_date) == (Decimal("125.00"), "completed", DAY)
        assert session.scalar(select(Order).where(Order.order_ref == "A-9")) is None
        assert session.get(ImportBatch, result.batch_id).status == "undone"
        sales = {(r.day, r.market_code): r.gmv_usd for r in session.scalars(select(DailySales))}
        assert sales[(DAY, "DE")] == pytest.approx(125.0)  # back to A-1's original 125; A-9's 16 gone


def test_undo_refuses_while_a_later_import_changed_the_same_rows(db):
    first = run_import(db, ORDERS.encode(), "orders.csv")
    changed = ORDERS_HEADER + "amazon,A-1,DE,2026-03-01 10:00:00,EUR,90.00,90.00,0,completed\r\n"
    second = run_import(db, changed.encode(), "fix.csv")
    with unit_of_work(db) as session, pytest.raises(UndoRefused, match=f"undo import {second.batch_id} first"):
        undo_import(session, "stafford", first.batch_id)
    with unit_of_work(db) as session:
        undo_import(session, "stafford", second.batch_id)
    with unit_of_work(db) as session:
        undo_import(session, "stafford", first.batch_id)
    assert count(db, Order) == 0
    with unit_of_work(db) as session, pytest.raises(UndoRefused, match="already undone"):
        undo_import(session, "stafford", first.batch_id)


def test_viewers_cannot_import_or_undo(db):
    with pytest.raises(PermissionDenied):
        run_import(db, ORDERS.encode(), actor="vic")
    batch = run_import(db, ORDERS.encode()).batch_id
    with unit_of_work(db) as session, pytest.raises(PermissionDenied):
        undo_import(session, "vic", batch)
    assert count(db, Order) == 3


GOOD_FIRST = "shopify,#1,US,2026-03-01 10:00:00,USD,5,,,\r\n"  # line 2: every bad row below starts at line 3
BAD_ORDERS = [
    ("unparseable number", "amazon,A-1,DE,2026-03-01 10:00:00,EUR,12x,,,\r\n",
     "bad.csv, line 3, column order_total: '12x' is not a number."),
    ("unparseable date", "amazon,A-1,DE,2026-03-01 10:00:00,EUR,1,,,\r\namazon,A-2,DE,yesterday,EUR,1,,,\r\n",
     "bad.csv, line 4, column ordered_at: 'yesterday' is not a date."),
    ("unknown currency", "amazon,A-1,DE,2026-03-01 10:00:00,EUR,1,,,\r\namazon,A-2,DE,2026-03-01 10:00:00,XYZ,1,,,\r\n",
     "bad.csv, line 4, column currency: unknown currency 'XYZ'"),
    ("unknown market", "amazon,A-1,Atlantis,2026-03-01 10:00:00,EUR,1,,,\r\n",
     "bad.csv, line 3, column market: 'Atlantis' is not a market we sell in"),
    ("unknown channel", "wish,A-1,DE,2026-03-01 10:00:00,EUR,1,,,\r\n",
     "bad.csv, line 3, column channel: 'wish' is not one of amazon, shopify"),
    ("missing key", "amazon,,DE,2026-03-01 10:00:00,EUR,1,,,\r\n",
     "bad.csv, line 3, column order_ref: a value is required."),
    ("bad status", "amazon,A-1,DE,2026-03-01 10:00:00,EUR,1,,,lost\r\n",
     "bad.csv, line 3, column status: 'lost' is not one of"),
    ("conflicting duplicate",
     "amazon,A-1,DE,2026-03-01 10:00:00,EUR,1,,,\r\namazon,A-1,DE,2026-03-01 10:00:00,EUR,2,,,\r\n",
     "bad.csv, lines 3 and 4: the same 1|A-1 appears twice with different values."),
]


@pytest.mark.parametrize(("body", "message"), [b[1:] for b in BAD_ORDERS], ids=[b[0] for b in BAD_ORDERS])
def test_bad_rows_are_named_and_nothing_is_written(db, body, message):
    with pytest.raises(UploadError) as caught:
        run_import(db, (ORDERS_HEADER + GOOD_FIRST + body).encode(), "bad.csv")
    assert str(caught.value).startswith(message), str(caught.value)
    assert count(db, Order) == 0 and count(db, ImportBatch) == 0


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty.csv is empty."),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10, "empty.csv is not a text file"),
    (ORDERS_HEADER.encode(), "empty.csv has a header but no data rows."),
    (b"x,y\r\n1,2\r\n", "empty.csv is not an export we can import"),
    (ORDERS_HEADER.replace(",order_total", "").encode() + b"amazon,A,DE,2026-03-01,EUR,1,1,x\r\n",
     "empty.csv: required fields are missing: order_total"),
])
def test_unimportable_files_are_explained(db, data, message):
    with pytest.raises(UploadError) as caught:
        run_import(db, data, "empty.csv")
    assert str(caught.value).startswith(message)
    assert count(db, ImportBatch) == 0


def test_shopify_export_twice_real_fixture(db):
    data = real("shopify_orders_export_us.csv")
    first = run_import(db, data, "orders_export_1.csv")
    # 98 rows are 81 orders: extra line items of an order leave order-level cells empty
    assert (first.kind, first.inserted, first.updated, first.skipped) == ("shopify_orders", 81, 0, 0)
    second = run_import(db, data, "orders_export_1.csv")
    assert (second.inserted, second.updated, second.skipped) == (0, 0, 81)
    with unit_of_work(db) as session:
        order = session.scalar(select(Order).where(Order.order_ref == "#1081"))
        # Total 37.74 USD, placed 2022-04-06 21:52:39 -0400 = 2022-04-07 01:52:39 UTC
        assert (order.gmv_usd, order.channel_id, order.market_code) == (Decimal("37.74"), 2, "US")
        assert order.ordered_at == dt.datetime(2022, 4, 7, 1, 52, 39)
        # #1076: one item at 35.00, discount 1.75; Shopify's Subtotal 33.25 is after it, items_total before it
        discounted = session.scalar(select(Order).where(Order.order_ref == "#1076"))
        assert (discounted.items_total, discounted.discount_total, discounted.order_total) == (
            Decimal("35.00"), Decimal("1.75"), Decimal("33.25"))
        statuses = dict(session.execute(select(Order.status, func.count()).group_by(Order.status)).all())
        assert statuses == {"completed": 80, "partially_refunded": 1}


def test_stripe_payments_real_fixture_with_a_default_channel(db):
    data = real("stripe_unified_payments_usd.csv")
    with pytest.raises(UploadError, match="required fields are missing: channel"):
        run_import(db, data, "unified_payments.csv")
    result = run_import(db, data, "unified_payments.csv", defaults={"channel": "shopify"})
    assert (result.kind, result.inserted) == ("stripe_payments", 48)
    with unit_of_work(db) as session:
        payment = session.scalar(select(Payment).where(Payment.payment_ref == "py_3SufV3HlpPKyNF700nFb9Qnf"))
        # usd 25.00, fee 1.03; market US from the one-market currency USD
        assert (payment.amount_usd, payment.fee_usd, payment.market_code, payment.status) == (
            Decimal("25.00"), Decimal("1.03"), "US", "succeeded")
    assert run_import(db, data, "again.csv", defaults={"channel": "shopify"}).skipped == 48


def test_uci_invoices_need_our_markets_or_skip_the_others(db):
    data = real("uci_online_retail_sample.csv")
    with pytest.raises(UploadError, match=r"column Country: '.+' is not a market we sell in"):
        run_import(db, data, "uci.csv", defaults={"channel": "shopify"})
    with pytest.raises(UploadError, match="unknown currency 'GBP'"):  # the test DB has no GBP rate
        run_import(db, data, "uci.csv", defaults={"channel": "shopify", "market": ""}, skip_unknown_markets=True)


PAYMENT_FOR_A1 = ("payment_ref,channel,market,attempted_at,amount,currency,status,fee_amount,order_ref\r\n"
                  "ch_1,amazon,DE,2026-03-01 10:00:00,100,EUR,succeeded,2.00,A-1\r\n")
SHIPMENT_FOR_A1 = ("tracking_number,channel,order_ref,warehouse,carrier,service,status,cost_usd,promised_days,"
                   "shipped_at,delivered_at\r\n"
                   "1Z1,amazon,A-1,CN-SZ,DHL,dhl_express,delivered,12.40,7,2026-03-01 09:00:00,2026-03-05 15:00:00\r\n")


def test_payments_tickets_and_shipments_templates(db):
    run_import(db, ORDERS.encode(), "orders.csv")
    payments = PAYMENT_FOR_A1
    tickets = ("ticket_ref,market,channel,reason,created_at,first_response_at,csat\r\n"
               "T-1,US,email,where_is_my_order,2026-03-01 08:00:00,2026-03-01 10:00:00,4\r\n")
    shipments = SHIPMENT_FOR_A1
    for body, model in ((payments, Payment), (tickets, Ticket), (shipments, Shipment)):
        assert run_import(db, body.encode(), "t.csv").inserted == 1
        assert run_import(db, body.encode(), "t.csv").skipped == 1
        assert count(db, model) == 1
    with unit_of_work(db) as session:
        payment = session.scalar(select(Payment))
        a1 = session.scalar(select(Order.id).where(Order.order_ref == "A-1"))
        assert (payment.order_id, payment.amount_usd, payment.fee_usd) == (a1, Decimal("125.00"), Decimal("2.50"))
        assert session.scalar(select(Shipment)).ship_date == DAY
    bad = shipments.replace("A-1", "A-404").replace("1Z1", "1Z2")
    with pytest.raises(UploadError, match="line 2, column order_ref: order 'A-404' is not in the dashboard"):
        run_import(db, bad.encode(), "s.csv")
    with unit_of_work(db) as session:
        batches = import_history(session)
        last_payments = int(batches[batches["kind"] == "template_payments"]["id"].min())
        undo_import(session, "stafford", last_payments)
    assert count(db, Payment) == 0


@pytest.mark.parametrize(("dependent", "model"), [(PAYMENT_FOR_A1, Payment), (SHIPMENT_FOR_A1, Shipment)])
def test_undo_of_orders_refuses_while_later_imports_hang_rows_on_them(db, dependent, model):
    orders = run_import(db, ORDERS.encode(), "orders.csv")
    later = run_import(db, dependent.encode(), "later.csv")
    with unit_of_work(db) as session, pytest.raises(UndoRefused, match="1 shipments, payments or tickets"):
        undo_import(session, "stafford", orders.batch_id)
    assert count(db, Order) > 0 and count(db, model) == 1  # nothing was deleted
    with unit_of_work(db) as session:
        undo_import(session, "stafford", later.batch_id)
        undo_import(session, "stafford", orders.batch_id)
    assert count(db, Order) == 0 and count(db, model) == 0


def test_undo_of_a_deleted_updated_row_refuses(db):
    run_import(db, ORDERS.encode(), "orders.csv")
    changed = ORDERS_HEADER + "amazon,A-2,DE,2026-03-02 11:00:00,EUR,11.00,,,\r\n"
    batch = run_import(db, changed.encode(), "fix.csv").batch_id
    with unit_of_work(db) as session:
        session.delete(session.scalar(select(Order).where(Order.order_ref == "A-2")))
    with unit_of_work(db) as session, pytest.raises(UndoRefused, match="was deleted since"):
        undo_import(session, "stafford", batch)
    with unit_of_work(db) as session:
        assert session.get(ImportBatch, batch).status == "applied"


# --- line items, customers, the Amazon order report --------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parent / "fixtures"
AMAZON = (FIXTURES / "amazon_all_orders_report.txt").read_bytes()
SHOPIFY_HEADER = ("Name,Email,Financial Status,Currency,Subtotal,Shipping,Taxes,Total,Discount Amount,Created at,"
                  "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Shipping Country\r\n")
SHOPIFY = SHOPIFY_HEADER + (
    "#2001,Ann@Example.com,paid,USD,27.00,5.00,0.00,32.00,3.00,2026-03-01 10:00:00 +0000,2,USB-C cable,10.00,"
    "CBL-USB-C-1M,US\r\n"
    "#2001,Ann@Example.com,,,,,,,,,1,Phone case,10.00,PHN-CASE-BLK,\r\n"
    "#2002,bo@example.com,paid,USD,5.00,0.00,0.00,5.00,0.00,2026-03-01 12:00:00 +0000,1,Mystery box,5.00,ZZZ-404,US\r\n"
)
SHOPIFY_LATER = SHOPIFY_HEADER + (  # Ann's second order, in a later export
    "#2003,ann@example.com,paid,USD,10.00,0.00,0.00,10.00,0.00,2026-03-02 09:00:00 +0000,1,Phone case,10.00,"
    "PHN-CASE-BLK,US\r\n")
SHOPIFY_EARLIER = SHOPIFY_HEADER + (  # ... and one from before, imported last
    "#1999,ann@example.com,paid,USD,10.00,0.00,0.00,10.00,0.00,2026-02-27 09:00:00 +0000,1,Phone case,10.00,"
    "PHN-CASE-BLK,US\r\n")
CNY_PER_USD = 7.0


@pytest.fixture
def shop(db):
    """db plus a catalogue: CBL-USB-C-1M costs CNY 8.00, PHN-CASE-BLK CNY 6.30; CNY 7.0 per USD."""
    with unit_of_work(db) as session:
        factories.fx(session, DAY, "CNY", CNY_PER_USD)
        for product_id, sku, cost in ((2, "CBL-USB-C-1M", "8.00"), (3, "PHN-CASE-BLK", "6.30")):
            session.add(Product(id=product_id, sku=sku, name=sku, category_id=1, supplier_id=1,
                                unit_cost_cny=Decimal(cost), list_price_usd=Decimal("15"), weight_kg=0.1,
                                length_cm=10, width_cm=5, height_cm=2))
    return db


def stored_lines(engine) -> dict[tuple[str, str], tuple]:
    with unit_of_work(engine) as session:
        rows = session.execute(select(Order.order_ref, Product.sku, OrderLine.quantity, OrderLine.unit_price,
                                      OrderLine.line_total, OrderLine.revenue_usd, OrderLine.cogs_usd)
                               .join(Order, Order.id == OrderLine.order_id)
                               .join(Product, Product.id == OrderLine.product_id)).all()
    return {(ref, sku): (qty, *(str(v) for v in money)) for ref, sku, qty, *money in rows}


def table_counts(engine) -> tuple[int, int, int]:
    return count(engine, Order), count(engine, OrderLine), count(engine, Customer)


# COGS = quantity × unit_cost_cny / CNY per USD × (1 + DEFAULT_LANDED_SHARE 0.115); no product has a line yet.
#   CBL × 2: 8.00 × 2 / 7 × 1.115 = 2.5486 -> 2.55    CBL × 1: 1.2743 -> 1.27
#   PHN × 1: 6.30 / 7 × 1.115 = 1.0035 -> 1.00
# revenue = line total × (1 − order discount / order line totals) × net of VAT × USD per unit
LINE_CASES = {
    # Shopify #2001 (US, USD): lines 20 + 10 = 30, discount 3 -> 90 % kept; US prices exclude tax
    #   cable 20 × 0.9 = 18.00; case 10 × 0.9 = 9.00. #2002's SKU is unknown: no line.
    "shopify": (SHOPIFY.encode(), {
        ("#2001", "CBL-USB-C-1M"): (2, "10.00", "20.00", "18.00", "2.55"),
        ("#2001", "PHN-CASE-BLK"): (1, "10.00", "10.00", "9.00", "1.00")},
        # day totals (market, channel): orders, units, GMV, net revenue, COGS
        {("US", 2): (2, 3, 37.0, 27.0, 3.55)}),
    # Amazon 302-1111111 (DE, EUR at 0.8 per USD = USD 1.25): item-price is the line total and includes 19 % VAT;
    #   lines 19.98 + 12.99 = 32.97, promotion |−1.30| -> 1 − 1.30 / 32.97 = 0.960570 kept
    #   cable 19.98 × 0.960570 / 1.19 × 1.25 = 20.16 (unit 19.98 / 2 = 9.99); case 12.99 × ... = 13.11
    #   GMV (32.97 − 1.30) × 1.25 = 39.59
    # 113-3333333 (US): case 14.99, no discount, tax on top -> revenue 14.99; GMV 14.99 + 3.99 shipping + 1.05
    #   + 0.28 tax = 20.31. 113-4444444: stand unknown, cable cancelled by Amazon -> no line; GMV 24.00 + 1.92.
    # 302-2222222 is still Pending (no price yet): not imported. 302-5555555 cancelled: no line.
    "amazon": (AMAZON, {
        ("302-1111111-1111111", "CBL-USB-C-1M"): (2, "9.99", "19.98", "20.16", "2.55"),
        ("302-1111111-1111111", "PHN-CASE-BLK"): (1, "12.99", "12.99", "13.11", "1.00"),
        ("113-3333333-3333333", "PHN-CASE-BLK"): (1, "14.99", "14.99", "14.99", "1.00")},
        {("DE", 1): (1, 3, 39.59, 33.27, 3.55), ("US", 1): (2, 1, 46.23, 14.99, 1.0)}),
}


@pytest.mark.parametrize("case", LINE_CASES)
def test_line_items_become_order_lines_with_units_and_cogs(shop, case):
    data, lines, day_totals = LINE_CASES[case]
    result = run_import(shop, data, f"{case}.txt")
    assert (result.lines_inserted, result.lines_updated) == (len(lines), 0)
    assert stored_lines(shop) == lines
    with unit_of_work(shop) as session:
        sales = {(r.market_code, r.channel_id): (r.orders, r.units, round(r.gmv_usd, 2), round(r.net_revenue_usd, 2),
                                                 round(r.cogs_usd, 2))
                 for r in session.scalars(select(DailySales).where(DailySales.day == DAY))}
    assert sales == day_totals


def test_amazon_order_report_orders(shop):
    result = run_import(shop, AMAZON, "All Orders Report.txt")
    # the Pending order's one row is left out, and reported as pending (not as unchanged: issue 17)
    assert (result.kind, result.inserted, result.updated, result.skipped, result.pending_orders) == (
        "amazon_orders", 4, 0, 0, 1)
    with unit_of_work(shop) as session:
        orders = {o.order_ref: (o.channel_id, o.market_code, o.status, str(o.order_total), str(o.tax_total),
                                str(o.gmv_usd), o.order_date) for o in session.scalars(select(Order))}
    second = DAY + dt.timedelta(days=1)
    assert orders == {
        "302-1111111-1111111": (1, "DE", "completed", "31.67", "5.26", "39.59", DAY),  # VAT inside the price
        "113-3333333-3333333": (1, "US", "completed", "20.31", "1.33", "20.31", DAY),  # 1.05 + 0.28 tax on top
        "113-4444444-4444444": (1, "US", "completed", "25.92", "1.92", "25.92", DAY),  # cancelled item left out
        "302-5555555-5555555": (1, "DE", "cancelled", "0.00", "0.00", "0.00", second),  # market from Amazon.de
    }
    with unit_of_work(shop) as session:
        detail = json.loads(session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "import")))
    assert detail["pending_orders"] == 1


def test_a_pending_amazon_order_imports_once_a_later_report_prices_it(shop):
    run_import(shop, AMAZON, "All Orders Report.txt")
    assert AMAZON.count(b"\tPending\t") == AMAZON.count(b"\t1\tEUR\t\t") == 1  # that order's row alone
    priced = AMAZON.replace(b"\tPending\t", b"\tShipped\t").replace(b"\t1\tEUR\t\t", b"\t1\tEUR\t9.99\t")
    result = run_import(shop, priced, "All Orders Report (later).txt")
    assert (result.inserted, result.pending_orders) == (1, 0)
    with unit_of_work(shop) as session:
        order = session.scalar(select(Order).where(Order.order_ref == "302-2222222-2222222"))
        # EUR 9.99 (VAT inside) on 2026-03-02 at 0.5 EUR per USD -> USD 19.98
        assert (order.status, order.order_total, order.gmv_usd) == ("completed", Decimal("9.99"), Decimal("19.98"))


@pytest.mark.parametrize(("data", "unknown", "examples"), [
    (SHOPIFY.encode(), 1, ("ZZZ-404",)),
    (AMAZON, 1, ("STAND-ALU-15",)),  # the item Amazon cancelled is no line, known or not
    (None, 98, ()),  # the real Shopify export: its 98 line items carry no SKU at all
], ids=["shopify", "amazon", "real-shopify"])
def test_unknown_skus_are_reported_not_dropped_silently(shop, data, unknown, examples):
    data = data if data is not None else real("shopify_orders_export_us.csv")
    result = run_import(shop, data, "orders.txt")
    assert (result.unknown_sku_lines, result.unknown_skus) == (unknown, examples)
    with unit_of_work(shop) as session:
        detail = json.loads(session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "import")))
    assert detail["unknown_sku_lines"] == unknown


IMPORTS = {"shopify": SHOPIFY.encode(), "amazon": AMAZON, "real-shopify": None}


def import_data(case: str) -> bytes:
    return IMPORTS[case] if IMPORTS[case] is not None else real("shopify_orders_export_us.csv")


@pytest.mark.parametrize("case", IMPORTS)
def test_the_same_file_twice_changes_no_order_line_or_customer(shop, case):
    first = run_import(shop, import_data(case), "a.txt")
    after_first = (table_counts(shop), stored_lines(shop))
    second = run_import(shop, import_data(case), "a.txt")
    assert (second.inserted, second.updated, second.lines_inserted, second.lines_updated,
            second.customers_inserted) == (0, 0, 0, 0, 0)
    assert second.skipped == first.inserted + first.skipped  # unchanged, plus rows skipped both times
    assert (table_counts(shop), stored_lines(shop)) == after_first


@pytest.mark.parametrize("case", IMPORTS)
def test_undo_removes_orders_lines_and_customers_and_the_file_imports_again(shop, case):
    first = run_import(shop, import_data(case), "a.txt")
    assert table_counts(shop)[0] == first.inserted
    with unit_of_work(shop) as session:
        assert undo_import(session, "stafford", first.batch_id).deleted == first.inserted
    assert table_counts(shop) == (0, 0, 0)
    with unit_of_work(shop) as session:
        assert session.scalar(select(func.coalesce(func.sum(DailySales.units), 0))) == 0
    again = run_import(shop, import_data(case), "a.txt")
    assert (again.inserted, again.lines_inserted, again.customers_inserted) == (
        first.inserted, first.lines_inserted, first.customers_inserted)


def test_changed_lines_replace_the_stored_ones_and_undo_puts_them_back(shop):
    run_import(shop, SHOPIFY.encode(), "v1.csv")
    before = stored_lines(shop)
    # #2001 again, now 3 cables and no case: one line changed, one removed
    changed = SHOPIFY_HEADER + ("#2001,ann@example.com,paid,USD,27.00,5.00,0.00,32.00,3.00,2026-03-01 10:00:00 +0000,"
                                "3,USB-C cable,10.00,CBL-USB-C-1M,US\r\n")
    result = run_import(shop, changed.encode(), "v2.csv")
    assert (result.inserted, result.updated, result.lines_inserted, result.lines_updated) == (0, 1, 0, 2)
    # 30 of goods, 3 off -> 90 %: 27.00; 8.00 × 3 / 7 × 1.115 = 3.82
    assert stored_lines(shop) == {("#2001", "CBL-USB-C-1M"): (3, "10.00", "30.00", "27.00", "3.82")}
    with unit_of_work(shop) as session:
        assert undo_import(session, "stafford", result.batch_id).restored == 1
    assert stored_lines(shop) == before


def first_orders(engine) -> dict[str, tuple]:
    with unit_of_work(engine) as session:
        return {ref: (customer, first) for ref, customer, first in session.execute(
            select(Order.order_ref, Customer.first_order_on, Order.is_first_order)
            .join(Customer, Customer.id == Order.customer_id))}


def test_customers_are_hashed_e_mails_and_first_orders_follow_the_earliest(shop):
    first = run_import(shop, SHOPIFY.encode(), "march.csv")
    assert first.customers_inserted == 2
    with unit_of_work(shop) as session:
        refs = set(session.scalars(select(Customer.customer_ref)))
    # the model keeps no address: SHA-256 of the trimmed, lower-cased e-mail ("Ann@Example.com" = "ann@...")
    assert refs == {hashlib.sha256(b"ann@example.com").hexdigest(), hashlib.sha256(b"bo@example.com").hexdigest()}
    later = run_import(shop, SHOPIFY_LATER.encode(), "march-2.csv")
    assert (later.customers_inserted, count(shop, Customer)) == (0, 2)
    assert first_orders(shop) == {"#2001": (DAY, True), "#2002": (DAY, True), "#2003": (DAY, False)}
    earlier = run_import(shop, SHOPIFY_EARLIER.encode(), "february.csv")
    # #1999 is now Ann's first order: the flag moves off #2001 (an update) and first_order_on moves back
    assert (earlier.inserted, earlier.updated) == (1, 1)
    feb27 = dt.date(2026, 2, 27)
    assert first_orders(shop) == {"#1999": (feb27, True), "#2001": (feb27, False), "#2002": (DAY, True),
                                  "#2003": (feb27, False)}
    with unit_of_work(shop) as session:
        undo_import(session, "stafford", earlier.batch_id)
    assert first_orders(shop) == {"#2001": (DAY, True), "#2002": (DAY, True), "#2003": (DAY, False)}


def test_undo_refuses_while_a_later_import_uses_the_customers_it_added(shop):
    first = run_import(shop, SHOPIFY.encode(), "march.csv")
    later = run_import(shop, SHOPIFY_LATER.encode(), "march-2.csv")
    with unit_of_work(shop) as session, pytest.raises(UndoRefused, match=f"undo import {later.batch_id} first"):
        undo_import(session, "stafford", first.batch_id)
    with unit_of_work(shop) as session:
        undo_import(session, "stafford", later.batch_id)
    with unit_of_work(shop) as session:
        undo_import(session, "stafford", first.batch_id)
    assert table_counts(shop) == (0, 0, 0)


def test_real_shopify_export_customers_and_first_orders(shop):
    result = run_import(shop, real("shopify_orders_export_us.csv"), "orders_export_1.csv")
    # 81 orders, 58 with an e-mail address, 54 different addresses; cust_1097db16 ordered #1010, #1023, #1038
    assert (result.inserted, result.customers_inserted, result.lines_inserted) == (81, 54, 0)
    with unit_of_work(shop) as session:
        flags = dict(session.execute(select(Order.order_ref, Order.is_first_order)
                                     .where(Order.order_ref.in_(["#1010", "#1023", "#1038", "#1081"]))).all())
        assert session.scalar(select(func.count()).select_from(Order).where(Order.is_first_order)) == 54
    assert flags == {"#1010": True, "#1023": False, "#1038": False, "#1081": False}  # #1081 has no e-mail


def test_landed_share_comes_from_the_products_booked_lines(shop):
    with unit_of_work(shop) as session:
        # SKU-1 (CNY 10.00) booked at USD 1.60 for one unit on a day of CNY 7.0: 1.60 / (10 / 7) − 1 = 12 %
        factories.order(session, 900, DAY, "US", 2, gmv="20", revenue="20", cogs="1.60")
    data = SHOPIFY_HEADER + "#3001,,paid,USD,40.00,0,0,40.00,0,2026-03-01 10:00:00 +0000,2,Cable,20.00,SKU-1,US\r\n"
    run_import(shop, data.encode(), "s.csv")
    # 10 × 2 / 7 × 1.12 = 3.20
    assert stored_lines(shop)[("#3001", "SKU-1")] == (2, "20.00", "40.00", "40.00", "3.20")


def test_line_items_need_a_cny_rate_to_cost_them(db):
    with pytest.raises(UploadError, match="s.csv: there is no CNY exchange rate"):
        run_import(db, (SHOPIFY_HEADER + "#3001,,paid,USD,20,0,0,20,0,2026-03-01 10:00:00 +0000,1,Cable,20.00,SKU-1,"
                        "US\r\n").encode(), "s.csv")
    assert count(db, Order) == 0


def test_a_file_whose_rows_are_all_skipped_imports_nothing(db):
    data = ORDERS_HEADER + "amazon,A-1,Atlantis,2026-03-01 10:00:00,EUR,1,,,\r\n"
    result = run_import(db, data.encode(), "atlantis.csv", skip_unknown_markets=True)
    # reported as left out, not unchanged, and no empty batch (issue 17; tests/test_upload_usability.py)
    assert (result.batch_id, result.inserted, result.updated, result.skipped, result.first_day) == (
        None, 0, 0, 0, None)
    assert (result.unknown_market_rows, result.unknown_markets) == (1, ("Atlantis",))
    assert count(db, ImportBatch) == 0


# --- bulk inserts ---------------------------------------------------------------------


@pytest.fixture
def statements(db):
    """The SQL the database is sent, in order."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db, "before_cursor_execute", record)
    yield sent
    event.remove(db, "before_cursor_execute", record)


def order_indexes(engine) -> list[dict]:
    return sorted(inspect(engine).get_indexes("orders"), key=lambda index: index["name"])


def test_a_bulk_insert_rebuilds_the_indexes_it_dropped_and_ids_follow_the_date_index(db, statements, monkeypatch):
    monkeypatch.setattr(sql, "BULK_ROWS", 3)
    before = order_indexes(db)
    run_import(db, ORDERS.encode(), "orders.csv")
    dropped = [s for s in statements if s.startswith("DROP INDEX")]
    if db.dialect.name == "sqlite":
        assert sorted(dropped) == sorted(f'DROP INDEX "{index["name"]}"' for index in before)
    else:  # PostgreSQL would lock readers out of the table for the whole import
        assert dropped == []
    assert order_indexes(db) == before
    with unit_of_work(db) as session:
        refs = session.scalars(select(Order.order_ref).order_by(Order.id)).all()
    assert refs == ["A-1", "#1001", "A-2"]  # (order_date, market_code, channel_id), not the file's order


def test_a_failed_bulk_import_keeps_the_indexes(db, monkeypatch):
    monkeypatch.setattr(sql, "BULK_ROWS", 3)
    before = order_indexes(db)

    def broken(*args, **kwargs):
        raise RuntimeError("refresh failed")

    monkeypatch.setattr(importers.summaries, "refresh_affected", broken)
    with pytest.raises(RuntimeError, match="refresh failed"):
        run_import(db, ORDERS.encode(), "orders.csv")
    assert (order_indexes(db), count(db, Order)) == (before, 0)


@pytest.mark.parametrize("share, drops", [(1, False), (2, True)])
def test_indexes_are_rebuilt_only_when_the_insert_is_a_large_share_of_the_table(db, statements, monkeypatch,
                                                                                 share, drops):
    run_import(db, ORDERS.encode(), "orders.csv")  # 3 stored orders
    monkeypatch.setattr(sql, "BULK_ROWS", 2)
    monkeypatch.setattr(sql, "BULK_SHARE", share)
    statements.clear()
    more = ORDERS_HEADER + ("amazon,A-8,DE,2026-03-01 10:00:00,EUR,1,,,\r\n"
                            "amazon,A-9,DE,2026-03-01 10:00:00,EUR,1,,,\r\n")
    assert run_import(db, more.encode(), "more.csv").inserted == 2
    dropped = any(s.startswith("DROP INDEX") for s in statements)
    assert dropped == (drops and db.dialect.name == "sqlite")  # 2 rows x share vs 3 stored
