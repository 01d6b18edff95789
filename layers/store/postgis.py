"""The production registry store: PostgreSQL with PostGIS.

Layout (tables in the connection's ``search_path``, so a schema can be chosen with
``?options=-csearch_path%3Dmyschema,public`` in the URL)
---------------------------------------------------------------------------------------
``facilities``
    One row per facility: ``id`` (``COLLATE "C"``, so ordering matches SQLite byte
    order), ``layer``, ``district``, ``status``, ``lon``, ``lat``, a generated
    ``geom geometry(Point, 4326)`` with a GiST index, and the full record as ``jsonb``.
``layer_versions``
    A counter per layer, bumped in the same transaction as every write or delete.
``store_meta``
    Key/value metadata.

Bounding boxes use ``geom && ST_MakeEnvelope(...)`` (the GiST index) and then the exact
``lon``/``lat`` with edges included, the same rule as the SQLite backend.

Connections come from a small thread-safe pool (``max_connections``); a connection that
broke (server restart, network) is discarded and replaced, and a read is retried once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

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
from layers.store.cql import combined
from layers.store.records import POSTGRES_DIALECT

logger = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS facilities (
        id text COLLATE "C" PRIMARY KEY,
        layer text NOT NULL,
        district text,
        status text NOT NULL,
        lon double precision,
        lat double precision,
        geom geometry(Point, 4326) GENERATED ALWAYS AS (
            CASE WHEN lon IS NULL OR lat IS NULL THEN NULL
                 ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END
        ) STORED,
        record jsonb NOT NULL,
        CONSTRAINT facilities_lon_lat_pair CHECK ((lon IS NULL) = (lat IS NULL)),
        CONSTRAINT facilities_lon_range CHECK (lon BETWEEN -180 AND 180),
        CONSTRAINT facilities_lat_range CHECK (lat BETWEEN -90 AND 90)
    )
    """,
    "CREATE INDEX IF NOT EXISTS facilities_geom_gist ON facilities USING gist (geom)",
    "CREATE INDEX IF NOT EXISTS facilities_layer_id ON facilities (layer, id)",
    "CREATE INDEX IF NOT EXISTS facilities_layer_district ON facilities (layer, district)",
    """
    CREATE TABLE IF NOT EXISTS layer_versions (
        layer text PRIMARY KEY,
        version bigint NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS store_meta (
        key text PRIMARY KEY,
        value text NOT NULL
    )
    """,
)

_UPSERT = """
INSERT INTO facilities (id, layer, district, status, lon, lat, record)
VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)
ON CONFLICT (id) DO UPDATE SET
    layer = excluded.layer,
    district = excluded.district,
    status = excluded.status,
    lon = excluded.lon,
    lat = excluded.lat,
    record = excluded.record
"""

_BUMP_VERSION = """
INSERT INTO layer_versions (layer, version) VALUES (%s, 1)
ON CONFLICT (layer) DO UPDATE SET version = layer_versions.version + 1
"""

#: Advisory-lock key that serialises concurrent ``init_schema`` calls.
_INIT_LOCK_KEY = "servicemap.store.init_schema"


class _ConnectError(StoreError):
    """The server could not be reached (not retried: the next attempt would wait again)."""


