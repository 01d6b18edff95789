"""The account and session statements, written once for both SQL drivers.

Like :mod:`layers.store.records`, the SQL text is shared and the store's
:class:`~layers.store.records.Dialect` supplies the placeholder and the row-lock suffix;
every method runs inside the caller's transaction (``store.sql_transaction``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from layers.accounts.model import Account
from layers.accounts.roles import Role
from layers.store.records import Dialect

_ACCOUNT_COLUMNS = (
    "username, role, district, display_name, active, password_hash, token_generation, "
    "version, created_at, updated_at, password_changed_at"
)

#: Columns an update may set (the service decides the values).
UPDATABLE = frozenset({"role", "district", "display_name", "active", "password_hash",
                       "token_generation", "password_changed_at"})  # fmt: skip


def as_utc(value: Any) -> datetime | None:
    """A column value (``datetime`` from psycopg, ISO text from SQLite) as an aware UTC time."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _account(row: Sequence[Any]) -> tuple[Account, str | None]:
    (username, role, district, display_name, active, password_hash, generation, version,
     created_at, updated_at, password_changed_at) = row  # fmt: skip
    account = Account(
        username=str(username), role=Role(role), district=district, display_name=display_name,
        active=bool(active), has_password=password_hash is not None,
        token_generation=int(generation), version=int(version),
        created_at=as_utc(created_at) or datetime.now(UTC),
        updated_at=as_utc(updated_at) or datetime.now(UTC),
        password_changed_at=as_utc(password_changed_at),
    )  # fmt: skip
    return account, password_hash


class AccountSQL:
    """Account and session statements over one DB-API connection (one transaction)."""

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        self.conn = conn
        self.d = dialect

    # -- accounts ------------------------------------------------------------------------
    def get(self, username: str, *, lock: bool = False) -> tuple[Account, str | None] | None:
        """The account and its password hash, or ``None``; ``lock`` holds its row."""
        p = self.d.placeholder
        row = self.conn.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM users WHERE username = {p}"
            f"{self.d.for_update if lock else ''}",
            (username,),
        ).fetchone()
        return None if row is None else _account(row)

    def list_accounts(self) -> list[Account]:
        """Every account by user name."""
        order = 'username COLLATE "C"' if self.d.name == "postgres" else "username"
        rows = self.conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM users ORDER BY {order}")
        return [_account(row)[0] for row in rows.fetchall()]

    def insert(self, account: Account, password_hash: str | None) -> bool:
        """Add an account; return ``False`` (nothing written) when the name is taken."""
        p = self.d.placeholder
        changed = account.password_changed_at
        row = self.conn.execute(
            f"INSERT INTO users ({_ACCOUNT_COLUMNS}) VALUES ({', '.join([p] * 11)}) "
            "ON CONFLICT (username) DO NOTHING RETURNING username",
            (account.username, account.role.value, account.district, account.display_name,
             bool(account.active), password_hash, account.token_generation, account.version,
             account.created_at.isoformat(), account.updated_at.isoformat(),
             None if changed is None else changed.isoformat()),
        ).fetchone()  # fmt: skip
        return row is not None

    def replace_hash(self, username: str, old_hash: str, new_hash: str) -> bool:
        """Swap a password hash for a rehash of the same password (tokens stay valid);
        nothing happens when the hash changed meanwhile."""
        p = self.d.placeholder
        row = self.conn.execute(
            f"UPDATE users SET password_hash = {p} WHERE username = {p} AND password_hash = {p} "
            "RETURNING username",
            (new_hash, username, old_hash),
        ).fetchone()
        return row is not None

    def update(self, username: str, values: dict[str, Any], now: datetime) -> None:
        """Set ``values`` (columns of :data:`UPDATABLE`), bump the version, stamp the time."""
        unknown = set(values) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        p = self.d.placeholder
        names = sorted(values)
        assignments = [f"{name} = {p}" for name in names]
        params: list[Any] = [
            v.isoformat() if isinstance(v, datetime) else v for v in (values[n] for n in names)
        ]
        assignments += ["version = version + 1", f"updated_at = {p}"]
        params += [now.isoformat(), username]
        self.conn.execute(
            f"UPDATE users SET {', '.join(assignments)} WHERE username = {p}", params
        )

    def delete(self, username: str) -> bool:
        """Remove an account and its sessions; return whether it existed."""
        p = self.d.placeholder
        self.conn.execute(f"DELETE FROM user_sessions WHERE username = {p}", (username,))
        gone = self.conn.execute(
            f"DELETE FROM users WHERE username = {p} RETURNING username", (username,)
        ).fetchone()
        return gone is not None

    def active_admins(self) -> list[str]:
        """User names of the active administrators, their rows locked (PostgreSQL)."""
        p = self.d.placeholder
        rows = self.conn.execute(
            f"SELECT username FROM users WHERE role = {p} AND active = {p} ORDER BY username"
            f"{self.d.for_update}",
            (Role.ADMIN.value, True),
        ).fetchall()
        return [str(row[0]) for row in rows]

    # -- sessions --------------------------------------------------------------------------
    def add_session(self, token_hash: str, username: str, generation: int, now: datetime,
                    expires_at_s: int) -> None:  # fmt: skip
        """Record a web session (only the hash of its token is stored)."""
        p = self.d.placeholder
        self.conn.execute(
            "INSERT INTO user_sessions (token_hash, username, token_generation, created_at, "
            f"expires_at_s) VALUES ({p}, {p}, {p}, {p}, {p})",
            (token_hash, username, generation, now.isoformat(), expires_at_s),
        )

    def session(self, token_hash: str, now_s: int) -> tuple[str, int] | None:
        """``(username, token_generation)`` of a live session, or ``None``."""
        p = self.d.placeholder
        row = self.conn.execute(
            "SELECT username, token_generation FROM user_sessions "
            f"WHERE token_hash = {p} AND expires_at_s > {p}",
            (token_hash, now_s),
        ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    def delete_session(self, token_hash: str) -> bool:
        """End one session; return whether it existed."""
        p = self.d.placeholder
        gone = self.conn.execute(
            f"DELETE FROM user_sessions WHERE token_hash = {p} RETURNING token_hash",
            (token_hash,),
        ).fetchone()
        return gone is not None

    def delete_sessions_of(self, username: str) -> None:
        """End every session of an account."""
        p = self.d.placeholder
        self.conn.execute(f"DELETE FROM user_sessions WHERE username = {p}", (username,))

    def purge_sessions(self, now_s: int) -> None:
        """Forget expired sessions."""
        p = self.d.placeholder
        self.conn.execute(f"DELETE FROM user_sessions WHERE expires_at_s <= {p}", (now_s,))
