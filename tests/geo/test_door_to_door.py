"""Door-to-door network costs: the access legs between a point and its street count.

An independent osmnx + networkx oracle (``_door_oracle.py``) on the People's Square OSM
fixture checks the nearest-facility distances; a small synthetic street checks ranking
(a facility deep inside a compound loses to one at the kerb), limits, routes, matrices,
point-to-point routes, isochrones, service areas, the coverage reach model and the drive
profile's rule (access legs walked).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from geo.coverage.reach import ReachModel
from geo.network import (
    Network,
    build_facility_index,
    isochrones,
    nearest,
    route,
    service_area,
    travel_matrix,
)
from geo.network.build import build_network
from geo.network.estimate import Calibration
from geo.network.profiles import SPEEDS_KMH, WALK_SPEED_MPS
from geo.network.snap import ACCESS_SPEED_MPS
from tests.geo import _door_oracle as oracle

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "peoples_square.osm"
BOX = (121.464, 31.223, 121.483, 31.238)  # inside the fixture, away from its edges


# --------------------------------------------------------------------------- the oracle
@pytest.fixture(scope="module")
def square() -> tuple[Network, object]:
    net, _ = build_network([FIXTURE], "walk")
    return net, oracle.oracle_graph([FIXTURE])


def test_nearest_distance_agrees_with_osmnx_oracle(square: tuple[Network, object]) -> None:
    net, graph = square
    rng = np.random.default_rng(2024)
    west, south, east, north = BOX
    near_lon, near_lat = rng.uniform(west, east, 100), rng.uniform(south, north, 100)
    off_lon, off_lat = oracle.off_street_points(graph, 100, rng, (30.0, 150.0))
    q_lon, q_lat = np.r_[near_lon, off_lon], np.r_[near_lat, off_lat]
    f_lon, f_lat = oracle.off_street_points(graph, 30, rng, (0.0, 120.0))
    index = build_facility_index(net, f_lon, f_lat)
    ref_m, ref_fac, ref_access = oracle.door_to_door_nearest(graph, q_lon, q_lat, f_lon, f_lat)
    ours = np.full(q_lon.size, np.nan)
    street = np.full(q_lon.size, np.nan)
    for i, (a, b) in enumerate(zip(q_lon.tolist(), q_lat.tolist(), strict=True)):
        one = nearest(index, a, b)  # one call per point: the HTTP handler's path
        if one.status[0] == "network":
            ours[i], street[i] = one.distance_m[0, 0], one.network_m[0, 0]
    batch = nearest(index, q_lon, q_lat)
    np.testing.assert_allclose(batch.distance_m[:, 0], ours, rtol=1e-9, equal_nan=True)
    answered = np.isfinite(ours)
    assert answered.sum() >= 190
    assert np.isfinite(ref_m[answered]).all()
    # the sample really holds points off the street
    assert ((ref_access >= 30) & (ref_access <= 150)).sum() >= 60
    stats = oracle.agreement(ours[answered], ref_m[answered])
    assert stats["agree_share"] >= 0.95, stats
    assert abs(stats["shortfall_median_m"]) <= 15.0, stats
    assert (batch.facility[answered, 0] == ref_fac[answered]).mean() >= 0.95
    # the street part alone is what the bar catches: it falls short of the walk
    street_only = oracle.agreement(street[answered], ref_m[answered])
    assert street_only["shortfall_median_m"] > 15.0, street_only


# ---------------------------------------------------------------- a synthetic street
M_PER_DEG_LON = 95_300.0  # near latitude 31
M_PER_DEG_LAT = 110_900.0
JUNCTIONS = (121.001, 121.003, 121.005, 121.007)


def _write_street(path: Path) -> Path:
    """An east-west street at lat 31 (121.000..121.010) with side streets to the south."""
    nodes: dict[int, tuple[float, float]] = {}
    main = []
    for i in range(21):
        nodes[i + 1] = (round(121.000 + 0.0005 * i, 4), 31.0)
        main.append(i + 1)
    ways = [(100, main)]
    for k, lon in enumerate(JUNCTIONS):
        top = next(n for n, (x, _) in nodes.items() if abs(x - lon) < 1e-9)
        ids = [top]
        for step in range(1, 4):
            nid = 1000 + 10 * k + step
            nodes[nid] = (lon, 31.0 - 0.001 * step)
            ids.append(nid)
        ways.append((200 + k, ids))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    lines += [f'<node id="{i}" lat="{lat}" lon="{lon}" version="1"/>'
              for i, (lon, lat) in nodes.items()]  # fmt: skip
    for wid, refs in ways:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        lines.append(f'<way id="{wid}" version="1">{nds}<tag k="highway" v="residential"/></way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines))
    return path


def _north(lon: float, metres: float) -> tuple[float, float]:
    """A point ``metres`` north of the street at ``lon``."""
    return lon, 31.0 + metres / M_PER_DEG_LAT


def _east_m(lon_a: float, lon_b: float) -> float:
    return abs(lon_b - lon_a) * M_PER_DEG_LON


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> Network:
    path = _write_street(tmp_path_factory.mktemp("street") / "street.osm")
    net, _ = build_network([path], "walk")
    return net


P = (121.0005, 31.0)  # on the street
KERB = _north(121.0035, 10.0)  # 10 m off the street, 286 m along it from P
COMPOUND = _north(121.0025, 150.0)  # 150 m inside a compound, 191 m along the street


def _kerb_and_compound(net: Network):  # type: ignore[no-untyped-def]
    lon = np.array([KERB[0], COMPOUND[0]])
    lat = np.array([KERB[1], COMPOUND[1]])
    return build_facility_index(net, lon, lat)


def test_facility_deep_in_a_compound_loses_to_one_at_the_kerb(street: Network) -> None:
    index = _kerb_and_compound(street)
    kerb = _east_m(P[0], KERB[0]) + 10.0
    compound = _east_m(P[0], COMPOUND[0]) + 150.0
    assert compound > kerb  # door to door the kerb wins; by the street part alone it loses
    one = nearest(index, *P, with_route=True)
    batch = nearest(index, np.array([P[0], P[0]]), np.array([P[1], P[1]]))
    for res in (one, batch):
        assert int(res.facility[0, 0]) == 0
        assert res.distance_m[0, 0] == pytest.approx(kerb, abs=1.5)
        assert res.duration_s[0, 0] == pytest.approx(res.distance_m[0, 0] / WALK_SPEED_MPS)
        np.testing.assert_allclose(res.access_m[0, 0], [0.0, 10.0], atol=0.5)
        assert res.network_m[0, 0] == pytest.approx(_east_m(P[0], KERB[0]), abs=1.5)
    # k=2 from the top-k labels and k=12 from the bounded search: the same order
    for k in (2, 12):
        res = nearest(index, *P, k=k)
        assert res.facility[0, :2].tolist() == [0, 1]
        assert res.distance_m[0, 1] == pytest.approx(compound, abs=1.5)
        np.testing.assert_allclose(res.access_m[0, 1], [0.0, 150.0], atol=0.5)
    # the route runs from the query point along the street into the kerb-side door
    (line,) = one.routes[0]
    assert line[0] == pytest.approx(list(P), abs=1e-7)
    assert line[-1] == pytest.approx(list(KERB), abs=1e-7)


def test_same_piece_facility_pays_its_access_leg(street: Network) -> None:
    """On the compound's own street piece, the kerb-side station further on still wins."""
    index = _kerb_and_compound(street)
    q = (121.0022, 31.0)
    direct = _east_m(q[0], COMPOUND[0]) + 150.0  # along the shared piece, then 150 m
    kerb = _east_m(q[0], KERB[0]) + 10.0
    assert kerb < direct
    for res in (nearest(index, *q, k=1), nearest(index, np.array([q[0]]), np.array([q[1]]),
                                                  k=2)):  # fmt: skip
        assert int(res.facility[0, 0]) == 0
        assert res.distance_m[0, 0] == pytest.approx(kerb, abs=1.5)
    res = nearest(index, *q, k=2)
    assert res.distance_m[0, 1] == pytest.approx(direct, abs=1.5)


