"""Output formats of the OGC API: negotiation and the feature encodings.

Every resource has JSON and HTML; feature collections also GeoPackage, CSV and XLSX. The
format comes from ``f=`` when given, else from the ``Accept`` header (JSON by default).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import Request

from api.errors import RequestError
from api.ogc.crs import CRS84, UTM51N, from_crs84
from api.schemas import facility_json
from geo.spreadsheet import csv_text
from layers.registry.exports import xlsx_table
from layers.registry.schema import Facility

JSON, HTML, GPKG, CSV, XLSX = "json", "html", "gpkg", "csv", "xlsx"
#: The formats of plain resources and of feature collections.
RESOURCE_FORMATS = (JSON, HTML)
ITEMS_FORMATS = (JSON, HTML, GPKG, CSV, XLSX)
ITEM_FORMATS = (JSON, HTML)
MEDIA_TYPES = {
    JSON: "application/json",
    HTML: "text/html",
    GPKG: "application/geopackage+sqlite3",
    CSV: "text/csv",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
_F_ALIASES = {"json": JSON, "geojson": JSON, "html": HTML, "gpkg": GPKG, "geopackage": GPKG,
              "csv": CSV, "xlsx": XLSX}  # fmt: skip
_ACCEPT = {
    "application/json": JSON, "application/geo+json": JSON, OPENAPI.split(";")[0]: JSON,
    "application/schema+json": JSON, "text/html": HTML, "application/xhtml+xml": HTML,
    MEDIA_TYPES[GPKG]: GPKG, "text/csv": CSV, MEDIA_TYPES[XLSX]: XLSX,
}  # fmt: skip
TITLES = {JSON: "JSON", HTML: "HTML", GPKG: "GeoPackage", CSV: "CSV", XLSX: "Excel (XLSX)"}


def negotiate(request: Request, allowed: Sequence[str]) -> str:
    """The format of the answer: ``f`` if given, else the best ``Accept`` match, else JSON.

    Raises
    ------
    RequestError
        (400) For an ``f`` value this resource does not offer.
    """
    given = request.query_params.get("f")
    if given is not None:
        fmt = _F_ALIASES.get(given.strip().lower())
        if fmt is None or fmt not in allowed:
            raise RequestError(f"f={given[:40]!r} is not offered here; valid: {', '.join(allowed)}",
                               status_code=400)  # fmt: skip
        return fmt
    best, best_q = JSON, 0.0
    for position, part in enumerate(request.headers.get("accept", "").split(",")):
        media, _, params = part.strip().partition(";")
        fmt = _ACCEPT.get(media.strip().lower())
        if fmt is None or fmt not in allowed:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        q -= position * 1e-6  # earlier wins among equals
        if q > best_q:
            best, best_q = fmt, q
    return best


# -- features ------------------------------------------------------------------------------


def feature(facility: Facility, crs: str) -> dict[str, Any]:
    """A facility as a GeoJSON Feature with coordinates in ``crs``."""
    properties = dict(facility_json(facility))
    lon, lat = properties.pop("lon"), properties.pop("lat")
    geometry = None
    if lon is not None and lat is not None:
        x, y = from_crs84(lon, lat, crs)
        geometry = {"type": "Point", "coordinates": [_round(x, crs), _round(y, crs)]}
    return {"type": "Feature", "id": facility.id, "geometry": geometry, "properties": properties}


def _round(value: float, crs: str) -> float:
    return round(value, 3) if crs == UTM51N else value


#: The property columns of the tabular formats, in record order.
COLUMNS: tuple[str, ...] = tuple(
    name for name in (*Facility.model_fields, "hours_text_zh", "hours_text_en")
    if name not in ("lon", "lat")
)


def table(facilities: Sequence[Facility], crs: str) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the CSV/XLSX answers: ``lon``/``lat`` (WGS84) first, then ``x``/``y``
    in ``crs`` when it is projected, then every public property (nested ones as JSON text)."""
    projected = crs == UTM51N
    header = ["id", "lon", "lat", *(["x", "y"] if projected else []),
              *(c for c in COLUMNS if c != "id")]  # fmt: skip
    rows = []
    for facility in facilities:
        data = facility_json(facility)
        row: list[Any] = [facility.id, facility.lon, facility.lat]
        if projected:
            if facility.located:
                x, y = from_crs84(facility.lon, facility.lat, crs)  # type: ignore[arg-type]
                row += [round(x, 3), round(y, 3)]
            else:
                row += [None, None]
        row += [_cell(data.get(c)) for c in COLUMNS if c != "id"]
        rows.append(row)
    return header, rows


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | dict) and not value:
        return None
    return json.dumps(value, ensure_ascii=False)


def csv_bytes(facilities: Sequence[Facility], crs: str) -> bytes:
    """The features as CSV (UTF-8 with a byte-order mark, no formula cells)."""
    header, rows = table(facilities, crs)
    return csv_text(header, rows, bom=True).encode("utf-8")


def xlsx_bytes(title: str, facilities: Sequence[Facility], crs: str) -> bytes:
    """The features as one XLSX sheet (text cells stay text, never formulas)."""
    header, rows = table(facilities, crs)
    return xlsx_table(title, header, rows)


def gpkg_bytes(layer: str, facilities: Sequence[Facility], crs: str) -> bytes:
    """The features as a GeoPackage with one point layer in ``crs`` (GDAL through pyogrio)."""
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import Point

    header, rows = table(facilities, CRS84)
    names = [h for h in header if h not in ("lon", "lat")]
    records = [{h: v for h, v in zip(header, row, strict=True) if h not in ("lon", "lat")}
               for row in rows]  # fmt: skip
    points = [Point(*from_crs84(f.lon, f.lat, UTM51N if crs == UTM51N else CRS84))  # type: ignore[arg-type]
              if f.located else None for f in facilities]  # fmt: skip
    frame = gpd.GeoDataFrame(records, columns=names, geometry=points,
                             crs="EPSG:32651" if crs == UTM51N else "EPSG:4326")  # fmt: skip
    for name in names:  # an all-empty column still needs a type: text
        if frame[name].isna().all():
            frame[name] = frame[name].astype("string")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{layer}.gpkg"
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG")
        return path.read_bytes()
