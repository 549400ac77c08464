"""Real browser (issue 8): upload a real export, build a chart, download the view, import Shopify twice; two users
importing at the same moment (issue 17)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_support import (
    DEMO_PASSWORDS,
    LIVE,
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
REAL = Path(__file__).resolve().parent / "fixtures" / "real"  # see its PROVENANCE.md
UPLOAD_INPUT = "[data-testid=stFileUploader] input[type=file]"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Its own small seeded database: this test imports (writes), the shared seeded one is read-only."""
    require_chromium()
    from core.bootstrap import prepare_database
    from core.platform.db import get_engine
    from core.platform.schema import upgrade
    from data.seed import seed_database

    url = fresh_database_url(tmp_path_factory.mktemp("browser-upload-db"))
    engine = get_engine(url)
    upgrade(engine)
    seed_database(engine, orders=300, end_date=SEED_END, seed=5)
    prepare_database(engine, seed_if_empty=False)
    with running_server(url, tmp_path_factory.mktemp("browser-upload") / "streamlit.log") as srv:
        yield srv


def _open_upload_page(page, server, user: str = "staff") -> None:
    goto(page, server.url())
    log_in(page, user, DEMO_PASSWORDS[user])
    open_from_nav(page, "CSV upload")
    assert h1_texts(page) == ["CSV upload"], h1_texts(page)


def _upload(page, path: Path, shape: str) -> None:
    page.locator(UPLOAD_INPUT).set_input_files(str(path))
    live(page, "[data-testid=stCaptionContainer]").filter(has_text=shape).wait_for(timeout=60_000)  # the preview
    wait_idle(page, settle_ms=500)


