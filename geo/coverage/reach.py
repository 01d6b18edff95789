"""Walking times from facilities to workplaces within a cutoff (network, estimate or inside).

For every (facility, workplace) pair within ``cutoff_s`` this module gives a walking time
in seconds and the method that produced it:

* ``network`` -- both lie inside the coverage polygon of the same walk network and snap to
  it: shortest walking time from the workplace's representative point to the facility,
  door to door (the walk from the point to its street, the streets, and the walk from the
  facility's street to the facility: :func:`geo.network.snap.access_cost`), from a bounded
  Dijkstra run from the facility on the *reversed* graph (so one-way streets, if a profile
  had them, are followed in the walker's direction). Access legs, partial edges at both ends
  and a shared street piece are handled as in :mod:`geo.network.matrix`. A pair the network
  cannot connect (across the Huangpu on foot) is not reachable.
* ``estimated`` -- any other pair: great-circle distance divided by the calibrated
  crow-fly walking speed of the network (:mod:`geo.network.estimate`).
* ``inside`` -- the facility lies inside the workplace polygon: 0 s.

A workplace uses the smallest-coverage walk network that contains it and to which it
snaps; it is then a "network" workplace, otherwise an "estimated" one.

The full computation (:meth:`ReachModel.reach` over all facilities) and the per-facility
computation used by incremental updates run the same code, so they give identical numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from geo.coverage.errors import InvalidThresholdError
from geo.nearest import unit_vectors
from geo.network.csr import Network
from geo.network.estimate import Calibration, great_circle_m, in_coverage
from geo.network.snap import DEFAULT_MAX_SNAP_M, access_cost, arrive_costs, leave_costs, snap

logger = logging.getLogger(__name__)

#: Method codes stored per pair.
NETWORK, ESTIMATED, INSIDE = 0, 1, 2
METHOD_NAMES: tuple[str, ...] = ("network", "estimated", "inside")
#: Facilities searched per scipy Dijkstra call.
CHUNK_FACILITIES = 64


@dataclass(frozen=True)
class Reach:
    """Pairs within the cutoff, sorted by facility then workplace.

    Attributes
    ----------
    facility
        ``(P,)`` int64 facility index (position in the arrays given to ``reach``).
    workplace
        ``(P,)`` int64 workplace index.
    time_s
        ``(P,)`` float64 walking time in seconds.
    method
        ``(P,)`` int8 method code (:data:`NETWORK`, :data:`ESTIMATED`, :data:`INSIDE`).
    """

    facility: np.ndarray
    workplace: np.ndarray
    time_s: np.ndarray
    method: np.ndarray

    def __len__(self) -> int:
        return int(self.facility.shape[0])


def _empty_reach() -> Reach:
    e = np.empty(0, dtype=np.int64)
    return Reach(e, e.copy(), np.empty(0), np.empty(0, dtype=np.int8))


@dataclass(frozen=True)
class _NetPart:
    net: Network
    members: np.ndarray  # workplace indices on this network
    head: np.ndarray
    cost_head: np.ndarray
    tail: np.ndarray
    cost_tail: np.ndarray
    geo: np.ndarray
    fraction: np.ndarray
    access_s: np.ndarray  # walk from each workplace's point to its street


class ReachModel:
    """Workplaces placed on walk networks, answering "which workplaces are within t of a
    facility" for batches of facilities.

    Parameters
    ----------
    wp_lon, wp_lat
        Representative points of the workplaces (WGS84 degrees).
    wp_polygons
        Workplace polygons (WGS84) for the "facility inside the workplace" test, or None.
    networks
        Walk networks (each with a coverage polygon); may be empty (estimates only).
    calibration
        Crow-fly walking speed used for estimates.
    max_snap_m
        Workplaces and facilities farther than this from a street use the estimate.
    """

    def __init__(
        self,
        wp_lon: np.ndarray,
        wp_lat: np.ndarray,
        wp_polygons: np.ndarray | None,
        networks: Sequence[Network],
        calibration: Calibration,
        *,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
    ) -> None:
        self.wp_lon = np.asarray(wp_lon, dtype=np.float64)
        self.wp_lat = np.asarray(wp_lat, dtype=np.float64)
        self.n_workplaces = int(self.wp_lon.shape[0])
        self.calibration = calibration
        self.max_snap_m = float(max_snap_m)
        self.networks = tuple(sorted(networks, key=_coverage_area))
        self.wp_network = np.full(self.n_workplaces, -1, dtype=np.int64)
        self._parts: list[_NetPart] = []
        for k, net in enumerate(self.networks):
            cand = np.flatnonzero(
                (self.wp_network < 0) & in_coverage(net, self.wp_lon, self.wp_lat)
            )
            if cand.size:
                s = snap(net, self.wp_lon[cand], self.wp_lat[cand], max_snap_m=self.max_snap_m)
                cand, s = cand[s.ok], s.take(np.flatnonzero(s.ok))
            self.wp_network[cand] = k
            if cand.size:
                ends = leave_costs(net, s, "time")
                self._parts.append(_NetPart(net, cand, ends.node_head, ends.cost_head,
                                            ends.node_tail, ends.cost_tail, s.geo, s.fraction,
                                            access_cost(s)))  # fmt: skip
            else:
                e = np.empty(0, dtype=np.int64)
                self._parts.append(_NetPart(net, e, e, np.empty(0), e, np.empty(0), e,
                                            np.empty(0), np.empty(0)))  # fmt: skip
        self._tree = cKDTree(unit_vectors(self.wp_lon, self.wp_lat))
        self._polygons = None
        if wp_polygons is not None and len(wp_polygons):
            self._polygons = shapely.STRtree(np.asarray(wp_polygons))
        logger.info("reach model: %d workplaces, %d on a walk network", self.n_workplaces,
                    int((self.wp_network >= 0).sum()))  # fmt: skip

    # ------------------------------------------------------------------ helpers
    @property
    def workplace_method(self) -> np.ndarray:
        """``(N,)`` 'network' or 'estimated' per workplace."""
        return np.where(self.wp_network >= 0, "network", "estimated")

    def facility_networks(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Network index per facility (-1: outside every coverage or too far from streets)."""
        out = np.full(lon.shape[0], -1, dtype=np.int64)
        for k, net in enumerate(self.networks):
            cand = np.flatnonzero((out < 0) & in_coverage(net, lon, lat))
            if cand.size:
                s = snap(net, lon[cand], lat[cand], max_snap_m=self.max_snap_m)
                out[cand[s.ok]] = k
        return out

    # --------------------------------------------------------------------- reach
    def reach(self, fac_lon: object, fac_lat: object, cutoff_s: float) -> Reach:
        """All (facility, workplace) pairs within ``cutoff_s`` seconds of walking.

        Parameters
        ----------
        fac_lon, fac_lat
            Facility positions (WGS84 degrees, scalars or 1-d arrays).
        cutoff_s
            Largest walking time kept, in seconds (finite, >= 0).

        Returns
        -------
        Reach

        Raises
        ------
        InvalidThresholdError
            For a negative or non-finite cutoff.
        """
        if not (np.isfinite(cutoff_s) and cutoff_s >= 0):
            message = f"the walking-time cutoff must be a finite number >= 0 s, got {cutoff_s}"
            raise InvalidThresholdError(message)
        lon = np.atleast_1d(np.asarray(fac_lon, dtype=np.float64))
        lat = np.atleast_1d(np.asarray(fac_lat, dtype=np.float64))
        if lon.size == 0 or self.n_workplaces == 0:
            return _empty_reach()
        fac_net = self.facility_networks(lon, lat)
        parts = [self._estimate_pairs(lon, lat, fac_net, cutoff_s)]
        for k in range(len(self.networks)):
            idx = np.flatnonzero(fac_net == k)
            if idx.size and self._parts[k].members.size:
                parts.append(self._network_pairs(k, idx, lon[idx], lat[idx], cutoff_s))
        parts.append(self._inside_pairs(lon, lat))
        return _merge(parts)

    def _estimate_pairs(
        self, lon: np.ndarray, lat: np.ndarray, fac_net: np.ndarray, cutoff_s: float
    ) -> Reach:
        radius_m = cutoff_s * self.calibration.crow_speed_mps
        chord = 2.0 * np.sin(min(radius_m / 6_371_009.0, np.pi) / 2.0) * (1.0 + 1e-9) + 1e-12
        fac_tree = cKDTree(unit_vectors(lon, lat))
        coo = fac_tree.sparse_distance_matrix(self._tree, chord, output_type="coo_matrix")
        f = coo.row.astype(np.int64)
        w = coo.col.astype(np.int64)
        # pairs on the same network are answered by the network
        keep = ~((fac_net[f] >= 0) & (fac_net[f] == self.wp_network[w]))
        f, w = f[keep], w[keep]
        t = great_circle_m(lon[f], lat[f], self.wp_lon[w], self.wp_lat[w])
        t = t / self.calibration.crow_speed_mps
        ok = t <= cutoff_s
        return Reach(f[ok], w[ok], t[ok], np.full(int(ok.sum()), ESTIMATED, dtype=np.int8))

    def _network_pairs(
        self, k: int, fac_idx: np.ndarray, lon: np.ndarray, lat: np.ndarray, cutoff_s: float
    ) -> Reach:
        part = self._parts[k]
        net = part.net
        fs = snap(net, lon, lat, max_snap_m=np.inf)
        arrive = arrive_costs(net, fs, "time")
        fac_access = access_cost(fs)
        graph = net.reverse_graph("time")
        n_f = fac_idx.size
        out_f, out_w, out_t = [], [], []
        has_tail = part.tail >= 0
        tail = np.maximum(part.tail, 0)
        for a in range(0, n_f, CHUNK_FACILITIES):
            rows = np.arange(a, min(a + CHUNK_FACILITIES, n_f))
            # arriving at the facility from the tail / head end of its piece (reversed search)
            starts = np.r_[arrive.node_tail[rows], arrive.node_head[rows]]
            offs = np.r_[arrive.cost_tail[rows], arrive.cost_head[rows]]
            use = (starts >= 0) & np.isfinite(offs)
            dist = np.full((starts.size, net.n_nodes), np.inf)
            if use.any():
                dist[use] = csgraph.dijkstra(graph, directed=True, indices=starts[use],
                                             limit=float(cutoff_s))  # fmt: skip
            dist += offs[:, None]
            node_cost = np.minimum(dist[: rows.size], dist[rows.size :])
            via_head = node_cost[:, part.head] + part.cost_head
            via_tail = np.where(has_tail, node_cost[:, tail] + part.cost_tail, np.inf)
            cost = np.minimum(via_head, via_tail)
            # facility and workplace on the same street piece
            shared = np.flatnonzero(np.isin(fs.geo[rows], part.geo))
            for r in shared.tolist():
                j = rows[r]
                along = _to_facility_on_piece(net, int(fs.geo[j]), float(fs.fraction[j]),
                                              part.geo, part.fraction)  # fmt: skip
                cost[r] = np.minimum(cost[r], along + part.access_s + float(fac_access[j]))
            r_i, w_i = np.nonzero(cost <= cutoff_s)
            out_f.append(fac_idx[rows[r_i]])
            out_w.append(part.members[w_i])
            out_t.append(cost[r_i, w_i])
        f = np.concatenate(out_f) if out_f else np.empty(0, dtype=np.int64)
        return Reach(f.astype(np.int64), np.concatenate(out_w).astype(np.int64),
                     np.concatenate(out_t), np.full(f.size, NETWORK, dtype=np.int8))  # fmt: skip

    def _inside_pairs(self, lon: np.ndarray, lat: np.ndarray) -> Reach:
        if self._polygons is None:
            return _empty_reach()
        f, w = self._polygons.query(shapely.points(lon, lat), predicate="within")
        f, w = f.astype(np.int64), w.astype(np.int64)
        return Reach(f, w, np.zeros(f.size), np.full(f.size, INSIDE, dtype=np.int8))


