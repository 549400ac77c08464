"""The Profit page through the real router (AppTest): every role sees it, each grouping renders with its codes as
labels, a selected row gets its own waterfall, the empty state says what to do, and only managers can enter a unit
cost (refusals name the field; an accepted cost takes the sale off the uncosted list and into the ledger)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from core import profit
from core.platform import users
from core.platform.db import get_engine, unit_of_work
from core.platform.filters import Filters, default_range
from core.platform.models import AuditEvent
from core.summaries import refresh_all
from tests import factories
from tests.apptest_support import AppTest, app_as, open_page
from tests.conftest import SEED_END

KPI_LABELS = ["Net revenue", "Contribution profit", "Contribution margin", "Profit per order", "Loss-making SKUs"]
SAVE = "Save unit cost"


def _env(monkeypatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


@pytest.fixture
def seeded_env(seeded_url, monkeypatch):
    _env(monkeypatch, seeded_url)
    return seeded_url


def _profit_as(username: str) -> AppTest:
    at = open_page(app_as(username), "profit")
    assert not at.exception, [e.value for e in at.exception]
    return at


def _frame(at: AppTest, column: str) -> pd.DataFrame:
    """The one dataframe on the page with `column` (the group table has `loss`, a waterfall table `basis_label`)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with a {column!r} column"
    return found[0]


def _unescaped(texts) -> list[str]:
    return [text.replace("\\", "") for text in texts]


# --- every role, every grouping, the drill-down, the empty state (seeded database, read only) -------------------


@pytest.mark.usefixtures("seeded_env")
@pytest.mark.parametrize("role", ["viewer", "staff", "manager", "admin"])
def test_every_role_sees_the_page_and_only_managers_get_the_cost_form(role):
    at = _profit_as(role)
    assert [t.value for t in at.title] == ["Profit"]
    assert [m.label for m in at.metric] == KPI_LABELS
    assert all(m.delta for m in at.metric), "every card compares with the previous period"
    assert at.metric[0].value.startswith("$") and at.metric[2].value.endswith("%")
    buttons = [b.label for b in at.button]
    assert (SAVE in buttons) == (role in ("manager", "admin"))


@pytest.mark.usefixtures("seeded_env")
def test_the_waterfall_table_marks_what_is_not_measured_and_adds_up():
    at = _profit_as("viewer")
    steps = _frame(at, "basis_label")
    assert list(steps["step"]) == [
        "Gross sales", "VAT", "Discounts", "Net revenue", "Shipping charged", "Product cost (landed)",
        "Outbound shipping", steps["step"][7], "Payment fees", "FX cost", "Duty and import VAT (DDP)", "Refunds",
        "Return shipping", "Returned units written off (estimated)", "Chargebacks lost", "Dispute fees",
        "Advertising", "Unattributed advertising (allocated)", "Storage (estimated)", "Contribution profit"]
    # the marketplace line is actual, or partly estimated where some payouts are missing
    assert steps["step"][7] in ("Marketplace and fulfilment fees", "Marketplace and fulfilment fees (partly estimated)")
    assert set(steps.loc[steps["step"].str.endswith("(estimated)"), "basis_label"]) == {"Estimated"}
    # net revenue + shipping charged + every cost (negative) = the contribution card
    amounts = dict(zip(steps["step"], steps["amount"]))
    costs = steps["amount"][5:19].sum()
    assert amounts["Net revenue"] + amounts["Shipping charged"] + costs == pytest.approx(
        amounts["Contribution profit"], abs=0.01)
    assert at.metric[1].value == f"${amounts['Contribution profit']:,.2f}"


@pytest.mark.usefixtures("seeded_env")
@pytest.mark.parametrize(("grouping", "names"), [
    ("sku", ["sku", "product", "category"]), ("sku_market", ["sku", "product", "market"]),
    ("sku_market_channel", ["sku", "product", "market", "channel"]), ("market", ["market"]),
    ("channel", ["channel"]), ("category", ["category"]),
])
def test_each_grouping_renders_its_rows_with_labels(seeded_url, grouping, names):
    at = _profit_as("viewer")
    at.button_group(key="profit_grouping").set_value(grouping).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = _frame(at, "loss")
    assert list(shown.columns[:len(names) + 1]) == ["loss", *names]
    assert {"units", "net_revenue", *profit.COST_KEYS, "contribution", "margin"} <= set(shown.columns)
    start, end = default_range(SEED_END)
    with unit_of_work(get_engine(seeded_url)) as s:
        table = profit.table(s, Filters(start, end), grouping)
    assert len(shown) == len(table)
    assert list(shown["contribution"]) == pytest.approx(list(table["contribution"]))
    assert (shown["loss"] != "").sum() == table["loss_maker"].sum()
    if "channel" in names:  # codes are shown as labels, the ledger's channel 0 as words
        assert set(shown["channel"]) <= {"Amazon", "eBay", "TikTok Shop", "Shopify store", "(no channel)"}
    if grouping == "market":
        assert "United States" in set(shown["market"]) and "US" not in set(shown["market"])
    if grouping == "category":
        assert "LED lighting" in set(shown["category"]) and "led_lighting" not in set(shown["category"])
    if "sku" in names:  # the costs no SKU carries keep their own row, named
        assert (shown["sku"] == "(no SKU)").sum() == (table["product_id"] == profit.NO_PRODUCT).sum()
        assert shown["sku"].notna().all()
    if "market" in names:
        assert (shown["market"] == "(no market)").sum() == (table["market_code"] == "").sum()
        assert shown["market"].notna().all()


