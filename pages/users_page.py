"""Admin: add users, change roles, disable accounts, reset passwords.

The "Change a user" widgets are keyed by the selected username and the stored value they edit, so they always
show that record as the database has it now: picking another user, or a write by anyone, gives fresh widgets
instead of carrying the previous user's role over, and a click on a button drawn for an older state is dropped.
Every write reruns the page, so the table and the buttons show what was written.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import thresholds
from core.platform import login_throttle, users
from core.platform.db import unit_of_work
from core.platform.models import ROLES
from ui.auth import guard, permission_message
from ui.data import clear_caches, engine
from ui.i18n import t
from ui.text import plain
from ui.widgets import empty_state

_DONE = "_users_page_done"  # the message of the last write, shown after the rerun that follows it


def _apply(action, *args, success: str) -> None:
    """Run one user-admin write in its own transaction (the core function re-checks the admin role), then rerun
    so everything on the page shows the new state."""
    try:
        with unit_of_work(engine()) as session:
            action(session, *args)
    except users.PermissionDenied as exc:
        st.error(permission_message(exc))
        return
    except users.InvalidUserInput as exc:
        st.error(plain(exc))
        return
    clear_caches()
    st.session_state[_DONE] = success
    st.rerun()


def role_change(username: str, current: str, new: str) -> str:
    """What a role save will write, e.g. "viewer2: viewer → admin" (roles in the user's language)."""
    return t("{name}: {old} → {new}", name=username, old=t(current), new=t(new))


def render() -> None:
    admin = guard("admin")
    st.title(t("Users"))
    done = st.session_state.pop(_DONE, None)
    if done:
        st.success(done, icon=":material/check_circle:")
    with unit_of_work(engine()) as session:
        everyone = users.list_users(session)
    _users_table(everyone)
    add_tab, change_tab = st.tabs([t("Add a user"), t("Change a user")])
    with add_tab:
        _add_user_form(admin)
    with change_tab:
        _change_user(admin, everyone)
    sign_in_security_section(admin)


def _users_table(everyone: list[users.UserView]) -> None:
    if not everyone:
        empty_state(t("No users yet."))
        return
    table = pd.DataFrame([u.__dict__ for u in everyone])[["username", "display_name", "role", "disabled", "is_demo"]]
    table["role"] = table["role"].map(t)  # a role is our code: shown in the user's language, like the role boxes
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "username": t("Username"),
            "display_name": t("Name"),
            "role": t("Role"),
            "disabled": st.column_config.CheckboxColumn(t("Disabled")),
            "is_demo": st.column_config.CheckboxColumn(t("Demo password")),
        },
    )


def _add_user_form(admin: users.UserView) -> None:
    with st.form("add_user", clear_on_submit=True):
        username = st.text_input(t("Username"))
        display_name = st.text_input(t("Name"))
        role = st.selectbox(t("Role"), ROLES, format_func=t, index=0)
        password = st.text_input(t("Initial password"), type="password",
                                 help=t("At least {n} characters.", n=users.MIN_PASSWORD_LENGTH))
        if st.form_submit_button(t("Add user"), type="primary"):
            _apply(
                lambda s: users.create_user(s, username, password, role, display_name=display_name,
                                            actor=admin.username),
                success=t("User {name} added.", name=plain(username.strip().lower())),
            )


def _change_user(admin: users.UserView, everyone: list[users.UserView]) -> None:
    names = [u.username for u in everyone]
    if not names:
        return
    target = st.selectbox(t("User"), names, key="user_to_change")
    chosen = next(u for u in everyone if u.username == target)
    col_role, col_state = st.columns(2)
    with col_role:
        _role_editor(admin, chosen)
    with col_state:
        _account_state(admin, chosen)
    _password_reset(admin, chosen)


