"""Import usability (issue 17, defect 9): a missing currency is asked for, rows left out are reported as left out
(how many, and a few of their values), and an import that writes nothing records no batch."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import func, select

from core.imports.importers import ImportOptions, import_file
from core.imports.parsing import UploadError
from core.platform.db import get_engine, unit_of_work
from core.platform.models import AuditEvent, ImportBatch, Order
from core.platform.users import create_user
from tests import factories
from tests.test_upload_page import _app_env, _url, ok, real, texts, upload, upload_db_url  # noqa: F401 (fixtures)

DAY = dt.date(2026, 3, 1)
HEADER = "channel,order_ref,market,ordered_at,currency,order_total\r\n"
# line 2 imports; lines 3-6 name markets and a channel we do not know
MIXED = HEADER + (
    "shopify,#1,US,2026-03-01 10:00:00,USD,5\r\n"
    "shopify,#2,Atlantis,2026-03-01 10:00:00,USD,6\r\n"
    "shopify,#3,Narnia,2026-03-01 10:00:00,USD,7\r\n"
    "shopify,#4,Atlantis,2026-03-01 10:00:00,USD,8\r\n"
    "wish,#5,US,2026-03-01 10:00:00,USD,9\r\n"
)
NOWHERE = HEADER + "shopify,#9,Atlantis,2026-03-01 10:00:00,USD,6\r\nwish,#10,US,2026-03-01 10:00:00,USD,7\r\n"


def without_column(data: bytes, column: str) -> bytes:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    drop = rows[0].index(column)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([r[:drop] + r[drop + 1:] for r in rows])
    return out.getvalue().encode()


SHOPIFY_NO_CURRENCY = without_column(real("shopify_orders_export_us.csv"), "Currency")


@pytest.fixture
def db(engine):
    with unit_of_work(engine) as session:
        factories.reference_rows(session)  # markets US, DE; channels amazon, shopify
        create_user(session, "stafford", "password-1", "staff")
    return engine


def run_import(engine, data: bytes, name: str = "file.csv", **options):
    with unit_of_work(engine) as session:
        return import_file(session, "stafford", name, data, ImportOptions(**options))


def count(engine, model) -> int:
    with unit_of_work(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_shopify_export_without_a_currency_column_takes_the_store_currency(db):
    with pytest.raises(UploadError, match="required fields are missing: currency"):
        run_import(db, SHOPIFY_NO_CURRENCY, "orders_export_1.csv")
    result = run_import(db, SHOPIFY_NO_CURRENCY, "orders_export_1.csv", defaults={"currency": "USD"})
    assert (result.kind, result.inserted) == ("shopify_orders", 81)
    with unit_of_work(db) as session:
        assert session.execute(select(Order.currency, func.count()).group_by(Order.currency)).all() == [("USD", 81)]


def test_rows_of_unknown_markets_and_channels_are_reported_as_skipped_not_unchanged(db):
    result = run_import(db, MIXED.encode(), "mixed.csv", skip_unknown_markets=True, skip_unknown_channels=True)
    assert (result.inserted, result.updated, result.skipped) == (1, 0, 0)  # nothing was unchanged
    assert (result.unknown_market_rows, result.unknown_markets) == (3, ("Atlantis", "Narnia"))
    assert (result.unknown_channel_rows, result.unknown_channels) == (1, ("wish",))
    with unit_of_work(db) as session:
        batch = session.scalar(select(ImportBatch))
        assert (batch.rows_inserted, batch.rows_updated, batch.rows_skipped) == (1, 0, 0)
        detail = json.loads(session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "import")))
    assert (detail["unknown_market_rows"], detail["unknown_channel_rows"]) == (3, 1)


def test_unknown_channels_are_an_error_unless_skipped(db):
    with pytest.raises(UploadError, match=r"mixed.csv, line 6, column channel: 'wish' is not one of amazon, shopify"):
        run_import(db, MIXED.encode(), "mixed.csv", skip_unknown_markets=True)
    assert count(db, ImportBatch) == 0


def test_an_import_that_writes_nothing_records_no_batch(db):
    result = run_import(db, NOWHERE.encode(), "nowhere.csv", skip_unknown_markets=True, skip_unknown_channels=True)
    assert (result.batch_id, result.inserted, result.updated, result.skipped) == (None, 0, 0, 0)
    assert (result.unknown_market_rows, result.unknown_channel_rows) == (1, 1)
    with unit_of_work(db) as session:
        imports = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import"))
    assert (count(db, ImportBatch), imports, count(db, Order)) == (0, 0, 0)


# --- on the page ------------------------------------------------------------------------


def test_the_page_asks_for_the_store_currency_of_a_shopify_export_without_one():
    at = upload("orders_export_1.csv", SHOPIFY_NO_CURRENCY)
    ok(at)
    assert "Recognised: Shopify orders export" in texts(at.success)
    assert at.button(key="import_go").disabled
    currency = at.selectbox(key="import_currency")
    assert "USD" in currency.options
    currency.set_value("USD").run()
    assert not at.button(key="import_go").disabled
    at.button(key="import_go").click().run()
    ok(at)
    assert "81 inserted, 0 updated, 0 unchanged" in texts(at.success)


def test_the_page_reports_skipped_rows_with_their_values():
    at = upload("mixed.csv", MIXED.encode())
    at.checkbox(key="import_skip").check().run()
    at.button(key="import_go").click().run()
    ok(at)
    assert "1 inserted, 0 updated, 0 unchanged" in texts(at.success)
    shown = texts(at.warning).replace("\\", "")
    assert "3 rows were skipped: their market is not one we sell in (Atlantis, Narnia)." in shown, shown
    assert "1 rows were skipped: their sales channel is not one we know (wish)." in shown, shown


def test_the_page_says_nothing_was_imported_and_adds_no_batch():
    with unit_of_work(get_engine(_url())) as session:
        before = session.scalar(select(func.count()).select_from(ImportBatch))
    at = upload("nowhere.csv", NOWHERE.encode())
    at.checkbox(key="import_skip").check().run()
    at.button(key="import_go").click().run()
    ok(at)
    assert " done: " not in texts(at.success), texts(at.success)
    shown = texts(at.warning).replace("\\", "")
    assert "Nothing was imported from nowhere.csv: every row was left out." in shown, shown
    assert "1 rows were skipped: their market is not one we sell in (Atlantis)." in shown, shown
    with unit_of_work(get_engine(_url())) as session:
        assert session.scalar(select(func.count()).select_from(ImportBatch)) == before
