"""Mobile check-up vehicle routing: plan the vehicles' days, as background jobs."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import RegistryDep, SettingsDep, app_service, job_runner
from api.errors import RequestError
from api.routers._jobs import job_body, job_list
from api.schemas import ErrorOut
from layers.checkups.service import (
    DEFAULT_TIME_LIMIT_S,
    MAX_TIME_LIMIT_S,
    CheckupResult,
    CheckupService,
)
from layers.jobs.runner import Job, JobStatus

router = APIRouter(prefix="/api/v1/routes", tags=["check-up routing"])

JOB_KIND = "route"
SAMPLE_PATH = ("samples", "checkup_week.json")
_RESPONSES: dict[int | str, dict[str, Any]] = {422: {"model": ErrorOut}}
_JOB_ID = Annotated[str, Path(max_length=64, description="The id returned by POST")]


class RouteCreate(BaseModel):
    """A week (or any horizon) of check-up bookings and the vehicles to serve them.

    The fields are those of the request format in `docs/checkups.md`; they are checked
    by the service, which reports every problem with its field path.
    """

    model_config = ConfigDict(extra="forbid")

    time_limit_s: float = Field(DEFAULT_TIME_LIMIT_S, gt=0, le=MAX_TIME_LIMIT_S,
                                description="Search time in seconds (drive times and "
                                "drawing come on top)")  # fmt: skip
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Search seed (reproducible plans)")
    strict: bool = Field(True, description="Refuse bookings outside Shanghai and packages no "
                         "vehicle can do (false: plan the rest, report them unreachable / "
                         "skill)")  # fmt: skip
    crs: Any = Field(None, description="Coordinates of bookings and depots: wgs84 (default), "
                     "gcj02 (Amap, Tencent) or bd09 (Baidu); a booking may set its own")  # fmt: skip
    days: Any = Field(None, description="Days in the horizon (day 0 = start_date)")
    start_date: Any = Field(None, description="Date of day 0, YYYY-MM-DD")
    slots: Any = Field(None, description='{"AM": ["08:00", "11:30"], "PM": ["13:00", "16:30"]}')
    lunch_break: Any = Field(None, description='Default lunch break ["11:30", "13:00"]')
    lateness_penalty_per_min: Any = Field(None, description="Objective seconds per minute late "
                                          "(soft windows)")  # fmt: skip
    split_large_bookings: Any = Field(None, description="Split bookings larger than a vehicle's "
                                      "half-day capacity (default true)")  # fmt: skip
    depots: Any = Field(None, description="Start/end points; default: the district union "
                        "service centres, a vehicle's depot being its district name")  # fmt: skip
    packages: Any = Field(None, description="Packages: id, setup_min, per_worker_min, skills")
    vehicles: Any = Field(None, description="Vehicles: id, depot, count, capacity_half_day, "
                          "capacity_day, shift, lunch_break, skills, days")  # fmt: skip
    bookings: Any = Field(None, description="Bookings: id, name, address, lon, lat, crs, "
                          "workers, package, slots, time_window, soft, priority")  # fmt: skip
    bookings_csv: Any = Field(None, description="The bookings as CSV text instead: name, "
                              "address, lon, lat, crs, workers, package, slots")  # fmt: skip
    matrix: Any = Field(None, description="Own drive times (depots, then bookings); default: "
                        "the drive network")  # fmt: skip
    demo: Any = Field(None, description="Marks demonstration data (ignored)")
    description: Any = Field(None, description="Free text (ignored)")

    def problem(self) -> dict[str, Any]:
        """The check-up request without the job options."""
        data = self.model_dump(exclude_unset=True)
        for key in ("time_limit_s", "seed", "strict", "demo", "description"):
            data.pop(key, None)
        return {k: v for k, v in data.items() if v is not None}


def checkup_service(request: Request, registry: RegistryDep) -> CheckupService:
    """The application's check-up routing service."""
    return app_service(
        request, "checkup_service",
        lambda: CheckupService(registry, getattr(request.app.state, "networks", None)),
    )  # fmt: skip


def _links(request: Request, job_id: str) -> dict[str, str]:
    return {
        "self": str(request.url_for("get_route_plan", route_id=job_id).path),
        "schedule": str(request.url_for("get_route_schedule", route_id=job_id).path),
        "csv": str(request.url_for("get_route_csv", route_id=job_id).path),
    }


def _job_body(request: Request, job: Job) -> dict[str, Any]:
    body = job_body(request, job, _links)
    if job.status is JobStatus.DONE and isinstance(job.result, CheckupResult):
        body.update(job.result.to_dict())
    return body


