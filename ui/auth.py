"""Login, logout, the session checks and the role guard every page and fragment calls first.

The user and role are read from the database on every run, never trusted from the browser session, so a
role change takes effect at once; a password reset, disabling the account or a log out elsewhere ends the
session at its next run (users.session_user), and so does CBO_IDLE_TIMEOUT_MINUTES without a run.

streamlit-authenticator keeps the signed-in state (session_state "authentication_status", "username", ...)
and signs a browser in by its remembered-login cookie. The password form is ours: the sign-in throttle
(core.platform.login_throttle) must decide before any password is checked, and users.verify_login checks it
in the same time whether or not the account exists; the library is then told who signed in.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass

import extra_streamlit_components as stx
import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from core.platform import login_throttle, users
from core.platform.config import cookie_key, idle_timeout_minutes, remember_days, trusted_proxies
from core.platform.i18n import N_
from ui.data import cached, uncached
from ui.i18n import LANGUAGE_KEY, t

ROLE_NAMES = (N_("viewer"), N_("staff"), N_("manager"), N_("admin"))  # shown with t(role)
COOKIE_NAME = "cbo_auth"
# Cookie work the browser still has to do (a _CookieTodo). The cookie is written and deleted by a component in
# the browser, which only runs if the script run that renders it ends normally and the page keeps it long
# enough; login and logout rerun at once, so later runs do it, until the browser reports it done.
_COOKIE_TODO = "_cbo_cookie_todo"
_SIGNED_IN_AT = "_cbo_signed_in_at"  # naive UTC: logins revoked after it end the session
_LAST_SEEN = "_cbo_last_seen"  # naive UTC of the session's last run, for the idle timeout
_SIGNED_OUT_BECAUSE = "_cbo_signed_out_because"  # (message id, values) the login form explains
_CLOCK_SKEW_SECONDS = 60  # a cookie issued this far in the future is still taken (several app servers)


@dataclass(frozen=True)
class _CookieTodo:
    action: str  # "set" or "delete"
    token: str = ""
    expires: dt.datetime | None = None  # local time, as the cookie component takes it


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).replace(tzinfo=None)


def _authenticator() -> stauth.Authenticate:
    return stauth.Authenticate(
        uncached(users.authenticator_credentials),
        cookie_name=COOKIE_NAME,
        cookie_key=cookie_key(),
        cookie_expiry_days=0,  # it never writes its cookie (no issue time in it): sync_login_cookie does
        auto_hash=False,
        login_sleep_time=0,  # the default 0.7 s sleep on every logged-out run breaks deep links
    )


def client_address() -> str:
    """The address sign-ins are throttled and audited by (X-Forwarded-For only behind CBO_TRUSTED_PROXIES)."""
    remote_ip = st.context.ip_address
    forwarded_for = st.context.headers.get_all("X-Forwarded-For")
    # Only strings count: under AppTest the client context is a mock whose attributes are mocks too.
    return login_throttle.client_from(
        remote_ip if isinstance(remote_ip, str) else None,
        [hop for hop in forwarded_for if isinstance(hop, str)] if isinstance(forwarded_for, list) else [],
        trusted_proxies(),
    )


def signed_in_username() -> str | None:
    return st.session_state.get("username") if st.session_state.get("authentication_status") else None


def current_user() -> users.UserView | None:
    """The signed-in user as the database knows them now (None if signed out).

    Ends the session (and says why on the login form) when it was idle longer than the timeout, or when the
    account was disabled, deleted, its password reset or its logins revoked since the session signed in.
    """
    username = signed_in_username()
    if not username:
        return None
    now = _utcnow()
    signed_in_at = st.session_state.setdefault(_SIGNED_IN_AT, now)
    idle_minutes = idle_timeout_minutes()
    last_seen = st.session_state.get(_LAST_SEEN)
    if idle_minutes and last_seen and now - last_seen > dt.timedelta(minutes=idle_minutes):
        _end_session(N_("You were signed out after {minutes} minutes without activity. Please log in again."),
                     minutes=f"{idle_minutes:g}")
        return None
    user = uncached(users.session_user, username, signed_in_at)
    if user is None:
        _end_session(N_("Your session has ended: your password was reset, your account was disabled or you "
                        "logged out elsewhere. Please log in again."))
        return None
    st.session_state[_LAST_SEEN] = now
    return user


def _end_session(reason: str | None = None, *, forget_language: bool = False, **values) -> None:
    """Sign this browser session out and forget what it held (filters, widget values, page state); its
    remembered-login cookie is ignored and deleted. `forget_language` (Log out: whoever signs in next at this
    screen starts clean): the language and the URL's query parameters go too, else the language stays.
    """
    for key in list(st.session_state.keys()):
        if forget_language or key != LANGUAGE_KEY:
            del st.session_state[key]
    if forget_language:
        # The language and filter widgets are bound to the URL, which would hand them back on the next run.
        # from_dict replaces every parameter, bound ones too (clear() refuses those).
        st.query_params.from_dict({})
    st.session_state["logout"] = True  # streamlit-authenticator then ignores the cookie in this session
    st.session_state[_COOKIE_TODO] = _CookieTodo("delete")
    if reason:
        st.session_state[_SIGNED_OUT_BECAUSE] = (reason, values)


def guard(required_role: str) -> users.UserView:
    """Stop the page unless a signed-in, enabled user holds `required_role` (or a higher one).

    Every page calls it first, and every fragment at the start of its own run: a fragment's rerun runs
    neither the router nor the page around it, so this is the only check it gets.
    """
    was_signed_in = signed_in_username() is not None
    user = current_user()
    if user is None:
        if was_signed_in:  # this check just ended the session: the whole app reruns into the login form
            st.rerun()
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


# --------------------------------------------------------------------------- the remembered-login cookie


def _cookie_claims(token: str) -> tuple[str, dt.datetime, dt.datetime] | None:
    """(username, issue time, expiry) in naive UTC of an unexpired re-auth cookie we signed, else None.

    The token is an HS256 JWT of {"username", "iat", "exp_date"}: streamlit-authenticator 0.4.2 reads
    "username" and "exp_date" from it, "iat" is ours. Tokens without an issue time are refused.
    """
    try:
        claims = jwt.decode(token, cookie_key(), algorithms=["HS256"], options={"require": ["iat"]},
                            leeway=_CLOCK_SKEW_SECONDS)
        username, issued, expires = str(claims["username"]), float(claims["iat"]), float(claims["exp_date"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None
    if not math.isfinite(issued) or not math.isfinite(expires) or expires <= time.time():
        return None
    return username, _utc(issued), _utc(expires)


def _refuse_revoked_cookie() -> None:
    """Before the authenticator reads the cookie: ignore it (and delete it) if it is malformed, lasts longer
    than its user may be remembered, or Log out, a password reset or disabling revoked it since its issue."""
    token = st.context.cookies.get(COOKIE_NAME)
    if not token or st.session_state.get("logout"):
        return
    claims = _cookie_claims(token)
    if claims is None or not uncached(users.remembered_login_valid, *claims):
        st.session_state["logout"] = True  # streamlit-authenticator then ignores the cookie
        st.session_state[_COOKIE_TODO] = _CookieTodo("delete")


def _remembered_login(user: users.UserView) -> _CookieTodo | None:
    days = remember_days(user.role)
    if days <= 0:
        return None
    issued = time.time()
    claims = {"username": user.username, "iat": issued, "exp_date": issued + days * 86_400}
    token = jwt.encode(claims, cookie_key(), algorithm="HS256")
    return _CookieTodo("set", token, dt.datetime.now() + dt.timedelta(days=days))


def sync_login_cookie() -> None:
    """Write or delete the re-auth cookie that login or logout asked for, again on every run until the
    browser's cookies (as the cookie component last reported them) show it done: the component can be
    dropped before it ran (a rerun, a slow browser), which lost the cookie of about 2 logins in 10 under load.
    """
    todo: _CookieTodo | None = st.session_state.get(_COOKIE_TODO)
    if todo is None:
        return
    cookies = stx.CookieManager(key="cbo_cookie_manager")  # renders "getAll": {} until the browser answered
    in_browser = cookies.cookies.get(COOKIE_NAME)
    if todo.action == "set":
        if in_browser == todo.token:
            del st.session_state[_COOKIE_TODO]
            return
        https = (st.context.url or "").startswith("https://")
        cookies.set(COOKIE_NAME, todo.token, key="cbo_cookie_set", expires_at=todo.expires, secure=https or None)
        return
    if cookies.cookies and in_browser is None:  # the browser answered, without our cookie
        del st.session_state[_COOKIE_TODO]
        return
    try:
        cookies.delete(COOKIE_NAME, key="cbo_cookie_delete")
    except KeyError:  # the browser was told; only the manager's local copy of its cookies lacked it
        pass


# --------------------------------------------------------------------------- login and logout


def _start_session(user: users.UserView | None) -> None:
    """The session signed in now; `user` given (a password login): remember the login in this browser."""
    now = _utcnow()
    st.session_state[_SIGNED_IN_AT] = now
    st.session_state[_LAST_SEEN] = now
    st.session_state.pop(_SIGNED_OUT_BECAUSE, None)
    remembered = _remembered_login(user) if user is not None else None
    if remembered is not None:
        st.session_state[_COOKIE_TODO] = remembered


def _throttled_message(decision: login_throttle.Decision) -> str:
    wait = decision.wait_seconds()
    if decision.locked:
        return t("Too many failed attempts: signing in is locked for {minutes} min. An admin can unlock it on "
                 "the Users page.", minutes=max(1, math.ceil(wait / 60)))
    return t("Too many failed attempts: wait {seconds} s before trying again.", seconds=max(1, wait))


def _password_login(authenticator: stauth.Authenticate) -> users.UserView | None:
    """The login form. The throttle decides first and a throttled attempt never checks its password."""
    with st.form("login"):
        st.subheader(t("Log in"))
        typed_name = st.text_input(t("Username"), autocomplete="username")
        password = st.text_input(t("Password"), type="password", autocomplete="current-password")
        submitted = st.form_submit_button(t("Log in"))
    if not submitted:
        return None
    username = login_throttle.normalise_username(typed_name)
    if not username or not password:
        st.error(t("Enter your username and password."))
        return None
    client = client_address()
    decision = uncached(login_throttle.check, username, client)
    if not decision.allowed:
        st.error(_throttled_message(decision))
        return None
    attempt = uncached(login_throttle.record_failure, username, client)  # counted before the check: see there
    user = uncached(users.verify_login, username, password)
    if user is None:
        st.error(t("Username or password is incorrect."))
        return None
    uncached(login_throttle.record_success, attempt)
    authenticator.authentication_controller.login(token={"username": user.username})  # verified: sign in
    return user


def _explain_sign_out() -> None:
    reason = st.session_state.get(_SIGNED_OUT_BECAUSE)
    if reason:
        message, values = reason
        st.info(t(message, **values), icon=":material/logout:")


def login_page() -> None:
    st.title(t("Cross-Border Ops"))
    st.caption(t("Operations dashboard: markets, products, logistics, payments, service and risk."))
    demo_note()
    _explain_sign_out()
    _refuse_revoked_cookie()
    sync_login_cookie()
    authenticator = _authenticator()
    try:
        authenticator.login(location="unrendered")  # signs in by a valid remembered-login cookie, if any
        signed_in_by_cookie = signed_in_username() is not None
        user = None if signed_in_by_cookie else _password_login(authenticator)
    except LoginError:
        st.error(t("This account cannot log in. Ask an admin."))
        return
    if signed_in_by_cookie or user is not None:
        _start_session(user)
        st.rerun()


def logout_page() -> None:
    username = signed_in_username()
    if username:
        uncached(users.revoke_remembered_logins, username)
    _end_session(forget_language=True)
    st.rerun()
