"""An independent door-to-door walking oracle: osmnx + networkx on the same OSM files.

Used by ``tests/geo/test_door_to_door.py`` and ``bench/bench_door_to_door.py``. It shares
nothing with the engine's request-time code (no CSR arrays, no snapping grid, no labels):

* the ways the walk profile allows are read from the OSM files and handed to
  ``osmnx.graph_from_xml`` unsimplified and bidirectional (the same way filter as the engine's
  build, ``geo.network.build.read_ways`` -- what is compared is snapping and routing, not the
  access rules, which ``tests/geo/test_network_build.py`` checks);
* weakly connected components under ``min_component_nodes`` nodes are dropped, as the walk
  build does;
* the graph is projected to EPSG:32651 with ``osmnx.project_graph``; points are projected
  with their own pyproj transformer and snapped with ``osmnx.distance.nearest_edges``;
* each snapped edge is split at the projection (shapely ``project``): a virtual node joins
  the point to both ends with ``access + share of the edge length``, and a point and a
  facility on the same edge are also joined directly;
* door-to-door distance = access + street + access, from ``networkx`` Dijkstra to a sink
  behind every facility (walking is at one speed, so the nearest by distance is the
  nearest by time).
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import shapely
from pyproj import Transformer

from geo.network.build import BuildReport, read_ways, write_osm_xml

METRIC_CRS = "EPSG:32651"
SINK = "sink"


@dataclass(frozen=True)
class EdgeSnap:
    """A point snapped to the nearest edge ``u -> v`` of the oracle graph."""

    u: int
    v: int
    along_m: float  # metres of the edge length from u to the projection
    length_m: float  # the edge's length
    access_m: float  # straight distance from the point to the edge


def oracle_graph(osm_paths: Sequence[Path], min_component_nodes: int = 10) -> nx.MultiDiGraph:
    """Projected, unsimplified, bidirectional walking graph of the OSM files."""
    ways, nodes = read_ways([Path(p) for p in osm_paths], "walk", BuildReport())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "walk.osm"
        write_osm_xml(ways, nodes, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            graph = ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
    small = [c for c in nx.weakly_connected_components(graph) if len(c) < min_component_nodes]
    graph.remove_nodes_from([n for c in small for n in c])
    return ox.project_graph(graph, to_crs=METRIC_CRS)


def snap_points(graph: nx.MultiDiGraph, lon: np.ndarray, lat: np.ndarray) -> list[EdgeSnap]:
    """Snap WGS84 points to the nearest edge (osmnx ``nearest_edges``), split at the projection."""
    x, y = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True).transform(
        np.asarray(lon, float), np.asarray(lat, float))  # fmt: skip
    edges = ox.distance.nearest_edges(graph, np.atleast_1d(x), np.atleast_1d(y))
    out = []
    for (u, v, key), px, py in zip(edges, np.atleast_1d(x), np.atleast_1d(y), strict=True):
        u, v = int(u), int(v)
        data = graph.edges[u, v, key]
        ends = [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in (u, v)]
        line = data.get("geometry") or shapely.LineString(ends)
        point = shapely.Point(px, py)
        share = line.project(point) / line.length if line.length > 0 else 0.0
        length = float(data["length"])
        out.append(EdgeSnap(u, v, share * length, length, float(point.distance(line))))
    return out


def _attach(graph: nx.MultiDiGraph, a: object, s: EdgeSnap, *, leaving: bool) -> None:
    """Join virtual node ``a`` to both ends of its edge (from ``a`` when leaving, else to it)."""
    for node, along in ((s.u, s.along_m), (s.v, s.length_m - s.along_m)):
        w = s.access_m + along
        if leaving:
            graph.add_edge(a, node, length=w)
        else:
            graph.add_edge(node, a, length=w)


def _same_edge_direct(o: EdgeSnap, f: EdgeSnap) -> float | None:
    """Door-to-door length straight along a shared edge (either orientation), else None."""
    if (o.u, o.v) == (f.u, f.v):
        return abs(o.along_m - f.along_m) + o.access_m + f.access_m
    if (o.u, o.v) == (f.v, f.u):
        return abs(o.along_m - (f.length_m - f.along_m)) + o.access_m + f.access_m
    return None


def door_to_door_nearest(
    graph: nx.MultiDiGraph,
    q_lon: np.ndarray,
    q_lat: np.ndarray,
    f_lon: np.ndarray,
    f_lat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest facility of every query by door-to-door walking distance.

    Returns
    -------
    distance_m, facility, access_m
        ``(Q,)`` door-to-door metres (``inf`` when none is reachable), the facility index
        (-1 when none) and the query's own access leg.
    """
    n_f = len(np.atleast_1d(f_lon))
    snapped = snap_points(graph, np.r_[f_lon, q_lon], np.r_[f_lat, q_lat])  # one edge index
    facilities, queries = snapped[:n_f], snapped[n_f:]
    g = graph.copy()
    for j, s in enumerate(facilities):
        _attach(g, ("f", j), s, leaving=False)
        g.add_edge(("f", j), SINK, length=0.0)
    dist = np.full(len(queries), np.inf)
    fac = np.full(len(queries), -1, dtype=np.int64)
    for i, s in enumerate(queries):
        _attach(g, "o", s, leaving=True)
        for j, f in enumerate(facilities):
            direct = _same_edge_direct(s, f)
            if direct is not None:
                g.add_edge("o", ("f", j), length=direct)
        try:
            d, path = nx.single_source_dijkstra(g, "o", SINK, weight="length")
            dist[i], fac[i] = d, path[-2][1]
        except nx.NetworkXNoPath:
            pass
        g.remove_node("o")
    return dist, fac, np.array([s.access_m for s in queries])


def agreement(ours_m: np.ndarray, oracle_m: np.ndarray) -> dict[str, float]:
    """Share of points within 60 m or 5 %, and the shortfall (oracle - ours) median and p90."""
    diff = np.asarray(oracle_m, float) - np.asarray(ours_m, float)
    close = np.abs(diff) <= np.maximum(60.0, 0.05 * np.asarray(oracle_m, float))
    return {
        "n": float(diff.size),
        "agree_share": float(close.mean()),
        "shortfall_median_m": float(np.median(diff)),
        "shortfall_p90_m": float(np.percentile(diff, 90)),
        "abs_diff_median_m": float(np.median(np.abs(diff))),
        "abs_diff_p90_m": float(np.percentile(np.abs(diff), 90)),
    }


def off_street_points(
    graph: nx.MultiDiGraph, n: int, rng: np.random.Generator, offset_m: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points ``offset_m`` (uniform range) away from random points on random edges.

    Measured from a point on a street, in a random direction, so many land that far from
    any street (a few land nearer to another one).
    """
    edges = list(graph.edges(keys=False))
    pick = rng.integers(0, len(edges), n)
    t = rng.uniform(0, 1, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    off = rng.uniform(*offset_m, n)
    xs, ys = np.empty(n), np.empty(n)
    for i, e in enumerate(pick.tolist()):
        u, v = edges[e]
        a, b = graph.nodes[u], graph.nodes[v]
        xs[i] = a["x"] + t[i] * (b["x"] - a["x"]) + off[i] * np.cos(angle[i])
        ys[i] = a["y"] + t[i] * (b["y"] - a["y"]) + off[i] * np.sin(angle[i])
    lon, lat = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True).transform(xs, ys)
    return np.asarray(lon), np.asarray(lat)
