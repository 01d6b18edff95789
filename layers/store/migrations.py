"""Schema migrations shared by the SQL backends.

The base layout (``facilities``, ``layer_versions``, ``store_meta``: schema version 1) is
created by each backend's ``init_schema``. Everything added after it is a named migration
here, applied once per database in name order and recorded in ``schema_migrations``; each
migration runs in the same transaction as its record, so a crash leaves it either applied
and recorded or not applied at all. Backends serialise concurrent start-ups (SQLite's write
lock, a PostgreSQL advisory lock), so two processes never apply the same migration twice.

A migration names its statements per dialect (``sqlite``, ``postgres``) and may add a
Python step that moves data with the connection of the same transaction. Migrations are
never edited once released; a change is a new migration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

SQLITE, POSTGRES = "sqlite", "postgres"

#: ``step(connection, dialect)`` run after the statements, in the same transaction.
DataStep = Callable[[Any, str], None]


@dataclass(frozen=True)
class Migration:
    """One change of the layout.

    Attributes
    ----------
    name
        Sortable unique name, ``NNNN_what`` (applied in name order).
    sqlite, postgres
        Statements for each dialect, in order.
    data
        Optional Python step moving or deriving data (same transaction).
    """

    name: str
    sqlite: Sequence[str]
    postgres: Sequence[str]
    data: DataStep | None = field(default=None, compare=False)

    def statements(self, dialect: str) -> Sequence[str]:
        """The statements of ``dialect``."""
        return self.sqlite if dialect == SQLITE else self.postgres


_MIGRATIONS_TABLE = {
    SQLITE: (
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now'))"
        ") WITHOUT ROWID"
    ),
    POSTGRES: (
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    ),
}


def _registered() -> tuple[Migration, ...]:
    # imported here: the migration modules import the record codecs, which import the schema
    from layers.store.migration_steps import MIGRATIONS

    names = [m.name for m in MIGRATIONS]
    if names != sorted(names) or len(set(names)) != len(names):
        msg = f"migration names must be unique and sorted: {names}"
        raise RuntimeError(msg)
    return MIGRATIONS


def apply_migrations(conn: Any, dialect: str, placeholder: str) -> list[str]:
    """Apply every registered migration not yet recorded, inside the caller's transaction.

    Parameters
    ----------
    conn
        A DB-API connection (sqlite3 or psycopg) inside a write transaction that holds the
        backend's start-up lock.
    dialect
        ``"sqlite"`` or ``"postgres"``.
    placeholder
        The driver's parameter placeholder.

    Returns
    -------
    list of str
        Names of the migrations applied now (empty when the database was up to date).
    """
    conn.execute(_MIGRATIONS_TABLE[dialect])
    done = {str(row[0]) for row in conn.execute("SELECT name FROM schema_migrations").fetchall()}
    applied = []
    for migration in _registered():
        if migration.name in done:
            continue
        for statement in migration.statements(dialect):
            conn.execute(statement)
        if migration.data is not None:
            migration.data(conn, dialect)
        conn.execute(
            f"INSERT INTO schema_migrations (name) VALUES ({placeholder})", (migration.name,)
        )
        applied.append(migration.name)
        logger.info("applied store migration %s", migration.name)
    return applied


def applied_migrations(conn: Any) -> list[str]:
    """Names recorded in ``schema_migrations`` (in name order)."""
    rows = conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()
    return [str(row[0]) for row in rows]
