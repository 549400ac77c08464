"""Streamlit's navigation built from the page registry (`pages.PAGES`: every page, its section, url_path and
the role it needs), for the router in app.py. The registry itself lives with the pages, so ui/ never imports a
page.

Every page answers at its url_path, Overview too: it is the default page, served at the root URL, and
`/overview` (the path the README gives) shows it as well. A page module's name (`/what_if_page`, the path
Streamlit's old pages/ folder scheme gave it) opens that page. Signed out, each of these paths shows the
login form, and after the login the rerun opens the page the link named.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import streamlit as st

from core.platform.users import role_allows
from ui.auth import logout_page
from ui.i18n import t


@dataclass(frozen=True)
class PageSpec:
    section: str
    url_path: str
    title: str
    icon: str
    role: str
    render: Callable[[], None]


HOME = "home"  # Overview's own url_path: as the default page it is served at the root URL instead


def module_path(spec: PageSpec) -> str:
    """The page module's name, e.g. "what_if_page": an old-style link to it opens the page."""
    return spec.render.__module__.rsplit(".", 1)[-1]


def alias_paths(specs: Sequence[PageSpec]) -> set[str]:
    """The url_paths of the hidden pages that show or open a page listed under another path."""
    return {"overview"} | {module_path(spec) for spec in specs}


def _opens(page: st.Page) -> Callable[[], None]:
    def open_page() -> None:
        # Query parameters bound to widgets cannot be carried over; a page module's name never had any.
        st.switch_page(page, query_params={})

    return open_page


def pages_for(specs: Sequence[PageSpec], role: str) -> dict[str, list[st.Page]]:
    sections: dict[str, list[st.Page]] = {}
    for spec in specs:
        if not role_allows(role, spec.role):
            continue
        title, section = t(spec.title), sections.setdefault(t(spec.section), [])
        if spec.url_path == "overview":
            page = st.Page(spec.render, title=title, icon=spec.icon, url_path=HOME, default=True)
            # /overview shows it in place (a switch to the root URL would drop the filters in the link)
            section.append(st.Page(spec.render, title=title, url_path=spec.url_path, visibility="hidden"))
        else:
            page = st.Page(spec.render, title=title, icon=spec.icon, url_path=spec.url_path)
        section.append(page)
        section.append(st.Page(_opens(page), title=title, url_path=module_path(spec), visibility="hidden"))
    account = t("Account")
    sections.setdefault(account, []).append(
        st.Page(logout_page, title=t("Log out"), icon=":material/logout:", url_path="logout")
    )
    return sections


def signed_out_pages(specs: Sequence[PageSpec], login: Callable[[], None]) -> list[st.Page]:
    """The login form under every path a signed-in user can open, so a shared deep link asks for a login
    (instead of 'page not found') and, once signed in, the rerun opens the page the link pointed to."""
    pages = [st.Page(login, title=t("Log in"), icon=":material/login:", url_path="login", default=True)]
    for spec in specs:
        pages.append(st.Page(login, title=t(spec.title), url_path=spec.url_path))
        pages.append(st.Page(login, title=t(spec.title), url_path=module_path(spec)))
    return pages
