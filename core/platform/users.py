"""Users, roles and the server-side permission check.

Every write action calls `authorize()` itself, against the database, so a
role change or a disabled account takes effect on the very next action, even
in a browser session that logged in before the change.

The command line for the same actions is core.users_cli (`python -m core.users_cli`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
from dataclasses import dataclass

import bcrypt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.platform import config
from core.platform.i18n import LANGUAGES
from core.platform.models import ROLES, AuditEvent, User

DEMO_ACCOUNTS = {role: f"demo-{role}" for role in ROLES}  # username -> password, documented in README
MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,59}$")


class PermissionDenied(Exception):
    """The acting user may not do this (missing role, disabled, or unknown).

    `template` is the English message id (extracted by tools.i18n), `values` fill its placeholders: pages show
    it translated (ui.auth.permission_message, which also translates the role); str() is the English sentence.
    """

    def __init__(self, template: str, **values):
        self.template, self.values = template, values
        super().__init__(template.format(**values))


class InvalidUserInput(ValueError):
    pass


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    email: str
    role: str
    disabled: bool
    is_demo: bool
    language: str


def role_rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def role_allows(role: str | None, required: str) -> bool:
    """Roles are cumulative: viewer < staff < manager < admin."""
    return role is not None and role_rank(role) >= role_rank(required) >= 0


def _bcrypt_rounds() -> int:
    # The test suite lowers the work factor to keep tests fast; never below bcrypt's minimum of 4.
    return max(4, int(os.environ.get("CBO_BCRYPT_ROUNDS", "12")))


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=_bcrypt_rounds())).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


@functools.cache
def _dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(b"no account has this password", bcrypt.gensalt(rounds=rounds)).decode()


def verify_login(session: Session, username: str, password: str) -> UserView | None:
    """The enabled user whose password this is, else None; the password is taken exactly as typed.

    Exactly one bcrypt check runs either way (against a dummy hash of the current work factor for unknown
    or disabled accounts), so the time taken does not tell which usernames exist.
    """
    user = session.scalar(select(User).where(User.username == username))
    usable = user is not None and not user.disabled
    matches = verify_password(password, user.password_hash if usable else _dummy_hash(_bcrypt_rounds()))
    return _view(user) if usable and matches else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _view(user: User) -> UserView:
    return UserView(
        user.username, user.display_name, user.email, user.role, user.disabled, user.is_demo, user.language
    )


def _validate_password(password: str, username: str, *, published: bool = False) -> None:
    """The rules for a new password. `published`: a demo account's documented password, exempt from the
    username rule ("demo-admin" contains "admin"), flagged as a demo password instead."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUserInput(f"Password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if password != password.strip():
        # A form or a copy-paste can add or drop them unseen: one rule everywhere is that there are none.
        raise InvalidUserInput("Password must not begin or end with a space")
    if not published and username.lower() in password.lower():
        raise InvalidUserInput("Password must not contain the username")


def _validate_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidUserInput(f"Unknown role '{role}'; choose one of {', '.join(ROLES)}")


def _audit(session: Session, actor: str, user: str, action: str, **detail) -> None:
    session.add(
        AuditEvent(
            at=_now(), username=actor, entity="user", entity_id=user, action=action, detail=json.dumps(detail)
        )
    )


def current_user(session: Session, username: str | None) -> UserView | None:
    """The user as the database knows them now, or None if unknown or disabled."""
    if not username:
        return None
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.disabled:
        return None
    return _view(user)


def authorize(session: Session, username: str | None, required_role: str) -> UserView:
    user = current_user(session, username)
    if user is None or not role_allows(user.role, required_role):
        raise PermissionDenied("This action needs the {role} role", role=required_role)
    return user


def list_users(session: Session) -> list[UserView]:
    return [_view(u) for u in session.scalars(select(User).order_by(User.username))]


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str = "",
    email: str = "",
    actor: str | None = None,
    is_demo: bool = False,
) -> UserView:
    """Create a user. `actor` None means the command line (trusted: it has the server's shell)."""
    if actor is not None:
        authorize(session, actor, "admin")
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise InvalidUserInput("Username: 2-60 characters, lower-case letters, digits, '.', '_' or '-'")
    _validate_role(role)
    _validate_password(password, username, published=is_demo)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InvalidUserInput(f"User '{username}' already exists")
    now = _now()
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        email=email.strip(),
        role=role,
        password_hash=hash_password(password),
        is_demo=is_demo,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    _audit(session, actor or "cli", username, "create", role=role)
    session.flush()
    return _view(user)


