"""``servicemap users``: manage local accounts in the configured store.

The store is the one the service uses (``SERVICEMAP_DATABASE_URL``, default SQLite in the
state directory). Passwords are read from a terminal prompt (twice) or, for scripts, as
one line on standard input with ``--password-stdin``; they never appear in arguments,
where other users of the machine could read them.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from layers.accounts.roles import Role

_ROLES = [role.value for role in Role]


class UsageError(Exception):
    """A command-line mistake (exit status 2 with the message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``users`` sub-command and its actions."""
    parser = subparsers.add_parser(
        "users", help="manage local accounts",
        description="Manage the local staff accounts (roles: " + ", ".join(_ROLES) + ").",
    )  # fmt: skip
    actions = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="create an account",
                             description="Create an account; asks for its password.")  # fmt: skip
    add.add_argument("name", help="user name (lower-case ASCII letters, digits, . _ -)")
    add.add_argument("--role", required=True, choices=_ROLES)
    add.add_argument("--district", help="one of the 16 districts, e.g. 普陀区 (editors)")
    add.add_argument("--display-name", help="name shown in the interface")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password as one line from standard input")  # fmt: skip
    add.add_argument("--json", action="store_true", help="print the account as JSON")
    add.set_defaults(func=run_add)

    listing = actions.add_parser("list", help="list accounts", description="List accounts.")
    listing.add_argument("--json", action="store_true", help="print JSON only")
    listing.set_defaults(func=run_list)

    change = actions.add_parser("set", help="change role, district, name or active flag",
                                description="Change an account; unnamed fields stay.")  # fmt: skip
    change.add_argument("name")
    change.add_argument("--role", choices=_ROLES)
    district = change.add_mutually_exclusive_group()
    district.add_argument("--district", help="one of the 16 districts")
    district.add_argument("--no-district", action="store_true", help="clear the district")
    change.add_argument("--display-name")
    active = change.add_mutually_exclusive_group()
    active.add_argument("--disable", action="store_true",
                        help="disable (revokes tokens and sessions)")  # fmt: skip
    active.add_argument("--enable", action="store_true", help="enable again")
    change.add_argument("--json", action="store_true", help="print the account as JSON")
    change.set_defaults(func=run_set)

    passwd = actions.add_parser("passwd", help="set a password",
                                description="Set an account's password (revokes its tokens).")  # fmt: skip
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password as one line from standard input")  # fmt: skip
    passwd.set_defaults(func=run_passwd)


@contextmanager
def _accounts() -> Iterator[Any]:
    from pydantic import ValidationError

    from api.settings import Settings
    from layers.accounts.passwords import Argon2Parameters, PasswordHashing
    from layers.accounts.service import AccountService
    from layers.store import open_store

    try:
        settings = Settings()
    except ValidationError as exc:
        reasons = "; ".join(str(e.get("msg")) for e in exc.errors())
        raise UsageError(f"bad SERVICEMAP_* setting: {reasons}") from None
    if settings.database_url is None:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    hashing = PasswordHashing(Argon2Parameters(settings.argon2_time_cost,
                                               settings.argon2_memory_kib,
                                               settings.argon2_parallelism))  # fmt: skip
    with open_store(settings.resolved_database_url()) as store:
        yield AccountService(store, hashing, session_ttl_s=settings.session_ttl_s)


def _cli_actor() -> Any:
    from layers.accounts.roles import Actor

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(f"cli:{who}"[:64], Role.ADMIN)


def read_password(from_stdin: bool) -> str:
    """The new password: one line of standard input, or typed twice at a prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise UsageError("--password-stdin: standard input held no password")
        return password
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: pass it with --password-stdin")
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Password (again): ")
    if first != second:
        raise UsageError("the two passwords differ; nothing was changed")
    return first


def _describe(account: Any) -> str:
    where = f", {account.district}" if account.district else ""
    state = "" if account.active else " [disabled]"
    name = f" ({account.display_name})" if account.display_name else ""
    return f"{account.username}{name}: {account.role.value}{where}{state}"


def _fail(exc: Exception) -> int:
    message = getattr(exc, "message", str(exc))
    print(f"servicemap: error: {message}", file=sys.stderr)
    return 2


def run_add(args: argparse.Namespace) -> int:
    """Create an account with a password."""
    try:
        password = read_password(args.password_stdin)
        with _accounts() as accounts:
            account = accounts.add(args.name, args.role, district=args.district,
                                   display_name=args.display_name, password=password,
                                   actor=_cli_actor())  # fmt: skip
    except UsageError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(account.to_public(), ensure_ascii=False))
    else:
        print(f"created {_describe(account)}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print every account."""
    try:
        with _accounts() as accounts:
            found = accounts.list()
    except UsageError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps([a.to_public() for a in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("no accounts yet: create one with `servicemap users add NAME --role admin`",
              file=sys.stderr)  # fmt: skip
    for account in found:
        print(_describe(account))
    return 0


def run_set(args: argparse.Namespace) -> int:
    """Change the named fields of an account."""
    from layers.accounts.service import UNSET

    changes: dict[str, Any] = {}
    if args.role is not None:
        changes["role"] = args.role
    if args.district is not None:
        changes["district"] = args.district
    elif args.no_district:
        changes["district"] = None
    if args.display_name is not None:
        changes["display_name"] = args.display_name
    if args.disable or args.enable:
        changes["active"] = bool(args.enable)
    if not changes:
        return _fail(UsageError("nothing to change: give --role, --district, --no-district, "
                                "--display-name, --disable or --enable"))  # fmt: skip
    try:
        with _accounts() as accounts:
            account = accounts.update(args.name, actor=_cli_actor(),
                                      **{k: changes.get(k, UNSET) for k in
                                         ("role", "district", "display_name", "active")})  # fmt: skip
    except UsageError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(account.to_public(), ensure_ascii=False))
    else:
        print(f"changed {_describe(account)}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    """Set an account's password."""
    try:
        password = read_password(args.password_stdin)
        with _accounts() as accounts:
            account = accounts.set_password(args.name, password, actor=_cli_actor())
    except UsageError as exc:
        return _fail(exc)
    print(f"password set for {account.username}; its old tokens and sessions no longer work")
    return 0
