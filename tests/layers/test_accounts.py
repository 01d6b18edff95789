"""Accounts over both stores: validation, argon2 hashes, updates, sessions, concurrency.

The ``open_same`` fixture (tests/layers/test_store.py) opens a fresh SQLite file or a
fresh PostGIS schema; every test here runs on both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from layers.accounts.errors import (
    AccountExistsError,
    AccountNotFoundError,
    InvalidAccountError,
    InvalidCredentialsError,
    LastAdminError,
)
from layers.accounts.passwords import Argon2Parameters, PasswordHashing
from layers.accounts.roles import Actor, Role
from layers.accounts.service import AccountService
from layers.errors import StaleVersionError
from layers.store.base import FacilityStore
from tests.layers.test_store import open_same, postgis_database  # noqa: F401  (fixtures)

FAST = Argon2Parameters(time_cost=1, memory_kib=8192, parallelism=1)
PASSWORD = "correct horse battery"
StoreFactory = Callable[[], FacilityStore]


class FakeClock:
    """Unix seconds that only move when told."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def accounts(open_same: StoreFactory) -> AccountService:  # noqa: F811
    return AccountService(open_same(), PasswordHashing(FAST))


def _raw_hash(service: AccountService, username: str) -> str:
    p = service.store.dialect.placeholder  # type: ignore[attr-defined]
    with service.store.sql_transaction(write=False) as conn:  # type: ignore[attr-defined]
        row = conn.execute(f"SELECT password_hash FROM users WHERE username = {p}", (username,))
        return str(row.fetchone()[0])


# -- creating and reading -------------------------------------------------------------------


def test_add_folds_the_name_and_round_trips_every_field(accounts: AccountService) -> None:
    made = accounts.add("Putuo.Editor", "editor", district="普陀区", display_name=" 王老师 ",
                        password=PASSWORD)  # fmt: skip
    assert made.username == "putuo.editor"
    got = accounts.get("PUTUO.editor")
    assert got == made
    assert (got.role, got.district, got.display_name) == (Role.EDITOR, "普陀区", "王老师")
    assert got.active
    assert got.has_password
    assert got.token_generation == 1
    assert got.version == 1
    assert got.created_at == got.updated_at == got.password_changed_at
    assert got.created_at.tzinfo is not None
    public = got.to_public()
    assert "password_hash" not in public
    assert "$argon2" not in str(public)
    assert [a.username for a in accounts.list()] == ["putuo.editor"]


def test_names_are_listed_in_byte_order(accounts: AccountService) -> None:
    for name in ("zeta", "alpha", "a-b", "a.b", "a_b", "0day"):
        accounts.add(name, "planner")
    assert [a.username for a in accounts.list()] == sorted(["zeta", "alpha", "a-b", "a.b",
                                                           "a_b", "0day"])  # fmt: skip


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "аdmin",  # Cyrillic а
        "ad\u200bmin",  # zero-width space
        "admin\u202e",  # right-to-left override
        "ad min",
        "-admin",
        "a" * 65,
        "x" * 10_000,
        "王老师",
        "admin@union",
    ],
)
def test_user_names_outside_the_alphabet_are_refused(accounts: AccountService, name: str) -> None:
    with pytest.raises(InvalidAccountError, match=r"user name|at most"):
        accounts.add(name, "planner", password=PASSWORD)
    assert accounts.list() == []


def test_fullwidth_name_folds_onto_an_existing_account(accounts: AccountService) -> None:
    accounts.add("admin", "admin")
    with pytest.raises(AccountExistsError, match="'admin' exists"):
        accounts.add("ＡＤＭＩＮ", "planner")
    with pytest.raises(AccountExistsError, match="'admin' exists"):
        accounts.add(" Admin\n", "planner")  # surrounding white space is not part of a name


@pytest.mark.parametrize(
    ("role", "district", "match"),
    [
        ("editor", None, "needs a district"),
        ("editor", "上海区", "unknown district"),
        ("reviewer", "Pudong", "unknown district"),
        ("superuser", None, "unknown role 'superuser'; valid roles: editor"),
    ],
)
def test_role_and_district_rules(accounts: AccountService, role: str, district: str | None,
                                 match: str) -> None:  # fmt: skip
    with pytest.raises(InvalidAccountError, match=match):
        accounts.add("someone", role, district=district)


@pytest.mark.parametrize(
    ("password", "match"),
    [("short", "10 to 256"), ("x" * 257, "10 to 256"), ("someone.here", "not be the user name")],
)
def test_password_rules(accounts: AccountService, password: str, match: str) -> None:
    with pytest.raises(InvalidAccountError, match=match):
        accounts.add("someone.here", "planner", password=password)


def test_display_name_with_control_characters_is_refused(accounts: AccountService) -> None:
    with pytest.raises(InvalidAccountError, match="control or invisible"):
        accounts.add("someone", "planner", display_name="王\u200e老师")


# -- passwords ------------------------------------------------------------------------------


