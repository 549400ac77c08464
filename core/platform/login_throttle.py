"""The sign-in throttle: an increasing wait, then a short lock, after failed passwords; and the sign-in audit.

Failures are counted from the database (`sign_in_attempts`), so a restart does not reset them:

- per client (its address), over SIGN_IN_CLIENT_WINDOW_MINUTES: after SIGN_IN_CLIENT_FREE_FAILURES it waits
  SIGN_IN_DELAY_FIRST_SECONDS, doubling per further failure up to SIGN_IN_DELAY_MAX_SECONDS; at
  SIGN_IN_CLIENT_LOCK_FAILURES it is locked for SIGN_IN_CLIENT_LOCK_MINUTES. A success from that client for
  that account forgives the client's earlier failures on it (a typo is not held against its owner).
- per account (every client together), over SIGN_IN_ACCOUNT_WINDOW_MINUTES: the same growing wait after
  SIGN_IN_ACCOUNT_FREE_FAILURES, and a lock of only SIGN_IN_ACCOUNT_LOCK_MINUTES at
  SIGN_IN_ACCOUNT_LOCK_FAILURES. Successes do not forgive these: they bound the guesses an account can take
  (OWASP ASVS V2.2.1: at most 100 failed attempts per hour).

One client alone is locked long before its failures reach the account's limits, so an anonymous visitor
cannot lock an admin out; only many clients together can, and then for a few minutes at a time (an admin
can unlock on the Users page). Unknown usernames are throttled the same way, so the answers tell nothing
about which accounts exist.

The caller asks `check()` first and verifies the password only if it allows; it records the attempt as a
failure *before* verifying (`record_failure`) and turns it into a success after (`record_success`), so
parallel guesses see each other. Throttled attempts are not recorded: hammering a lock does not extend it.
All times are naive UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from core import thresholds
from core.platform.models import AuditEvent, SignInAttempt
from core.platform.users import authorize

USERNAME_LENGTH = 60  # the column widths
CLIENT_LENGTH = 64
LOCAL_CLIENT = "local"  # a connection from this machine (Streamlit reports no address for loopback)


@dataclass(frozen=True)
class Decision:
    """Whether a sign-in attempt may check its password now; if not, until when and why."""

    allowed: bool
    retry_at: dt.datetime | None = None
    locked: bool = False  # a lock (minutes) rather than a growing wait (seconds)
    scope: str | None = None  # "client" or "account": whose failures hold it back

    def wait_seconds(self, now: dt.datetime | None = None) -> int:
        if self.retry_at is None:
            return 0
        return max(0, math.ceil((self.retry_at - (now or _now())).total_seconds()))


ALLOWED = Decision(allowed=True)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def normalise_username(username: str) -> str:
    """The account name a login form's text stands for (as streamlit-authenticator reads it)."""
    return (username or "").strip().lower()[:USERNAME_LENGTH]


def client_from(remote_ip: str | None, forwarded_for: list[str], trusted_proxies: int) -> str:
    """The client's address: the connection's, or, behind `trusted_proxies` reverse proxies that each append
    the address they saw to X-Forwarded-For, the entry the outermost trusted proxy appended. Entries left of it
    are whatever the client claimed and are ignored; with no trusted proxy the header is ignored entirely."""
    if trusted_proxies > 0:
        hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
        if len(hops) >= trusted_proxies:
            return hops[-trusted_proxies][:CLIENT_LENGTH]
    return (remote_ip or LOCAL_CLIENT)[:CLIENT_LENGTH]


def _delay(failures_over_free: int) -> dt.timedelta:
    """The wait after the (free + 1 + k)-th failure: first, doubling, capped."""
    seconds = thresholds.SIGN_IN_DELAY_FIRST_SECONDS * 2 ** min(failures_over_free, 30)
    return dt.timedelta(seconds=min(seconds, thresholds.SIGN_IN_DELAY_MAX_SECONDS))


def _hold(failures: list[dt.datetime], free: int, lock_at: int, lock: dt.timedelta) -> tuple[dt.datetime, bool] | None:
    """(until, is_lock) that `failures` (ascending times) impose, or None."""
    if len(failures) < free:
        return None
    last = failures[-1]
    if len(failures) >= lock_at:
        return last + lock, True
    return last + _delay(len(failures) - free), False


def _client_failures(session: Session, client: str, now: dt.datetime) -> list[dt.datetime]:
    since = now - dt.timedelta(minutes=thresholds.SIGN_IN_CLIENT_WINDOW_MINUTES)
    rows = session.execute(
        select(SignInAttempt.at, SignInAttempt.username, SignInAttempt.succeeded)
        .where(SignInAttempt.client == client, SignInAttempt.at >= since, SignInAttempt.cleared_at.is_(None))
        .order_by(SignInAttempt.at)
    ).all()
    latest_success = {row.username: row.at for row in rows if row.succeeded}  # ascending: the last one wins
    return [row.at for row in rows
            if not row.succeeded and row.at > latest_success.get(row.username, dt.datetime.min)]


def _account_failures(session: Session, username: str, now: dt.datetime) -> list[dt.datetime]:
    since = now - dt.timedelta(minutes=thresholds.SIGN_IN_ACCOUNT_WINDOW_MINUTES)
    return list(session.scalars(
        select(SignInAttempt.at)
        .where(SignInAttempt.username == username, SignInAttempt.succeeded.is_(False),
               SignInAttempt.at >= since, SignInAttempt.cleared_at.is_(None))
        .order_by(SignInAttempt.at)
    ))