def _get(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InvalidUserInput(f"No user named '{username}'")
    return user


def _guard_last_admin(session: Session, user: User) -> None:
    active_admins = session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.disabled.is_(False))
    )
    if user.role == "admin" and not user.disabled and active_admins <= 1:
        raise InvalidUserInput("This is the last active admin; add another admin first")


def set_disabled(session: Session, username: str, disabled: bool, *, actor: str | None = None) -> None:
    if actor is not None:
        authorize(session, actor, "admin")
        if actor == username and disabled:
            raise InvalidUserInput("You cannot disable your own account")
    user = _get(session, username)
    if disabled:
        _guard_last_admin(session, user)
    user.disabled = disabled
    user.updated_at = _now()
    if disabled:  # its open sessions and remembered logins end, and stay ended if it is enabled again
        user.logins_revoked_at = user.updated_at
    _audit(session, actor or "cli", username, "disable" if disabled else "enable")


def set_role(session: Session, username: str, role: str, *, actor: str | None = None) -> None:
    if actor is not None:
        authorize(session, actor, "admin")
    _validate_role(role)
    user = _get(session, username)
    if role != "admin":
        _guard_last_admin(session, user)
    user.role = role
    user.updated_at = _now()
    _audit(session, actor or "cli", username, "set_role", role=role)


def reset_password(session: Session, username: str, new_password: str, *, actor: str | None = None) -> None:
    if actor is not None:
        authorize(session, actor, "admin")
    user = _get(session, username)
    _validate_password(new_password, user.username)
    user.password_hash = hash_password(new_password)
    user.is_demo = False  # a changed password is no longer the published demo one
    user.updated_at = _now()
    user.logins_revoked_at = user.updated_at  # whoever knew the old password may hold its cookie
    _audit(session, actor or "cli", username, "reset_password")


def revoke_remembered_logins(session: Session, username: str) -> None:
    """Refuse every re-auth cookie this user was issued until now, in whichever browser it lives.

    Called on Log out: deleting the cookie happens in the browser and may not get through, and a
    copied cookie would outlive it anyway.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is not None:
        user.logins_revoked_at = _now()


def _not_revoked(user: User | None, since: dt.datetime) -> bool:
    return (user is not None and not user.disabled
            and (user.logins_revoked_at is None or since > user.logins_revoked_at))


def remembered_login_valid(
    session: Session, username: str, issued_at: dt.datetime, expires_at: dt.datetime
) -> bool:
    """Whether a re-auth cookie for `username` issued at `issued_at` and expiring at `expires_at` (naive UTC)
    may sign in: not revoked since, and not made to last longer than the user's role may be remembered."""
    user = session.scalar(select(User).where(User.username == username))
    if not _not_revoked(user, issued_at):
        return False
    return expires_at - issued_at <= dt.timedelta(days=config.remember_days(user.role), seconds=1)


def session_user(session: Session, username: str | None, signed_in_at: dt.datetime) -> UserView | None:
    """The user of a browser session that signed in at `signed_in_at` (naive UTC), as the database knows them
    now; None once the account is unknown or disabled, or a log out, password reset or disable since then
    revoked its logins."""
    if not username:
        return None
    user = session.scalar(select(User).where(User.username == username))
    return _view(user) if _not_revoked(user, signed_in_at) else None


def set_language(session: Session, username: str, language: str) -> None:
    if language not in LANGUAGES:
        raise InvalidUserInput(f"Unknown language '{language}'")
    user = _get(session, username)
    user.language = language


def ensure_demo_users(session: Session) -> int:
    """Create the four published demo accounts, once, on an empty users table."""
    if session.scalar(select(func.count()).select_from(User)):
        return 0
    for role, password in DEMO_ACCOUNTS.items():
        create_user(session, role, password, role, display_name=f"Demo {role}", is_demo=True)
    return len(DEMO_ACCOUNTS)


def demo_accounts_active(session: Session) -> bool:
    """True while any account still has its published demo password."""
    return bool(
        session.scalar(select(func.count()).select_from(User).where(User.is_demo, User.disabled.is_(False)))
    )


def authenticator_credentials(session: Session) -> dict:
    """Credentials in the shape streamlit-authenticator expects; disabled users are left out."""
    users = session.scalars(select(User).where(User.disabled.is_(False)))
    return {
        "usernames": {
            u.username: {
                "name": u.display_name,
                "email": u.email,
                "password": u.password_hash,
                "roles": [u.role],
            }
            for u in users
        }
    }
