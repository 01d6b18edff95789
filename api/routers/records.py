"""Editing registry records: create, read the working copy, edit, delete, history, cards.

Every operation here needs an authenticated staff caller; the workflow service checks the
role and the record's district. Edits use optimistic concurrency: ``GET …/record`` answers
an ``ETag``; ``PATCH``/``DELETE`` must send it back in ``If-Match`` (428 without it, 412
when the record changed since).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from api.deps import StaffDep, WorkflowDep
from api.errors import RequestError
from api.params import EXAMPLE_FACILITY, EXAMPLE_LAYER
from api.schemas import ErrorOut, StrictBody, facility_json
from layers.registry.catalog import DISTRICTS, LayerKind, get_layer
from layers.registry.exports import MEDIA_TYPES, export_bytes
from layers.registry.schema import FACILITY_ID_PATTERN, CardKind, Facility, ReviewState
from layers.registry.workflow import EDITABLE_FIELDS, all_records
from layers.store.records import MAX_PAGE, RecordQuery, StoredRecord

router = APIRouter(prefix="/api/v1", tags=["registry editing"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 412, 422, 428)
}
FacilityId = Annotated[str, Path(pattern=FACILITY_ID_PATTERN, max_length=80,
                                 examples=[EXAMPLE_FACILITY],
                                 description="Record id, e.g. relay_station:r1a2b3c4d5e6")]  # fmt: skip


def _optional_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in sorted(EDITABLE_FIELDS):
        info = Facility.model_fields[name]
        fields[name] = (info.annotation | None, Field(None, description=info.description))
    return fields


#: Any editable field of a record (absent fields are left as they are).
FacilityFields = create_model(
    "FacilityFields",
    __base__=StrictBody,
    comment=(str | None, Field(None, max_length=500, description="Why (kept in the history)")),
    **_optional_fields(),
)


class RecordOut(BaseModel):
    """A working copy with its review bookkeeping."""

    record: dict[str, Any] = Field(description="The record as staff edit it")
    version: int
    etag: str
    published: bool = Field(description="Whether workers see (an approved copy of) it")
    deleted: bool
    updated_at: str
    updated_by: str | None


class RecordsOut(BaseModel):
    items: list[RecordOut]
    total: int


class HistoryOut(BaseModel):
    facility_id: str
    entries: list[dict[str, Any]]


class CardIn(StrictBody):
    """A yellow card (整改通知书) or a red card (摘牌通知书)."""

    kind: CardKind
    reason: str = Field(min_length=1, max_length=500)
    issued_on: date | None = Field(None, description="Default: today")
    deadline: date | None = Field(None, description="Rectification deadline (yellow cards)")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


def record_json(stored: StoredRecord) -> dict[str, Any]:
    """The JSON of a working copy (what :class:`RecordOut` documents)."""
    return {
        "record": facility_json(stored.facility),
        "version": stored.version,
        "etag": stored.etag,
        "published": stored.published,
        "deleted": stored.deleted_at is not None,
        "updated_at": stored.updated_at.isoformat(),
        "updated_by": stored.updated_by,
    }


def _answer(stored: StoredRecord, status_code: int = 200) -> JSONResponse:
    return JSONResponse(record_json(stored), status_code=status_code,
                        headers={"ETag": stored.etag, "Cache-Control": "private, no-store"})  # fmt: skip


def expected_version(if_match: str | None) -> int | None:
    """The version named by an ``If-Match`` header (``None`` for ``*``).

    Raises
    ------
    RequestError
        428 without the header, 412 for a malformed or weak tag (they never match).
    """
    if if_match is None:
        raise RequestError(
            "this change needs an If-Match header with the record's ETag (read it with "
            "GET /api/v1/facilities/{id}/record)", status_code=428, code="precondition_required",
        )  # fmt: skip
    value = if_match.strip()
    if value == "*":
        return None
    if value.startswith('"') and value.endswith('"') and value[1:-1].isdigit():
        return int(value[1:-1])
    raise RequestError(
        f"If-Match {value[:40]!r} names no current version of this record", status_code=412,
        code="stale_version",
    )  # fmt: skip


def _fields(body: BaseModel) -> tuple[dict[str, Any], str | None]:
    given = body.model_dump(exclude_unset=True)
    comment = given.pop("comment", None)
    return given, comment


@router.post(
    "/layers/{layer}/facilities",
    status_code=201,
    response_model=RecordOut,
    responses=_ERRORS,
    summary="Create a draft record",
)
def create_record(
    layer: Annotated[str, Path(max_length=40, examples=[EXAMPLE_LAYER])], body: FacilityFields,
    actor: StaffDep,  # type: ignore[valid-type]
    workflow: WorkflowDep,
) -> JSONResponse:
    """A new record of a registry layer, as a **draft** of its district (editors: their own
    district only). It reaches workers once submitted and approved."""
    fields, comment = _fields(body)
    stored = workflow.create(actor, layer, fields, comment=comment)
    response = _answer(stored, 201)
    response.headers["Location"] = f"/api/v1/facilities/{stored.facility.id}/record"
    return response


@router.get("/facilities/{facility_id}/record", response_model=RecordOut, responses=_ERRORS,
            summary="The working copy of a record")  # fmt: skip
def get_record(facility_id: FacilityId, actor: StaffDep, workflow: WorkflowDep) -> JSONResponse:
    """The record as staff edit it (it may differ from what workers see until approved), with
    its `ETag` for the next `PATCH`/`DELETE`."""
    return _answer(workflow.get(actor, facility_id))


@router.patch("/facilities/{facility_id}", response_model=RecordOut, responses=_ERRORS,
              summary="Edit a record")  # fmt: skip
def patch_record(
    facility_id: FacilityId, body: FacilityFields, actor: StaffDep,  # type: ignore[valid-type]
    workflow: WorkflowDep,
    if_match: Annotated[str | None, Header(description="The ETag you read")] = None,
) -> JSONResponse:
    """Change the given fields (absent fields stay; `null` clears). A moved pin becomes
    precision `exact` unless `location_precision` is given. An approved record becomes a new
    draft; workers keep seeing the approved copy until the change is approved."""
    version = expected_version(if_match)
    fields, comment = _fields(body)
    if not fields:
        raise RequestError("give at least one field to change")
    if version is None:
        version = workflow.get(actor, facility_id).version
    return _answer(workflow.update(actor, facility_id, fields, version, comment=comment))


@router.delete("/facilities/{facility_id}", response_model=RecordOut, responses=_ERRORS,
               summary="Delete a record (soft)")  # fmt: skip
def delete_record(
    facility_id: FacilityId, actor: StaffDep, workflow: WorkflowDep,
    if_match: Annotated[str | None, Header(description="The ETag you read")] = None,
) -> JSONResponse:
    """Hide the record and remove it from what workers see; its history stays."""
    version = expected_version(if_match)
    if version is None:
        version = workflow.get(actor, facility_id).version
    return _answer(workflow.delete(actor, facility_id, version))


@router.get("/facilities/{facility_id}/history", response_model=HistoryOut, responses=_ERRORS,
            summary="Who changed what, when")  # fmt: skip
def record_history(
    facility_id: FacilityId, actor: StaffDep, workflow: WorkflowDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
) -> JSONResponse:
    """Every change of the record, newest first: who, when, which fields from what to what,
    and for imports the source file and row."""
    entries = workflow.history(actor, facility_id, limit=limit)
    return JSONResponse({"facility_id": facility_id, "entries": [e.to_dict() for e in entries]},
                        headers={"Cache-Control": "private, no-store"})  # fmt: skip


@router.get("/records", response_model=RecordsOut, responses=_ERRORS,
            summary="Working copies of registry records")  # fmt: skip
def list_records(
    actor: StaffDep, workflow: WorkflowDep,
    layer: Annotated[str | None, Query(max_length=40)] = None,
    district: Annotated[str | None, Query(max_length=20)] = None,
    review: Annotated[str | None, Query(max_length=80, description="e.g. draft,returned")] = None,
    flagged: Annotated[bool | None, Query(description="Only records a reviewer must look at")] = None,
    include_deleted: bool = False,
    limit: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> JSONResponse:
    """Records as staff see them (editors: their district only), ordered by id."""
    if district is not None and district not in DISTRICTS:
        raise RequestError(f"unknown district {district[:20]!r}; valid: {', '.join(DISTRICTS)}")
    reviews = _reviews(review)
    if layer is not None:
        get_layer(layer)
    page = workflow.list(actor, RecordQuery(
        layer=layer, districts=None if district is None else [district], reviews=reviews,
        flagged=flagged, include_deleted=include_deleted, limit=limit, offset=offset,
    ))  # fmt: skip
    return JSONResponse({"items": [record_json(r) for r in page.items], "total": page.total},
                        headers={"Cache-Control": "private, no-store"})  # fmt: skip


def _reviews(review: str | None) -> list[ReviewState] | None:
    if review is None:
        return None
    try:
        return [ReviewState(v.strip()) for v in review.split(",") if v.strip()]
    except ValueError:
        valid = ", ".join(s.value for s in ReviewState)
        raise RequestError(f"unknown review state in {review[:80]!r}; valid: {valid}") from None


@router.post("/facilities/{facility_id}/verify", response_model=RecordOut, responses=_ERRORS,
             summary="Confirm a record is still true")  # fmt: skip
def verify_record(
    facility_id: FacilityId, actor: StaffDep, workflow: WorkflowDep,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Set `last_verified` to today on an approved record (workers see the date)."""
    version = expected_version(if_match)
    if version is None:
        version = workflow.get(actor, facility_id).version
    return _answer(workflow.verify(actor, facility_id, version))


