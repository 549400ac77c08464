"""Real-browser harness: a `streamlit run bin/streamlit_app.py` subprocess (as bin/run starts it) plus Playwright
on Debian's chromium.

Used by tests/test_browser.py. Nothing here installs browsers: Playwright drives
/usr/bin/chromium (`apt-get install chromium`). Without it the browser tests are
skipped, except under CI (env CI set), where a missing browser is an error.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 60.0
IDLE_TIMEOUT_MS = 30_000

DEMO_PASSWORDS = {role: f"demo-{role}" for role in ("viewer", "staff", "manager", "admin")}

APP = "[data-testid=stApp]"
APP_IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
APP_RUNNING = (
    "[data-testid=stApp][data-test-script-state=running],"
    "[data-testid=stApp][data-test-script-state=rerunRequested]"
)
NAV_LINKS = "[data-testid=stSidebarNav] a"
NAV_LABEL_IN_LINK = "span[label] [data-testid=stMarkdownContainer]"
NAV_LINK_LABELS = f"{NAV_LINKS} {NAV_LABEL_IN_LINK}"
# While a rerun is under way Streamlit keeps the previous run's elements on screen, marked data-stale="true",
# until the new run has replaced or dropped them: a locator over the whole page can then find an element twice
# (the old and the new, when the new one sits at another place in the tree). Reads scope to LIVE, the element
# containers the current run drew (they are never nested), so one element matches however the run is timed.
LIVE = "[data-testid=stElementContainer]:not([data-stale=true])"
METRIC = "[data-testid=stMetric]"
METRIC_VALUE = "[data-testid=stMetricValue]"
LOGIN_FORM = "[data-testid=stForm]"
DIALOG = "[data-testid=stDialog]"
PAGE_NOT_FOUND = "Page not found"


# --------------------------------------------------------------------------- chromium / playwright


def require_chromium() -> None:
    """Skip (or, under CI, fail) when the system chromium is not there."""
    if Path(CHROMIUM).exists():
        return
    reason = f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser tests"
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI is set, so this is an error, not a skip)")
    pytest.skip(reason)


@contextlib.contextmanager
def chromium_browser() -> Iterator:
    """A headless chromium driven by Playwright's sync API (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


# --------------------------------------------------------------------------- shared fixtures
# Import them into a browser test module (`from tests.browser_support import browser, new_page`). A module may
# set TIMEOUT_MS and VIEWPORT to change the defaults for its own pages.

DEFAULT_TIMEOUT_MS = 20_000
DEFAULT_VIEWPORT = {"width": 1400, "height": 1000}


@pytest.fixture(scope="module")
def browser(request, tmp_path_factory):
    """One headless chromium for the module; skipped (failed under CI) without /usr/bin/chromium. A failed test's
    report gets its server log and a screenshot (FailureReport)."""
    from playwright.sync_api import expect

    require_chromium()
    expect.set_options(timeout=getattr(request.module, "TIMEOUT_MS", DEFAULT_TIMEOUT_MS))
    plugin = FailureReport(tmp_path_factory.mktemp("browser-artifacts"))
    name = f"cbo-browser-failure-report-{request.module.__name__}"
    request.config.pluginmanager.register(plugin, name)
    try:
        with chromium_browser() as chromium:
            yield chromium
    finally:
        request.config.pluginmanager.unregister(plugin)


@pytest.fixture
def new_page(browser, request):
    """Factory: a page in a brand-new browser context (no cookies); all closed after the test."""
    contexts = []

    def make():
        context = browser.new_context(viewport=getattr(request.module, "VIEWPORT", DEFAULT_VIEWPORT), locale="en-US")
        context.set_default_timeout(getattr(request.module, "TIMEOUT_MS", DEFAULT_TIMEOUT_MS))
        context.add_init_script(CONTENT_RECORDER)
        contexts.append(context)
        page = context.new_page()
        attach(request.node, page=page)
        return page

    yield make
    for context in contexts:
        context.close()


# --------------------------------------------------------------------------- streamlit server


