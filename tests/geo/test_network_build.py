"""Building networks from OSM files: access rules, one-way streets, .pbf input, osmnx parity."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import osmium
import osmnx as ox
import pytest

from geo.network.build import (
    BuildReport,
    build_network,
    graph_from_osm_files,
    read_ways,
    write_osm_xml,
)
from geo.network.csr import FLAG_TUNNEL, load_network, save_network
from geo.network.errors import NetworkBuildError
from geo.network.matrix import node_matrix
from geo.network.profiles import drive_allows, walk_allows

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "peoples_square.osm"

# A tiny synthetic town: a 3 x 2 grid of residential streets 0.001 deg apart, plus a
# motorway, a road tunnel, a foot=no street, a private street and a one-way street.
_NODES = {
    1: (121.000, 31.000), 2: (121.001, 31.000), 3: (121.002, 31.000),
    4: (121.000, 31.001), 5: (121.001, 31.001), 6: (121.002, 31.001),
    7: (121.003, 31.000), 8: (121.003, 31.001), 9: (121.004, 31.000), 10: (121.005, 31.000),
}  # fmt: skip
_WAYS = [
    (101, [1, 2, 3], {"highway": "residential"}),
    (102, [4, 5, 6], {"highway": "residential"}),
    (103, [1, 4], {"highway": "residential"}),
    (104, [2, 5], {"highway": "residential", "oneway": "yes"}),
    (105, [3, 6], {"highway": "residential"}),
    (106, [3, 7], {"highway": "primary", "tunnel": "yes"}),
    (107, [6, 8], {"highway": "motorway"}),
    (108, [7, 8], {"highway": "residential", "foot": "no"}),
    (109, [7, 9], {"highway": "residential", "access": "private"}),
    (110, [8, 9], {"highway": "footway"}),
    (111, [9, 10], {"highway": "residential", "oneway": "yes"}),
]


def _write_town(path: Path) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    lines += [f'<node id="{i}" lat="{lat}" lon="{lon}" version="1"/>'
              for i, (lon, lat) in _NODES.items()]  # fmt: skip
    for wid, refs, tags in _WAYS:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{wid}" version="1">{nds}{tg}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines))
    return path


def _osm_pairs(net) -> set[tuple[int, int]]:
    ids = net.node_osm_id
    return set(zip(ids[net.edge_src].tolist(), ids[net.indices].tolist(), strict=True))


@pytest.mark.parametrize(
    ("tags", "walk", "drive"),
    [
        ({"highway": "primary", "tunnel": "yes"}, False, True),
        ({"highway": "footway", "tunnel": "yes"}, True, False),
        ({"highway": "footway", "tunnel": "building_passage"}, True, False),
        ({"highway": "motorway"}, False, True),
        ({"highway": "trunk", "sidewalk": "both"}, True, True),
        ({"highway": "residential", "foot": "no"}, False, True),
        ({"highway": "residential", "access": "private"}, False, False),
        ({"highway": "service", "access": "no", "foot": "yes"}, True, False),
        ({"highway": "residential", "motor_vehicle": "no"}, True, False),
        ({"highway": "proposed"}, False, False),
    ],
)
def test_profile_rules(tags: dict[str, str], walk: bool, drive: bool) -> None:
    assert walk_allows(tags) is walk
    assert drive_allows(tags) is drive


def test_walk_build_drops_tunnels_motorways_and_forbidden_ways(tmp_path: Path) -> None:
    net, report = build_network([_write_town(tmp_path / "town.osm")], "walk",
                                min_component_nodes=1)  # fmt: skip
    pairs = _osm_pairs(net)
    ids = net.node_osm_id.tolist()
    assert 7 not in ids  # reachable only through the tunnel, a foot=no and a private street
    assert (8, 10) in pairs
    assert (10, 8) in pairs
    assert (2, 5) in pairs
    assert (5, 2) in pairs
    # without the motorway the grid and the footway are separate components
    assert not np.isfinite(node_matrix(net, [ids.index(2)], [ids.index(8)])[0, 0])
    assert report.ways_dropped_by_rule == 4
    assert not (net.edge_flags & FLAG_TUNNEL).any()


def test_drive_build_respects_oneway_and_keeps_largest_scc(tmp_path: Path) -> None:
    town = _write_town(tmp_path / "town.osm")
    graph = graph_from_osm_files([town], "drive", BuildReport())
    assert graph.has_edge(2, 5)
    assert not graph.has_edge(5, 2)
    assert graph.has_edge(3, 7)
    assert graph[3][7][0]["flags"] & FLAG_TUNNEL
    assert not graph.has_edge(7, 9)
    assert not graph.has_edge(8, 9)
    net, report = build_network([town], "drive")
    ids = net.node_osm_id.tolist()
    d = node_matrix(net, [ids.index(2), ids.index(5)], [ids.index(5), ids.index(2)], "length")
    assert d[0, 0] == pytest.approx(111.2, abs=0.1)  # straight down the one-way street
    assert d[1, 1] > 300  # back up it is a detour round the block
    # the island 9 -> 10 (reachable only through a private street) is not strongly connected
    assert 9 not in ids
    assert 10 not in ids
    assert report.components_dropped >= 1
    assert report.nodes_dropped >= 2


def test_pbf_input_gives_the_same_network(tmp_path: Path) -> None:
    xml = _write_town(tmp_path / "town.osm")
    pbf = tmp_path / "town.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    a, _ = build_network([xml], "walk", min_component_nodes=1)
    b, _ = build_network([pbf], "walk", min_component_nodes=1)
    assert _osm_pairs(a) == _osm_pairs(b)
    assert np.allclose(np.sort(a.length_m), np.sort(b.length_m))


def test_missing_file_is_a_build_error(tmp_path: Path) -> None:
    with pytest.raises(NetworkBuildError, match="does not exist"):
        build_network([tmp_path / "nothing.osm"], "walk")


def test_fixture_paths_agree_with_osmnx(tmp_path: Path) -> None:
    net, _ = build_network([FIXTURE], "drive")
    save_network(net, tmp_path / "ps")
    net = load_network(tmp_path / "ps")
    # osmnx on the same filtered ways (graph_from_xml takes every way of a file)
    report = BuildReport()
    ways, nodes = read_ways([FIXTURE], "drive", report)
    write_osm_xml(ways, nodes, tmp_path / "filtered.osm")
    graph = ox.graph_from_xml(tmp_path / "filtered.osm", bidirectional=False, retain_all=True)
    graph = ox.truncate.largest_component(graph, strongly=True)
    rng = np.random.default_rng(7)
    common = np.flatnonzero(np.isin(net.node_osm_id, np.fromiter(graph.nodes, np.int64)))
    src = rng.choice(common, 20, replace=False)
    dst = rng.choice(common, 25, replace=False)
    ours = node_matrix(net, src, dst, weight="length")
    checked = 0
    for i, s in enumerate(src.tolist()):
        for j, t in enumerate(dst.tolist()):
            a, b = int(net.node_osm_id[s]), int(net.node_osm_id[t])
            path = ox.routing.shortest_path(graph, a, b, weight="length")
            assert path is not None
            ref = sum(min(d["length"] for d in graph.get_edge_data(u, v).values())
                      for u, v in itertools.pairwise(path))  # fmt: skip
            assert ours[i, j] == pytest.approx(ref, rel=1e-5, abs=0.05)
            checked += 1
    assert checked == 500
