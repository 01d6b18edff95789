"""Build walk and drive networks from OSM files (``.osm`` XML or ``.osm.pbf``) with osmnx.

Pipeline (:func:`build_network`):

1. read every input file with pyosmium, keep the ways the profile allows
   (:mod:`geo.network.profiles`), merge files by OSM id and write one filtered OSM XML file;
2. ``osmnx.graph_from_xml`` on that file (unsimplified; walk graphs bidirectional);
3. per-edge travel time, class and flags;
4. optionally join the citywide major-road GeoJSON at shared nodes (:mod:`geo.network.major`);
5. keep the largest strongly connected component (drive) or the components with at least
   ``min_component_nodes`` nodes (walk), and report what was dropped;
6. ``osmnx.simplify_graph`` (lengths and times summed, flags OR-ed);
7. convert to the compact CSR :class:`~geo.network.csr.Network` (:mod:`geo.network.convert`).

This is build-time code; request handling never imports it.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import quoteattr

import networkx as nx
import numpy as np
import osmium
import osmnx as ox

from geo.network.csr import (
    FLAG_BRIDGE,
    FLAG_ONEWAY,
    FLAG_TUNNEL,
    HIGHWAY_CLASSES,
    Network,
)
from geo.network.errors import NetworkBuildError
from geo.network.profiles import (
    KEPT_TAGS,
    SPEEDS_KMH,
    WALK_SPEED_MPS,
    allows,
    check_profile,
    drive_speed_kmh,
    is_road_tunnel,
)

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
_CLASS_CODE = {name: i for i, name in enumerate(HIGHWAY_CLASSES)}


@dataclass
class BuildReport:
    """What a build read, kept and dropped (counts; written into ``meta.json``)."""

    inputs: list[str] = field(default_factory=list)
    profile: str = "walk"
    ways_read: int = 0
    ways_kept: int = 0
    ways_dropped_by_rule: int = 0
    node_refs_missing: int = 0
    nodes_before_components: int = 0
    components_dropped: int = 0
    nodes_dropped: int = 0
    edges_dropped: int = 0
    major_roads: dict[str, int] = field(default_factory=dict)
    nodes: int = 0
    edges: int = 0
    built_at: str = ""

    def as_dict(self) -> dict[str, object]:
        """Plain-dict form for JSON."""
        return asdict(self)


def _noop(_: str) -> None:
    return None


def read_ways(
    paths: Sequence[Path], profile: str, report: BuildReport
) -> tuple[dict[int, tuple[list[int], dict[str, str]]], dict[int, tuple[float, float]]]:
    """Read the allowed ways and their node locations from OSM files (merged by id).

    Parameters
    ----------
    paths
        ``.osm`` or ``.osm.pbf`` (or ``.osm.bz2``/``.osm.gz``) files; libosmium picks the
        reader from the extension.
    profile
        ``"walk"`` or ``"drive"``.
    report
        Updated in place with counts.

    Returns
    -------
    ways, nodes
        ``ways[id] = (node ids, kept tags)``; ``nodes[id] = (lon, lat)``. A way whose nodes
        are partly missing from the file is cut into its runs of present nodes.
    """
    ways: dict[int, tuple[list[int], dict[str, str]]] = {}
    nodes: dict[int, tuple[float, float]] = {}
    for path in paths:
        if not Path(path).exists():
            msg = f"OSM file {Path(path).name!r} does not exist"
            raise NetworkBuildError(msg)
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            report.ways_read += 1
            tags = {t.k: t.v for t in way.tags}
            if not allows(profile, tags):
                report.ways_dropped_by_rule += 1
                continue
            kept = {k: tags[k] for k in KEPT_TAGS if k in tags}
            if is_road_tunnel(tags):
                kept["tunnel"] = "yes"
            runs: list[list[int]] = [[]]
            for nd in way.nodes:
                if nd.location.valid():
                    nodes[nd.ref] = (nd.lon, nd.lat)
                    runs[-1].append(nd.ref)
                else:
                    report.node_refs_missing += 1
                    runs.append([])
            runs = [r for r in runs if len(r) >= 2]
            for i, run in enumerate(runs):
                way_id = way.id if len(runs) == 1 else -(way.id * 100 + i)
                ways[way_id] = (run, kept)
    report.ways_kept = len(ways)
    return ways, nodes


def write_osm_xml(
    ways: dict[int, tuple[list[int], dict[str, str]]],
    nodes: dict[int, tuple[float, float]],
    path: Path,
) -> None:
    """Write ways and their nodes as a minimal OSM XML file osmnx can read."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        fh.write('<osm version="0.6" generator="servicemap network build">\n')
        for node_id in sorted(nodes):
            lon, lat = nodes[node_id]
            fh.write(f'<node id="{node_id}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
        for way_id in sorted(ways):
            refs, tags = ways[way_id]
            fh.write(f'<way id="{way_id}">')
            fh.write("".join(f'<nd ref="{r}"/>' for r in refs))
            fh.write("".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()))
            fh.write("</way>\n")
        fh.write("</osm>\n")


