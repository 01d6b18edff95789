"""The embedded registry store: one SQLite file (or memory), no server.

Layout
------
``facilities``
    One row per facility: an integer ``rid`` (for the R*Tree), the text ``id``, the
    filter columns ``layer``, ``district``, ``status``, ``lon``, ``lat`` and the full
    record as JSON in ``record``.
``facilities_rtree``
    An R*Tree over the located facilities (degenerate boxes ``lon..lon``, ``lat..lat``),
    kept in step with ``facilities`` by triggers. Bounding-box queries go through it and
    then check the exact double-precision coordinates, so points on an edge are included.
``layer_versions``
    A counter per layer, bumped in the same transaction as every write or delete.
``store_meta``
    Key/value metadata (schema version, data version ...).

Concurrency: a file database runs in WAL mode with one connection per thread, so readers
never block each other or the writer; writes in this process are serialised by a lock and
across processes by SQLite's own lock (``timeout_s``). An in-memory database is a single
connection shared under a lock.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from layers.errors import InvalidFacilityError, StoreError
from layers.registry.schema import Facility
from layers.store._codec import (
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    FacilityRow,
    check_layer,
    check_query,
    facility_from_json,
    facility_row,
)
from layers.store._sql import SQLFacilityStore
from layers.store.base import FacilityPage, FacilityQuery
from layers.store.cql import combined, register_sqlite_functions
from layers.store.records import SQLITE_DIALECT

logger = logging.getLogger(__name__)

MEMORY = ":memory:"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS facilities (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    layer TEXT NOT NULL,
    district TEXT,
    status TEXT NOT NULL,
    lon REAL,
    lat REAL,
    record TEXT NOT NULL,
    CONSTRAINT facilities_lon_lat_pair CHECK ((lon IS NULL) = (lat IS NULL)),
    CONSTRAINT facilities_lon_range CHECK (lon BETWEEN -180 AND 180),
    CONSTRAINT facilities_lat_range CHECK (lat BETWEEN -90 AND 90)
);
CREATE INDEX IF NOT EXISTS facilities_layer_id ON facilities (layer, id);
CREATE INDEX IF NOT EXISTS facilities_layer_district ON facilities (layer, district);
CREATE VIRTUAL TABLE IF NOT EXISTS facilities_rtree
    USING rtree (rid, min_lon, max_lon, min_lat, max_lat);
CREATE TRIGGER IF NOT EXISTS facilities_rtree_insert AFTER INSERT ON facilities
WHEN new.lon IS NOT NULL
BEGIN
    INSERT INTO facilities_rtree VALUES (new.rid, new.lon, new.lon, new.lat, new.lat);
END;
CREATE TRIGGER IF NOT EXISTS facilities_rtree_update AFTER UPDATE OF lon, lat ON facilities
BEGIN
    DELETE FROM facilities_rtree WHERE rid = old.rid;
    INSERT INTO facilities_rtree
        SELECT new.rid, new.lon, new.lon, new.lat, new.lat WHERE new.lon IS NOT NULL;
END;
CREATE TRIGGER IF NOT EXISTS facilities_rtree_delete AFTER DELETE ON facilities
BEGIN
    DELETE FROM facilities_rtree WHERE rid = old.rid;
END;
CREATE TABLE IF NOT EXISTS layer_versions (
    layer TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS store_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""

_UPSERT = """
INSERT INTO facilities (id, layer, district, status, lon, lat, record)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    layer = excluded.layer,
    district = excluded.district,
    status = excluded.status,
    lon = excluded.lon,
    lat = excluded.lat,
    record = excluded.record