def test_max_minutes_limits_the_door_to_door_time(street: Network) -> None:
    index = _kerb_and_compound(street)
    street_part_s = _east_m(P[0], COMPOUND[0]) / WALK_SPEED_MPS  # 159 s along the street
    limit = (_east_m(P[0], KERB[0]) + 10.0 - 5.0) / WALK_SPEED_MPS  # just short of the kerb
    assert street_part_s < limit
    res = nearest(index, *P, max_cost_s=limit)
    assert res.status[0] == "unreachable"


def test_off_street_query_walks_to_the_street_first(street: Network) -> None:
    index = _kerb_and_compound(street)
    q = _north(121.0005, 80.0)
    res = nearest(index, *q, with_route=True)
    expected = 80.0 + _east_m(q[0], KERB[0]) + 10.0
    assert res.distance_m[0, 0] == pytest.approx(expected, abs=1.5)
    assert res.snap_distance_m[0] == pytest.approx(80.0, abs=0.5)
    np.testing.assert_allclose(res.access_m[0, 0], [80.0, 10.0], atol=0.5)
    line = res.routes[0][0]
    assert line[0] == pytest.approx(list(q), abs=1e-7)
    assert line[1] == pytest.approx([q[0], 31.0], abs=1e-6)  # straight down to the street


