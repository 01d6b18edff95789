"""Districts, the offline basemap (vector tiles and GeoJSON layers) and the basemap choice."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse

from api.basemap_sources import page_config
from api.deps import RegistryDep, SettingsDep, app_service
from api.schemas import ErrorOut, FeatureCollectionOut, GeoJSONResponse
from layers.basemap_tiles import BasemapTiles, BasemapUnavailableError, open_basemap_tiles
from layers.registry import shipped

router = APIRouter(prefix="/api/v1", tags=["geography"])

BasemapName = Literal["districts", "roads", "metro_lines", "service_area", "subdistricts"]
TILE_CACHE = "public, max-age=86400"
TILE_URL = "basemap/tiles/{z}/{x}/{y}.mvt"  # relative to the API base


def basemap_tiles(request: Request) -> BasemapTiles:
    """The shipped offline basemap archive, opened once per application."""
    settings = request.app.state.settings
    return app_service(request, "basemap_tiles", lambda: open_basemap_tiles(settings.data_dir))


BasemapTilesDep = Annotated[BasemapTiles, Depends(basemap_tiles)]


@router.get("/districts", summary="The 16 districts (GeoJSON)", response_class=GeoJSONResponse,
            response_model=FeatureCollectionOut)  # fmt: skip
def districts(registry: RegistryDep) -> JSONResponse:
    """The 16 districts of Shanghai as a GeoJSON FeatureCollection (land boundaries,
    WGS84), with Chinese and English names."""
    return GeoJSONResponse(shipped.load_geojson(registry.data_dir, "districts"))


@router.get("/basemap/sources", summary="Basemaps the web map may use")
def basemap_sources(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """The online basemaps configured for this server, in the order the page tries them,
    and the offline vector basemap (tile URL, zooms, attribution).

    Each online source has its coordinate system (`wgs84` or `gcj02`: the page converts
    every position for GCJ-02 tiles), its tile layers as Leaflet URL templates (with the
    server's keys filled in) and its attribution. `offline` is `null` when the shipped
    data has no basemap archive.
    """
    try:
        info = basemap_tiles(request).info
        offline: dict[str, Any] | None = {
            "url": TILE_URL,
            "minDataZoom": info.min_zoom,
            "maxDataZoom": info.max_zoom,
            "bounds": list(info.bounds),
            "attribution": info.attribution,
            "tiles": info.tiles,
            "sizeBytes": info.size_bytes,
        }
    except BasemapUnavailableError:
        offline = None
    return page_config(
        settings.basemap_source_ids, settings.basemap_keys(), settings.basemap_urls, offline
    )


@router.get(
    "/basemap/tiles/{z}/{x}/{y}.mvt",
    summary="Offline basemap vector tile",
    response_class=Response,
    responses={
        200: {"content": {"application/vnd.mapbox-vector-tile": {}}},
        204: {"description": "No map data in this tile"},
        404: {"model": ErrorOut, "description": "A zoom outside the archive, or x/y outside "
              "the tile grid"},
        503: {"model": ErrorOut, "description": "The shipped data has no basemap archive"},
    },
)
def basemap_tile(
    tiles: BasemapTilesDep,
    z: Annotated[int, Path(ge=0, le=30)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    """One tile of the offline vector basemap: a Mapbox Vector Tile (gzip-encoded, 512 px,
    layers listed in the archive's metadata), built from OpenStreetMap data (ODbL) by
    `servicemap data build`. A tile without map data answers 204 with no body."""
    data = tiles.tile(z, x, y)
    if data is None:
        return Response(status_code=204, headers={"Cache-Control": TILE_CACHE})
    return Response(
        content=data,
        media_type="application/vnd.mapbox-vector-tile",
        headers={"Content-Encoding": "gzip", "Cache-Control": TILE_CACHE},
    )


@router.get("/basemap/{name}", summary="Offline basemap layer (GeoJSON)",
            response_class=GeoJSONResponse, response_model=FeatureCollectionOut)  # fmt: skip
def basemap(name: BasemapName, registry: RegistryDep) -> JSONResponse:
    """Vector layers of the shipped data: districts, major roads, metro lines, the service
    area and the central subdistricts. Derived from OpenStreetMap (ODbL)."""
    return GeoJSONResponse(shipped.load_geojson(registry.data_dir, name))
