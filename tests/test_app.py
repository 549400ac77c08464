"""Every page, as every role, through the real router (AppTest)."""

from __future__ import annotations

import pytest

from tests.apptest_support import AppTest, app_as, offered_pages, open_page
from tests.conftest import SEED_END
from ui.text import plain

FUNCTION_PAGES = ["overview", "profit", "market", "product-selection", "logistics", "payments", "customer-service", "risk"]
PAGES_BY_ROLE = {
    "viewer": FUNCTION_PAGES,
    "staff": FUNCTION_PAGES + ["upload"],
    "manager": FUNCTION_PAGES + ["what-if", "upload"],
    "admin": FUNCTION_PAGES + ["what-if", "upload", "users"],
}
ALL_PAGES = PAGES_BY_ROLE["admin"]


@pytest.fixture(autouse=True)
def _app_env(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


def _no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("role", list(PAGES_BY_ROLE))
def test_navigation_offers_exactly_the_pages_of_the_role(role):
    at = app_as(role)
    _no_exceptions(at)
    assert sorted(p for p in offered_pages(at) if p != "logout") == sorted(PAGES_BY_ROLE[role])
    assert "logout" in offered_pages(at)


@pytest.mark.parametrize(
    ("role", "page"), [(role, page) for role, pages in PAGES_BY_ROLE.items() for page in pages]
)
def test_every_offered_page_renders(role, page):
    at = open_page(app_as(role), page)
    _no_exceptions(at)
    assert at.title, f"{page} rendered no title for {role}"


def test_overview_leads_with_the_ledgers_profit_and_keeps_ten_kpis_with_deltas():
    at = app_as("viewer")
    _no_exceptions(at)
    assert [m.label for m in at.metric] == [
        "Net revenue", "Contribution profit", "Contribution margin", "Gross margin",
        "GMV", "Orders", "AOV", "Refund rate", "On-time delivery", "CSAT",
    ]
    assert at.metric[0].value.startswith("$")
    assert all(m.delta for m in at.metric[:6]), "money, margins and orders need a change vs the previous period"
    gross = next(m for m in at.metric if m.label == "Gross margin")
    assert "shipping" in gross.help and "advertising" in gross.help  # says what it leaves out


def test_reporting_currency_changes_the_figures():
    at = app_as("viewer")
    usd = at.metric[0].value
    at.selectbox(key="ccy").select("EUR").run()
    _no_exceptions(at)
    assert at.metric[0].value.startswith("€") and at.metric[0].value != usd


def test_a_market_filter_narrows_the_figures():
    at = app_as("viewer")
    all_orders = at.metric[5].value
    at.multiselect(key="markets").select("JP").run()
    _no_exceptions(at)
    assert at.metric[5].value != all_orders


def test_an_empty_period_says_what_to_do():
    import datetime as dt

    before_the_data = SEED_END - dt.timedelta(days=4 * 365)  # the seed covers the 24 months up to SEED_END
    at = app_as("viewer")
    at.date_input(key="period").set_value((before_the_data, before_the_data + dt.timedelta(days=30))).run()
    _no_exceptions(at)
    assert any("No orders in this period" in i.value for i in at.info)
    assert not at.metric


@pytest.mark.parametrize(("role", "page"), [("viewer", "upload"), ("staff", "what-if"), ("manager", "users")])
def test_a_page_outside_the_role_is_not_reachable(role, page):
    at = open_page(app_as(role), page)
    _no_exceptions(at)
    titles = [t.value for t in at.title]
    assert titles == ["Overview"], f"{role} reached {page}: {titles}"


def test_no_page_module_is_named_like_a_url_path():
    """Streamlit would run pages/<url_path>.py itself, bypassing the router, and show a blank page."""
    from pathlib import Path

    from pages import PAGES

    modules = {p.stem.replace("_", "-") for p in (Path(__file__).parent.parent / "pages").glob("*.py")}
    assert not modules & ({spec.url_path for spec in PAGES} | {"login", "logout"})


def _is_login_screen(at: AppTest) -> bool:
    return [t.label for t in at.text_input] == ["Username", "Password"] and not at.metric


@pytest.mark.parametrize("page", ALL_PAGES)
def test_signed_out_every_url_shows_only_the_login_form(page):
    at = open_page(app_as(None), page)
    _no_exceptions(at)
    assert _is_login_screen(at)
    assert [t.value for t in at.title] == ["Cross-Border Ops"]


def test_login_form_signs_in_and_wrong_password_is_refused():
    at = app_as(None)
    at.text_input[0].input("manager")
    at.text_input[1].input("wrong-password")
    at.button[0].click().run()
    assert any("incorrect" in e.value for e in at.error)
    assert _is_login_screen(at)
    at.text_input[0].input("manager")
    at.text_input[1].input("demo-manager")
    at.button[0].click().run()
    _no_exceptions(at)
    assert "what-if" in offered_pages(at)


def test_demo_accounts_note_is_visible():
    at = app_as("viewer")
    assert any("Demo accounts active" in w.value for w in at.info)


def test_a_disabled_user_is_signed_out_on_the_next_run(seeded_url):
    from core.platform import users
    from core.platform.db import get_engine, unit_of_work

    at = app_as("staff")
    assert "upload" in offered_pages(at)
    with unit_of_work(get_engine(seeded_url)) as s:
        users.set_disabled(s, "staff", True)
    try:
        at.run()
        assert _is_login_screen(at)
    finally:
        with unit_of_work(get_engine(seeded_url)) as s:
            users.set_disabled(s, "staff", False)


def test_admin_adds_a_user_on_the_users_page(seeded_url):
    at = open_page(app_as("admin"), "users")
    _no_exceptions(at)
    form_inputs = at.text_input
    form_inputs[0].input("apptest-user")
    form_inputs[1].input("App Test")
    form_inputs[2].input("long-enough-pw")
    next(b for b in at.button if b.label == "Add user").click().run()
    _no_exceptions(at)
    assert any(plain("apptest-user") in s.value for s in at.success)  # user input is escaped for markdown
