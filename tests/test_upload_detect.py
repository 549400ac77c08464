"""Detection, parsing, profiling, views and recognition of uploaded CSVs (issue 8).

Real exports from tests/fixtures/real/ (see its PROVENANCE.md) plus generated nasty files.
"""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from core.imports import parsing, profiling, templates
from core.imports.parsing import Dialect, UploadError, detect, parse
from core.imports.profiling import Filter, ViewSpec, build_view, pivot, profile

REAL = Path(__file__).resolve().parent / "fixtures" / "real"  # see its PROVENANCE.md


def real(name: str) -> bytes:
    return (REAL / name).read_bytes()


# file, encoding, delimiter, decimal, rows, columns, {column: kind}
REAL_FILES = [
    ("shopify_orders_export_us.csv", "utf-8", ",", ".", 98, 78,
     {"Name": "text", "Total": "number", "Created at": "datetime", "Lineitem quantity": "integer",
      "Phone": "text"}),
    ("stripe_unified_payments_usd.csv", "utf-8", ",", ".", 48, 23,
     {"Amount": "number", "Created date (UTC)": "datetime", "Captured": "boolean"}),
    ("uci_online_retail_sample.csv", "utf-8", ",", ".", 2709, 9,
     {"column_1": "integer", "InvoiceNo": "text", "InvoiceDate": "datetime", "UnitPrice": "number"}),
    ("tmall_order_report_zh.csv", "utf-8", ",", ".", 3000, 7,
     {"总金额": "number", "订单创建时间": "datetime", "订单付款时间": "datetime", "收货地址": "text"}),
    ("superstore_cp1252_semicolon.csv", "cp1252", ";", ",", 1200, 12,
     {"Sales": "number", "Quantity": "integer", "Ship Date": "datetime", "Product Name": "text"}),
    ("amazon_in_international_sale_report.csv", "utf-8", ",", ".", 2709, 10,
     {"DATE": "datetime", "GROSS AMT": "number", "SKU": "text"}),
    ("ecb_eurofxref_hist.csv", "utf-8", ",", ".", 650, 42, {"Date": "datetime", "USD": "number"}),
]


@pytest.mark.parametrize("keep_raw", [True, False], ids=["text-first", "arrow-typed"])
@pytest.mark.parametrize(("name", "encoding", "delimiter", "decimal", "rows", "columns", "kinds"), REAL_FILES)
def test_real_exports_are_detected_and_typed(name, encoding, delimiter, decimal, rows, columns, kinds, keep_raw):
    parsed = parse(real(name), name, keep_raw=keep_raw)
    assert (parsed.dialect.encoding, parsed.dialect.delimiter, parsed.dialect.decimal) == (encoding, delimiter,
                                                                                           decimal)
    assert parsed.frame.shape == (rows, columns)
    assert {c: parsed.kinds[c] for c in kinds} == kinds
    assert not any(parsed.unparsed.values()), parsed.unparsed


@pytest.mark.parametrize(("name", "column", "row", "expected"), [
    # Windows-1252 smart quotes and decimal commas: "261,96" is 261.96
    ("superstore_cp1252_semicolon.csv", "Sales", 0, 261.96),
    ("tmall_order_report_zh.csv", "订单创建时间", 0, pd.Timestamp("2020-02-21 00:00")),
    ("uci_online_retail_sample.csv", "InvoiceDate", 0, pd.Timestamp("2011-10-31 10:42")),
    # Shopify local time with offset -0400 becomes UTC: 21:52:39 -0400 = 01:52:39 next day
    ("shopify_orders_export_us.csv", "Created at", 0, pd.Timestamp("2022-04-07 01:52:39")),
    ("ecb_eurofxref_hist.csv", "USD", 0, 1.1252),
])
@pytest.mark.parametrize("keep_raw", [True, False], ids=["text-first", "arrow-typed"])
def test_real_values_are_read_correctly(name, column, row, expected, keep_raw):
    value = parse(real(name), name, keep_raw=keep_raw).frame[column].iloc[row]
    assert value == pytest.approx(expected) if isinstance(expected, float) else value == expected


def test_superstore_keeps_its_windows_1252_characters():
    frame = parse(real("superstore_cp1252_semicolon.csv"), "s.csv").frame
    text = " ".join(frame["Product Name"].dropna().tolist())
    assert "\u201c" in text or "\u2019" in text or "\u00a0" in text  # smart quotes / nbsp decoded, not mojibake
    assert "\u00e2\u20ac" not in text


def test_ecb_trailing_comma_adds_no_column_and_na_is_missing():
    parsed = parse(real("ecb_eurofxref_hist.csv"), "ecb.csv")
    assert list(parsed.frame.columns)[-1] == "ZAR"
    assert parsed.frame["CYP"].isna().iloc[0]  # "N/A" on 2025-05-09


