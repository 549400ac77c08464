from __future__ import annotations

import datetime as dt

import pytest

from core import users_cli
from core.platform import users
from core.platform.db import unit_of_work
from core.platform.i18n import translate


@pytest.mark.parametrize(
    ("role", "required", "allowed"),
    [
        ("viewer", "viewer", True),
        ("viewer", "staff", False),
        ("staff", "viewer", True),
        ("staff", "manager", False),
        ("manager", "staff", True),
        ("manager", "admin", False),
        ("admin", "manager", True),
        (None, "viewer", False),
        ("root", "viewer", False),
    ],
)
def test_roles_include_the_ones_before(role, required, allowed):
    assert users.role_allows(role, required) is allowed


def test_passwords_are_bcrypt_hashes():
    hashed = users.hash_password("correct horse")
    assert hashed.startswith("$2b$") and "correct horse" not in hashed
    assert users.verify_password("correct horse", hashed)
    assert not users.verify_password("wrong", hashed)


@pytest.fixture
def people(engine):
    with unit_of_work(engine) as s:
        users.ensure_demo_users(s)
    return engine


def test_demo_users_exist_once_with_their_published_passwords(people):
    with unit_of_work(people) as s:
        assert users.ensure_demo_users(s) == 0
        creds = users.authenticator_credentials(s)["usernames"]
        assert set(creds) == {"viewer", "staff", "manager", "admin"}
        for name in creds:
            assert users.verify_password(f"demo-{name}", creds[name]["password"])
            assert creds[name]["roles"] == [name]
        assert users.demo_accounts_active(s)


@pytest.mark.parametrize("actor", ["viewer", "staff", "manager", "nobody", None])
def test_only_an_admin_may_create_users_from_the_app(people, actor):
    with unit_of_work(people) as s:
        if actor is None:  # the command line
            assert users.create_user(s, "newbie", "long-password", "staff").role == "staff"
        else:
            with pytest.raises(users.PermissionDenied):
                users.create_user(s, "newbie", "long-password", "staff", actor=actor)


def test_disabled_user_loses_access_at_once(people):
    with unit_of_work(people) as s:
        users.set_disabled(s, "manager", True, actor="admin")
    with unit_of_work(people) as s:
        assert users.current_user(s, "manager") is None
        assert "manager" not in users.authenticator_credentials(s)["usernames"]
        with pytest.raises(users.PermissionDenied):
            users.authorize(s, "manager", "viewer")


def test_permission_denied_carries_its_message_id_and_says_it_in_english(people):
    with unit_of_work(people) as s, pytest.raises(users.PermissionDenied) as denied:
        users.authorize(s, "staff", "manager")
    exc = denied.value
    assert exc.template == "This action needs the {role} role"
    assert exc.values == {"role": "manager"}
    assert str(exc) == "This action needs the manager role"  # logs and English pages
    assert translate("zh", exc.template, role=translate("zh", exc.values["role"])) == "此操作需要“经理”角色"


LONG_AGO = dt.datetime(2020, 1, 1)


@pytest.mark.parametrize(
    ("action", "username", "cookie_issued", "valid"),
    [
        (None, "viewer", "before", True),  # never logged out: any unexpired cookie signs in
        ("logout", "viewer", "before", False),  # Log out refuses the cookies issued until then
        ("logout", "viewer", "after", True),  # ...but not the next login's cookie
        ("logout", "staff", "before", True),  # only the user who logged out is affected
        ("reset", "viewer", "before", False),  # a password reset refuses the old cookies too
        ("disable", "viewer", "after", False),  # a disabled account never signs in by cookie
        (None, "nobody", "before", False),
    ],
)
def test_remembered_logins_are_refused_after_logout(people, action, username, cookie_issued, valid):
    with unit_of_work(people) as s:
        if action == "logout":
            users.revoke_remembered_logins(s, "viewer")
        elif action == "reset":
            users.reset_password(s, "viewer", "a-new-secret", actor="admin")
        elif action == "disable":
            users.set_disabled(s, "viewer", True, actor="admin")
    issued = LONG_AGO if cookie_issued == "before" else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with unit_of_work(people) as s:
        assert users.remembered_login_valid(s, username, issued, issued + dt.timedelta(days=1)) is valid


def test_reset_password_replaces_the_demo_password(people):
    with unit_of_work(people) as s:
        users.reset_password(s, "staff", "a-new-secret", actor="admin")
    with unit_of_work(people) as s:
        creds = users.authenticator_credentials(s)["usernames"]["staff"]
        assert users.verify_password("a-new-secret", creds["password"])
        assert not users.verify_password("demo-staff", creds["password"])


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("ab cd", "long-password", "staff", "Username"),
        ("newbie", "short", "staff", "at least 8"),
        ("newbie", "long-password", "root", "Unknown role"),
        ("viewer", "long-password", "staff", "already exists"),
    ],
)
def test_bad_user_input_is_refused_with_a_reason(people, username, password, role, message):
    with unit_of_work(people) as s, pytest.raises(users.InvalidUserInput, match=message):
        users.create_user(s, username, password, role, actor="admin")


def test_the_last_admin_cannot_be_disabled_or_demoted(people):
    with unit_of_work(people) as s:
        with pytest.raises(users.InvalidUserInput, match="last active admin"):
            users.set_disabled(s, "admin", True)
        with pytest.raises(users.InvalidUserInput, match="last active admin"):
            users.set_role(s, "admin", "viewer")


def test_cli_adds_a_user_with_a_prompted_password(people, monkeypatch, capsys):
    monkeypatch.setattr(users_cli.getpass, "getpass", lambda prompt="": "prompted-secret")
    assert users_cli.main(["add", "lena", "--role", "manager"], engine=people) == 0
    assert "Created lena (manager)" in capsys.readouterr().out
    with unit_of_work(people) as s:
        assert users.authorize(s, "lena", "manager").role == "manager"
        assert users.verify_password("prompted-secret", users.authenticator_credentials(s)["usernames"]["lena"]["password"])


def test_cli_reports_errors_without_a_traceback(people, capsys):
    assert users_cli.main(["disable", "ghost"], engine=people) == 2
    assert "No user named 'ghost'" in capsys.readouterr().err
