"""Placement candidates for the staff record editor: the offline gazetteer, never online.

``GET /api/v1/geocode?q=…&district=…`` answers the position the shipped gazetteer gives a
name or address and its best alternatives, so an editor can move a pin onto one of them.
Staff only; the online geocoders (with their keys and quotas) stay for imports.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import RegistryDep, StaffDep
from api.errors import RequestError
from api.schemas import ErrorOut
from geo.geocode.matcher import GeocodeQuery
from geo.geocode.placement import Placement
from layers.registry.catalog import DISTRICTS
from layers.registry.geocoding import offline_geocoder

router = APIRouter(prefix="/api/v1", tags=["registry editing"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 422)
}


class GeocodeCandidateOut(BaseModel):
    name: str
    kind: str
    lon: float
    lat: float
    score: float
    district: str | None


class GeocodeOut(BaseModel):
    """Where the gazetteer puts a name or address, and what else it could be."""

    query: str
    district: str | None
    lon: float | None
    lat: float | None
    precision: str = Field(description="exact, building, road, subdistrict, district, unknown")
    source: str
    matched_name: str | None
    score: float
    candidates: list[GeocodeCandidateOut] = Field(description="Best alternatives, at most 8")


def placement_json(query: str, district: str | None, placement: Placement) -> dict[str, Any]:
    """The JSON answer (:class:`GeocodeOut`) for one placement (repeated candidates once)."""
    seen: set[tuple[str, str, float, float]] = set()
    candidates = []
    for c in placement.candidates:
        key = (c.name, c.kind, c.lon, c.lat)
        if key not in seen:
            seen.add(key)
            candidates.append(c)
    return {
        "query": query, "district": district, "lon": placement.lon, "lat": placement.lat,
        "precision": str(placement.precision), "source": placement.source,
        "matched_name": placement.matched_name, "score": round(placement.score, 1),
        "candidates": [
            {"name": c.name, "kind": c.kind, "lon": c.lon, "lat": c.lat,
             "score": round(c.score, 1), "district": c.district}
            for c in candidates[:8]
        ],
    }  # fmt: skip


@router.get("/geocode", response_model=GeocodeOut, responses=_ERRORS,
            summary="Placement candidates for a name or address (offline gazetteer)")  # fmt: skip
async def geocode(
    actor: StaffDep, registry: RegistryDep,
    q: Annotated[str, Query(min_length=1, max_length=300, description="A name or address")],
    district: Annotated[str | None, Query(max_length=20, description="The record's district")]
    = None,
) -> JSONResponse:
    """Staff: place `q` with the shipped gazetteer (offline, no provider is asked) and list
    the best alternatives, for moving a record's pin onto one of them."""
    text = q.strip()
    if not text:
        raise RequestError("q must name a facility or an address")
    if district is not None and district not in DISTRICTS:
        raise RequestError(f"unknown district {district[:20]!r}; valid: {', '.join(DISTRICTS)}")
    geocoder = offline_geocoder(registry.data_dir)
    placement = await run_in_threadpool(
        geocoder.place, GeocodeQuery(name=text, address=text, district=district))
    return JSONResponse(placement_json(text, district, placement),
                        headers={"Cache-Control": "private, no-store"})  # fmt: skip
