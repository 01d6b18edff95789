"""Working copies of registry records, the audit log and imports (both SQL backends).

The public view that workers read stays the ``facilities`` table (see
:mod:`layers.store.base`); every registry record also has a **working copy** in
``registry_records`` with its review state, an optimistic-concurrency ``version`` (the
HTTP ``ETag``), whether a public copy exists, and a soft-delete time. The workflow
service (:mod:`layers.registry.workflow`) changes working copies, public copies, the audit
log and the import log together in one :class:`RegistryTransaction`, so a record is never
published without its audit entry, and an import lands whole or not at all.

The SQL here is written once for both drivers; :class:`Dialect` supplies what differs
(placeholder, JSON and boolean columns, row locks).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from layers.errors import LayersError
from layers.registry.keys import match_key
from layers.registry.schema import Facility, ReviewState
from layers.store._codec import facility_from_json, facility_row

MAX_PAGE = 1000


@dataclass(frozen=True)
class Dialect:
    """What differs between the SQL drivers."""

    name: str
    placeholder: str
    json_param: str  # placeholder expression for a JSON parameter
    json_text: str  # format for selecting a JSON column as text, ``{}`` is the column
    for_update: str  # row-lock suffix of a SELECT inside a write transaction

    def json_out(self, column: str) -> str:
        """A JSON column selected as text."""
        return self.json_text.format(column)


SQLITE_DIALECT = Dialect("sqlite", "?", "?", "{}", "")
POSTGRES_DIALECT = Dialect("postgres", "%s", "%s::jsonb", "{}::text", " FOR UPDATE")


@dataclass(frozen=True)
class StoredRecord:
    """A working copy with its bookkeeping.

    Attributes
    ----------
    facility
        The record as staff edit it (may differ from what workers see until approved).
    version
        Bumped by every change of the working copy (the HTTP ``ETag``).
    published
        Whether a public copy exists (the record reaches workers).
    deleted_at
        Soft-delete time, ``None`` for live records.
    updated_at, updated_by
        Last change of the working copy and who made it.
    """

    facility: Facility
    version: int
    published: bool
    deleted_at: datetime | None
    updated_at: datetime
    updated_by: str | None

    @property
    def etag(self) -> str:
        """The strong HTTP entity tag of this version."""
        return f'"{self.version}"'


@dataclass(frozen=True)
class RecordQuery:
    """Filters for listing working copies; ``None`` means no filter."""

    layer: str | None = None
    districts: Sequence[str] | None = None
    reviews: Sequence[ReviewState] | None = None
    ids: Sequence[str] | None = None
    flagged: bool | None = None
    include_deleted: bool = False
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class RecordPage:
    """One page of working copies and the number of matches."""

    items: list[StoredRecord]
    total: int


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log: who changed what, when, from what to what.

    ``changes`` maps a field to ``[old, new]`` (JSON values); an import's lines name the
    source file and the row as Excel shows it.
    """

    action: str
    actor: str | None
    role: str | None
    facility_id: str | None
    layer: str | None
    district: str | None
    changes: dict[str, Any] = field(default_factory=dict)
    import_id: str | None = None
    source_file: str | None = None
    source_row: int | None = None
    comment: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "seq": self.seq, "at": self.at.isoformat(), "actor": self.actor, "role": self.role,
            "action": self.action, "facility_id": self.facility_id, "layer": self.layer,
            "district": self.district, "changes": self.changes, "import_id": self.import_id,
            "source_file": self.source_file, "source_row": self.source_row,
            "comment": self.comment,
        }  # fmt: skip


@dataclass(frozen=True)
class ImportLog:
    """A committed (or refused) import, kept with its report."""

    id: str
    layer: str
    district: str | None
    actor: str | None
    filename: str | None
    sha256: str | None
    committed: bool
    report: dict[str, Any]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


