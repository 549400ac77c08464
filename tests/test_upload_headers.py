"""Rows around the table (issue 17): all-empty rows (defect 5), headers and footers of bank and wallet
exports, files without a header row, pivot filter rows, and every header override (defect 6)."""

from __future__ import annotations

import pytest

from core.imports.parsing import Dialect, UploadError, detect, parse

KEEP_RAW = pytest.mark.parametrize("keep_raw", [True, False], ids=["text-first", "arrow-typed"])


def skipped(parsed, kind: str):
    found = [s for s in parsed.skipped if s.kind == kind]
    return found[0] if found else None


# --- defect 5: all-empty rows ------------------------------------------------------

@KEEP_RAW
def test_rows_excel_left_empty_are_dropped_and_counted(keep_raw):
    # lines 1 header, 2-4 data, 5 empty in the middle, 6 data, 7..30006 the ",,,," rows Excel kept
    data = ("sku,market,amount,qty\nA,US,1.5,1\nB,DE,2.5,2\nC,US,3.5,3\n,,,\nD,DE,4.5,4\n" + ",,,\n" * 30_000).encode()
    parsed = parse(data, "resaved.csv", keep_raw=keep_raw)
    assert parsed.frame["sku"].tolist() == ["A", "B", "C", "D"]
    assert parsed.frame["amount"].isna().sum() == 0  # no "(missing)" group of 30,000 rows
    empty = skipped(parsed, "empty")
    assert empty.count == 30_001 and empty.lines[:3] == (5, 7, 8)
    assert parsed.line_of(3) == 6  # D is on line 6: errors name the line the user sees


@KEEP_RAW
def test_blank_lines_and_lines_of_spaces_are_empty_rows_too(keep_raw):
    data = b"sku,amount\nA,1\n\nB,2\n   \nC,3\n \t \n"
    parsed = parse(data, "blank.csv", keep_raw=keep_raw)
    assert parsed.frame["sku"].tolist() == ["A", "B", "C"]
    empty = skipped(parsed, "empty")
    assert (empty.count, empty.lines) == (3, (3, 5, 7))
    assert [parsed.line_of(i) for i in range(3)] == [2, 4, 6]


def test_a_file_of_only_empty_rows_has_no_data_rows():
    with pytest.raises(UploadError, match="e.csv has a header but no data rows"):
        parse(b"a,b\n,\n,\n", "e.csv")


def test_an_import_error_after_dropped_rows_names_the_right_line(engine):
    from core.imports.importers import ImportOptions, import_file
    from core.platform.db import unit_of_work
    from core.platform.users import create_user
    from tests import factories

    with unit_of_work(engine) as session:
        factories.reference_rows(session)
        create_user(session, "stafford", "password-1", "staff")
    data = ("channel,order_ref,market,ordered_at,currency,order_total,items_total,tax_total,status\n"
            "shopify,#1,US,2026-03-01 10:00:00,USD,5,,,\n,,,,,,,,\n,,,,,,,,\n"
            "shopify,#2,US,2026-03-01 10:00:00,USD,12x,,,\n").encode()
    with pytest.raises(UploadError, match=r"bad.csv, line 5, column order_total: '12x' is not a number"):
        with unit_of_work(engine) as session:
            import_file(session, "stafford", "bad.csv", data, ImportOptions())


# --- defect 6: headers and footers --------------------------------------------------

@KEEP_RAW
def test_a_trailing_delimiter_on_every_data_row_keeps_the_header(keep_raw):
    data = b"Date,Description,Amount\n2024-03-01,Coffee,-3.50,\n2024-03-02,Salary,1000.00,\n2024-03-03,Rent,-800,\n"
    parsed = parse(data, "bank.csv", keep_raw=keep_raw)
    assert parsed.dialect.header_row == 0
    assert list(parsed.frame.columns) == ["Date", "Description", "Amount"]
    assert parsed.frame["Amount"].tolist() == [-3.5, 1000.0, -800.0]


FOOTED = ("Date,Description,Amount\n2024-03-01,Coffee,-3.50\n2024-03-02,Salary,1000.00\n"
          "\n合计：2 笔\n     \n导出时间 2024-03-05 10:00\n")


