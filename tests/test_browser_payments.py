"""Real browser: the FX shock slider on the payments page moves the margin figure (every role may use it)."""

from __future__ import annotations

import pytest

from tests.browser_support import (
    DEMO_PASSWORDS,
    METRIC,
    chromium_browser,
    goto,
    h1_texts,
    live,
    log_in,
    metric_card,
    metric_value,
    open_from_nav,
    require_chromium,
    running_server,
    wait_idle,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(seeded_url, tmp_path_factory):
    require_chromium()
    with running_server(seeded_url, tmp_path_factory.mktemp("browser-payments") / "streamlit.log") as srv:
        yield srv


def test_fx_shock_slider_changes_the_margin(server):
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            goto(page, server.url())
            log_in(page, "viewer", DEMO_PASSWORDS["viewer"])
            open_from_nav(page, "Payments")
            assert h1_texts(page) == ["Payments"], h1_texts(page)
            page.wait_for_selector(f"{METRIC} >> text=Margin after FX shock", timeout=30_000)
            before = metric_value(page, "Margin after FX shock")
            thumb = live(page, "[data-testid=stSlider]").filter(has_text="EUR").get_by_role("slider")
            thumb.scroll_into_view_if_needed()
            thumb.focus()
            for _ in range(10):
                page.keyboard.press("ArrowLeft")
            wait_idle(page, settle_ms=600)
            page.wait_for_function(
                """([label, before]) => [...document.querySelectorAll('[data-testid=stMetric]')]
                    .some(m => m.innerText.includes(label) && !m.innerText.includes(before))""",
                arg=["Margin after FX shock", before], timeout=15_000,
            )
            after = metric_value(page, "Margin after FX shock")
            assert after != before, server.log()[-2000:]
            assert "-" in metric_card(page, "Margin after FX shock").inner_text()
        finally:
            page.close()
