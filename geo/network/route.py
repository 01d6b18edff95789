"""Point-to-point fastest route between two WGS84 points.

Both points are snapped to the nearest street piece. The route is door to door: the access
leg from the origin to its street and from the destination's street to the destination
(walked, :data:`geo.network.snap.ACCESS_SPEED_MPS`) are part of its cost, length and line.
The search starts at both ends of the origin's piece with the access leg plus the
partial-edge costs as offsets, and the destination is entered from either end of its piece
plus its partial edge and access leg; two points on the same piece are also joined directly
along it (when the direction is allowed). The search is scipy's Dijkstra bounded by
a cutoff: it starts at twice a lower bound of the travel time (straight-line distance at the
network's top speed) and doubles until the best route found is within the cutoff, which
proves it optimal -- so a short route only explores a small ball of the graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csgraph

from geo._once import once_per_object
from geo.network.csr import Network
from geo.network.errors import SnapTooFarError
from geo.network.geometry import route_lonlat
from geo.network.single import snap_one_fast
from geo.network.snap import (
    DEFAULT_MAX_SNAP_M,
    Snapped,
    access_cost,
    arrive_costs,
    leave_costs,
    snap,
)

_NO_PRED = -9999


@dataclass(frozen=True)
class Route:
    """The fastest route between two points.

    Attributes
    ----------
    status
        ``network`` or ``unreachable`` (no path at all, e.g. across the Huangpu on foot).
    duration_s
        Travel time door to door (NaN when unreachable).
    distance_m
        Length of the fastest route door to door: both access legs and the street part
        (NaN when unreachable).
    coords
        ``[lon, lat]`` from the origin along its access leg and the streets to the
        destination (empty when unreachable).
    snap_distance_m
        Distances from the origin and from the destination to their streets: the access
        legs, in metres.
    n_settled
        Nodes settled by the last search (a measure of the work done).
    """

    status: str
    duration_s: float
    distance_m: float
    coords: list[list[float]] = field(default_factory=list)
    snap_distance_m: tuple[float, float] = (math.nan, math.nan)
    n_settled: int = 0

    @property
    def network_m(self) -> float:
        """The street part of ``distance_m`` (NaN when unreachable)."""
        return self.distance_m - self.snap_distance_m[0] - self.snap_distance_m[1]


def _snap(net: Network, lon: float, lat: float, max_snap_m: float) -> Snapped:
    one = snap_one_fast(net, float(lon), float(lat), max_snap_m)
    if one is None:
        one = snap(net, lon, lat, max_snap_m=max_snap_m)
    if not one.ok[0]:
        raise SnapTooFarError(float(one.snap_distance_m[0]), max_snap_m, net.name)
    return one


@once_per_object
def _top_speed_mps(net: Network) -> float:
    """Largest edge speed of the network (m/s), for a lower bound of travel times."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = net.length_m.astype(np.float64) / net.time_s.astype(np.float64)
    ratio = ratio[np.isfinite(ratio)]
    return float(ratio.max()) if ratio.size else 1.0