@router.post("/facilities/{facility_id}/cards", response_model=RecordOut, responses=_ERRORS,
             summary="Issue a yellow or red card")  # fmt: skip
def issue_card(facility_id: FacilityId, body: CardIn, actor: StaffDep,
               workflow: WorkflowDep) -> JSONResponse:  # fmt: skip
    """Reviewers: a yellow card (rectification notice; the record keeps serving, status
    `yellow_card`) or a red card (delisted: workers no longer see it)."""
    return _answer(workflow.issue_card(actor, facility_id, body.kind, body.reason,
                                       issued_on=body.issued_on, deadline=body.deadline))  # fmt: skip


@router.post("/facilities/{facility_id}/cards/lift", response_model=RecordOut,
             responses=_ERRORS, summary="Lift a yellow card")  # fmt: skip
def lift_card(facility_id: FacilityId, body: ReasonIn, actor: StaffDep,
              workflow: WorkflowDep) -> JSONResponse:  # fmt: skip
    """Reviewers: end a yellow card once rectified; the record serves as before."""
    return _answer(workflow.lift_card(actor, facility_id, body.reason))


@router.post("/facilities/{facility_id}/close", response_model=RecordOut, responses=_ERRORS,
             summary="Close a record")  # fmt: skip
def close_record(facility_id: FacilityId, body: ReasonIn, actor: StaffDep,
                 workflow: WorkflowDep) -> JSONResponse:  # fmt: skip
    """Reviewers: the facility no longer serves (workers no longer see it)."""
    return _answer(workflow.close(actor, facility_id, body.reason))


