"""Straight-line nearest neighbours on the sphere through a KD-tree.

Points are placed on the unit sphere in 3-D; the chord length between two points is a
monotone function of their great-circle distance, so a Euclidean KD-tree
(``scipy.spatial.cKDTree``) over the unit vectors returns exactly the great-circle nearest
neighbours, which are then converted to metres. Queries are vectorised.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from geo.crs import EARTH_RADIUS_M


def unit_vectors(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.float64]:
    """Unit vectors (n, 3) on the sphere for WGS84 degrees."""
    lam = np.radians(np.asarray(lon, dtype=float))
    phi = np.radians(np.asarray(lat, dtype=float))
    cos_phi = np.cos(phi)
    return np.column_stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)])


def chord_to_metres(chord: ArrayLike) -> NDArray[np.float64]:
    """Great-circle metres for chord lengths on the unit sphere."""
    return np.asarray(
        2.0 * EARTH_RADIUS_M * np.arcsin(np.clip(np.asarray(chord, float) / 2.0, 0.0, 1.0)),
        dtype=float,
    )


class PointIndex:
    """An immutable spatial index over WGS84 points for great-circle k-nearest queries.

    Parameters
    ----------
    lon, lat
        Coordinates of the indexed points (degrees, WGS84).
    """

    def __init__(self, lon: ArrayLike, lat: ArrayLike) -> None:
        self.lon = np.asarray(lon, dtype=float).ravel()
        self.lat = np.asarray(lat, dtype=float).ravel()
        if self.lon.shape != self.lat.shape:
            raise ValueError("lon and lat must have the same length")
        self.size = int(self.lon.size)
        self._tree = cKDTree(unit_vectors(self.lon, self.lat)) if self.size else None

    def query(
        self, lon: ArrayLike, lat: ArrayLike, k: int = 1
    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """The ``k`` nearest indexed points of each query point.

        Returns
        -------
        distance_m, index
            Arrays of shape (n_queries, k'), ``k' = min(k, size)``, ordered by distance.
        """
        k_eff = min(k, self.size)
        if isinstance(lon, float | int) and isinstance(lat, float | int) and self._tree and k_eff:
            return self._query_one(float(lon), float(lat), k_eff)
        queries = unit_vectors(np.atleast_1d(lon), np.atleast_1d(lat))
        if self._tree is None or k_eff == 0:
            empty = np.empty((len(queries), 0))
            return empty, empty.astype(np.int64)
        chord, index = self._tree.query(queries, k=k_eff)
        chord = np.asarray(chord).reshape(len(queries), k_eff)
        index = np.asarray(index, dtype=np.int64).reshape(len(queries), k_eff)
        return chord_to_metres(chord), index

    def _query_one(
        self, lon: float, lat: float, k: int
    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """:meth:`query` for one point given as floats (no per-call array building)."""
        lam, phi = math.radians(lon), math.radians(lat)
        vector = (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))
        chord, index = self._tree.query(vector, k=k)  # type: ignore[union-attr]
        chord = np.asarray(chord, dtype=np.float64).reshape(1, k)
        metres = 2.0 * EARTH_RADIUS_M * np.arcsin(np.minimum(chord / 2.0, 1.0))
        return metres, np.asarray(index, dtype=np.int64).reshape(1, k)

    def query_filtered(
        self,
        lon: float,
        lat: float,
        k: int,
        accept: Callable[[NDArray[np.int64]], NDArray[np.bool_]],
    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """The ``k`` nearest points of one query that pass a vectorised filter.

        ``accept`` maps an array of candidate indices to a boolean array. The search widens
        (doubling) until ``k`` accepted points are found or the index is exhausted, so a
        selective filter never degrades to a scan unless it must.
        """
        if self._tree is None or k <= 0:
            return np.empty(0), np.empty(0, dtype=np.int64)
        lam, phi = math.radians(lon), math.radians(lat)
        vector = (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))
        probe = min(self.size, max(4 * k, 16))
        while True:
            chord, index = self._tree.query(vector, k=probe)
            index = np.atleast_1d(index)
            keep = np.flatnonzero(accept(index))
            if len(keep) >= k or probe >= self.size:
                chosen = keep[:k]
                return chord_to_metres(np.atleast_1d(chord)[chosen]), index[chosen]
            probe = min(self.size, probe * 2)

    def within(self, lon: float, lat: float, radius_m: float) -> NDArray[np.int64]:
        """Indices of the points within ``radius_m`` great-circle metres of a point."""
        if self._tree is None:
            return np.empty(0, dtype=np.int64)
        chord = 2.0 * np.sin(min(radius_m / EARTH_RADIUS_M, np.pi) / 2.0)
        found = self._tree.query_ball_point(unit_vectors([lon], [lat])[0], r=chord)
        return np.asarray(sorted(found), dtype=np.int64)