@pytest.mark.usefixtures("seeded_env")
def test_selecting_a_row_shows_its_own_waterfall():
    at = _profit_as("viewer")
    at.button_group(key="profit_grouping").set_value("market").run()
    shown = _frame(at, "loss")
    row = int(shown.index[shown["market"] == "Germany"][0])
    at.session_state["profit_table_market"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Selected: Germany" in _unescaped(s.value for s in at.subheader)
    waterfalls = [d.value for d in at.dataframe if "basis_label" in d.value.columns]
    assert len(waterfalls) == 2, "the period's waterfall and the selected row's"
    selected = dict(zip(waterfalls[1]["step"], waterfalls[1]["amount"]))
    assert selected["Contribution profit"] == pytest.approx(shown.loc[row, "contribution"])
    assert selected["Net revenue"] == pytest.approx(shown.loc[row, "net_revenue"])


@pytest.mark.usefixtures("seeded_env")
def test_an_empty_period_says_what_to_do():
    before_the_data = SEED_END - dt.timedelta(days=4 * 365)
    at = _profit_as("viewer")
    at.date_input(key="period").set_value((before_the_data, before_the_data + dt.timedelta(days=30))).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No orders in this period" in i.value and "Widen the date range" in i.value for i in at.info)
    assert not at.metric and not at.dataframe


def test_core_refuses_a_cost_entry_by_a_viewer(seeded_url):
    """Hiding the form is not the check: core.profit.record_cost authorizes the role itself."""
    with unit_of_work(get_engine(seeded_url)) as s, pytest.raises(users.PermissionDenied):
        profit.record_cost(s, "viewer", "SKU-1", dt.date(2026, 1, 1), 5.0, today=SEED_END)


# --- the uncosted list and the cost entry (a database of its own: the entry writes) ---------------------------


@pytest.fixture
def uncosted(engine, monkeypatch):
    """One sale of SKU-1 on 1 November 2026 (net revenue 18) with no purchase batch and no entered cost, a manager
    and a viewer."""
    with unit_of_work(engine) as s:
        factories.reference_rows(s)
        factories.order(s, 1, dt.date(2026, 11, 1), "US", 1, "20", "18", "9")
        s.flush()
        refresh_all(s)
        users.create_user(s, "cost-manager", "Ledger-Pass-42", "manager")
        users.create_user(s, "cost-viewer", "Ledger-Pass-43", "viewer")
    _env(monkeypatch, engine.url.render_as_string(hide_password=False))
    return engine


def _enter(at: AppTest, *, valid_from: dt.date, cost: float | None, note: str = "") -> AppTest:
    at.selectbox(key="profit_cost_sku").set_value("SKU-1")
    at.date_input(key="profit_cost_from").set_value(valid_from)
    at.number_input(key="profit_cost_usd").set_value(cost)
    at.text_input(key="profit_cost_note").input(note)
    next(b for b in at.button if b.label == SAVE).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_viewer_sees_the_uncosted_sale_and_is_sent_to_a_manager(uncosted):
    at = _profit_as("cost-viewer")
    warning = " ".join(w.value for w in at.warning)
    assert "1 SKUs sold 1 units in this period with no known unit cost" in warning
    assert "Ask a manager" in warning
    listed = _frame(at, "first_day")
    assert list(listed["sku"]) == ["SKU-1"] and list(listed["units"]) == [1]
    assert SAVE not in [b.label for b in at.button]


@pytest.mark.parametrize(("valid_from", "cost", "message"), [
    (dt.date(2026, 12, 1), 4.2, "Valid from: The date 2026-12-01 is in the future"),
    (dt.date(2026, 10, 1), 0.0, "Unit cost (USD): The unit cost must be more than 0"),
    (dt.date(2026, 10, 1), -3.0, "Unit cost (USD): The unit cost must be more than 0"),
    (dt.date(2026, 10, 1), 99_999.0, "Unit cost (USD): A unit cost above 5,000 USD looks like a typo"),
    (dt.date(2026, 10, 1), None, "Unit cost (USD): The unit cost must be a number"),
])
def test_a_refused_cost_names_the_field_and_writes_nothing(uncosted, valid_from, cost, message):
    at = _enter(_profit_as("cost-manager"), valid_from=valid_from, cost=cost)
    assert _unescaped(e.value for e in at.error) == [message]
    with unit_of_work(uncosted) as s:
        assert profit.cost_entries(s).empty
    assert any("no known unit cost" in w.value for w in at.warning), "the sale is still uncosted"


def test_an_accepted_cost_is_saved_audited_and_costs_the_sale(uncosted):
    at = _enter(_profit_as("cost-manager"), valid_from=dt.date(2026, 10, 1), cost=4.2, note="supplier invoice 17")
    assert _unescaped(s.value for s in at.success) == [
        "Every unit sold in this period has a known unit cost.",
        "Saved: SKU-1 costs $4.20 from Oct 1, 2026. The profit figures are updated from that day on."]
    assert not at.warning
    entries = _frame(at, "entered_by")
    assert list(entries["sku"]) == ["SKU-1"] and list(entries["entered_by"]) == ["cost-manager"]
    assert list(entries["note"]) == ["supplier invoice 17"]
    # one unit at 4.20: the period's waterfall now carries it as product cost
    steps = dict(zip(_frame(at, "basis_label")["step"], _frame(at, "basis_label")["amount"]))
    assert steps["Product cost (landed)"] == pytest.approx(-4.2)
    with unit_of_work(uncosted) as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.entity == "product_cost")).one()
    assert (audit.username, audit.action) == ("cost-manager", "create")
