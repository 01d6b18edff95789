"""Route geometry: partial first piece, whole edges, partial last piece, as ``[lon, lat]``.

Shared by the batched and the single-point paths, so a route is drawn the same way
whichever answered. Positions along a piece are fractions of its projected length
(EPSG:32651, as in snapping); a point inside a straight segment is interpolated linearly in
lon/lat between the segment's ends (the difference to interpolating in metres is far below
the 1e-7 degree output precision). Everything is plain Python over a piece's few vertices
plus one gather for the whole edges, without pyproj.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from geo._once import freeze_arrays, once_per_object
from geo.network.csr import Network


def _interp(cum: list[float], pts: list[list[float]], d: float) -> list[float]:
    """Point ``d`` metres along a polyline with vertex distances ``cum`` (clamped)."""
    if d <= cum[0]:
        return pts[0]
    for i in range(1, len(cum)):
        if d <= cum[i]:
            span = cum[i] - cum[i - 1]
            if span <= 0:
                return pts[i]
            r = (d - cum[i - 1]) / span
            a, b = pts[i - 1], pts[i]
            return [a[0] + r * (b[0] - a[0]), a[1] + r * (b[1] - a[1])]
    return pts[-1]


def partial_piece(net: Network, geo: int, t0: float, t1: float) -> list[list[float]]:
    """Unrounded ``[lon, lat]`` of piece ``geo`` from fraction ``t0`` to ``t1`` (either way)."""
    offsets, lonlat = net.polylines
    a, b = int(offsets[geo]), int(offsets[geo + 1])
    pts: list[list[float]] = lonlat[a:b].tolist()
    cum: list[float] = net.vertex_cum_m[a:b].tolist()
    reverse = t0 > t1
    lo, hi = (t1, t0) if reverse else (t0, t1)
    total = cum[-1]
    if total <= 0:
        out = [pts[0], pts[-1]]
    else:
        d_lo, d_hi = lo * total, hi * total
        out = [_interp(cum, pts, d_lo)]
        out.extend(p for p, c in zip(pts, cum, strict=True) if d_lo < c < d_hi)
        out.append(_interp(cum, pts, d_hi))
    if reverse:
        out.reverse()
    return out


@once_per_object
def edge_vertex_span(net: Network) -> np.ndarray:
    """``(m, 2)`` per directed edge: polyline vertex index of its tail and of its head."""
    offsets = net.polylines[0]
    geo = net.edge_geo.astype(np.int64)
    first, last = offsets[geo], offsets[geo + 1] - 1
    fwd = net.geo_fwd[geo] == np.arange(net.n_edges)
    return freeze_arrays(np.column_stack([np.where(fwd, first, last), np.where(fwd, last, first)]))


def end_fraction(net: Network, geo: int, node: int) -> float:
    """0 if ``node`` is the tail of piece ``geo`` (of ``geo_fwd``), 1 if it is the head."""
    return 0.0 if int(net.edge_src[net.geo_fwd[geo]]) == node else 1.0


#: Route tails kept per network: a tail is everything of a route after its first partial
#: piece (the whole edges, the last partial piece and the destination), rounded and
#: de-duplicated. It depends only on the path and the facility, not on where the query point
#: lies on its street, so nearby queries share it. The bound is in points (16 bytes each).
ROUTE_TAIL_CACHE_POINTS = 400_000


class _TailCache:
    """A bounded LRU of route tails (``(n, 2)`` arrays), safe from any thread."""

    __slots__ = ("_entries", "_lock", "_points", "max_points")

    def __init__(self, max_points: int) -> None:
        self.max_points = max_points
        self._entries: OrderedDict[tuple[object, ...], np.ndarray] = OrderedDict()
        self._points = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> np.ndarray | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[object, ...], tail: np.ndarray) -> None:
        with self._lock:
            if key in self._entries or len(tail) > self.max_points:
                return
            self._entries[key] = tail
            self._points += len(tail)
            while self._points > self.max_points:
                _, dropped = self._entries.popitem(last=False)
                self._points -= len(dropped)


@once_per_object
def _tail_cache(net: Network) -> _TailCache:
    return _TailCache(ROUTE_TAIL_CACHE_POINTS)


def _rounded_unique(coords: list[list[float]]) -> np.ndarray:
    """``coords`` rounded to 1e-7 degrees, consecutive repeats dropped, as ``(n, 2)``."""
    rounded = np.round(np.asarray(coords, dtype=np.float64).reshape(-1, 2), 7)
    if len(rounded) > 1:
        keep = np.empty(len(rounded), dtype=bool)
        keep[0] = True
        np.any(rounded[1:] != rounded[:-1], axis=1, out=keep[1:])
        rounded = rounded[keep]
    rounded.flags.writeable = False
    return rounded


def _rounded_unique_list(coords: list[list[float]]) -> list[list[float]]:
    """:func:`_rounded_unique` for a few points, in plain Python (no array overhead).

    ``round(v * 1e7) / 1e7`` is exactly what ``np.round(v, 7)`` computes (scale, round half
    to even, divide), so both give the same floats.
    """
    out: list[list[float]] = []
    for lon, lat in coords:
        point = [round(lon * 1e7) / 1e7, round(lat * 1e7) / 1e7]
        if not out or point != out[-1]:
            out.append(point)
    return out


def _route_tail(
    net: Network,
    start_node: int,
    edges: Sequence[int] | np.ndarray,
    d_geo: int,
    d_t: float,
    destination: tuple[float, float] | None,
) -> np.ndarray:
    """The rounded coordinates of a route from ``start_node`` on (cached per network)."""
    edge_list = edges.tolist() if isinstance(edges, np.ndarray) else list(edges)
    key = (start_node, tuple(edge_list), d_geo, d_t, destination)
    cache = _tail_cache(net)
    found = cache.get(key)
    if found is not None:
        return found
    node = net.node_lonlat_e7[start_node]
    coords: list[list[float]] = [[float(node[0]) / 1e7, float(node[1]) / 1e7]]
    last = start_node
    if edge_list:
        idx: list[int] = []
        for a, b in edge_vertex_span(net)[np.asarray(edge_list, dtype=np.int64)].tolist():
            idx.extend(range(a + 1, b + 1) if a < b else range(a - 1, b - 1, -1))
        coords.extend(net.polylines[1][idx].tolist())
        last = int(net.indices[edge_list[-1]])
    coords.extend(partial_piece(net, d_geo, end_fraction(net, d_geo, last), d_t)[1:])
    if destination is not None:
        coords.append([destination[0], destination[1]])
    tail = _rounded_unique(coords)
    cache.put(key, tail)
    return tail


def route_lonlat(
    net: Network,
    o_geo: int,
    o_t: float,
    start_node: int,
    edges: Sequence[int] | np.ndarray,
    d_geo: int,
    d_t: float,
    *,
    origin: tuple[float, float] | None = None,
    destination: tuple[float, float] | None = None,
) -> list[list[float]]:
    """Coordinates of a route, rounded to 1e-7 degrees, without repeated points.

    With ``origin`` / ``destination`` (the points that were snapped, ``(lon, lat)``) the
    line also runs along their access legs: it starts at the origin and ends at the
    destination, not at their snapped positions on the street.

    Everything after the first partial piece (see :func:`_route_tail`) is cached per
    network, so only the part from the query point to the first node is built per call.

    Parameters
    ----------
    net
        The network.
    o_geo, o_t
        Start piece and fraction.
    start_node
        The end of the start piece the route leaves by; -1 for a route that stays on one
        piece from ``o_t`` to ``d_t`` (then ``edges`` is ignored).
    edges
        Directed edges from ``start_node`` to the end of the last piece the route enters by.
    d_geo, d_t
        Destination piece and fraction.
    origin, destination
        The unsnapped end points, drawn as the first and last coordinates (optional).
    """
    if start_node < 0:
        coords = partial_piece(net, o_geo, o_t, d_t)
        if origin is not None:
            coords.insert(0, [origin[0], origin[1]])
        if destination is not None:
            coords.append([destination[0], destination[1]])
        return _rounded_unique_list(coords)
    coords = partial_piece(net, o_geo, o_t, end_fraction(net, o_geo, start_node))
    if origin is not None:
        coords.insert(0, [origin[0], origin[1]])
    head = _rounded_unique_list(coords)
    tail: list[list[float]] = _route_tail(net, start_node, edges, d_geo, d_t, destination).tolist()
    if tail and head and tail[0] == head[-1]:
        del tail[0]
    return head + tail
