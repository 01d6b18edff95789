"""Site planning: choose new facility sites exactly, as background jobs."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from api.deps import PlannerDep, PlanScopeDep, RegistryDep, SettingsDep, app_service, job_queue
from api.routers._jobs import (
    AUTH_ERRORS,
    CANCEL_RESPONSES,
    IdempotencyKey,
    cancel,
    job_body,
    job_list,
    submit,
)
from api.routers.gaps import gap_service
from api.schemas import ErrorOut, StrictBody
from layers.jobs import Job, JobStatus, ProgressCallback
from layers.plans.hosts import host_type_rows
from layers.plans.result import PlanResult
from layers.plans.service import (
    DEFAULT_CANDIDATE_LAYERS,
    MAX_MINUTES_LIMIT,
    PlanRequest,
    PlanRequestError,
    PlanService,
    parse_int_list,
)
from layers.registry.catalog import LAYERS

router = APIRouter(prefix="/api/v1/plans", tags=["planning"])

JOB_KIND = "plan"
_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut}, 422: {"model": ErrorOut}, 429: {"model": ErrorOut}, **AUTH_ERRORS,
}  # fmt: skip
_PLAN_ID = Annotated[str, Path(max_length=64, description="The id returned by POST")]


class PlanCreate(StrictBody):
    """A site-planning question."""


    model: Literal["mclp", "pmedian", "lscp", "pcenter"] = Field(
        "mclp", description="mclp: most workers within max_minutes; pmedian: least "
        "worker-weighted walking; lscp: fewest new sites covering every coverable workplace; "
        "pcenter: shortest longest walk")  # fmt: skip
    layer: str = Field("health_point", description="Planned layer (its facilities stay open)")
    candidates: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CANDIDATE_LAYERS), max_length=20,
        description="Host layers whose facilities may receive a new site")  # fmt: skip
    n_new: int | None = Field(20, ge=0, le=5000, description="Number of new sites")
    max_minutes: float = Field(15.0, gt=0, le=MAX_MINUTES_LIMIT,
                               description="Covered within this walk (minutes)")  # fmt: skip
    district_min: int = Field(0, ge=0, le=1000, description="New sites per district, at least")
    district_max: int | None = Field(None, ge=0, le=5000, description="…and at most")
    budget: float | None = Field(None, ge=0, description="Budget in yuan (¥15,000 per new "
                                 "point, ¥10,000 per upgrade)")  # fmt: skip
    curve: list[int] | str = Field(default_factory=list, max_length=40,
                                   description="Numbers of new sites for the coverage curve")  # fmt: skip
    n_upgrade: int = Field(0, ge=0, le=5000, description="Existing points to upgrade")
    upgrade_district_min: int = Field(0, ge=0, le=1000, description="Upgrades per district")
    horizon_minutes: float | None = Field(None, gt=0, le=2 * MAX_MINUTES_LIMIT,
                                          description="pmedian/pcenter horizon (minutes)")  # fmt: skip
    time_limit_s: float = Field(60.0, gt=0, le=600, description="Time limit of each solve")
    host_types: list[Annotated[str, Field(max_length=60)]] | None = Field(
        None, max_length=60,
        description="Host types of the candidates that may receive a new site (see "
        "GET /api/v1/plans/host-types); default: every type allowed by default for the "
        "layer (no public toilets or fuel stations for health points)")  # fmt: skip
    include_demo: bool = Field(False, description="Count demonstration records of the "
                               "planned layer as existing sites")  # fmt: skip

    def to_request(self) -> PlanRequest:
        """The service's request."""
        return PlanRequest(
            model=self.model, layer=self.layer, candidates=tuple(self.candidates),
            n_new=self.n_new, max_minutes=self.max_minutes, district_min=self.district_min,
            district_max=self.district_max, budget_yuan=self.budget,
            curve=parse_int_list(self.curve), n_upgrade=self.n_upgrade,
            upgrade_district_min=self.upgrade_district_min,
            horizon_minutes=self.horizon_minutes, time_limit_s=self.time_limit_s,
            host_types=None if self.host_types is None else tuple(self.host_types),
            include_demo=self.include_demo,
        )  # fmt: skip


def plan_service(
    request: Request | FastAPI, registry: RegistryDep, settings: SettingsDep
) -> PlanService:
    """The application's planning service (shares the gap service's workplaces)."""
    return app_service(
        request, "plan_service",
        lambda: PlanService.from_gap_service(gap_service(request, registry, settings)),
    )  # fmt: skip


def plan_request_json(plan_request: PlanRequest) -> dict[str, Any]:
    """A plan request as the JSON its job runs from (every field, so a retry is the same)."""
    return json_ready(dataclasses.asdict(plan_request))


