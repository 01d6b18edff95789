"""Nearest facilities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import RegistryDep
from api.errors import RequestError
from api.params import parse_open_at, query_point
from api.schemas import ErrorOut, NearestOut, facility_json
from layers.catalog import get_layer

router = APIRouter(prefix="/api/v1", tags=["nearest"])


@router.get(
    "/nearest",
    response_model=NearestOut,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    summary="The nearest facilities of a layer",
)
def nearest(
    registry: RegistryDep,
    lon: Annotated[float, Query(description="Longitude in `crs`", allow_inf_nan=True)],
    lat: Annotated[float, Query(description="Latitude in `crs`", allow_inf_nan=True)],
    layer: Annotated[str, Query(description="Layer id, e.g. relay_station")],
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
) -> JSONResponse:
    """The `k` nearest serving facilities (status new, active, upgraded or yellow card) of
    `layer` to the point, ordered by distance. The point may be given in WGS84, GCJ-02 or
    BD-09; the answer echoes it converted to WGS84. Distances are great-circle metres
    (`method: straight_line`). Facilities whose position is unknown are never returned."""
    info = get_layer(layer)
    wgs_lon, wgs_lat, source = query_point(lon, lat, crs, registry)
    if service is not None and service not in info.services:
        raise RequestError(
            f"layer {layer!r} offers no service {service!r}; "
            f"valid: {', '.join(info.services) or '(none)'}"
        )
    hits = registry.nearest(
        wgs_lon, wgs_lat, layer, k=k, service=service, open_at=parse_open_at(open_at)
    )
    return JSONResponse(
        {
            "query": {
                "lon": wgs_lon,
                "lat": wgs_lat,
                "crs": "wgs84",
                "input_crs": source.value,
                "input_lon": lon,
                "input_lat": lat,
                "layer": layer,
                "k": k,
            },
            "results": [
                {
                    "facility": facility_json(hit.facility),
                    "distance_m": round(hit.distance_m, 2),
                    "method": "straight_line",
                }
                for hit in hits
            ],
        }
    )
