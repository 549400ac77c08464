"""Admin: add users, change roles, disable accounts, reset passwords."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.platform import users
from core.platform.db import unit_of_work
from core.platform.models import ROLES
from ui.auth import guard, permission_message
from ui.data import clear_caches, engine
from ui.i18n import t
from ui.widgets import empty_state


def _apply(action, *args, success: str) -> None:
    """Run one user-admin write in its own transaction; the core function re-checks the admin role."""
    try:
        with unit_of_work(engine()) as session:
            action(session, *args)
    except users.PermissionDenied as exc:
        st.error(permission_message(exc))
        return
    except users.InvalidUserInput as exc:
        st.error(str(exc))
        return
    clear_caches()
    st.success(success)


def render() -> None:
    admin = guard("admin")
    st.title(t("Users"))
    with unit_of_work(engine()) as session:
        everyone = users.list_users(session)
    if not everyone:
        empty_state(t("No users yet."))
    else:
        st.dataframe(
            pd.DataFrame([u.__dict__ for u in everyone])[["username", "display_name", "role", "disabled", "is_demo"]],
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
    add_tab, change_tab = st.tabs([t("Add a user"), t("Change a user")])
    with add_tab, st.form("add_user", clear_on_submit=True):
        username = st.text_input(t("Username"))
        display_name = st.text_input(t("Name"))
        role = st.selectbox(t("Role"), ROLES, format_func=t, index=0)
        password = st.text_input(t("Initial password"), type="password",
                                 help=t("At least {n} characters.", n=users.MIN_PASSWORD_LENGTH))
        if st.form_submit_button(t("Add user"), type="primary"):
            _apply(
                lambda s: users.create_user(s, username, password, role, display_name=display_name,
                                            actor=admin.username),
                success=t("User {name} added.", name=username),
            )
    with change_tab:
        names = [u.username for u in everyone]
        if not names:
            return
        target = st.selectbox(t("User"), names, key="user_to_change")
        chosen = next(u for u in everyone if u.username == target)
        col_role, col_state = st.columns(2)
        with col_role:
            new_role = st.selectbox(t("Role"), ROLES, index=ROLES.index(chosen.role), format_func=t,
                                    key="new_role")
            if st.button(t("Save role"), key="save_role"):
                _apply(lambda s: users.set_role(s, target, new_role, actor=admin.username),
                       success=t("Role saved."))
        with col_state:
            label = t("Enable account") if chosen.disabled else t("Disable account")
            if st.button(label, key="toggle_disabled"):
                _apply(lambda s: users.set_disabled(s, target, not chosen.disabled, actor=admin.username),
                       success=t("Account updated."))
        with st.form("reset_password", clear_on_submit=True):
            new_password = st.text_input(t("New password"), type="password")
            if st.form_submit_button(t("Reset password")):
                _apply(lambda s: users.reset_password(s, target, new_password, actor=admin.username),
                       success=t("Password reset for {name}.", name=target))
