"""What the SQL backends share: the statements that differ only in their placeholder."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from layers.store.base import FacilityStore

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

    @abstractmethod
    def _transaction(self, *, write: bool, snapshot: bool = False) -> AbstractContextManager[Any]:
        """A connection inside a transaction, committed on success, rolled back on error."""

    def _read(self, work: Callable[[Any], T], *, snapshot: bool = False) -> T:
        """Run ``work(connection)`` in a read transaction."""
        with self._transaction(write=False, snapshot=snapshot) as conn:
            return work(conn)

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
