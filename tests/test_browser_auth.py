"""Real browser: an idle session must log in again, and password guessing through the real login form is
throttled (issue 15).

The server has a database of its own (the tests write sign-in failures) and a 15-second idle timeout
(CBO_IDLE_TIMEOUT_MINUTES in its environment). Every browser here connects from 127.0.0.1, which is one
client to the throttle: a fresh browser context is the same client as the last.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, func, select

from core.platform.db import get_engine, unit_of_work
from core.platform.models import SignInAttempt
from tests.browser_support import (
    DEMO_PASSWORDS,
    LOGIN_FORM,
    NAV_LINKS,
    StreamlitServer,
    chromium_browser,
    click_nav,
    goto,
    has_auth_cookie,
    live,
    log_in,
    require_chromium,
    wait_for_login_or_session,
    wait_idle,
)
from tests.test_auth import small_seeded_database

pytestmark = pytest.mark.browser
IDLE_TIMEOUT_SECONDS = 15
ALERT = "[data-testid=stAlert]"
EXPECT_MS = 20_000


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    require_chromium()
    return small_seeded_database(tmp_path_factory.mktemp("browser-auth"))


@pytest.fixture(scope="module")
def server(database, tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:  # the server process inherits the environment at its start
        env.setenv("CBO_IDLE_TIMEOUT_MINUTES", str(IDLE_TIMEOUT_SECONDS / 60))
        srv = StreamlitServer(database, tmp_path_factory.mktemp("browser-auth") / "streamlit.log").start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser(server):
    with chromium_browser() as chromium:
        yield chromium


@pytest.fixture
def new_page(browser):
    """Factory: a page in a brand-new browser context (no cookies); all closed after the test."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _wait_for_auth_cookie(page, timeout_s: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not has_auth_cookie(page) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    return has_auth_cookie(page)


def test_an_idle_session_must_log_in_again(server, new_page):
    page = new_page()
    goto(page, server.url("/"))
    log_in(page, "viewer", DEMO_PASSWORDS["viewer"])
    assert page.locator(NAV_LINKS).count(), server.log()[-2000:]
    assert _wait_for_auth_cookie(page), "the login was not remembered in the browser"
    click_nav(page, "Market research")  # activity keeps the session
    assert page.locator(NAV_LINKS).count(), "signed out although active"

    page.wait_for_timeout((IDLE_TIMEOUT_SECONDS + 3) * 1000)
    click_nav(page, "Logistics")
    expect(page.locator(LOGIN_FORM)).to_have_count(1, timeout=EXPECT_MS)
    expect(live(page, ALERT).filter(has_text="without activity")).to_have_count(1, timeout=EXPECT_MS)
    assert page.locator(NAV_LINKS).count() == 0

    # Its remembered login went with it: a reload asks for the password too.
    page.reload(wait_until="domcontentloaded")
    assert not wait_for_login_or_session(page, timeout_ms=4_000), "a reload after the idle timeout signed in again"
    assert not has_auth_cookie(page)


def _submit(page, username: str, password: str) -> None:
    form = page.locator(LOGIN_FORM)
    form.get_by_role("textbox", name="Username", exact=True).fill(username)
    form.get_by_role("textbox", name="Password", exact=True).fill(password)
    form.get_by_role("button", name="Log in").click()
    wait_idle(page, start_ms=1_500)


def _checked_passwords(database) -> int:
    """Sign-in attempts whose password was checked (the throttle records no others)."""
    with unit_of_work(get_engine(database)) as session:
        return session.scalar(select(func.count()).select_from(SignInAttempt))


@pytest.fixture
def forget_failures(database):
    yield
    with unit_of_work(get_engine(database)) as session:
        session.execute(delete(SignInAttempt))


def test_guessing_through_the_login_form_is_slowed_then_refused_even_with_the_right_password(
    server, database, new_page, forget_failures
):
    page = new_page()
    goto(page, server.url("/"))
    presses = 0
    # Guess as fast as the form allows until six guesses were checked: the waits after the 3rd, 4th and 5th
    # (2 + 4 + 8 s) refuse the presses in between, and the sixth failure makes this client wait 16 s.
    while _checked_passwords(database) < 6:
        _submit(page, "admin", f"guess-{presses}")
        presses += 1
        assert presses < 200 and page.locator(NAV_LINKS).count() == 0
    assert presses > 6, "no guess was refused"  # the presses during the waits were
    expect(live(page, ALERT).filter(has_text="incorrect")).to_have_count(1, timeout=EXPECT_MS)  # the 6th guess

    # The right password now is refused without being checked, here and in a brand-new browser.
    for browser_page in (page, new_page()):
        if browser_page is not page:
            goto(browser_page, server.url("/"))
        _submit(browser_page, "admin", DEMO_PASSWORDS["admin"])
        expect(live(browser_page, ALERT).filter(has_text="Too many failed attempts")).to_have_count(1, timeout=EXPECT_MS)
        assert browser_page.locator(NAV_LINKS).count() == 0
    assert _checked_passwords(database) == 6
