"""Single-point fast path: snapping and the k=1 nearest-facility lookup for one point.

The batched path spends almost all of a one-point call in fixed overhead (array set-up,
dozens of small numpy calls, a KD-tree query). Here one point costs a pyproj call on
floats, a :class:`~geo.network.grid.SnapGrid` lookup with a short pure-Python loop, and
scalar arithmetic on the facility labels. Every operation repeats the batched path's
arithmetic in the same order, so the answers are identical (tested on thousands of seeded
points); the rare point the grid cannot answer exactly (far from every street, outside
the grid) returns None and the caller uses the batched path.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from geo.network.csr import Network
from geo.network.geometry import route_lonlat
from geo.network.grid import nearest_segment_scalar, snap_grid
from geo.network.snap import ACCESS_SPEED_MPS, Snapped
from geo.network.topk import direct_on_piece, nearest_from_labels

if TYPE_CHECKING:
    from geo.network.nearest import FacilityIndex


def snap_scalar(
    net: Network, lon: float, lat: float
) -> tuple[int, float, float, float, float, bool] | None:
    """Snap one WGS84 point exactly as :func:`geo.network.snap.snap` would.

    Returns
    -------
    (geo, fraction, snap_distance_m, sx, sy, inside) or None
        The piece, the fraction along it, the distance to it, the snapped position in
        EPSG:32651 and whether the point is certainly inside the coverage polygon; None
        when the grid cannot decide (use the batched path).
    """
    px, py = net._to_metric.transform(lon, lat)
    grid = snap_grid(net)
    found = nearest_segment_scalar(grid, px, py)
    if found is None:
        return None
    row, t, sx, sy, dist, inside = found
    geo = int(row[6])
    geo_len = float(grid.pieces[geo, 8])
    frac = (row[7] + t * row[8]) / geo_len if geo_len > 0 else 0.0
    return geo, min(max(frac, 0.0), 1.0), dist, sx, sy, inside


def snap_one_fast(net: Network, lon: float, lat: float, max_snap_m: float) -> Snapped | None:
    """:class:`Snapped` for one point via :func:`snap_scalar` (None: use the batched path)."""
    found = snap_scalar(net, lon, lat)
    if found is None:
        return None
    geo, frac, dist, sx, sy, _ = found
    slon, slat = net._to_lonlat.transform(sx, sy)
    return Snapped(geo=np.array([geo]), fraction=np.array([frac]),
                   snap_distance_m=np.array([dist]), lon=np.array([slon]),
                   lat=np.array([slat]), ok=np.array([dist <= max_snap_m]))  # fmt: skip


def _snap_inside(net: Network, lon: float, lat: float) -> tuple[int, float, float] | None:
    """``(piece, fraction, snap_distance_m)`` of a point inside coverage, else None."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    found = snap_scalar(net, lon, lat)
    if found is None:
        return None
    g, t, snap_d, _, _, inside = found
    if not inside and not net.coverage_contains_xy(lon, lat):
        return None
    return g, t, snap_d


def nearest_k_scalar(
    index: FacilityIndex,
    lon: float,
    lat: float,
    *,
    k: int,
    max_cost_s: float,
    with_route: bool,
    max_snap_m: float,
) -> tuple[str, list[int], list[float], list[float], float, list | None] | None:
    """The ``k`` nearest facilities of one point from the top-k labels (k > 1).

    Returns
    -------
    (status, facilities, durations_s, distances_m, snap_distance_m, routes) or None
        None when the point is outside coverage, the grid cannot snap it or the labels
        cannot certify the answer (use the batched path).
    """
    found = _snap_inside(index.net, lon, lat)
    if found is None:
        return None
    g, t, snap_d = found
    if not snap_d <= max_snap_m:
        return "snap_too_far", [], [], [], snap_d, None
    res = nearest_from_labels(index, g, t, snap_d, k, max_cost_s, with_route, origin=(lon, lat))
    if res is None:
        return None
    facs, durs, dists, routes = res
    return ("network" if facs else "unreachable"), facs, durs, dists, snap_d, routes


def nearest_k1_scalar(
    index: FacilityIndex,
    lon: float,
    lat: float,
    *,
    max_cost_s: float,
    with_route: bool,
    max_snap_m: float,
) -> tuple[str, int, float, float, float, list[list[float]] | None] | None:
    """Nearest facility of one point inside coverage (see :func:`geo.network.nearest.nearest`).

    Costs are door to door, in the batched path's arithmetic: the point's access leg
    (``snap_distance_m`` at :data:`~geo.network.snap.ACCESS_SPEED_MPS`) plus the partial
    edge plus the end node's label (which holds the facility's access leg).

    Returns
    -------
    (status, facility, duration_s, distance_m, snap_distance_m, route) or None
        ``status`` is ``network``, ``unreachable`` or ``snap_too_far``; None when the point
        is outside coverage or the grid cannot snap it (use the batched path).
    """
    net = index.net
    found = _snap_inside(net, lon, lat)
    if found is None:
        return None
    g, t, snap_d = found
    if not snap_d <= max_snap_m:
        return "snap_too_far", -1, math.nan, math.nan, snap_d, None
    _, bwd_f, head_f, tail_f, t_fwd, t_bwd, l_fwd, l_bwd, _ = snap_grid(net).pieces[g].tolist()
    bwd, head = int(bwd_f), int(head_f)
    label = index.cost_s
    a_time = snap_d / ACCESS_SPEED_MPS
    head_cost = (1.0 - t) * t_fwd + a_time + float(label[head])
    if bwd >= 0:
        tail = int(tail_f)
        tail_cost = t * t_bwd + a_time + float(label[tail])
    else:
        tail, tail_cost = 0, math.inf
    if head_cost <= tail_cost:
        cost, start = head_cost, head
        length = (1.0 - t) * l_fwd + snap_d + float(index.length_m[head])
    else:
        cost, start = tail_cost, tail
        length = t * l_bwd + snap_d + float(index.length_m[tail])
    fac = int(index.facility[start])
    # a facility on the query's own piece, reached directly
    for j, c_time, c_len in direct_on_piece(index, g, t, snap_d, bwd, t_fwd, t_bwd, l_fwd,
                                            l_bwd):  # fmt: skip
        if c_time < cost:
            cost, fac, start, length = c_time, j, -1, c_len
    if not (math.isfinite(cost) and cost <= max_cost_s):
        return "unreachable", -1, math.nan, math.nan, snap_d, None
    route = None
    if with_route:
        edges: list[int] = []
        if start >= 0:
            n = net.n_nodes
            nxt, nxt_edge = index.next_node, index.next_edge
            v = start
            while (w := nxt.item(v)) < n:
                edges.append(nxt_edge.item(v))
                v = w
        route = route_lonlat(net, g, t, start, edges, int(index.fac_snap.geo[fac]),
                             float(index.fac_snap.fraction[fac]), origin=(lon, lat),
                             destination=(float(index.fac_lon[fac]), float(index.fac_lat[fac])))
    return "network", fac, cost, length, snap_d, route
