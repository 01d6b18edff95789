"""Local accounts and staff web sessions over the registry store.

:class:`AccountService` keeps the ``users`` and ``user_sessions`` tables (migration
``0003_accounts``) of the configured store, SQLite or PostGIS. Every change runs in one
write transaction that reads the account under a row lock, so two administrators changing
one account at once both land (no lost update); a caller that sends the version it read
(``If-Match``) gets :class:`~layers.errors.StaleVersionError` instead of overwriting a
newer change. Each change is written to the audit log in the same transaction (never a
password or its hash).

Tokens and sessions carry the account's *token generation*; a password change and
disabling an account bump it (and delete the account's sessions), so every token and
session issued before stops working at once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from layers.accounts._sql import AccountSQL
from layers.accounts.errors import (
    AccountExistsError,
    AccountNotFoundError,
    InvalidCredentialsError,
    LastAdminError,
)
from layers.accounts.model import (
    Account,
    canonical_username,
    check_display_name,
    check_district,
    check_password,
    check_role,
    login_username,
)
from layers.accounts.passwords import PasswordHashing
from layers.accounts.roles import SYSTEM, Actor, Role
from layers.errors import StaleVersionError, StoreError
from layers.store.base import FacilityStore
from layers.store.records import AuditEntry, RecordSQL

logger = logging.getLogger(__name__)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: Marks an :meth:`AccountService.update` argument that was not given.
UNSET: Final = _Unset()

DEFAULT_SESSION_TTL_S = 8 * 3600


@dataclass(frozen=True)
class WebSession:
    """A new staff web session.

    Attributes
    ----------
    token
        The secret the session cookie carries (only its SHA-256 is stored).
    expires_at_s
        Unix time at which the session ends.
    account
        Whose session it is.
    """

    token: str
    expires_at_s: int
    account: Account


def session_digest(token: str) -> str:
    """The stored form of a session token (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class AccountService:
    """Accounts, password checks and web sessions.

    Parameters
    ----------
    store
        A SQL store (SQLite or PostGIS) whose schema is initialised.
    hashing
        Password hashing (Argon2id with the configured parameters).
    session_ttl_s
        Lifetime of a web session.
    clock
        Unix time in seconds (tests pass a fake one).
    """

    def __init__(
        self,
        store: FacilityStore,
        hashing: PasswordHashing | None = None,
        *,
        session_ttl_s: int = DEFAULT_SESSION_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not hasattr(store, "sql_transaction"):
            message = f"accounts need a SQL store (SQLite or PostGIS), not {store!r}"
            raise StoreError(message)
        self.store = store
        self.hashing = hashing or PasswordHashing()
        self.session_ttl_s = int(session_ttl_s)
        self.clock = clock

    # -- plumbing --------------------------------------------------------------------------
    @contextmanager
    def _sql(self, *, write: bool) -> Iterator[AccountSQL]:
        with self.store.sql_transaction(write=write) as conn:  # type: ignore[attr-defined]
            yield AccountSQL(conn, self.store.dialect)  # type: ignore[attr-defined]

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _audit(self, sql: AccountSQL, actor: Actor, action: str, username: str,
               changes: dict[str, Any]) -> None:  # fmt: skip
        records = RecordSQL(sql.conn, sql.d, self.store.bump_version_sql)  # type: ignore[attr-defined]
        records.audit(AuditEntry(action=action, actor=actor.username, role=actor.role.value,
                                 facility_id=None, layer=None, district=None,
                                 changes={"username": username, **changes},
                                 at=self._now()))  # fmt: skip

    # -- reads -----------------------------------------------------------------------------
    def find(self, username: str) -> Account | None:
        """The account ``username`` names (folded like a login), or ``None``."""
        name = login_username(username)
        if name is None:
            return None
        with self._sql(write=False) as sql:
            found = sql.get(name)
        return None if found is None else found[0]

    def get(self, username: str) -> Account:
        """The account ``username`` names.

        Raises
        ------
        AccountNotFoundError
            When there is none (or the name cannot name an account).
        """
        account = self.find(username)
        if account is None:
            raise AccountNotFoundError(username[:80])
        return account

    def list(self) -> list[Account]:
        """Every account, by user name."""
        with self._sql(write=False) as sql:
            return sql.list_accounts()

    # -- changes ---------------------------------------------------------------------------
    def add(
        self,
        username: str,
        role: str | Role,
        *,
        district: str | None = None,
        display_name: str | None = None,
        password: str | None = None,
        actor: Actor = SYSTEM,
    ) -> Account:
        """Create an account (without a password it cannot log in locally until one is set).

        Raises
        ------
        InvalidAccountError
            For a bad user name, role, district, display name or password.
        AccountExistsError
            When the name is taken.
        """
        name = canonical_username(username)
        role = check_role(role)
        district = check_district(role, district)
        display_name = check_display_name(display_name)
        now = self._now()
        password_hash = None
        if password is not None:
            password_hash = self.hashing.hash(check_password(password, name))
        account = Account(
            username=name, role=role, district=district, display_name=display_name,
            active=True, has_password=password_hash is not None, token_generation=1,
            version=1, created_at=now, updated_at=now,
            password_changed_at=now if password_hash is not None else None,
        )  # fmt: skip
        with self._sql(write=True) as sql:
            if not sql.insert(account, password_hash):
                raise AccountExistsError(name)
            self._audit(sql, actor, "account.create", name,
                        {"role": role.value, "district": district,
                         "password": "set" if password_hash else None})  # fmt: skip
        logger.info("account %s created (%s) by %s", name, role.value, actor.username)
        return account

    def update(
        self,
        username: str,
        *,
        role: str | Role | _Unset = UNSET,
        district: str | _Unset | None = UNSET,
        display_name: str | _Unset | None = UNSET,
        active: bool | _Unset = UNSET,
        password: str | _Unset = UNSET,
        expected_version: int | None = None,
        actor: Actor = SYSTEM,
    ) -> Account:
        """Change some fields of an account; the others keep their current values.

        Changing the role keeps the district unless one is given; an editor always needs
        one. Disabling an account or setting its password invalidates its tokens and ends
        its sessions.

        Raises
        ------
        AccountNotFoundError, InvalidAccountError
            For an unknown account or a bad value.
        StaleVersionError
            When ``expected_version`` is given and the account changed since.
        LastAdminError
            When the change would leave no active administrator.
        """
        name = canonical_username(username)
        new_role = UNSET if isinstance(role, _Unset) else check_role(role)
        if not isinstance(display_name, _Unset):
            display_name = check_display_name(display_name)
        password_hash = None
        if not isinstance(password, _Unset):
            password_hash = self.hashing.hash(check_password(password, name))
        now = self._now()
        with self._sql(write=True) as sql:
            if not (isinstance(new_role, _Unset) and isinstance(active, _Unset)):
                # the administrators' rows first, in one order, before the account's own:
                # two admins demoting each other then queue instead of deadlocking
                sql.active_admins()
            found = sql.get(name, lock=True)
            if found is None:
                raise AccountNotFoundError(name)
            current, _ = found
            if expected_version is not None and expected_version != current.version:
                raise StaleVersionError(name, expected_version, current.version)
            merged_role = current.role if isinstance(new_role, _Unset) else new_role
            merged_district = check_district(
                merged_role, current.district if isinstance(district, _Unset) else district
            )
            merged_active = current.active if isinstance(active, _Unset) else bool(active)
            values: dict[str, Any] = {}
            changes: dict[str, Any] = {}
            for column, old, new in (
                ("role", current.role, merged_role),
                ("district", current.district, merged_district),
                ("display_name", current.display_name,
                 current.display_name if isinstance(display_name, _Unset) else display_name),
                ("active", current.active, merged_active),
            ):  # fmt: skip
                if old != new:
                    values[column] = new.value if isinstance(new, Role) else new
                    changes[column] = [old.value if isinstance(old, Role) else old, values[column]]
            revoke = (current.active and not merged_active) or password_hash is not None
            if password_hash is not None:
                values["password_hash"] = password_hash
                values["password_changed_at"] = now
                changes["password"] = "changed"
            if not values:
                return current
            losing_admin = current.active and current.role is Role.ADMIN and (
                merged_role is not Role.ADMIN or not merged_active
            )
            if losing_admin:
                self._keep_an_admin(sql, name)
            if revoke:
                values["token_generation"] = current.token_generation + 1
                sql.delete_sessions_of(name)
            sql.update(name, values, now)
            self._audit(sql, actor, "account.update", name, changes)
            updated = sql.get(name)
        assert updated is not None
        logger.info("account %s changed by %s: %s", name, actor.username, sorted(changes))
        return updated[0]

    def set_password(self, username: str, password: str, *, actor: Actor = SYSTEM) -> Account:
        """Set a new password (old tokens and sessions stop working)."""
        return self.update(username, password=password, actor=actor)

    def disable(self, username: str, *, actor: Actor = SYSTEM) -> Account:
        """Disable an account (it cannot log in; its tokens and sessions stop working)."""
        return self.update(username, active=False, actor=actor)

    def enable(self, username: str, *, actor: Actor = SYSTEM) -> Account:
        """Enable a disabled account (tokens issued before it was disabled stay invalid)."""
        return self.update(username, active=True, actor=actor)

    def delete(self, username: str, *, actor: Actor = SYSTEM) -> None:
        """Remove an account and its sessions (the audit log keeps its name).

        Raises
        ------
        AccountNotFoundError, LastAdminError
        """
        name = canonical_username(username)
        with self._sql(write=True) as sql:
            sql.active_admins()  # locked first, in one order (see update)
            found = sql.get(name, lock=True)
            if found is None:
                raise AccountNotFoundError(name)
            account = found[0]
            if account.active and account.role is Role.ADMIN:
                self._keep_an_admin(sql, name)
            sql.delete(name)
            self._audit(sql, actor, "account.delete", name, {"role": account.role.value})
        logger.info("account %s deleted by %s", name, actor.username)

    @staticmethod
    def _keep_an_admin(sql: AccountSQL, name: str) -> None:
        others = [admin for admin in sql.active_admins() if admin != name]
        if not others:
            message = (
                f"{name!r} is the only active administrator; make another account admin "
                "first"
            )
            raise LastAdminError(message)

    # -- authentication --------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> Account:
        """The active account whose password this is.

        The work done is the same for an unknown user, a user without a password, a
        disabled one and a wrong password (one Argon2 verification), and so is the error.
        A hash made with older Argon2 parameters is replaced by a new one.

        Raises
        ------
        InvalidCredentialsError
            In every failing case.
        """
        name = login_username(username)
        found = None
        if name is not None:
            with self._sql(write=False) as sql:
                found = sql.get(name)
        encoded = None if found is None else found[1]
        ok = self.hashing.verify(encoded, password if isinstance(password, str) else "")
        if not ok or found is None or not found[0].active or encoded is None:
            raise InvalidCredentialsError
        account = found[0]
        if self.hashing.needs_rehash(encoded):
            fresh = self.hashing.hash(password)
            with self._sql(write=True) as sql:
                if sql.replace_hash(account.username, encoded, fresh):
                    logger.info("rehashed the password of %s with new parameters", name)
        return account

    def token_account(self, username: str, generation: int) -> Account | None:
        """The active account a token names, if the token's generation is current."""
        with self._sql(write=False) as sql:
            found = sql.get(username)
        if found is None:
            return None
        account = found[0]
        ok = account.active and account.token_generation == generation
        return account if ok else None

    # -- web sessions ----------------------------------------------------------------------
    def start_session(self, account: Account) -> WebSession:
        """Open a web session for ``account`` (expired sessions are forgotten on the way)."""
        token = secrets.token_urlsafe(32)
        now = self._now()
        now_s = int(now.timestamp())
        expires_at_s = now_s + self.session_ttl_s
        with self._sql(write=True) as sql:
            sql.purge_sessions(now_s)
            sql.add_session(session_digest(token), account.username, account.token_generation,
                            now, expires_at_s)  # fmt: skip
        return WebSession(token=token, expires_at_s=expires_at_s, account=account)

    def session_account(self, token: str) -> Account | None:
        """The account of a live session (active, same token generation), or ``None``."""
        if not token or len(token) > 256:
            return None
        with self._sql(write=False) as sql:
            found = sql.session(session_digest(token), int(self.clock()))
            if found is None:
                return None
            username, generation = found
            account = sql.get(username)
        if account is None:
            return None
        ok = account[0].active and account[0].token_generation == generation
        return account[0] if ok else None

    def end_session(self, token: str) -> bool:
        """End a session; return whether it existed."""
        if not token or len(token) > 256:
            return False
        with self._sql(write=True) as sql:
            return sql.delete_session(session_digest(token))