def _role_editor(admin: users.UserView, chosen: users.UserView) -> None:
    record = f"{chosen.username}_{chosen.role}"
    new_role = st.selectbox(t("Role"), ROLES, index=ROLES.index(chosen.role), format_func=t,
                            key=f"role_{record}")
    changes = new_role != chosen.role
    if changes:
        st.text(role_change(chosen.username, chosen.role, new_role))
    promotes = changes and new_role == "admin"
    confirmed = promotes and st.checkbox(
        t("Yes, make {name} an admin: full access, including managing users.", name=plain(chosen.username)),
        key=f"confirm_admin_{record}",
    )
    if st.button(t("Save role"), key=f"save_role_{record}", disabled=not changes or (promotes and not confirmed)):
        # Checked again here: a disabled button is only greyed out in the browser.
        if not changes:
            return
        if promotes and not confirmed:
            st.error(t("Tick the confirmation first: the admin role can manage users."))
            return
        _apply(lambda s: users.set_role(s, chosen.username, new_role, actor=admin.username),
               success=t("Role saved: {change}.", change=plain(role_change(chosen.username, chosen.role, new_role))))


def _account_state(admin: users.UserView, chosen: users.UserView) -> None:
    record = f"{chosen.username}_{'disabled' if chosen.disabled else 'enabled'}"
    st.text(t("{name}: disabled", name=chosen.username) if chosen.disabled
            else t("{name}: active", name=chosen.username))
    label = t("Enable account") if chosen.disabled else t("Disable account")
    if st.button(label, key=f"toggle_{record}"):
        disable = not chosen.disabled
        _apply(lambda s: users.set_disabled(s, chosen.username, disable, actor=admin.username),
               success=(t("{name} disabled.", name=plain(chosen.username)) if disable
                        else t("{name} enabled.", name=plain(chosen.username))))


def _password_reset(admin: users.UserView, chosen: users.UserView) -> None:
    # Keyed by the user: a password typed for one user is not submitted for the next one picked.
    with st.form(f"reset_password_{chosen.username}", clear_on_submit=True):
        new_password = st.text_input(t("New password"), type="password")
        if st.form_submit_button(t("Reset password")):
            _apply(lambda s: users.reset_password(s, chosen.username, new_password, actor=admin.username),
                   success=t("Password reset for {name}.", name=plain(chosen.username)))


def sign_in_security_section(admin: users.UserView) -> None:
    """The sign-in throttle for an admin: the locks in force (with an unlock) and the recent failed sign-ins.
    Usernames here are whatever was typed into the login form, so they are shown as plain text only."""
    st.subheader(t("Sign-in security"))
    with unit_of_work(engine()) as session:
        locks = login_throttle.locked(session)
        failures = login_throttle.recent_failures(session)
    when = st.column_config.DatetimeColumn
    if locks.empty:
        st.caption(t("No sign-in is locked."))
    else:
        locks = locks.assign(client=locks["client"].replace("", t("every client")))
        st.dataframe(locks[["username", "client", "failures", "until"]], hide_index=True, width="stretch",
                     column_config={"username": t("Username"), "client": t("Locked for"),
                                    "failures": t("Failed attempts"),
                                    "until": when(t("Locked until (UTC)"), format="YYYY-MM-DD HH:mm:ss")})
        target = st.selectbox(t("Unlock sign-in for"), sorted(locks["username"].unique()), key="unlock_sign_in_user")
        if st.button(t("Unlock"), key=f"unlock_sign_in_{target}"):
            _apply(lambda s: login_throttle.unlock(s, admin.username, target),
                   success=t("Sign-in unlocked for {name}.", name=plain(target)))
    st.caption(t("Failed sign-ins in the last {hours} hours, by username and client address.",
                 hours=thresholds.SIGN_IN_RECENT_HOURS))
    if failures.empty:
        empty_state(t("No failed sign-ins."))
        return
    st.dataframe(failures, hide_index=True, width="stretch",
                 column_config={"username": t("Username"), "client": t("Client address"),
                                "failures": t("Failed attempts"),
                                "last_failure": when(t("Last failure (UTC)"), format="YYYY-MM-DD HH:mm:ss"),
                                "last_success": when(t("Last success (UTC)"), format="YYYY-MM-DD HH:mm:ss")})
