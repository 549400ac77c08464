"""Real browser: a what-if slider move changes the margin and reruns only the simulator fragment.

Streamlit's own technique for fragments: the page writes a random token outside the fragment and another
inside it; after a slider move the inside token changes while the outside one stays the same.
"""

from __future__ import annotations

import pytest

from tests.browser_support import (
    DEMO_PASSWORDS,
    LIVE,
    METRIC,
    chromium_browser,
    goto,
    log_in,
    metric_value,
    open_from_nav,
    require_chromium,
    running_server,
    wait_idle,
)

pytestmark = pytest.mark.browser
OUTSIDE = f".st-key-wi_page_run {LIVE} .wi-run"
INSIDE = f".st-key-wi_fragment_run {LIVE} .wi-run"
FEE_SLIDER = f"{LIVE}[class*='st-key-wi_mfee_'] input[type=range]"


@pytest.fixture(scope="module")
def server(seeded_url, tmp_path_factory):
    require_chromium()
    with running_server(seeded_url, tmp_path_factory.mktemp("browser-what-if") / "streamlit.log") as srv:
        yield srv


def _token(page, selector: str) -> str:
    wait_idle(page, start_ms=0)
    return page.locator(selector).get_attribute("data-run")


def _margin(page) -> str:
    return metric_value(page, "Contribution margin")


def test_slider_reruns_only_the_fragment(server):
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        try:
            goto(page, server.url())
            log_in(page, "manager", DEMO_PASSWORDS["manager"])
            open_from_nav(page, "What-if simulator")
            page.wait_for_selector(f"{METRIC} >> text=Contribution margin", timeout=30_000)
            page.wait_for_selector(INSIDE, state="attached", timeout=30_000)
            outside, inside, margin = _token(page, OUTSIDE), _token(page, INSIDE), _margin(page)
            assert outside and inside, server.log()[-2000:]

            slider = page.locator(FEE_SLIDER)
            slider.focus()
            for _ in range(30):  # +3 pp marketplace fee
                slider.press("ArrowRight")
            wait_idle(page, settle_ms=600)
            page.wait_for_function(
                """([selector, before]) => {
                    const el = document.querySelector(selector);
                    return el && el.getAttribute('data-run') !== before; }""",
                arg=[INSIDE, inside], timeout=15_000,
            )
            wait_idle(page, settle_ms=300)
            assert _margin(page) != margin, server.log()[-2000:]
            assert _token(page, INSIDE) != inside
            assert _token(page, OUTSIDE) == outside, "the slider reran the whole page, not only the fragment"
        finally:
            page.close()