def _client_hold(session: Session, client: str, now: dt.datetime):
    return _hold(_client_failures(session, client, now), thresholds.SIGN_IN_CLIENT_FREE_FAILURES,
                 thresholds.SIGN_IN_CLIENT_LOCK_FAILURES,
                 dt.timedelta(minutes=thresholds.SIGN_IN_CLIENT_LOCK_MINUTES))


def _account_hold(session: Session, username: str, now: dt.datetime):
    return _hold(_account_failures(session, username, now), thresholds.SIGN_IN_ACCOUNT_FREE_FAILURES,
                 thresholds.SIGN_IN_ACCOUNT_LOCK_FAILURES,
                 dt.timedelta(minutes=thresholds.SIGN_IN_ACCOUNT_LOCK_MINUTES))


def check(session: Session, username: str, client: str, *, now: dt.datetime | None = None) -> Decision:
    """May `client` try a password for `username` now? Ask before verifying it; never verify when refused."""
    now = now or _now()
    username = normalise_username(username)
    holds = []
    for scope, hold in (("client", _client_hold(session, client, now)),
                        ("account", _account_hold(session, username, now))):
        if hold is not None and hold[0] > now:
            holds.append((hold[0], hold[1], scope))
    if not holds:
        return ALLOWED
    until, locked, scope = max(holds)
    return Decision(allowed=False, retry_at=until, locked=locked, scope=scope)


def record_failure(session: Session, username: str, client: str, *, now: dt.datetime | None = None) -> int:
    """Count an attempt as failed, before its password is checked; returns its id for record_success."""
    attempt = SignInAttempt(at=now or _now(), username=normalise_username(username), client=client[:CLIENT_LENGTH],
                            succeeded=False)
    session.add(attempt)
    session.flush()
    return attempt.id


def record_success(session: Session, attempt_id: int) -> None:
    """The password of attempt `attempt_id` was right."""
    session.execute(update(SignInAttempt).where(SignInAttempt.id == attempt_id).values(succeeded=True))


def recent_failures(session: Session, *, now: dt.datetime | None = None) -> pd.DataFrame:
    """Failed sign-ins of the last SIGN_IN_RECENT_HOURS per username and client, the latest first:
    username, client, failures, last_failure (naive UTC), last_success (of that username from that client)."""
    now = now or _now()
    since = now - dt.timedelta(hours=thresholds.SIGN_IN_RECENT_HOURS)
    failed = SignInAttempt.succeeded.is_(False)
    rows = session.execute(
        select(SignInAttempt.username, SignInAttempt.client,
               func.sum(case((failed, 1), else_=0)).label("failures"),
               func.max(case((failed, SignInAttempt.at))).label("last_failure"),
               func.max(case((SignInAttempt.succeeded, SignInAttempt.at))).label("last_success"))
        .where(SignInAttempt.at >= since)
        .group_by(SignInAttempt.username, SignInAttempt.client)
    ).all()
    frame = pd.DataFrame(rows, columns=["username", "client", "failures", "last_failure", "last_success"])
    frame = frame[frame["failures"] > 0]
    return frame.sort_values("last_failure", ascending=False, ignore_index=True)


def locked(session: Session, *, now: dt.datetime | None = None) -> pd.DataFrame:
    """The locks in force now (not the short waits): scope ("account" or "client"), username, client
    ("" for an account lock: it holds every client), failures counted and until (naive UTC).
    A client lock lists each username that client failed on, since unlocking a username lifts its part."""
    now = now or _now()
    since = now - dt.timedelta(minutes=max(thresholds.SIGN_IN_ACCOUNT_WINDOW_MINUTES,
                                           thresholds.SIGN_IN_CLIENT_WINDOW_MINUTES))
    candidates = session.execute(
        select(SignInAttempt.username, SignInAttempt.client).distinct()
        .where(SignInAttempt.succeeded.is_(False), SignInAttempt.at >= since, SignInAttempt.cleared_at.is_(None))
    ).all()
    rows = []
    for username in sorted({c.username for c in candidates}):
        hold = _account_hold(session, username, now)
        if hold and hold[1] and hold[0] > now:
            rows.append(("account", username, "", len(_account_failures(session, username, now)), hold[0]))
    for client in sorted({c.client for c in candidates}):
        hold = _client_hold(session, client, now)
        if hold and hold[1] and hold[0] > now:
            failures = len(_client_failures(session, client, now))
            for username in sorted({c.username for c in candidates if c.client == client}):
                rows.append(("client", username, client, failures, hold[0]))
    return pd.DataFrame(rows, columns=["scope", "username", "client", "failures", "until"])


def unlock(session: Session, actor: str, username: str, *, now: dt.datetime | None = None) -> int:
    """An admin lifts the delays and locks that failures on `username` impose (on the account and on the
    clients that made them); the failures stay listed in the audit. Returns how many failures it cleared."""
    authorize(session, actor, "admin")
    now = now or _now()
    username = normalise_username(username)
    cleared = session.execute(
        update(SignInAttempt)
        .where(SignInAttempt.username == username, SignInAttempt.succeeded.is_(False),
               SignInAttempt.cleared_at.is_(None))
        .values(cleared_at=now)
    ).rowcount
    session.add(AuditEvent(at=now, username=actor, entity="sign_in", entity_id=username[:40], action="unlock",
                           detail=json.dumps({"failures_cleared": cleared})))
    return cleared