def _to_facility_on_piece(
    net: Network, f_geo: int, f_t: float, w_geo: np.ndarray, w_t: np.ndarray
) -> np.ndarray:
    """Cost of walking from each workplace to the facility along their shared piece."""
    w = net.weights("time")
    fwd, bwd = int(net.geo_fwd[f_geo]), int(net.geo_bwd[f_geo])
    out = np.full(w_geo.shape[0], np.inf)
    same = w_geo == f_geo
    dt = f_t - w_t[same]  # > 0: the workplace is before the facility along geo_fwd
    cost = np.where(dt >= 0, dt * w[fwd], np.inf)
    if bwd >= 0:
        cost = np.where(dt < 0, -dt * w[bwd], cost)
    out[same] = cost
    return out


def _merge(parts: list[Reach]) -> Reach:
    """Concatenate pair lists; where a pair appears twice keep the smaller time."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_reach()
    f = np.concatenate([p.facility for p in parts])
    w = np.concatenate([p.workplace for p in parts])
    t = np.concatenate([p.time_s for p in parts])
    m = np.concatenate([p.method for p in parts])
    order = np.lexsort((m, t, w, f))
    f, w, t, m = f[order], w[order], t[order], m[order]
    first = np.r_[True, (f[1:] != f[:-1]) | (w[1:] != w[:-1])]
    return Reach(f[first], w[first], t[first], m[first])


def _coverage_area(net: Network) -> float:
    return float(net.coverage.area) if net.coverage is not None else float("inf")


def reach_matrix(reach: Reach, n_facilities: int, n_workplaces: int) -> sparse.csr_matrix:
    """The pairs as a ``(F, W)`` CSR matrix of times (a 0 s time is stored as 1e-9 s)."""
    return sparse.csr_matrix(
        (np.maximum(reach.time_s, 1e-9), (reach.facility, reach.workplace)),
        shape=(n_facilities, n_workplaces),
    )
