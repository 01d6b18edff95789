"""Nearest facility by network travel time, precomputed per facility layer.

:func:`build_facility_index` snaps the facilities to street pieces and runs one multi-source
Dijkstra on the *reversed* graph from virtual nodes placed at the facilities (each joined to
the two ends of its piece with the facility's access leg plus the partial-edge costs).
Every node then knows the travel time to its nearest facility's door, which facility that
is, the next node on the way, and the length of that path. A k=1 query is then a lookup:
snap the point, add its access leg and the partial edge to each end of its piece, take the
cheaper end; a facility on the same piece is checked directly. k > 1 combines the top-k
labels of :mod:`geo.network.topk`, or runs a bounded Dijkstra from the point, doubling the
bound until k facilities are inside it.

Costs are door-to-door travel times in seconds: the access leg from the point to its
street, the street part, and the access leg from the facility's street to the facility, the
access legs walked at :data:`geo.network.snap.ACCESS_SPEED_MPS` (walk: everything at
1.2 m/s). The reported ``distance_m`` is the length of that whole trip;
:attr:`NearestResult.network_m` and :attr:`NearestResult.access_m` split it. Unreachable
means no facility can be reached at all (for example across the Huangpu on foot) or none
within ``max_cost_s``; it is reported as a status, never as a large number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from geo._once import freeze_arrays, once_property
from geo.network.csr import Network
from geo.network.errors import InvalidQueryError
from geo.network.estimate import Calibration, estimate_nearest, in_coverage
from geo.network.geometry import edge_vertex_span, route_lonlat
from geo.network.grid import snap_grid
from geo.network.search import (
    arrival_cost,
    direct_cost,
    path_length,
    route_coords,
    search_from,
)
from geo.network.single import nearest_k1_scalar, nearest_k_scalar
from geo.network.snap import (
    DEFAULT_MAX_SNAP_M,
    Snapped,
    access_cost,
    arrive_costs,
    leave_costs,
    snap,
)
from geo.network.topk import TopLabels, build_top_labels, nearest_from_labels, piece_table

logger = logging.getLogger(__name__)

#: Query status values.
NETWORK, ESTIMATED, UNREACHABLE, SNAP_TOO_FAR, OUT_OF_COVERAGE = (
    "network", "estimated", "unreachable", "snap_too_far", "out_of_coverage",
)  # fmt: skip


_STATUS_ONE = {s: np.array([s]) for s in (NETWORK, UNREACHABLE, SNAP_TOO_FAR)}


@dataclass(frozen=True, eq=False)
class FacilityIndex:
    """Per-node labels towards the nearest facility of one layer on one network.

    Attributes
    ----------
    net
        The network.
    fac_lon, fac_lat
        Facility positions (WGS84), shape ``(F,)``.
    fac_snap
        The facilities snapped to the network; ``fac_snap.ok`` is False for facilities
        farther than ``max_snap_m`` from any street (they are left out of the labels).
    cost_s
        ``(n,)`` travel time from each node to its nearest facility's door, the facility's
        access leg included (``inf`` if none).
    length_m
        ``(n,)`` length of that path (access leg included).
    facility
        ``(n,)`` index of that facility (-1 if none).
    next_node
        ``(n,)`` next node on the way; ``>= n`` means "arrive at facility ``next - n``".
    """

    net: Network
    fac_lon: np.ndarray
    fac_lat: np.ndarray
    fac_snap: Snapped
    cost_s: np.ndarray
    length_m: np.ndarray
    facility: np.ndarray
    next_node: np.ndarray
    fac_by_geo: np.ndarray  # usable facilities sorted by piece id
    fac_geo_sorted: np.ndarray  # their piece ids

    def __post_init__(self) -> None:
        freeze_arrays(self)  # shared by every request thread: read-only from here on

    @property
    def n_facilities(self) -> int:
        """Number of facilities (including any left out for snapping too far)."""
        return int(self.fac_lon.shape[0])

    @once_property
    def next_edge(self) -> np.ndarray:
        """``(n,)`` edge from each node to ``next_node`` (-1 where the next is a facility)."""
        n = self.net.n_nodes
        out = np.full(n, -1, dtype=np.int64)
        step = np.flatnonzero((self.next_node >= 0) & (self.next_node < n))
        out[step] = self.net.edge_ids(step, self.next_node[step])
        return freeze_arrays(out)

    @once_property
    def fac_on_piece(self) -> dict[int, list[int]]:
        """Usable facilities per street piece, in ``fac_by_geo`` order."""
        out: dict[int, list[int]] = {}
        for g, j in zip(self.fac_geo_sorted.tolist(), self.fac_by_geo.tolist(), strict=True):
            out.setdefault(g, []).append(j)
        return out

    @once_property
    def top_labels(self) -> TopLabels:
        """Every node's ``TOP_K`` nearest facilities (for k > 1; built on first use)."""
        return build_top_labels(self.net, self.fac_snap)

    def prepare(self, *, top_k: bool = True) -> FacilityIndex:
        """Build the lazily derived structures now (single-point grid, route helpers).

        ``top_k`` also builds :attr:`top_labels` (about 0.5 s on the central walk
        network, 1.5 s on the citywide drive network with 1,200 facilities).
        """
        snap_grid(self.net)
        _ = self.next_edge, self.fac_on_piece, self.net.vertex_cum_m, self.net.polylines
        edge_vertex_span(self.net)
        piece_table(self.net)
        if top_k:
            _ = self.top_labels
        return self