def _die_with_parent() -> None:
    """In the server child, before exec: get SIGTERM when pytest dies (Linux), so a killed or
    timed-out test run leaves no orphaned `streamlit run` behind."""
    try:
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StreamlitServer:
    """One `streamlit run bin/streamlit_app.py` subprocess on a free port, its output going to a log file."""

    database_url: str
    log_path: Path
    port: int = field(default_factory=free_port)
    cookie_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    extra_args: tuple[str, ...] = ()  # more `streamlit run` options, e.g. bench/rerun.py's runner settings
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"

    def start(self, *, wait: bool = True) -> StreamlitServer:
        """Launch the process; with wait=False call wait_healthy() before using it."""
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            CBO_COOKIE_KEY=self.cookie_key,
            CBO_BCRYPT_ROUNDS="4",
            PYTHONUNBUFFERED="1",
        )
        env.pop("CBO_DEV", None)
        command = [
            str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable, "-m", "streamlit", "run",
            "bin/streamlit_app.py",
            "--server.headless", "true",
            "--server.address", "127.0.0.1",
            "--server.port", str(self.port),
            "--browser.gatherUsageStats", "false",
            *self.extra_args,
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        health = self.url("_stcore/health")
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                pytest.fail(f"streamlit exited with code {self.process.returncode} before it was healthy.\n"
                            f"--- server log ---\n{self.log()}")
            try:
                with urllib.request.urlopen(health, timeout=2) as response:
                    if response.status == 200 and response.read().strip() == b"ok":
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                last_error = repr(exc)
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"streamlit did not answer {health} within {SERVER_START_TIMEOUT:.0f} s ({last_error}).\n"
                    f"--- server log ---\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def running_server(database_url: str, log_path: Path) -> Iterator[StreamlitServer]:
    server = StreamlitServer(database_url, log_path).start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- page helpers


def wait_idle(page, *, settle_ms: int = 100, start_ms: int = 400, timeout_ms: int = IDLE_TIMEOUT_MS) -> None:
    """Wait until the rerun an action triggered has started and finished.

    A click or keypress reaches the server a moment later, so first give the
    script up to `start_ms` to enter the running state, then wait for notRunning,
    let the page settle and make sure no follow-up rerun (st.rerun, a component
    reporting its value) is still going.
    """
    page.wait_for_selector(APP, state="attached", timeout=timeout_ms)
    if start_ms:
        with contextlib.suppress(Exception):
            page.wait_for_selector(APP_RUNNING, state="attached", timeout=start_ms)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout_ms)
    page.wait_for_timeout(settle_ms)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout_ms)


def goto(page, url: str) -> None:
    """Open `url` and wait for the first script run to finish."""
    page.goto(url, wait_until="domcontentloaded")
    wait_idle(page, start_ms=0)


def nav_link_texts(page) -> list[str]:
    """The titles of the sidebar's page links (without the material icon names)."""
    return [text.strip() for text in page.locator(NAV_LINK_LABELS).all_inner_texts()]


def nav_link(page, title: str):
    label = page.locator(NAV_LABEL_IN_LINK).filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))
    return page.locator(NAV_LINKS).filter(has=label)


def click_nav(page, title: str) -> None:
    nav_link(page, title).click()
    wait_idle(page)


def open_from_nav(page, title: str, *, attempts: int = 3, timeout_ms: int = 10_000) -> None:
    """Open the page `title` from the sidebar and wait until its heading is the current run's.

    Right after a login the app reruns once or twice more (the remembered-login cookie is written by a
    component that reports back), and a click that lands while the sidebar is being redrawn can hit a link
    that is about to be replaced: the click is lost and nothing navigates. So the click is repeated, at most
    `attempts` times, until the page's own h1 appears."""
    heading = page.locator("[data-testid=stMain] h1").filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))
    for attempt in range(attempts):
        wait_idle(page, start_ms=0)
        nav_link(page, title).click()
        wait_idle(page)
        try:
            heading.first.wait_for(state="visible", timeout=timeout_ms)
            return
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: the click was lost, try again
            if attempt == attempts - 1:
                raise


def log_in(page, username: str, password: str) -> None:
    """Fill the streamlit-authenticator form and press Log in; returns once the form went or an error shows."""
    form = page.locator(LOGIN_FORM)
    form.get_by_role("textbox", name="Username", exact=True).fill(username)
    form.get_by_role("textbox", name="Password", exact=True).fill(password)
    form.get_by_role("button", name="Log in").click()
    page.wait_for_function(
        """() => !document.querySelector('[data-testid=stMain] input[type=password]')
                 || [...document.querySelectorAll('[data-testid=stAlert]')]
                      .some(a => /incorrect|cannot log in/i.test(a.innerText))""",
        timeout=IDLE_TIMEOUT_MS,
    )
    wait_idle(page)