def record_columns(
    facility: Facility,
    *,
    version: int,
    published: bool,
    updated_by: str | None,
    deleted_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    """Column values of a working copy (the JSON record checked like a public one)."""
    row = facility_row(facility)  # raises InvalidFacilityError for unstorable records
    return {
        "id": facility.id,
        "layer": facility.layer,
        "district": facility.district,
        "review": str(facility.review),
        "status": str(facility.status),
        "registry_no": facility.registry_no,
        "match_key": match_key(facility.name, facility.address),
        "version": version,
        "published": bool(published),
        "demo": bool(facility.demo),
        "flagged": bool(facility.flags),
        "deleted_at": None if deleted_at is None else deleted_at.isoformat(),
        "updated_at": (updated_at or datetime.now(UTC)).isoformat(),
        "updated_by": updated_by,
        "lon": facility.lon,
        "lat": facility.lat,
        "record": row.record,
    }


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


_RECORD_FIELDS = "record, version, published, deleted_at, updated_at, updated_by"


def _stored(row: Sequence[Any]) -> StoredRecord:
    record, version, published, deleted_at, updated_at, updated_by = row
    return StoredRecord(
        facility=facility_from_json(record if isinstance(record, str) else json.dumps(record)),
        version=int(version), published=bool(published), deleted_at=_as_datetime(deleted_at),
        updated_at=_as_datetime(updated_at) or datetime.now(UTC), updated_by=updated_by,
    )  # fmt: skip


def check_record_query(query: RecordQuery) -> None:
    """Refuse paging arguments outside ``0 <= limit <= MAX_PAGE`` and ``offset >= 0``."""
    if not (0 <= query.limit <= MAX_PAGE) or query.offset < 0 or query.offset > 2**62:
        message = (
            f"limit must be 0..{MAX_PAGE} and offset 0..2^62, got limit={query.limit}, "
            f"offset={query.offset}"
        )
        raise LayersError(message)


class RecordSQL:
    """The registry-record statements over one DB-API connection (one transaction)."""

    def __init__(self, conn: Any, dialect: Dialect, bump_version_sql: str) -> None:
        self.conn = conn
        self.d = dialect
        self._bump = bump_version_sql

    # -- reads -----------------------------------------------------------------------------
    def _select(self, where: str, params: Sequence[Any], suffix: str = "") -> list[StoredRecord]:
        fields = _RECORD_FIELDS.replace("record", self.d.json_out("record"), 1)
        rows = self.conn.execute(
            f"SELECT {fields} FROM registry_records WHERE {where}{suffix}", params
        ).fetchall()
        return [_stored(row) for row in rows]

    def get(self, facility_id: str, *, lock: bool = False) -> StoredRecord | None:
        """The working copy with this id (deleted ones included), or ``None``."""
        p = self.d.placeholder
        found = self._select(f"id = {p}", (facility_id,), self.d.for_update if lock else "")
        return found[0] if found else None

    def layer_records(self, layer: str, districts: Sequence[str] | None = None) -> list[StoredRecord]:
        """Every live working copy of a layer (optionally of some districts), by id."""
        p = self.d.placeholder
        where, params = f"layer = {p} AND deleted_at IS NULL", [layer]
        if districts is not None:
            where += f" AND district IN ({', '.join([p] * len(districts))})"
            params += list(districts)
        order = ' ORDER BY id COLLATE "C"' if self.d.name == "postgres" else " ORDER BY id"
        return self._select(where, params, order) if districts != [] else []

    def query(self, query: RecordQuery) -> RecordPage:
        """A page of working copies matching ``query``, ordered by id."""
        check_record_query(query)
        p = self.d.placeholder
        where, params = ["1 = 1"], []
        if query.layer is not None:
            where.append(f"layer = {p}")
            params.append(query.layer)
        for column, values in (("district", query.districts), ("review", query.reviews),
                               ("id", query.ids)):  # fmt: skip
            if values is not None:
                if not values:
                    return RecordPage([], 0)
                where.append(f"{column} IN ({', '.join([p] * len(values))})")
                params += [str(v) for v in values]
        if not query.include_deleted:
            where.append("deleted_at IS NULL")
        if query.flagged is not None:
            where.append(f"flagged = {p}")
            params.append(bool(query.flagged))
        clause = " AND ".join(where)
        total = int(self.conn.execute(
            f"SELECT count(*) FROM registry_records WHERE {clause}", params
        ).fetchone()[0])  # fmt: skip
        order = ' ORDER BY id COLLATE "C"' if self.d.name == "postgres" else " ORDER BY id"
        items = self._select(clause, [*params, query.limit, query.offset],
                             f"{order} LIMIT {p} OFFSET {p}")
        return RecordPage(items, total)

    def key_taken(self, layer: str, key: str) -> bool:
        """Whether a live record of ``layer`` has this name + address key."""
        p = self.d.placeholder
        row = self.conn.execute(
            f"SELECT 1 FROM registry_records WHERE layer = {p} AND match_key = {p} "
            "AND deleted_at IS NULL LIMIT 1", (layer, key),
        ).fetchone()  # fmt: skip
        return row is not None

    # -- writes ----------------------------------------------------------------------------
    def put(
        self,
        facility: Facility,
        *,
        version: int,
        published: bool,
        updated_by: str | None,
        deleted_at: datetime | None = None,
    ) -> None:
        """Insert or replace a working copy."""
        cols = record_columns(facility, version=version, published=published,
                              updated_by=updated_by, deleted_at=deleted_at)  # fmt: skip
        p = self.d.placeholder
        marks = [self.d.json_param if name == "record" else p for name in cols]
        names = ", ".join(cols)
        updates = ", ".join(f"{name} = excluded.{name}" for name in cols if name != "id")
        self.conn.execute(
            f"INSERT INTO registry_records ({names}) VALUES ({', '.join(marks)}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}",
            tuple(cols.values()),
        )

    def publish(self, facility: Facility) -> None:
        """Write the public copy (what workers see) and bump the layer's version."""
        row = facility_row(facility)
        p = self.d.placeholder
        self.conn.execute(
            "INSERT INTO facilities (id, layer, district, status, lon, lat, record) "
            f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {self.d.json_param}) "
            "ON CONFLICT (id) DO UPDATE SET layer = excluded.layer, "
            "district = excluded.district, status = excluded.status, lon = excluded.lon, "
            "lat = excluded.lat, record = excluded.record",
            tuple(row),
        )
        self.conn.execute(self._bump, (facility.layer,))

    def unpublish(self, facility_id: str, layer: str) -> bool:
        """Remove the public copy; return whether there was one."""
        p = self.d.placeholder
        gone = self.conn.execute(
            f"DELETE FROM facilities WHERE id = {p} RETURNING id", (facility_id,)
        ).fetchone()
        if gone is not None:
            self.conn.execute(self._bump, (layer,))
        return gone is not None

    def audit(self, entry: AuditEntry) -> int:
        """Append an audit line; return its sequence number."""
        p = self.d.placeholder
        values = (
            entry.at.isoformat(), entry.actor, entry.role, entry.action, entry.facility_id,
            entry.layer, entry.district, json.dumps(entry.changes, ensure_ascii=False,
                                                    default=str),
            entry.import_id, entry.source_file, entry.source_row, entry.comment,
        )  # fmt: skip
        marks = [p] * len(values)
        marks[7] = self.d.json_param
        row = self.conn.execute(
            "INSERT INTO audit_log (at, actor, role, action, facility_id, layer, district, "
            "changes, import_id, source_file, source_row, comment) "
            f"VALUES ({', '.join(marks)}) RETURNING seq",
            values,
        ).fetchone()
        return int(row[0])

    def save_import(self, log: ImportLog) -> None:
        """Record an import and its report."""
        p = self.d.placeholder
        values = (log.id, log.at.isoformat(), log.actor, log.layer, log.district, log.filename,
                  log.sha256, bool(log.committed),
                  json.dumps(log.report, ensure_ascii=False, default=str))  # fmt: skip
        marks = [p] * len(values)
        marks[-1] = self.d.json_param
        self.conn.execute(
            "INSERT INTO imports (id, at, actor, layer, district, filename, sha256, committed, "
            f"report) VALUES ({', '.join(marks)})",
            values,
        )

    # -- dry-run uploads (committed later) -------------------------------------------------
    def save_upload(self, upload_id: str, actor: str, layer: str, filename: str,
                    options: dict[str, Any], data: bytes) -> None:  # fmt: skip
        """Keep a dry run's file so that the same bytes can be committed later."""
        p = self.d.placeholder
        self.conn.execute(
            "INSERT INTO import_uploads (id, actor, layer, filename, options, data, created_at) "
            f"VALUES ({p}, {p}, {p}, {p}, {self.d.json_param}, {p}, {p})",
            (upload_id, actor, layer, filename, json.dumps(options, ensure_ascii=False), data,
             datetime.now(UTC).isoformat()),
        )  # fmt: skip

    def get_upload(self, upload_id: str) -> dict[str, Any] | None:
        """A kept upload: actor, layer, filename, options, data, created_at."""
        p = self.d.placeholder
        row = self.conn.execute(
            f"SELECT actor, layer, filename, {self.d.json_out('options')}, data, created_at "
            f"FROM import_uploads WHERE id = {p}", (upload_id,),
        ).fetchone()  # fmt: skip
        if row is None:
            return None
        return {"actor": row[0], "layer": row[1], "filename": row[2],
                "options": _as_json(row[3]) or {}, "data": bytes(row[4]),
                "created_at": _as_datetime(row[5])}  # fmt: skip

    def drop_uploads(self, *, upload_id: str | None = None, before: datetime | None = None) -> int:
        """Forget one kept upload, or every one older than ``before``."""
        p = self.d.placeholder
        if upload_id is not None:
            cursor = self.conn.execute(f"DELETE FROM import_uploads WHERE id = {p}", (upload_id,))
        else:
            cutoff = (before or datetime.now(UTC)).isoformat()
            cursor = self.conn.execute(f"DELETE FROM import_uploads WHERE created_at < {p}",
                                       (cutoff,))  # fmt: skip
        return int(cursor.rowcount or 0)

    # -- audit reads -----------------------------------------------------------------------
    def history(
        self, *, facility_id: str | None = None, import_id: str | None = None,
        limit: int = 500, before_seq: int | None = None,
    ) -> list[AuditEntry]:  # fmt: skip
        """Audit lines of a record or an import, newest first."""
        p = self.d.placeholder
        where, params = ["1 = 1"], []
        if facility_id is not None:
            where.append(f"facility_id = {p}")
            params.append(facility_id)
        if import_id is not None:
            where.append(f"import_id = {p}")
            params.append(import_id)
        if before_seq is not None:
            where.append(f"seq < {p}")
            params.append(before_seq)
        rows = self.conn.execute(
            f"SELECT seq, at, actor, role, action, facility_id, layer, district, "
            f"{self.d.json_out('changes')}, import_id, source_file, source_row, comment "
            f"FROM audit_log WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT {p}",
            [*params, limit],
        ).fetchall()
        return [
            AuditEntry(seq=int(r[0]), at=_as_datetime(r[1]) or datetime.now(UTC), actor=r[2],
                       role=r[3], action=r[4], facility_id=r[5], layer=r[6], district=r[7],
                       changes=_as_json(r[8]) or {}, import_id=r[9], source_file=r[10],
                       source_row=r[11], comment=r[12])
            for r in rows
        ]  # fmt: skip

    def get_import(self, import_id: str) -> ImportLog | None:
        """An import's log entry, or ``None``."""
        p = self.d.placeholder
        row = self.conn.execute(
            f"SELECT id, at, actor, layer, district, filename, sha256, committed, "
            f"{self.d.json_out('report')} FROM imports WHERE id = {p}",
            (import_id,),
        ).fetchone()
        if row is None:
            return None
        return ImportLog(id=row[0], at=_as_datetime(row[1]) or datetime.now(UTC), actor=row[2],
                         layer=row[3], district=row[4], filename=row[5], sha256=row[6],
                         committed=bool(row[7]), report=_as_json(row[8]) or {})  # fmt: skip