@dataclass
class NearestResult:
    """Answers for Q queries and up to k facilities each.

    Attributes
    ----------
    status
        ``(Q,)`` one of ``network``, ``estimated``, ``unreachable``, ``snap_too_far``,
        ``out_of_coverage``.
    facility
        ``(Q, k)`` facility index, -1 where there is no answer.
    duration_s, distance_m
        ``(Q, k)`` the whole trip, door to door (for network answers: both access legs
        and the street part), NaN where there is no answer.
    snap_distance_m
        ``(Q,)`` distance from the query point to the street, its access leg (NaN when
        estimated).
    routes
        Per query, per result: a list of ``[lon, lat]`` from the query point to the
        facility (network answers only, when asked).
    facility_snap_m
        ``(F,)`` every facility's distance to its street (its access leg), indexed like
        ``facility``; None when unknown.
    """

    status: np.ndarray
    facility: np.ndarray
    duration_s: np.ndarray
    distance_m: np.ndarray
    snap_distance_m: np.ndarray
    routes: list[list[list[list[float]]]] | None = None
    facility_snap_m: np.ndarray | None = None

    @property
    def access_m(self) -> np.ndarray:
        """``(Q, k, 2)`` access legs ``[origin, facility]`` in metres of network answers.

        NaN where there is no network answer (estimates have no access legs: the estimate
        covers the whole trip).
        """
        on_net = (self.status == NETWORK)[:, None] & (self.facility >= 0)
        out = np.full((*self.facility.shape, 2), np.nan)
        if self.facility_snap_m is None:
            return out
        fac = self.facility_snap_m[np.maximum(self.facility, 0)]
        out[..., 0] = np.where(on_net, self.snap_distance_m[:, None], np.nan)
        out[..., 1] = np.where(on_net, fac, np.nan)
        return out

    @property
    def network_m(self) -> np.ndarray:
        """``(Q, k)`` the street part of ``distance_m`` (NaN where no network answer)."""
        return self.distance_m - self.access_m.sum(axis=2)


def _virtual_arrivals(net: Network, fac: Snapped, weight: str) -> tuple[np.ndarray, ...]:
    ends = arrive_costs(net, fac, weight)
    return ends.node_tail, ends.cost_tail, ends.node_head, ends.cost_head


