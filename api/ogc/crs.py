"""Coordinate reference systems of the OGC API (Part 2): CRS84, EPSG:4326 and EPSG:32651.

The store keeps longitude/latitude (CRS84 axis order). Responses may be asked for in
EPSG:4326 (latitude first, as that CRS defines) or in UTM zone 51N (EPSG:32651, metres),
and bounding boxes and filter geometries may be given in any of the three.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from api.errors import RequestError
from geo._once import OnceMap

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
UTM51N = "http://www.opengis.net/def/crs/EPSG/0/32651"
#: The CRSs this service answers in, the default first.
SUPPORTED = (CRS84, EPSG4326, UTM51N)
_PYPROJ = {CRS84: "OGC:CRS84", EPSG4326: "EPSG:4326", UTM51N: "EPSG:32651"}
_ALIASES = {
    "crs84": CRS84, "ogc:crs84": CRS84, "[ogc:crs84]": CRS84,
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": CRS84,
    "epsg:4326": EPSG4326, "[epsg:4326]": EPSG4326,
    "http://www.opengis.net/def/crs/epsg/0/4326": EPSG4326,
    "epsg:32651": UTM51N, "[epsg:32651]": UTM51N,
    "http://www.opengis.net/def/crs/epsg/0/32651": UTM51N,
}  # fmt: skip


def parse_crs(value: str, name: str = "crs") -> str:
    """The CRS URI for a parameter value (URI, ``EPSG:4326`` or ``[EPSG:4326]`` form).

    Raises
    ------
    RequestError
        (400) For a CRS this service does not offer; the message lists those it does.
    """
    found = _ALIASES.get(value.strip().lower())
    if found is None:
        raise RequestError(
            f"{name} {value[:80]!r} is not supported; valid: {', '.join(SUPPORTED)}",
            status_code=400,
        )
    return found


_TRANSFORMERS: OnceMap[tuple[str, str], Transformer] = OnceMap()


def _transformer(source: str, target: str) -> Transformer:
    # authority axis order on both sides: EPSG:4326 is (lat, lon), CRS84 (lon, lat)
    return _TRANSFORMERS.get((source, target), lambda: Transformer.from_crs(
        _PYPROJ[source], _PYPROJ[target], always_xy=False))


def from_crs84(lon: float, lat: float, target: str) -> tuple[float, float]:
    """A CRS84 position in ``target``'s own axis order."""
    if target == CRS84:
        return lon, lat
    if target == EPSG4326:
        return lat, lon
    x, y = _transformer(CRS84, target).transform(lon, lat)
    return float(x), float(y)


def geometry_to_crs84(source: str) -> Callable[[BaseGeometry], BaseGeometry] | None:
    """A function converting shapely geometries from ``source`` to CRS84, or ``None``."""
    if source == CRS84:
        return None
    transformer = _transformer(source, CRS84)

    def convert(geometry: BaseGeometry) -> BaseGeometry:
        def coords(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

        return shapely.transform(geometry, coords)

    return convert


def parse_bbox_values(value: str) -> tuple[float, float, float, float]:
    """Four (or six: heights dropped) finite numbers from a ``bbox`` parameter.

    Raises
    ------
    RequestError
        (400) When the value is not 4 or 6 comma-separated finite numbers with the lower
        corner below the upper one.
    """
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise RequestError(
            f"bbox must be 4 or 6 comma-separated numbers (got {value[:80]!r})", status_code=400
        )
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise RequestError(f"bbox values must be numbers (got {value[:80]!r})",
                           status_code=400) from None  # fmt: skip
    if not all(math.isfinite(v) for v in numbers):
        raise RequestError(f"bbox values must be finite (got {value[:80]!r})", status_code=400)
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    x1, y1, x2, y2 = numbers
    if x1 > x2 or y1 > y2:
        raise RequestError(
            f"bbox must give its lower corner first, (minx, miny, maxx, maxy) in the axis order "
            f"of bbox-crs (got {value[:80]!r}); boxes across the antimeridian are not supported",
            status_code=400,
        )
    return x1, y1, x2, y2


def bbox_in_crs84(
    numbers: tuple[float, float, float, float], source: str
) -> tuple[tuple[float, float, float, float], BaseGeometry | None]:
    """The CRS84 envelope of a box given in ``source``, and its exact outline when curved.

    Returns
    -------
    envelope, outline
        ``(west, south, east, north)``; ``outline`` is the box in CRS84 as a (densified)
        polygon when ``source`` is projected, ``None`` when the envelope is exact.
    """
    x1, y1, x2, y2 = numbers
    if source == CRS84:
        west, south, east, north = x1, y1, x2, y2
        outline = None
    elif source == EPSG4326:
        west, south, east, north = y1, x1, y2, x2
        outline = None
    else:
        ring = shapely.segmentize(box(x1, y1, x2, y2), max(x2 - x1, y2 - y1, 1.0) / 32)
        convert = geometry_to_crs84(source)
        assert convert is not None
        outline = convert(ring)
        west, south, east, north = outline.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise RequestError(
            "bbox lies outside longitude [-180, 180], latitude [-90, 90] "
            "(is the axis order right for bbox-crs?)", status_code=400,
        )  # fmt: skip
    return (west, south, east, north), outline


def header_value(uri: str) -> str:
    """The ``Content-Crs`` header value of a CRS URI."""
    return f"<{uri}>"
