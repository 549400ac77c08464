"""The pages, one module each (`<name>_page.py` exposing `render()`), and their registry: every page's section,
url_path, title, icon and the role it needs. The router (app.py) builds the navigation from it for the signed-in
user's role (ui.navigation).
"""

from __future__ import annotations

from core.platform.i18n import N_
from pages import (
    customer_service_page,
    logistics_page,
    market_page,
    overview_page,
    payments_page,
    product_selection_page,
    profit_page,
    risk_page,
    upload_page,
    users_page,
    what_if_page,
)
from ui.navigation import PageSpec

PAGES = (
    PageSpec(N_("Overview"), "overview", N_("Overview"), ":material/dashboard:", "viewer", overview_page.render),
    PageSpec(N_("Functions"), "profit", N_("Profit"), ":material/account_balance_wallet:", "viewer", profit_page.render),
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

