"""Real browser, issue 15 (items 3, 8 and 10): the first request of a fresh server to a deep link or to a page
module's name gets the login form and then the page, with no "Page not found" dialog and no page of Streamlit's
own made from pages/*.py; a markdown display name shows literally; a what-if slider moved after the user lost
the manager role gets the refusal, not new figures.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from core.platform import users
from core.platform.db import get_engine, unit_of_work
from tests.browser_support import (  # browser, new_page: shared fixtures
    DEMO_PASSWORDS,
    DIALOG,
    LOGIN_FORM,
    METRIC,
    NAV_LINKS,
    StreamlitServer,
    attach,
    browser,  # noqa: F401 (a fixture)
    goto,
    h1_texts,
    log_in,
    nav_link_texts,
    new_page,  # noqa: F401 (a fixture)
    require_chromium,
    running_server,
    wait_idle,
)
from tests.conftest import SEED_END, fresh_database_url

pytestmark = pytest.mark.browser
TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1400, "height": 1100}
PASSWORD = "Routes-Test-Pass-9"
MARKDOWN_NAME = "![pixel](http://127.0.0.1:9/pixel.png) **Boss** :red[x]"
# Streamlit's page module titles as its pages/ folder scheme would list them ("what if page", ...)
MODULE_TITLE = re.compile(r"\bpage$")


@pytest.fixture(scope="module")
def routes_db_url(tmp_path_factory) -> str:
    """A small seeded database of our own: a test demotes a user."""
    require_chromium()
    from core.bootstrap import prepare_database
    from core.platform.schema import upgrade
    from data.seed import seed_database

    url = fresh_database_url(tmp_path_factory.mktemp("routes"))
    eng = get_engine(url)
    upgrade(eng)
    seed_database(eng, orders=300, end_date=SEED_END, seed=11)
    prepare_database(eng, seed_if_empty=False)
    with unit_of_work(eng) as session:
        users.create_user(session, "md-name", PASSWORD, "viewer", display_name=MARKDOWN_NAME)
        users.create_user(session, "wi-manager", PASSWORD, "manager")
    return url


@pytest.fixture
def fresh_server(routes_db_url, request, tmp_path):
    """A server process no browser has talked to yet (only the HTTP health check, which opens no session)."""
    server = StreamlitServer(routes_db_url, tmp_path / "server.log").start()
    attach(request.node, server=server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shared_server(routes_db_url, tmp_path_factory):
    with running_server(routes_db_url, tmp_path_factory.mktemp("routes-shared") / "server.log") as server:
        yield server


def _path(page) -> str:
    return urlparse(page.url).path


def _settled(page) -> None:
    """Idle, and long enough after it for a "Page not found" dialog to have appeared."""
    wait_idle(page, start_ms=0)
    page.wait_for_timeout(1_500)
    wait_idle(page, start_ms=0)


def _no_dialog(page) -> None:
    assert page.locator(DIALOG).count() == 0, page.locator(DIALOG).all_inner_texts()


@pytest.mark.parametrize(("path", "username", "title", "lands_on"), [
    ("overview", "viewer", "Overview", "/overview"),
    ("what_if_page", "manager", "What-if simulator", "/what-if"),
], ids=["overview", "module-name"])
def test_the_first_request_of_a_fresh_server_gets_the_login_and_then_the_page(
        fresh_server, new_page, path, username, title, lands_on):
    page = new_page()
    goto(page, fresh_server.url(path))  # the very first page request this server gets
    _settled(page)
    _no_dialog(page)
    assert page.locator(LOGIN_FORM).count() == 1, "the login form"
    assert page.locator(NAV_LINKS).count() == 0, f"a navigation before login: {nav_link_texts(page)}"
    assert h1_texts(page) == ["Cross-Border Ops"]

    log_in(page, username, DEMO_PASSWORDS[username])
    _settled(page)
    _no_dialog(page)
    assert title in h1_texts(page), h1_texts(page)
    assert _path(page) == lands_on
    links = nav_link_texts(page)
    assert "Overview" in links and not [link for link in links if MODULE_TITLE.search(link)], links


def test_overview_opens_at_its_own_path_and_at_the_root(shared_server, new_page):
    page = new_page()
    goto(page, shared_server.url("/"))
    log_in(page, "viewer", DEMO_PASSWORDS["viewer"])
    _settled(page)
    assert h1_texts(page) == ["Overview"] and page.locator(METRIC).count() > 0
    goto(page, shared_server.url("overview?ccy=EUR"))  # a link with a filter, as the README documents the path
    _settled(page)
    _no_dialog(page)
    assert h1_texts(page) == ["Overview"]
    assert "ccy=EUR" in page.url, "the link's filter stays in the URL"
    assert page.locator(METRIC).first.inner_text().count("€") >= 1


def test_a_markdown_display_name_shows_literally(shared_server, new_page):
    page = new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    goto(page, shared_server.url("/"))
    log_in(page, "md-name", PASSWORD)
    _settled(page)
    signed_in_as = page.locator("[data-testid=stSidebar] [data-testid=stText]").filter(has_text="Signed in as")
    assert signed_in_as.count() == 1
    assert MARKDOWN_NAME in signed_in_as.inner_text()
    assert page.locator("[data-testid=stSidebar]").locator("img, strong, a[href*='127.0.0.1:9']").count() == 0
    assert not [url for url in requested if "pixel.png" in url], "the browser fetched the markdown image"


def test_a_what_if_slider_after_a_demotion_gets_the_refusal(shared_server, new_page, routes_db_url):
    page = new_page()
    goto(page, shared_server.url("what-if"))
    log_in(page, "wi-manager", PASSWORD)
    _settled(page)
    page.wait_for_selector(f"{METRIC} >> text=Contribution margin", timeout=TIMEOUT_MS)
    page_runs = page.locator(".st-key-wi_page_run .wi-run").first.get_attribute("data-run")

    with unit_of_work(get_engine(routes_db_url)) as session:
        users.set_role(session, "wi-manager", "staff")
    slider = page.locator("[class*='st-key-wi_mfee_'] input[type=range]").first
    slider.focus()
    slider.press("ArrowRight")  # one step: the fragment reruns (and, refused, takes the slider away)
    _settled(page)

    refusal = page.get_by_text("This page needs the manager role")
    assert refusal.count() >= 1, "the fragment's rerun did not check the role"
    assert page.locator(f"{METRIC} >> text=Contribution margin").count() == 0, "the simulator still shows figures"
    assert page.locator(".st-key-wi_page_run .wi-run").first.get_attribute("data-run") == page_runs, \
        "the whole page reran: this tests the fragment's own run"
