"""Driving the real router with AppTest.

AppTest.switch_page() only finds file-based pages, and ours are callables
registered under a url_path; a page is opened here by the same hash that
st.Page computes for it (the hash of its url_path).
"""

from __future__ import annotations

from pathlib import Path

from streamlit.navigation.page import calc_hash
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 60


def app_as(username: str | None) -> AppTest:
    """The app with `username` signed in (None: signed out), after its first run."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if username:
        at.session_state["authentication_status"] = True
        at.session_state["username"] = username
        at.session_state["name"] = username
    return at.run()


def offered_pages(at: AppTest) -> list[str]:
    """url_paths of the pages in the navigation; the default page registers as '' and is 'overview'."""
    return [info.get("url_pathname") or "overview" for info in at._registered_pages.values()]


def open_page(at: AppTest, url_path: str) -> AppTest:
    at._page_hash = calc_hash(url_path)
    return at.run()
