"""Travel-time and distance matrices between points (origins x destinations).

Points are snapped to street pieces; each origin is searched from both ends of its piece
(one scipy Dijkstra call per chunk of origins, bounded by the cutoff), and each destination
is reached through the cheaper end of its piece plus the partial edge, or directly along a
shared piece. Costs are door to door: both points' access legs (between the point and its
street, :func:`geo.network.snap.access_cost`) are included; a point to itself costs 0. With a cutoff the result is a scipy CSR matrix holding only the pairs within
it (absent = beyond the cutoff or unreachable); without, a dense array with ``inf`` for
unreachable pairs. Used by the coverage, site-planning and routing engines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from geo.network.csr import Network
from geo.network.errors import InvalidQueryError
from geo.network.search import direct_cost
from geo.network.snap import DEFAULT_MAX_SNAP_M, Snapped, arrive_costs, leave_costs, snap

#: Origins searched per scipy call (each needs two rows of n floats).
CHUNK_ORIGINS = 64


@dataclass(frozen=True)
class TravelMatrix:
    """Costs between snapped origins and destinations.

    Attributes
    ----------
    values
        ``(O, D)`` dense ``ndarray`` of door-to-door costs (``inf`` = unreachable) or, with a
        cutoff, a
        ``scipy.sparse.csr_matrix`` holding only pairs within the cutoff. A pair whose
        cost is exactly 0 (same point) is stored as 1e-9 in the sparse form so it is kept.
    weight
        ``"time"`` (seconds) or ``"length"`` (metres).
    origin_snap, destination_snap
        The snapped points (``snap_distance_m`` is each point's access leg); rows/columns
        of points with ``ok = False`` (beyond ``max_snap_m``) are unreachable.
    """

    values: np.ndarray | sparse.csr_matrix
    weight: str
    origin_snap: Snapped
    destination_snap: Snapped


def node_matrix(
    net: Network, sources: np.ndarray, targets: np.ndarray, weight: str = "time"
) -> np.ndarray:
    """Shortest-path costs between nodes (dense ``(S, T)``, ``inf`` if unreachable)."""
    sources = np.asarray(sources, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    out = np.empty((sources.size, targets.size))
    for a in range(0, sources.size, CHUNK_ORIGINS):
        idx = sources[a : a + CHUNK_ORIGINS]
        out[a : a + idx.size] = csgraph.dijkstra(net.graph(weight), indices=idx)[:, targets]
    return out


def travel_matrix(
    net: Network,
    o_lon: object,
    o_lat: object,
    d_lon: object,
    d_lat: object,
    *,
    weight: str = "time",
    cutoff: float | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> TravelMatrix:
    """Door-to-door travel costs from every origin to every destination.

    Each cost is the origin's access leg, the street part and the destination's access leg;
    a pair of identical points costs 0.

    Parameters
    ----------
    net
        The network.
    o_lon, o_lat, d_lon, d_lat
        Origins and destinations (WGS84 degrees, scalars or 1-d arrays).
    weight
        ``"time"`` (seconds, the default) or ``"length"`` (metres of the shortest path).
    cutoff
        If given, only pairs with cost <= cutoff are returned, as a sparse matrix.
    max_snap_m
        Points farther than this from a street are treated as unreachable.

    Returns
    -------
    TravelMatrix

    Raises
    ------
    InvalidQueryError
        For a negative cutoff or an unknown weight.
    """
    if cutoff is not None and not cutoff >= 0:
        msg = f"cutoff must be a non-negative number, got {cutoff}"
        raise InvalidQueryError(msg)
    net.weights(weight)
    o = snap(net, o_lon, o_lat, max_snap_m=max_snap_m)
    d = snap(net, d_lon, d_lat, max_snap_m=max_snap_m)
    n_o, n_d = len(o), len(d)
    limit = np.inf if cutoff is None else float(cutoff)
    leave = leave_costs(net, o, weight)
    arrive = arrive_costs(net, d, weight)
    d_head = np.maximum(arrive.node_head, 0)
    dense = np.full((n_o, n_d), np.inf)
    graph = net.graph(weight)
    valid_o = np.flatnonzero(o.ok)
    for a in range(0, valid_o.size, CHUNK_ORIGINS):
        rows = valid_o[a : a + CHUNK_ORIGINS]
        starts = np.r_[leave.node_head[rows], leave.node_tail[rows]]
        offs = np.r_[leave.cost_head[rows], leave.cost_tail[rows]]
        use = starts >= 0
        dist = np.full((starts.size, net.n_nodes), np.inf)
        if use.any():
            dist[use] = csgraph.dijkstra(graph, indices=starts[use], limit=limit)
        dist += offs[:, None]
        node_cost = np.minimum(dist[: rows.size], dist[rows.size :])
        via_tail = node_cost[:, arrive.node_tail] + arrive.cost_tail
        via_head = np.where(arrive.node_head >= 0, node_cost[:, d_head] + arrive.cost_head, np.inf)
        dense[rows] = np.minimum(via_tail, via_head)
    # origin and destination on the same piece
    shared = np.intersect1d(o.geo[o.ok], d.geo[d.ok])
    for i in np.flatnonzero(o.ok & np.isin(o.geo, shared)).tolist():
        dense[i] = np.minimum(dense[i], direct_cost(net, o, i, d, weight))
    dense[:, ~d.ok] = np.inf
    # a point to itself: no access legs to walk
    same_lon = np.atleast_1d(np.asarray(o_lon, float))[:, None] == np.atleast_1d(
        np.asarray(d_lon, float))[None, :]
    same_lat = np.atleast_1d(np.asarray(o_lat, float))[:, None] == np.atleast_1d(
        np.asarray(d_lat, float))[None, :]
    dense[same_lon & same_lat & o.ok[:, None] & d.ok[None, :]] = 0.0
    if cutoff is None:
        return TravelMatrix(values=dense, weight=weight, origin_snap=o, destination_snap=d)
    keep = dense <= limit
    r, c = np.nonzero(keep)
    vals = np.maximum(dense[r, c], 1e-9)
    mat = sparse.csr_matrix((vals, (r, c)), shape=(n_o, n_d))
    return TravelMatrix(values=mat, weight=weight, origin_snap=o, destination_snap=d)
