"""Estimates outside network coverage: great-circle distance times a calibrated detour factor.

Where a network has no streets (outside its coverage polygon) the engine does not pretend
to route: it multiplies the great-circle distance by the median ratio of network distance
to great-circle distance measured on the network itself (:func:`calibrate`), and divides
the great-circle distance by the median "crow-fly speed" (great-circle distance / fastest
network time) for a duration. Answers carry ``method = "estimated"``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
from scipy.sparse import csgraph

from geo.network.csr import Network

logger = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_009.0


def great_circle_m(lon1: object, lat1: object, lon2: object, lat2: object) -> np.ndarray:
    """Great-circle (haversine) distance in metres, broadcasting over arrays."""
    p1, p2 = np.radians(np.asarray(lat1, float)), np.radians(np.asarray(lat2, float))
    dl = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@dataclass(frozen=True)
class Calibration:
    """Detour statistics of a network (network length / great-circle distance).

    Attributes
    ----------
    network, profile
        Where the figures were measured.
    detour_median, detour_p90
        Median and 90th percentile of the shortest network length over the great-circle
        distance.
    crow_speed_mps
        Median great-circle distance divided by the fastest network travel time.
    n_pairs, seed, min_distance_m
        Sample size, random seed and the shortest great-circle distance sampled.
    """

    network: str
    profile: str
    detour_median: float
    detour_p90: float
    crow_speed_mps: float
    n_pairs: int
    seed: int
    min_distance_m: float

    def as_dict(self) -> dict[str, object]:
        """Plain-dict form for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibration:
        """Inverse of :meth:`as_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


def calibrate(
    net: Network,
    *,
    n_origins: int = 200,
    per_origin: int = 10,
    seed: int = 42,
    min_distance_m: float = 500.0,
) -> Calibration:
    """Measure detour ratios over seeded random node pairs of a network.

    ``n_origins`` random nodes are searched by length and by time; ``per_origin`` random
    reachable destinations at least ``min_distance_m`` away (great circle) are drawn for
    each.

    Returns
    -------
    Calibration
    """
    rng = np.random.default_rng(seed)
    n = net.n_nodes
    origins = rng.choice(n, size=min(n_origins, n), replace=False)
    ratios: list[np.ndarray] = []
    speeds: list[np.ndarray] = []
    for chunk in np.array_split(origins, max(1, len(origins) // 50)):
        d_len = csgraph.dijkstra(net.graph("length"), directed=True, indices=chunk)
        d_time = csgraph.dijkstra(net.graph("time"), directed=True, indices=chunk)
        for r, o in enumerate(chunk.tolist()):
            gc = great_circle_m(net.node_lon[o], net.node_lat[o], net.node_lon, net.node_lat)
            cand = np.flatnonzero(np.isfinite(d_len[r]) & (gc >= min_distance_m))
            if cand.size == 0:
                continue
            pick = rng.choice(cand, size=min(per_origin, cand.size), replace=False)
            ratios.append(d_len[r, pick] / gc[pick])
            speeds.append(gc[pick] / d_time[r, pick])
    ratio = np.concatenate(ratios) if ratios else np.array([np.nan])
    speed = np.concatenate(speeds) if speeds else np.array([np.nan])
    calib = Calibration(
        network=net.name, profile=net.profile,
        detour_median=round(float(np.median(ratio)), 4),
        detour_p90=round(float(np.percentile(ratio, 90)), 4),
        crow_speed_mps=round(float(np.median(speed)), 4),
        n_pairs=int(ratio.size), seed=seed, min_distance_m=min_distance_m,
    )  # fmt: skip
    logger.info("calibration of %s: %s", net.name, calib)
    return calib


def estimate(
    calibration: Calibration, o_lon: object, o_lat: object, d_lon: object, d_lat: object
) -> tuple[np.ndarray, np.ndarray]:
    """Estimated distance (m) and duration (s) between points (broadcasting)."""
    gc = great_circle_m(o_lon, o_lat, d_lon, d_lat)
    return gc * calibration.detour_median, gc / calibration.crow_speed_mps


def estimate_nearest(
    calibration: Calibration,
    lon: np.ndarray,
    lat: np.ndarray,
    fac_lon: np.ndarray,
    fac_lat: np.ndarray,
    *,
    k: int = 1,
    chunk: int = 2048,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` facilities with the smallest estimated distance, per query point.

    Returns
    -------
    facility, distance_m, duration_s
        ``(Q, k)`` arrays; facility -1 and NaN where there are fewer than k facilities.
    """
    n_q, n_f = len(lon), len(fac_lon)
    fac = np.full((n_q, k), -1, dtype=np.int64)
    dist = np.full((n_q, k), np.nan)
    dur = np.full((n_q, k), np.nan)
    kk = min(k, n_f)
    if kk == 0:
        return fac, dist, dur
    for a in range(0, n_q, chunk):
        b = min(a + chunk, n_q)
        gc = great_circle_m(lon[a:b, None], lat[a:b, None], fac_lon[None, :], fac_lat[None, :])
        part = np.argpartition(gc, kk - 1, axis=1)[:, :kk]
        order = np.take_along_axis(part, np.argsort(np.take_along_axis(gc, part, 1), 1), 1)
        g = np.take_along_axis(gc, order, 1)
        fac[a:b, :kk] = order
        dist[a:b, :kk] = g * calibration.detour_median
        dur[a:b, :kk] = g / calibration.crow_speed_mps
    return fac, dist, dur


def in_coverage(net: Network, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether points lie inside the network's coverage polygon (all True if it has none)."""
    lon = np.atleast_1d(np.asarray(lon, float))
    lat = np.atleast_1d(np.asarray(lat, float))
    return np.asarray(net.coverage_contains_xy(lon, lat), dtype=bool)


def network_calibration(net: Network) -> Calibration | None:
    """The calibration stored in a network's metadata, if any."""
    data = net.meta.get("calibration")
    return Calibration.from_dict(data) if isinstance(data, dict) else None
