"""Snap points to the nearest street *edge* (not node) of a network.

A point is projected onto the nearest straight segment of any street piece (an STRtree over
all segments in EPSG:32651 metres). The result says which piece, how far along it (as a
fraction of its length, 0 at the tail of ``geo_fwd``) and how far the point is from the
street. Costs of the partial edges towards both ends follow from the fraction:

* leaving the point towards the head ``v``: ``(1 - t) * w[geo_fwd]``;
* leaving towards the tail ``u`` (only if the street is two-way): ``t * w[geo_bwd]``;
* arriving from ``u``: ``d[u] + t * w[geo_fwd]``; from ``v``: ``d[v] + (1 - t) * w[geo_bwd]``.

A point that is not on the street also has an *access leg*: the straight walk between the
point and its snapped position, ``snap_distance_m`` long, walked at ``ACCESS_SPEED_MPS``
whatever the profile (a driver walks to and from the car). :func:`access_cost` is the one
place that turns it into a cost, and :func:`leave_costs` / :func:`arrive_costs` include it,
so every search, label and matrix built on them costs the whole trip, door to door.

Everything is vectorised over many points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

from geo._once import once_per_object
from geo.network.csr import Network
from geo.network.errors import InvalidQueryError, SnapTooFarError
from geo.network.grid import TIE_M
from geo.network.profiles import WALK_SPEED_MPS

#: Default snapping limit in metres.
DEFAULT_MAX_SNAP_M = 500.0
#: Speed of the access legs between a point and its street (m/s), on every profile: the
#: walk to the street, and from it to the facility's door, is walked (for driving: to and
#: from the car).
ACCESS_SPEED_MPS = WALK_SPEED_MPS


@dataclass(frozen=True)
class Snapped:
    """Points snapped to street pieces (all arrays of shape ``(Q,)``).

    Attributes
    ----------
    geo
        Street piece id.
    fraction
        Position along the piece, 0 at the tail of ``geo_fwd``, 1 at its head.
    snap_distance_m
        Straight-line distance from the point to the street.
    lon, lat
        The snapped position on the street (WGS84).
    ok
        ``snap_distance_m <= max_snap_m``.
    """

    geo: np.ndarray
    fraction: np.ndarray
    snap_distance_m: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    ok: np.ndarray

    def __len__(self) -> int:
        return int(self.geo.shape[0])

    def take(self, idx: np.ndarray) -> Snapped:
        """Subset of the snapped points."""
        return Snapped(*(getattr(self, k)[idx] for k in
                         ("geo", "fraction", "snap_distance_m", "lon", "lat", "ok")))  # fmt: skip


#: Spacing of the sample points of the KD-tree pre-filter, in metres.
SAMPLE_SPACING_M = 20.0
#: Candidate sample points per query.
N_CANDIDATES = 8


@once_per_object
def _tree(net: Network) -> shapely.STRtree:
    seg = net.segments
    coords = np.empty((seg["x0"].shape[0], 2, 2))
    coords[:, 0, 0], coords[:, 0, 1] = seg["x0"], seg["y0"]
    coords[:, 1, 0], coords[:, 1, 1] = seg["x1"], seg["y1"]
    return shapely.STRtree(shapely.linestrings(coords))


@once_per_object
def _samples(net: Network) -> tuple[cKDTree, np.ndarray]:
    """KD-tree over points every ``SAMPLE_SPACING_M`` along every segment, and their segment."""
    seg = net.segments
    n = np.maximum(np.ceil(seg["seg_len"] / SAMPLE_SPACING_M).astype(np.int64), 1) + 1
    seg_id = np.repeat(np.arange(n.shape[0]), n)
    start = np.r_[0, np.cumsum(n)[:-1]]
    frac = (np.arange(int(n.sum())) - np.repeat(start, n)) / np.repeat(n - 1, n)
    x = seg["x0"][seg_id] + frac * (seg["x1"][seg_id] - seg["x0"][seg_id])
    y = seg["y0"][seg_id] + frac * (seg["y1"][seg_id] - seg["y0"][seg_id])
    return cKDTree(np.column_stack([x, y])), seg_id


def _project(
    net: Network, seg_idx: np.ndarray, px: np.ndarray, py: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Project points onto segments (broadcasting); return t, snapped x, y and distance."""
    seg = net.segments
    x0, y0 = seg["x0"][seg_idx], seg["y0"][seg_idx]
    dx, dy = seg["x1"][seg_idx] - x0, seg["y1"][seg_idx] - y0
    len2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(len2 > 0, ((px - x0) * dx + (py - y0) * dy) / len2, 0.0)
    t = np.clip(t, 0.0, 1.0)
    sx, sy = x0 + t * dx, y0 + t * dy
    return t, sx, sy, np.hypot(px - sx, py - sy)