def _finished(request: Request, job_id: str) -> CheckupResult:
    job = job_runner(request).get(job_id, kind=JOB_KIND)
    if job.status is JobStatus.FAILED:
        raise RequestError(f"the plan failed: {job.error}", status_code=409, code="plan_failed")
    if job.status is not JobStatus.DONE or not isinstance(job.result, CheckupResult):
        raise RequestError(
            f"the plan is not ready yet (status {job.status}); poll {_links(request, job_id)['self']}",
            status_code=409, code="plan_not_ready",
        )  # fmt: skip
    return job.result


@router.post("", status_code=202, responses=_RESPONSES, summary="Plan check-up vehicle routes")
def create_route_plan(body: RouteCreate, request: Request, registry: RegistryDep) -> JSONResponse:
    """Plan which check-up vehicle (流动体检车) visits which workplace, on which day, in
    which slot and in what order. The body is the check-up request (bookings with their
    workers, package and allowed slots; vehicles with depot, capacity, shift, lunch break
    and equipment; packages; the horizon) plus `time_limit_s` (default 10, at most 120)
    and `seed`. Drive times come from the drive network where it covers both ends and
    from the calibrated straight-line estimate elsewhere.

    The plan is computed in the background: this returns `202` with the job `id` and
    `links` (`self` to poll, `schedule` for the printable schedule, `csv`). Requests that
    cannot be planned are refused at once with `422`, listing every problem with its
    field path: a booking outside Shanghai (naming it), a package no vehicle has the
    equipment for, malformed times (`bookings[3].time_window[1]: '25:00' is not a time
    HH:MM`), unknown depots or packages."""
    service = checkup_service(request, registry)
    prepared = service.check(body.problem(), strict=body.strict)
    job = job_runner(request).submit(service.solve, prepared, body.time_limit_s, body.seed,
                                     kind=JOB_KIND)  # fmt: skip
    links = _links(request, job.id)
    return JSONResponse(status_code=202, headers={"Location": links["self"]},
                        content={"id": job.id, "status": str(job.status), "links": links})  # fmt: skip


@router.get("/sample", summary="A demonstration check-up request")
def get_route_sample(settings: SettingsDep) -> JSONResponse:
    """A week of invented bookings at real workplace locations (DEMO data, see
    `layers/checkups/sample.py`), ready to post to `POST /api/v1/routes`."""
    path = settings.data_dir.joinpath(*SAMPLE_PATH)
    if not path.is_file():
        raise RequestError("no sample request is shipped (data/samples/checkup_week.json)",
                           status_code=404, code="not_found")  # fmt: skip
    return JSONResponse(json.loads(path.read_text(encoding="utf-8")))


@router.get("/{route_id}", responses={404: {"model": ErrorOut}}, summary="A check-up plan")
def get_route_plan(request: Request, route_id: _JOB_ID) -> JSONResponse:
    """The job's `status` (`queued`, `running`, `done`, `failed`), `progress` (message and
    fraction) and times. When `done`: `routes` (one per vehicle and day: depot, departure
    and return, AM/PM load, drive minutes and km, `legs` with their method `network` or
    `estimated`, and the `stops` in order with ETA, start, end, workers, package, slot,
    lateness), `unassigned` (every booking, or part of one, not planned, with its `reason`
    — `capacity`, `time_window`, `skill` or `unreachable` — and a message with the
    numbers), `summary` (workers served, drive hours and km, share of legs on the
    network, the independent feasibility check), `notes` and `geojson` (one feature per
    vehicle-day with its colour, numbered stops, depots and unassigned bookings)."""
    job = job_runner(request).get(route_id, kind=JOB_KIND)
    return JSONResponse(_job_body(request, job))


@router.get("/{route_id}/schedule.html", response_class=HTMLResponse,
            responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
            summary="Printable schedule")  # fmt: skip
def get_route_schedule(request: Request, route_id: _JOB_ID) -> HTMLResponse:
    """A self-contained printable schedule: one page per vehicle-day with the ETA, start
    and end of every visit, then the bookings that could not be planned and why. `409`
    while the plan is still running."""
    return HTMLResponse(_finished(request, route_id).schedule_html())


@router.get("/{route_id}/plan.csv", responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
            summary="The plan as CSV")  # fmt: skip
def get_route_csv(request: Request, route_id: _JOB_ID) -> Response:
    """One row per stop (`status` planned) and one per unassigned booking (`status`
    unassigned, with `reason` and `message`). `409` while the plan is still running."""
    text = _finished(request, route_id).plan_csv()
    return Response(content="\ufeff" + text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="checkup-plan-{route_id}.csv"'})  # fmt: skip


@router.get("", summary="Check-up plans kept on the server")
def list_route_plans(request: Request) -> JSONResponse:
    """The plans kept in memory (newest last) with their status; results via their link."""
    return JSONResponse({"routes": job_list(request, JOB_KIND, _links)})