def _choose(page, label: str, option: str) -> None:
    exact_label = page.locator("[data-testid=stWidgetLabel]", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    box = live(page, "[data-testid=stSelectbox]").filter(has=exact_label)
    box.locator("input").click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    wait_idle(page, settle_ms=400)


@contextlib.contextmanager
def _upload_page(server, tmp_path, **options):
    """A browser page on the upload page; on failure a screenshot and the server log's end are kept."""
    with chromium_browser() as browser, _signed_in_page(browser, server, tmp_path, **options) as page:
        yield page


@contextlib.contextmanager
def _signed_in_page(browser, server, tmp_path, user: str = "staff", init_script: str | None = None, **options):
    """A page of its own (its own cookies) on the upload page, signed in as `user`."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, **options)
    if init_script:
        page.add_init_script(init_script)
    try:
        _open_upload_page(page, server, user)
        yield page
    except Exception:
        page.screenshot(path=str(tmp_path / f"failure-{user}.png"), full_page=True)
        print("screenshot:", tmp_path / f"failure-{user}.png", server.log()[-3000:])
        raise
    finally:
        page.close()


def test_upload_chart_download_and_import_twice(server, tmp_path):
    with _upload_page(server, tmp_path, accept_downloads=True) as page:
        _upload(page, REAL / "uci_online_retail_sample.csv", "2,709 rows, 9 columns.")
        _choose(page, "Group by", "Country")
        page.wait_for_selector("[data-testid=stVegaLiteChart]", timeout=30_000)
        with page.expect_download(timeout=30_000) as download:
            page.locator(f"{LIVE}.st-key-download_view").get_by_role("button").click()
        saved = tmp_path / "view.csv"
        download.value.save_as(saved)
        content = saved.read_text(encoding="utf-8-sig")
        assert content.splitlines()[0] == "Country,count"
        assert re.search(r"^United Kingdom,\d+$", content, flags=re.M), content[:500]

        _upload(page, REAL / "shopify_orders_export_us.csv", "98 rows, 78 columns.")
        page.get_by_role("tab", name="Import", exact=True).click()
        page.wait_for_selector("text=Recognised: Shopify orders export", timeout=30_000)
        for result in ("81 inserted, 0 updated, 0 unchanged", "0 inserted, 0 updated, 81 unchanged"):
            page.locator(LIVE).get_by_role("button", name=re.compile(r"^Import 98 rows")).click()
            wait_idle(page, settle_ms=500)
            expect(live(page, "[data-testid=stAlert]").filter(has_text=result)).to_have_count(1, timeout=60_000)


def test_a_large_file_imports_and_its_result_stays_in_view(server, tmp_path):
    """Above the progress-bar size (5 MB) the page used to rebuild its tabs after the read, so the Import
    tab's result was hidden behind Analyse."""
    from bench.upload import generate

    path = tmp_path / "orders_70k.csv"
    generate(path, 70_000)
    assert path.stat().st_size > 5 * 1024 * 1024
    with _upload_page(server, tmp_path) as page:
        _upload(page, path, "70,000 rows, 10 columns.")
        page.get_by_role("tab", name="Import", exact=True).click()
        page.wait_for_selector("text=Recognised: Orders template", timeout=30_000)
        page.locator(LIVE).get_by_role("button", name=re.compile(r"^Import 70,000 rows")).click()
        live(page, "[data-testid=stAlert]").filter(has_text="70,000 inserted").wait_for(state="visible",
                                                                                         timeout=120_000)


# Every alert text a page ever showed: the waiting notice is gone once the import it waited for has run.
ALERT_RECORDER = """
(() => {
  window.__cboAlerts = [];
  new MutationObserver(() => document.querySelectorAll('[data-testid=stAlert]').forEach(alert => {
    const text = (alert.innerText || '').trim();
    if (text && !window.__cboAlerts.includes(text)) window.__cboAlerts.push(text);
  })).observe(document, {subtree: true, childList: true, characterData: true});
})();
"""
WAITING = "Another import is running; yours starts when it ends."


def test_two_users_importing_at_once_take_turns_and_both_see_the_outcome(server, tmp_path):
    """Before (issue 17) the second import failed with the generic error: SQLite "database is locked", PostgreSQL
    a unique-key violation. Now the one that comes second is told it waits, then imports after the first."""
    from bench.upload import generate

    path = tmp_path / "orders_both.csv"
    generate(path, 40_000, seed=17)
    path.write_text(path.read_text(encoding="utf-8").replace(",B-", ",C-"), encoding="utf-8")  # not the 70k test's
    with chromium_browser() as browser, \
            _signed_in_page(browser, server, tmp_path, "staff", ALERT_RECORDER) as ann, \
            _signed_in_page(browser, server, tmp_path, "manager", ALERT_RECORDER) as manon:
        buttons = []
        for page in (ann, manon):
            _upload(page, path, "40,000 rows, 10 columns.")
            page.get_by_role("tab", name="Import", exact=True).click()
            page.wait_for_selector("text=Recognised: Orders template", timeout=30_000)
            buttons.append(page.locator(LIVE).get_by_role("button", name=re.compile(r"^Import 40,000 rows")))
        for button in buttons:  # as near the same moment as two people can click
            button.click()
        outcomes = []
        for page in (ann, manon):
            done = live(page, "[data-testid=stAlert]").filter(has_text=re.compile(r"Import \d+ done"))
            done.wait_for(state="visible", timeout=120_000)
            outcomes.append((done.inner_text(), page.evaluate("() => window.__cboAlerts")))
            assert page.locator("[data-testid=stException]").count() == 0
        # whichever went first inserted the 40,000 orders; the other waited, was told so, and found them there
        first, second = sorted(outcomes, key=lambda outcome: "40,000 unchanged" in outcome[0])
        assert "40,000 inserted, 0 updated, 0 unchanged" in first[0], outcomes
        assert "0 inserted, 0 updated, 40,000 unchanged" in second[0], outcomes
        assert any(WAITING in text for text in second[1]), second[1]
        assert not any(WAITING in text for text in first[1]), first[1]
