"""Layers and their features."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from api.deps import RegistryDep
from api.errors import RequestError
from api.params import EXAMPLE_LAYER, parse_bbox
from api.schemas import (
    ErrorOut,
    FeatureCollectionOut,
    GeoJSONResponse,
    LayersOut,
    facility_feature,
)
from layers.registry.catalog import DISTRICTS, SERVICE_LABELS, get_layer
from layers.registry.schema import FacilityStatus
from layers.store import FacilityQuery

router = APIRouter(prefix="/api/v1", tags=["layers"])


@router.get("/layers", response_model=LayersOut, summary="The facility layers")
def list_layers(registry: RegistryDep) -> JSONResponse:
    """Every layer with its id, Chinese and English names, description, record count, whether
    its records are demonstration data, its marker icon and colour and its service vocabulary.
    Registry layers (the unions' own facilities) come first, then read-only OpenStreetMap
    context layers."""
    layers = []
    for summary in registry.layer_summaries():
        info = summary.info
        layers.append(
            {
                "id": info.id,
                "name_zh": info.name_zh,
                "name_en": info.name_en,
                "description_zh": info.description_zh,
                "description_en": info.description_en,
                "kind": info.kind.value,
                "count": summary.count,
                "demo": summary.demo,
                "icon": info.icon,
                "color": info.color,
                "services": [
                    {"id": s, "zh": SERVICE_LABELS[s][0], "en": SERVICE_LABELS[s][1]}
                    for s in info.services
                ],
            }
        )
    return JSONResponse({"layers": layers})


@router.get(
    "/layers/{layer}/features",
    response_model=FeatureCollectionOut,
    response_class=GeoJSONResponse,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    summary="Facilities of a layer as GeoJSON",
)
def layer_features(
    layer: Annotated[str, Path(examples=[EXAMPLE_LAYER])],
    registry: RegistryDep,
    bbox: Annotated[
        str | None, Query(description="west,south,east,north in WGS84 degrees")
    ] = None,
    district: Annotated[str | None, Query(description="District name, e.g. 黄浦区")] = None,
    status: Annotated[
        str | None, Query(description="Comma-separated statuses, e.g. active,new")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> JSONResponse:
    """An RFC 7946 FeatureCollection of the layer's facilities, ordered by id, optionally
    filtered by bounding box, district and status, paged with `limit`/`offset`.
    `numberMatched` is the total number of matches. Facilities whose position is unknown
    have a null geometry (and never match a bbox)."""
    get_layer(layer)
    box = parse_bbox(bbox) if bbox is not None else None
    if district is not None and district not in DISTRICTS:
        raise RequestError(f"unknown district {district!r}; valid: {', '.join(DISTRICTS)}")
    statuses = None
    if status is not None:
        try:
            statuses = [FacilityStatus(s.strip()) for s in status.split(",") if s.strip()]
        except ValueError:
            valid = ", ".join(s.value for s in FacilityStatus)
            raise RequestError(f"unknown status in {status!r}; valid: {valid}") from None
    page = registry.features(
        FacilityQuery(layer=layer, bbox=box, district=district, statuses=statuses,
                      limit=limit, offset=offset)
    )
    return GeoJSONResponse(
        {
            "type": "FeatureCollection",
            "features": [facility_feature(f) for f in page.items],
            "numberMatched": page.total,
            "numberReturned": len(page.items),
        }
    )
