"""Real browser: the parcel calculator on the logistics page prices a parcel as core.landed_cost does."""

from __future__ import annotations

import pytest

from core import landed_cost, logistics
from core.platform import clock, formatting
from core.platform.db import get_engine, unit_of_work
from tests.browser_support import (
    DEMO_PASSWORDS,
    METRIC,
    chromium_browser,
    goto,
    h1_texts,
    log_in,
    metric_value,
    open_from_nav,
    require_chromium,
    running_server,
    wait_idle,
)

pytestmark = pytest.mark.browser
LABEL = "Cheapest landed cost per unit"


@pytest.fixture(scope="module")
def server(seeded_url, tmp_path_factory):
    require_chromium()
    with running_server(seeded_url, tmp_path_factory.mktemp("browser-logistics") / "streamlit.log") as srv:
        yield srv


def _expected(url: str, weight_kg: float) -> str:
    """What core says for the page's defaults (DE, first category, 30×20×10 cm, USD 50, 1 unit, DDP, today)."""
    with unit_of_work(get_engine(url)) as s:
        category = int(logistics.picker_lists(s)["categories"]["id"].iloc[0])
        quotes = landed_cost.parcel_quotes(s, "DE", clock.today(), 1, 50.0, weight_kg, (30.0, 20.0, 10.0), category,
                                           "DDP", "USD")
    return formatting.money(quotes.loc[0, "per_unit"], "USD")


def test_parcel_calculator_prices_a_heavier_parcel(server, seeded_url):
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            goto(page, server.url())
            log_in(page, "viewer", DEMO_PASSWORDS["viewer"])
            open_from_nav(page, "Logistics")
            page.wait_for_selector("[data-testid=stMain] h1 >> text=Logistics", timeout=30_000)
            assert h1_texts(page) == ["Logistics"], h1_texts(page)
            page.wait_for_selector(f"{METRIC} >> text={LABEL}", timeout=30_000)
            before = metric_value(page, LABEL)
            assert before == _expected(seeded_url, 0.4), server.log()[-2000:]

            weight = page.get_by_label("Weight per unit (kg)")
            weight.fill("3.00")
            weight.press("Enter")
            wait_idle(page, settle_ms=600)
            page.wait_for_function(
                """([label, before]) => [...document.querySelectorAll('[data-testid=stMetric]')]
                    .some(m => m.innerText.includes(label) && !m.innerText.includes(before))""",
                arg=[LABEL, before], timeout=15_000,
            )
            after = metric_value(page, LABEL)
            # 3 kg: postal weighs 3.0 kg actual, express max(3, 6000 / 5000 = 1.2) = 3.0 kg; the engine's figure
            assert after == _expected(seeded_url, 3.0), server.log()[-2000:]
            assert after != before
        finally:
            page.close()
