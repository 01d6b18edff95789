"""Coordinate reference systems: WGS84 inside, GCJ-02/BD-09 at the edges, UTM 51N for metres.

Chinese web maps publish coordinates in GCJ-02 (Amap, Tencent) or BD-09 (Baidu), offset by
roughly 300-600 m from WGS84 in Shanghai. The conversions use the maintained ``prcoords``
library; the inverse transforms use its iterative ("bored") solvers, accurate to well under
a centimetre. Metric work uses UTM zone 51N (EPSG:32651) through pyproj.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import prcoords
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

from geo._once import OnceMap
from geo.errors import UnknownCRSError

WGS84_EPSG = 4326
UTM51N_EPSG = 32651
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius


class CRS(StrEnum):
    """Coordinate systems accepted at the edges of the product."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


def parse_crs(name: str) -> CRS:
    """Return the :class:`CRS` for a case-insensitive name (``wgs84``, ``gcj02``, ``bd09``).

    Raises
    ------
    UnknownCRSError
        For any other name; the message lists the valid ones.
    """
    aliases = {"wgs84": CRS.WGS84, "epsg:4326": CRS.WGS84, "gcj02": CRS.GCJ02,
               "gcj-02": CRS.GCJ02, "bd09": CRS.BD09, "bd-09": CRS.BD09}
    try:
        return aliases[name.strip().lower()]
    except KeyError:
        raise UnknownCRSError(
            f"unknown crs {name!r}; valid values: {', '.join(c.value for c in CRS)}"
        ) from None


def to_wgs84(lon: float, lat: float, crs: CRS | str) -> tuple[float, float]:
    """Convert one point from ``crs`` to WGS84.

    Parameters
    ----------
    lon, lat
        Coordinates in degrees in ``crs``.
    crs
        The source system.

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in WGS84 degrees.
    """
    source = parse_crs(crs) if isinstance(crs, str) else crs
    if source is CRS.WGS84:
        return lon, lat
    if source is CRS.GCJ02:
        result = prcoords.gcj_wgs_bored((lat, lon))
    else:
        result = prcoords.bd_wgs_bored((lat, lon))
    return float(result.lon), float(result.lat)


def from_wgs84(lon: float, lat: float, crs: CRS | str) -> tuple[float, float]:
    """Convert one WGS84 point to ``crs`` (the inverse of :func:`to_wgs84`)."""
    target = parse_crs(crs) if isinstance(crs, str) else crs
    if target is CRS.WGS84:
        return lon, lat
    result = prcoords.wgs_gcj((lat, lon)) if target is CRS.GCJ02 else prcoords.wgs_bd((lat, lon))
    return float(result.lon), float(result.lat)


def to_wgs84_many(
    lon: ArrayLike, lat: ArrayLike, crs: CRS | str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert arrays of points to WGS84 (a loop over :func:`to_wgs84`; edges only)."""
    lon_in = np.asarray(lon, dtype=float).ravel()
    lat_in = np.asarray(lat, dtype=float).ravel()
    pairs = [to_wgs84(x, y, crs) for x, y in zip(lon_in, lat_in, strict=True)]
    out = np.array(pairs, dtype=float).reshape(-1, 2)
    return out[:, 0], out[:, 1]


_TRANSFORMERS: OnceMap[tuple[int, int], Transformer] = OnceMap()


def _transformer(source_epsg: int, target_epsg: int) -> Transformer:
    """The pyproj transformer between two EPSG codes (made once; pyproj's are thread-safe)."""
    return _TRANSFORMERS.get(
        (source_epsg, target_epsg),
        lambda: Transformer.from_crs(source_epsg, target_epsg, always_xy=True),
    )


def to_utm(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Project WGS84 degrees to UTM 51N metres (EPSG:32651), vectorised."""
    x, y = _transformer(WGS84_EPSG, UTM51N_EPSG).transform(
        np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    )
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def from_utm(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Unproject UTM 51N metres (EPSG:32651) to WGS84 degrees, vectorised."""
    lon, lat = _transformer(UTM51N_EPSG, WGS84_EPSG).transform(
        np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    )
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def haversine_m(
    lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
) -> NDArray[np.float64]:
    """Great-circle distance in metres on the mean-radius sphere, vectorised (broadcasts)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=float)