class ReviewActionIn(BaseModel):
    """A bulk review action on several records (all succeed or none)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, Field(pattern=FACILITY_ID_PATTERN, max_length=80)]] = Field(
        min_length=1, max_length=500)  # fmt: skip
    comment: str | None = Field(None, max_length=500,
                                description="Why (required to return records)")  # fmt: skip
    versions: dict[str, int] | None = Field(
        None, description="Expected version per id (optional; stale ones refuse all)")


@router.get("/review/queue", response_model=RecordsOut, responses=_ERRORS,
            summary="Records waiting for review")  # fmt: skip
def review_queue(
    actor: StaffDep, workflow: WorkflowDep,
    layer: Annotated[str | None, Query(max_length=40)] = None,
    district: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> JSONResponse:
    """Reviewers: submitted records, each with `changes` against what workers see now
    (`{field: [published, proposed]}`; a new record lists every field)."""
    if district is not None and district not in DISTRICTS:
        raise RequestError(f"unknown district {district[:20]!r}; valid: {', '.join(DISTRICTS)}")
    items, total = workflow.queue(actor, layer=layer, district=district, limit=limit,
                                  offset=offset)  # fmt: skip
    return JSONResponse({
        "items": [{**record_json(i.record), "changes": i.changes} for i in items],
        "total": total,
    }, headers={"Cache-Control": "private, no-store"})  # fmt: skip


@router.post("/review/{action}", response_model=RecordsOut, responses=_ERRORS,
             summary="Submit, approve or return records in bulk")  # fmt: skip
def review_action(
    action: Literal["submit", "approve", "return"], body: ReviewActionIn, actor: StaffDep,
    workflow: WorkflowDep,
) -> JSONResponse:
    """`submit` (editors: drafts and returned records of their district → the queue),
    `approve` (reviewers: publish; `last_verified` becomes today) or `return` (reviewers:
    back to the district with `comment` as the reason). All named records change, or none."""
    if action == "submit":
        records = workflow.submit(actor, body.ids, comment=body.comment, versions=body.versions)
    elif action == "approve":
        records = workflow.approve(actor, body.ids, comment=body.comment, versions=body.versions)
    else:
        records = workflow.return_for_changes(actor, body.ids, body.comment or "",
                                              versions=body.versions)  # fmt: skip
    return JSONResponse({"items": [record_json(r) for r in records], "total": len(records)})



@router.get("/layers/{layer}/export", responses=_ERRORS, summary="Export a registry layer",
            response_class=Response)  # fmt: skip
def export_layer(
    layer: Annotated[str, Path(max_length=40, examples=[EXAMPLE_LAYER])], actor: StaffDep,
    workflow: WorkflowDep,
    format: Annotated[Literal["geojson", "gpkg", "csv", "xlsx"], Query()] = "xlsx",
    review: Annotated[str | None, Query(max_length=80, description="e.g. approved")] = None,
    include_deleted: bool = False,
) -> Response:
    """Every record of the layer the caller may read (editors: their district), with its
    workflow state. CSV and XLSX use the layer's own form columns, so the file can be fixed
    and uploaded again (`POST /api/v1/imports`); GeoJSON and GeoPackage carry every field."""
    info = get_layer(layer)
    if info.kind is not LayerKind.REGISTRY:
        raise RequestError(f"layer {layer!r} is not a registry layer", status_code=409,
                           code="read_only_layer")  # fmt: skip
    reviews = _reviews(review)
    records = all_records(workflow, actor, RecordQuery(layer=layer, reviews=reviews,
                                                       include_deleted=include_deleted))  # fmt: skip
    body = export_bytes(layer, records, format)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return Response(body, media_type=MEDIA_TYPES[format], headers={
        "Content-Disposition": f'attachment; filename="{layer}-{stamp}.{format}"',
        "Cache-Control": "private, no-store",
    })  # fmt: skip
