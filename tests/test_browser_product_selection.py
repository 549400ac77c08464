"""Real browser: a manager moves an opportunity weight slider and the ranking changes."""

from __future__ import annotations

import pytest

from tests.browser_support import (
    DEMO_PASSWORDS,
    LIVE,
    chromium_browser,
    goto,
    log_in,
    open_from_nav,
    require_chromium,
    running_server,
    wait_idle,
)

pytestmark = pytest.mark.browser
TOP_THREE = "[data-testid=stCaptionContainer]:has-text('Top three now')"


@pytest.fixture(scope="module")
def server(seeded_url, tmp_path_factory):
    require_chromium()
    with running_server(seeded_url, tmp_path_factory.mktemp("browser-products") / "streamlit.log") as srv:
        yield srv


def _top_three(page) -> str:
    wait_idle(page, start_ms=0)
    return page.locator(f"{LIVE} {TOP_THREE}").inner_text().strip()


def _push_slider(page, key: str, keypress: str) -> None:
    thumb = page.locator(f"{LIVE}.st-key-{key} input[type=range]")
    thumb.focus()
    thumb.press(keypress)
    wait_idle(page)


def test_moving_a_weight_reorders_the_ranking(server):
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        try:
            goto(page, server.url())
            log_in(page, "manager", DEMO_PASSWORDS["manager"])
            open_from_nav(page, "Product selection")
            page.wait_for_selector(TOP_THREE, timeout=60_000)
            before = _top_three(page)
            # Rank by margin alone: every other weight to 0, margin to 100.
            for name in ("demand", "competition", "trend", "seasonality", "shipping"):
                _push_slider(page, f"weight_{name}", "Home")
            _push_slider(page, "weight_margin", "End")
            after = _top_three(page)
            assert after != before, f"ranking unchanged: {before!r}\n{server.log()[-2000:]}"
        finally:
            page.close()
