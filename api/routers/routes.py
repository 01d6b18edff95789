"""Mobile check-up vehicle routing: plan the vehicles' days, as background jobs."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import Field

from api.deps import (
    RegistryDep,
    RouteScopeDep,
    RouteStaffDep,
    SettingsDep,
    app_service,
    job_queue,
)
from api.errors import RequestError
from api.routers._jobs import (
    AUTH_ERRORS,
    CANCEL_RESPONSES,
    IdempotencyKey,
    cancel,
    job_body,
    job_list,
    submit,
)
from api.schemas import ErrorOut, StrictBody
from layers.checkups.service import (
    DEFAULT_TIME_LIMIT_S,
    MAX_TIME_LIMIT_S,
    CheckupService,
)
from layers.jobs import Job, JobScope, JobStatus, ProgressCallback

router = APIRouter(prefix="/api/v1/routes", tags=["check-up routing"])

JOB_KIND = "route"
SAMPLE_PATH = ("samples", "checkup_week.json")
_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut}, 422: {"model": ErrorOut}, 429: {"model": ErrorOut}, **AUTH_ERRORS,
}  # fmt: skip
_JOB_ID = Annotated[str, Path(max_length=64, description="The id returned by POST")]


class RouteCreate(StrictBody):
    """A week (or any horizon) of check-up bookings and the vehicles to serve them.

    The fields are those of the request format in `docs/checkups.md`; they are checked
    by the service, which reports every problem with its field path.
    """


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

    def job_request(self) -> dict[str, Any]:
        """The JSON the job runs from (checked again when it runs, also on a retry)."""
        return {"problem": self.problem(), "strict": self.strict,
                "time_limit_s": self.time_limit_s, "seed": self.seed}  # fmt: skip


def checkup_service(request: Request | FastAPI, registry: RegistryDep) -> CheckupService:
    """The application's check-up routing service."""
    app = request if isinstance(request, FastAPI) else request.app
    return app_service(
        app, "checkup_service",
        lambda: CheckupService(registry, getattr(app.state, "networks", None)),
    )  # fmt: skip


def route_job(app: FastAPI) -> Any:
    """The job function of kind ``route``: check and solve the stored request; the result
    holds the plan's JSON, its printable schedule and its CSV."""

    def run(job_request: dict[str, Any], progress: ProgressCallback) -> dict[str, Any]:
        service = checkup_service(app, app.state.registry)
        prepared = service.check(job_request["problem"], strict=bool(job_request["strict"]))
        result = service.solve(prepared, float(job_request["time_limit_s"]),
                               int(job_request["seed"]), progress_cb=progress)  # fmt: skip
        return {"plan": result.to_dict(), "schedule_html": result.schedule_html(),
                "plan_csv": result.plan_csv()}  # fmt: skip

    return run


def _links(request: Request, job_id: str) -> dict[str, str]:
    return {
        "self": str(request.url_for("get_route_plan", route_id=job_id).path),
        "schedule": str(request.url_for("get_route_schedule", route_id=job_id).path),
        "csv": str(request.url_for("get_route_csv", route_id=job_id).path),
    }


def _job_body(request: Request, job: Job) -> dict[str, Any]:
    body = job_body(request, job, _links)
    if job.status is JobStatus.DONE and isinstance(job.result, dict):
        body.update(job.result["plan"])
    return body


def _finished(request: Request, job_id: str, scope: JobScope) -> dict[str, Any]:
    job = job_queue(request).get(job_id, scope, kind=JOB_KIND, with_result=True)
    if job.status is JobStatus.FAILED:
        raise RequestError(f"the plan failed: {job.error}", status_code=409, code="plan_failed")
    if job.status is JobStatus.CANCELLED:
        raise RequestError("the plan was cancelled", status_code=409, code="plan_cancelled")
    if job.status is not JobStatus.DONE or not isinstance(job.result, dict):
        raise RequestError(
            f"the plan is not ready yet (status {job.status}); poll {_links(request, job_id)['self']}",
            status_code=409, code="plan_not_ready",
        )  # fmt: skip
    return job.result


