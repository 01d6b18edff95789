"""Registry imports over HTTP: upload a spreadsheet, read the report, commit.

``POST /api/v1/imports`` takes the file as ``multipart/form-data`` with the layer and
options; by default it is a **dry run** that writes nothing and keeps the file for a day,
so ``POST /api/v1/imports/{id}/commit`` can commit exactly those bytes. ``dry_run=false``
commits at once. Staff only; editors import their own district's rows.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import StaffDep, WorkflowDep, app_service, get_registry, get_settings
from api.errors import RequestError
from api.schemas import ErrorOut
from layers.registry.geocoding import Geocoder
from layers.registry.imports import ImportOptions, ImportService

router = APIRouter(prefix="/api/v1/imports", tags=["registry imports"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 413, 422)
}
_CRS = ("wgs84", "gcj02", "bd09")


class ImportReportOut(BaseModel):
    """The report of an import (the command line's ``--json`` fields and more)."""

    model_config = ConfigDict(extra="allow")

    import_id: str
    layer: str
    rows: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    errors: list[dict[str, Any]] = Field(description="row (as Excel shows it), column, value, "
                                         "message_zh, message_en, code")  # fmt: skip
    warnings: list[dict[str, Any]]
    committed: bool
    dry_run: bool
    outcomes: list[dict[str, Any]] = Field(description="Per row: created / updated / "
                                           "unchanged / skipped / error, with the placement")  # fmt: skip


class CommitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    commit_valid: bool = Field(False, description="Commit the valid rows, skip the others")
    submit: bool = Field(False, description="Put the records into the review queue at once")


def import_service(request: Request, workflow: WorkflowDep) -> ImportService:
    """The application's import service (one geocoder per process)."""
    settings = get_settings(request)
    registry = get_registry(request)
    return app_service(request, "import_service", lambda: ImportService(
        workflow, Geocoder(registry.data_dir, settings)))  # fmt: skip


def _answer(report: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(report.to_dict(), status_code=status_code,
                        headers={"Cache-Control": "private, no-store"})  # fmt: skip


@router.post("", response_model=ImportReportOut, responses=_ERRORS,
             summary="Import a registry spreadsheet")  # fmt: skip
async def create_import(
    request: Request,
    actor: StaffDep,
    workflow: WorkflowDep,
    file: Annotated[UploadFile, File(description=".xlsx, .xls, .ods or .csv (UTF-8 or GBK)")],
    layer: Annotated[str, Form(max_length=40, description="Registry layer, e.g. health_point")],
    crs: Annotated[str | None, Form(description="CRS of coordinate columns: wgs84, gcj02, "
                                    "bd09")] = None,
    mapping: Annotated[str | None, Form(max_length=20_000, description='Explicit column '
                                        'mapping as JSON {"header or column letter": "field"}')] = None,
    sheet: Annotated[str | None, Form(max_length=100)] = None,
    dry_run: Annotated[bool, Form(description="Check and report only (default)")] = True,
    commit_valid: Annotated[bool, Form(description="Commit the valid rows even if others "
                                       "have errors")] = False,
    submit: Annotated[bool, Form(description="Submit the records for review at once")] = False,
) -> JSONResponse:
    """Read the spreadsheet as it is (title rows, merged contact block, Chinese or English
    headers), check every row, place rows without coordinates, match rows to existing
    records (registry number, else name + address) and report per row: created / updated /
    unchanged / error, with the row number as Excel shows it. A dry run (default) writes
    nothing and can be committed later with `POST /api/v1/imports/{import_id}/commit`. A
    commit is one transaction; a file with errors commits nothing unless `commit_valid`.
    Answers 422 with the report when a commit was asked and refused."""
    if crs is not None and crs not in _CRS:
        raise RequestError(f"crs must be one of {', '.join(_CRS)} (got {crs[:20]!r})")
    data = await file.read()
    service = import_service(request, workflow)
    options = ImportOptions(layer=layer, crs=crs, mapping=mapping, sheet=_sheet(sheet),
                            dry_run=dry_run, commit_valid=commit_valid, submit=submit)  # fmt: skip
    report = await run_in_threadpool(service.run, actor, data, file.filename or "upload",
                                     options)  # fmt: skip
    refused = not dry_run and not report.committed
    return _answer(report, 422 if refused else 200)


@router.post("/{import_id}/commit", response_model=ImportReportOut, responses=_ERRORS,
             summary="Commit an earlier dry run")  # fmt: skip
def commit_import(
    request: Request, actor: StaffDep, workflow: WorkflowDep,
    import_id: Annotated[str, Path(max_length=40, pattern=r"^imp-[0-9a-f]{16}$")],
    body: CommitIn | None = None,
) -> JSONResponse:
    """Commit the file of a dry run (the same bytes, checked again against the records as
    they are now). Only its uploader, or a reviewer, may commit it."""
    options = body or CommitIn()
    report = import_service(request, workflow).commit_dry_run(
        actor, import_id, commit_valid=options.commit_valid, submit=options.submit)  # fmt: skip
    return _answer(report, 200 if report.committed else 422)


def _sheet(value: str | None) -> str | int | None:
    if value is None or value == "":
        return None
    return int(value) if value.isdigit() else value
