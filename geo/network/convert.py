"""Conversions between osmnx/networkx graphs and the compact :class:`Network`, and coverage.

Build-time and test-time helpers; request handling never imports this module.
"""

from __future__ import annotations

import logging
from typing import Any

import networkx as nx
import numpy as np
import shapely

from geo.network.csr import Network

logger = logging.getLogger(__name__)

#: Douglas-Peucker tolerance applied to stored edge geometry, in degrees (about 1 m).
GEOMETRY_TOLERANCE_DEG = 1e-5


def _morton_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Permutation that sorts points along a Z-order curve (better memory locality)."""

    def spread(v: np.ndarray) -> np.ndarray:
        v = v.astype(np.uint64) & np.uint64(0xFFFF)
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        return (v | (v << np.uint64(1))) & np.uint64(0x55555555)

    def scale(v: np.ndarray) -> np.ndarray:
        span = float(v.max() - v.min()) or 1.0
        return ((v - v.min()) / span * 65535).astype(np.int64)

    code = spread(scale(x)) | (spread(scale(y)) << np.uint64(1))
    return np.argsort(code, kind="stable")


def network_from_graph(
    graph: nx.MultiDiGraph, *, name: str, profile: str, meta: dict[str, Any] | None = None
) -> Network:
    """Convert an osmnx graph (``x``/``y`` nodes; ``length``, ``travel_time`` edges) to CSR.

    Self-loops are dropped; of parallel edges the cheapest (time for drive, length for
    walk) is kept. Nodes are renumbered along a Z-order curve. Two opposite edges whose
    geometries are mirror images share one stored polyline.

    Parameters
    ----------
    graph
        The graph; optional edge attributes ``hclass``, ``flags``, ``geometry``.
    name, profile, meta
        Stored on the network.

    Returns
    -------
    Network
    """
    node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    xs = np.array([graph.nodes[n]["x"] for n in node_ids], dtype=np.float64)
    ys = np.array([graph.nodes[n]["y"] for n in node_ids], dtype=np.float64)
    order = _morton_order(xs, ys)
    node_ids, xs, ys = node_ids[order], xs[order], ys[order]
    index = {int(n): i for i, n in enumerate(node_ids)}
    lonlat_e7 = np.column_stack([np.rint(xs * 1e7), np.rint(ys * 1e7)]).astype(np.int32)

    rows: list[tuple[int, int, float, float, int, int]] = []
    geoms: list[np.ndarray] = []
    for u, v, data in graph.edges(data=True):
        iu, iv = index[int(u)], index[int(v)]
        if iu == iv:
            continue
        geom = data.get("geometry")
        inner = np.empty((0, 2), dtype=np.int32)
        if geom is not None:
            coords = np.asarray(shapely.simplify(geom, GEOMETRY_TOLERANCE_DEG).coords)
            first = coords[0]
            if np.hypot(*(first - (xs[iu], ys[iu]))) > np.hypot(*(first - (xs[iv], ys[iv]))):
                coords = coords[::-1]
            inner = np.rint(coords[1:-1] * 1e7).astype(np.int32)
        rows.append((iu, iv, float(data["length"]), float(data["travel_time"]),
                     int(data.get("hclass", 23)), int(data.get("flags", 0))))  # fmt: skip
        geoms.append(inner)
    arr = np.array([r[:4] for r in rows], dtype=np.float64)
    src, dst = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
    length = np.maximum(arr[:, 2], 0.01)
    time = np.maximum(arr[:, 3], 0.001)
    hclass = np.array([r[4] for r in rows], dtype=np.uint8)
    flags = np.array([r[5] for r in rows], dtype=np.uint8)
    primary = time if profile == "drive" else length
    order_e = np.lexsort((primary, dst, src))
    keys = src[order_e] * len(node_ids) + dst[order_e]
    keep = order_e[np.r_[True, keys[1:] != keys[:-1]]]
    src, dst, length, time = src[keep], dst[keep], length[keep], time[keep]
    hclass, flags = hclass[keep], flags[keep]
    geoms = [geoms[i] for i in keep]
    n, m = len(node_ids), len(src)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])

    # pair opposite edges with mirrored geometry into one stored piece
    key_sorted = src * n + dst
    rev = np.searchsorted(key_sorted, dst * n + src)
    rev = np.where((rev < m) & (key_sorted[np.minimum(rev, m - 1)] == dst * n + src), rev, -1)
    edge_geo = np.full(m, -1, dtype=np.int32)
    geo_fwd: list[int] = []
    geo_bwd: list[int] = []
    pieces: list[np.ndarray] = []
    for e in range(m):
        if edge_geo[e] >= 0:
            continue
        g = len(geo_fwd)
        edge_geo[e] = g
        geo_fwd.append(e)
        pieces.append(geoms[e])
        r = int(rev[e])
        if r >= 0 and edge_geo[r] < 0 and np.array_equal(geoms[r], geoms[e][::-1]):
            edge_geo[r] = g
            geo_bwd.append(r)
        else:
            geo_bwd.append(-1)
    counts = np.array([p.shape[0] for p in pieces], dtype=np.int64)
    geo_offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum(counts, out=geo_offsets[1:])
    coords_e7 = (
        np.vstack([p for p in pieces if p.shape[0]]).astype(np.int32)
        if counts.sum()
        else np.empty((0, 2), dtype=np.int32)
    )
    net = Network(
        name=name,
        profile=profile,
        indptr=indptr,
        indices=dst.astype(np.int32),
        length_m=length.astype(np.float32),
        time_s=time.astype(np.float32),
        edge_class=hclass,
        edge_flags=flags,
        edge_geo=edge_geo,
        node_lonlat_e7=lonlat_e7,
        node_osm_id=node_ids,
        geo_fwd=np.array(geo_fwd, dtype=np.int32),
        geo_bwd=np.array(geo_bwd, dtype=np.int32),
        geo_offsets=geo_offsets,
        geo_coords_e7=coords_e7,
        meta=dict(meta or {}),
    )
    net.validate()
    return net


def to_networkx(net: Network, weight: str = "time") -> nx.DiGraph:
    """A networkx DiGraph with the same nodes, edges and weights (attribute ``weight``)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(net.n_nodes))
    w = net.weights(weight).astype(np.float64)
    graph.add_weighted_edges_from(
        zip(net.edge_src.tolist(), net.indices.tolist(), w.tolist(), strict=True)
    )
    return graph


def coverage_polygon(
    net: Network,
    *,
    buffer_m: float = 300.0,
    simplify_m: float = 25.0,
    min_hole_m2: float = 250_000.0,
) -> shapely.Geometry:
    """The area within ``buffer_m`` of the network's streets, as a WGS84 (Multi)Polygon.

    Holes smaller than ``min_hole_m2`` are filled; the outline is simplified by
    ``simplify_m`` metres.
    """
    seg = net.segments
    offsets, xy = seg["offsets"], seg["xy"]
    lines = shapely.linestrings(xy, indices=np.repeat(np.arange(net.n_geo), np.diff(offsets)))
    lines = shapely.simplify(lines, simplify_m)
    area = shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=4))
    polys = list(getattr(area, "geoms", [area]))
    filled = []
    for poly in polys:
        holes = [r for r in poly.interiors if shapely.Polygon(r).area >= min_hole_m2]
        filled.append(shapely.Polygon(poly.exterior, holes))
    area = shapely.simplify(shapely.union_all(filled), simplify_m)

    def to_lonlat(coords: np.ndarray) -> np.ndarray:
        lon, lat = net.unproject(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), 6)

    return shapely.transform(area, to_lonlat)
