"""Import of recognised exports: all-or-nothing, idempotent, audited, undoable (issue 8)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import importers
from core.csv_detect import UploadError
from core.db import unit_of_work
from core.importers import ImportOptions, UndoRefused, import_file, import_history, undo_import
from core.models import AuditEvent, DailySales, ImportBatch, ImportRow, Order, Payment, Shipment, Ticket
from core.users import PermissionDenied, create_user
from tests import factories

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "real"
DAY = dt.date(2026, 3, 1)


def real(name: str) -> bytes:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real fixture {name} not available")
    return path.read_bytes()


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


def test_payments_tickets_and_shipments_templates(db):
    run_import(db, ORDERS.encode(), "orders.csv")
    payments = ("payment_ref,channel,market,attempted_at,amount,currency,status,fee_amount,order_ref\r\n"
                "ch_1,amazon,DE,2026-03-01 10:00:00,100,EUR,succeeded,2.00,A-1\r\n")
    tickets = ("ticket_ref,market,channel,reason,created_at,first_response_at,csat\r\n"
               "T-1,US,email,where_is_my_order,2026-03-01 08:00:00,2026-03-01 10:00:00,4\r\n")
    shipments = ("tracking_number,channel,order_ref,warehouse,carrier,service,status,cost_usd,promised_days,"
                 "shipped_at,delivered_at\r\n"
                 "1Z1,amazon,A-1,CN-SZ,DHL,dhl_express,delivered,12.40,7,2026-03-01 09:00:00,2026-03-05 15:00:00\r\n")
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
