"""Drive times for check-up routing, with the method of every pair, and leg geometry.

:func:`drive_matrices` asks the network service for drive times and distances between all
locations of a request (depots, then bookings). A pair is ``network`` when both ends lie in
the drive network's coverage and the network joins them; its time is door to door: the walk
between each location and the street the vehicle stops on (at walking speed, the rule of
``docs/network.md``) plus the drive; every other pair is
``estimated``: great-circle distance × the network's calibrated detour factor, at its
calibrated crow-fly speed (the documented estimate of ``docs/network.md``). That includes
pairs inside the coverage where a workplace lies farther than the snapping limit from any
mapped street (the citywide drive network holds only the major roads outside the centre).

:func:`leg_geometry` draws a network leg along the streets (one Dijkstra per origin over the
drive graph, from the same snapped points as the matrix) and an estimated leg as a straight
segment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from geo.crs import haversine_m
from geo.network import Network, snap
from geo.network.search import arrival_cost, direct_cost, route_coords, search_from
from geo.network.snap import Snapped
from layers.networks import NetworkService

logger = logging.getLogger(__name__)

PROFILE = "drive"


@dataclass(frozen=True)
class DriveMatrices:
    """Drive times between the locations of a request.

    Attributes
    ----------
    duration_s, distance_m
        ``(L, L)``, rows/columns = depots then bookings; ``inf`` = unreachable.
    estimated
        ``(L, L)`` bool: the pair is a straight-line estimate, not a network route.
    network
        Name of the drive network (``None`` when none was used).
    off_street
        Location indices farther than the snapping limit from every street of the network
        (inside its coverage; their pairs are estimated).
    """

    duration_s: np.ndarray
    distance_m: np.ndarray
    estimated: np.ndarray
    network: str | None
    off_street: tuple[int, ...] = ()

    @property
    def method(self) -> str:
        """``network``, ``estimate`` or ``network+estimate`` (for the plan's summary)."""
        n = self.estimated.shape[0]
        off_diag = ~np.eye(n, dtype=bool)
        est = self.estimated[off_diag]
        if est.size == 0 or not est.any():
            return "network"
        return "estimate" if est.all() else "network+estimate"


def drive_matrices(
    networks: NetworkService, lon: np.ndarray, lat: np.ndarray, unreachable: np.ndarray
) -> DriveMatrices:
    """Drive times and distances between points, network where covered.

    Parameters
    ----------
    networks
        The network service (its ``drive`` profile).
    lon, lat
        WGS84 coordinates of the locations (depots, then bookings).
    unreachable
        ``(L,)`` bool: locations to cut off (outside the service area); their rows and
        columns become ``inf`` (except the diagonal).

    Returns
    -------
    DriveMatrices
    """
    points = np.c_[np.asarray(lon, float), np.asarray(lat, float)]
    answer = networks.matrix(points, points, PROFILE, None)
    calibration = networks.calibration(PROFILE)
    duration = np.asarray(answer["duration_s"], dtype=float).copy()
    distance = np.asarray(answer["distance_m"], dtype=float).copy()
    estimated = np.asarray(answer["estimated"], dtype=bool).copy()
    # inside coverage but not joined (off-street workplace, or cut off): the estimate
    missing = ~np.isfinite(duration) | ~np.isfinite(distance)
    off_street: tuple[int, ...] = ()
    if missing.any():
        great_circle = haversine_m(points[:, 0, None], points[:, 1, None],
                                   points[None, :, 0], points[None, :, 1])  # fmt: skip
        duration[missing] = great_circle[missing] / calibration.crow_speed_mps
        distance[missing] = great_circle[missing] * calibration.detour_median
        estimated |= missing
        rows = missing.sum(axis=1)
        off_street = tuple(int(i) for i in np.flatnonzero(rows >= max(1, len(points) - 1)))
    np.fill_diagonal(duration, 0.0)
    np.fill_diagonal(distance, 0.0)
    cut = np.asarray(unreachable, dtype=bool)
    if cut.any():
        duration[cut, :] = np.inf
        duration[:, cut] = np.inf
        distance[cut, :] = np.inf
        distance[:, cut] = np.inf
        duration[cut, cut] = 0.0
        distance[cut, cut] = 0.0
    logger.info("drive matrices: %d locations, %.0f%% of pairs on the network",
                len(points), 100.0 * float((~estimated).mean()))  # fmt: skip
    return DriveMatrices(duration, distance, estimated, str(answer["network"]), off_street)


def _straight(lon: np.ndarray, lat: np.ndarray, a: int, b: int) -> list[list[float]]:
    return [[float(lon[a]), float(lat[a])], [float(lon[b]), float(lat[b])]]


def _network_leg(
    net: Network, snapped: Snapped, origin_search: object, a: int, b: int
) -> list[list[float]] | None:
    """Street coordinates from snapped point ``a`` to ``b`` given ``a``'s search, or None."""
    ps = origin_search
    one = snapped.take(np.array([b]))
    cost, via = arrival_cost(net, ps.dist, one)  # type: ignore[attr-defined]
    direct = direct_cost(net, snapped, a, one)
    o_geo, o_t = int(snapped.geo[a]), float(snapped.fraction[a])
    d_geo, d_t = int(snapped.geo[b]), float(snapped.fraction[b])
    if np.isfinite(direct[0]) and direct[0] <= cost[0]:
        return route_coords(net, o_geo, o_t, [], d_geo, d_t)
    if not np.isfinite(cost[0]) or via[0] < 0:
        return None
    nodes = ps.path_to(int(via[0]))  # type: ignore[attr-defined]
    if not nodes:
        return None
    return route_coords(net, o_geo, o_t, nodes, d_geo, d_t)


def leg_geometry(
    networks: NetworkService | None,
    lon: np.ndarray,
    lat: np.ndarray,
    legs: list[tuple[int, int]],
    network_legs: set[tuple[int, int]],
) -> dict[tuple[int, int], tuple[list[list[float]], bool]]:
    """Coordinates of every leg: along the streets for network legs, else straight.

    Parameters
    ----------
    networks
        The network service (``None``: every leg straight).
    lon, lat
        WGS84 coordinates of the locations.
    legs
        ``(from, to)`` location index pairs.
    network_legs
        The pairs whose travel time came from the network.

    Returns
    -------
    dict
        ``(from, to) -> (coordinates, along_streets)``; a network leg whose path cannot be
        rebuilt is drawn straight with ``along_streets = False``.
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    out: dict[tuple[int, int], tuple[list[list[float]], bool]] = {}
    wanted = sorted({leg for leg in legs if leg[0] != leg[1]})
    street = [leg for leg in wanted if leg in network_legs]
    if networks is not None and street:
        net = networks.network(PROFILE)
        snapped = snap(net, lon, lat, max_snap_m=networks.max_snap_m)
        by_origin: dict[int, list[int]] = {}
        for a, b in street:
            by_origin.setdefault(a, []).append(b)
        for a, targets in by_origin.items():
            if not bool(snapped.ok[a]):
                continue
            search = search_from(net, snapped, a, weight="time")
            for b in targets:
                if not bool(snapped.ok[b]):
                    continue
                coords = _network_leg(net, snapped, search, a, b)
                if coords:
                    path = [[float(lon[a]), float(lat[a])], *coords,
                            [float(lon[b]), float(lat[b])]]  # fmt: skip
                    out[(a, b)] = ([[round(x, 6), round(y, 6)] for x, y in path], True)
    for leg in wanted:
        if leg not in out:
            out[leg] = (_straight(lon, lat, *leg), False)
    for leg in legs:
        if leg[0] == leg[1]:
            out[leg] = (_straight(lon, lat, *leg), False)
    return out