@KEEP_RAW
def test_footer_rows_are_left_out_and_listed(keep_raw):
    parsed = parse(FOOTED.encode(), "wallet.csv", keep_raw=keep_raw)
    assert parsed.frame["Description"].tolist() == ["Coffee", "Salary"]
    footer = skipped(parsed, "footer")
    assert footer.count == 2 and footer.lines == (5, 7)
    assert footer.examples == ("合计：2 笔", "导出时间 2024-03-05 10:00")
    assert skipped(parsed, "empty").lines == (4, 6)


def test_a_short_row_in_the_middle_is_still_refused():
    data = b"a,b,c\n1,2,3\ntotal 3\n4,5,6\n"
    with pytest.raises(UploadError, match=r"m.csv, line 3: expected 3 fields but found 1"):
        parse(data, "m.csv")


CARD = b"2024-03-01,AMAZON MKTPLACE,-23.50,4411\n2024-03-02,REFUND,5.00,4411\n2024-03-04,CAFE,-3.20,4411\n"


@KEEP_RAW
def test_a_statement_without_a_header_row_is_read_as_data(keep_raw):
    assert detect(CARD, "card.csv").has_header is False
    parsed = parse(CARD, "card.csv", keep_raw=keep_raw)
    assert list(parsed.frame.columns) == ["column_1", "column_2", "column_3", "column_4"]
    assert parsed.frame["column_2"].tolist() == ["AMAZON MKTPLACE", "REFUND", "CAFE"]
    assert parsed.kinds["column_1"] == "datetime" and parsed.line_of(0) == 1


@KEEP_RAW
def test_first_row_is_data_overrides_a_detected_header(keep_raw):
    data = b"name,amount\nA,1\nB,2\n"
    parsed = parse(data, "h.csv", Dialect("utf-8", ",", 0, ".", has_header=False), keep_raw=keep_raw)
    assert list(parsed.frame.columns) == ["column_1", "column_2"]
    assert parsed.frame["column_1"].tolist() == ["name", "A", "B"] and parsed.line_of(0) == 1
    # and back: the header the user says is there is read as one
    parsed = parse(CARD, "card.csv", Dialect("utf-8", ",", 0, ".", has_header=True), keep_raw=keep_raw)
    assert list(parsed.frame.columns)[:2] == ["2024-03-01", "AMAZON MKTPLACE"] and len(parsed.frame) == 2


PIVOT = ("Region,(All),,\nYear,(All),,\n,,,\nRow Labels,Sum of Sales,Count of Orders,\n"
         "East,100.5,5,\nWest,200,6,\nNorth,50,2,\n")


@KEEP_RAW
def test_pivot_filter_rows_above_the_header_are_skipped(keep_raw):
    parsed = parse(PIVOT.encode(), "pivot.csv", keep_raw=keep_raw)
    assert parsed.dialect.header_row == 3
    assert list(parsed.frame.columns) == ["Row Labels", "Sum of Sales", "Count of Orders"]
    assert parsed.frame["Sum of Sales"].tolist() == [100.5, 200.0, 50.0]


PREAMBLE = "Account statement\nPeriod: March 2024\n\nDate,Description,Amount\n2024-03-01,Coffee,-3.50\n"


@KEEP_RAW
@pytest.mark.parametrize(("header_row", "columns", "rows"), [
    (3, ["Date", "Description", "Amount"], 1),  # what detection finds
    (4, ["2024-03-01", "Coffee", "-3.50"], 0),  # the user's choice is taken: no data rows below it
    (1, ["Period: March 2024", "column_2", "column_3"], 2),  # a one-field header over wider rows: names added
])
def test_every_header_line_override_is_read(header_row, columns, rows, keep_raw):
    dialect = Dialect("utf-8", ",", header_row, ".")
    if rows == 0:
        with pytest.raises(UploadError, match="p.csv has a header but no data rows"):
            parse(PREAMBLE.encode(), "p.csv", dialect, keep_raw=keep_raw)
        return
    parsed = parse(PREAMBLE.encode(), "p.csv", dialect, keep_raw=keep_raw)
    assert list(parsed.frame.columns) == columns and len(parsed.frame) == rows


def test_a_header_over_a_shorter_row_names_that_row():
    with pytest.raises(UploadError, match=r"p.csv, line 2: expected 3 fields but found 1"):
        parse(PREAMBLE.encode(), "p.csv", Dialect("utf-8", ",", 0, "."))


def test_a_header_line_past_the_end_of_the_file_is_explained():
    with pytest.raises(UploadError, match=r"p.csv has 5 lines; the table cannot start on line 40"):
        parse(PREAMBLE.encode(), "p.csv", Dialect("utf-8", ",", 39, "."))
