"""Real browser: a viewer opens Profit, reads the KPI cards and switches the table's grouping from SKU to market;
the table is redrawn with the market's columns and rows (the grouping switch reruns only its fragment)."""

from __future__ import annotations

import csv
import re

import pytest

from tests.browser_support import (
    DEMO_PASSWORDS,
    LIVE,
    PROJECT_ROOT,
    browser,  # noqa: F401 - a fixture
    goto,
    live,
    log_in,
    metric_card,
    metric_value,
    new_page,  # noqa: F401 - a fixture
    open_from_nav,
    require_chromium,
    running_server,
    wait_idle,
)

pytestmark = pytest.mark.browser
TIMEOUT_MS = 30_000
KPI_LABELS = ("Net revenue", "Contribution profit", "Contribution margin", "Profit per order", "Loss-making SKUs")
ROWS_CAPTION = re.compile(r"^\s*([\d,]+) rows, worst contribution first")


@pytest.fixture(scope="module")
def server(seeded_url, tmp_path_factory):
    require_chromium()
    with running_server(seeded_url, tmp_path_factory.mktemp("browser-profit") / "streamlit.log") as srv:
        yield srv


def _keyed(page, key: str):
    """The current run's element with `key` (Streamlit puts st-key-<key> on its element container)."""
    return page.locator(f"{LIVE}.st-key-{key}")


def _headers(page, grouping: str) -> list[str]:
    """The column headers of the group table (its key names the grouping: a new grouping draws a new table)."""
    wait_idle(page, start_ms=0)
    headers = _keyed(page, f"profit_table_{grouping}").locator("[role=columnheader]")
    headers.first.wait_for(state="attached")
    return [text.strip() for text in headers.all_inner_texts()]


def _market_names() -> set[str]:
    with (PROJECT_ROOT / "data" / "reference" / "markets.csv").open(encoding="utf-8") as fh:
        return {row["name"] for row in csv.DictReader(line for line in fh if not line.startswith("#"))}


def _rows_caption(page) -> str:
    wait_idle(page, start_ms=0)
    caption = live(page, "[data-testid=stCaptionContainer]").filter(has_text=ROWS_CAPTION)
    return caption.inner_text().strip()


def test_a_viewer_switches_the_grouping_and_the_table_follows(server, new_page):  # noqa: F811 - the fixture
    page = new_page()
    goto(page, server.url())
    log_in(page, "viewer", DEMO_PASSWORDS["viewer"])
    open_from_nav(page, "Profit")
    values = {label: metric_value(page, label) for label in KPI_LABELS}  # each card shown once
    assert values["Net revenue"].startswith("$") and values["Contribution margin"].endswith("%"), values

    by_sku = _headers(page, "sku")
    assert by_sku[:4] == ["Loss-maker", "SKU", "Product", "Category"], by_sku
    sku_rows = _rows_caption(page)

    _keyed(page, "profit_grouping").get_by_role("radio", name="Market", exact=True).click()
    wait_idle(page)
    by_market = _headers(page, "market")
    assert by_market[:3] == ["Loss-maker", "Market", "Units"], by_market
    assert "Product" not in by_market
    market_rows = _rows_caption(page)
    assert market_rows != sku_rows, server.log()[-2000:]
    cells = {c.strip() for c in _keyed(page, "profit_table_market").locator("[role=gridcell]").all_inner_texts()}
    assert cells & _market_names(), sorted(cells)[:40]  # markets by name, not by code
    assert not cells & {"Solar Garden Pathway Lights (8-Pack) - Multicolour"}
    # the KPI cards are outside the table's fragment: the switch leaves them as they were
    assert metric_card(page, "Net revenue").count() == 1
    assert metric_value(page, "Net revenue") == values["Net revenue"]
