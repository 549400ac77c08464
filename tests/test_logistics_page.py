"""The logistics page through the real router (AppTest), on the small seeded database."""

from __future__ import annotations

import datetime as dt

import pytest

from core import landed_cost, logistics
from core.platform import clock, formatting
from core.platform.labels import SHIPPING_SERVICES
from core.platform.db import get_engine, unit_of_work
from core.platform.filters import Filters, default_range
from tests.apptest_support import AppTest, app_as, open_page
from tests.conftest import SEED_END

SECTIONS = ["calculator", "routes", "delivery", "inventory", "suppliers"]


@pytest.fixture(autouse=True)
def _app_env(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}: {[m.label for m in at.metric]}"
    return found[0]


def _logistics(role: str = "viewer") -> AppTest:
    at = open_page(app_as(role), "logistics")
    _ok(at)
    return at


def _first_category(url: str) -> int:
    with unit_of_work(get_engine(url)) as s:
        return int(logistics.picker_lists(s)["categories"]["id"].iloc[0])


def test_parcel_calculator_shows_the_cheapest_landed_cost(seeded_url):
    at = _logistics()
    assert [t.value for t in at.title] == ["Logistics"]
    with unit_of_work(get_engine(seeded_url)) as s:  # the page's defaults: DE, 30×20×10 cm, 0.4 kg, USD 50, DDP
        quotes = landed_cost.parcel_quotes(s, "DE", clock.today(), 1, 50.0, 0.4, (30.0, 20.0, 10.0),
                                           _first_category(seeded_url), "DDP", "USD")
    assert _metric(at, "Cheapest landed cost per unit") == formatting.money(quotes.loc[0, "per_unit"], "USD")
    assert _metric(at, "Cheapest service") == SHIPPING_SERVICES[quotes.loc[0, "service"]]
    services = at.dataframe[0].value["service"].tolist()  # shown by label, e.g. "DHL Express" for dhl_express
    assert services == [SHIPPING_SERVICES[s] for s in quotes["service"]] and len(services) >= 3  # every direct one


def test_a_heavier_parcel_costs_more_and_ddu_drops_the_surcharge():
    at = _logistics()
    light = _metric(at, "Cheapest landed cost per unit")
    at.number_input(key="lg_weight").set_value(3.0).run()
    _ok(at)
    heavy = _metric(at, "Cheapest landed cost per unit")
    assert float(heavy.strip("$").replace(",", "")) > float(light.strip("$").replace(",", ""))
    at.selectbox(key="lg_chosen_service").set_value("dhl_express").run()
    ddp = at.dataframe[1].value.set_index("label")["per_shipment"]
    at.radio(key="lg_incoterm").set_value("DDU").run()
    _ok(at)
    ddu = at.dataframe[1].value.set_index("label")["per_shipment"]
    # DDU: the buyer pays the duty and there is no USD 3 DHL DDP surcharge; IOSS VAT is never in our cost
    assert ddp["Fees (DDP surcharge)"] == pytest.approx(3.0) and ddu["Fees (DDP surcharge)"] == 0
    assert ddu["Landed cost"] == pytest.approx(ddp["Landed cost"] - 3.0 - ddp["Duty"])


def test_reporting_currency_converts_the_calculator():
    at = _logistics()
    at.selectbox(key="ccy").select("EUR").run()
    _ok(at)
    assert _metric(at, "Cheapest landed cost per unit").startswith("€")


def test_only_managers_get_the_shipping_what_if():
    assert "what-if" not in _logistics("viewer").segmented_control(key="lg_section").options
    assert "Shipping what-if" in _logistics("manager").segmented_control(key="lg_section").options


@pytest.mark.parametrize("section", SECTIONS)
def test_every_section_renders(section):
    at = _logistics()
    at.segmented_control(key="lg_section").set_value(section).run()
    _ok(at)
    assert at.subheader, f"{section} rendered no heading"
    assert not [e.value for e in at.error]


def test_delivery_kpis_match_the_service(seeded_url):
    at = _logistics()
    at.segmented_control(key="lg_section").set_value("delivery").run()
    _ok(at)
    start, end = default_range(clock.today())
    with unit_of_work(get_engine(seeded_url)) as s:
        carriers = logistics.carrier_performance(s, Filters(start, end))
    rate = carriers["on_time"].sum() / carriers["delivered"].sum()
    assert _metric(at, "On-time delivery") == formatting.percent(rate)


def test_an_empty_period_says_what_to_do():
    at = _logistics()
    long_ago = SEED_END - dt.timedelta(days=4 * 365)
    at.date_input(key="period").set_value((long_ago, long_ago + dt.timedelta(days=30))).run()
    at.segmented_control(key="lg_section").set_value("delivery").run()
    _ok(at)
    assert any("No shipments in this period" in i.value for i in at.info)


def test_inventory_service_level_changes_the_plan():
    at = _logistics()
    at.segmented_control(key="lg_section").set_value("inventory").run()
    _ok(at)
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["SKUs at stockout risk", "Overstocked SKUs", "Suggested purchases"]
    low = _metric(at, "Suggested purchases")
    at.select_slider(key="lg_service_level").set_value(0.99).run()
    _ok(at)
    assert _metric(at, "Suggested purchases") != low  # a higher service level raises safety stock and orders


def test_manager_what_if_prices_a_rate_rise():
    at = _logistics("manager")
    at.segmented_control(key="lg_section").set_value("what-if").run()
    _ok(at)
    now = _metric(at, "Monthly shipping cost now")
    assert _metric(at, "Monthly shipping cost in the scenario") == now
    rate_inputs = [n for n in at.number_input if n.key.startswith("lg_rate_")]
    for box in rate_inputs:
        box.set_value(10.0)
    at.run()
    _ok(at)
    value = lambda s: float(s.strip("$").replace(",", ""))  # noqa: E731
    assert value(_metric(at, "Monthly shipping cost in the scenario")) == pytest.approx(value(now) * 1.10, abs=0.02)
