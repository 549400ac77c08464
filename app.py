"""Cross-Border Ops: the router. Builds the navigation from the signed-in user's role.

Run with `./bin/run`. Pages are functions (see pages/), so a request that
reaches a pages/*.py file directly runs nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from collections.abc import Callable

import streamlit as st

from core.bootstrap import DatabaseUnavailable
from core.config import dev_mode
from core.users import role_allows
from pages import coming_soon, overview, users
from ui.auth import current_user, demo_note, login_page, logout_page
from ui.data import engine
from ui.i18n import t
from ui.sidebar import filters_sidebar, language_picker


@dataclass(frozen=True)
class PageSpec:
    section: str
    url_path: str
    title: str
    icon: str
    role: str
    render: Callable[[], None]


PAGES = (
    PageSpec("Overview", "overview", "Overview", ":material/dashboard:", "viewer", overview.render),
    PageSpec("Functions", "market", "Market research", ":material/travel_explore:", "viewer",
             coming_soon.placeholder("Market research", "viewer")),
    PageSpec("Functions", "product-selection", "Product selection", ":material/category:", "viewer",
             coming_soon.placeholder("Product selection", "viewer")),
    PageSpec("Functions", "logistics", "Logistics", ":material/local_shipping:", "viewer",
             coming_soon.placeholder("Logistics", "viewer")),
    PageSpec("Functions", "payments", "Payments", ":material/payments:", "viewer",
             coming_soon.placeholder("Payments", "viewer")),
    PageSpec("Functions", "customer-service", "Customer service", ":material/support_agent:", "viewer",
             coming_soon.placeholder("Customer service", "viewer")),
    PageSpec("Functions", "risk", "Risk", ":material/shield:", "viewer",
             coming_soon.placeholder("Risk", "viewer")),
    PageSpec("Tools", "what-if", "What-if simulator", ":material/tune:", "manager",
             coming_soon.placeholder("What-if simulator", "manager")),
    PageSpec("Tools", "upload", "CSV upload", ":material/upload_file:", "staff",
             coming_soon.placeholder("CSV upload", "staff")),
    PageSpec("Admin", "users", "Users", ":material/manage_accounts:", "admin", users.render),
)


def pages_for(role: str) -> dict[str, list[st.Page]]:
    sections: dict[str, list[st.Page]] = {}
    for spec in PAGES:
        if role_allows(role, spec.role):
            page = st.Page(spec.render, title=t(spec.title), icon=spec.icon, url_path=spec.url_path,
                           default=spec.url_path == "overview")
            sections.setdefault(t(spec.section), []).append(page)
    account = t("Account")
    sections.setdefault(account, []).append(
        st.Page(logout_page, title=t("Log out"), icon=":material/logout:", url_path="logout")
    )
    return sections


def main() -> None:
    st.set_page_config(page_title="Cross-Border Ops", page_icon=":material/public:", layout="wide")
    if dev_mode():
        st.set_option("client.showErrorDetails", "full")
    language_picker()
    try:
        with st.spinner(t("Preparing the database (first start builds the demo data, about a minute)…")):
            engine()
    except DatabaseUnavailable as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()

    user = current_user()
    if user is None:
        # Hidden navigation with only the login page: Streamlit then serves nothing from pages/.
        st.navigation([st.Page(login_page, title=t("Log in"), icon=":material/login:", url_path="login")],
                      position="hidden").run()
        return

    navigation = st.navigation(pages_for(user.role))
    st.sidebar.caption(t("Signed in as {name} ({role})", name=user.display_name, role=t(user.role)))
    filters_sidebar(dt.date.today())
    with st.sidebar:
        demo_note()
    navigation.run()


main()
