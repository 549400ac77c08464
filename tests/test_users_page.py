"""The admin Users page through the real router (AppTest): the "Change a user" widgets show the selected user's
stored values, a save states what it changes, promotion to admin needs a confirmation, and every write redraws
the page (issue 15, item 1).

The widgets are found by label inside the "Change a user" tab, not by key, so the tests hold whatever the keys are.
"""

from __future__ import annotations

import itertools

import pytest

from core.platform import users
from core.platform.db import get_engine, unit_of_work
from tests.apptest_support import APP, AppTest, app_as, open_page
from tests.conftest import SEED_END, fresh_database_url
from ui.text import plain

PASSWORD = "Correct-Horse-42"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def users_db_url(tmp_path_factory) -> str:
    """A small seeded database of our own: these tests write users, the shared seeded one is read-only."""
    from core.bootstrap import prepare_database
    from core.platform.schema import upgrade
    from data.seed import seed_database

    url = fresh_database_url(tmp_path_factory.mktemp("users-page"))
    eng = get_engine(url)
    upgrade(eng)
    seed_database(eng, orders=300, end_date=SEED_END, seed=11)
    prepare_database(eng, seed_if_empty=False)  # the four demo accounts; "admin" sorts first
    return url


@pytest.fixture(autouse=True)
def _app_env(users_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", users_db_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


def new_user(role: str) -> str:
    """A user of `role` that only the calling test uses (names sort after the demo accounts)."""
    name = f"zz-{role}-{next(_numbers)}"
    with unit_of_work(get_engine()) as session:
        users.create_user(session, name, PASSWORD, role)
    return name


def stored(username: str) -> users.UserView:
    with unit_of_work(get_engine()) as session:
        return next(u for u in users.list_users(session) if u.username == username)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def users_page() -> AppTest:
    return ok(open_page(app_as("admin"), "users"))


def change_tab(at: AppTest):
    (tab,) = [tab for tab in at.tabs if tab.label == "Change a user"]
    return tab


def labelled(widgets, label: str):
    found = [w for w in widgets if w.label == label]
    assert len(found) == 1, f"{len(found)} widgets labelled {label!r}: {[w.label for w in widgets]}"
    return found[0]


def pick_user(at: AppTest, username: str) -> AppTest:
    labelled(change_tab(at).selectbox, "User").select(username)
    return ok(at.run())


def role_box(at: AppTest):
    return labelled(change_tab(at).selectbox, "Role")


def button(at: AppTest, label: str):
    return labelled(change_tab(at).button, label)


def shown_texts(at: AppTest) -> list[str]:
    return [element.value for element in change_tab(at).text]


def test_the_role_box_shows_the_selected_users_role_not_the_previous_ones():
    viewer, manager = new_user("viewer"), new_user("manager")
    at = users_page()
    assert labelled(change_tab(at).selectbox, "User").value == "admin"
    assert role_box(at).value == "admin"
    at = pick_user(at, viewer)
    assert role_box(at).value == "viewer"
    at = pick_user(at, manager)
    assert role_box(at).value == "manager"
    at = pick_user(at, "admin")
    assert role_box(at).value == "admin"


def test_saving_another_user_after_the_admin_keeps_that_users_role():
    viewer = new_user("viewer")
    at = pick_user(users_page(), viewer)  # "admin", the first user, was selected before
    assert role_box(at).value == "viewer"
    assert button(at, "Save role").disabled, "the box shows the stored role: nothing to save"
    assert stored(viewer).role == "viewer"


def test_a_role_change_says_what_it_will_write_before_the_save():
    manager = new_user("manager")
    at = pick_user(users_page(), manager)
    assert button(at, "Save role").disabled, "nothing to save while the box shows the stored role"
    role_box(at).select("staff")
    ok(at.run())
    assert f"{manager}: manager → staff" in shown_texts(at)
    assert stored(manager).role == "manager", "choosing a role must not write it"
    button(at, "Save role").click()
    ok(at.run())
    assert stored(manager).role == "staff"
    assert any(plain(f"{manager}: manager → staff") in s.value for s in at.success)
    assert role_box(at).value == "staff" and button(at, "Save role").disabled


def test_making_someone_an_admin_needs_a_confirmation():
    viewer = new_user("viewer")
    at = pick_user(users_page(), viewer)
    role_box(at).select("admin")
    ok(at.run())
    assert f"{viewer}: viewer → admin" in shown_texts(at)
    assert button(at, "Save role").disabled, "not before the promotion is confirmed"
    assert stored(viewer).role == "viewer"
    (confirm,) = change_tab(at).checkbox
    assert plain(viewer) in confirm.label
    confirm.check()
    ok(at.run())
    assert not button(at, "Save role").disabled
    button(at, "Save role").click()
    ok(at.run())
    assert stored(viewer).role == "admin"
    assert role_box(at).value == "admin" and not change_tab(at).checkbox


def test_disable_and_enable_redraw_the_button_and_the_table():
    staff = new_user("staff")
    at = pick_user(users_page(), staff)
    button(at, "Disable account").click()
    ok(at.run())
    assert stored(staff).disabled
    assert [b.label for b in change_tab(at).button if "account" in b.label] == ["Enable account"]
    assert f"{staff}: disabled" in shown_texts(at)
    table = at.dataframe[0].value
    assert bool(table.loc[table["username"] == staff, "disabled"].iloc[0])
    button(at, "Enable account").click()  # the second click enables, as its label says
    ok(at.run())
    assert not stored(staff).disabled
    assert [b.label for b in change_tab(at).button if "account" in b.label] == ["Disable account"]
    assert f"{staff}: active" in shown_texts(at)


def test_a_half_typed_password_stays_with_its_user():
    viewer, staff = new_user("viewer"), new_user("staff")
    at = pick_user(users_page(), viewer)
    labelled(change_tab(at).text_input, "New password").input("Typed-For-Viewer-1")
    at = pick_user(at, staff)
    assert labelled(change_tab(at).text_input, "New password").value == ""


def test_the_users_table_names_roles_in_the_users_language():
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = at.session_state["name"] = "admin"
    at.query_params["lang"] = "中文"  # as a shared link carries it; the picker would save it as admin's language
    ok(open_page(at.run(), "users"))
    roles = set(at.dataframe[0].value["role"])
    assert "管理员" in roles and "admin" not in roles, roles
