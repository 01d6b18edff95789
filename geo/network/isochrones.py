"""Isochrones and service areas: buffered street stretches reachable within a time.

The polygon for a threshold ``T`` is the union of the street stretches reachable within
``T`` -- whole pieces whose far end is reached, partial pieces up to the exact point where
the time runs out, the stretch around the start point, and the start's access leg (the
straight walk from the point to its street, which uses up part of the budget first) --
buffered by ``buffer_m`` metres. Partial stretches are shortened by ``buffer_m`` so that the buffer does not carry
the polygon past the limit along the street. Holes (blocks enclosed by reached streets)
can be filled up to ``fill_holes_m2``. Not a convex hull: a street not reached stays out.

Whole pieces are taken from cached unions of spatial clusters of pieces
(:mod:`geo.network.polygons`), so only the fringe of the area is buffered and unioned per
query; a 15-minute walk on the central network takes a few tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from geo.network.csr import Network
from geo.network.errors import InvalidQueryError
from geo.network.nearest import FacilityIndex
from geo.network.polygons import street_area
from geo.network.search import search_from
from geo.network.snap import ACCESS_SPEED_MPS, DEFAULT_MAX_SNAP_M, access_cost, snap_one

#: Default buffer around reached streets, metres.
DEFAULT_BUFFER_M = 25.0


@dataclass(frozen=True)
class Isochrone:
    """One threshold's reachable area.

    Attributes
    ----------
    seconds
        The threshold.
    polygon
        WGS84 (Multi)Polygon.
    area_m2
        Area in square metres (EPSG:32651).
    n_nodes
        Network nodes reached within the threshold.
    """

    seconds: float
    polygon: shapely.Geometry
    area_m2: float
    n_nodes: int


def _check_thresholds(minutes: Sequence[float]) -> np.ndarray:
    arr = np.asarray(list(minutes), dtype=np.float64)
    if arr.size == 0 or not np.isfinite(arr).all() or (arr <= 0).any():
        msg = f"minutes must be positive numbers, got {list(minutes)}"
        raise InvalidQueryError(msg)
    if arr.max() > 180:
        msg = f"minutes must be at most 180, got {arr.max():g}"
        raise InvalidQueryError(msg)
    return np.sort(arr) * 60.0


def reached_intervals(
    net: Network,
    tail_cost: np.ndarray,
    head_cost: np.ndarray,
    tail_w: np.ndarray,
    head_w: np.ndarray,
    limit_s: float,
    shrink_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reached stretches of every piece, as fractions from the tail and from the head.

    ``tail_cost``/``head_cost`` are the costs at the piece's end nodes, ``tail_w``/``head_w``
    the weight of crossing the whole piece from that end (``inf`` if not allowed).

    Returns
    -------
    geo, from_tail, from_head
        Pieces with anything reached; reached fraction measured from the tail and from the
        head (1 means the whole piece).
    """
    geo_len = net.segments["geo_len"]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (limit_s - tail_cost) / tail_w
        b = (limit_s - head_cost) / head_w
    a = np.where(np.isfinite(a), a, 0.0)
    b = np.where(np.isfinite(b), b, 0.0)
    shrink = np.where(geo_len > 0, shrink_m / np.maximum(geo_len, 1e-9), 0.0)
    a = np.where(a >= 1, 1.0, np.maximum(a - shrink, 0.0))
    b = np.where(b >= 1, 1.0, np.maximum(b - shrink, 0.0))
    full = (a + b) >= 1
    a = np.where(full, 1.0, a)
    b = np.where(full, 0.0, b)
    geo = np.flatnonzero((a > 0) | (b > 0))
    return geo, a[geo], b[geo]