def test_hashes_are_salted_argon2id_and_verify(accounts: AccountService) -> None:
    accounts.add("one", "planner", password=PASSWORD)
    accounts.add("two", "planner", password=PASSWORD)
    first, second = _raw_hash(accounts, "one"), _raw_hash(accounts, "two")
    assert first.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert first != second  # a fresh salt per hash
    assert accounts.authenticate("ONE", PASSWORD).username == "one"


def test_every_failed_login_looks_the_same(accounts: AccountService) -> None:
    accounts.add("alice", "planner", password=PASSWORD)
    accounts.add("bob", "planner", password=PASSWORD)
    accounts.add("nopass", "planner")
    accounts.disable("bob")
    messages = set()
    for name, password in (("alice", "wrong password!"), ("nobody", PASSWORD), ("bob", PASSWORD),
                           ("nopass", PASSWORD), ("x" * 10_000, PASSWORD), ("", "")):  # fmt: skip
        with pytest.raises(InvalidCredentialsError) as caught:
            accounts.authenticate(name, password)
        messages.add(caught.value.message)
    assert messages == {"unknown user name or wrong password"}


def test_unknown_users_cost_one_verification_like_known_ones(accounts: AccountService,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    accounts.add("alice", "planner", password=PASSWORD)
    real = accounts.hashing._hasher
    calls: list[str] = []

    class Counting:
        def verify(self, encoded: str, password: str) -> bool:
            calls.append(encoded)
            return real.verify(encoded, password)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(accounts.hashing, "_hasher", Counting())
    for name in ("alice", "nobody", "x" * 300):
        with pytest.raises(InvalidCredentialsError):
            accounts.authenticate(name, "wrong password!")
    assert len(calls) == 3
    assert all(c.startswith("$argon2id$v=19$m=8192,t=1,p=1$") for c in calls)


def test_a_login_rehashes_with_new_parameters(open_same: StoreFactory) -> None:  # noqa: F811
    old = AccountService(open_same(), PasswordHashing(FAST))
    old.add("alice", "planner", password=PASSWORD)
    stronger = Argon2Parameters(time_cost=2, memory_kib=9216, parallelism=1)
    new = AccountService(open_same(), PasswordHashing(stronger))
    account = new.authenticate("alice", PASSWORD)
    assert _raw_hash(new, "alice").startswith("$argon2id$v=19$m=9216,t=2,p=1$")
    again = new.get("alice")
    assert again.token_generation == account.token_generation == 1  # tokens stay valid
    assert new.authenticate("alice", PASSWORD).username == "alice"
    with pytest.raises(InvalidCredentialsError):
        new.authenticate("alice", "wrong password!")


# -- changes --------------------------------------------------------------------------------


def test_update_changes_only_what_is_named(accounts: AccountService) -> None:
    accounts.add("alice", "editor", district="普陀区", display_name="A")
    changed = accounts.update("alice", role="reviewer")
    assert (changed.role, changed.district, changed.display_name) == (Role.REVIEWER, "普陀区", "A")
    assert changed.version == 2
    assert changed.token_generation == 1
    cleared = accounts.update("alice", district=None, display_name=None)
    assert (cleared.district, cleared.display_name, cleared.version) == (None, None, 3)
    assert accounts.update("alice", role="reviewer").version == 3  # no change, no new version
    with pytest.raises(InvalidAccountError, match="needs a district"):
        accounts.update("alice", role="editor")
    assert accounts.get("alice").role is Role.REVIEWER


def test_update_with_a_stale_version_is_refused(accounts: AccountService) -> None:
    accounts.add("alice", "planner")
    accounts.update("alice", display_name="first", expected_version=1)
    with pytest.raises(StaleVersionError, match="version 1, it is now at version 2"):
        accounts.update("alice", display_name="second", expected_version=1)
    assert accounts.get("alice").display_name == "first"


def test_unknown_accounts(accounts: AccountService) -> None:
    with pytest.raises(AccountNotFoundError, match="no account named 'ghost'"):
        accounts.update("ghost", active=False)
    with pytest.raises(AccountNotFoundError):
        accounts.delete("ghost")
    assert accounts.find("ghost") is None
    assert accounts.find("аdmin") is None


def test_changes_are_audited_without_secrets(accounts: AccountService) -> None:
    boss = Actor("boss", Role.ADMIN)
    accounts.add("alice", "planner", password=PASSWORD, actor=boss)
    accounts.update("alice", role="reviewer", password="a new password", actor=boss)
    accounts.delete("alice", actor=boss)
    lines = accounts.store.history(limit=10)  # type: ignore[attr-defined]
    assert [line.action for line in lines] == ["account.delete", "account.update", "account.create"]
    assert {line.actor for line in lines} == {"boss"}
    assert lines[1].changes == {"username": "alice", "role": ["planner", "reviewer"],
                                "password": "changed"}  # fmt: skip
    assert "$argon2" not in str([line.to_dict() for line in lines])


def test_the_last_admin_stays(accounts: AccountService) -> None:
    accounts.add("root", "admin")
    for change in ({"role": "reviewer"}, {"active": False}):
        with pytest.raises(LastAdminError, match="only active administrator"):
            accounts.update("root", **change)
    with pytest.raises(LastAdminError):
        accounts.delete("root")
    accounts.add("second", "admin")
    accounts.update("root", role="reviewer")
    assert accounts.get("root").role is Role.REVIEWER


def test_two_admins_demoting_each_other_at_once_leave_one(accounts: AccountService) -> None:
    accounts.add("root", "admin")
    accounts.add("second", "admin")
    barrier = threading.Barrier(2)

    def demote(name: str) -> str:
        barrier.wait()
        try:
            accounts.update(name, role="planner")
        except LastAdminError:
            return "refused"
        return "done"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(demote, ["root", "second"]))
    assert outcomes == ["done", "refused"]
    assert [a.username for a in accounts.list() if a.role is Role.ADMIN and a.active] != []


