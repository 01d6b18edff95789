"""Join the citywide major-road links (GeoJSON) to a drive graph built from full OSM data.

``major_roads_citywide.geojson`` holds motorway/trunk/primary/secondary links (and their
ramps) for the whole municipality, field ``highway``, no ``oneway``. Its vertices are OSM
nodes stored as float32, so a vertex matches an OSM node when both coordinates agree after
rounding the OSM coordinates to float32 (about 0.7 m in longitude). Matching vertices become
the shared nodes that join the two graphs.

Rules: every link is cut into vertex-to-vertex segments; a segment whose two vertices are
both nodes of the full graph is skipped unless it is a motorway or trunk (or their links),
because the full graph already carries that street; every other segment is added in both
directions (no one-way information) with the class speed of
:data:`geo.network.profiles.SPEEDS_KMH`.
"""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import networkx as nx
import numpy as np

from geo.network.csr import FLAG_MAJOR_ROADS, HIGHWAY_CLASSES
from geo.network.errors import NetworkBuildError
from geo.network.estimate import great_circle_m
from geo.network.profiles import MOTOR_ONLY, SPEEDS_KMH

logger = logging.getLogger(__name__)


def join_major_roads(graph: nx.MultiDiGraph, path: Path) -> dict[str, int]:
    """Add the major-road links of a GeoJSON file to ``graph`` in place.

    Parameters
    ----------
    graph
        Unsimplified drive graph (osmnx, with ``travel_time``/``hclass``/``flags`` edges).
    path
        GeoJSON FeatureCollection of LineStrings with a ``highway`` property.

    Returns
    -------
    dict
        Counts: ``links``, ``segments_added``, ``segments_skipped`` (already in the full
        graph), ``shared_nodes`` (vertices matched to full-graph nodes), ``new_nodes``.
    """
    try:
        features = json.loads(Path(path).read_text())["features"]
    except (OSError, ValueError, KeyError) as exc:
        msg = f"cannot read major roads from {Path(path).name!r}: {exc}"
        raise NetworkBuildError(msg) from exc
    node_key: dict[tuple[float, float], int] = {}
    for node, data in graph.nodes(data=True):
        node_key[(float(np.float32(data["x"])), float(np.float32(data["y"])))] = node
    full_nodes = set(node_key.values())
    class_code = {c: i for i, c in enumerate(HIGHWAY_CLASSES)}
    counts = {"links": 0, "segments_added": 0, "segments_skipped": 0,
              "shared_nodes": 0, "new_nodes": 0}  # fmt: skip
    shared: set[int] = set()
    next_id = -1
    for feature in features:
        geom = feature.get("geometry") or {}
        if geom.get("type") != "LineString":
            continue
        highway = str((feature.get("properties") or {}).get("highway", "secondary"))
        counts["links"] += 1
        ids = []
        for lon, lat in geom["coordinates"]:
            key = (float(np.float32(lon)), float(np.float32(lat)))
            node = node_key.get(key)
            if node is None:
                node = next_id
                next_id -= 1
                node_key[key] = node
                graph.add_node(node, x=key[0], y=key[1])
                counts["new_nodes"] += 1
            elif node in full_nodes:
                shared.add(node)
            ids.append(node)
        speed_mps = SPEEDS_KMH.get(highway, SPEEDS_KMH["secondary"]) / 3.6
        code = class_code.get(highway, class_code["other"])
        for a, b in itertools.pairwise(ids):
            if a == b:
                continue
            if a in full_nodes and b in full_nodes and highway not in MOTOR_ONLY:
                counts["segments_skipped"] += 1
                continue
            na, nb = graph.nodes[a], graph.nodes[b]
            length = float(great_circle_m(na["x"], na["y"], nb["x"], nb["y"]))
            attrs = {"length": length, "travel_time": length / speed_mps,
                     "hclass": code, "flags": FLAG_MAJOR_ROADS}  # fmt: skip
            graph.add_edge(a, b, **attrs)
            graph.add_edge(b, a, **attrs)
            counts["segments_added"] += 1
    counts["shared_nodes"] = len(shared)
    logger.info("major roads joined: %s", counts)
    return counts