def route(
    net: Network,
    o_lon: float,
    o_lat: float,
    d_lon: float,
    d_lat: float,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> Route:
    """Fastest route by travel time from one point to another.

    Parameters
    ----------
    net
        The network (walk or drive).
    o_lon, o_lat, d_lon, d_lat
        Origin and destination, WGS84 degrees.
    max_snap_m
        Snapping limit for both points.

    Returns
    -------
    Route

    Raises
    ------
    SnapTooFarError
        If either point is farther than ``max_snap_m`` from every street (status 422).
    """
    o = _snap(net, o_lon, o_lat, max_snap_m)
    d = _snap(net, d_lon, d_lat, max_snap_m)
    snap_d = (float(o.snap_distance_m[0]), float(d.snap_distance_m[0]))
    o_geo, o_t = int(o.geo[0]), float(o.fraction[0])
    d_geo, d_t = int(d.geo[0]), float(d.fraction[0])
    # directly along a shared piece
    best, best_len, best_path = math.inf, math.inf, None
    if o_geo == d_geo:
        fwd, bwd = int(net.geo_fwd[o_geo]), int(net.geo_bwd[o_geo])
        access_t = float(access_cost(o)[0]) + float(access_cost(d)[0])
        access_l = snap_d[0] + snap_d[1]
        if d_t >= o_t:
            best = (d_t - o_t) * float(net.time_s[fwd]) + access_t
            best_len = (d_t - o_t) * float(net.length_m[fwd]) + access_l
        elif bwd >= 0:
            best = (o_t - d_t) * float(net.time_s[bwd]) + access_t
            best_len = (o_t - d_t) * float(net.length_m[bwd]) + access_l
    leave_t, leave_l = leave_costs(net, o, "time"), leave_costs(net, o, "length")
    arrive_t, arrive_l = arrive_costs(net, d, "time"), arrive_costs(net, d, "length")
    starts = [
        (int(leave_t.node_head[0]), float(leave_t.cost_head[0]), float(leave_l.cost_head[0])),
        (int(leave_t.node_tail[0]), float(leave_t.cost_tail[0]), float(leave_l.cost_tail[0])),
    ]
    ends = [
        (int(arrive_t.node_tail[0]), float(arrive_t.cost_tail[0]), float(arrive_l.cost_tail[0])),
        (int(arrive_t.node_head[0]), float(arrive_t.cost_head[0]), float(arrive_l.cost_head[0])),
    ]
    starts = [s for s in starts if s[0] >= 0]
    ends = [e for e in ends if e[0] >= 0]
    ox, oy = net.project(np.asarray(o.lon), np.asarray(o.lat))
    dx, dy = net.project(np.asarray(d.lon), np.asarray(d.lat))
    crow_m = float(np.hypot(dx - ox, dy - oy)[0])
    # a cheaper route than ``best`` must reach its last node within ``best``
    limit = min(2.0 * crow_m / _top_speed_mps(net) + 60.0, best)
    graph = net.graph("time")
    settled = 0
    while starts and ends:
        dist, pred = csgraph.dijkstra(graph, directed=True, indices=[s[0] for s in starts],
                                      return_predecessors=True, limit=limit)  # fmt: skip
        settled = int(np.isfinite(dist).sum())
        for r, (_, off_t, off_l) in enumerate(starts):
            for node, arr_t, arr_l in ends:
                cost = off_t + float(dist[r, node]) + arr_t
                if cost < best:
                    best, best_path = cost, (r, node, off_l, arr_l)
        if best <= limit or not math.isfinite(limit):
            break
        limit = limit * 2.0 if limit < 86_400.0 else math.inf
    if not math.isfinite(best):
        return Route(status="unreachable", duration_s=math.nan, distance_m=math.nan,
                     snap_distance_m=snap_d, n_settled=settled)  # fmt: skip
    tips = {"origin": (float(o_lon), float(o_lat)), "destination": (float(d_lon), float(d_lat))}
    if best_path is None:  # along the shared piece
        coords = route_lonlat(net, o_geo, o_t, -1, [], d_geo, d_t, **tips)
        return Route(status="network", duration_s=best, distance_m=best_len, coords=coords,
                     snap_distance_m=snap_d, n_settled=settled)  # fmt: skip
    r, node, off_l, arr_l = best_path
    nodes = [node]
    while (p := int(pred[r, nodes[-1]])) != _NO_PRED:
        nodes.append(p)
    nodes.reverse()
    arr = np.asarray(nodes, dtype=np.int64)
    edges = net.edge_ids(arr[:-1], arr[1:])
    length = off_l + float(net.length_m[edges].astype(np.float64).sum()) + arr_l
    coords = route_lonlat(net, o_geo, o_t, nodes[0], edges, d_geo, d_t, **tips)
    return Route(status="network", duration_s=best, distance_m=length, coords=coords,
                 snap_distance_m=snap_d, n_settled=settled)  # fmt: skip