# --- generated nasty files ---------------------------------------------------------

ROWS = [("Müller & Söhne", "12.5", "2020/2/21 0:00"), ("Café Zoë", "3", "2020/2/22 13:05")]


def _text(delimiter: str, decimal: str = ".", preamble: str = "") -> str:
    lines = [delimiter.join(["name", "amount", "when"])]
    for name, amount, when in ROWS:
        lines.append(delimiter.join([name, amount.replace(".", decimal), when]))
    return preamble + "\r\n".join(lines) + "\r\n"


NASTY = [
    # id, bytes, encoding, delimiter, header_row, decimal
    ("utf16-excel-unicode-text", codecs.BOM_UTF16_LE + _text("\t").encode("utf-16-le"), "utf-16", "\t", 0, "."),
    ("utf8-bom-semicolon-comma-decimal", _text(";", ",").encode("utf-8-sig"), "utf-8-sig", ";", 0, ","),
    ("cp1252-semicolon", _text(";", ",").encode("cp1252"), "cp1252", ";", 0, ","),
    ("pipe", _text("|").encode(), "utf-8", "|", 0, "."),
    ("tab", _text("\t").encode(), "utf-8", "\t", 0, "."),
    ("preamble", _text(",", preamble="Account statement\r\nPeriod: 2020-02-01 to 2020-02-29\r\n\r\n").encode(),
     "utf-8", ",", 3, "."),
]


@pytest.mark.parametrize(("data", "encoding", "delimiter", "header_row", "decimal"),
                         [n[1:] for n in NASTY], ids=[n[0] for n in NASTY])
@pytest.mark.parametrize("keep_raw", [True, False], ids=["text-first", "arrow-typed"])
def test_nasty_files_are_detected(data, encoding, delimiter, header_row, decimal, keep_raw):
    parsed = parse(data, "nasty.csv", keep_raw=keep_raw)
    assert parsed.dialect == Dialect(encoding, delimiter, header_row, decimal)
    assert list(parsed.frame.columns) == ["name", "amount", "when"]
    assert parsed.frame["name"].tolist() == ["Müller & Söhne", "Café Zoë"]
    assert parsed.frame["amount"].tolist() == [12.5, 3.0]
    assert parsed.frame["when"].tolist() == [pd.Timestamp("2020-02-21 00:00"), pd.Timestamp("2020-02-22 13:05")]


def test_gb18030_chinese_file():
    text = "订单编号,总金额,收货地址,订单创建时间\r\n1,178.8,上海,2020/2/21 0:00\r\n2,21,内蒙古自治区,2020/2/20 23:59\r\n"
    parsed = parse(text.encode("gb18030"), "tmall_gbk.csv")
    assert parsed.dialect.encoding == "gb18030"
    assert parsed.frame["收货地址"].tolist() == ["上海", "内蒙古自治区"]
    assert parsed.frame["总金额"].tolist() == [178.8, 21.0]


@pytest.mark.parametrize(("values", "kind", "first"), [
    (["2020-02-21", "2021-12-31"], "datetime", pd.Timestamp("2020-02-21")),
    (["2020/2/21 0:00", "2020/12/1 13:05"], "datetime", pd.Timestamp("2020-02-21 00:00")),
    (["10/2/2017 10:56", "12/31/2017 9:01"], "datetime", pd.Timestamp("2017-10-02 10:56")),  # month first
    (["21.02.2020", "01.03.2020"], "datetime", pd.Timestamp("2020-02-21")),  # dotted: day first
    (["31/12/2017", "1/2/2018"], "datetime", pd.Timestamp("2017-12-31")),  # 31 cannot be a month
    (["2022-04-06 21:52:40 -0400", "2022-04-06 21:52:40 +0000"], "datetime", pd.Timestamp("2022-04-07 01:52:40")),
    (["1.234,50", "7,25"], "number", 1234.5),
    (["0123", "0456"], "text", "0123"),  # leading zeros are codes, not numbers
    (["true", "false"], "boolean", True),
])
def test_column_typing(values, kind, first):
    delimiter = ";"
    data = ("col\r\n" + "\r\n".join(values) + "\r\n").encode()
    parsed = parse(data, "t.csv", Dialect("utf-8", delimiter, 0, "," if kind == "number" else "."))
    assert parsed.kinds["col"] == kind
    assert parsed.frame["col"].iloc[0] == first


def test_decimal_comma_is_detected_with_thousands_dots():
    data = "sku;price;qty\r\nA;1.234,50;2\r\nB;7,25;1\r\nC;10,00;3\r\n".encode()
    parsed = parse(data, "eu.csv")
    assert parsed.dialect.decimal == ","
    assert parsed.frame["price"].tolist() == [1234.5, 7.25, 10.0]


