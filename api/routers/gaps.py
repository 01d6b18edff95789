"""Coverage gaps: medically underserved parks/buildings and lunch difficulty."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from api.deps import RegistryDep, SettingsDep, app_service
from api.schemas import ErrorOut
from layers.gaps.output import lunch_collection, medical_collection
from layers.gaps.service import (
    MAX_WALK_MINUTES,
    MEDICAL_HORIZON_MINUTES,
    GapService,
    RegistrySource,
)

router = APIRouter(prefix="/api/v1/gaps", tags=["gaps"])

_RESPONSES: dict[int | str, dict[str, object]] = {422: {"model": ErrorOut}}


def gap_service(
    request: Request | FastAPI, registry: RegistryDep, settings: SettingsDep
) -> GapService:
    """The application's gap service, created on first use (its caches live with the app)."""
    return app_service(
        request, "gap_service", lambda: GapService(RegistrySource(registry), settings.data_dir)
    )


FlaggedOnly = Annotated[
    bool, Query(description="Only flagged workplaces (default: every workplace, ranked)")
]
Limit = Annotated[int | None, Query(ge=1, le=20000, description="At most this many features")]
GeometryParam = Annotated[
    Literal["polygon", "point"],
    Query(description="Workplace outline (polygon) or its representative point"),
]
MinWorkers = Annotated[
    int, Query(ge=0, le=10_000_000, description="Smallest workforce that can be flagged")
]


@router.get(
    "/medical",
    responses=_RESPONSES,
    summary="Medically underserved parks and buildings",
)
def medical_gaps(
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
    max_minutes: Annotated[
        float,
        Query(ge=0, le=MEDICAL_HORIZON_MINUTES,
              description="Acceptable walk to the nearest medical resource, minutes"),
    ] = 15.0,
    min_workers: MinWorkers = 1000,
    flagged_only: FlaggedOnly = False,
    limit: Limit = None,
    geometry: GeometryParam = "polygon",
    include_demo: Annotated[
        bool,
        Query(description="Count demonstration records (demo health points generated at "
              "OSM host sites) as medical resources too; default: real records only"),
    ] = False,
) -> JSONResponse:
    """Every industrial/business park (园区) and work building (楼宇) with its estimated
    workers, the walking time to the nearest medical resource (health points, community
    health centres, hospitals, clinics) and the resource found, the method (`network` where
    the workplace lies on a walk network, `estimated` elsewhere, `inside` when the resource
    is in the workplace). A workplace is flagged when the walk exceeds `max_minutes` and it
    has at least `min_workers` workers; `score` = workers × minutes beyond the threshold;
    features are ordered by `rank` (1 = most underserved). Each feature has a one-line
    `reason` in Chinese and English. Workers are an estimate (official employment spread
    over parks and buildings, capped by a density per land use) unless a published
    registry record gives the workplace's 职工数: `workers_basis` says which (`registry`,
    `footprints`, `site density cap`, `floor-area cap`, `floor-area share`). OpenStreetMap
    under-records community health centres, so walking times are upper bounds.

    Demonstration records (`demo` true, such as the shipped health points generated at
    real host sites) are not medical resources unless `include_demo=true`; real
    (imported, published) records always count. `summary.supply` says, per medical layer,
    how many facilities counted and how many demonstration records were left out."""
    service = gap_service(request, registry, settings)
    result = service.medical_gaps(max_minutes=max_minutes, min_workers=min_workers,
                                  include_demo=include_demo)  # fmt: skip
    return JSONResponse(medical_collection(service, result, flagged_only=flagged_only,
                                           limit=limit, geometry=geometry))  # fmt: skip


@router.get(
    "/lunch",
    responses=_RESPONSES,
    summary="Parks and buildings with a lunch difficulty",
)
def lunch_gaps(
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
    walk_minutes: Annotated[
        float,
        Query(gt=0, le=MAX_WALK_MINUTES, description="Lunch walk (catchment), minutes"),
    ] = 10.0,
    min_supply_per_1000: Annotated[
        float,
        Query(ge=0, le=1000, description="Flag below this many outlet-equivalents per 1,000 "
              "workers (restaurant = 1, canteen = 3)"),
    ] = 1.0,
    min_workers: MinWorkers = 1000,
    flagged_only: FlaggedOnly = False,
    limit: Limit = None,
    geometry: GeometryParam = "polygon",
) -> JSONResponse:
    """Food supply within a `walk_minutes` walk of every park and building by the
    two-step floating catchment area method (Luo & Wang 2003): each outlet's weight is
    shared among the workers of all workplaces that reach it. `outlets_reachable` counts
    the outlets, `supply_per_1000_workers` the shared outlet-equivalents per 1,000 workers.
    A workplace with at least `min_workers` workers is flagged when nothing is reachable or
    the supply is below `min_supply_per_1000`; `score` = workers × shortfall. The summary
    names the 10 worst places with their worker total against the 2023 plan's target
    (10 places, 20,000 workers). OpenStreetMap under-records canteens (食堂)."""
    service = gap_service(request, registry, settings)
    result = service.lunch_gaps(walk_minutes=walk_minutes,
                                min_supply_per_1000=min_supply_per_1000,
                                min_workers=min_workers)  # fmt: skip
    return JSONResponse(lunch_collection(service, result, flagged_only=flagged_only,
                                         limit=limit, geometry=geometry))  # fmt: skip
