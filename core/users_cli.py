"""Manage dashboard users from a terminal (password prompted, never echoed):

    python -m core.users_cli add NAME --role manager [--name "Lena M." --email lena@example.com]
    python -m core.users_cli list | disable NAME | enable NAME | reset-password NAME | set-role NAME ROLE

It sits above core.bootstrap (it migrates the database before it writes), so the bootstrap, which adds
the demo users through core.platform.users, never imports it back.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import Engine

from core.bootstrap import prepare_database
from core.platform.db import unit_of_work
from core.platform.models import ROLES
from core.platform.users import (
    InvalidUserInput,
    create_user,
    list_users,
    reset_password,
    set_disabled,
    set_role,
)


def _prompt_password() -> str:
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise InvalidUserInput("The passwords do not match")
    return first


def main(argv: list[str] | None = None, engine: Engine | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.users_cli", description="Manage dashboard users")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create a user (password prompted)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--name", default="")
    add.add_argument("--email", default="")
    sub.add_parser("list", help="list users")
    for name in ("disable", "enable", "reset-password"):
        sub.add_parser(name).add_argument("username")
    role = sub.add_parser("set-role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    args = parser.parse_args(argv)

    engine = prepare_database(engine, seed_if_empty=False)
    try:
        with unit_of_work(engine) as session:
            if args.command == "add":
                user = create_user(
                    session, args.username, _prompt_password(), args.role, display_name=args.name, email=args.email
                )
                print(f"Created {user.username} ({user.role})")
            elif args.command == "list":
                for u in list_users(session):
                    flags = " disabled" if u.disabled else ""
                    flags += " demo-password" if u.is_demo else ""
                    print(f"{u.username:20} {u.role:8}{flags}")
            elif args.command in ("disable", "enable"):
                set_disabled(session, args.username, args.command == "disable")
                print(f"{args.command}d {args.username}")
            elif args.command == "reset-password":
                reset_password(session, args.username, _prompt_password())
                print(f"Password reset for {args.username}")
            elif args.command == "set-role":
                set_role(session, args.username, args.role)
                print(f"{args.username} is now {args.role}")
    except InvalidUserInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
