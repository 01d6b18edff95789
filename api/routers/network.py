"""Networks, isochrones, service areas and travel-time matrices."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from shapely.geometry import mapping

from api.areas import area_answers, check_anonymous_minutes
from api.deps import OptionalActorDep, RegistryDep
from api.errors import RequestError
from api.params import EXAMPLE_LAT, EXAMPLE_LAYER, EXAMPLE_LON, query_point
from api.schemas import ErrorOut, FeatureCollectionOut, GeoJSONResponse
from geo.crs import to_wgs84
from layers.networks import NetworkService

router = APIRouter(prefix="/api/v1", tags=["network"])

Profile = Literal["walk", "drive"]
MAX_MATRIX_CELLS = 250_000


def network_service(request: Request) -> NetworkService:
    """The application's network service."""
    service: NetworkService = request.app.state.networks
    return service


def parse_minutes(value: str, most: int = 6, upper: float = 60.0) -> list[float]:
    """Parse ``5,10,15`` into sorted distinct positive minutes."""
    try:
        minutes = sorted({float(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise RequestError(f"minutes must be comma-separated numbers (got {value!r})") from None
    if not minutes or len(minutes) > most:
        raise RequestError(f"give 1 to {most} thresholds in minutes (got {value!r})")
    if not all(0 < m <= upper for m in minutes):
        raise RequestError(f"each threshold must be above 0 and at most {upper:g} minutes (got {value!r})")
    return minutes


@router.get("/networks", summary="The installed road networks")
def networks(request: Request) -> JSONResponse:
    """Every installed network: profile, size, the estimate calibration (median and p90
    detour ratio) and its coverage polygon (GeoJSON). Inside a profile's coverage answers
    are routed on the network; outside they are estimates."""
    return JSONResponse({"networks": network_service(request).describe()})


AREA_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "Invalid input, a point outside the network's "
          "coverage, or beyond the limits of anonymous callers (`anonymous_limit`)"},
    503: {"model": ErrorOut, "description": "Too many anonymous areas being computed "
          "(`busy`, with `Retry-After`)"},
}  # fmt: skip


@router.get("/isochrones", summary="Areas reachable within given minutes",
            response_class=GeoJSONResponse, response_model=FeatureCollectionOut,
            responses=AREA_ERRORS)  # fmt: skip
def get_isochrones(
    request: Request,
    registry: RegistryDep,
    actor: OptionalActorDep,
    lon: Annotated[float, Query(description="Longitude in `crs`", examples=[EXAMPLE_LON])],
    lat: Annotated[float, Query(description="Latitude in `crs`", examples=[EXAMPLE_LAT])],
    profile: Annotated[Profile, Query(description="walk or drive")] = "walk",
    minutes: Annotated[str, Query(description="Comma-separated thresholds, e.g. 5,10,15")] = "5,10,15",
    crs: Annotated[str, Query(description="wgs84, gcj02 or bd09")] = "wgs84",
) -> Response:
    """One GeoJSON polygon per threshold: the streets reachable from the point within that
    many minutes, buffered (not a convex hull). The point must lie inside the profile's
    network coverage (see `/networks`).

    Without signing in: at most 3 thresholds, whole minutes, at most 30 on foot and 15 by
    car (422 `anonymous_limit` otherwise); when the server is busy computing areas for
    other anonymous callers, 503 `busy` with `Retry-After`. Repeated questions are
    answered from a cache."""
    wgs_lon, wgs_lat, _ = query_point(lon, lat, crs, registry)
    thresholds = parse_minutes(minutes)
    settings = request.app.state.settings
    if actor is None:
        check_anonymous_minutes(thresholds, profile, settings)
    service = network_service(request)

    def compute() -> dict[str, Any]:
        net, areas = service.isochrones(wgs_lon, wgs_lat, profile, thresholds)
        features = [
            {
                "type": "Feature",
                "id": f"{m:g}",
                "geometry": mapping(area.polygon),
                "properties": {"minutes": m, "seconds": area.seconds,
                               "area_m2": round(area.area_m2), "nodes_reached": area.n_nodes,
                               "profile": profile, "network": net.name},
            }
            for m, area in zip(thresholds, areas, strict=True)
        ]  # fmt: skip
        return {"type": "FeatureCollection", "features": features}

    key = service.isochrone_key(wgs_lon, wgs_lat, profile, thresholds)
    return area_answers(request).answer(request, key, compute, anonymous=actor is None)


@router.get("/layers/{layer}/service-area", summary="Area within reach of a layer's facilities",
            response_class=GeoJSONResponse, response_model=FeatureCollectionOut,
            responses={404: {"model": ErrorOut}, **AREA_ERRORS})  # fmt: skip
def layer_service_area(
    layer: Annotated[str, Path(examples=[EXAMPLE_LAYER])],
    request: Request,
    actor: OptionalActorDep,
    minutes: Annotated[float, Query(gt=0, le=60, description="Minutes of travel")] = 10,
    profile: Annotated[Profile, Query(description="walk or drive")] = "walk",
) -> Response:
    """The union of the areas reachable within `minutes` from every serving facility of the
    layer that lies on the profile's network (facilities off the network are not counted;
    the answer says how many were).

    Without signing in: whole minutes, at most 30 on foot and 15 by car (422
    `anonymous_limit` otherwise); when the server is busy computing areas for other
    anonymous callers, 503 `busy` with `Retry-After`. Answers are cached until the layer
    changes."""
    if actor is None:
        check_anonymous_minutes([minutes], profile, request.app.state.settings)
    service = network_service(request)

    def compute() -> dict[str, Any]:
        net, area, on_network = service.service_area(layer, profile, minutes)
        feature = {
            "type": "Feature",
            "id": f"{layer}-{profile}-{minutes:g}",
            "geometry": mapping(area.polygon),
            "properties": {"layer": layer, "minutes": minutes, "profile": profile,
                           "network": net.name, "area_m2": round(area.area_m2),
                           "facilities_on_network": on_network},
        }  # fmt: skip
        return {"type": "FeatureCollection", "features": [feature]}

    key = service.service_area_key(layer, profile, minutes)
    return area_answers(request).answer(request, key, compute, anonymous=actor is None)


class MatrixRequest(BaseModel):
    """Origins and destinations as ``[lon, lat]`` pairs."""

    origins: list[tuple[float, float]] = Field(min_length=1, max_length=5000)
    destinations: list[tuple[float, float]] = Field(min_length=1, max_length=5000)
    profile: Profile = "walk"
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    max_minutes: float | None = Field(
        default=None, gt=0, le=600, description="Only pairs within this time (sparse answer)"
    )


@router.post("/matrix", summary="Travel-time matrix", responses={422: {"model": ErrorOut}})
def matrix(body: MatrixRequest, request: Request, registry: RegistryDep) -> JSONResponse:
    """Travel times (seconds) and distances (metres) from every origin to every destination,
    door to door: a `network` pair includes the walk from the origin to its street and from
    the destination's street to the destination (`access_m`: each point's access leg in
    metres, `null` for points outside coverage; for driving the access legs are walked), an
    `estimated` pair is great-circle × the calibrated detour factor. Without `max_minutes` the
    answer is dense (`null` = unreachable) with a `methods` matrix (`network` or
    `estimated`); with it, only the pairs within the limit are listed, each network pair
    with its `network_m` (street part) and `access_m` [origin, destination]."""
    cells = len(body.origins) * len(body.destinations)
    if cells > MAX_MATRIX_CELLS:
        raise RequestError(f"{len(body.origins)} origins × {len(body.destinations)} destinations "
                           f"= {cells:,} pairs; at most {MAX_MATRIX_CELLS:,} per request")

    def convert(points: list[tuple[float, float]], what: str) -> np.ndarray:
        out = []
        for i, (x, y) in enumerate(points):
            try:
                wgs_lon, wgs_lat, _ = query_point(x, y, body.crs, registry)
            except RequestError as error:
                raise RequestError(f"{what}[{i}]: {error.message}") from None
            out.append(to_wgs84(wgs_lon, wgs_lat, "wgs84"))
        return np.array(out, dtype=float)

    origins = convert(body.origins, "origins")
    destinations = convert(body.destinations, "destinations")
    result = network_service(request).matrix(origins, destinations, body.profile, None)
    times, lengths, estimated = result["duration_s"], result["distance_m"], result["estimated"]
    o_access, d_access = result["origin_access_m"], result["destination_access_m"]
    answer: dict[str, Any] = {
        "profile": body.profile, "network": result["network"], "origins": len(origins),
        "destinations": len(destinations),
        "access_m": {"origins": [_metres(v) for v in o_access.tolist()],
                     "destinations": [_metres(v) for v in d_access.tolist()]},
    }  # fmt: skip
    if body.max_minutes is None:
        answer["duration_s"] = [[round(v, 1) if np.isfinite(v) else None for v in row]
                                for row in times.tolist()]
        answer["distance_m"] = [[round(v, 1) if np.isfinite(v) else None for v in row]
                                for row in lengths.tolist()]
        answer["methods"] = [["estimated" if e else "network" for e in row]
                             for row in estimated.tolist()]
    else:
        limit = 60.0 * body.max_minutes
        rows, cols = np.nonzero(np.isfinite(times) & (times <= limit))
        answer["max_minutes"] = body.max_minutes
        answer["pairs"] = [
            _pair(i, j, float(times[i, j]), float(lengths[i, j]), bool(estimated[i, j]),
                  float(o_access[i]), float(d_access[j]))
            for i, j in zip(rows.tolist(), cols.tolist(), strict=True)
        ]  # fmt: skip
    return JSONResponse(answer)


def _metres(value: float) -> float | None:
    return round(value, 1) if np.isfinite(value) else None


def _pair(
    i: int, j: int, time_s: float, length_m: float, estimated: bool, o_access: float,
    d_access: float,
) -> dict[str, Any]:  # fmt: skip
    """One pair of a sparse matrix answer; a network pair with its street part and legs."""
    pair: dict[str, Any] = {"origin": i, "destination": j, "duration_s": round(time_s, 1),
                            "distance_m": round(length_m, 1),
                            "method": "estimated" if estimated else "network"}  # fmt: skip
    if not estimated:
        if length_m == 0.0:  # a point to itself: no access legs walked
            o_access = d_access = 0.0
        pair["network_m"] = round(length_m - o_access - d_access, 1)
        pair["access_m"] = [round(o_access, 1), round(d_access, 1)]
    return pair
