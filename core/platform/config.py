"""Runtime settings: where the database lives and where secrets come from.

Order of precedence for every setting: environment variable, then
`.streamlit/secrets.toml` (never committed), then the embedded default.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # core/platform/config.py
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_SQLITE_PATH = DATA_DIR / "crossborder.db"
SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"
GENERATED_KEY_FILE = DATA_DIR / ".secrets" / "cookie_key"
MIN_COOKIE_KEY_BYTES = 32


def _secrets_toml() -> dict:
    if not SECRETS_FILE.exists():
        return {}
    with SECRETS_FILE.open("rb") as fh:
        return tomllib.load(fh)


def _setting(name: str) -> str | None:
    value = os.environ.get(name)
    if value:
        return value
    value = _secrets_toml().get(name)
    return str(value) if value else None


def database_url() -> str:
    return _setting("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def dev_mode() -> bool:
    return (_setting("CBO_DEV") or "").lower() in {"1", "true", "yes"}


def allow_demo_accounts() -> bool:
    """CBO_ALLOW_DEMO_ACCOUNTS=1: serve on a non-loopback address even while demo accounts keep their published
    passwords (core.platform.deployment refuses otherwise)."""
    return (_setting("CBO_ALLOW_DEMO_ACCOUNTS") or "").lower() in {"1", "true", "yes"}


def pinned_today() -> dt.date | None:
    """`CBO_TODAY` (YYYY-MM-DD): the day the app treats as today, for demos and tests; None = the real date."""
    value = _setting("CBO_TODAY")
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"CBO_TODAY must be a date as YYYY-MM-DD, not {value!r}") from None


def cookie_key() -> str:
    """The cookie signing key: given by env/secrets, or generated once and kept out of git."""
    given = _setting("CBO_COOKIE_KEY")
    if given:
        if len(given.encode()) < MIN_COOKIE_KEY_BYTES:
            raise ValueError(f"CBO_COOKIE_KEY must be at least {MIN_COOKIE_KEY_BYTES} bytes long")
        return given
    if GENERATED_KEY_FILE.exists():
        return GENERATED_KEY_FILE.read_text().strip()
    GENERATED_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)  # 48 random bytes, 64 characters
    # Create with 0600 so other local users cannot read it.
    fd = os.open(GENERATED_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _number(name: str, default: float) -> float:
    value = _setting(name)
    if value is None:
        return default
    number = float(value)
    if number < 0 or number != number:
        raise ValueError(f"{name} must be a number of at least 0, not {value!r}")
    return number


DEFAULT_IDLE_TIMEOUT_MINUTES = 30
DEFAULT_REMEMBER_DAYS = 7
DEFAULT_ADMIN_REMEMBER_DAYS = 1


def idle_timeout_minutes() -> float:
    """A signed-in session unused this long must log in again (CBO_IDLE_TIMEOUT_MINUTES; 0: never)."""
    return _number("CBO_IDLE_TIMEOUT_MINUTES", DEFAULT_IDLE_TIMEOUT_MINUTES)


def remember_days(role: str) -> float:
    """How long a browser stays signed in by its remembered-login cookie (CBO_REMEMBER_DAYS; 0: not at all).

    Admins get at most CBO_ADMIN_REMEMBER_DAYS (1 by default): their cookie can create accounts and reset
    passwords, and scripts in the page can read it (README, "Sessions and sign-in")."""
    days = _number("CBO_REMEMBER_DAYS", DEFAULT_REMEMBER_DAYS)
    if role == "admin":
        return min(days, _number("CBO_ADMIN_REMEMBER_DAYS", DEFAULT_ADMIN_REMEMBER_DAYS))
    return days


def trusted_proxies() -> int:
    """How many reverse proxies in front of the app append the client's address to X-Forwarded-For
    (CBO_TRUSTED_PROXIES, 0 by default: the header is ignored, since any client can send it)."""
    return int(_number("CBO_TRUSTED_PROXIES", 0))


@dataclass(frozen=True)
class UploadLimits:
    max_megabytes: int = 200


def upload_limits() -> UploadLimits:
    value = _setting("CBO_MAX_UPLOAD_MB")
    return UploadLimits(max_megabytes=int(value)) if value else UploadLimits()