"""

_BUMP_VERSION = """
INSERT INTO layer_versions (layer, version) VALUES (?, 1)
ON CONFLICT (layer) DO UPDATE SET version = version + 1
"""


class SQLiteStore(SQLFacilityStore):
    """Facility store in an SQLite database file.

    Parameters
    ----------
    path
        Database file (parent directories are created) or ``":memory:"``.
    timeout_s
        How long a write waits for another process holding the database lock.

    Notes
    -----
    Call :meth:`init_schema` once before use (:func:`layers.store.open_store` does).
    """

    backend = "sqlite"
    placeholder = "?"
    bump_version_sql = _BUMP_VERSION
    dialect = SQLITE_DIALECT

    def __init__(self, path: str | Path, *, timeout_s: float = 30.0) -> None:
        self.path = str(path)
        self.timeout_s = timeout_s
        self._memory = self.path in (MEMORY, "")
        if not self._memory:
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                message = f"cannot create the data directory for {self.path}: {exc.strerror}"
                raise StoreError(message) from exc
        self._closed = False
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        # serialises writers of this process; for :memory: it guards the single connection
        self._lock = threading.RLock()
        self._shared: sqlite3.Connection | None = self._connect() if self._memory else None

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    # -- connections and transactions ----------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.timeout_s,
                isolation_level=None,  # explicit BEGIN/COMMIT below
                check_same_thread=False,  # each connection is used by one thread at a time
            )
            if not self._memory:
                conn.execute("PRAGMA journal_mode = WAL")
                # FULL: a committed transaction survives a power cut, not only a crash
                conn.execute("PRAGMA synchronous = FULL")
            register_sqlite_functions(conn)  # the spatial predicates of CQL2 filters
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite database {self.path}: {exc}") from exc
        with self._connections_lock:
            self._connections.append(conn)
        logger.debug(
            "opened SQLite connection to %s in %s", self.path, threading.current_thread().name
        )
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (the shared one, under the lock, for ``:memory:``)."""
        if self._closed:
            raise StoreError(f"the registry store {self.path} is closed")
        if self._shared is not None:
            with self._lock:
                yield self._shared
            return
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        yield conn

    @contextmanager
    def _transaction(self, *, write: bool, snapshot: bool = False) -> Iterator[sqlite3.Connection]:
        """A transaction that commits on success and rolls back on any exception.

        A write takes the write lock at once (``BEGIN IMMEDIATE``); a ``snapshot`` read
        sees one consistent state across its statements; other reads are single
        statements in autocommit mode. Database errors are translated: constraint
        violations to :class:`InvalidFacilityError`, everything else to
        :class:`StoreError`.
        """
        try:
            with self._write_guard(write), self._connection() as conn:
                if not (write or snapshot):
                    yield conn
                    return
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            message = f"the batch violates a database constraint, nothing was written: {exc}"
            raise InvalidFacilityError(message) from exc
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                message = (
                    f"the SQLite database {self.path} stayed locked by another process for "
                    f"more than {self.timeout_s:g} s; nothing was written"
                )
                raise StoreError(message) from exc
            raise StoreError(f"SQLite error on {self.path}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite error on {self.path}: {exc}") from exc

    @contextmanager
    def _write_guard(self, write: bool) -> Iterator[None]:
        if write:
            with self._lock:
                yield
        else:
            yield

    # -- schema --------------------------------------------------------------------------

    def init_schema(self) -> None:
        """Create the tables, R*Tree, triggers and indexes if they do not exist."""
        with self._transaction(write=True) as conn:
            for statement in _split_statements(_SCHEMA):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (SCHEMA_VERSION_KEY, SCHEMA_VERSION),
            )
            self._migrate(conn)
        logger.info("SQLite registry store ready at %s", self.path)

    # -- writes --------------------------------------------------------------------------

    def upsert_many(self, facilities: Iterable[Facility]) -> int:
        """Insert or replace records by id in one transaction; return how many were written.

        Raises
        ------
        InvalidFacilityError
            When a record cannot be stored; nothing of the batch is written.
        StoreError
            When the database fails; nothing of the batch is written.
        """
        with self._transaction(write=True) as conn:
            return self._write_rows(conn, facilities, layer=None)

    def replace_layer(self, layer: str, facilities: Iterable[Facility]) -> int:
        """Atomically replace every record of ``layer``; return how many were written.

        Raises
        ------
        InvalidFacilityError
            When a record belongs to another layer or cannot be stored; the layer is left
            as it was.
        """
        with self._transaction(write=True) as conn:
            conn.execute("DELETE FROM facilities WHERE layer = ?", (layer,))
            written = self._write_rows(conn, facilities, layer=layer)
            conn.execute(_BUMP_VERSION, (layer,))
            return written

    def _write_rows(
        self, conn: sqlite3.Connection, facilities: Iterable[Facility], layer: str | None
    ) -> int:
        """Upsert ``facilities`` inside the caller's transaction and bump touched layers."""
        touched: set[str] = set()
        count = 0

        def rows() -> Iterator[FacilityRow]:
            nonlocal count
            for facility in facilities:
                if layer is not None:
                    check_layer(facility, layer)
                row = facility_row(facility)
                touched.add(row.layer)
                count += 1
                yield row

        conn.executemany(_UPSERT, rows())
        for touched_layer in sorted(touched - {layer}):
            conn.execute(_BUMP_VERSION, (touched_layer,))
        return count

    # -- reads ---------------------------------------------------------------------------

    def get(self, facility_id: str) -> Facility | None:
        """The record with this id, or ``None``."""
        with self._transaction(write=False) as conn:
            row = conn.execute(
                "SELECT record FROM facilities WHERE id = ?", (facility_id,)
            ).fetchone()
        return None if row is None else facility_from_json(row[0])

    def query(self, query: FacilityQuery) -> FacilityPage:
        """List records matching ``query`` ordered by id, with the total match count.

        A bounding box is answered from the R*Tree (candidates whose 32-bit boxes touch
        it), then filtered on the exact coordinates with edges included.

        Raises
        ------
        LayersError
            (400) for a negative limit/offset or a malformed bounding box.
        """
        check_query(query)
        if query.statuses is not None and len(query.statuses) == 0:
            return FacilityPage(items=[], total=0)
        source, where, params = _query_sql(query)
        with self._transaction(write=False, snapshot=True) as conn:
            count_sql = f"SELECT count(*) FROM {source} WHERE {where}"
            total = int(conn.execute(count_sql, params).fetchone()[0])
            rows = conn.execute(
                f"SELECT f.record FROM {source} WHERE {where} ORDER BY f.id LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset],
            ).fetchall()
        return FacilityPage(items=[facility_from_json(row[0]) for row in rows], total=total)

    def all_in_layer(self, layer: str) -> list[Facility]:
        """Every record of a layer, ordered by id."""
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT record FROM facilities WHERE layer = ? ORDER BY id", (layer,)
            ).fetchall()
        return [facility_from_json(row[0]) for row in rows]

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection this store opened (idempotent)."""
        with self._lock:
            self._closed = True
            with self._connections_lock:
                connections, self._connections = self._connections, []
            for conn in connections:
                conn.close()
            self._shared = None


def _query_sql(query: FacilityQuery) -> tuple[str, str, list[object]]:
    """FROM clause, WHERE clause and parameters for a listing (table alias ``f``)."""
    where = ["1 = 1"]
    params: list[object] = []
    source = "facilities AS f"
    if query.layer is not None:
        where.append("f.layer = ?")
        params.append(query.layer)
    if query.district is not None:
        where.append("f.district = ?")
        params.append(query.district)
    if query.statuses is not None:
        where.append(f"f.status IN ({', '.join('?' * len(query.statuses))})")
        params.extend(str(status) for status in query.statuses)
    if query.bbox is not None:
        box = query.bbox
        # CROSS JOIN makes SQLite drive the query from the R*Tree
        source = "facilities_rtree AS r CROSS JOIN facilities AS f ON f.rid = r.rid"
        where += [
            "r.min_lon <= ?",
            "r.max_lon >= ?",
            "r.min_lat <= ?",
            "r.max_lat >= ?",
            "f.lon BETWEEN ? AND ?",
            "f.lat BETWEEN ? AND ?",
        ]
        params += [box.east, box.west, box.north, box.south]
        params += [box.west, box.east, box.south, box.north]
    if query.filters:
        sql, bound = combined(query.filters, "sqlite", "f.")
        where.append(sql)
        params += bound
    return source, " AND ".join(where), params


def _split_statements(script: str) -> list[str]:
    """Split the schema script into statements (trigger bodies kept whole)."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.strip().splitlines():
        current.append(line)
        candidate = "\n".join(current)
        if candidate.rstrip().endswith(";") and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            current = []
    if current and "".join(current).strip():
        statements.append("\n".join(current))
    return statements


__all__ = ["MEMORY", "SQLiteStore"]