def _first(value: object) -> str | None:
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def class_code(highway: object) -> int:
    """Code of the most important class in a (possibly list-valued) ``highway`` attribute."""
    values = highway if isinstance(highway, list) else [highway]
    codes = [_CLASS_CODE.get(str(v), _CLASS_CODE["other"]) for v in values]
    return min(codes) if codes else _CLASS_CODE["other"]


def add_edge_costs(graph: nx.MultiDiGraph, profile: str) -> None:
    """Add ``travel_time`` (s), ``hclass`` (code) and ``flags`` to every edge, in place.

    Other attributes are deleted (they are not needed and slow down simplification).
    """
    for _, _, data in graph.edges(data=True):
        highway = _first(data.get("highway")) or "other"
        length = float(data["length"])
        if profile == "walk":
            speed_mps = WALK_SPEED_MPS
        else:
            speed_mps = drive_speed_kmh(highway, _first(data.get("maxspeed"))) / 3.6
        flags = 0
        if data.get("tunnel") not in (None, "no", "building_passage"):
            flags |= FLAG_TUNNEL
        if data.get("bridge") not in (None, "no"):
            flags |= FLAG_BRIDGE
        if data.get("oneway") is True:
            flags |= FLAG_ONEWAY
        flags |= int(data.get("flags", 0))
        new = {
            "length": length,
            "travel_time": length / speed_mps,
            "hclass": class_code(highway),
            "flags": flags,
        }
        data.clear()
        data.update(new)


def keep_components(
    graph: nx.MultiDiGraph, profile: str, min_component_nodes: int, report: BuildReport
) -> nx.MultiDiGraph:
    """Keep the largest strongly connected component (drive) or big enough components (walk).

    Walk networks keep every weakly connected component with at least
    ``min_component_nodes`` nodes, so that the two banks of a river without a walkable
    crossing both stay in the network (a query across is then reported as unreachable).
    """
    report.nodes_before_components = graph.number_of_nodes()
    n_edges = graph.number_of_edges()
    if profile == "drive":
        comps = list(nx.strongly_connected_components(graph))
        comps.sort(key=len, reverse=True)
        keep = set(comps[0]) if comps else set()
        report.components_dropped = max(len(comps) - 1, 0)
    else:
        comps = list(nx.weakly_connected_components(graph))
        kept = [c for c in comps if len(c) >= min_component_nodes]
        keep = set().union(*kept) if kept else set()
        report.components_dropped = len(comps) - len(kept)
    n_nodes = graph.number_of_nodes()
    graph.remove_nodes_from([node for node in list(graph.nodes) if node not in keep])
    sub = graph
    report.nodes_dropped = n_nodes - sub.number_of_nodes()
    report.edges_dropped = n_edges - sub.number_of_edges()
    logger.info(
        "components: kept %d nodes, dropped %d nodes in %d components",
        sub.number_of_nodes(), report.nodes_dropped, report.components_dropped,
    )  # fmt: skip
    return sub


