"""The upload page through the real router with AppTest: file_uploader, profile, view, import, undo (issue 8)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.platform.db import get_engine, unit_of_work
from core.platform.models import ImportBatch, Order
from tests.apptest_support import APP, TIMEOUT, AppTest, app_as, open_page
from tests.conftest import SEED_END, fresh_database_url

REAL = Path(__file__).resolve().parent / "fixtures" / "real"  # see its PROVENANCE.md


@pytest.fixture(scope="module")
def upload_db_url(tmp_path_factory) -> str:
    """A small seeded database of our own: these tests write (imports), the shared seeded one is read-only."""
    from core.bootstrap import prepare_database
    from core.platform.schema import upgrade
    from data.seed import seed_database

    url = fresh_database_url(tmp_path_factory.mktemp("upload"))
    eng = get_engine(url)
    upgrade(eng)
    seed_database(eng, orders=300, end_date=SEED_END, seed=11)
    prepare_database(eng, seed_if_empty=False)
    return url


@pytest.fixture(autouse=True)
def _app_env(upload_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", upload_db_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


def real(name: str) -> bytes:
    return (REAL / name).read_bytes()


def upload(name: str, data: bytes, role: str = "staff") -> AppTest:
    at = open_page(app_as(role), "upload")
    at.file_uploader(key="upload_file").set_value((name, data, "text/csv"))
    return at.run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(elements) -> str:
    return " | ".join(e.value for e in elements)


def test_viewers_do_not_get_the_page():
    at = open_page(app_as("viewer"), "upload")
    ok(at)
    assert not at.file_uploader


@pytest.mark.parametrize(("name", "rows", "columns", "caption"), [
    ("superstore_cp1252_semicolon.csv", 1200, 12, "encoding cp1252, semicolon delimiter"),
    ("tmall_order_report_zh.csv", 3000, 7, "encoding utf-8, comma delimiter"),
    ("uci_online_retail_sample.csv", 2709, 9, "header on line 1"),
])
def test_upload_shows_detection_preview_and_profile(name, rows, columns, caption):
    at = upload(name, real(name))
    ok(at)
    assert caption in texts(at.caption)
    assert f"{rows:,} rows, {columns} columns." in texts(at.caption)
    profile = at.dataframe[1].value
    assert len(profile) == columns and {"column", "type", "missing_share", "distinct"} <= set(profile.columns)


def test_overriding_the_delimiter_reparses():
    data = "a;b\r\n1;2\r\n3;4\r\n".encode()
    at = upload("semi.csv", data)
    assert "2 rows, 2 columns." in texts(at.caption)
    digest = [s for s in at.selectbox if s.key and s.key.startswith("delim_")][0]
    digest.set_value(",").run()
    ok(at)
    assert "2 rows, 1 columns." in texts(at.caption)


def test_building_a_view_by_group_and_measure():
    data = b"market,channel,amount\nUS,amazon,10\nUS,shopify,20\nDE,amazon,5\n"
    at = upload("v.csv", data)
    at.selectbox(key="view_group1").set_value("market")
    at.selectbox(key="view_measure").set_value("sum").run()
    at.selectbox(key="view_value").set_value("amount")
    at.run()
    ok(at)
    view = at.dataframe[2].value
    assert dict(zip(view["market"], view["sum(amount)"])) == {"DE": 5.0, "US": 30.0}
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    at.selectbox(key="view_group2").set_value("channel").run()
    ok(at)
    assert "Pivot" in [s.value for s in at.subheader]


@pytest.mark.parametrize(("name", "data", "message"), [
    ("empty.csv", b"", "empty.csv is empty."),
    ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "photo.csv is not a text file"),
    ("header.csv", b"a,b\r\n", "header.csv has a header but no data rows."),
    ("ragged.csv", b"a,b\n1,2\n3\n", "ragged.csv, line 3: expected 2 fields but found 1"),
])
def test_bad_files_get_a_clear_message(name, data, message):
    at = upload(name, data)
    ok(at)
    shown = texts(at.error).replace("\\", "")
    assert message in shown, shown


def test_a_chinese_user_is_told_why_in_chinese():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = at.session_state["name"] = "staff"
    at.query_params["lang"] = "中文"  # not the picker: that would save Chinese as staff's language for later tests
    open_page(at.run(), "upload")
    at.file_uploader(key="upload_file").set_value(("ragged.csv", b"a,b\n1,2\n3\n", "text/csv"))
    at.run()
    ok(at)
    shown = texts(at.error).replace("\\", "")
    assert "ragged.csv，第 3 行：应有 2 个字段，实际为 1 个。" in shown, shown
    assert "expected" not in shown and "fields" not in shown


def chinese_upload(name: str, data: bytes) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = at.session_state["name"] = "staff"
    at.query_params["lang"] = "中文"  # not the picker: that would save Chinese as staff's language for later tests
    open_page(at.run(), "upload")
    at.file_uploader(key="upload_file").set_value((name, data, "text/csv"))
    return at.run()


def test_a_chinese_user_sees_delimiters_exports_and_measures_in_chinese():
    at = chinese_upload("semi.csv", "market;amount\r\nUS;10\r\nUS;20\r\nDE;5\r\n".encode())
    ok(at)
    assert "分隔符 分号" in texts(at.caption) and "semicolon" not in texts(at.caption)
    delimiter = [s for s in at.selectbox if s.key and s.key.startswith("delim_")][0]
    assert "分号" in delimiter.options and "semicolon" not in delimiter.options
    assert delimiter.value == ";"  # the key stays the delimiter itself
    kind = [s for s in at.selectbox if s.key and s.key.startswith("import_kind_")][0]
    assert {"Shopify 订单导出", "亚马逊订单报告", "订单模板"} <= set(kind.options)
    assert not {"Shopify orders export", "Orders template"} & set(kind.options)
    assert set(at.dataframe[1].value["type"]) == {"文本", "整数"}  # the column profile
    assert {"订单模板", "支付模板"} <= {s.value for s in at.subheader}
    measure = at.selectbox(key="view_measure")
    assert measure.options == ["计数", "求和", "平均值", "中位数"]
    at.selectbox(key="view_group1").set_value("market")
    measure.set_value("sum").run()  # the value core receives stays the English key
    at.selectbox(key="view_value").set_value("amount").run()
    ok(at)
    assert at.selectbox(key="view_measure").value == "sum"
    view = at.dataframe[2].value
    assert dict(zip(view["market"], view["sum(amount)"])) == {"DE": 5.0, "US": 30.0}
    assert "数值列" not in texts(at.warning), texts(at.warning)
    at.file_uploader(key="upload_file").set_value(("names.csv", b"name\r\nA\r\nB\r\n", "text/csv")).run()
    ok(at)  # no numeric column to sum: core's message names the measure, in Chinese too
    assert "请为 求和 选择一个数值列。" in texts(at.warning).replace("\\", ""), texts(at.warning)


def test_a_chinese_user_is_told_in_chinese_which_role_an_import_needs(monkeypatch):
    from core import imports
    from core.platform.users import PermissionDenied

    def refused(*_args, **_kwargs):  # the role was lowered while the page was open
        raise PermissionDenied("This action needs the {role} role", role="staff")

    monkeypatch.setattr(imports, "import_file", refused)
    at = chinese_upload("orders.csv", real("shopify_orders_export_us.csv"))
    at.button(key="import_go").click().run()
    ok(at)
    shown = texts(at.error).replace("\\", "")
    assert "此操作需要“员工”角色" in shown, shown
    assert "needs" not in shown and "staff" not in shown


def test_the_configured_maximum_size_is_enforced(monkeypatch):
    monkeypatch.setenv("CBO_MAX_UPLOAD_MB", "1")
    at = upload("big.csv", b"a,b\n" + b"1,2\n" * 300_000)
    ok(at)
    assert "the maximum upload is 1 MB" in texts(at.error).replace("\\", "")
    assert "rows," not in texts(at.caption)  # nothing was parsed


def test_uploaded_text_is_not_rendered_as_markdown():
    data = "**name**,<b>x</b>\r\n[click](http://evil.example),=1+2\r\n".encode()
    at = upload("md.csv", data)
    ok(at)
    rendered = " ".join(m.value for m in at.markdown) + texts(at.caption)
    assert "**name**" not in rendered and "[click]" not in rendered and "<b>" not in rendered


def tabs_place(at: AppTest) -> int:
    return next(i for i, node in at.main.children.items() if getattr(node, "type", None) == "tab_container")


def test_the_tabs_keep_their_place_after_a_large_file_is_read(monkeypatch):
    """The browser rebuilds tabs that move, on their first tab: after a large import the user would land on
    Analyse, and never see the import's result (seen with a 1M-row file)."""
    import pages.upload_page as upload_page

    monkeypatch.setattr(upload_page, "LARGE_FILE_BYTES", 10)  # this small file gets the progress bar
    at = upload("orders.csv", b"market,amount\nUS,1\nDE,2\n")
    ok(at)
    read = tabs_place(at)
    at.run()  # the next run (an import click, a chart choice) finds the parse in the session
    ok(at)
    assert tabs_place(at) == read