class PostGISStore(SQLFacilityStore):
    """Facility store in PostgreSQL + PostGIS.

    Parameters
    ----------
    url
        A libpq URL, ``postgresql://user[:password]@host[:port]/dbname[?options=...]``.
    max_connections
        Size of the connection pool shared by the threads of this process.
    connect_timeout_s
        How long to wait for the server when opening a connection.

    Notes
    -----
    Call :meth:`init_schema` once before use (:func:`layers.store.open_store` does). It
    enables PostGIS when missing, which needs a role allowed to ``CREATE EXTENSION``.
    """

    backend = "postgis"
    placeholder = "%s"
    bump_version_sql = _BUMP_VERSION
    dialect = POSTGRES_DIALECT

    def __init__(
        self, url: str, *, max_connections: int = 4, connect_timeout_s: float = 5.0
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        self.url = url
        self.max_connections = max_connections
        self.connect_timeout_s = connect_timeout_s
        self._where = _describe(url)
        self._idle: list[psycopg.Connection] = []
        self._idle_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._closed = False
        # open one connection now so a wrong URL fails at start-up, not at the first request
        with self._connection():
            pass

    def __repr__(self) -> str:
        return f"PostGISStore({self._where!r})"

    # -- connections and transactions ----------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(
                self.url,
                autocommit=True,  # transactions are explicit: conn.transaction()
                connect_timeout=max(1, round(self.connect_timeout_s)),
                application_name="servicemap",
            )
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            message = (
                f"cannot connect to PostgreSQL at {self._where}: {reason}. Start the server "
                "(`make test` installs and starts a local one; see docs/storage.md) or set "
                "SERVICEMAP_DATABASE_URL to a reachable database, or use the embedded "
                "default sqlite:///..."
            )
            raise _ConnectError(message) from exc
        logger.debug("opened PostgreSQL connection to %s", self._where)
        return conn

    @contextmanager
    def _connection(self, *, ping: bool = False) -> Iterator[psycopg.Connection]:
        """Borrow a healthy connection from the pool; broken ones are discarded.

        With ``ping`` a pooled connection is checked with a round trip first and replaced
        if the server dropped it (used before writes, which are not retried).
        """
        if self._closed:
            raise StoreError(f"the registry store at {self._where} is closed")
        self._slots.acquire()
        conn: psycopg.Connection | None = None
        try:
            with self._idle_lock:
                conn = self._idle.pop() if self._idle else None
            if conn is not None and ping and not (conn.closed or conn.broken):
                try:
                    conn.execute("SELECT 1")
                except psycopg.OperationalError:
                    logger.info("replacing a dropped PostgreSQL connection to %s", self._where)
            if conn is None or conn.closed or conn.broken:
                if conn is not None:
                    conn.close()
                conn = self._connect()
            yield conn
        finally:
            reusable = (
                conn is not None
                and not self._closed
                and not conn.closed
                and not conn.broken
                and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            )
            if conn is not None and reusable:
                with self._idle_lock:
                    self._idle.append(conn)
            elif conn is not None:
                conn.close()
            self._slots.release()

    @contextmanager
    def _transaction(self, *, write: bool, snapshot: bool = False) -> Iterator[psycopg.Connection]:
        """A transaction that commits on success and rolls back on any exception.

        A ``snapshot`` read runs as one ``REPEATABLE READ READ ONLY`` transaction (a page
        and its total agree); other reads are single autocommit statements (one round
        trip). Database errors are translated: constraint and data errors to
        :class:`InvalidFacilityError`, everything else to :class:`StoreError`.
        """
        try:
            with self._connection(ping=write) as conn:
                if not (write or snapshot):
                    yield conn
                    return
                with conn.transaction():
                    if not write:
                        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    yield conn
        except (pg_errors.IntegrityError, pg_errors.DataError) as exc:
            message = f"the batch was rejected by the database, nothing was written: {exc}"
            raise InvalidFacilityError(message) from exc
        except pg_errors.UndefinedTable as exc:
            message = (
                f"the registry tables are missing in {self._where}: call init_schema() "
                "(open_store does) before use"
            )
            raise StoreError(message) from exc
        except psycopg.OperationalError as exc:
            message = f"lost the connection to PostgreSQL at {self._where}: {exc}"
            if write:
                message += "; the write may not have been applied, retry it"
            raise StoreError(message) from exc
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL error at {self._where}: {exc}") from exc

    def _read(self, work: Callable[[psycopg.Connection], T], *, snapshot: bool = False) -> T:
        """Run a read, retrying once on a fresh connection if the connection broke."""
        try:
            with self._transaction(write=False, snapshot=snapshot) as conn:
                return work(conn)
        except _ConnectError:
            raise
        except StoreError as exc:
            if not isinstance(exc.__cause__, psycopg.OperationalError) or self._closed:
                raise
            logger.warning("retrying a read on %s after: %s", self._where, exc.__cause__)
        with self._transaction(write=False, snapshot=snapshot) as conn:
            return work(conn)

    # -- schema --------------------------------------------------------------------------

    def init_schema(self) -> None:
        """Enable PostGIS if needed and create the tables and indexes (idempotent).

        Raises
        ------
        StoreError
            When PostGIS is not installed on the server or may not be enabled by this role;
            the message says what to run.
        """
        with self._transaction(write=True) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_INIT_LOCK_KEY,))
            self._ensure_postgis(conn)
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO store_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                (SCHEMA_VERSION_KEY, SCHEMA_VERSION),
            )
            self._migrate(conn)
        logger.info("PostGIS registry store ready at %s", self._where)

    def _ensure_postgis(self, conn: psycopg.Connection) -> None:
        row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
        if row is not None:
            return
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
        if available is None:
            message = (
                f"PostGIS is not installed on the PostgreSQL server at {self._where}: install "
                "it there (Debian: `apt-get install postgresql-<major>-postgis-3`, or run "
                "`make test` locally) and retry"
            )
            raise StoreError(message)
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except pg_errors.InsufficientPrivilege as exc:
            message = (
                f"the PostGIS extension is not enabled in {self._where} and this role may not "
                "enable it: run `CREATE EXTENSION postgis;` in that database as a superuser"
            )
            raise StoreError(message) from exc
        logger.info("enabled PostGIS in %s", self._where)

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
            return _write_rows(conn, facilities, layer=None)

    def replace_layer(self, layer: str, facilities: Iterable[Facility]) -> int:
        """Atomically replace every record of ``layer``; return how many were written.

        Raises
        ------
        InvalidFacilityError
            When a record belongs to another layer or cannot be stored; the layer is left
            as it was.
        """
        with self._transaction(write=True) as conn:
            conn.execute("DELETE FROM facilities WHERE layer = %s", (layer,))
            written = _write_rows(conn, facilities, layer=layer)
            conn.execute(_BUMP_VERSION, (layer,))
            return written

    # -- reads ---------------------------------------------------------------------------

    def get(self, facility_id: str) -> Facility | None:
        """The record with this id, or ``None``."""

        def work(conn: psycopg.Connection) -> str | None:
            row = conn.execute(
                "SELECT record::text FROM facilities WHERE id = %s", (facility_id,)
            ).fetchone()
            return None if row is None else str(row[0])

        record = self._read(work)
        return None if record is None else facility_from_json(record)

    def query(self, query: FacilityQuery) -> FacilityPage:
        """List records matching ``query`` ordered by id, with the total match count.

        A bounding box is answered through the GiST index (``geom && envelope``), then
        filtered on the exact coordinates with edges included.

        Raises
        ------
        LayersError
            (400) for a negative limit/offset or a malformed bounding box.
        """
        check_query(query)
        if query.statuses is not None and len(query.statuses) == 0:
            return FacilityPage(items=[], total=0)
        where, params = _query_sql(query)

        def work(conn: psycopg.Connection) -> tuple[int, list[str]]:
            total = conn.execute(f"SELECT count(*) FROM facilities WHERE {where}", params)
            count = int(total.fetchone()[0])  # type: ignore[index]
            rows = conn.execute(
                f"SELECT record::text FROM facilities WHERE {where} "
                'ORDER BY id COLLATE "C" LIMIT %s OFFSET %s',
                [*params, query.limit, query.offset],
            ).fetchall()
            return count, [str(row[0]) for row in rows]

        total, records = self._read(work, snapshot=True)
        return FacilityPage(items=[facility_from_json(record) for record in records], total=total)

    def all_in_layer(self, layer: str) -> list[Facility]:
        """Every record of a layer, ordered by id."""

        def work(conn: psycopg.Connection) -> list[str]:
            rows = conn.execute(
                'SELECT record::text FROM facilities WHERE layer = %s ORDER BY id COLLATE "C"',
                (layer,),
            ).fetchall()
            return [str(row[0]) for row in rows]

        return [facility_from_json(record) for record in self._read(work)]

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections (idempotent); borrowed ones close when returned."""
        self._closed = True
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _write_rows(conn: psycopg.Connection, facilities: Iterable[Facility], layer: str | None) -> int:
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

    with conn.cursor() as cursor:
        cursor.executemany(_UPSERT, rows())
        for touched_layer in sorted(touched - {layer}):
            cursor.execute(_BUMP_VERSION, (touched_layer,))
    return count


def _query_sql(query: FacilityQuery) -> tuple[str, list[object]]:
    """WHERE clause and parameters for a listing of ``facilities``."""
    where = ["TRUE"]
    params: list[object] = []
    if query.layer is not None:
        where.append("layer = %s")
        params.append(query.layer)
    if query.district is not None:
        where.append("district = %s")
        params.append(query.district)
    if query.statuses is not None:
        where.append("status = ANY(%s)")
        params.append([str(status) for status in query.statuses])
    if query.bbox is not None:
        box = query.bbox
        where += [
            "geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
            "lon BETWEEN %s AND %s",
            "lat BETWEEN %s AND %s",
        ]
        params += [box.west, box.south, box.east, box.north]
        params += [box.west, box.east, box.south, box.north]
    if query.filters:
        sql, bound = combined(query.filters, "postgres", "")
        where.append(sql)
        params += bound
    return " AND ".join(where), params


def _describe(url: str) -> str:
    """``user@host:port/dbname`` for messages and logs (never the password)."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise StoreError(f"malformed PostgreSQL URL: {exc}") from exc
    user = parts.get("user") or "(default user)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    dbname = parts.get("dbname") or "(default database)"
    return f"{user}@{host}:{port}/{dbname}"