def simplify(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Topologically simplify with osmnx, summing lengths/times and OR-ing flags."""
    aggs = {
        "length": sum,
        "travel_time": sum,
        "hclass": min,
        "flags": lambda values: int(np.bitwise_or.reduce(np.asarray(values, dtype=np.int64))),
    }
    return ox.simplify_graph(graph, edge_attr_aggs=aggs)


def graph_from_osm_files(
    paths: Sequence[Path], profile: str, report: BuildReport, progress: Progress = _noop
) -> nx.MultiDiGraph:
    """Unsimplified osmnx graph of the allowed ways of several OSM files, with edge costs."""
    progress("reading OSM")
    ways, nodes = read_ways(paths, profile, report)
    if not ways:
        msg = f"no {profile} ways in {', '.join(Path(p).name for p in paths)}"
        raise NetworkBuildError(msg)
    progress("graph from XML")
    with tempfile.TemporaryDirectory() as tmp:
        xml_path = Path(tmp) / "filtered.osm"
        write_osm_xml(ways, nodes, xml_path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            graph = ox.graph_from_xml(
                xml_path, bidirectional=profile == "walk", simplify=False, retain_all=True
            )
    add_edge_costs(graph, profile)
    return graph


def build_network(
    osm_paths: Iterable[Path],
    profile: str,
    *,
    name: str | None = None,
    major_roads: Path | None = None,
    min_component_nodes: int = 10,
    coverage_buffer_m: float = 300.0,
    progress: Progress = _noop,
) -> tuple[Network, BuildReport]:
    """Build a compact network from OSM files, optionally joined to the citywide major roads.

    Parameters
    ----------
    osm_paths
        One or more ``.osm`` / ``.osm.pbf`` files (merged by OSM id).
    profile
        ``"walk"`` or ``"drive"`` (rules in :mod:`geo.network.profiles`).
    name
        Network name stored in the metadata (default ``<first file stem>_<profile>``).
    major_roads
        Optional GeoJSON of major-road links (field ``highway``) joined at shared nodes
        (drive only; see :mod:`geo.network.major`).
    min_component_nodes
        Walk: smallest weakly connected component kept.
    coverage_buffer_m
        Radius around the streets that makes up the coverage polygon.
    progress
        Called with a short step label at the start of each step.

    Returns
    -------
    network, report

    Raises
    ------
    NetworkBuildError
        If a file is missing or no usable way is found.
    """
    from geo.network.convert import coverage_polygon, network_from_graph
    from geo.network.major import join_major_roads

    profile = check_profile(profile)
    paths = [Path(p) for p in osm_paths]
    report = BuildReport(inputs=[p.name for p in paths], profile=profile)
    graph = graph_from_osm_files(paths, profile, report, progress)
    if major_roads is not None:
        if profile != "drive":
            msg = "major roads can only be joined to a drive network"
            raise NetworkBuildError(msg)
        progress("joining major roads")
        report.major_roads = join_major_roads(graph, Path(major_roads))
        report.inputs.append(Path(major_roads).name)
    progress("connected components")
    graph = keep_components(graph, profile, min_component_nodes, report)
    progress("simplifying")
    graph = simplify(graph)
    progress("compacting")
    meta: dict[str, object] = {
        "speeds_kmh": SPEEDS_KMH if profile == "drive" else None,
        "walk_speed_mps": WALK_SPEED_MPS if profile == "walk" else None,
        "licence": "ODbL 1.0, (c) OpenStreetMap contributors",
    }
    net = network_from_graph(graph, name=name or f"{paths[0].stem}_{profile}", profile=profile,
                             meta=meta)  # fmt: skip
    progress("coverage polygon")
    coverage = coverage_polygon(net, buffer_m=coverage_buffer_m)
    report.nodes, report.edges = net.n_nodes, net.n_edges
    report.built_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    net.meta["build"] = report.as_dict()
    net.meta["coverage_buffer_m"] = coverage_buffer_m
    net = dataclasses.replace(net, coverage=coverage)  # a new object: nothing cached yet
    return net, report
