"""What the SQL backends share: the statements that differ only in their placeholder."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from layers.registry.schema import Facility
from layers.store.base import FacilityStore
from layers.store.migrations import apply_migrations
from layers.store.records import (
    AuditEntry,
    Dialect,
    ImportLog,
    LayerSeeding,
    RecordPage,
    RecordQuery,
    RecordSQL,
    StoredRecord,
)

T = TypeVar("T")


class SQLFacilityStore(FacilityStore):
    """A :class:`FacilityStore` on a SQL database with the shared schema.

    Subclasses provide the connection handling (``_transaction``), the parameter
    placeholder of their driver (``?`` for sqlite3, ``%s`` for psycopg) and the statement
    that bumps a layer's version; the small statements below are written once.
    """

    #: The driver's parameter placeholder.
    placeholder: str = "?"
    #: ``INSERT … ON CONFLICT`` that adds one to a layer's version (one parameter: layer).
    bump_version_sql: str = ""
    #: Dialect details for the registry-record statements.
    dialect: Dialect

    @abstractmethod
    def _transaction(self, *, write: bool, snapshot: bool = False) -> AbstractContextManager[Any]:
        """A connection inside a transaction, committed on success, rolled back on error."""

    def _read(self, work: Callable[[Any], T], *, snapshot: bool = False) -> T:
        """Run ``work(connection)`` in a read transaction."""
        with self._transaction(write=False, snapshot=snapshot) as conn:
            return work(conn)

    # -- migrations and registry records --------------------------------------------------

    def _migrate(self, conn: Any) -> list[str]:
        """Apply pending migrations inside the caller's schema transaction."""
        return apply_migrations(conn, self.dialect.name, self.placeholder)

    @contextmanager
    def registry_transaction(self) -> Iterator[RecordSQL]:
        """One write transaction over working copies, public copies, audit and imports."""
        with self._transaction(write=True) as conn:
            yield RecordSQL(conn, self.dialect, self.bump_version_sql)

    @contextmanager
    def sql_transaction(self, *, write: bool = True) -> Iterator[Any]:
        """A DB-API connection inside one transaction, for services with their own tables.

        Used by services that keep tables of their own in the store (accounts and
        sessions: :mod:`layers.accounts.service`; jobs: :mod:`layers.jobs`); the statements they run use
        :attr:`dialect`. A write takes the backend's write lock at once; a read sees one
        consistent snapshot. Committed on success, rolled back on any exception, database
        errors translated like every other store call.
        """
        with self._transaction(write=write, snapshot=not write) as conn:
            yield conn

    @contextmanager
    def sql_autocommit(self) -> Iterator[Any]:
        """A DB-API connection outside any transaction, for single statements that are atomic
        by themselves (an ``INSERT … ON CONFLICT … RETURNING`` counter): each commits on its
        own, with one round trip and no liveness ping. Never retried; errors are translated
        like every other store call."""
        with self._transaction(write=False) as conn:
            yield conn

    def _records(self, work: Callable[[RecordSQL], T]) -> T:
        return self._read(
            lambda conn: work(RecordSQL(conn, self.dialect, self.bump_version_sql)),
            snapshot=True,
        )

    def get_record(self, facility_id: str) -> StoredRecord | None:
        """The working copy with this id (soft-deleted ones included), or ``None``."""
        return self._records(lambda sql: sql.get(facility_id))

    def list_records(self, query: RecordQuery) -> RecordPage:
        """A page of working copies matching ``query``."""
        return self._records(lambda sql: sql.query(query))

    def layer_records(self, layer: str, districts: Sequence[str] | None = None) -> list[StoredRecord]:
        """Every live working copy of a layer (optionally only some districts)."""
        return self._records(lambda sql: sql.layer_records(layer, districts))

    def history(self, *, facility_id: str | None = None, import_id: str | None = None,
                limit: int = 500, before_seq: int | None = None) -> list[AuditEntry]:
        """Audit lines of a record or an import, newest first."""
        return self._records(lambda sql: sql.history(facility_id=facility_id,
                                                     import_id=import_id, limit=limit,
                                                     before_seq=before_seq))  # fmt: skip

    def get_import(self, import_id: str) -> ImportLog | None:
        """A logged import, or ``None``."""
        return self._records(lambda sql: sql.get_import(import_id))

    def seed_registry_layer(self, layer: str, facilities: Sequence[Facility],
                            actor: str = "seed") -> int:
        """Replace a registry layer's public and working copies with approved records."""
        with self.registry_transaction() as sql:
            return LayerSeeding.run(sql, layer, list(facilities), actor)

    def delete(self, facility_id: str) -> bool:
        """Delete a record; return whether it existed (the layer version changes if so)."""
        p = self.placeholder
        with self._transaction(write=True) as conn:
            row = conn.execute(
                f"DELETE FROM facilities WHERE id = {p} RETURNING layer", (facility_id,)
            ).fetchone()
            if row is None:
                return False
            conn.execute(self.bump_version_sql, (row[0],))
            return True

    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value."""
        p = self.placeholder
        with self._transaction(write=True) as conn:
            conn.execute(
                f"INSERT INTO store_meta (key, value) VALUES ({p}, {p}) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def counts(self) -> dict[str, int]:
        """Number of records per layer (layers with none are absent)."""

        def work(conn: Any) -> dict[str, int]:
            rows = conn.execute(
                "SELECT layer, count(*) FROM facilities GROUP BY layer ORDER BY layer"
            ).fetchall()
            return {str(layer): int(count) for layer, count in rows}

        return self._read(work)

    def layer_version(self, layer: str) -> int:
        """A counter bumped by every write to ``layer`` (0 if never written)."""
        p = self.placeholder

        def work(conn: Any) -> int:
            row = conn.execute(
                f"SELECT version FROM layer_versions WHERE layer = {p}", (layer,)
            ).fetchone()
            return 0 if row is None else int(row[0])

        return self._read(work)

    def get_meta(self, key: str) -> str | None:
        """A value from the metadata table, or ``None``."""
        p = self.placeholder

        def work(conn: Any) -> str | None:
            row = conn.execute(f"SELECT value FROM store_meta WHERE key = {p}", (key,)).fetchone()
            return None if row is None else str(row[0])

        return self._read(work)