def _seed_rows(facilities: Sequence[Facility], updated_by: str) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    return [
        tuple(record_columns(f, version=1, published=True, updated_by=updated_by,
                             updated_at=now).values())
        for f in facilities
    ]  # fmt: skip


class LayerSeeding:
    """Replace a registry layer's public and working copies at once (shipped seed data)."""

    @staticmethod
    def run(sql: RecordSQL, layer: str, facilities: Sequence[Facility], actor: str) -> int:
        """Write ``facilities`` as approved, published records of ``layer``; return the count."""
        p = sql.d.placeholder
        sql.conn.execute(f"DELETE FROM facilities WHERE layer = {p}", (layer,))
        sql.conn.execute(f"DELETE FROM registry_records WHERE layer = {p}", (layer,))
        public = [tuple(facility_row(f)) for f in facilities]
        marks = ", ".join([p] * 6 + [sql.d.json_param])
        cursor = sql.conn.cursor()
        cursor.executemany(
            f"INSERT INTO facilities (id, layer, district, status, lon, lat, record) "
            f"VALUES ({marks})",
            public,
        )
        rows = _seed_rows(facilities, actor)
        if rows:
            names = list(record_columns(facilities[0], version=1, published=True,
                                        updated_by=actor))  # fmt: skip
            record_marks = ", ".join(sql.d.json_param if n == "record" else p for n in names)
            cursor.executemany(
                f"INSERT INTO registry_records ({', '.join(names)}) VALUES ({record_marks})",
                rows,
            )
        sql.conn.execute(sql._bump, (layer,))
        sql.audit(AuditEntry(action="seed", actor=actor, role=None, facility_id=None,
                             layer=layer, district=None, changes={"records": len(facilities)},
                             comment="shipped data"))  # fmt: skip
        return len(facilities)