def build_facility_index(
    net: Network,
    fac_lon: np.ndarray,
    fac_lat: np.ndarray,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    prepare: bool = True,
) -> FacilityIndex:
    """Precompute nearest-facility labels for every node (one multi-source Dijkstra).

    Parameters
    ----------
    net
        The network.
    fac_lon, fac_lat
        Facility coordinates in WGS84 degrees.
    max_snap_m
        Facilities farther than this from any street are left out.
    prepare
        Also build the single-point structures now (:meth:`FacilityIndex.prepare`; the
        network's snap grid is built once and cached, about 1 s for the central networks).

    Returns
    -------
    FacilityIndex
    """
    fac_lon = np.atleast_1d(np.asarray(fac_lon, dtype=np.float64))
    fac_lat = np.atleast_1d(np.asarray(fac_lat, dtype=np.float64))
    n = net.n_nodes
    fac = snap(net, fac_lon, fac_lat, max_snap_m=max_snap_m)
    ok = np.flatnonzero(fac.ok)
    if ok.size < fac_lon.size:
        logger.info("%d of %d facilities are beyond %.0f m of network %s",
                    fac_lon.size - ok.size, fac_lon.size, max_snap_m, net.name)  # fmt: skip
    n_f = fac_lon.shape[0]
    tail, c_tail, head, c_head = _virtual_arrivals(net, fac.take(ok), "time")
    _, l_tail, _, l_head = _virtual_arrivals(net, fac.take(ok), "length")
    # reversed graph plus virtual facility nodes n + j with edges to the piece ends
    rev = net.reverse_graph("time").tocoo()
    has_head = head >= 0
    rows = np.r_[rev.row, n + ok, n + ok[has_head]]
    cols = np.r_[rev.col, tail, head[has_head]]
    data = np.r_[rev.data, c_tail, c_head[has_head]]
    aug = sparse.csr_matrix((data, (rows, cols)), shape=(n + n_f, n + n_f))
    if ok.size:
        dist, pred, src = csgraph.dijkstra(
            aug, directed=True, indices=n + ok, min_only=True, return_predecessors=True
        )
    else:
        dist = np.full(n + n_f, np.inf)
        pred = np.full(n + n_f, -9999, dtype=np.int32)
        src = pred.copy()
    cost = dist[:n]
    facility = np.where(np.isfinite(cost), src[:n] - n, -1).astype(np.int64)
    next_node = pred[:n].astype(np.int64)
    # length of each node's path: one step, then pointer doubling along next_node
    step = np.zeros(n + 1)
    reached = np.flatnonzero(np.isfinite(cost))
    nxt = next_node[reached]
    to_node = nxt < n
    step[reached[to_node]] = net.length_m[net.edge_ids(reached[to_node], nxt[to_node])]
    j = nxt[~to_node] - n
    at = reached[~to_node]
    pos = np.searchsorted(ok, j)
    via_tail = tail[pos] == at
    step[at] = np.where(via_tail, l_tail[pos], l_head[pos])
    jump = np.full(n + 1, n, dtype=np.int64)
    jump[reached[to_node]] = nxt[to_node]
    acc = step.copy()
    while (jump[:n] != n).any():
        acc = acc + acc[jump]
        jump = jump[jump]
    by_geo = ok[np.argsort(fac.geo[ok], kind="stable")]
    index = FacilityIndex(
        net=net, fac_lon=fac_lon, fac_lat=fac_lat, fac_snap=fac, cost_s=cost,
        length_m=np.where(np.isfinite(cost), acc[:n], np.inf), facility=facility,
        next_node=next_node, fac_by_geo=by_geo, fac_geo_sorted=fac.geo[by_geo],
    )  # fmt: skip
    return index.prepare() if prepare else index


def _route_k1(
    index: FacilityIndex, q: Snapped, i: int, start: int, fac_j: int, origin: tuple[float, float]
) -> list[list[float]]:
    net = index.net
    f = index.fac_snap
    edges: list[int] = []
    if start >= 0:
        n = net.n_nodes
        v = start
        nxt, nxt_edge = index.next_node, index.next_edge
        while (w := nxt.item(v)) < n:
            edges.append(nxt_edge.item(v))
            v = w
    return route_lonlat(net, int(q.geo[i]), float(q.fraction[i]), start, edges,
                        int(f.geo[fac_j]), float(f.fraction[fac_j]), origin=origin,
                        destination=(float(index.fac_lon[fac_j]), float(index.fac_lat[fac_j])))  # fmt: skip