def _pick(cand: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the smallest candidate id within ``TIE_M`` of the best distance, and that best."""
    best = d.min(axis=1)
    tie = d <= best[:, None] + TIE_M
    return np.where(tie, cand, np.iinfo(np.int64).max).min(axis=1), best


def nearest_segments(net: Network, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Index of the exactly nearest segment for projected points (vectorised).

    A KD-tree over points sampled every ``SAMPLE_SPACING_M`` metres proposes
    ``N_CANDIDATES`` segments; the answer is exact when the farthest candidate sample is
    more than half a spacing farther than the best segment (then no other segment can be
    as near). The few points failing that test are answered by an STRtree. Ties (a point
    nearest to a vertex shared by several segments) go to the smallest segment id among
    those within ``TIE_M`` of the best, as in the single-point grid
    (:mod:`geo.network.grid`).
    """
    out = np.empty(len(px), dtype=np.int64)
    todo = np.arange(len(px))
    tree, seg_of_sample = _samples(net)
    for k in (N_CANDIDATES, 4 * N_CANDIDATES):
        k = min(k, tree.n)
        dist_k, idx = tree.query(np.column_stack([px[todo], py[todo]]), k=k)
        dist_k, idx = dist_k.reshape(len(todo), k), idx.reshape(len(todo), k)
        cand = seg_of_sample[idx]
        _, _, _, d = _project(net, cand, px[todo, None], py[todo, None])
        out[todo], best = _pick(cand, d)
        unsure = dist_k[:, -1] <= best + SAMPLE_SPACING_M / 2 + TIE_M
        todo = todo[unsure]
        if todo.size == 0 or k == tree.n:
            return out
    pts = shapely.points(px[todo], py[todo])
    tree_s = _tree(net)
    _, near = tree_s.query_nearest(pts, all_matches=False, return_distance=True)
    q, s = tree_s.query(pts, predicate="dwithin", distance=near + 1e-3)
    _, _, _, d = _project(net, s, px[todo[q]], py[todo[q]])
    # per point: smallest distance, then smallest segment id within TIE_M of it
    order = np.lexsort((s, d, q))
    q, s, d = q[order], s[order], d[order]
    first = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    best = np.repeat(d[first], np.diff(np.r_[first, q.size]))
    tie = d <= best + TIE_M
    pick = np.full(todo.size, np.iinfo(np.int64).max)
    np.minimum.at(pick, q[tie], s[tie])
    out[todo] = pick
    return out


def _as_arrays(lon: object, lat: object) -> tuple[np.ndarray, np.ndarray]:
    lon_a = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat_a = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    if lon_a.shape != lat_a.shape or lon_a.ndim != 1:
        msg = f"lon and lat must be 1-d arrays of equal length, got {lon_a.shape} and {lat_a.shape}"
        raise InvalidQueryError(msg)
    if not (np.isfinite(lon_a).all() and np.isfinite(lat_a).all()):
        msg = "lon and lat must be finite numbers"
        raise InvalidQueryError(msg)
    return lon_a, lat_a


def snap(
    net: Network, lon: object, lat: object, *, max_snap_m: float = DEFAULT_MAX_SNAP_M
) -> Snapped:
    """Snap WGS84 points to the nearest street piece (vectorised).

    Points farther than ``max_snap_m`` are still snapped (so the distance can be reported)
    but flagged ``ok = False``.

    Parameters
    ----------
    net
        The network.
    lon, lat
        Scalars or 1-d arrays in degrees.
    max_snap_m
        Snapping limit in metres.

    Returns
    -------
    Snapped
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    px, py = net.project(lon_a, lat_a)
    seg_idx = nearest_segments(net, px, py)
    t, sx, sy, dist = _project(net, seg_idx, px, py)
    seg = net.segments
    geo = seg["geo"][seg_idx].astype(np.int64)
    geo_len = seg["geo_len"][geo]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(
            geo_len > 0, (seg["cum0"][seg_idx] + t * seg["seg_len"][seg_idx]) / geo_len, 0.0
        )
    slon, slat = net.unproject(sx, sy)
    return Snapped(
        geo=geo,
        fraction=np.clip(frac, 0.0, 1.0),
        snap_distance_m=dist,
        lon=slon,
        lat=slat,
        ok=dist <= max_snap_m,
    )


def snap_one(
    net: Network, lon: float, lat: float, *, max_snap_m: float = DEFAULT_MAX_SNAP_M
) -> Snapped:
    """Snap one point; raise :class:`SnapTooFarError` (status 422) beyond ``max_snap_m``."""
    snapped = snap(net, lon, lat, max_snap_m=max_snap_m)
    if not snapped.ok[0]:
        raise SnapTooFarError(float(snapped.snap_distance_m[0]), max_snap_m, net.name)
    return snapped


def access_cost(snapped: Snapped, weight: str = "time") -> np.ndarray:
    """Cost of the access leg of each snapped point (between the point and its street).

    ``"length"``: ``snap_distance_m`` metres; ``"time"``: those metres at
    :data:`ACCESS_SPEED_MPS` (walked on every profile).
    """
    if weight == "length":
        return snapped.snap_distance_m
    if weight != "time":
        msg = f"weight must be one of time, length, got {weight!r}"
        raise InvalidQueryError(msg)
    return snapped.snap_distance_m / ACCESS_SPEED_MPS


@dataclass(frozen=True)
class Ends:
    """The two ways out of (or into) snapped points: node and cost per end.

    The cost is the point's access leg plus the partial edge to (or from) that end.
    ``node_*`` is -1 and ``cost_*`` is ``inf`` where the street does not allow that
    direction (one-way).
    """

    node_head: np.ndarray
    cost_head: np.ndarray
    node_tail: np.ndarray
    cost_tail: np.ndarray


def leave_costs(net: Network, snapped: Snapped, weight: str = "time") -> Ends:
    """Cost of leaving each snapped point towards the head and the tail of its piece.

    The access leg to the street (:func:`access_cost`) plus the partial edge.
    """
    w = net.weights(weight)
    fwd = net.geo_fwd[snapped.geo]
    bwd = net.geo_bwd[snapped.geo]
    t = snapped.fraction
    has_bwd = bwd >= 0
    access = access_cost(snapped, weight)
    return Ends(
        node_head=net.indices[fwd].astype(np.int64),
        cost_head=(1.0 - t) * w[fwd] + access,
        node_tail=np.where(has_bwd, net.edge_src[fwd], -1).astype(np.int64),
        cost_tail=np.where(has_bwd, t * w[np.maximum(bwd, 0)] + access, np.inf),
    )


def arrive_costs(net: Network, snapped: Snapped, weight: str = "time") -> Ends:
    """Cost of arriving at each point from the tail or the head of its piece.

    The last partial edge plus the access leg from the street (:func:`access_cost`).
    """
    w = net.weights(weight)
    fwd = net.geo_fwd[snapped.geo]
    bwd = net.geo_bwd[snapped.geo]
    t = snapped.fraction
    has_bwd = bwd >= 0
    access = access_cost(snapped, weight)
    return Ends(
        node_head=np.where(has_bwd, net.indices[fwd], -1).astype(np.int64),
        cost_head=np.where(has_bwd, (1.0 - t) * w[np.maximum(bwd, 0)] + access, np.inf),
        node_tail=net.edge_src[fwd].astype(np.int64),
        cost_tail=t * w[fwd] + access,
    )


def same_piece_cost(
    net: Network, geo: int, t_from: float, t_to: float, weight: str = "time"
) -> float:
    """Cost of moving along one piece from fraction ``t_from`` to ``t_to`` (inf if one-way)."""
    w = net.weights(weight)
    if t_to >= t_from:
        return float((t_to - t_from) * w[net.geo_fwd[geo]])
    bwd = int(net.geo_bwd[geo])
    return float((t_from - t_to) * w[bwd]) if bwd >= 0 else float("inf")
