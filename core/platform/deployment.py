"""Refuse to serve the published demo passwords beyond this machine.

The four demo accounts (README, "Demo accounts") have passwords anyone can read. On the loopback address only
this machine's users reach the app, so that is fine for a try-out; on any other address the app must not start
while one of them is still enabled with its demo password, unless CBO_ALLOW_DEMO_ACCOUNTS=1 says so on purpose.
bin/run runs `python -m core.platform.deployment --address ADDRESS` before it starts the server, and the router
checks again on every run (so `streamlit run` by hand is covered too).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.platform import config
from core.platform.i18n import N_
from core.platform.models import User

DEMO_ACCOUNTS_EXPOSED = N_(
    "Not serving on {address}: the demo accounts {names} still have their published passwords. Disable them or "
    "change their passwords first (python -m core.users_cli disable NAME, or the Users page on 127.0.0.1), or "
    "set CBO_ALLOW_DEMO_ACCOUNTS=1 to serve them anyway."
)


def is_loopback(address: str | None) -> bool:
    """Whether a server.address reaches this machine only. Unset or empty means every interface (Streamlit's
    default), and a host name other than localhost may resolve to anything, so both count as public."""
    if not address:
        return False
    host = address.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def active_demo_accounts(session: Session) -> list[str]:
    """Enabled accounts that still have their published demo password."""
    return list(session.scalars(
        select(User.username).where(User.is_demo, User.disabled.is_(False)).order_by(User.username)
    ))


def exposed_demo_accounts(session: Session, address: str | None, allowed: bool | None = None) -> list[str]:
    """The demo accounts serving on `address` would expose (none on loopback or with the override)."""
    if allowed is None:
        allowed = config.allow_demo_accounts()
    if allowed or is_loopback(address):
        return []
    return active_demo_accounts(session)


def refusal(address: str | None, names: list[str]) -> tuple[str, dict[str, str]]:
    """The message id and its values (pages translate it; the command line prints it in English)."""
    return DEMO_ACCOUNTS_EXPOSED, {"address": address or "every interface", "names": ", ".join(names)}


def main(argv: list[str] | None = None) -> int:
    from core.platform.db import get_engine, unit_of_work

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="", help="the server.address the app will listen on")
    args = parser.parse_args(argv)
    with unit_of_work(get_engine()) as session:
        names = exposed_demo_accounts(session, args.address)
    if names:
        template, values = refusal(args.address, names)
        print(f"error: {template.format(**values)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
