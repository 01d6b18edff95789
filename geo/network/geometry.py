"""Route geometry: partial first piece, whole edges, partial last piece, as ``[lon, lat]``.

Shared by the batched and the single-point paths, so a route is drawn the same way
whichever answered. Positions along a piece are fractions of its projected length
(EPSG:32651, as in snapping); a point inside a straight segment is interpolated linearly in
lon/lat between the segment's ends (the difference to interpolating in metres is far below
the 1e-7 degree output precision). Everything is plain Python over a piece's few vertices
plus one gather for the whole edges, without pyproj.
"""

from __future__ import annotations

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
    else:
        coords = partial_piece(net, o_geo, o_t, end_fraction(net, o_geo, start_node))
        edges = np.asarray(edges, dtype=np.int64)
        last = start_node
        if edges.size:
            idx: list[int] = []
            for a, b in edge_vertex_span(net)[edges].tolist():
                idx.extend(range(a + 1, b + 1) if a < b else range(a - 1, b - 1, -1))
            coords.extend(net.polylines[1][idx].tolist())
            last = int(net.indices[edges[-1]])
        coords.extend(partial_piece(net, d_geo, end_fraction(net, d_geo, last), d_t)[1:])
    if origin is not None:
        coords.insert(0, [origin[0], origin[1]])
    if destination is not None:
        coords.append([destination[0], destination[1]])
    rounded: list[list[float]] = np.round(np.asarray(coords, dtype=np.float64), 7).tolist()
    return [c for i, c in enumerate(rounded) if i == 0 or c != rounded[i - 1]]