def has_auth_cookie(page) -> bool:
    """Whether the browser holds the app's re-auth cookie (the only way a new session signs in by itself)."""
    from ui.auth import COOKIE_NAME

    return any(cookie["name"] == COOKIE_NAME for cookie in page.context.cookies())


def wait_for_login_or_session(page, timeout_ms: int = 8_000) -> bool:
    """After a (re)load: True once the app shows a signed-in session (page links), False if it
    settles on the login form. With its re-auth cookie in the browser, streamlit-authenticator may
    sign in a rerun or two after the login form first appeared, so that case gets `timeout_ms`."""
    wait_idle(page, start_ms=0)
    if not has_auth_cookie(page):
        return page.locator(NAV_LINKS).count() > 0
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if page.locator(NAV_LINKS).count():
            wait_idle(page, start_ms=0)
            return True
        page.wait_for_timeout(200)
    wait_idle(page, start_ms=0)
    return page.locator(NAV_LINKS).count() > 0


def ensure_logged_in(page, username: str, password: str) -> str:
    """Sign in unless the re-auth cookie already did; says which happened ("cookie" or "form")."""
    if wait_for_login_or_session(page):
        return "cookie"
    log_in(page, username, password)
    return "form"


def _open_combobox(page, widget) -> None:
    """Open a react-aria combobox (selectbox / multiselect); retried because a rerun can swallow a click."""
    field = widget.locator("input[role=combobox]")
    for _ in range(4):
        field.click()
        if field.get_attribute("aria-expanded") != "true":
            page.keyboard.press("ArrowDown")
        try:
            page.get_by_role("listbox").last.wait_for(state="visible", timeout=2_000)
            return
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError; try again
            page.keyboard.press("Escape")
            wait_idle(page)
    raise AssertionError(f"the combobox {widget} did not open")