def test_import_shopify_twice_then_undo():
    data = real("shopify_orders_export_us.csv")
    with unit_of_work(get_engine(_url())) as session:
        before = session.scalar(select(func.count()).select_from(Order))
    at = upload("orders_export_1.csv", data)
    ok(at)
    assert "Recognised: Shopify orders export" in texts(at.success)
    at.button(key="import_go").click().run()
    ok(at)
    assert "81 inserted, 0 updated, 0 unchanged" in texts(at.success)
    assert "98 line items have a SKU the catalogue does not know" in texts(at.warning)  # the export has no SKUs
    at.button(key="import_go").click().run()
    ok(at)
    assert "0 inserted, 0 updated, 81 unchanged" in texts(at.success)
    with unit_of_work(get_engine(_url())) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == before + 81
        first = session.scalar(select(func.min(ImportBatch.id)).where(ImportBatch.file_name == "orders_export_1.csv"))
        last = session.scalar(select(func.max(ImportBatch.id)))
    at.selectbox(key="undo_batch").set_value(last).run()
    at.button(key="undo_go").click().run()
    ok(at)
    assert f"Import {last} undone" in texts(at.success)
    at.selectbox(key="undo_batch").set_value(first).run()
    at.button(key="undo_go").click().run()
    ok(at)
    assert "81 rows deleted" in texts(at.success)
    with unit_of_work(get_engine(_url())) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == before


