"""Registry imports: a spreadsheet in, checked, placed, matched and written in one transaction.

:class:`ImportService` joins the pieces: :mod:`layers.registry.importing` reads and checks
the file and matches its rows against the layer's records, :mod:`layers.registry.geocoding`
places the rows that have no coordinates (and checks those that do), the policy refuses rows
outside an editor's district, and the registry store writes every created or updated
record as a draft (or submitted, when asked) with one audit line per row naming the file
and its Excel row, plus the import log — all in one transaction.

Rules (see ``docs/importing.md``):

* a dry run writes nothing and reports what a commit would do;
* a file with any error commits nothing unless ``commit_valid`` is asked, and then the
  rows with errors are listed as skipped;
* re-importing the same file changes nothing (every row comes out ``unchanged``);
* a created row that matches an existing record closely (near-identical name within
  :data:`MERGE_DISTANCE_M`) is merged into it instead, with a warning — this is how a
  district's list joins the records seeded from OpenStreetMap;
* placements coarser than a building, or outside the district the row names, are
  flagged for review and never published without a reviewer.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from geo.crs import haversine_m
from layers.accounts.policy import require, why_not
from layers.accounts.roles import Actor
from layers.errors import InvalidFacilityError, LayersError
from layers.registry.catalog import LAYERS, LayerKind, get_layer
from layers.registry.exports import EXPORT_STATE_HEADERS
from layers.registry.geocoding import Geocoder, Placement
from layers.registry.importing import ImportParse, ParsedRow, facility_fields, parse_import
from layers.registry.keys import match_key, normalise_text
from layers.registry.schema import Contact, Facility, FacilityStatus, ReviewState
from layers.registry.workflow import RegistryWorkflow, diff_fields, new_facility_id
from layers.store.records import AuditEntry, ImportLog

logger = logging.getLogger(__name__)

#: A created row merges into an existing record this near with a near-identical name.
MERGE_DISTANCE_M = 200.0
#: ... whose name similarity (rapidfuzz, 0-100) is at least this.
MERGE_NAME_SCORE = 88.0

#: How long a dry run's file is kept for a later commit.
UPLOAD_RETENTION = timedelta(hours=24)

#: Fields of an import row that set typed record fields directly (besides facility_fields).
_BUILD_TYPES = {"new": FacilityStatus.NEW, "upgrade": FacilityStatus.UPGRADED}


class UploadNotFoundError(LayersError):
    """No kept dry run with this id for this user (expired after a day, or committed)."""

    status_code = 404
    code = "import_not_found"

    def __init__(self, import_id: str) -> None:
        super().__init__(f"no dry run {import_id[:40]!r} to commit: it was committed already, "
                         "expired after 24 hours, or belongs to someone else; upload the file "
                         "again")  # fmt: skip


class ImportConflictError(LayersError):
    """A row that would create a record someone created meanwhile (nothing is written)."""

    status_code = 409
    code = "import_conflict"

    def __init__(self, row: int, name: str) -> None:
        super().__init__(f"row {row} ({name[:40]}) was created by someone else while this file "
                         "was being imported; nothing was written — run the import again")  # fmt: skip


@dataclass(frozen=True)
class ImportOptions:
    """How to run one import.

    Attributes
    ----------
    layer
        Registry layer the file holds.
    crs
        CRS of coordinate columns (``wgs84``, ``gcj02``, ``bd09``), unless their headers
        name it.
    mapping
        Explicit column mapping ``{"header or column letter": "field"}``.
    sheet
        Sheet name or 0-based index (default: the first that looks like the form).
    dry_run
        Check and report only.
    commit_valid
        Commit the rows without errors even when other rows have errors.
    submit
        Put created and updated records straight into the review queue.
    """

    layer: str
    crs: str | None = None
    mapping: Mapping[str, Any] | str | bytes | None = None
    sheet: str | int | None = None
    dry_run: bool = True
    commit_valid: bool = False
    submit: bool = False


@dataclass
class RowOutcome:
    """What the import does with one row."""

    row: int
    action: str  # created / updated / unchanged / skipped / error
    record_id: str | None = None
    changes: dict[str, list[Any]] = field(default_factory=dict)
    placement: dict[str, Any] | None = None
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "action": self.action, "record_id": self.record_id,
                "changes": self.changes, "placement": self.placement, "flags": self.flags}  # fmt: skip


@dataclass
class ImportReport:
    """The report of an import (the CLI's ``--json`` and the HTTP answer)."""

    import_id: str
    layer: str
    filename: str
    sha256: str
    rows: int
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    outcomes: list[RowOutcome]
    committed: bool
    dry_run: bool
    parse: dict[str, Any]

    def count(self, action: str) -> int:
        return sum(outcome.action == action for outcome in self.outcomes)

    def summary(self) -> dict[str, Any]:
        """The command-line contract's fields."""
        return {
            "layer": self.layer, "rows": self.rows, "created": self.count("created"),
            "updated": self.count("updated"), "unchanged": self.count("unchanged"),
            "skipped": self.count("skipped"), "errors": self.errors, "warnings": self.warnings,
            "committed": self.committed,
        }  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Everything: the contract's fields, the id, the per-row outcomes and the parse."""
        return {
            **self.summary(), "import_id": self.import_id, "dry_run": self.dry_run,
            "filename": self.filename, "sha256": self.sha256,
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
            "file": self.parse.get("file"), "table": self.parse.get("table"),
        }  # fmt: skip


def _problem(problem: Any) -> dict[str, Any]:
    data = problem.to_dict()
    return {"row": data.get("row"), "column": data.get("column"),
            "column_letter": data.get("column_letter"), "value": data.get("value"),
            "message_zh": data.get("message_zh"), "message_en": data.get("message_en"),
            "code": data.get("code")}  # fmt: skip


def _row_error(row: int, column: str | None, value: str | None, zh: str, en: str,
               code: str) -> dict[str, Any]:  # fmt: skip
    return {"row": row, "column": column, "column_letter": None, "value": value,
            "message_zh": zh, "message_en": en, "code": code}  # fmt: skip


def _placement_json(placement: Placement) -> dict[str, Any]:
    return {
        "lon": placement.lon, "lat": placement.lat, "precision": str(placement.precision),
        "source": placement.source, "score": round(placement.score, 1),
        "matched_name": placement.matched_name, "district": placement.district,
        "needs_review": placement.needs_review, "reasons": list(placement.reasons),
        "candidates": [
            {"name": c.name, "kind": c.kind, "lon": c.lon, "lat": c.lat,
             "score": round(c.score, 1), "district": c.district}
            for c in placement.candidates[:5]
        ],
    }  # fmt: skip


class ImportService:
    """Run imports of one registry store.

    Parameters
    ----------
    workflow
        The review workflow of the store (its flag rules and clock are reused).
    geocoder
        Places rows without coordinates.
    """

    def __init__(self, workflow: RegistryWorkflow, geocoder: Geocoder) -> None:
        self.workflow = workflow
        self.store = workflow.store
        self.geocoder = geocoder

    def run(self, actor: Actor, data: bytes, filename: str, options: ImportOptions) -> ImportReport:
        """Check (and unless ``dry_run``, commit) one uploaded file.

        Raises
        ------
        ImportFileError
            (422, 413 for size) When the file cannot be read as the layer's registry: not a
            spreadsheet, empty, the wrong form, formulas, too large ...
        ForbiddenError
            (403) When the actor may not import at all.
        """
        info = get_layer(options.layer)
        if info.kind is not LayerKind.REGISTRY:
            raise InvalidFacilityError(f"layer {options.layer!r} is reference data and cannot be "
                                       "imported; registry layers: "
                                       + ", ".join(k for k, v in LAYERS.items()
                                                   if v.kind is LayerKind.REGISTRY))  # fmt: skip
        require(actor, "registry.import")
        existing = self.store.layer_records(options.layer)
        by_id = {record.facility.id: record for record in existing}
        parsed = parse_import(
            data, filename, options.layer, crs=options.crs, mapping=options.mapping,
            existing=[record.facility for record in existing], sheet=options.sheet,
        )  # fmt: skip
        sha = hashlib.sha256(data).hexdigest()
        import_id = f"imp-{secrets.token_hex(8)}"
        errors = [_problem(p) for p in parsed.errors()]
        warnings = [_problem(p) for p in parsed.row_problems() if p.severity == "warning"]
        warnings += [_problem(p) for p in parsed.file_problems if p.severity == "warning"]
        matches = {match.row: match for match in parsed.matches}
        near = _NearIndex([record.facility for record in existing])
        centres = _CentreNames(self.store.layer_records("community_health")
                               if options.layer == "health_point" else [])  # fmt: skip
        outcomes: list[RowOutcome] = []
        writes: list[tuple[RowOutcome, Facility, Any]] = []
        default_district = parsed.table.contact.district if parsed.table.contact else None
        for row in parsed.rows:
            if row.has_errors:
                outcomes.append(RowOutcome(row.row, "error"))
                continue
            outcome, facility, current = self._row(actor, row, matches.get(row.row), by_id,
                                                   near, options, default_district, errors,
                                                   warnings)  # fmt: skip
            if facility is not None and row.fields.get("partner_centre"):
                facility = centres.link(facility, row, warnings)
            outcomes.append(outcome)
            if facility is not None:
                writes.append((outcome, facility, current))
        failed = bool(errors)
        if failed:
            failing_rows = {e["row"] for e in errors}
            for outcome in outcomes:
                if outcome.row in failing_rows and outcome.action != "error":
                    outcome.action = "error"
            writes = [w for w in writes if w[0].row not in failing_rows]
            file_level = any(e["row"] is None for e in errors)
            if options.commit_valid and not file_level:
                for outcome in outcomes:
                    if outcome.action == "error":
                        outcome.action = "skipped"
        commit = not options.dry_run and (not failed or (options.commit_valid and not any(
            e["row"] is None for e in errors)))  # fmt: skip
        report = ImportReport(
            import_id=import_id, layer=options.layer, filename=filename, sha256=sha,
            rows=len(parsed.rows), errors=errors, warnings=warnings, outcomes=outcomes,
            committed=False, dry_run=options.dry_run, parse=_parse_summary(parsed),
        )  # fmt: skip
        if commit:
            self._commit(actor, report, writes, options, default_district)
            report.committed = True
        elif options.dry_run:
            self._keep(actor, report, data, options)
        return report

    def commit_dry_run(self, actor: Actor, import_id: str, *, commit_valid: bool = False,
                       submit: bool = False) -> ImportReport:  # fmt: skip
        """Commit the file of an earlier dry run (checked again against today's records).

        Raises
        ------
        FacilityNotFoundError
            (404) When there is no such dry run, it expired, or it is someone else's.
        """
        require(actor, "registry.import")
        with self.store.registry_transaction() as sql:  # claim it: one commit per dry run
            upload = sql.get_upload(import_id)
            if upload is None or (upload["actor"] != actor.username
                                  and why_not(actor, "registry.review") is not None):  # fmt: skip
                raise UploadNotFoundError(import_id)
            # the delete is the claim: of concurrent commits, only the one whose delete
            # removed the row goes on (another's read may have seen it before that delete)
            if sql.drop_uploads(upload_id=import_id) != 1:
                raise UploadNotFoundError(import_id)
        saved = upload["options"]
        options = ImportOptions(
            layer=upload["layer"], crs=saved.get("crs"), mapping=saved.get("mapping"),
            sheet=saved.get("sheet"), dry_run=False, commit_valid=commit_valid, submit=submit,
        )  # fmt: skip
        try:
            report = self.run(actor, upload["data"], upload["filename"], options)
        except BaseException:
            self._restore(upload, import_id)
            raise
        if not report.committed:  # refused (errors): keep it for another try
            self._restore(upload, import_id)
        return report

    def _restore(self, upload: dict[str, Any], import_id: str) -> None:
        with self.store.registry_transaction() as sql:
            sql.save_upload(import_id, upload["actor"], upload["layer"], upload["filename"],
                            upload["options"], upload["data"])  # fmt: skip

    def _keep(self, actor: Actor, report: ImportReport, data: bytes,
              options: ImportOptions) -> None:  # fmt: skip
        mapping = options.mapping
        if isinstance(mapping, bytes):
            mapping = mapping.decode("utf-8", "replace")
        saved = {"crs": options.crs, "mapping": mapping, "sheet": options.sheet}
        with self.store.registry_transaction() as sql:
            sql.drop_uploads(before=datetime.now(UTC) - UPLOAD_RETENTION)
            sql.save_upload(report.import_id, actor.username, options.layer, report.filename,
                            saved, data)  # fmt: skip

    # -- one row ---------------------------------------------------------------------------
    def _row(
        self, actor: Actor, row: ParsedRow, match: Any, by_id: dict[str, Any],
        near: _NearIndex, options: ImportOptions, default_district: str | None,
        errors: list[dict[str, Any]], warnings: list[dict[str, Any]],
    ) -> tuple[RowOutcome, Facility | None, Any]:  # fmt: skip
        fields = self._record_fields(row, options.layer, default_district)
        district = fields.get("district")
        refusal = why_not(actor, "registry.import", district)
        if refusal is not None:
            errors.append(_row_error(
                row.row, None, district,
                f"您只能导入{actor.district or '本区'}的记录，此行属于{district or '（未填区）'}",
                f"you may import records of {actor.district or 'your district'} only; this row "
                f"belongs to {district or '(no district given)'}", "forbidden_district"))  # fmt: skip
            return RowOutcome(row.row, "error"), None, None
        action = match.action if match is not None else "created"
        record_id = match.record_id if match is not None else None
        if action == "created":
            merged = self._merge_target(fields, match, by_id, near)
            if merged is not None:
                record_id, action = merged, "updated"
                warnings.append(_row_error(
                    row.row, None, fields.get("name"),
                    f"与已有记录 {by_id[merged].facility.name} 名称相近且位置相邻，已合并为更新",
                    f"merged into the existing record {by_id[merged].facility.name} (nearly the "
                    "same name, nearby)", "merged_into_existing"))  # fmt: skip
        if action == "unchanged":
            return RowOutcome(row.row, "unchanged", record_id), None, None
        current = by_id.get(record_id) if record_id else None
        placement = self._place(row, fields)
        if current is not None:
            # only what the row gives replaces the record's values
            given = {k: v for k, v in fields.items() if v is not None and v != [] and v != {}}
            old = current.facility
            same_point = row.located and old.located and haversine_m(
                float(given["lon"]), float(given["lat"]), float(old.lon), float(old.lat)) < 0.5  # type: ignore[arg-type]
            if (not row.located and old.located) or same_point:
                for key in ("lon", "lat", "location_precision", "location_source",
                            "uncertainty_m"):  # the record's position (and its pedigree) stays
                    given.pop(key, None)
            extra = {**current.facility.extra, **given.pop("extra", {})}
            base = current.facility.model_dump()
            base.update(given, extra=extra)
            base["id"] = current.facility.id
            base["source"] = current.facility.source
        else:
            base = {**fields, "id": new_facility_id(options.layer),
                    "source": f"registry import by {actor.username}"}
        review = ReviewState.SUBMITTED if options.submit else ReviewState.DRAFT
        base.update(review=review, updated_at=datetime.now(UTC), layer=options.layer)
        try:
            facility = self.workflow.flagged(self.workflow.validated(base))
        except InvalidFacilityError as exc:
            errors.append(_row_error(row.row, None, fields.get("name"),
                                     f"记录无效：{exc.message}", f"invalid record: {exc.message}",
                                     "invalid_record"))  # fmt: skip
            return RowOutcome(row.row, "error"), None, None
        if placement is not None and placement.needs_review:
            extra_flags = [f"geocode:{reason}" for reason in placement.reasons]
            facility = facility.model_copy(update={
                "flags": sorted(set(facility.flags) | set(extra_flags))})  # fmt: skip
        changes = diff_fields(None if current is None else current.facility, facility)
        for key in ("review", "updated_at"):
            changes.pop(key, None)
        outcome = RowOutcome(row.row, "created" if current is None else "updated",
                             facility.id, changes,
                             None if placement is None else _placement_json(placement),
                             list(facility.flags))  # fmt: skip
        return outcome, facility, current

    def _merge_target(self, fields: dict[str, Any], match: Any, by_id: dict[str, Any],
                      near: _NearIndex) -> str | None:  # fmt: skip
        """An existing record a created row is really a copy of, or ``None``.

        Nearly the same name (after dropping the district prefix, rapidfuzz ratio at least
        :data:`MERGE_NAME_SCORE`) within :data:`MERGE_DISTANCE_M`; duplicate hints of the
        matcher count too.
        """
        if match is not None:
            for hint in match.duplicates:
                if (hint.record_id in by_id and hint.distance_m is not None
                        and hint.distance_m <= MERGE_DISTANCE_M
                        and hint.name_score >= MERGE_NAME_SCORE):  # fmt: skip
                    return str(hint.record_id)
        lon, lat, name = fields.get("lon"), fields.get("lat"), fields.get("name")
        if lon is None or lat is None or not name:
            return None
        return near.best(float(lon), float(lat), str(name), fields.get("district"))

    @staticmethod
    def _record_fields(row: ParsedRow, layer: str, default_district: str | None) -> dict[str, Any]:
        fields = facility_fields(row, layer)
        values = row.fields
        extra = dict(fields.get("extra") or {})
        for name in ("registry_no", "park_name", "n_firms", "n_workers"):
            if values.get(name) is not None:
                fields[name] = values[name]
                extra.pop(name, None)
        text = values.get("services_hours_text") or values.get("services_text")
        if values.get("hours_text") and not text:
            text = values["hours_text"]
        if text:
            fields["service_text"] = str(text)[:1000]
        planned = values.get("planned_date")
        if planned is not None:
            month = values.get("planned_date_precision") == "month"
            fields["planned_completion"] = planned.isoformat()[:7 if month else 10]
            extra.pop("planned_date", None)
        others = {k: v for k, v in (extra.get("other_columns") or {}).items()
                  if k not in EXPORT_STATE_HEADERS}  # our own export's state columns
        if others:
            extra["other_columns"] = others
        else:
            extra.pop("other_columns", None)
        build = values.get("build_type")
        if build in _BUILD_TYPES:
            fields["status"] = _BUILD_TYPES[build]
        contact = {k: values.get(s) for k, s in (("name", "contact_person"),
                                                 ("email", "email"))}  # fmt: skip
        if any(contact.values()):
            fields["contact"] = Contact(**{k: (str(v)[:80] if v else None)
                                           for k, v in contact.items()})  # fmt: skip
        if not fields.get("district") and default_district:
            fields["district"] = default_district
        fields["extra"] = extra
        return fields

    def _place(self, row: ParsedRow, fields: dict[str, Any]) -> Placement | None:
        """Geocode a row without coordinates (and check one that has them)."""
        placement = self.geocoder.place(
            fields.get("name"), fields.get("address"), fields.get("district"),
            park_name=fields.get("park_name"), lon=fields.get("lon"), lat=fields.get("lat"),
        )  # fmt: skip
        if row.located:
            fields["location_source"] = f"sheet ({row.fields.get('source_crs') or 'wgs84'})"
            return placement
        if placement.lon is None or placement.lat is None:
            fields.update(lon=None, lat=None, location_precision="unknown",
                          location_source=placement.source or "geocoding: not found")  # fmt: skip
        else:
            fields.update(lon=placement.lon, lat=placement.lat,
                          location_precision=str(placement.precision),
                          location_source=placement.source,
                          uncertainty_m=placement.uncertainty_m)  # fmt: skip
        return placement

    # -- commit ----------------------------------------------------------------------------
    def _commit(self, actor: Actor, report: ImportReport,
                writes: list[tuple[RowOutcome, Facility, Any]], options: ImportOptions,
                district: str | None) -> None:  # fmt: skip
        with self.store.registry_transaction() as sql:
            for outcome, facility, current in writes:
                if current is not None:
                    # re-read under the lock: an edit since the dry run wins over the file
                    locked = sql.get(facility.id, lock=True)
                    if locked is None or locked.version != current.version:
                        raise InvalidFacilityError(
                            f"record {facility.id} changed while the file was being imported "
                            f"(row {outcome.row}); run the import again"
                        )
                    version, published = current.version + 1, current.published
                else:
                    if sql.key_taken(facility.layer, match_key(facility.name, facility.address)):
                        raise ImportConflictError(outcome.row, facility.name)
                    version, published = 1, False
                sql.put(facility, version=version, published=published, updated_by=actor.username)
                sql.audit(AuditEntry(
                    action="import_create" if current is None else "import_update",
                    actor=actor.username, role=str(actor.role), facility_id=facility.id,
                    layer=facility.layer, district=facility.district, changes=outcome.changes,
                    import_id=report.import_id, source_file=report.filename,
                    source_row=outcome.row,
                ))  # fmt: skip
            sql.save_import(ImportLog(
                id=report.import_id, layer=options.layer, district=district or actor.district,
                actor=actor.username, filename=report.filename, sha256=report.sha256,
                committed=True, report=report.summary(),
            ))  # fmt: skip
        logger.info("import %s by %s: %d created, %d updated (%s)", report.import_id,
                    actor.username, report.count("created"), report.count("updated"),
                    report.filename)  # fmt: skip


class _CentreNames:
    """Community health centres by name, to link a health point to its partner centre."""

    def __init__(self, records: list[Any]) -> None:
        self.records = [r.facility for r in records]
        self.keys = [_bare_name(f.name, f.district) for f in self.records]

    def find(self, name: str, district: str | None) -> Facility | None:
        key = _bare_name(name, district)
        best: tuple[float, int] | None = None
        for i, (facility, other) in enumerate(zip(self.records, self.keys, strict=True)):
            if district and facility.district and facility.district != district:
                continue
            score = 100.0 if other == key else fuzz.ratio(key, other)
            if score >= MERGE_NAME_SCORE and (best is None or score > best[0]):
                best = (score, i)
        return None if best is None else self.records[best[1]]

    def link(self, facility: Facility, row: ParsedRow, warnings: list[dict[str, Any]]) -> Facility:
        """``facility`` with ``partner_centre_id`` set, or a warning when no centre matches."""
        name = str(row.fields["partner_centre"])
        found = self.find(name, facility.district)
        if found is None:
            warnings.append(_row_error(
                row.row, "partner_centre", name,
                f"找不到合作社区卫生服务中心“{name}”：请先导入该中心，或检查名称",
                f"no community health centre named {name!r}: import it first or check the name",
                "partner_not_found"))  # fmt: skip
            return facility
        return facility.model_copy(update={"partner_centre_id": found.id})


class _NearIndex:
    """Existing located records of a layer, for the merge rule (nearby, nearly same name)."""

    def __init__(self, facilities: list[Facility]) -> None:
        located = [f for f in facilities if f.located]
        self.facilities = located
        self.lon = np.array([f.lon for f in located], dtype=float)
        self.lat = np.array([f.lat for f in located], dtype=float)
        self.keys = [_bare_name(f.name, f.district) for f in located]

    def best(self, lon: float, lat: float, name: str, district: str | None) -> str | None:
        if not self.facilities:
            return None
        distance = haversine_m(lon, lat, self.lon, self.lat)
        close = np.flatnonzero(distance <= MERGE_DISTANCE_M)
        key = _bare_name(name, district)
        scored = [(fuzz.ratio(key, self.keys[i]), -distance[i], i) for i in close.tolist()]
        scored = [s for s in scored if s[0] >= MERGE_NAME_SCORE]
        return None if not scored else self.facilities[max(scored)[2]].id


def _bare_name(name: str, district: str | None) -> str:
    """A name without spaces, punctuation and a leading city or district name."""
    key = normalise_text(name)
    for prefix in ("上海市", "上海", district or "", (district or "")[:-1]):
        if prefix and key.startswith(prefix):
            key = key[len(prefix):]
    return key


def _parse_summary(parsed: ImportParse) -> dict[str, Any]:
    return {"file": parsed.file.to_dict(), "table": parsed.table.to_dict(),
            "summary": parsed.summary()}  # fmt: skip