def _same_piece_pairs(
    index: FacilityIndex, q: Snapped
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All (query, facility) pairs on the same piece: direct time and length, door to door."""
    net, f = index.net, index.fac_snap
    order, geo_sorted = index.fac_by_geo, index.fac_geo_sorted
    lo = np.searchsorted(geo_sorted, q.geo, side="left")
    hi = np.searchsorted(geo_sorted, q.geo, side="right")
    count = hi - lo
    qi = np.repeat(np.arange(len(q)), count)
    if qi.size == 0:
        empty = np.empty(0)
        return qi, qi, empty, empty
    fj = order[np.arange(qi.size) - np.repeat(np.cumsum(count) - count, count) + lo[qi]]
    dt = f.fraction[fj] - q.fraction[qi]
    fwd, bwd = net.geo_fwd[q.geo[qi]], net.geo_bwd[q.geo[qi]]
    out = []
    for w, weight in ((net.time_s, "time"), (net.length_m, "length")):
        back = np.where(bwd >= 0, -dt * w[np.maximum(bwd, 0)], np.inf)
        along = np.where(dt >= 0, dt * w[fwd], back)
        out.append(along + access_cost(q, weight)[qi] + access_cost(f, weight)[fj])
    return qi, fj, out[0], out[1]


def _nearest_k1(
    index: FacilityIndex,
    q: Snapped,
    max_cost_s: float,
    with_route: bool,
    q_lon: np.ndarray,
    q_lat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[list[list[float]]]] | None]:
    net = index.net
    t_ends = leave_costs(net, q, "time")
    l_ends = leave_costs(net, q, "length")
    head_cost = t_ends.cost_head + index.cost_s[t_ends.node_head]
    tail_ok = t_ends.node_tail >= 0
    tail_node = np.maximum(t_ends.node_tail, 0)
    tail_cost = np.where(tail_ok, t_ends.cost_tail + index.cost_s[tail_node], np.inf)
    use_head = head_cost <= tail_cost
    cost = np.where(use_head, head_cost, tail_cost)
    start = np.where(use_head, t_ends.node_head, tail_node)
    fac = index.facility[start]
    length = np.where(use_head, l_ends.cost_head, l_ends.cost_tail) + index.length_m[start]
    # a facility on the query's own piece
    qi, fj, c_time, c_len = _same_piece_pairs(index, q)
    if qi.size:
        order = np.lexsort((c_time, qi))
        qi, fj, c_time, c_len = qi[order], fj[order], c_time[order], c_len[order]
        first = np.r_[True, qi[1:] != qi[:-1]]
        qi, fj, c_time, c_len = qi[first], fj[first], c_time[first], c_len[first]
        better = c_time < cost[qi]
        qi, fj = qi[better], fj[better]
        cost[qi], fac[qi], start[qi], length[qi] = c_time[better], fj, -1, c_len[better]
    hit = np.isfinite(cost) & (cost <= max_cost_s)
    fac = np.where(hit, fac, -1)
    routes = None
    if with_route:
        routes = [[_route_k1(index, q, i, int(start[i]), int(fac[i]),
                             (float(q_lon[i]), float(q_lat[i])))] if hit[i] else []
                  for i in range(len(q))]  # fmt: skip
    return (fac[:, None], np.where(hit, cost, np.nan)[:, None],
            np.where(hit, length, np.nan)[:, None], routes)  # fmt: skip


def _facility_costs(index: FacilityIndex, search_dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = index.fac_snap
    cost, via = arrival_cost(index.net, search_dist, f, "time")
    cost[~f.ok] = np.inf
    return cost, via


def _nearest_one_k(
    index: FacilityIndex,
    q: Snapped,
    i: int,
    k: int,
    max_cost_s: float,
    with_route: bool,
    origin: tuple[float, float] | None = None,
) -> tuple[list[int], list[float], list[float], list[list[list[float]]]]:
    """The ``k`` nearest facilities of snapped point ``i`` by a bounded search from it.

    ``origin`` is the unsnapped point, the first coordinate of the routes.
    """
    net = index.net
    f = index.fac_snap
    first = float(index.cost_s[leave_costs(net, q.take(np.array([i])), "time").node_head[0]])
    limit = max_cost_s if np.isfinite(max_cost_s) else max(3.0 * first, 600.0)
    if not np.isfinite(limit):
        limit = np.inf
    while True:
        search = search_from(net, q, i, weight="time", limit=limit)
        cost, via = _facility_costs(index, search.dist)
        direct = direct_cost(net, q, i, f)
        direct[~f.ok] = np.inf
        use_direct = direct < cost
        cost = np.where(use_direct, direct, cost)
        order = np.argsort(cost, kind="stable")[:k]
        order = order[np.isfinite(cost[order]) & (cost[order] <= limit)]
        if len(order) == k or not np.isfinite(limit) or limit >= max_cost_s:
            break
        limit = limit * 2 if limit * 2 < 86_400 else np.inf
    order = order[cost[order] <= max_cost_s]
    facs, durs, dists, routes = [], [], [], []
    for j in order.tolist():
        if use_direct[j]:
            nodes: list[int] = []
            dist = float(direct_cost(net, q, i, f.take(np.array([j])), "length")[0])
        else:
            nodes = search.path_to(int(via[j]))
            lead = leave_costs(net, q.take(np.array([i])), "length")
            first_len = lead.cost_head[0] if nodes[0] == lead.node_head[0] else lead.cost_tail[0]
            arr = arrive_costs(net, f.take(np.array([j])), "length")
            last_len = arr.cost_tail[0] if nodes[-1] == arr.node_tail[0] else arr.cost_head[0]
            dist = float(first_len + path_length(net, nodes) + last_len)
        facs.append(j)
        durs.append(float(cost[j]))
        dists.append(dist)
        if with_route:
            routes.append(route_coords(net, int(q.geo[i]), float(q.fraction[i]), nodes,
                                       int(f.geo[j]), float(f.fraction[j]), origin=origin,
                                       destination=(float(index.fac_lon[j]),
                                                    float(index.fac_lat[j]))))  # fmt: skip
    return facs, durs, dists, routes


def _one_result(
    index: FacilityIndex,
    k: int,
    with_route: bool,
    status: str,
    facs: list[int],
    durs: list[float],
    dists: list[float],
    snap_d: float,
    routes: list[list[list[float]]] | None,
) -> NearestResult:
    """A one-point :class:`NearestResult` from the single-point k > 1 path."""
    n = len(facs)
    facility = np.full((1, k), -1, dtype=np.int64)
    duration = np.full((1, k), np.nan)
    distance = np.full((1, k), np.nan)
    facility[0, :n], duration[0, :n], distance[0, :n] = facs, durs, dists
    return NearestResult(
        status=_STATUS_ONE[status].copy(), facility=facility, duration_s=duration,
        distance_m=distance, snap_distance_m=np.array([snap_d]),
        routes=[routes if routes is not None else []] if with_route else None,
        facility_snap_m=index.fac_snap.snap_distance_m,
    )  # fmt: skip


def _single_point(lon: object, lat: object) -> tuple[float, float] | None:
    """``(lon, lat)`` as floats when the query is one point (scalar or length-1), else None."""
    if isinstance(lon, float | int) and isinstance(lat, float | int):
        return float(lon), float(lat)
    if isinstance(lon, np.ndarray | list | tuple) and len(lon) == 1 and len(lat) == 1:  # type: ignore[arg-type]
        a, b = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        if a.shape == (1,) and b.shape == (1,):
            return float(a[0]), float(b[0])
    return None


def nearest(
    index: FacilityIndex,
    lon: object,
    lat: object,
    *,
    k: int = 1,
    max_cost_s: float | None = None,
    with_route: bool = False,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    calibration: Calibration | None = None,
) -> NearestResult:
    """Nearest ``k`` facilities by travel time for one or many points (vectorised for k=1).

    Parameters
    ----------
    index
        Labels from :func:`build_facility_index`.
    lon, lat
        Query points (scalars or 1-d arrays, WGS84 degrees).
    k
        Number of facilities per query (>= 1).
    max_cost_s
        Ignore facilities farther than this travel time (seconds).
    with_route
        Also return each route as a list of ``[lon, lat]``.
    max_snap_m
        Queries farther than this from the streets get status ``snap_too_far``.
    calibration
        If given, queries outside the network's coverage polygon are answered by a
        great-circle estimate (status ``estimated``, no route); otherwise they get status
        ``out_of_coverage``.

    Returns
    -------
    NearestResult

    Raises
    ------
    InvalidQueryError
        For ``k < 1`` or a negative ``max_cost_s``.
    """
    if k < 1:
        msg = f"k must be at least 1, got {k}"
        raise InvalidQueryError(msg)
    if max_cost_s is not None and max_cost_s < 0:
        msg = f"max_cost_s must be non-negative, got {max_cost_s}"
        raise InvalidQueryError(msg)
    limit = np.inf if max_cost_s is None else float(max_cost_s)
    one = _single_point(lon, lat)
    if one is not None and k > 1:
        res_k = nearest_k_scalar(index, one[0], one[1], k=k, max_cost_s=limit,
                                 with_route=with_route, max_snap_m=max_snap_m)  # fmt: skip
        if res_k is not None:
            return _one_result(index, k, with_route, *res_k)
    if k == 1 and one is not None:
        res = nearest_k1_scalar(index, one[0], one[1], max_cost_s=limit,
                                with_route=with_route, max_snap_m=max_snap_m)  # fmt: skip
        if res is not None:
            status, fac, dur, dist, snap_d, route = res
            return NearestResult(
                status=_STATUS_ONE[status].copy(), facility=np.array([[fac]], dtype=np.int64),
                duration_s=np.array([[dur]]), distance_m=np.array([[dist]]),
                snap_distance_m=np.array([snap_d]),
                routes=([[route]] if route is not None else [[]]) if with_route else None,
                facility_snap_m=index.fac_snap.snap_distance_m,
            )  # fmt: skip
    net = index.net
    q_all = snap(net, lon, lat, max_snap_m=max_snap_m)
    n_q = len(q_all)
    lon_a = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat_a = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    status = np.full(n_q, NETWORK, dtype=object)
    inside = in_coverage(net, lon_a, lat_a)
    status[~q_all.ok] = SNAP_TOO_FAR
    status[~inside] = ESTIMATED if calibration is not None else OUT_OF_COVERAGE
    facility = np.full((n_q, k), -1, dtype=np.int64)
    duration = np.full((n_q, k), np.nan)
    distance = np.full((n_q, k), np.nan)
    routes: list[list[list[list[float]]]] | None = [[] for _ in range(n_q)] if with_route else None
    todo = np.flatnonzero(status == NETWORK)
    q = q_all.take(todo)
    if k == 1 and todo.size:
        fac, dur, dist, rts = _nearest_k1(index, q, limit, with_route, lon_a[todo], lat_a[todo])
        facility[todo], duration[todo], distance[todo] = fac, dur, dist
        if routes is not None and rts is not None:
            for pos, i in enumerate(todo.tolist()):
                routes[i] = rts[pos]
    else:
        for pos, i in enumerate(todo.tolist()):
            origin = (float(lon_a[i]), float(lat_a[i]))
            got = nearest_from_labels(index, int(q.geo[pos]), float(q.fraction[pos]),
                                      float(q.snap_distance_m[pos]), k, limit, with_route,
                                      origin=origin)  # fmt: skip
            if got is None:
                got = _nearest_one_k(index, q, pos, k, limit, with_route, origin)
            facs, durs, dists, rts = got
            facility[i, : len(facs)], duration[i, : len(facs)] = facs, durs
            distance[i, : len(facs)] = dists
            if routes is not None:
                routes[i] = rts
    status[todo[facility[todo, 0] < 0]] = UNREACHABLE
    est = np.flatnonzero(status == ESTIMATED)
    if est.size and calibration is not None:
        ok = index.fac_snap.ok
        fac_ids = np.flatnonzero(ok)
        e_fac, e_dist, e_dur = estimate_nearest(
            calibration, lon_a[est], lat_a[est], index.fac_lon[ok], index.fac_lat[ok], k=k
        )
        e_dur = np.where(e_dur <= limit, e_dur, np.nan)
        keep = np.isfinite(e_dur)
        facility[est] = np.where(keep, fac_ids[np.maximum(e_fac, 0)], -1)
        duration[est] = e_dur
        distance[est] = np.where(keep, e_dist, np.nan)
        status[est[facility[est, 0] < 0]] = UNREACHABLE
    snap_d = np.where(status == ESTIMATED, np.nan, q_all.snap_distance_m)
    return NearestResult(status=status.astype(str), facility=facility, duration_s=duration,
                         distance_m=distance, snap_distance_m=snap_d, routes=routes,
                         facility_snap_m=index.fac_snap.snap_distance_m)  # fmt: skip