def _segments_for(net: Network, geo: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Straight sub-segments ``(k, 2, 2)`` covering fractions ``[lo, hi]`` of pieces ``geo``.

    Sub-segments of one stretch are consecutive and share end points.
    """
    seg = net.segments
    keep = hi > lo
    geo, lo, hi = geo[keep], lo[keep], hi[keep]
    if geo.size == 0:
        return np.empty((0, 2, 2))
    offsets = seg["offsets"]
    n_seg = np.diff(offsets)[geo] - 1
    first = offsets[geo] - geo  # index of the piece's first segment (one fewer per piece)
    seg_idx = np.repeat(first, n_seg) + (
        np.arange(n_seg.sum()) - np.repeat(np.cumsum(n_seg) - n_seg, n_seg)
    )
    length = seg["geo_len"][geo]
    d_lo = np.repeat(lo * length, n_seg)
    d_hi = np.repeat(hi * length, n_seg)
    c0 = seg["cum0"][seg_idx]
    sl = seg["seg_len"][seg_idx]
    s0 = np.clip(d_lo - c0, 0.0, sl)
    s1 = np.clip(d_hi - c0, 0.0, sl)
    ok = s1 > s0
    seg_idx, s0, s1, sl = seg_idx[ok], s0[ok], s1[ok], sl[ok]
    with np.errstate(invalid="ignore", divide="ignore"):
        f0 = np.where(sl > 0, s0 / sl, 0.0)
        f1 = np.where(sl > 0, s1 / sl, 0.0)
    x0, y0, x1, y1 = (seg[k][seg_idx] for k in ("x0", "y0", "x1", "y1"))
    out = np.empty((seg_idx.size, 2, 2))
    out[:, 0, 0], out[:, 0, 1] = x0 + f0 * (x1 - x0), y0 + f0 * (y1 - y0)
    out[:, 1, 0], out[:, 1, 1] = x0 + f1 * (x1 - x0), y0 + f1 * (y1 - y0)
    return out


def _stretches(segs: np.ndarray) -> np.ndarray:
    """Join consecutive sub-segments that share end points into polylines."""
    if segs.shape[0] == 0:
        return np.empty(0, dtype=object)
    breaks = np.r_[True, np.any(segs[1:, 0] != segs[:-1, 1], axis=1)]
    group = np.cumsum(breaks) - 1
    last = np.r_[breaks[1:], True]
    # every sub-segment contributes its start; the last of a group also its end
    n_pts = 1 + last.astype(np.int64)
    pts = np.empty((int(n_pts.sum()), 2))
    pos = np.cumsum(n_pts) - n_pts
    pts[pos] = segs[:, 0]
    pts[pos[last] + 1] = segs[last, 1]
    return shapely.linestrings(pts, indices=np.repeat(group, n_pts))


def _polygon(
    net: Network,
    whole: np.ndarray,
    segs: np.ndarray,
    points_xy: np.ndarray,
    buffer_m: float,
    fill_holes_m2: float,
) -> tuple[shapely.Geometry, float]:
    geom = street_area(net, whole, _stretches(segs), points_xy, buffer_m)
    if fill_holes_m2 > 0:
        polys = list(getattr(geom, "geoms", [geom]))
        geom = shapely.union_all([
            shapely.Polygon(p.exterior, [r for r in p.interiors
                                         if shapely.Polygon(r).area > fill_holes_m2])
            for p in polys
        ])  # fmt: skip
    area = float(geom.area)

    def to_lonlat(coords: np.ndarray) -> np.ndarray:
        lon, lat = net.unproject(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), 7)

    return shapely.transform(geom, to_lonlat), area


def access_segments(
    px: np.ndarray, py: np.ndarray, sx: np.ndarray, sy: np.ndarray, reach_m: np.ndarray
) -> np.ndarray:
    """Access legs ``(k, 2, 2)`` from points towards their snapped positions (EPSG:32651).

    Each leg runs from the point ``(px, py)`` straight towards ``(sx, sy)`` and is cut
    ``reach_m`` metres from the point; legs with nothing in reach (or of length 0) are left
    out.
    """
    px, py, sx, sy, reach_m = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float))
                                                    for a in (px, py, sx, sy, reach_m)))  # fmt: skip
    length = np.hypot(sx - px, sy - py)
    keep = (length > 0) & (reach_m > 0)
    r = np.minimum(reach_m[keep] / length[keep], 1.0)
    out = np.empty((int(keep.sum()), 2, 2))
    out[:, 0, 0], out[:, 0, 1] = px[keep], py[keep]
    out[:, 1, 0] = px[keep] + r * (sx[keep] - px[keep])
    out[:, 1, 1] = py[keep] + r * (sy[keep] - py[keep])
    return out


def reached_parts(
    net: Network,
    dist: np.ndarray,
    limit_s: float,
    *,
    shrink_m: float = 0.0,
    start_geo: int | None = None,
    start_t: float = 0.0,
    start_access_s: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pieces reached whole, and sub-segments ``(k, 2, 2)`` of the partly reached ones.

    ``dist`` is the cost from the start to every node (access leg included, as
    :func:`geo.network.search.search_from` gives it); ``start_geo``/``start_t`` add the
    stretch of the start piece reachable directly from the start point, after its access
    leg of ``start_access_s`` seconds (EPSG:32651).
    """
    fwd, bwd = net.geo_fwd, net.geo_bwd
    u, v = net.edge_src[fwd], net.indices[fwd]
    w_f = net.time_s[fwd].astype(np.float64)
    w_b = np.where(bwd >= 0, net.time_s[np.maximum(bwd, 0)], np.inf)
    geo, a, b = reached_intervals(net, dist[u], dist[v], w_f, w_b, limit_s, shrink_m)
    whole = a >= 1
    g, a, b = geo[~whole], a[~whole], b[~whole]
    parts = [_segments_for(net, g, np.zeros_like(a), a),
             _segments_for(net, g, 1.0 - b, np.ones_like(b))]  # fmt: skip
    if start_geo is not None:
        geo_len = max(float(net.segments["geo_len"][start_geo]), 1e-9)
        left_s = limit_s - start_access_s
        ahead = left_s / w_f[start_geo] - shrink_m / geo_len
        back = left_s / w_b[start_geo] - shrink_m / geo_len
        one = np.array([start_geo])
        hi = min(1.0, start_t + max(ahead, 0.0))
        lo = max(0.0, start_t - max(back, 0.0))
        parts.append(_segments_for(net, one, np.array([start_t]), np.array([hi])))
        parts.append(_segments_for(net, one, np.array([lo]), np.array([start_t])))
    return geo[whole], np.concatenate(parts, axis=0)


def reached_segments(
    net: Network,
    dist: np.ndarray,
    limit_s: float,
    *,
    shrink_m: float = 0.0,
    start_geo: int | None = None,
    start_t: float = 0.0,
    start_access_s: float = 0.0,
) -> np.ndarray:
    """Sub-segments ``(k, 2, 2)`` in EPSG:32651 reachable within ``limit_s`` of a search.

    The same stretches as :func:`reached_parts`, whole pieces cut into their segments.
    """
    whole, partial = reached_parts(net, dist, limit_s, shrink_m=shrink_m, start_geo=start_geo,
                                   start_t=start_t, start_access_s=start_access_s)  # fmt: skip
    ones = np.ones(whole.size)
    return np.concatenate([_segments_for(net, whole, 0.0 * ones, ones), partial], axis=0)


def isochrones(
    net: Network,
    lon: float,
    lat: float,
    minutes: Sequence[float] = (5, 10, 15),
    *,
    buffer_m: float = DEFAULT_BUFFER_M,
    fill_holes_m2: float = 0.0,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> list[Isochrone]:
    """Areas reachable from a point within each threshold (travel time on ``net``).

    The walk from the point to its street (its access leg, at
    :data:`~geo.network.snap.ACCESS_SPEED_MPS`) comes out of every threshold first.

    Parameters
    ----------
    net
        The network (its ``time_s`` weights: walk or drive).
    lon, lat
        Start point (WGS84); snapped to the nearest street.
    minutes
        Thresholds in minutes (positive, at most 180).
    buffer_m
        Buffer around the reached streets.
    fill_holes_m2
        Fill holes smaller than this (0 keeps every hole).
    max_snap_m
        Snapping limit.

    Returns
    -------
    list[Isochrone]
        One per threshold, smallest first.

    Raises
    ------
    SnapTooFarError
        If the start is farther than ``max_snap_m`` from any street.
    InvalidQueryError
        For bad thresholds.
    """
    limits = _check_thresholds(minutes)
    start = snap_one(net, lon, lat, max_snap_m=max_snap_m)
    access_s = float(access_cost(start)[0])
    search = search_from(net, start, 0, weight="time", limit=float(limits[-1]))
    sx, sy = net.project(start.lon, start.lat)
    px, py = net.project(np.array([lon], dtype=float), np.array([lat], dtype=float))
    out = []
    for limit in limits.tolist():
        whole, segs = reached_parts(net, search.dist, limit, shrink_m=buffer_m,
                                    start_geo=int(start.geo[0]), start_t=float(start.fraction[0]),
                                    start_access_s=access_s)  # fmt: skip
        leg = access_segments(px, py, sx, sy, limit * ACCESS_SPEED_MPS - buffer_m)
        polygon, area = _polygon(net, whole, np.concatenate([segs, leg], axis=0),
                                 np.column_stack([px, py]), buffer_m, fill_holes_m2)  # fmt: skip
        out.append(Isochrone(seconds=limit, polygon=polygon, area_m2=area,
                             n_nodes=int((search.dist <= limit).sum())))  # fmt: skip
    return out


def service_area(
    index: FacilityIndex,
    minutes: float,
    *,
    buffer_m: float = DEFAULT_BUFFER_M,
    fill_holes_m2: float = 0.0,
) -> Isochrone:
    """Area from which some facility of ``index`` is reachable within ``minutes``.

    Uses the precomputed labels (time from every node to its nearest facility's door,
    the facility's access leg included), so it costs one pass over the pieces plus the
    polygon union. The facilities' own access legs, as far as they are in reach, are part
    of the area.
    """
    limit = float(_check_thresholds([minutes])[0])
    net = index.net
    fwd, bwd = net.geo_fwd, net.geo_bwd
    u, v = net.edge_src[fwd], net.indices[fwd]
    w_f = net.time_s[fwd].astype(np.float64)
    w_b = np.where(bwd >= 0, net.time_s[np.maximum(bwd, 0)], np.inf)
    label = index.cost_s
    # towards the facility: from a point, leave via the tail (uses bwd) or the head (fwd)
    geo, a, b = reached_intervals(net, label[u], label[v], w_b, w_f, limit, buffer_m)
    whole = a >= 1
    g, a, b = geo[~whole], a[~whole], b[~whole]
    parts = [_segments_for(net, g, np.zeros_like(a), a),
             _segments_for(net, g, 1.0 - b, np.ones_like(b))]  # fmt: skip
    f = index.fac_snap
    ok = np.flatnonzero(f.ok)
    fg, ft = f.geo[ok], f.fraction[ok]
    left_s = limit - access_cost(f.take(ok))  # time left on the street after the access leg
    geo_len = np.maximum(net.segments["geo_len"][fg], 1e-9)
    before = np.maximum(left_s / w_f[fg] - buffer_m / geo_len, 0.0)  # walk forward to it
    after = np.maximum(left_s / w_b[fg] - buffer_m / geo_len, 0.0)  # walk backward to it
    parts.append(_segments_for(net, fg, np.maximum(ft - before, 0.0), ft))
    parts.append(_segments_for(net, fg, ft, np.minimum(ft + after, 1.0)))
    fx, fy = net.project(index.fac_lon[ok], index.fac_lat[ok])
    sx, sy = net.project(f.lon[ok], f.lat[ok])
    parts.append(access_segments(fx, fy, sx, sy, np.full(ok.size, limit * ACCESS_SPEED_MPS
                                                         - buffer_m)))  # fmt: skip
    segs = np.concatenate(parts, axis=0)
    polygon, area = _polygon(net, geo[whole], segs, np.column_stack([fx, fy]), buffer_m,
                             fill_holes_m2)  # fmt: skip
    return Isochrone(seconds=limit, polygon=polygon, area_m2=area,
                     n_nodes=int((label <= limit).sum()))  # fmt: skip
