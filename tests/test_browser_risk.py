"""Real browser: a manager edits a risk on the risk page and the heat map redraws with the new counts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.platform.db import get_engine, unit_of_work
from core.platform.models import Risk
from core.platform.schema import upgrade
from tests.browser_support import (
    DEMO_PASSWORDS,
    chromium_browser,
    goto,
    h1_texts,
    live,
    log_in,
    open_from_nav,
    require_chromium,
    running_server,
    wait_idle,
)
from tests.conftest import SEED_END, fresh_database_url

pytestmark = pytest.mark.browser

HEAT_MAP_TITLE = "Risks not closed by likelihood and impact"


@pytest.fixture(scope="module")
def risk_db(tmp_path_factory) -> str:
    """A database of its own: this test writes to the register, and the shared seeded one is read only."""
    from core.bootstrap import prepare_database
    from data.seed import seed_database

    url = fresh_database_url(tmp_path_factory.mktemp("browser-risk-db"))
    engine = get_engine(url)
    upgrade(engine)
    seed_database(engine, orders=1500, end_date=SEED_END, seed=11)
    prepare_database(engine, seed_if_empty=False)
    return url


@pytest.fixture(scope="module")
def server(risk_db, tmp_path_factory):
    require_chromium()
    with running_server(risk_db, tmp_path_factory.mktemp("browser-risk") / "streamlit.log") as srv:
        yield srv


def _heat_map_counts(page) -> list[str]:
    """The counts printed in the heat-map cells (SVG text marks), in drawing order."""
    wait_idle(page, start_ms=0)
    chart = live(page, "[data-testid=stVegaLiteChart]").filter(has_text=HEAT_MAP_TITLE)
    chart.scroll_into_view_if_needed()
    chart.locator("svg, canvas").first.wait_for(timeout=15_000)
    texts = chart.locator("svg g.mark-text.role-mark text").evaluate_all("nodes => nodes.map(n => n.textContent || '')")
    return [text.strip() for text in texts if text.strip()]


def _lone_and_crowded_risks(url: str) -> tuple[int, tuple[int, int], tuple[int, int]]:
    """A risk alone in its cell, and another cell that already holds a risk."""
    with unit_of_work(get_engine(url)) as s:
        cells = s.execute(select(Risk.likelihood, Risk.impact, func.count(), func.min(Risk.id))
                          .where(Risk.status != "closed").group_by(Risk.likelihood, Risk.impact)).all()
    lone = next((lk, im, rid) for lk, im, n, rid in cells if n == 1)
    target = next((lk, im) for lk, im, n, _ in cells if (lk, im) != lone[:2])
    return lone[2], lone[:2], target


def _set_number(form, label: str, value: int) -> None:
    box = form.locator("[data-testid=stNumberInput]").filter(has_text=label).locator("input")
    box.fill(str(value))
    box.press("Tab")


def test_manager_edits_a_risk_and_the_heat_map_changes(server, risk_db):
    risk_id, old_cell, new_cell = _lone_and_crowded_risks(risk_db)
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        try:
            goto(page, server.url())
            log_in(page, "manager", DEMO_PASSWORDS["manager"])
            open_from_nav(page, "Risk")
            assert h1_texts(page) == ["Risk"], h1_texts(page)
            page.wait_for_selector(f"[data-testid=stVegaLiteChart] >> text={HEAT_MAP_TITLE}", timeout=30_000)
            before = _heat_map_counts(page)
            assert before and all(text.isdigit() for text in before), before

            choice = page.locator("[data-testid=stSelectbox]").filter(has_text="Risk to edit")
            choice.scroll_into_view_if_needed()
            choice.locator("input").click()
            page.get_by_role("option", name=f"#{risk_id} ·").first.click()
            wait_idle(page)
            form = page.locator("[data-testid=stForm]").filter(has_text="Save changes").first
            _set_number(form, "Likelihood (1-5)", new_cell[0])
            _set_number(form, "Impact (1-5)", new_cell[1])
            form.get_by_role("button", name="Save changes").click()
            wait_idle(page, settle_ms=600)
            page.wait_for_selector(f"text=Risk #{risk_id} saved.", timeout=15_000)

            after = _heat_map_counts(page)
            # the risk left a cell where it was alone and joined an occupied one: one filled cell fewer,
            # the same number of risks in total
            assert len(after) == len(before) - 1, (before, after, server.log()[-2000:])
            assert sum(map(int, after)) == sum(map(int, before))
        finally:
            page.close()
    with unit_of_work(get_engine(risk_db)) as s:
        stored = s.get(Risk, risk_id)
        assert (stored.likelihood, stored.impact) == new_cell != old_cell
