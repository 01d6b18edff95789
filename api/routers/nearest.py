"""Nearest facilities."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import RegistryDep
from api.errors import RequestError
from api.params import EXAMPLE_LAT, EXAMPLE_LAYER, EXAMPLE_LON, parse_open_at, query_point
from api.schemas import ErrorOut, FastJSONResponse, NearestOut, facility_fragment
from layers.networks import NetworkService
from layers.registry.catalog import get_layer
from layers.registry.service import Registry

router = APIRouter(prefix="/api/v1", tags=["nearest"])


@router.get(
    "/nearest",
    response_model=NearestOut,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    summary="The nearest facilities of a layer",
)
async def nearest(
    request: Request,
    registry: RegistryDep,
    lon: Annotated[float, Query(description="Longitude in `crs`", allow_inf_nan=True,
                                examples=[EXAMPLE_LON])],
    lat: Annotated[float, Query(description="Latitude in `crs`", allow_inf_nan=True,
                                examples=[EXAMPLE_LAT])],
    layer: Annotated[str, Query(description="Layer id, e.g. relay_station",
                                examples=[EXAMPLE_LAYER])],
    k: Annotated[int, Query(ge=1, le=50, description="Number of results, 1-50")] = 5,
    crs: Annotated[
        str, Query(description="CRS of lon/lat: wgs84 (GPS, OSM), gcj02 (Amap), bd09 (Baidu)")
    ] = "wgs84",
    service: Annotated[
        str | None, Query(description="Only facilities offering this service, e.g. microwave")
    ] = None,
    open_at: Annotated[
        str | None,
        Query(description="Only facilities open at this ISO 8601 time (default zone Asia/Shanghai)"),
    ] = None,
    profile: Annotated[
        Literal["walk", "drive", "straight"],
        Query(description="walk or drive on the road network, or straight (great-circle)"),
    ] = "walk",
    max_minutes: Annotated[
        float | None, Query(gt=0, le=600, description="Only facilities within this travel time")
    ] = None,
    route: Annotated[bool, Query(description="Include each route as a GeoJSON LineString")] = True,
) -> FastJSONResponse:
    """The `k` nearest serving facilities (status new, active, upgraded or yellow card) of
    `layer` to the point, ordered by travel time. The point may be given in WGS84, GCJ-02 or
    BD-09; the answer echoes it converted to WGS84.

    With `profile=walk` (default) or `drive`, a point inside the profile's network coverage
    (`/api/v1/networks`) is snapped to the nearest street (`snap_distance_m`; refused with
    422 beyond the limit) and each result carries, with `method: network`, the door-to-door
    `distance_m` and `duration_s` (the walk from the point to the street, the street part,
    and the walk from the street to the facility; walking 1.2 m/s, driving by road class
    with the two access legs walked), split into `access_m` [origin, facility] and
    `network_m`, and the `route` from the point to the facility. Results are ranked by that
    door-to-door time, and `max_minutes` limits it.
    Outside coverage, and for facilities off the network, results are estimates
    (great-circle × the network's calibrated detour factor), `method: estimated`, with no
    route. When nothing can be reached (e.g. across the river on foot) `status` is
    `unreachable` and `results` is empty. `profile=straight` gives great-circle distances
    (`method: straight_line`). Facilities whose position is unknown are never returned."""
    info = get_layer(layer)
    wgs_lon, wgs_lat, source = query_point(lon, lat, crs, registry)
    if service is not None and service not in info.services:
        raise RequestError(
            f"layer {layer!r} offers no service {service!r}; "
            f"valid: {', '.join(info.services) or '(none)'}"
        )
    when = parse_open_at(open_at)
    echo: dict[str, Any] = {
        "lon": wgs_lon, "lat": wgs_lat, "crs": "wgs84", "input_crs": source.value,
        "input_lon": lon, "input_lat": lat, "layer": layer, "k": k, "profile": profile,
        "max_minutes": max_minutes,
    }
    networks: NetworkService = request.app.state.networks
    # The answer is CPU work of well under a millisecond once the indexes are built: it runs
    # here on the event loop, without a thread hop. When something must first be read from
    # the store or built (a cold start, a layer that just changed) it runs in a thread.
    if profile == "straight":
        args = (registry, echo, wgs_lon, wgs_lat, layer, k, service, when, max_minutes)
        if registry.is_fresh(layer):
            return FastJSONResponse(_straight_body(*args))
        return FastJSONResponse(await run_in_threadpool(_straight_body, *args))
    net_args = (networks, echo, wgs_lon, wgs_lat, layer, profile, k, max_minutes, service,
                when, route)
    if networks.is_ready(layer, profile, service):
        return FastJSONResponse(_network_body(*net_args))
    return FastJSONResponse(await run_in_threadpool(_network_body, *net_args))


def _straight_body(
    registry: Registry,
    echo: dict[str, Any],
    lon: float,
    lat: float,
    layer: str,
    k: int,
    service: str | None,
    when: datetime | None,
    max_minutes: float | None,
) -> dict[str, Any]:
    """The answer for ``profile=straight`` (great-circle distances)."""
    hits = registry.nearest(lon, lat, layer, k=k, service=service, open_at=when)
    results = [
        {"facility": facility_fragment(hit.facility), "distance_m": round(hit.distance_m, 2),
         "method": "straight_line"}
        for hit in hits
        if max_minutes is None
    ]
    return {"query": echo, "status": "ok" if results else "none", "results": results}


def _network_body(
    networks: NetworkService,
    echo: dict[str, Any],
    lon: float,
    lat: float,
    layer: str,
    profile: str,
    k: int,
    max_minutes: float | None,
    service: str | None,
    when: datetime | None,
    route: bool,
) -> dict[str, Any]:
    """The answer for ``profile=walk`` or ``drive`` (network routes or estimates)."""
    answer = networks.nearest(lon, lat, layer, profile=profile, k=k, max_minutes=max_minutes,
                              service=service, open_at=when, with_route=route)  # fmt: skip
    echo["network"] = answer.network
    echo["in_coverage"] = answer.in_coverage
    snap = None if answer.snap_distance_m is None else round(answer.snap_distance_m, 1)
    results = []
    for hit in answer.hits:
        item: dict[str, Any] = {
            "facility": facility_fragment(hit.facility),
            "distance_m": round(hit.distance_m, 1),
            "duration_s": round(hit.duration_s, 1),
            "method": hit.method,
            "snap_distance_m": snap if hit.method == "network" else None,
        }
        if hit.network_m is not None and hit.access_m is not None:
            item["network_m"] = round(hit.network_m, 1)
            item["access_m"] = [round(hit.access_m[0], 1), round(hit.access_m[1], 1)]
        if hit.route is not None:
            item["route"] = {"type": "LineString", "coordinates": hit.route}
        results.append(item)
    body: dict[str, Any] = {"query": echo, "status": answer.status, "results": results}
    if answer.unreachable:
        body["unreachable"] = [
            {"facility": facility_fragment(item.facility),
             "straight_line_m": round(item.straight_line_m, 1),
             "reason": f"no {profile} route on the {answer.network} network"}
            for item in answer.unreachable
        ]
    if answer.message:
        body["message"] = answer.message
    return body
