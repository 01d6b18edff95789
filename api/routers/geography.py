"""Districts and the offline basemap layers."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import RegistryDep
from layers.registry import shipped

router = APIRouter(prefix="/api/v1", tags=["geography"])

BasemapName = Literal["districts", "roads", "metro_lines", "service_area", "subdistricts"]


@router.get("/districts", summary="The 16 districts (GeoJSON)")
def districts(registry: RegistryDep) -> JSONResponse:
    """The 16 districts of Shanghai as a GeoJSON FeatureCollection (land boundaries,
    WGS84), with Chinese and English names."""
    return JSONResponse(
        shipped.load_geojson(registry.data_dir, "districts"), media_type="application/geo+json"
    )


@router.get("/basemap/{name}", summary="Offline basemap layer (GeoJSON)")
def basemap(name: BasemapName, registry: RegistryDep) -> JSONResponse:
    """Vector layers the web map draws when online tiles are unreachable: districts, major
    roads, metro lines and the service area. Derived from OpenStreetMap (ODbL)."""
    return JSONResponse(
        shipped.load_geojson(registry.data_dir, name), media_type="application/geo+json"
    )
