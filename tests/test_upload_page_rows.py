"""The upload page says what it left out and takes every override of the header (issue 17, defects 1, 5, 6, 7)."""

from __future__ import annotations

from tests.test_upload_page import _app_env, chinese_upload, ok, texts, upload, upload_db_url  # noqa: F401


def checkbox(at, prefix: str):
    return next(c for c in at.checkbox if c.key and c.key.startswith(prefix))


def number_input(at, prefix: str):
    return next(n for n in at.number_input if n.key and n.key.startswith(prefix))


def test_empty_rows_and_a_footer_left_out_are_counted_on_the_page():
    data = ("Date,Description,Amount\n2024-03-01,Coffee,-3.50\n,,\n2024-03-02,Salary,1000.00\n"
            + ",,\n" * 500 + "合计：2 笔\n").encode()
    at = upload("wallet.csv", data)
    ok(at)
    assert "2 rows, 3 columns." in texts(at.caption)
    shown = texts(at.info).replace("\\", "")
    assert "501 empty rows were left out (lines 3, 5, 6, 7, 8 …)." in shown, shown
    assert "1 rows below the table were left out as its footer (line" in shown and "合计：2 笔" in shown, shown


def test_first_row_is_data_can_be_switched_both_ways():
    card = b"2024-03-01,AMAZON MKTPLACE,-23.50\n2024-03-02,REFUND,5.00\n2024-03-04,CAFE,-3.20\n"
    at = upload("card.csv", card)
    ok(at)
    assert "no header row" in texts(at.caption) and "3 rows, 3 columns." in texts(at.caption)
    box = checkbox(at, "noheader_")
    assert box.value is True and number_input(at, "header_").label == "First row on line"
    box.uncheck().run()
    ok(at)
    assert "2 rows, 3 columns." in texts(at.caption)  # the first row became the header
    assert number_input(at, "header_").label == "Header on line"
    checkbox(at, "noheader_").check().run()
    ok(at)
    assert "3 rows, 3 columns." in texts(at.caption)


def test_the_header_line_override_reads_from_that_line():
    data = b"Account statement\nPeriod: March 2024\n\nDate,Description,Amount\n2024-03-01,Coffee,-3.50\n" \
           b"2024-03-02,Tea,-2.00\n"
    at = upload("statement.csv", data)
    ok(at)
    assert "header on line 4" in texts(at.caption) and "2 rows, 3 columns." in texts(at.caption)
    number_input(at, "header_").set_value(5).run()  # the first data row as the header
    ok(at)
    assert "1 rows, 3 columns." in texts(at.caption)
    number_input(at, "header_").set_value(40).run()
    ok(at)
    assert "statement.csv has 6 lines; the table cannot start on line 40." in texts(at.error).replace("\\", "")


def test_an_unclosed_quote_is_refused_on_the_page_in_chinese():
    data = b"order_ref,amount,note\nB-1,1.50,ok\nB-2,2.50,\"never closed\nB-3,3.50,ok\nB-4,4.50,ok\n"
    at = chinese_upload("orders.csv", data)
    ok(at)
    shown = texts(at.error).replace("\\", "")
    assert "orders.csv，第 3 行，note 列：此处开始的带引号字段没有结束引号，其后的 2 行" in shown, shown


def test_decimal_comma_columns_are_named():
    data = 'Datum,Betrag\n01.03.2024,"-41,00"\n02.03.2024,"2.500,00"\n'.encode()
    at = upload("konto.csv", data)
    ok(at)
    assert "Read with a decimal comma: Betrag." in texts(at.caption).replace("\\", "")
    assert at.dataframe[1].value.set_index("column").loc["Betrag", "type"] == "number"
