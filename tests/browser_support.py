"""Real-browser harness: a `streamlit run app.py` subprocess plus Playwright on Debian's chromium.

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
METRIC = "[data-testid=stMetric]"
METRIC_VALUE = "[data-testid=stMetricValue]"
LOGIN_FORM = "[data-testid=stForm]"


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


# --------------------------------------------------------------------------- streamlit server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StreamlitServer:
    """One `streamlit run app.py` subprocess on a free port, its output going to a log file."""

    database_url: str
    log_path: Path
    port: int = field(default_factory=free_port)
    cookie_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
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

    def start(self) -> StreamlitServer:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            CBO_COOKIE_KEY=self.cookie_key,
            CBO_BCRYPT_ROUNDS="4",
            PYTHONUNBUFFERED="1",
        )
        env.pop("CBO_DEV", None)
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless", "true",
            "--server.address", "127.0.0.1",
            "--server.port", str(self.port),
            "--browser.gatherUsageStats", "false",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
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


def wait_idle(page, *, settle_ms: int = 150, timeout_ms: int = IDLE_TIMEOUT_MS) -> None:
    """Wait until the rerun an action triggered has started and finished.

    A click or keypress reaches the server a moment later, so first give the
    script a chance to enter the running state, then wait for notRunning.
    """
    page.wait_for_selector(APP, state="attached", timeout=timeout_ms)
    with contextlib.suppress(Exception):
        page.wait_for_selector(APP_RUNNING, state="attached", timeout=settle_ms * 4)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout_ms)
    page.wait_for_timeout(settle_ms)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout_ms)


def goto(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_idle(page)


def nav_link_texts(page) -> list[str]:
    return [text.strip() for text in page.locator(NAV_LINKS).all_inner_texts()]


def nav_link(page, title: str):
    return page.locator(NAV_LINKS).filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))


def click_nav(page, title: str) -> None:
    link = nav_link(page, title)
    link.first.click()
    wait_idle(page)


def login_form_count(page) -> int:
    return page.locator("[data-testid=stTextInput] input").count()


def log_in(page, username: str, password: str) -> None:
    """Fill the streamlit-authenticator form and press Log in."""
    form = page.locator(LOGIN_FORM)
    form.get_by_role("textbox", name="Username", exact=True).fill(username)
    form.get_by_role("textbox", name="Password", exact=True).fill(password)
    form.get_by_role("button", name="Log in").click()
    wait_idle(page)


def h1_texts(page) -> list[str]:
    return [text.strip() for text in page.locator("[data-testid=stMain] h1").all_inner_texts()]


def metric_values(page) -> list[str]:
    return [text.strip() for text in page.locator(METRIC_VALUE).all_inner_texts()]


def gmv_value(page) -> str:
    card = page.locator(METRIC).filter(has=page.locator("[data-testid=stMetricLabel]", has_text="GMV"))
    return card.first.locator(METRIC_VALUE).inner_text().strip()