def json_ready(value: Any) -> Any:
    """Tuples as lists, recursively (what JSON gives back)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def plan_result_json(result: PlanResult) -> dict[str, Any]:
    """What a finished plan adds to its job's body (stored as the job's result)."""
    body = result.to_dict()
    body["sites"] = result.sites_collection()
    body["existing"] = result.existing_collection()
    body["workplaces"] = result.workplaces_collection()
    return body


def plan_job(app: FastAPI) -> Any:
    """The job function of kind ``plan``: solve the stored request, return its JSON."""

    def run(job_request: dict[str, Any], progress: ProgressCallback) -> dict[str, Any]:
        service = plan_service(app, app.state.registry, app.state.settings)
        return plan_result_json(service.solve(PlanRequest(**job_request), progress_cb=progress))

    return run


def _links(request: Request, job_id: str) -> dict[str, str]:
    return {"self": str(request.url_for("get_plan", plan_id=job_id).path)}


def _job_body(request: Request, job: Job) -> dict[str, Any]:
    body = job_body(request, job, _links)
    if job.status is JobStatus.DONE and isinstance(job.result, dict):
        body.update(job.result)
    return body


@router.post("", status_code=202, responses=_RESPONSES, summary="Start a site plan")
def create_plan(
    body: PlanCreate, request: Request, registry: RegistryDep, settings: SettingsDep,
    actor: PlannerDep, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """Choose `n_new` new sites for `layer` among the facilities of the `candidates` layers
    (existing sites stay open), on walking times from every park and building with its
    estimated workers. The answer is computed in the background: this returns `202` with
    the job `id` and a `links.self` URL to poll (`GET /api/v1/plans/{id}`). Jobs are kept
    in the database: they survive a restart of the server, and a job whose server process
    stopped runs again.

    Requests that cannot be met are refused at once with `422` and the numbers: district
    minimums adding up to more than `n_new` ("district minimums add up to 16 new sites > 10
    new sites requested"), a budget below the cost of the sites, unknown layers, no
    candidate, a district without candidates. With an `Idempotency-Key` header, sending
    the same request again returns the same job (`409` if the key was used for another
    request). `host_types` limits the candidates to the kinds of host a planner allows
    (default: no public toilets or fuel stations for health points; `422` for an unknown
    type); demonstration records of `layer` are existing sites only with `include_demo`.
    `429` with `Retry-After` when too many jobs are waiting."""
    plan_request = body.to_request()
    plan_service(request, registry, settings).check(plan_request)
    return submit(request, JOB_KIND, plan_request_json(plan_request), actor, idempotency_key,
                  _links)  # fmt: skip


@router.get("/host-types", responses={422: {"model": ErrorOut}},
            summary="Host types of the candidate sites")  # fmt: skip
def host_types(
    request: Request, registry: RegistryDep, settings: SettingsDep,
    layer: Annotated[str, Query(max_length=60, description="Planned layer")] = "health_point",
    candidates: Annotated[
        str | None,
        Query(max_length=600, description="Comma-separated host layers (default: "
              + ",".join(DEFAULT_CANDIDATE_LAYERS) + ")"),
    ] = None,
) -> JSONResponse:  # fmt: skip
    """The host types (kinds of site: bank, convenience shop, community centre, public
    toilet, ...) of the published, located, serving records of the candidate layers, with
    their Chinese and English names, the number of records and `default_allowed`: whether a
    plan for `layer` may place a new site there when the request names no `host_types`
    (public toilets and fuel stations are not allowed by default for health points).
    `422` for an unknown layer."""
    names = DEFAULT_CANDIDATE_LAYERS if candidates is None else tuple(
        x.strip() for x in candidates.split(",") if x.strip())  # fmt: skip
    for name in (layer, *names):
        if name not in LAYERS:
            message = f"unknown layer {name[:60]!r}; valid layers: {', '.join(LAYERS)}"
            raise PlanRequestError(message, {"layer": name[:60]})
    counts = plan_service(request, registry, settings).host_types(layer, names)
    return JSONResponse({"layer": layer, "candidates": list(names),
                         "host_types": host_type_rows(layer, counts)})  # fmt: skip


@router.get("/{plan_id}", responses={404: {"model": ErrorOut}, **AUTH_ERRORS},
            summary="A site plan")  # fmt: skip
def get_plan(request: Request, plan_id: _PLAN_ID, scope: PlanScopeDep) -> JSONResponse:
    """The job's `status` (`queued`, `running`, `done`, `failed`, `cancelled`), `progress`
    (message and fraction), `attempts` and times. When `done`: `summary` (objective,
    `status` optimal / feasible with `gap` / infeasible with `reason`, seconds, workers
    newly covered), `districts` (new sites and workers newly covered per district), `curve`
    (workers covered against the number of new sites), and GeoJSON FeatureCollections
    `sites` (chosen new sites and upgrades), `existing` and `workplaces` (newly covered
    parks and buildings). `404` for an unknown id and for another user's plan."""
    job = job_queue(request).get(plan_id, scope, kind=JOB_KIND, with_result=True)
    return JSONResponse(_job_body(request, job))


@router.delete("/{plan_id}", status_code=200, responses=CANCEL_RESPONSES,
               summary="Cancel or delete a site plan")  # fmt: skip
def delete_plan(request: Request, plan_id: _PLAN_ID, scope: PlanScopeDep) -> Response:
    """A queued plan is cancelled and never runs (`200`, status `cancelled`); a running
    plan is asked to stop at its next progress step (`202`, `cancel_requested` true, then
    status `cancelled`); a finished plan is deleted with its result (`204`)."""
    return cancel(request, scope, JOB_KIND, plan_id, _links)


@router.get("", responses=AUTH_ERRORS, summary="Your site plans")
def list_plans(request: Request, scope: PlanScopeDep) -> JSONResponse:
    """The plans you may see (newest last, at most 200): your own; district staff also
    their district's; reviewers and administrators every plan. Results via their link."""
    return JSONResponse({"plans": job_list(request, scope, JOB_KIND, _links)})
