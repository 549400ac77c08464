"""Login, logout and the role guard every page calls first.

The role is read from the database on every run, never trusted from the
browser session, so disabling a user or lowering a role takes effect at once.
"""

from __future__ import annotations

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from core import users
from core.config import cookie_key
from core.i18n import N_
from ui.data import cached, uncached
from ui.i18n import t

ROLE_NAMES = (N_("viewer"), N_("staff"), N_("manager"), N_("admin"))  # shown with t(role)
COOKIE_NAME = "cbo_auth"
COOKIE_EXPIRY_DAYS = 7


def _authenticator() -> stauth.Authenticate:
    return stauth.Authenticate(
        uncached(users.authenticator_credentials),
        cookie_name=COOKIE_NAME,
        cookie_key=cookie_key(),
        cookie_expiry_days=COOKIE_EXPIRY_DAYS,
        auto_hash=False,
        login_sleep_time=0,  # the default 0.7 s sleep on every logged-out run breaks deep links
    )


def signed_in_username() -> str | None:
    return st.session_state.get("username") if st.session_state.get("authentication_status") else None


def current_user() -> users.UserView | None:
    """The signed-in user as the database knows them now (None if signed out or disabled).

    A session whose account was disabled or deleted since it signed in is signed out here.
    """
    username = signed_in_username()
    user = uncached(users.current_user, username)
    if username and user is None:
        _forget_signed_in_user()
    return user


def _forget_signed_in_user() -> None:
    """Sign the session out the way streamlit-authenticator does, without building a second
    authenticator in this run (its cookie component may be created only once per run)."""
    for key in ("authentication_status", "username", "name", "email", "roles"):
        st.session_state[key] = None
    st.session_state["logout"] = True  # makes the authenticator ignore the re-login cookie


def guard(required_role: str) -> users.UserView:
    """Stop the page unless a signed-in, enabled user holds `required_role` (or a higher one)."""
    user = current_user()
    if user is None:
        st.warning(t("Please log in to see this page."))
        st.stop()
    if not users.role_allows(user.role, required_role):
        st.error(t("This page needs the {role} role. Ask an admin if you need access.", role=t(required_role)))
        st.stop()
    return user


def demo_note() -> None:
    if cached(users.demo_accounts_active):
        st.info(t("Demo accounts active: the published demo passwords still work. Change or disable them "
                  "before real data goes in."), icon=":material/warning:")


def login_page() -> None:
    st.title(t("Cross-Border Ops"))
    st.caption(t("Operations dashboard: markets, products, logistics, payments, service and risk."))
    demo_note()
    authenticator = _authenticator()
    fields = {"Form name": t("Log in"), "Username": t("Username"), "Password": t("Password"), "Login": t("Log in")}
    try:
        authenticator.login(location="main", fields=fields)
    except LoginError:
        st.error(t("This account cannot log in. Ask an admin."))
        return
    status = st.session_state.get("authentication_status")
    if status:
        st.rerun()
    elif status is False:
        st.error(t("Username or password is incorrect."))


def logout_page() -> None:
    authenticator = _authenticator()
    if st.session_state.get("authentication_status"):
        authenticator.logout(location="unrendered")
    st.rerun()
