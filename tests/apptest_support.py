"""Driving the real router with AppTest, through the main script `streamlit run` starts (bin/streamlit_app.py).

AppTest.switch_page() only finds file-based pages, and ours are callables
registered under a url_path; a page is opened here by the same hash that
st.Page computes for it (the hash of its url_path).
"""

from __future__ import annotations

from pathlib import Path

from streamlit.navigation.page import calc_hash
from streamlit.testing.v1 import AppTest

from pages import PAGES
from ui.navigation import alias_paths

APP = str(Path(__file__).resolve().parent.parent / "bin" / "streamlit_app.py")
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
    """url_paths of the pages in the navigation; the default page registers as '' and is 'overview'. The hidden
    pages that show or open a page under another path (ui.navigation.alias_paths) are left out."""
    paths = [info.get("url_pathname") for info in at._registered_pages.values()]
    return [path or "overview" for path in paths if path not in alias_paths(PAGES)]


def open_page(at: AppTest, url_path: str) -> AppTest:
    at._page_hash = calc_hash(url_path)
    return at.run()