BAD = [
    ("empty", b"", "empty.csv is empty."),
    ("whitespace only", b"  \r\n\r\n", "blank.csv is empty."),
    ("binary", bytes(range(256)) * 20, "binary.csv is not a text file"),
    ("zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00\x01\x02" * 200, "zip.csv is not a text file"),
    ("header only", b"a,b,c\r\n", "header.csv has a header but no data rows."),
    ("ragged", b"a,b,c\n1,2,3\n4,5\n6,7,8\n", "ragged.csv, line 3: expected 3 fields but found 2"),
    ("ragged long", b"a,b\n1,2\n3,4\n5,6,7,8\n", "ragged.csv, line 4: expected 2 fields but found 4"),
]


@pytest.mark.parametrize(("data", "message"), [(b[1], b[2]) for b in BAD], ids=[b[0] for b in BAD])
@pytest.mark.parametrize("keep_raw", [True, False], ids=["text-first", "arrow-typed"])
def test_bad_input_is_explained(data, message, keep_raw):
    file_name = message.split(" ")[0].rstrip(",")
    with pytest.raises(UploadError) as caught:
        parse(data, file_name, keep_raw=keep_raw)
    assert str(caught.value).startswith(message)
    assert caught.value.template.startswith("{file}")


def test_wrong_encoding_override_names_the_line():
    data = "a,b\r\nx,1\r\nCafé,2\r\n".encode("cp1252")
    with pytest.raises(UploadError, match=r"f.csv: line 3 is not valid utf-8 text"):
        parse(data, "f.csv", Dialect("utf-8", ",", 0, "."))


def test_unparseable_cells_in_a_typed_column_are_counted():
    data = b"n,d\n1,2020-01-01\n2,2020-01-02\n" + b"".join(b"%d,2020-01-03\n" % i for i in range(3, 600)) + \
        b"x,notadate\n"
    parsed = parse(data, "mixed.csv")
    assert parsed.kinds["n"] == "integer" or parsed.kinds["n"] == "number"
    assert parsed.unparsed["n"] + parsed.unparsed["d"] >= 1


# --- profile and views ----------------------------------------------------------

SALES = pd.DataFrame({
    "market": ["US", "US", "DE", "DE", None],
    "channel": ["amazon", "shopify", "amazon", "amazon", "amazon"],
    "amount": [10.0, 20.0, 5.0, None, 1.0],
    "day": pd.to_datetime(["2020-01-05", "2020-01-20", "2020-02-01", "2020-02-03", "2020-02-04"]),
})
KINDS = {"market": "text", "channel": "text", "amount": "number", "day": "datetime"}


def test_profile_hand_worked():
    table = profile(SALES, KINDS).set_index("column")
    # amount: 4 of 5 present -> missing 1/5 = 0.2; mean (10 + 20 + 5 + 1) / 4 = 9
    assert table.loc["amount", "missing_share"] == pytest.approx(0.2)
    assert table.loc["amount", "mean"] == "9"
    assert (table.loc["amount", "min"], table.loc["amount", "max"]) == ("1", "20")
    assert table.loc["market", "distinct"] == 2
    assert table.loc["channel", "top_values"].startswith("amazon (4)")
    assert table.loc["day", "min"].startswith("2020-01-05")
    assert table.loc["market", "mean"] == "" and table.loc["market", "min"] == ""  # no statistics for text


@pytest.mark.parametrize(("spec", "expected"), [
    (ViewSpec(("market",), "count"), {"DE": 2, "US": 2}),
    (ViewSpec(("market",), "sum", "amount"), {"DE": 5.0, "US": 30.0}),
    (ViewSpec(("market",), "mean", "amount"), {"DE": 5.0, "US": 15.0}),  # DE: only 5 is present
    (ViewSpec(("channel",), "median", "amount"), {"amazon": 5.0, "shopify": 20.0}),  # median(10, 5, 1) = 5
    (ViewSpec(("channel",), "count", filters=(Filter("market", ("US",)),)), {"amazon": 1, "shopify": 1}),
    (ViewSpec(("channel",), "sum", "amount", filters=(Filter("amount", low=2.0, high=15.0),)), {"amazon": 15.0}),
])
def test_views_hand_worked(spec, expected):
    view = build_view(SALES, spec).dropna(subset=[spec.group_by[0]])
    assert dict(zip(view[spec.group_by[0]], view[profiling.measure_label(spec)])) == expected


def test_date_grouping_buckets_by_month_and_pivot():
    spec = ViewSpec(("day", "channel"), "sum", "amount", date_bucket="month")
    view = build_view(SALES, spec)
    jan = view[view["day"] == pd.Timestamp("2020-01-01")]
    assert dict(zip(jan["channel"], jan["sum(amount)"])) == {"amazon": 10.0, "shopify": 20.0}
    table = pivot(view, spec).set_index("day")
    assert table.loc[pd.Timestamp("2020-02-01"), "amazon"] == 6.0  # 5 + missing + 1


