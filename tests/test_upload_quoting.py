"""Quoted fields that never close (issue 17, defect 1): refused, naming the line where the quote opened.

An unclosed quote makes a CSV reader take every later line into one cell; the import then reported fewer
rows as if nothing happened. Files whose quoted fields legitimately span lines (addresses, notes) still read.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.imports import parsing
from core.imports.importers import ImportOptions, import_file
from core.imports.parsing import UploadError, parse
from core.platform.db import unit_of_work
from core.platform.models import ImportBatch, Order
from core.platform.users import create_user
from tests import factories

HEADER = "order_ref,market,amount,note\n"


def rows(first: int, count: int) -> str:
    return "".join(f"B-{i},US,{i}.50,plain\n" for i in range(first, first + count))


def refused(data: bytes, keep_raw: bool) -> UploadError:
    with pytest.raises(UploadError) as caught:
        parse(data, "orders.csv", keep_raw=keep_raw)
    return caught.value


KEEP_RAW = pytest.mark.parametrize("keep_raw", [True, False], ids=["text-first", "arrow-typed"])


@KEEP_RAW
def test_an_unclosed_quote_in_the_last_column_is_refused_at_its_line(keep_raw):
    # line 1 header, lines 2..21 rows B-0..B-19, line 22 opens the quote, 11 orders follow it (lines 23..33)
    data = (HEADER + rows(0, 20) + 'B-20,US,20.50,"gift wrap please\n' + rows(21, 11)).encode()
    error = refused(data, keep_raw)
    assert error.template.startswith("{file}, line {line}")
    assert error.values["line"] == 22 and error.values["column"] == "note" and error.values["lines"] == "11"
    assert str(error).startswith("orders.csv, line 22, column note: a quoted field starts here and is never closed")


@KEEP_RAW
def test_an_unclosed_quote_in_a_middle_column_is_named_not_reported_as_a_short_row(keep_raw):
    data = (HEADER + rows(0, 5) + 'B-5,"US,5.50,plain\n' + rows(6, 4)).encode()
    error = refused(data, keep_raw)
    assert (error.values["line"], error.values["column"]) == (7, "market")
    assert "never closed" in str(error)


@KEEP_RAW
def test_an_unclosed_quote_closed_by_a_later_quoted_cell_is_refused(keep_raw):
    # the stray quote on line 4 pairs with the opening quote of line 9's legitimate cell: lines 4..9 would
    # become one cell, and the rest of line 9 would read as a row of its own
    data = (HEADER + rows(0, 2) + 'B-2,US,2.50,"oops\n' + rows(3, 4) + 'B-7,US,7.50,"Flat 2, 1 High St"\n'
            + rows(8, 3)).encode()
    error = refused(data, keep_raw)
    assert error.values["line"] == 4 and error.values["column"] == "note"


@KEEP_RAW
def test_an_unclosed_quote_after_the_sample_is_refused(keep_raw):
    body = rows(0, 12_000)  # > SAMPLE_BYTES: detection never sees the quote
    data = (HEADER + body + 'B-12000,US,1.50,"never closed\n' + rows(12_001, 11)).encode()
    assert len(data) > parsing.SAMPLE_BYTES
    error = refused(data, keep_raw)
    assert error.values["line"] == 12_002


@KEEP_RAW
def test_an_unclosed_quote_early_in_a_file_of_many_blocks_is_refused(keep_raw, monkeypatch):
    """Read block by block, the quote swallowed only the rest of its block, and those rows vanished without
    a word; read as one, the quoted "cell" straddles blocks. Blocks of 64 KB stand for pyarrow's 8 MB."""
    monkeypatch.setattr(parsing, "BLOCK_BYTES", 64 * 1024)
    data = (HEADER + rows(0, 20_000) + 'B-20000,"US,1.50,never closed\n' + rows(20_001, 20_000)).encode()
    error = refused(data, keep_raw)
    assert (error.values["line"], error.values["column"]) == (20_002, "market")
    assert error.values["lines"] == "20,000"


@KEEP_RAW
def test_legitimate_multi_line_cells_in_a_file_of_many_blocks_read(keep_raw, monkeypatch):
    monkeypatch.setattr(parsing, "BLOCK_BYTES", 64 * 1024)
    body = "".join(f'B-{i},US,{i}.50,"Flat {i}\nHigh St"\n' if i % 997 == 0 else f"B-{i},US,{i}.50,plain\n"
                   for i in range(40_000))
    parsed = parse((HEADER + body).encode(), "notes.csv", keep_raw=keep_raw)
    assert len(parsed.frame) == 40_000 and parsed.frame["note"].iloc[997] == "Flat 997\nHigh St"
    assert parsed.line_of(998) == 2 + 998 + 2  # rows start on line 2; rows 0 and 997 take two lines each


ADDRESSES = (HEADER + 'B-1,US,1.50,"12 Main St, Apt 4\nSpringfield, IL 62704"\n'
             'B-2,US,2.50,"Leave at the door.\nCall first.\nThank you"\n'
             'B-3,US,3.50,"He said ""hi""\nthen left"\n'
             'B-4,US,4.50,plain\n')


@KEEP_RAW
def test_quoted_fields_that_legitimately_span_lines_still_read(keep_raw):
    parsed = parse(ADDRESSES.encode(), "addresses.csv", keep_raw=keep_raw)
    assert parsed.frame["order_ref"].tolist() == ["B-1", "B-2", "B-3", "B-4"]
    assert parsed.frame["note"].tolist() == ["12 Main St, Apt 4\nSpringfield, IL 62704",
                                             "Leave at the door.\nCall first.\nThank you", 'He said "hi"\nthen left',
                                             "plain"]


def test_a_crlf_file_with_an_unclosed_quote_names_its_line():
    data = (HEADER + rows(0, 3) + 'B-3,US,3.50,"open\n' + rows(4, 3)).replace("\n", "\r\n").encode()
    assert refused(data, True).values["line"] == 5


@pytest.fixture
def db(engine):
    with unit_of_work(engine) as session:
        factories.reference_rows(session)
        create_user(session, "stafford", "password-1", "staff")
    return engine


ORDERS_HEADER = "channel,order_ref,market,ordered_at,currency,order_total,items_total,tax_total,status,note\n"


def orders(first: int, count: int) -> str:
    return "".join(f"shopify,#{i},US,2026-03-01 10:00:00,USD,{i}.00,,,completed,ok\n"
                   for i in range(first, first + count))


def count(engine, model) -> int:
    with unit_of_work(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_import_of_a_file_with_an_unclosed_quote_writes_nothing(db):
    data = (ORDERS_HEADER + orders(1, 5) + 'shopify,#6,US,2026-03-01 10:00:00,USD,6.00,,,completed,"oops\n'
            + orders(7, 11)).encode()
    with pytest.raises(UploadError, match=r"orders.csv, line 7, column note: a quoted field starts here"):
        with unit_of_work(db) as session:
            import_file(session, "stafford", "orders.csv", data, ImportOptions())
    assert count(db, Order) == 0 and count(db, ImportBatch) == 0


def test_the_import_of_a_file_with_multi_line_notes_writes_every_row(db):
    data = (ORDERS_HEADER + 'shopify,#1,US,2026-03-01 10:00:00,USD,1.00,,,completed,"Flat 2\n1 High St"\n'
            + orders(2, 3)).encode()
    with unit_of_work(db) as session:
        result = import_file(session, "stafford", "orders.csv", data, ImportOptions())
    assert result.inserted == 4 and count(db, Order) == 4
