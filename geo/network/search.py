"""Shortest-path searches from snapped points, and route geometry.

A snapped point sits inside a street piece, so a search from it starts at up to two nodes
(the ends of the piece) with the access leg plus the partial-edge costs as offsets. scipy's Dijkstra has no
start offsets, so both ends are searched (one call, two rows) and combined per node:
``dist[x] = min(cost_head + D[0, x], cost_tail + D[1, x])``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csgraph

from geo.network.csr import Network
from geo.network.geometry import route_lonlat
from geo.network.snap import Snapped, access_cost, arrive_costs, leave_costs

_NO_PRED = -9999


@dataclass(frozen=True)
class PointSearch:
    """Result of a search from one snapped point.

    Attributes
    ----------
    dist
        Cost from the point to every node (``inf`` if not reached within the limit).
    row
        Which start (0 = head end, 1 = tail end) gives ``dist``.
    pred
        Predecessor matrix of the two searches, shape ``(2, n)``.
    start_nodes
        The two start nodes (-1 if that direction is not allowed).
    """

    dist: np.ndarray
    row: np.ndarray
    pred: np.ndarray
    start_nodes: np.ndarray

    def path_to(self, node: int) -> list[int]:
        """Nodes from the start end to ``node`` (inclusive); empty if unreached."""
        if not np.isfinite(self.dist[node]):
            return []
        r = int(self.row[node])
        pred = self.pred[r]
        path = [int(node)]
        while pred[path[-1]] != _NO_PRED:
            path.append(int(pred[path[-1]]))
        path.reverse()
        return path


def search_from(
    net: Network, snapped: Snapped, i: int, *, weight: str = "time", limit: float = np.inf
) -> PointSearch:
    """Dijkstra from snapped point ``i`` over the forward graph, bounded by ``limit``.

    Parameters
    ----------
    net
        The network.
    snapped
        Snapped points; only point ``i`` is used.
    i
        Index of the point.
    weight
        ``"time"`` or ``"length"``.
    limit
        Largest cost of interest; nodes beyond it get ``inf``.
    """
    ends = leave_costs(net, snapped.take(np.array([i])), weight)
    starts = np.array([ends.node_head[0], ends.node_tail[0]], dtype=np.int64)
    offsets = np.array([ends.cost_head[0], ends.cost_tail[0]])
    n = net.n_nodes
    dist = np.full(n, np.inf)
    row = np.zeros(n, dtype=np.int8)
    pred = np.full((2, n), _NO_PRED, dtype=np.int32)
    valid = np.flatnonzero(starts >= 0)
    if valid.size:
        lim = float(limit) if np.isfinite(limit) else np.inf
        d, p = csgraph.dijkstra(
            net.graph(weight), directed=True, indices=starts[valid],
            return_predecessors=True, limit=lim,
        )  # fmt: skip
        d = d + offsets[valid, None]
        best = np.argmin(d, axis=0)
        dist = d[best, np.arange(n)]
        row = valid[best].astype(np.int8)
        pred[valid] = p
    if np.isfinite(limit):
        dist[dist > limit] = np.inf
    return PointSearch(dist=dist, row=row, pred=pred, start_nodes=starts)


def arrival_cost(
    net: Network, dist: np.ndarray, snapped: Snapped, weight: str = "time"
) -> tuple[np.ndarray, np.ndarray]:
    """Cost of reaching each snapped point given node costs ``dist``; and the node used.

    Returns
    -------
    cost, via_node
        ``inf`` / -1 where neither end is reached.
    """
    ends = arrive_costs(net, snapped, weight)
    head = np.where(ends.node_head >= 0, dist[np.maximum(ends.node_head, 0)], np.inf)
    head = head + ends.cost_head
    tail = dist[ends.node_tail] + ends.cost_tail
    use_head = head < tail
    cost = np.where(use_head, head, tail)
    via = np.where(use_head, ends.node_head, ends.node_tail)
    return cost, np.where(np.isfinite(cost), via, -1)


def same_piece(
    net: Network, o_geo: int, o_t: float, d_geo: np.ndarray, d_t: np.ndarray, weight: str = "time"
) -> np.ndarray:
    """Cost of going straight along a shared piece from ``o_t`` to each ``d_t`` (else inf)."""
    w = net.weights(weight)
    out = np.full(d_geo.shape[0], np.inf)
    same = d_geo == o_geo
    if not same.any():
        return out
    fwd, bwd = int(net.geo_fwd[o_geo]), int(net.geo_bwd[o_geo])
    dt = d_t[same] - o_t
    cost = np.where(dt >= 0, dt * w[fwd], np.inf)
    if bwd >= 0:
        cost = np.where(dt < 0, -dt * w[bwd], cost)
    out[same] = cost
    return out


def direct_cost(
    net: Network, origin: Snapped, i: int, dest: Snapped, weight: str = "time"
) -> np.ndarray:
    """Cost from point ``i`` of ``origin`` to each of ``dest`` straight along a shared piece.

    Both access legs included (``along + access_o + access_d``); ``inf`` where the two do
    not share a piece or the piece may not be travelled that way.
    """
    along = same_piece(net, int(origin.geo[i]), float(origin.fraction[i]), dest.geo,
                       dest.fraction, weight)  # fmt: skip
    return along + float(access_cost(origin, weight)[i]) + access_cost(dest, weight)


def path_length(net: Network, nodes: list[int], weight: str = "length") -> float:
    """Sum of ``weight`` over the edges of a node path."""
    if len(nodes) < 2:
        return 0.0
    arr = np.asarray(nodes, dtype=np.int64)
    edges = net.edge_ids(arr[:-1], arr[1:])
    return float(net.weights(weight)[edges].astype(np.float64).sum())


def route_coords(
    net: Network,
    o_geo: int,
    o_t: float,
    nodes: list[int],
    d_geo: int,
    d_t: float,
    *,
    origin: tuple[float, float] | None = None,
    destination: tuple[float, float] | None = None,
) -> list[list[float]]:
    """Coordinates of a route: partial first piece, whole edges, partial last piece.

    With an empty ``nodes`` the route stays on one piece from ``o_t`` to ``d_t``;
    ``origin`` / ``destination`` add the access legs (see
    :func:`geo.network.geometry.route_lonlat`).
    """
    ends = {"origin": origin, "destination": destination}
    if not nodes:
        return route_lonlat(net, o_geo, o_t, -1, [], d_geo, d_t, **ends)
    arr = np.asarray(nodes, dtype=np.int64)
    edges = net.edge_ids(arr[:-1], arr[1:]) if arr.size > 1 else arr[:0]
    return route_lonlat(net, o_geo, o_t, int(arr[0]), edges, d_geo, d_t, **ends)