@router.post("", status_code=202, responses=_RESPONSES, summary="Plan check-up vehicle routes")
def create_route_plan(
    body: RouteCreate, request: Request, registry: RegistryDep, actor: RouteStaffDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
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
    HH:MM`), unknown depots or packages.

    The request (names, phones and addresses of bookings) and the plan are stored until
    the retention period after the job finished, visible to you (and your district's staff
    and reviewers) only; `DELETE` removes them earlier. With an `Idempotency-Key` header,
    sending the same request again returns the same job. `429` with `Retry-After` when too
    many jobs are waiting."""
    checkup_service(request, registry).check(body.problem(), strict=body.strict)
    return submit(request, JOB_KIND, body.job_request(), actor, idempotency_key, _links)


@router.get("/sample", responses={404: {"model": ErrorOut}},
            summary="A demonstration check-up request")  # fmt: skip
def get_route_sample(settings: SettingsDep) -> JSONResponse:
    """A week of invented bookings at real workplace locations (DEMO data, see
    `layers/checkups/sample.py`), ready to post to `POST /api/v1/routes`."""
    path = settings.data_dir.joinpath(*SAMPLE_PATH)
    if not path.is_file():
        raise RequestError("no sample request is shipped (data/samples/checkup_week.json)",
                           status_code=404, code="not_found")  # fmt: skip
    return JSONResponse(json.loads(path.read_text(encoding="utf-8")))


@router.get("/{route_id}", responses={404: {"model": ErrorOut}, **AUTH_ERRORS},
            summary="A check-up plan")  # fmt: skip
def get_route_plan(request: Request, route_id: _JOB_ID, scope: RouteScopeDep) -> JSONResponse:
    """The job's `status` (`queued`, `running`, `done`, `failed`, `cancelled`), `progress`
    (message and fraction), `attempts` and times; `404` for another user's plan. When `done`: `routes` (one per vehicle and day: depot, departure
    and return, AM/PM load, drive minutes and km, `legs` with their method `network` or
    `estimated`, and the `stops` in order with ETA, start, end, workers, package, slot,
    lateness), `unassigned` (every booking, or part of one, not planned, with its `reason`
    — `capacity`, `time_window`, `skill` or `unreachable` — and a message with the
    numbers), `summary` (workers served, drive hours and km, share of legs on the
    network, the independent feasibility check), `notes` and `geojson` (one feature per
    vehicle-day with its colour, numbered stops, depots and unassigned bookings)."""
    job = job_queue(request).get(route_id, scope, kind=JOB_KIND, with_result=True)
    return JSONResponse(_job_body(request, job))


@router.delete("/{route_id}", status_code=200, responses=CANCEL_RESPONSES,
               summary="Cancel or delete a check-up plan")  # fmt: skip
def delete_route_plan(request: Request, route_id: _JOB_ID, scope: RouteScopeDep) -> Response:
    """A queued plan is cancelled and never runs (`200`, status `cancelled`); a running
    plan is asked to stop at its next progress step (`202`, `cancel_requested` true, then
    status `cancelled`); a finished plan is deleted with its request and result, workers'
    personal data included (`204`)."""
    return cancel(request, scope, JOB_KIND, route_id, _links)


@router.get("/{route_id}/schedule.html", response_class=HTMLResponse,
            responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, **AUTH_ERRORS},
            summary="Printable schedule")  # fmt: skip
def get_route_schedule(request: Request, route_id: _JOB_ID, scope: RouteScopeDep) -> HTMLResponse:
    """A self-contained printable schedule: one page per vehicle-day with the ETA, start
    and end of every visit, then the bookings that could not be planned and why. `409`
    while the plan is still running."""
    return HTMLResponse(_finished(request, route_id, scope)["schedule_html"])


@router.get("/{route_id}/plan.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
                       404: {"model": ErrorOut}, 409: {"model": ErrorOut}, **AUTH_ERRORS},
            summary="The plan as CSV")  # fmt: skip
def get_route_csv(request: Request, route_id: _JOB_ID, scope: RouteScopeDep) -> Response:
    """One row per stop (`status` planned) and one per unassigned booking (`status`
    unassigned, with `reason` and `message`). `409` while the plan is still running."""
    text = _finished(request, route_id, scope)["plan_csv"]
    return Response(content="\ufeff" + text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="checkup-plan-{route_id}.csv"'})  # fmt: skip


@router.get("", responses=AUTH_ERRORS, summary="Your check-up plans")
def list_route_plans(request: Request, scope: RouteScopeDep) -> JSONResponse:
    """The check-up plans you may see (newest last, at most 200): your own; district staff
    also their district's; reviewers and administrators every plan."""
    return JSONResponse({"routes": job_list(request, scope, JOB_KIND, _links)})
