"""Column typing (issue 17): long numeric IDs stay text (defect 4), decimal commas in comma files (defect 7)."""

from __future__ import annotations

import pytest

from core.imports import parsing
from core.imports.parsing import Dialect, parse

KEEP_RAW = pytest.mark.parametrize("keep_raw", [True, False], ids=["text-first", "arrow-typed"])


def ids_file(ids: list[str], pad: str = "") -> bytes:
    return ("txn_id,amount\n" + "".join(f"{i}{pad},{n}.5\n" for n, i in enumerate(ids))).encode()


# two IDs one apart: as float64 (15-16 significant digits) they become the same number
LONG_IDS = [
    ("22 digits, trailing tab", [str(1234567890123456789012 + n) for n in range(60)], "\t"),
    ("28 digits", [str(10**27 + n) for n in range(60)], ""),
    ("19 digits, fits int64", [str(1234567890123456789 + n) for n in range(60)], ""),
    ("16 digits", [str(9007199254740993 + n) for n in range(60)], ""),
]


@KEEP_RAW
@pytest.mark.parametrize(("ids", "pad"), [c[1:] for c in LONG_IDS], ids=[c[0] for c in LONG_IDS])
def test_long_numeric_ids_stay_text_digit_for_digit(ids, pad, keep_raw):
    parsed = parse(ids_file(ids, pad), "wallet.csv", keep_raw=keep_raw)
    assert parsed.kinds["txn_id"] == "text"
    assert parsed.frame["txn_id"].tolist() == ids  # every digit, the padding trimmed, no two the same
    assert parsed.kinds["amount"] == "number"


@KEEP_RAW
def test_a_long_id_after_the_sample_keeps_the_column_text(keep_raw):
    ids = [str(100_000 + n) for n in range(20_000)] + ["1234567890123456789012"]
    parsed = parse(ids_file(ids), "late.csv", keep_raw=keep_raw)
    assert parsed.kinds["txn_id"] == "text" and parsed.frame["txn_id"].iloc[-1] == "1234567890123456789012"


@KEEP_RAW
@pytest.mark.parametrize(("name", "kind"), [
    ("Order No", "text"), ("order_id", "text"), ("Reference", "text"), ("Transaction Number", "text"),
    ("订单号", "text"), ("交易流水号", "text"), ("物流单号", "text"),
    ("OrderID", "text"), ("ref no.", "text"),
    # a word that only contains "id" or "no" is not an identifier
    ("paid", "integer"), ("Lineitem quantity", "integer"), ("notes", "integer"), ("width", "integer"),
])
def test_columns_named_as_identifiers_stay_text(name, kind, keep_raw):
    data = (f"{name},x\n" + "".join(f"{1000 + n},a\n" for n in range(30))).encode()
    parsed = parse(data, "ids.csv", keep_raw=keep_raw)
    assert parsed.kinds[name] == kind
    assert parsed.frame[name].iloc[0] == ("1000" if kind == "text" else 1000)


def test_number_typing_never_raises(monkeypatch):
    def broken(*_args, **_kwargs):
        raise TypeError("cannot safely cast non-equivalent float64 to int64")

    monkeypatch.setattr(parsing, "_typed_numbers", broken)
    parsed = parse(b"qty,name\n1,a\n2,b\n", "q.csv")
    assert parsed.kinds["qty"] == "text" and parsed.frame["qty"].tolist() == ["1", "2"]


GERMAN = ('Buchungstag,Verwendungszweck,Betrag,Saldo,Kurs\n'
          '01.03.2024,"Miete, März","-41,00","1.234,56",1.5\n'
          '02.03.2024,Gehalt,"2.500,00","3.734,56",2.25\n'
          '03.03.2024,Kaffee,"-3,5","3.731,06",3\n')


@KEEP_RAW
def test_decimal_commas_in_a_comma_delimited_file_are_numbers(keep_raw):
    parsed = parse(GERMAN.encode(), "konto.csv", keep_raw=keep_raw)
    assert parsed.dialect.delimiter == ","
    assert parsed.kinds["Betrag"] == "number" and parsed.frame["Betrag"].tolist() == [-41.0, 2500.0, -3.5]
    assert parsed.frame["Saldo"].tolist() == [1234.56, 3734.56, 3731.06]
    assert parsed.frame["Kurs"].tolist() == [1.5, 2.25, 3.0]  # the decimal point column stays as it is
    assert parsed.decimals == {"Betrag": ",", "Saldo": ","}
    assert parsed.frame["Verwendungszweck"].iloc[0] == "Miete, März"


@pytest.mark.parametrize(("decimal", "expected"), [(".", [1234.0, 5678.0]), (",", [1.234, 5.678])])
def test_an_ambiguous_column_follows_the_chosen_decimal_mark(decimal, expected):
    data = b'amount;n\n"1,234";1\n"5,678";2\n'  # 1,234 is 1234 (thousands) or 1.234 (decimal comma)
    parsed = parse(data, "a.csv", Dialect("utf-8", ";", 0, decimal))
    assert parsed.frame["amount"].tolist() == pytest.approx(expected)


def test_an_import_reads_decimal_comma_amounts_in_a_comma_file(engine):
    from sqlalchemy import select

    from core.imports.importers import ImportOptions, import_file
    from core.platform.db import unit_of_work
    from core.platform.models import Order
    from core.platform.users import create_user
    from tests import factories

    with unit_of_work(engine) as session:
        factories.reference_rows(session)
        create_user(session, "stafford", "password-1", "staff")
    data = ("channel,order_ref,market,ordered_at,currency,order_total,items_total,tax_total,status\n"
            'shopify,#1,US,2026-03-01 10:00:00,USD,"41,00","34,45","6,55",completed\n'
            'shopify,#2,US,2026-03-01 11:00:00,USD,"1.041,50",,,completed\n').encode()
    with unit_of_work(engine) as session:
        import_file(session, "stafford", "eu.csv", data, ImportOptions())
        totals = dict(session.execute(select(Order.order_ref, Order.gmv_usd)).all())
    assert {k: float(v) for k, v in totals.items()} == {"#1": 41.0, "#2": 1041.5}


def test_the_profile_of_a_decimal_comma_column_is_numeric():
    from core.imports.profiling import profile

    parsed = parse(GERMAN.encode(), "konto.csv", keep_raw=False)
    table = profile(parsed.frame, parsed.kinds).set_index("column")
    # (-41 + 2500 - 3.5) / 3 = 818.5
    assert (table.loc["Betrag", "type"], table.loc["Betrag", "mean"]) == ("number", "818.5")
