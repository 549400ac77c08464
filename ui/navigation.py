"""The page registry: every page, its section, url_path and the role it needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from core.platform.i18n import N_
from core.platform.users import role_allows
from pages import (
    customer_service_page,
    logistics_page,
    market_page,
    overview_page,
    payments_page,
    product_selection_page,
    risk_page,
    upload_page,
    users_page,
    what_if_page,
)
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


PAGES = (
    PageSpec(N_("Overview"), "overview", N_("Overview"), ":material/dashboard:", "viewer", overview_page.render),
    PageSpec(N_("Functions"), "market", N_("Market research"), ":material/travel_explore:", "viewer", market_page.render),
    PageSpec(N_("Functions"), "product-selection", N_("Product selection"), ":material/category:", "viewer", product_selection_page.render),
    PageSpec(N_("Functions"), "logistics", N_("Logistics"), ":material/local_shipping:", "viewer", logistics_page.render),
    PageSpec(N_("Functions"), "payments", N_("Payments"), ":material/payments:", "viewer", payments_page.render),
    PageSpec(N_("Functions"), "customer-service", N_("Customer service"), ":material/support_agent:", "viewer", customer_service_page.render),
    PageSpec(N_("Functions"), "risk", N_("Risk"), ":material/shield:", "viewer", risk_page.render),
    PageSpec(N_("Tools"), "what-if", N_("What-if simulator"), ":material/tune:", "manager", what_if_page.render),
    PageSpec(N_("Tools"), "upload", N_("CSV upload"), ":material/upload_file:", "staff", upload_page.render),
    PageSpec(N_("Admin"), "users", N_("Users"), ":material/manage_accounts:", "admin", users_page.render),
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


def signed_out_pages(login: Callable[[], None]) -> list[st.Page]:
    """The login form under every url_path, so a shared deep link asks for a login (instead of
    'page not found') and, once signed in, the rerun opens the page the link pointed to."""
    pages = [st.Page(login, title=t("Log in"), icon=":material/login:", url_path="login", default=True)]
    pages += [st.Page(login, title=t(spec.title), url_path=spec.url_path) for spec in PAGES
              if spec.url_path != "overview"]
    return pages