def test_concurrent_changes_of_one_account_are_all_kept(accounts: AccountService) -> None:
    accounts.add("alice", "planner")
    rounds = 12
    districts = ["黄浦区", "徐汇区"]

    def rename(i: int) -> None:
        accounts.update("alice", display_name=f"name {i}")

    def move(i: int) -> None:
        accounts.update("alice", district=districts[i % 2])

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(f, i) for i in range(rounds) for f in (rename, move)]
        for future in futures:
            future.result()
    final = accounts.get("alice")
    history = accounts.store.history(limit=100)  # type: ignore[attr-defined]
    updates = [line for line in history if line.action == "account.update"]
    # every update that changed something has its version and its audit line
    assert final.version == 1 + len(updates)
    assert len([u for u in updates if "display_name" in u.changes]) == rounds
    assert final.display_name is not None
    assert final.display_name.startswith("name ")
    assert final.district in districts


def test_concurrent_creation_of_one_name_creates_it_once(accounts: AccountService) -> None:
    barrier = threading.Barrier(4)

    def create(i: int) -> str:
        barrier.wait()
        try:
            accounts.add("same", "planner", display_name=f"#{i}")
        except AccountExistsError:
            return "exists"
        return "created"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(create, range(4)))
    assert outcomes == ["created", "exists", "exists", "exists"]
    assert len(accounts.list()) == 1


# -- token generations and sessions ---------------------------------------------------------


def test_password_change_and_disabling_revoke(accounts: AccountService) -> None:
    alice = accounts.add("alice", "planner", password=PASSWORD)
    assert accounts.token_account("alice", 1) == alice
    session = accounts.start_session(alice)
    assert accounts.session_account(session.token) == alice

    changed = accounts.set_password("alice", "another password")
    assert changed.token_generation == 2
    assert changed.password_changed_at > alice.created_at
    assert accounts.token_account("alice", 1) is None
    assert accounts.session_account(session.token) is None
    with pytest.raises(InvalidCredentialsError):
        accounts.authenticate("alice", PASSWORD)

    second = accounts.start_session(accounts.authenticate("alice", "another password"))
    accounts.disable("alice")
    assert accounts.session_account(second.token) is None
    assert accounts.token_account("alice", 2) is None
    enabled = accounts.enable("alice")
    assert enabled.token_generation == 3  # tokens of before the disabling stay dead
    assert accounts.token_account("alice", 2) is None
    assert accounts.token_account("alice", 3) == enabled


def test_sessions_expire_and_end(open_same: StoreFactory) -> None:  # noqa: F811
    clock = FakeClock()
    accounts = AccountService(open_same(), PasswordHashing(FAST), session_ttl_s=600, clock=clock)
    alice = accounts.add("alice", "planner")
    first = accounts.start_session(alice)
    assert first.expires_at_s == int(clock.now) + 600
    clock.now += 599
    assert accounts.session_account(first.token) == alice
    clock.now += 1
    assert accounts.session_account(first.token) is None
    second = accounts.start_session(alice)  # forgets the expired one on the way
    assert accounts.end_session(second.token) is True
    assert accounts.end_session(second.token) is False
    assert accounts.session_account(second.token) is None
    assert accounts.session_account("") is None
    assert accounts.session_account("x" * 10_000) is None
    p = accounts.store.dialect.placeholder  # type: ignore[attr-defined]
    with accounts.store.sql_transaction(write=False) as conn:  # type: ignore[attr-defined]
        left = conn.execute(f"SELECT count(*) FROM user_sessions WHERE username = {p}",
                            ("alice",)).fetchone()[0]  # fmt: skip
    assert left == 0


def test_deleting_an_account_ends_its_sessions(accounts: AccountService) -> None:
    alice = accounts.add("alice", "planner")
    session = accounts.start_session(alice)
    accounts.delete("alice")
    assert accounts.session_account(session.token) is None
    assert accounts.token_account("alice", 1) is None
    assert accounts.add("alice", "planner").token_generation == 1


def test_session_tokens_are_stored_hashed(accounts: AccountService) -> None:
    session = accounts.start_session(accounts.add("alice", "planner"))
    with accounts.store.sql_transaction(write=False) as conn:  # type: ignore[attr-defined]
        stored = [str(r[0]) for r in conn.execute("SELECT token_hash FROM user_sessions")]
    assert len(stored) == 1
    assert session.token not in stored[0]
    assert len(stored[0]) == 64