def test_matrix_and_route_are_door_to_door(street: Network) -> None:
    q = _north(121.0005, 80.0)
    tm = travel_matrix(street, np.array([q[0], KERB[0]]), np.array([q[1], KERB[1]]),
                       np.array([KERB[0], KERB[0]]), np.array([KERB[1], KERB[1]]),
                       weight="length")  # fmt: skip
    expected = 80.0 + _east_m(q[0], KERB[0]) + 10.0
    assert tm.values[0, 0] == pytest.approx(expected, abs=1.5)
    assert tm.values[1, 0] == 0.0  # a point to itself walks no access legs
    r = route(street, *q, *COMPOUND)
    assert r.distance_m == pytest.approx(80.0 + _east_m(q[0], COMPOUND[0]) + 150.0, abs=1.5)
    assert r.network_m == pytest.approx(_east_m(q[0], COMPOUND[0]), abs=1.5)
    assert r.coords[0] == pytest.approx(list(q), abs=1e-7)
    assert r.coords[-1] == pytest.approx(list(COMPOUND), abs=1e-7)
    # on one piece: along it plus both legs
    a, b = _north(121.0062, 30.0), _north(121.0068, 40.0)
    r = route(street, *a, *b)
    assert r.distance_m == pytest.approx(30.0 + _east_m(a[0], b[0]) + 40.0, abs=1.0)


def test_isochrone_budget_starts_with_the_access_leg(street: Network) -> None:
    origin = _north(121.006, 120.0)  # 100 s from the street
    on_street = (121.006, 31.0)
    short, long = isochrones(street, *origin, [1, 5])
    assert short.n_nodes == 0
    assert shapely.contains_xy(short.polygon, *origin)
    assert not shapely.contains_xy(short.polygon, *on_street)
    # 5 minutes: 360 m, 120 of them to the street, so 240 m along it
    assert shapely.contains_xy(long.polygon, *on_street)
    assert shapely.contains_xy(long.polygon, 121.006 + 200.0 / M_PER_DEG_LON, 31.0)
    assert not shapely.contains_xy(long.polygon, 121.006 + 300.0 / M_PER_DEG_LON, 31.0)


def test_service_area_counts_the_facilitys_access_leg(street: Network) -> None:
    facility = _north(121.006, 150.0)  # 125 s from its street
    index = build_facility_index(street, np.array([facility[0]]), np.array([facility[1]]))
    two = service_area(index, 2)
    assert two.n_nodes == 0
    assert shapely.contains_xy(two.polygon, *facility)
    assert not shapely.contains_xy(two.polygon, 121.006, 31.0)
    five = service_area(index, 5)  # 360 m: 150 m to the street, 210 m along it
    assert shapely.contains_xy(five.polygon, 121.006 + 180.0 / M_PER_DEG_LON, 31.0)
    assert not shapely.contains_xy(five.polygon, 121.006 + 280.0 / M_PER_DEG_LON, 31.0)


def test_coverage_reach_is_door_to_door(street: Network) -> None:
    calibration = Calibration("street", "walk", 1.2, 1.4, 1.0, 1, 0, 500.0)
    workplace = _north(121.0040, 60.0)
    model = ReachModel(np.array([workplace[0]]), np.array([workplace[1]]), None, [street],
                       calibration)  # fmt: skip
    same_piece = _north(121.0045, 40.0)
    other_piece = _north(121.0060, 20.0)
    got = model.reach(np.array([same_piece[0], other_piece[0]]),
                      np.array([same_piece[1], other_piece[1]]), 1800.0)  # fmt: skip
    assert got.method.tolist() == [0, 0]  # both by the network
    expected = [60.0 + _east_m(workplace[0], same_piece[0]) + 40.0,
                60.0 + _east_m(workplace[0], other_piece[0]) + 20.0]  # fmt: skip
    np.testing.assert_allclose(got.time_s * WALK_SPEED_MPS, expected, atol=1.5)


def test_drive_access_legs_are_walked(tmp_path: Path) -> None:
    net, _ = build_network([_write_street(tmp_path / "street.osm")], "drive")
    index = build_facility_index(net, np.array([KERB[0]]), np.array([KERB[1]]))
    q = _north(121.0005, 30.0)
    res = nearest(index, *q)
    drive_s = _east_m(q[0], KERB[0]) / (SPEEDS_KMH["residential"] / 3.6)
    walk_s = (30.0 + 10.0) / ACCESS_SPEED_MPS
    assert res.duration_s[0, 0] == pytest.approx(drive_s + walk_s, abs=1.0)
    assert res.distance_m[0, 0] == pytest.approx(30.0 + _east_m(q[0], KERB[0]) + 10.0, abs=1.5)