def test_pending_amazon_orders_are_reported_as_left_out():
    report = Path(__file__).parent / "fixtures" / "amazon_all_orders_report.txt"
    at = upload("All Orders Report.txt", report.read_bytes())
    ok(at)
    assert "Recognised: Amazon order report" in texts(at.success)
    at.button(key="import_go").click().run()
    ok(at)
    assert "4 inserted, 0 updated, 0 unchanged" in texts(at.success)  # the pending one is no unchanged order
    assert "1 Amazon orders are still Pending" in texts(at.info)
    batch = max(at.selectbox(key="undo_batch").options, key=int)
    at.selectbox(key="undo_batch").set_value(int(batch)).run()
    at.button(key="undo_go").click().run()
    ok(at)
    assert "4 rows deleted" in texts(at.success)


def test_a_new_file_starts_from_its_own_recognition():
    at = upload("uci.csv", real("uci_online_retail_sample.csv"))
    assert [s.value for s in at.selectbox if s.key and s.key.startswith("import_kind_")] == ["uci_online_retail"]
    at.file_uploader(key="upload_file").set_value(("orders.csv", real("shopify_orders_export_us.csv"), "text/csv"))
    at.run()
    ok(at)
    kinds = [s.value for s in at.selectbox if s.key and s.key.startswith("import_kind_")]
    assert kinds == ["shopify_orders"]


def test_stripe_needs_a_channel_before_import():
    at = upload("unified_payments.csv", real("stripe_unified_payments_usd.csv"))
    ok(at)
    assert at.button(key="import_go").disabled
    at.selectbox(key="import_channel").set_value("shopify").run()
    assert not at.button(key="import_go").disabled
    at.button(key="import_go").click().run()
    ok(at)
    assert "48 inserted" in texts(at.success)


def test_templates_offer_header_only_downloads():
    at = open_page(app_as("staff"), "upload")
    ok(at)
    subheaders = [s.value for s in at.subheader]
    assert {"Orders template", "Payments template", "Shipments template", "Tickets template"} <= set(subheaders)


def test_utf16_excel_file_uploads():
    text = "name\tamount\r\nMüller\t1,5\r\nZoë\t2\r\n"
    at = upload("excel.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    ok(at)
    assert "encoding utf-16, tab delimiter" in texts(at.caption)


def _url() -> str:
    import os

    return os.environ["DATABASE_URL"]
