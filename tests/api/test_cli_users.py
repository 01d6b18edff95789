"""``servicemap users`` in a subprocess, on a temporary SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layers.accounts.errors import InvalidCredentialsError
from layers.accounts.passwords import Argon2Parameters, PasswordHashing
from layers.accounts.service import AccountService
from layers.store import open_store

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


def run(store_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SERVICEMAP_DATABASE_URL": store_url, "SERVICEMAP_ARGON2_TIME_COST": "1",
           "SERVICEMAP_ARGON2_MEMORY_KIB": "8192"}  # fmt: skip
    env.pop("SERVICEMAP_SECRET_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "users", *args], input=stdin, capture_output=True,
        text=True, env=env, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip


def accounts(store_url: str) -> AccountService:
    return AccountService(open_store(store_url), PasswordHashing(Argon2Parameters(1, 8192, 1)))


def test_add_list_set_passwd(store_url: str) -> None:
    added = run(store_url, "add", "Putuo.Editor", "--role", "editor", "--district", "普陀区",
                "--display-name", "普陀区总工会", "--password-stdin", stdin="first password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "created putuo.editor (普陀区总工会): editor, 普陀区" in added.stdout
    admin = run(store_url, "add", "root", "--role", "admin", "--password-stdin", "--json",
                stdin="root password 1\n")  # fmt: skip
    assert admin.returncode == 0, admin.stderr
    assert json.loads(admin.stdout)["role"] == "admin"

    listing = run(store_url, "list", "--json")
    assert listing.returncode == 0
    rows = json.loads(listing.stdout)  # the whole of stdout is JSON
    assert [(r["username"], r["role"], r["district"], r["active"]) for r in rows] == [
        ("putuo.editor", "editor", "普陀区", True), ("root", "admin", None, True)]
    assert "argon2" not in listing.stdout
    assert accounts(store_url).authenticate("putuo.editor", "first password").token_generation == 1

    changed = run(store_url, "set", "putuo.editor", "--role", "reviewer", "--no-district",
                  "--disable")  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert "reviewer" in changed.stdout
    assert "[disabled]" in changed.stdout
    enabled = run(store_url, "set", "putuo.editor", "--enable", "--json")
    assert json.loads(enabled.stdout)["active"] is True

    passwd = run(store_url, "passwd", "putuo.editor", "--password-stdin", stdin="second password\r\n")
    assert passwd.returncode == 0, passwd.stderr
    service = accounts(store_url)
    account = service.authenticate("putuo.editor", "second password")
    assert (account.role.value, account.district, account.token_generation) == ("reviewer", None, 3)
    with pytest.raises(InvalidCredentialsError):
        service.authenticate("putuo.editor", "first password")
    assert next(line.actor for line in service.store.history(limit=20)).startswith("cli:")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [(("add", "ed", "--role", "editor", "--password-stdin"), "a password 1\n", "needs a district"),
     (("add", "ed", "--role", "editor", "--district", "Gotham", "--password-stdin"), "a password 1\n",
      "unknown district"),
     (("add", "ed", "--role", "root"), None, "invalid choice"),
     (("add", "аdmin", "--role", "planner", "--password-stdin"), "a password 1\n", "not allowed"),
     (("add", "ed", "--role", "planner", "--password-stdin"), "", "held no password"),
     (("add", "ed", "--role", "planner", "--password-stdin"), "short\n", "10 to 256"),
     (("add", "ed", "--role", "planner"), "", "--password-stdin"),
     (("set", "ghost", "--role", "planner"), None, "no account named 'ghost'"),
     (("set", "ghost"), None, "nothing to change"),
     (("set", "ghost", "--disable", "--enable"), None, "not allowed with argument"),
     (("passwd", "ghost", "--password-stdin"), "a password 1\n", "no account named"),
     ((), None, "ACTION")],
)  # fmt: skip
def test_usage_errors_exit_2_with_a_message(store_url: str, args: tuple[str, ...],
                                            stdin: str | None, message: str) -> None:  # fmt: skip
    result = run(store_url, *args, stdin=stdin)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
