"""Login, logout and the role guard every page calls first.

The role is read from the database on every run, never trusted from the
browser session, so disabling a user or lowering a role takes effect at once.
"""

from __future__ import annotations

import datetime as dt

import extra_streamlit_components as stx
import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from core.platform import users
from core.platform.config import cookie_key
from core.platform.i18n import N_
from ui.data import cached, uncached
from ui.i18n import t

ROLE_NAMES = (N_("viewer"), N_("staff"), N_("manager"), N_("admin"))  # shown with t(role)
COOKIE_NAME = "cbo_auth"
COOKIE_EXPIRY_DAYS = 7
# Cookie work the browser still has to do. The cookie is written and deleted by a component in
# the browser, which only runs if the script run that renders it ends normally; login and logout
# rerun at once, so the next run (which does end normally) does it instead.
_COOKIE_TODO = "_cbo_cookie_todo"


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


def permission_message(exc: users.PermissionDenied) -> str:
    """Why core refused, in the user's language, the role named in it too (plain text: no markdown in it)."""
    values = {name: t(value) if name == "role" else value for name, value in exc.values.items()}
    return t(exc.template, **values)


def demo_note() -> None:
    if cached(users.demo_accounts_active):
        st.info(t("Demo accounts active: the published demo passwords still work. Change or disable them "
                  "before real data goes in."), icon=":material/warning:")


def _cookie_issued_at(token: str) -> tuple[str, dt.datetime] | None:
    """(username, issue time in naive UTC) of an unexpired re-auth cookie we signed, else None.

    streamlit-authenticator 0.4.2 signs {"username", "exp_date"} with HS256 and sets
    exp_date = issue time + expiry days, so the issue time is derived from it.
    """
    try:
        claims = jwt.decode(token, cookie_key(), algorithms=["HS256"])
        expires = float(claims["exp_date"])
        username = str(claims["username"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None
    if expires <= dt.datetime.now().timestamp():
        return None
    issued = dt.datetime.fromtimestamp(expires, dt.UTC) - dt.timedelta(days=COOKIE_EXPIRY_DAYS)
    return username, issued.replace(tzinfo=None)


def _refuse_revoked_cookie() -> None:
    """Before the authenticator reads the cookie: ignore it (and delete it) if Log out, a password
    reset or disabling the account revoked it since it was issued."""
    token = st.context.cookies.get(COOKIE_NAME)
    if not token or st.session_state.get("logout"):
        return
    claims = _cookie_issued_at(token)
    if claims is None or not uncached(users.remembered_login_valid, *claims):
        st.session_state["logout"] = True  # streamlit-authenticator then ignores the cookie
        st.session_state[_COOKIE_TODO] = "delete"


def _remember_login_token(username: str) -> tuple[str, dt.datetime]:
    expires = dt.datetime.now() + dt.timedelta(days=COOKIE_EXPIRY_DAYS)
    claims = {"username": username, "exp_date": expires.timestamp()}
    return jwt.encode(claims, cookie_key(), algorithm="HS256"), expires


def sync_login_cookie() -> None:
    """Write or delete the re-auth cookie that login or logout asked for (see _COOKIE_TODO)."""
    todo = st.session_state.pop(_COOKIE_TODO, None)
    if todo is None:
        return
    cookies = stx.CookieManager(key="cbo_cookie_manager")
    username = signed_in_username()
    if todo == "set" and username:
        token, expires = _remember_login_token(username)
        cookies.set(COOKIE_NAME, token, key="cbo_cookie_set", expires_at=expires)
    elif todo == "delete":
        try:
            cookies.delete(COOKIE_NAME, key="cbo_cookie_delete")
        except KeyError:  # the browser was told; only the manager's local copy of its cookies lacked it
            pass


def login_page() -> None:
    st.title(t("Cross-Border Ops"))
    st.caption(t("Operations dashboard: markets, products, logistics, payments, service and risk."))
    demo_note()
    _refuse_revoked_cookie()
    sync_login_cookie()
    signs_in_by_cookie = COOKIE_NAME in st.context.cookies and not st.session_state.get("logout")
    authenticator = _authenticator()
    fields = {"Form name": t("Log in"), "Username": t("Username"), "Password": t("Password"), "Login": t("Log in")}
    try:
        authenticator.login(location="main", fields=fields)
    except LoginError:
        st.error(t("This account cannot log in. Ask an admin."))
        return
    status = st.session_state.get("authentication_status")
    if status:
        if not signs_in_by_cookie:
            st.session_state[_COOKIE_TODO] = "set"
        st.rerun()
    elif status is False:
        st.error(t("Username or password is incorrect."))


def logout_page() -> None:
    username = signed_in_username()
    if username:
        uncached(users.revoke_remembered_logins, username)
        _authenticator().logout(location="unrendered")
        st.session_state[_COOKIE_TODO] = "delete"
    st.rerun()
