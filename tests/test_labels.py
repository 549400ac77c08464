"""Enumerated codes that are ours are shown as labels, in English and in Chinese (core.platform.labels)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from core import landed_cost, market
from core.imports import importers
from core.platform import labels
from core.platform.i18n import translate
from tools import i18n as catalogue

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "reference"
ALL_CODES = [(name, code) for name, enumeration in labels.ENUMERATIONS.items() for code in enumeration]


def _column(file_name: str, column: str) -> set[str]:
    with (REFERENCE / file_name).open(encoding="utf-8") as fh:
        return {row[column] for row in csv.DictReader(line for line in fh if not line.startswith("#")) if row[column]}


@pytest.fixture(scope="module")
def zh_catalogue():
    return catalogue._read(catalogue.catalogue_path(catalogue.LANGUAGE))


@pytest.fixture(scope="module")
def extracted():
    return catalogue.source_messages()


@pytest.mark.parametrize(("enumeration", "code"), ALL_CODES, ids=[f"{n}:{c}" for n, c in ALL_CODES])
def test_every_code_has_an_english_label_and_a_chinese_translation(zh_catalogue, extracted, enumeration, code):
    english = labels.ENUMERATIONS[enumeration][code]
    assert english and english != code, "the code itself is not a label"
    message = zh_catalogue.get(english)
    assert message is not None and message.string, f"{english!r} is not in the Chinese catalogue"
    assert english in extracted, "labels are marked with N_() so the extractor finds them"


# What each enumeration must cover: the codes the reference data, the importers and the engines write.
SOURCES = {
    "shipping_services": _column("shipping_services.csv", "code"),
    "shipping_modes": _column("shipping_services.csv", "mode"),
    "sales_channels": _column("channels.csv", "code"),
    "payment_methods": _column("payment_methods.csv", "method") | _column("payment_fees.csv", "method"),
    "payment_gateways": _column("payment_methods.csv", "gateway") | _column("payment_fees.csv", "gateway"),
    "languages": _column("markets.csv", "language"),
    "order_statuses": set(importers.ORDER_STATUSES),
    "payment_statuses": set(importers.PAYMENT_STATUSES),
    "shipment_statuses": set(importers.SHIPMENT_STATUSES),
    "ticket_channels": set(importers.TICKET_CHANNELS),
    "market_note_boxes": {box for boxes in market.FRAMEWORKS.values() for box in boxes},
    # landed_cost.route_options: direct_<mode> for direct parcels, <line-haul mode>_<3pl|fba> for warehouses
    "routes": {f"direct_{m}" for m in landed_cost.DIRECT_MODES}
              | {f"{m}_{kind}" for m in ("air_freight", "sea_lcl") for kind in ("3pl", "fba")},
}


@pytest.mark.parametrize("enumeration", sorted(SOURCES))
def test_every_code_the_reference_data_and_importers_write_has_a_label(enumeration):
    assert SOURCES[enumeration] - set(labels.ENUMERATIONS[enumeration]) == set()


def test_sales_channel_labels_are_the_reference_names():
    with (REFERENCE / "channels.csv").open(encoding="utf-8") as fh:
        names = {row["code"]: row["name"] for row in csv.DictReader(fh)}
    assert dict(labels.SALES_CHANNELS) == names


# The columns of the seeded database holding our codes.
SEEDED_COLUMNS = [
    ("payments", "method", "payment_methods"), ("payments", "gateway", "payment_gateways"),
    ("payments", "status", "payment_statuses"), ("payments", "decline_reason", "decline_reasons"),
    ("payments", "dispute_reason", "dispute_reasons"), ("returns", "reason", "return_reasons"),
    ("tickets", "reason", "ticket_reasons"), ("tickets", "channel", "ticket_channels"),
    ("tickets", "language", "languages"), ("orders", "status", "order_statuses"),
    ("shipments", "status", "shipment_statuses"), ("shipments", "service", "shipping_services"),
    ("products", "status", "product_statuses"), ("market_notes", "box", "market_note_boxes"),
]


@pytest.mark.parametrize(("table", "column", "enumeration"), SEEDED_COLUMNS,
                         ids=[f"{t}.{c}" for t, c, _ in SEEDED_COLUMNS])
def test_every_code_in_the_seeded_database_has_a_label(seeded_engine, table, column, enumeration):
    with seeded_engine.connect() as connection:
        found = set(connection.execute(text(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"))
                    .scalars())
    assert found, f"the seed wrote no {table}.{column}"
    assert found - set(labels.ENUMERATIONS[enumeration]) == set()


@pytest.mark.parametrize(("language", "code", "shown"), [
    ("en", "sea_lcl_fba", "Sea LCL to FBA"),
    ("zh", "sea_lcl_fba", "海运拼箱至 FBA"),
    ("zh", "returned_to_sender", "退回发件人"),
    ("en", "my_own_service", "my_own_service"),  # an upload's own code is shown as it came
    ("en", None, labels.MISSING),
    ("en", float("nan"), labels.MISSING),
])
def test_label(language, code, shown):
    enumeration = labels.SHIPPING_SERVICES | labels.SHIPMENT_STATUSES
    assert labels.label(enumeration, code, language) == shown


def test_a_label_is_translated_through_the_catalogue():
    assert labels.label(labels.DECLINE_REASONS, "insufficient_funds", "zh") == translate("zh", "Insufficient funds")
    assert labels.label(labels.DECLINE_REASONS, "insufficient_funds", "zh") != "Insufficient funds"


def test_ui_helpers_translate_for_display_and_keep_the_codes(monkeypatch):
    from ui import labels as shown

    monkeypatch.setattr(shown, "language", lambda: "zh")
    codes = pd.Series(["delivered", "in_transit", None])
    assert list(shown.labelled(codes, labels.SHIPMENT_STATUSES)) == ["已妥投", "运输中", labels.MISSING]
    assert list(codes[:2]) == ["delivered", "in_transit"]
    format_func = shown.format_func(labels.SHIPPING_SERVICES, ["dhl_express", "sea_lcl_fba"])
    monkeypatch.setattr(shown, "language", lambda: "en")  # the labels were fixed when format_func was built
    assert [format_func(c) for c in ("dhl_express", "sea_lcl_fba", "other")] == ["DHL 国际快递", "海运拼箱至 FBA",
                                                                                  "other"]


@pytest.mark.parametrize(("value", "shown"), [(0.95, "95%"), (0.025, "2.5%"), (0.0065, "0.65%"), (0.8, "80%")])
def test_limit_percent_shows_the_decimals_a_limit_has(monkeypatch, value, shown):
    from ui import labels as ui_labels

    monkeypatch.setattr(ui_labels, "language", lambda: "en")
    assert ui_labels.limit_percent(value) == shown
