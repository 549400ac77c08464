"""Cross-Border Ops in a real browser: `streamlit run app.py` driven by Playwright and Debian's chromium.

Run alone with `.venv/bin/pytest -q tests/test_browser.py` (or `-m browser` / `-m "not browser"`).
The harness lives in tests/browser_support.py; the server reads the session's seeded database
(tests/conftest.py: SQLite, or PostgreSQL when CBO_TEST_POSTGRES_URL is set).
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser_support import (  # browser, new_page: shared fixtures
    DEMO_PASSWORDS,
    LOGIN_FORM,
    METRIC,
    METRIC_VALUE,
    NAV_LINKS,
    StreamlitServer,
    attach,
    browser,  # noqa: F401 (a fixture)
    choose_option,
    click_nav,
    close_page_not_found_dialogs,
    ensure_logged_in,
    goto,
    h1_texts,
    has_auth_cookie,
    live,
    log_in,
    metric_card,
    metric_value,
    multiselect_tags,
    nav_link_texts,
    new_page,  # noqa: F401 (a fixture)
    reauth_cookie,
    running_server,
    seen_content,
    selectbox_value,
    wait_for_login_or_session,
    wait_idle,
)

TIMEOUT_MS = 20_000
VIEWER_PAGES = ["Overview", "Profit", "Market research", "Product selection", "Logistics", "Payments",
                "Customer service", "Risk", "Log out"]
PAGES_BY_ROLE = {
    "viewer": VIEWER_PAGES,
    "staff": VIEWER_PAGES + ["CSV upload"],
    "manager": VIEWER_PAGES + ["CSV upload", "What-if simulator"],
    "admin": VIEWER_PAGES + ["CSV upload", "What-if simulator", "Users"],
}
KPI_CARDS = 10  # Overview: 4 profit cards (net revenue, contribution, its margin, gross margin) + 6
WRONG_PASSWORD_MESSAGE = "Username or password is incorrect."


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def app_server(browser, request, tmp_path_factory):
    """`streamlit run app.py` on the seeded test database, shared by the module's tests."""
    request.getfixturevalue("_fresh_server_process")
    seeded_url = request.getfixturevalue("seeded_url")  # after the chromium check: no database build to skip
    with running_server(seeded_url, tmp_path_factory.mktemp("streamlit") / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def _fresh_server_process(browser, request, tmp_path_factory):
    """Launched early so its start-up overlaps other tests; nothing talks to it but the health check
    until test_deep_links_need_a_login_on_a_fresh_server does."""
    if not any(item.name.startswith("test_deep_links") and getattr(item, "module", None) is request.module
               for item in request.session.items):
        yield None
        return
    seeded_url = request.getfixturevalue("seeded_url")
    server = StreamlitServer(seeded_url, tmp_path_factory.mktemp("streamlit-fresh") / "server.log").start(wait=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_server(_fresh_server_process, request):
    """A server process of its own that no browser has talked to yet."""
    attach(request.node, server=_fresh_server_process)
    _fresh_server_process.wait_healthy()
    return _fresh_server_process


@pytest.fixture
def page(new_page, app_server, request):
    attach(request.node, server=app_server)
    return new_page()


# --------------------------------------------------------------------------- helpers


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def path_of(url: str) -> str:
    return urlparse(url).path


def expect_overview(page, currency_symbol: str) -> None:
    """The Overview of the current run: its title once, its KPI cards, the GMV card (exactly one) in the currency."""
    wait_idle(page, start_ms=0)
    expect(live(page, "h1").filter(has_text=re.compile(r"^\s*Overview\s*$"))).to_have_count(1)
    expect(live(page, METRIC)).to_have_count(KPI_CARDS)
    gmv = metric_card(page, "GMV")
    expect(gmv).to_have_count(1)
    expect(gmv.locator(METRIC_VALUE)).to_have_text(re.compile(rf"^{re.escape(currency_symbol)}\s?\d"))


def expect_login_form(page) -> None:
    form = page.locator(LOGIN_FORM)
    expect(form.get_by_role("textbox", name="Username", exact=True)).to_have_count(1)
    expect(form.get_by_role("textbox", name="Password", exact=True)).to_have_count(1)
    expect(form.get_by_role("button", name="Log in")).to_have_count(1)


def expect_nav(page, expected: list[str], timeout_s: float = 10.0) -> None:
    """The sidebar holds exactly these page links (in any order), each once."""
    deadline = time.monotonic() + timeout_s
    while sorted(nav_link_texts(page)) != sorted(expected) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    shown = nav_link_texts(page)
    assert sorted(shown) == sorted(expected), f"sidebar links {shown}, expected {expected}"
    assert page.locator(NAV_LINKS).count() == len(expected), f"{page.locator(NAV_LINKS).count()} links: {shown}"


def signed_in(page, server, role: str) -> None:
    goto(page, server.url("/"))
    expect_login_form(page)
    log_in(page, role, DEMO_PASSWORDS[role])


# --------------------------------------------------------------------------- tests


@pytest.mark.browser
@pytest.mark.parametrize("role", list(PAGES_BY_ROLE))
def test_login_shows_the_pages_of_the_role(page, app_server, role):
    signed_in(page, app_server, role)

    expect_nav(page, PAGES_BY_ROLE[role])
    expect_overview(page, "$")
    assert metric_value(page, "GMV").startswith("$")
    expect(page.locator("[data-testid=stSidebar]")).to_contain_text(re.compile(rf"Signed in as .+ \({role}\)"))


# A copy of the live GMV card, inserted before it and marked as the previous run's: what the page holds
# while a rerun has drawn the new card at another place in the tree and not yet dropped the old one.
STALE_GMV_COPY = """() => {
  const label = [...document.querySelectorAll('[data-testid=stMetricLabel]')].find(l => l.innerText.trim() === 'GMV');
  const current = label.closest('[data-testid=stElementContainer]');
  const old = current.cloneNode(true);
  old.setAttribute('data-stale', 'true');
  old.querySelector('[data-testid=stMetricValue]').innerText = '$0.00';
  current.before(old);
}"""


@pytest.mark.browser
def test_the_previous_runs_card_is_never_read(page, app_server):
    signed_in(page, app_server, "viewer")
    expect_overview(page, "$")
    shown = metric_value(page, "GMV")
    page.evaluate(STALE_GMV_COPY)
    gmv_labels = page.locator("[data-testid=stMetricLabel]").filter(has_text=re.compile(r"^\s*GMV\s*$"))
    expect(gmv_labels).to_have_count(2)  # both on screen, as during a rerun
    expect_overview(page, "$")
    assert metric_value(page, "GMV") == shown != "$0.00"


@pytest.mark.browser
def test_wrong_password_is_refused(page, app_server):
    goto(page, app_server.url("/"))
    expect_login_form(page)
    log_in(page, "viewer", "not-the-password")

    expect(page.locator("[data-testid=stAlert]").filter(has_text=WRONG_PASSWORD_MESSAGE)).to_have_count(1)
    expect_login_form(page)
    wait_idle(page, start_ms=0)
    assert page.locator(NAV_LINKS).count() == 0
    assert page.locator(METRIC).count() == 0
    assert seen_content(page)["metrics"] == 0


@pytest.mark.browser
def test_sidebar_navigation(page, app_server):
    signed_in(page, app_server, "viewer")
    expect_overview(page, "$")

    click_nav(page, "Market research")
    page.wait_for_url(lambda url: path_of(url).endswith("/market"))
    expect(page.locator("[data-testid=stMain] h1").filter(has_text="Market research")).to_have_count(1)
    expect(page.locator(METRIC)).to_have_count(0)

    click_nav(page, "Overview")
    page.wait_for_url(lambda url: path_of(url) in ("/", "/overview"))
    expect_overview(page, "$")
    assert "Market research" not in h1_texts(page)


@pytest.mark.browser
def test_filters_survive_page_switch_and_copied_url(page, new_page, app_server):
    signed_in(page, app_server, "viewer")
    expect_overview(page, "$")

    choose_option(page, "stSelectbox", "Reporting currency", "EUR")
    page.wait_for_url(lambda url: query(url).get("ccy") == ["EUR"])
    expect_overview(page, "€")
    choose_option(page, "stMultiSelect", "Markets", re.compile(r"^\s*US\b"), search="US")
    page.wait_for_url(lambda url: query(url).get("markets") == ["US"])
    expect_overview(page, "€")
    assert multiselect_tags(page, "Markets") == ["US"]

    click_nav(page, "Market research")
    page.wait_for_url(lambda url: path_of(url).endswith("/market"))
    expect(page.locator("[data-testid=stMain] h1").filter(has_text="Market research")).to_have_count(1)
    assert selectbox_value(page, "Reporting currency") == "EUR"
    assert query(page.url).get("ccy") == ["EUR"]

    click_nav(page, "Overview")
    page.wait_for_url(lambda url: path_of(url) in ("/", "/overview"))
    expect_overview(page, "€")
    assert selectbox_value(page, "Reporting currency") == "EUR"
    assert multiselect_tags(page, "Markets") == ["US"]
    copied = page.url
    assert query(copied).get("ccy") == ["EUR"] and query(copied).get("markets") == ["US"], copied

    # The copied link in another browser (no session, no cookie): log in there, the filters come along.
    other = new_page()
    goto(other, copied)
    expect_login_form(other)
    log_in(other, "viewer", DEMO_PASSWORDS["viewer"])
    expect_overview(other, "€")
    assert selectbox_value(other, "Reporting currency") == "EUR"
    assert multiselect_tags(other, "Markets") == ["US"]
    assert query(other.url).get("ccy") == ["EUR"] and query(other.url).get("markets") == ["US"], other.url


@pytest.mark.browser
def test_logout_returns_to_the_login_form(page, app_server):
    signed_in(page, app_server, "viewer")
    expect_overview(page, "$")

    click_nav(page, "Log out")
    expect_login_form(page)
    expect(page.locator(NAV_LINKS)).to_have_count(0)
    expect(page.locator(METRIC)).to_have_count(0)
    assert set(h1_texts(page)) <= {"Cross-Border Ops"}, h1_texts(page)


def wait_for_auth_cookie(page, present: bool, timeout_ms: int = 8_000) -> bool:
    """The cookie is written/deleted by a component in the browser a moment after the run."""
    deadline = time.monotonic() + timeout_ms / 1000
    while has_auth_cookie(page) != present and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    return has_auth_cookie(page) == present


@pytest.mark.browser
def test_a_login_is_remembered_across_a_reload(page, app_server):
    signed_in(page, app_server, "staff")
    expect_nav(page, PAGES_BY_ROLE["staff"])
    assert wait_for_auth_cookie(page, present=True), "a form login did not store the re-auth cookie"

    page.reload(wait_until="domcontentloaded")
    assert wait_for_login_or_session(page), "a reload after logging in asked for the password again"
    expect_nav(page, PAGES_BY_ROLE["staff"])


@pytest.mark.browser
def test_logout_deletes_and_revokes_the_reauth_cookie(page, new_page, app_server):
    # A browser holding the re-auth cookie of an earlier login is signed in by it...
    cookie = reauth_cookie(app_server, "viewer")
    page.context.add_cookies([cookie])
    goto(page, app_server.url("/"))
    assert wait_for_login_or_session(page), "the app did not accept its own re-auth cookie"
    expect_overview(page, "$")

    # ...Log out deletes it, and a reload stays signed out.
    click_nav(page, "Log out")
    expect_login_form(page)
    assert wait_for_auth_cookie(page, present=False), "Log out left the re-auth cookie in the browser"
    page.reload(wait_until="domcontentloaded")
    assert not wait_for_login_or_session(page, timeout_ms=4_000), "a reload after Log out signed in again"
    expect_login_form(page)

    # A copy of the cookie kept elsewhere (another browser, a stolen cookie) no longer signs in either,
    # and that browser is told to forget it.
    elsewhere = new_page()
    elsewhere.context.add_cookies([cookie])
    goto(elsewhere, app_server.url("/"))
    assert not wait_for_login_or_session(elsewhere, timeout_ms=4_000), "a revoked cookie signed in"
    expect_login_form(elsewhere)
    assert elsewhere.locator(NAV_LINKS).count() == 0
    assert wait_for_auth_cookie(elsewhere, present=False), "the revoked cookie was not deleted"


@pytest.mark.browser
def test_deep_links_need_a_login_on_a_fresh_server(fresh_server, new_page):
    guarded = {"risk": "Risk", "users": "Users", "overview": "Overview"}
    tab = new_page()  # a fresh context, never signed in: nothing stored between the requests
    # Logged out, the navigation holds only the login page, so Streamlit may put its "Page not
    # found" modal over the login form; it is closed whenever it would block an action.
    close_page_not_found_dialogs(tab)
    for path, title in guarded.items():  # /risk is the very first page request this server gets
        goto(tab, fresh_server.url(path))
        expect_login_form(tab)
        tab.wait_for_timeout(200)
        wait_idle(tab, start_ms=0)
        seen = seen_content(tab)
        assert title not in seen["h1"], f"/{path} showed its page before login: {seen}"
        assert seen["metrics"] == 0 and seen["dataframes"] == 0, f"/{path} leaked content: {seen}"
        assert tab.locator(NAV_LINKS).count() == 0
        assert set(h1_texts(tab)) <= {"Cross-Border Ops"}, h1_texts(tab)
    assert [c["name"] for c in tab.context.cookies() if c["name"] == "cbo_auth"] == []

    # A viewer who signs in (on /overview now) and then asks for /users never gets the user admin page.
    log_in(tab, "viewer", DEMO_PASSWORDS["viewer"])
    expect_overview(tab, "$")
    assert "Users" not in nav_link_texts(tab)
    goto(tab, fresh_server.url("users"))
    ensure_logged_in(tab, "viewer", DEMO_PASSWORDS["viewer"])
    tab.wait_for_timeout(200)
    wait_idle(tab, start_ms=0)
    seen = seen_content(tab)
    assert "Users" not in seen["h1"], f"a viewer reached the user admin page: {seen}"
    assert tab.get_by_text("Add a user").count() == 0
    expect(tab.locator("[data-testid=stMain] h1").filter(has_text=re.compile(r"^\s*Users\s*$"))).to_have_count(0)
    shows_overview = "Overview" in h1_texts(tab) and tab.locator(METRIC).count() == KPI_CARDS
    shows_refusal = tab.locator("[data-testid=stAlert]").filter(
        has_text=re.compile(r"needs the admin role|not found", re.I)).count() > 0
    assert shows_overview or shows_refusal, f"neither the overview nor a refusal: h1={h1_texts(tab)}"