def test_sum_of_a_text_column_is_refused():
    with pytest.raises(profiling.ViewError, match="market is not numeric"):
        build_view(SALES, ViewSpec(("channel",), "sum", "market"))


# --- recognition and templates ------------------------------------------------------


@pytest.mark.parametrize(("name", "kind", "missing"), [
    ("shopify_orders_export_us.csv", "shopify_orders", ()),
    ("stripe_unified_payments_usd.csv", "stripe_payments", ("channel",)),
    ("uci_online_retail_sample.csv", "uci_online_retail", ("channel",)),
    ("tmall_order_report_zh.csv", None, None),
    ("superstore_cp1252_semicolon.csv", None, None),
    ("ecb_eurofxref_hist.csv", None, None),
])
def test_real_exports_are_recognised(name, kind, missing):
    found = templates.recognise(list(parse(real(name), name).frame.columns))
    assert (found.kind if found else None) == kind
    if found:
        assert found.missing_required == missing


def test_shopify_mapping_names_the_source_columns():
    found = templates.recognise(list(parse(real("shopify_orders_export_us.csv"), "s.csv").frame.columns))
    assert found.mapping["order_ref"] == "Name"
    assert found.mapping["order_total"] == "Total"
    assert found.mapping["market"] == "Shipping Country"


AMAZON_HEADER = ("amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\t"
                 "fulfillment-channel\tsales-channel\tsku\tasin\tquantity\tcurrency\titem-price\titem-tax\t"
                 "shipping-price\tshipping-tax\titem-promotion-discount\tship-country")


def test_amazon_order_report_is_recognised_tab_separated():
    data = (AMAZON_HEADER + "\n" + "302-1-1\t\t2026-03-01T10:00:00+00:00\t2026-03-02T10:00:00+00:00\tShipped\t"
            "Amazon\tAmazon.de\tSKU-1\tB0\t1\tEUR\t19.99\t3.19\t0\t0\t0\tDE\n").encode()
    parsed = parse(data, "amazon.txt")
    assert parsed.dialect.delimiter == "\t"
    found = templates.recognise(list(parsed.frame.columns))
    assert found.kind == "amazon_orders" and found.missing_required == ()


@pytest.mark.parametrize("entity", list(templates.TEMPLATES))
def test_templates_download_header_only_and_are_recognised(entity):
    data = templates.template_csv(entity)
    assert data.startswith(codecs.BOM_UTF8) and data.count(b"\n") == 1
    header = data.decode("utf-8-sig").strip().split(",")
    assert header == templates.template_columns(entity)
    found = templates.recognise(header)
    assert found.kind == f"template_{entity}" and found.missing_required == ()


def test_a_missing_required_column_is_reported():
    columns = [c for c in templates.template_columns("orders") if c != "order_total"]
    found = templates.map_columns(templates.EXPORTS_BY_KIND["template_orders"], columns)
    assert found.missing_required == ("order_total",)


def test_detect_reads_only_a_sample(monkeypatch):
    big = b"a,b\n" + b"1,2\n" * 200_000
    seen = []
    original = parsing.detect_encoding
    monkeypatch.setattr(parsing, "detect_encoding", lambda s: seen.append(len(s)) or original(s))
    detect(big, "big.csv")
    assert seen == [parsing.SAMPLE_BYTES]


def test_a_late_cell_that_contradicts_the_inferred_type_falls_back_to_text():
    data = b"id,amount\n" + b"".join(b"%d,%d.5\n" % (i, i) for i in range(200_000)) + b"x,abc\n"
    parsed = parse(data, "late.csv", keep_raw=False)
    assert parsed.frame.shape == (200_001, 2)
    assert parsed.kinds["amount"] == "number" and parsed.unparsed["amount"] == 1


@pytest.mark.parametrize("keep_raw", [True, False], ids=["text-first", "arrow-typed"])
def test_a_quoted_multi_line_cell_after_the_sample_is_read(keep_raw):
    rows = b"".join(b"%d,plain note\n" % i for i in range(30_000))  # > SAMPLE_BYTES before the quoted cell
    data = b"id,note\n" + rows + b'30000,"first line\nsecond line"\n30001,last\n'
    assert len(data) > parsing.SAMPLE_BYTES
    parsed = parse(data, "notes.csv", keep_raw=keep_raw)
    assert len(parsed.frame) == 30_002
    assert parsed.frame["note"].iloc[30_000] == "first line\nsecond line"


def test_dates_are_naive_datetimes():
    frame = parse(b"when\n2020-01-01 10:00:00 +0100\n", "d.csv").frame
    assert frame["when"].iloc[0].to_pydatetime() == dt.datetime(2020, 1, 1, 9, 0)
