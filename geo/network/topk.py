"""Per-node labels of the ``K`` nearest facilities, for exact k > 1 lookups.

One *K-label* Dijkstra on the reversed graph (built once per facility index, on first use)
gives every node up to ``K`` labels ``(cost, facility)``: its ``K`` nearest facilities by
travel time, ordered by cost then facility index, each with the length of that path, the
first edge of it and the label it continues with at the next node (so a route is a chain
of labels). The search pops ``(cost, facility, node)`` in order and accepts a label at a
node unless the node is full or already has that facility; this is exact because every
node on a shortest path from ``v`` to facility ``f`` ranks ``f`` at least as high as
``v`` does.

Labels are door to door: the facility's access leg (between its street and the facility)
is part of the initial cost of the search, so a facility deep inside a compound ranks
behind one at the kerb. A query point on piece ``g`` at fraction ``t`` reaches facility
``f`` at ``min(p_head + d(head, f), p_tail + d(tail, f))`` (or directly along its own piece),
where ``p_*`` are its own access leg plus the partial edge. The
candidates are the labels of the piece's two end nodes and the facilities on the piece.
Every facility missing from a full end's labels costs at least that end's ``K``-th label,
so the answer is *certified* exact when the ``k``-th cost is below
``bound = min(p_head + kth(head), p_tail + kth(tail))`` (or, with fewer answers than ``k``,
when ``max_cost_s`` is); otherwise (``k > K``, ties at the bound) the caller falls back to a
bounded search from the point.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from geo._once import freeze_arrays, once_per_object, once_property
from geo.network.csr import Network
from geo.network.geometry import route_lonlat
from geo.network.snap import ACCESS_SPEED_MPS, Snapped, arrive_costs

if TYPE_CHECKING:
    from geo.network.nearest import FacilityIndex

logger = logging.getLogger(__name__)

#: Labels per node (the largest k answered from labels).
TOP_K = 11


@dataclass(frozen=True, eq=False)
class TopLabels:
    """The ``K`` nearest facilities of every node (flat arrays, slot = ``node * K + i``).

    Attributes
    ----------
    k
        Labels per node.
    count
        ``(n,)`` labels held by each node (``< k`` only where fewer facilities are
        reachable).
    cost_s, length_m
        Per slot: travel time to the facility and length of that path.
    facility
        Per slot: facility index (-1 in unused slots).
    edge
        Per slot: first edge of the path (-1 when the node is an end of the facility's
        piece and the path enters it directly).
    next_slot
        Per slot: the label the path continues with at the next node (-1 at the end).
    """

    k: int
    count: np.ndarray
    cost_s: np.ndarray
    length_m: np.ndarray
    facility: np.ndarray
    edge: np.ndarray
    next_slot: np.ndarray

    @once_property
    def edge_view(self) -> memoryview:
        """``edge`` as a memoryview (fast scalar reads)."""
        return memoryview(self.edge)

    @once_property
    def next_view(self) -> memoryview:
        """``next_slot`` as a memoryview."""
        return memoryview(self.next_slot)

    def nbytes(self) -> int:
        """Memory held by the label arrays."""
        return sum(a.nbytes for a in (self.count, self.cost_s, self.length_m, self.facility,
                                      self.edge, self.next_slot))  # fmt: skip


def _reverse_adjacency(net: Network) -> tuple[list[int], list[int], list[int]]:
    """In-edges per node: CSR pointer, source nodes and edge ids (as Python lists)."""
    order = np.argsort(net.indices, kind="stable")
    ptr = np.zeros(net.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(net.indices, minlength=net.n_nodes), out=ptr[1:])
    return ptr.tolist(), net.edge_src[order].tolist(), order.tolist()


def build_top_labels(net: Network, fac: Snapped, k: int = TOP_K) -> TopLabels:
    """K-label Dijkstra from the usable facilities (``fac.ok``) over the reversed graph.

    Parameters
    ----------
    net
        The network.
    fac
        All facilities snapped; those with ``ok`` False are left out.
    k
        Labels per node.

    Returns
    -------
    TopLabels
    """
    t0 = time.perf_counter()
    n = net.n_nodes
    ok = np.flatnonzero(fac.ok)
    sub = fac.take(ok)
    t_end, l_end = arrive_costs(net, sub, "time"), arrive_costs(net, sub, "length")
    # heap entries: (cost, facility, node, slot the path continues with, edge to it); the
    # initial entries (a node at an end of the facility's piece) carry -2 - i, i indexing
    # their partial-piece length in ``first_len``
    heap: list[tuple[float, int, int, int, int]] = []
    first_len: list[float] = []
    for j, tail, c_tail, l_tail, head, c_head, l_head in zip(
        ok.tolist(), t_end.node_tail.tolist(), t_end.cost_tail.tolist(),
        l_end.cost_tail.tolist(), t_end.node_head.tolist(), t_end.cost_head.tolist(),
        l_end.cost_head.tolist(), strict=True,
    ):  # fmt: skip
        heap.append((c_tail, j, tail, -2 - len(first_len), -1))
        first_len.append(l_tail)
        if head >= 0:
            heap.append((c_head, j, head, -2 - len(first_len), -1))
            first_len.append(l_head)
    heapq.heapify(heap)
    ptr, src, eid = _reverse_adjacency(net)
    into = [list(zip(src[ptr[v] : ptr[v + 1]], eid[ptr[v] : ptr[v + 1]], strict=True))
            for v in range(n)]  # fmt: skip
    w_time = net.time_s.tolist()
    w_len = net.length_m.tolist()
    has: list[list[int]] = [[] for _ in range(n)]
    cost = [math.inf] * (n * k)
    length = [math.inf] * (n * k)
    facility = [-1] * (n * k)
    edge = [-1] * (n * k)
    nxt = [-1] * (n * k)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        c, j, v, after, e = pop(heap)
        held = has[v]
        if j in held or len(held) >= k:
            continue
        slot = v * k + len(held)
        held.append(j)
        cost[slot] = c
        facility[slot] = j
        if after >= 0:
            length[slot] = w_len[e] + length[after]
            edge[slot] = e
            nxt[slot] = after
        else:
            length[slot] = first_len[-2 - after]
        for u, e_u in into[v]:
            held_u = has[u]
            if len(held_u) < k and j not in held_u:
                push(heap, (w_time[e_u] + c, j, u, slot, e_u))
    count = [len(h) for h in has]
    labels = freeze_arrays(TopLabels(
        k=k, count=np.array(count, dtype=np.int32), cost_s=np.array(cost),
        length_m=np.array(length), facility=np.array(facility, dtype=np.int32),
        edge=np.array(edge, dtype=np.int32), next_slot=np.array(nxt, dtype=np.int32),
    ))  # fmt: skip
    logger.info("top-%d facility labels of %s: %d facilities, %.2f s, %.1f MB", k, net.name,
                ok.size, time.perf_counter() - t0, labels.nbytes() / 1e6)  # fmt: skip
    return labels


@once_per_object
def piece_table(net: Network) -> list[tuple[int, int, int, float, float, float, float]]:
    """Per piece: ``(bwd, head, tail, time_fwd, time_bwd, length_fwd, length_bwd)``.

    The same values as :func:`geo.network.snap.leave_costs` uses (``tail`` -1 and the
    backward weights ``inf`` on one-way pieces), as Python numbers for scalar arithmetic.
    """
    fwd, bwd = net.geo_fwd.astype(np.int64), net.geo_bwd.astype(np.int64)
    has_bwd = bwd >= 0
    back = np.maximum(bwd, 0)
    cols = (
        bwd.tolist(), net.indices[fwd].tolist(),
        np.where(has_bwd, net.edge_src[fwd], -1).tolist(),
        net.time_s[fwd].astype(np.float64).tolist(),
        np.where(has_bwd, net.time_s[back].astype(np.float64), np.inf).tolist(),
        net.length_m[fwd].astype(np.float64).tolist(),
        np.where(has_bwd, net.length_m[back].astype(np.float64), np.inf).tolist(),
    )  # fmt: skip
    return list(zip(*cols, strict=True))


def direct_on_piece(
    index: FacilityIndex, geo: int, t: float, snap_d: float, bwd: int,
    t_fwd: float, t_bwd: float, l_fwd: float, l_bwd: float,
) -> list[tuple[int, float, float]]:  # fmt: skip
    """Facilities on the query's own piece reachable along it: ``(facility, time, length)``.

    A facility ahead of the point (larger fraction) is reached forwards; one behind it
    only when the piece can be walked/driven backwards (``bwd >= 0``). Time and length are
    door to door: the query's access leg (``snap_d`` metres), the stretch along the piece
    and the facility's access leg, in the arithmetic of
    :func:`geo.network.search.direct_cost`.
    """
    out = []
    fraction = index.fac_snap.fraction
    fac_snap = index.fac_snap.snap_distance_m
    a_time = snap_d / ACCESS_SPEED_MPS
    for j in index.fac_on_piece.get(geo, ()):
        dt = float(fraction[j]) - t
        f_len = float(fac_snap[j])
        if dt >= 0:
            out.append((j, dt * t_fwd + a_time + f_len / ACCESS_SPEED_MPS,
                        dt * l_fwd + snap_d + f_len))  # fmt: skip
        elif bwd >= 0:
            out.append((j, -dt * t_bwd + a_time + f_len / ACCESS_SPEED_MPS,
                        -dt * l_bwd + snap_d + f_len))  # fmt: skip
    return out


def nearest_from_labels(
    index: FacilityIndex,
    geo: int,
    t: float,
    snap_d: float,
    k: int,
    max_cost_s: float,
    with_route: bool,
    *,
    origin: tuple[float, float] | None = None,
) -> tuple[list[int], list[float], list[float], list[list[list[float]]] | None] | None:
    """The ``k`` nearest facilities of a point snapped to ``(geo, t)``, from the labels.

    ``snap_d`` is the point's distance to the street (its access leg, part of every cost
    and length); ``origin`` is the unsnapped point, the first coordinate of the routes.

    Returns
    -------
    (facilities, durations_s, distances_m, routes) or None
        Sorted by duration then facility index, at most ``k``, only those within
        ``max_cost_s``; None when the labels cannot certify the answer (``k`` larger than
        the labels, or a tie at the bound): use the bounded search instead.
    """
    lab = index.top_labels
    big_k = lab.k
    if k > big_k:
        return None
    bwd, head, tail, t_fwd, t_bwd, l_fwd, l_bwd = piece_table(index.net)[geo]
    a_time = snap_d / ACCESS_SPEED_MPS
    p_head = (1.0 - t) * t_fwd + a_time
    cand: dict[int, tuple[float, int, int]] = {}  # facility -> (cost, slot or -1, start node)
    bound = math.inf
    count, costs, facs = lab.count, lab.cost_s, lab.facility
    base = head * big_k
    n_lab = int(count[head])
    for s, (c, f) in enumerate(zip(costs[base:base + n_lab].tolist(),
                                   facs[base:base + n_lab].tolist(), strict=True)):  # fmt: skip
        cand[f] = (p_head + c, base + s, head)
    if n_lab == big_k:
        bound = p_head + float(costs[base + big_k - 1])
    if bwd >= 0:
        p_tail = t * t_bwd + a_time
        base = tail * big_k
        n_lab = int(count[tail])
        for s, (c, f) in enumerate(zip(costs[base:base + n_lab].tolist(),
                                       facs[base:base + n_lab].tolist(), strict=True)):  # fmt: skip
            c = p_tail + c
            old = cand.get(f)
            if old is None or c < old[0]:
                cand[f] = (c, base + s, tail)
        if n_lab == big_k:
            bound = min(bound, p_tail + float(costs[base + big_k - 1]))
    direct_len: dict[int, float] = {}
    for j, c_time, c_len in direct_on_piece(index, geo, t, snap_d, bwd, t_fwd, t_bwd, l_fwd,
                                            l_bwd):  # fmt: skip
        old = cand.get(j)
        if old is None or c_time < old[0]:
            cand[j] = (c_time, -1, -1)
            direct_len[j] = c_len
    ranked = sorted((c, f) for f, (c, _, _) in cand.items() if c <= max_cost_s)[:k]
    last = ranked[-1][0] if len(ranked) == k else max_cost_s
    if not last < bound:
        return None
    out_f, out_d, out_l = [], [], []
    routes: list[list[list[float]]] | None = [] if with_route else None
    fs = index.fac_snap
    for c, f in ranked:
        _, slot, start = cand[f]
        out_f.append(f)
        out_d.append(c)
        if slot < 0:
            out_l.append(direct_len[f])
        else:
            lead = (1.0 - t) * l_fwd + snap_d if start == head else t * l_bwd + snap_d
            out_l.append(lead + float(lab.length_m[slot]))
        if routes is not None:
            edges = _chase(lab, slot) if slot >= 0 else []
            routes.append(route_lonlat(index.net, geo, t, start, edges, int(fs.geo[f]),
                                       float(fs.fraction[f]), origin=origin,
                                       destination=(float(index.fac_lon[f]),
                                                    float(index.fac_lat[f]))))  # fmt: skip
    return out_f, out_d, out_l, routes


def _chase(lab: TopLabels, slot: int) -> list[int]:
    """Edges of the path of label ``slot`` (following ``next_slot``)."""
    edge, nxt = lab.edge_view, lab.next_view
    out = []
    while (e := edge[slot]) >= 0:
        out.append(e)
        slot = nxt[slot]
    return out
