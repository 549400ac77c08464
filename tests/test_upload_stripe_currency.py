"""Stripe fees in the currency Stripe charged them in (issue 17, defect 2).

Stripe's Dashboard payments export ("unified payments", 23 default columns: id, Created date (UTC), Amount, Amount
Refunded, Currency, Captured, Converted Amount, Converted Amount Refunded, Converted Currency, Decline Reason, ...,
Fee, ..., Taxes On Fee, ...) gives `Amount` and `Amount Refunded` in the charge's own currency (`Currency`), and
`Converted Amount` and `Fee` in the currency of the account's balance (`Converted Currency`): Stripe takes its fee
from the balance transaction, after conversion. Sources read for this: the export's default column list as the
Dashboard's export dialog shows it (tests/fixtures/real/stripe_unified_payments_usd.csv carries exactly those 23);
Stripe's balance transaction for a converted charge (gist.github.com/thairu/1bb35222aefd6e27aa07: a 3.14 EUR charge
becomes a 4.24 USD balance transaction whose fee, 0.50, is in USD; gist.github.com/siddarth/6241382: a USD charge on
a GBP account has amount 258 and fee 38, both in GBP); and exports read elsewhere that take `Converted Amount` with
`Converted Currency` as what reached the balance, `Fee` beside it.

So the fee in USD is Fee at the rate of the Converted Currency, and the fee in the payment currency (fee_amount)
is that USD amount at the payment currency's rate, as every other amount is stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.imports.importers import ImportOptions, import_file
from core.imports.parsing import UploadError
from core.platform.db import unit_of_work
from core.platform.models import ImportBatch, Payment
from core.platform.users import create_user
from tests import factories

DAY = dt.date(2026, 3, 1)
REAL = Path(__file__).resolve().parent / "fixtures" / "real"
HEADER = (REAL / "stripe_unified_payments_usd.csv").read_text(encoding="utf-8").splitlines()[0].split(",")


@pytest.fixture
def db(engine):
    with unit_of_work(engine) as session:
        factories.reference_rows(session)  # markets US (USD), DE (EUR); channels amazon=1, shopify=2
        factories.fx(session, DAY, "EUR", 0.8)  # 1 EUR = 1.25 USD
        factories.fx(session, DAY, "THB", 35.0)  # 1 THB = 1/35 USD
        create_user(session, "stafford", "password-1", "staff")
    return engine


def stripe_export(*rows: dict) -> bytes:
    """The real export's header; every row fills the columns it names and leaves the others empty."""
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        assert set(row) <= set(HEADER), set(row) - set(HEADER)
        writer.writerow({"Created date (UTC)": "2026-03-01 10:00:00", "Captured": "true", "Status": "Paid",
                         "Amount Refunded": "0.00", "Converted Amount Refunded": "0.00", **row})
    return out.getvalue().encode()


def import_stripe(engine, data: bytes, name: str = "unified_payments.csv"):
    with unit_of_work(engine) as session:
        return import_file(session, "stafford", name, data, ImportOptions(defaults={"channel": "shopify"}))


def stored(engine, ref: str) -> tuple:
    with unit_of_work(engine) as session:
        p = session.scalar(select(Payment).where(Payment.payment_ref == ref))
        return p.currency, p.amount, p.amount_usd, p.fee_amount, p.fee_usd, p.market_code


def test_a_usd_charge_settled_in_thb_keeps_its_fee_in_usd(db):
    """The issue's case: 25.00 USD charged, 880.00 THB reached a Thai balance, Stripe kept 36.05 THB. Before,
    36.05 was stored as a USD fee: 35 times the real one."""
    data = stripe_export({"id": "ch_thb", "Amount": "25.00", "Currency": "usd", "Converted Amount": "880.00",
                          "Converted Currency": "thb", "Fee": "36.05"})
    import_stripe(db, data)
    # fee: 36.05 THB / 35 THB per USD = 1.03 USD; the payment is in USD, so fee_amount is 1.03 too
    assert stored(db, "ch_thb") == ("USD", Decimal("25.00"), Decimal("25.00"), Decimal("1.03"), Decimal("1.03"), "US")


def test_a_eur_charge_settled_in_usd_keeps_its_fee_in_eur(db):
    """100.00 EUR charged, 124.00 USD reached the balance (Stripe's rate), fee 3.90 USD."""
    data = stripe_export({"id": "ch_eur", "Amount": "100.00", "Currency": "eur", "Converted Amount": "124.00",
                          "Converted Currency": "usd", "Fee": "3.90"})
    import_stripe(db, data)
    # amount: 100 EUR at 0.8 EUR per USD = 125.00 USD (our rate, as for every amount); Converted Amount is not it
    # fee: 3.90 USD as charged; in the payment currency 3.90 × 0.8 = 3.12 EUR (before: 3.90 EUR = 4.88 USD)
    assert stored(db, "ch_eur") == ("EUR", Decimal("100.00"), Decimal("125.00"), Decimal("3.12"), Decimal("3.90"),
                                    "DE")


def test_an_unconverted_charge_and_a_failed_one_without_a_converted_currency(db):
    data = stripe_export(
        {"id": "ch_usd", "Amount": "15.00", "Currency": "usd", "Converted Amount": "15.00",
         "Converted Currency": "usd", "Fee": "0.74"},
        {"id": "ch_failed", "Amount": "20.00", "Currency": "eur", "Status": "Failed", "Captured": "false",
         "Converted Amount": "0.00", "Fee": "0.00"},  # nothing settled: no converted currency, no fee
    )
    import_stripe(db, data)
    assert stored(db, "ch_usd") == ("USD", Decimal("15.00"), Decimal("15.00"), Decimal("0.74"), Decimal("0.74"), "US")
    assert stored(db, "ch_failed")[3:5] == (Decimal("0.00"), Decimal("0.00"))


def test_a_fee_in_a_currency_without_a_rate_is_named(db):
    data = stripe_export(
        {"id": "ch_1", "Amount": "15.00", "Currency": "usd", "Converted Amount": "15.00",
         "Converted Currency": "usd", "Fee": "0.74"},
        {"id": "ch_2", "Amount": "15.00", "Currency": "usd", "Converted Amount": "20.10",
         "Converted Currency": "sgd", "Fee": "0.99"},
    )
    with pytest.raises(UploadError) as caught:
        import_stripe(db, data, "sgd.csv")
    assert str(caught.value) == ("sgd.csv, line 3, column Converted Currency: unknown currency 'SGD' (no exchange "
                                 "rate for it).")
    with unit_of_work(db) as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 0
        assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0