def sidebar_widget(page, testid: str, label: str):
    """The sidebar widget of the current run labelled exactly `label` (see LIVE)."""
    exact_label = page.locator("[data-testid=stWidgetLabel]", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    return page.locator(f"[data-testid=stSidebar] {LIVE} [data-testid={testid}]").filter(has=exact_label)


def choose_option(page, testid: str, label: str, option: str | re.Pattern, *, search: str | None = None) -> None:
    """Pick `option` in the sidebar selectbox/multiselect labelled `label`, then wait for the rerun.

    Types `search` (default: the option itself) first: long option lists are virtualised, so an
    option far down is not in the DOM until the list is filtered.
    """
    widget = sidebar_widget(page, testid, label)
    _open_combobox(page, widget)
    if search is None and isinstance(option, str):
        search = option
    if search:
        field = widget.locator("input[role=combobox]")
        field.press("ControlOrMeta+a")  # a selectbox's input holds the current choice
        field.press_sequentially(search)
    name = option if isinstance(option, re.Pattern) else re.compile(rf"^\s*{re.escape(option)}\s*$")
    page.get_by_role("option", name=name).first.click()
    wait_idle(page)
    if testid == "stMultiSelect":  # the list stays open after a pick in a multiselect
        page.keyboard.press("Escape")
        wait_idle(page, start_ms=0)


def selectbox_value(page, label: str) -> str:
    wait_idle(page, start_ms=0)
    return sidebar_widget(page, "stSelectbox", label).locator("input[role=combobox]").input_value()


def multiselect_tags(page, label: str) -> list[str]:
    wait_idle(page, start_ms=0)
    widget = sidebar_widget(page, "stMultiSelect", label)
    return [text.strip() for text in widget.locator("[data-tag] > span[title]").all_inner_texts()]


def h1_texts(page) -> list[str]:
    return [text.strip() for text in page.locator("[data-testid=stMain] h1").all_inner_texts()]


def live(page, selector: str):
    """The elements matching `selector` that the current script run drew (see LIVE)."""
    return page.locator(f"{LIVE} {selector}")


def metric_card(page, label: str):
    """The KPI card labelled exactly `label` among the current run's elements. Matched on the label's own
    text, whole: "GMV" is not "GMV per order", and an open help tooltip mentions other labels (AOV = GMV / orders)."""
    own_text = page.locator("[data-testid=stMetricLabel] [data-testid=stMarkdownContainer]").filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    return page.locator(f"{LIVE} > {METRIC}").filter(has=own_text)


def metric_value(page, label: str) -> str:
    """The value on the card labelled `label`, read once the app is idle and shows exactly one such card."""
    from playwright.sync_api import expect

    wait_idle(page, start_ms=0)
    card = metric_card(page, label)
    expect(card).to_have_count(1, timeout=IDLE_TIMEOUT_MS)
    return card.locator(METRIC_VALUE).inner_text().strip()


def close_page_not_found_dialogs(page) -> list[str]:
    """Let Playwright close Streamlit's "Page not found" modal whenever it blocks an action.

    Streamlit shows it (over the login form) when a logged-out browser opens a deep link: the
    logged-out navigation has only the login page. Returns a list that fills with the texts of
    the dialogs closed."""
    closed: list[str] = []
    dialog = page.locator(f"{DIALOG} [role=dialog]").filter(has_text=PAGE_NOT_FOUND)

    def close(found) -> None:
        closed.append(found.inner_text().strip())
        found.get_by_role("button", name="Close").click()

    page.add_locator_handler(dialog, close)
    return closed


def reauth_cookie(server: StreamlitServer, username: str) -> dict:
    """The re-auth cookie a successful login asks the browser to store, for `context.add_cookies`.

    Signed with the server's CBO_COOKIE_KEY in the app's format (an HS256 JWT of username, iat and
    exp_date, see ui.auth._remembered_login), lasting as long as the app remembers any role's login,
    so the app accepts it. Tests use it where they need a browser that certainly holds the cookie.
    """
    import jwt

    from core.platform.config import remember_days
    from ui.auth import COOKIE_NAME

    issued = time.time()
    expires = issued + min(remember_days("viewer"), remember_days("admin")) * 86_400
    claims = {"username": username, "iat": issued, "exp_date": expires}
    token = jwt.encode(claims, server.cookie_key, algorithm="HS256")
    return {"name": COOKIE_NAME, "value": token, "url": server.base_url, "expires": expires}


# --------------------------------------------------------------------------- what a page ever showed

# Records, from the first byte on, every h1 text and every KPI card the page ever rendered, so a
# test can tell that protected content never flashed up, not only that it is gone at the end.
CONTENT_RECORDER = """
(() => {
  window.__cboSeen = {h1: [], metrics: 0, dataframes: 0};
  const scan = () => {
    const seen = window.__cboSeen;
    document.querySelectorAll('h1').forEach(h => {
      const text = (h.innerText || h.textContent || '').trim();
      if (text && !seen.h1.includes(text)) seen.h1.push(text);
    });
    seen.metrics = Math.max(seen.metrics, document.querySelectorAll('[data-testid=stMetric]').length);
    seen.dataframes = Math.max(seen.dataframes, document.querySelectorAll('[data-testid=stDataFrame]').length);
  };
  new MutationObserver(scan).observe(document, {subtree: true, childList: true, characterData: true});
  document.addEventListener('DOMContentLoaded', scan);
})();
"""


def seen_content(page) -> dict:
    """What the CONTENT_RECORDER init script saw on the current document."""
    return page.evaluate("() => window.__cboSeen")


# --------------------------------------------------------------------------- failure reports

SERVERS_KEY = pytest.StashKey[list]()
PAGES_KEY = pytest.StashKey[list]()


def attach(item, *, server: StreamlitServer | None = None, page=None) -> None:
    """Remember a test's servers and pages so a failure report can show their log and a screenshot."""
    if server is not None:
        item.stash.setdefault(SERVERS_KEY, []).append(server)
    if page is not None:
        item.stash.setdefault(PAGES_KEY, []).append(page)


class FailureReport:
    """A plugin (registered by the browser tests' fixtures) adding the server log and a screenshot
    to the report of a failed browser test."""

    def __init__(self, artifacts: Path):
        self.artifacts = artifacts

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if not report.failed or report.when == "teardown":
            return
        for index, page in enumerate(item.stash.get(PAGES_KEY, [])):
            shot = self.artifacts / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', item.name)}-{index}.png"
            try:
                page.screenshot(path=str(shot), full_page=True)
                report.sections.append((f"browser page {index}", f"url: {page.url}\nscreenshot: {shot}"))
            except Exception as exc:  # noqa: BLE001 - the page may be gone; the log still helps
                report.sections.append((f"browser page {index}", f"no screenshot: {exc}"))
        for server in item.stash.get(SERVERS_KEY, []):
            report.sections.append((f"streamlit server log ({server.base_url}, {server.log_path})", server.log()))

