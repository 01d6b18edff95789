"""Tests of the data build on a tiny synthetic source directory generated here.

The fixture lays out the 16 districts as 0.05° squares on a 4×4 grid and puts a handful
of OSM-like objects in each, so the build runs in a few seconds and nothing depends on the
real sources (a fresh clone has no ``../shared``).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layers.build import SourceMissingError, build_data
from layers.build.demo import allocate
from layers.build.locate import PolygonLocator
from layers.build.sources import REQUIRED_FILES
from layers.registry.catalog import DISTRICTS, LAYERS
from layers.registry.schema import LocationPrecision
from layers.registry.shipped import (
    data_version,
    iter_facilities,
    load_geojson,
    read_manifest,
    shipped_layers,
)

CELL_DEG = 0.05
ORIGIN = (121.3, 31.0)
DEMO_TARGETS = {"relay_station": 48, "health_point": 20, "fitness_station": 16, "rest_room": 24}


def _cell(index: int) -> tuple[float, float, float, float]:
    row, col = divmod(index, 4)
    x0 = ORIGIN[0] + col * CELL_DEG
    y0 = ORIGIN[1] + row * CELL_DEG
    return x0, y0, x0 + CELL_DEG, y0 + CELL_DEG


def _square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _feature(props: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def _write(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


POI_KINDS = (
    "bank",
    "bank",
    "convenience",
    "supermarket",
    "community_centre",
    "library",
    "post_office",
    "toilet",
    "toilet",
    "hospital",
    "mall",
    "sports_centre",
    "restaurant",
    "pharmacy",
)


def make_sources(root: Path) -> Path:
    """Write a complete miniature source directory under ``root`` and return it."""
    rng = np.random.default_rng(7)
    districts, pois = [], []
    osm_id = 1000
    for index, name in enumerate(DISTRICTS):
        x0, y0, x1, y1 = _cell(index)
        districts.append(
            _feature({"adcode": f"3101{index:02d}", "name": name}, _square(x0, y0, x1, y1))
        )
        for kind in POI_KINDS:
            osm_id += 1
            lon = x0 + CELL_DEG * float(rng.uniform(0.1, 0.9))
            lat = y0 + CELL_DEG * float(rng.uniform(0.1, 0.9))
            named = kind not in {"toilet"}
            pois.append(
                _feature(
                    {
                        "osm_id": str(osm_id),
                        "fclass": kind,
                        "name": f"{name}{kind}{osm_id}" if named else None,
                        "geom_type": "point",
                        "area_m2": 0.0,
                    },
                    _point(lon, lat),
                )
            )
    x0, y0, x1, y1 = _cell(0)  # 黄浦区 cell: the special cases
    special = [
        ("9001", "hospital", "某某社区卫生服务中心", x0 + 0.01, y0 + 0.01),
        ("9002", "clinic", "某某卫生服务站", x0 + 0.012, y0 + 0.01),
        ("9003", "public_building", "职工食堂", x0 + 0.014, y0 + 0.01),
        ("9004", "cafe", "面包咖啡", x0 + 0.016, y0 + 0.01),
        ("9004", "bakery", "面包咖啡", x0 + 0.016, y0 + 0.01),
        ("9005", "doctors", "某医生诊室", x0 + 0.018, y0 + 0.01),
        ("9006", "restaurant", None, x0 + 0.02, y0 + 0.01),
        # 0.005° (about 480 m) west of the grid: offshore but within 2 km
        ("9007", "pharmacy", "近岸药店", x0 - 0.005, y0 + 0.02),
        # far outside every district and the service area
        ("9008", "pharmacy", "远方药店", 119.0, 29.0),
    ]
    for sid, kind, name, lon, lat in special:
        pois.append(
            _feature(
                {"osm_id": sid, "fclass": kind, "name": name, "geom_type": "point", "area_m2": 0.0},
                _point(lon, lat),
            )
        )
    _write(root / "boundaries/districts_land.geojson", _collection(districts))
    _write(root / "osm/pois.geojson", _collection(pois))

    parks, buildings = [], []
    for index in range(16):
        x0, y0, _, _ = _cell(index)
        parks.append(
            _feature(
                {
                    "osm_id": str(5000 + index),
                    "code": 7209,
                    "fclass": "industrial" if index % 2 else "commercial",
                    "name": f"第{index}园区" if index % 3 else None,
                },
                _square(x0 + 0.02, y0 + 0.02, x0 + 0.03, y0 + 0.03),
            )
        )
        buildings.append(
            _feature(
                {
                    "osm_id": str(6000 + index),
                    "code": 1500,
                    "fclass": "building",
                    "type": "commercial",
                    "name": f"第{index}大厦",
                },
                _square(x0 + 0.035, y0 + 0.035, x0 + 0.036, y0 + 0.036),
            )
        )
    _write(root / "osm/landuse_industrial_commercial.geojson", _collection(parks))
    _write(root / "osm/buildings_work.geojson", _collection(buildings))

    roads = [
        _feature(
            {"link_id": 1, "highway": "motorway"},
            {"type": "LineString", "coordinates": [[121.3, 31.0], [121.4, 31.1], [121.5, 31.2]]},
        ),
        _feature(
            {"link_id": 2, "highway": "primary"},
            {"type": "LineString", "coordinates": [[121.3, 31.1], [121.5, 31.1]]},
        ),
        _feature(
            {"link_id": 3, "highway": "secondary"},
            {"type": "LineString", "coordinates": [[121.3, 31.15], [121.5, 31.15]]},
        ),
    ]
    _write(root / "osm/major_roads_citywide.geojson", _collection(roads))

    hx0, hy0, _, _ = _cell(0)
    subdistricts = [
        _feature(
            {
                "district": "黄浦区",
                "code": "310101002000",
                "name": "南京东路街道",
                "area_km2": 4.0,
                "employment_2023": 100000,
                "employment_per_km2": 25000.0,
            },
            {
                "type": "MultiPolygon",
                "coordinates": [_square(hx0, hy0, hx0 + 0.05, hy0 + 0.025)["coordinates"]],
            },
        ),
    ]
    _write(
        root / "demand/subdistrict_employment_density_central.geojson", _collection(subdistricts)
    )

    stations = []
    for index in range(16):
        x0, y0, _, _ = _cell(index)
        stations.append(
            {
                "name_zh": f"站{index}",
                "name_en": f"Zhan {index}",
                "lines": "1号线|2号线",
                "wgs84_lon": x0 + 0.025,
                "wgs84_lat": y0 + 0.04,
                "gcj02_lon": 0,
                "gcj02_lat": 0,
            }
        )
    _write_csv(root / "metro/stations.csv", stations)
    _write(
        root / "metro/lines_schematic.geojson",
        _collection(
            [
                _feature(
                    {
                        "line": "1号线",
                        "color": "#E3002A",
                        "n_stations": 2,
                        "stations_in_order": ["站0", "站1"],
                    },
                    {
                        "type": "MultiLineString",
                        "coordinates": [[[121.325, 31.04], [121.375, 31.04]]],
                    },
                ),
            ]
        ),
    )

    _write_csv(
        root / "sites/training_sites.csv",
        [
            {
                "site_no": 1,
                "name": "人民广场站(1/2/8号线)",
                "district": "黄浦区",
                "address": "",
                "lon": hx0 + 0.01,
                "lat": hy0 + 0.02,
                "precision": "exact-station",
                "uncertainty_m": 63.0,
                "evidence": "fixture",
            },
            {
                "site_no": 2,
                "name": "梅陇基地",
                "district": "徐汇区",
                "address": "徐汇区老沪闵路1号",
                "lon": _cell(1)[0] + 0.01,
                "lat": _cell(1)[1] + 0.01,
                "precision": "depot-area",
                "uncertainty_m": 400.0,
                "evidence": "fixture",
            },
            {
                "site_no": 3,
                "name": "崇明线108标",
                "district": "崇明区",
                "address": "崇明区长兴岛金岸路600号",
                "lon": "",
                "lat": "",
                "precision": "unknown",
                "uncertainty_m": "",
                "evidence": "none found",
            },
        ],
    )
    _write_csv(
        root / "sites/service_centres.csv",
        [
            {
                "no": 1,
                "name": "黄浦区总工会职工服务中心",
                "district": "黄浦区",
                "address": "重庆南路229弄5号",
                "phone": "63773621",
                "lon": hx0 + 0.03,
                "lat": hy0 + 0.03,
                "precision": "address-landmark",
                "uncertainty_m": 250.0,
                "evidence": "fixture",
            },
            {
                "no": 2,
                "name": "静安区总工会职工服务中心",
                "district": "静安区",
                "address": "昌平路888号",
                "phone": "62673565",
                "lon": "",
                "lat": "",
                "precision": "unknown",
                "uncertainty_m": "",
                "evidence": "none found",
            },
        ],
    )
    _write_csv(
        root / "demand/district_employment_2023.csv",
        [
            {
                "district": name,
                "district_en": f"D{index}",
                "employment": 100000 * (index + 1),
                "reference_date": "2023-12-31",
                "source_table": "A1-02",
                "extra_column": "dropped",
            }
            for index, name in enumerate(DISTRICTS)
        ],
    )
    _write_csv(
        root / "demand/district_industry_employment_2023.csv",
        [
            {
                "district": name,
                "industry_code": "I",
                "industry_name": "信息传输",
                "classification_level": "section",
                "core_office": True,
                "broad_office": True,
                "district_industry_employment": 1000,
                "reference_date": "2023-12-31",
            }
            for name in DISTRICTS
        ],
    )
    _write_csv(
        root / "demand/subdistrict_employment_2023_central.csv",
        [
            {
                "district": "黄浦区",
                "official_control_code_2023": "310101002000",
                "official_control_name_2023": "南京东路街道",
                "control_type": "street",
                "employment_reconciled": 100000,
                "rounding_increment_people": 1,
                "osm_relation_id": "1",
                "reference_date": "2023-12-31",
            },
        ],
    )
    return root


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sources(tmp_path_factory.mktemp("sources"))


@pytest.fixture(scope="module")
def built(source_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("data")
    report = build_data(source_dir, out, demo_targets=DEMO_TARGETS)
    return out, report


def _by_id(data_dir: Path, layer: str) -> dict[str, Any]:
    return {f.id: f for f in iter_facilities(data_dir, layer)}


def test_every_layer_is_written_and_validates(built: tuple[Path, Any]) -> None:
    out, report = built
    assert shipped_layers(out) == list(LAYERS)
    for layer in LAYERS:
        records = list(iter_facilities(out, layer))
        assert len(records) == report.counts[layer]
        assert all(record.layer == layer for record in records)
        assert [r.id for r in records] == sorted(r.id for r in records)


def test_sites_keep_unknown_positions_unlocated(built: tuple[Path, Any]) -> None:
    out, _ = built
    sites = _by_id(out, "training_site")
    assert len(sites) == 3
    unknown = sites["training_site:site-03"]
    assert (unknown.lon, unknown.lat) == (None, None)
    assert unknown.location_precision is LocationPrecision.UNKNOWN
    assert unknown.address == "崇明区长兴岛金岸路600号"
    assert sites["training_site:site-02"].uncertainty_m == 400.0
    assert sites["training_site:site-02"].location_precision is LocationPrecision.DEPOT_AREA
    centres = _by_id(out, "service_centre")
    assert centres["service_centre:centre-02"].phone == "62673565"
    assert not centres["service_centre:centre-02"].located
    assert centres["service_centre:centre-01"].extra["evidence"] == "fixture"
    # the plan gives no hours: the records say how to ask, in both languages
    assert centres["service_centre:centre-02"].hours is None
    assert "致电" in centres["service_centre:centre-02"].extra["hours_note"]["zh"]
    assert "call" in centres["service_centre:centre-02"].extra["hours_note"]["en"]
    assert sites["training_site:site-02"].hours is None
    assert sites["training_site:site-02"].phone == "63211939-3434"
    assert "appointment" in sites["training_site:site-02"].extra["hours_note"]["en"]


def test_poi_classification(built: tuple[Path, Any]) -> None:
    out, _ = built
    health = _by_id(out, "community_health")
    assert set(health) == {"community_health:osm-n9001", "community_health:osm-n9002"}
    assert "hospital:osm-n9001" not in _by_id(out, "hospital")
    food = _by_id(out, "food")
    assert food["food:osm-n9003"].services == ["canteen"]
    assert food["food:osm-n9004"].services == ["cafe"]  # cafe + bakery rows merged
    assert food["food:osm-n9006"].name == "未命名餐饮网点"
    clinics = _by_id(out, "clinic")
    assert clinics["clinic:osm-n9005"].services == ["doctors"]


def test_offshore_point_takes_nearest_district_and_far_point_is_dropped(
    built: tuple[Path, Any],
) -> None:
    out, report = built
    pharmacies = _by_id(out, "pharmacy")
    assert pharmacies["pharmacy:osm-n9007"].district == "黄浦区"
    assert "pharmacy:osm-n9008" not in pharmacies
    assert report.dropped_outside["pharmacy"] == 1


def test_workplaces_and_parquet_share_ids(built: tuple[Path, Any]) -> None:
    import geopandas as gpd

    out, _ = built
    parks = _by_id(out, "workplace_park")
    buildings = _by_id(out, "workplace_building")
    frame = gpd.read_parquet(out / "workplaces/workplaces.parquet")
    assert set(frame["id"]) == set(parks) | set(buildings)
    assert frame.crs.to_epsg() == 4326
    park = parks["workplace_park:osm-a5000"]
    assert park.name == "未命名商务区"
    # a 0.01° square at 31°N is about 950 m × 1110 m
    assert 0.9e6 < park.area_m2 < 1.2e6
    assert (
        frame.loc[frame["id"] == "workplace_park:osm-a5000", "subdistrict"].item() == "南京东路街道"
    )


def test_demo_registries(built: tuple[Path, Any]) -> None:
    out, _ = built
    for layer, target in DEMO_TARGETS.items():
        records = list(iter_facilities(out, layer))
        assert len(records) == target, layer
        assert all(r.demo for r in records)
        # the demo flag says it once per layer: never inside the names
        assert not any("示例" in r.name or "demo" in (r.name_en or "").lower() for r in records)
        # English names only where the host has one (metro stations), never half-translated
        assert all(r.name_en is None or r.extra["host_kind"] == "metro_station" for r in records)
        assert all(r.location_precision is LocationPrecision.HOST_SITE for r in records)
        assert all(r.source.startswith("demo: generated from ") for r in records)
        assert all(r.phone is None and r.hours is not None for r in records)
    relay = list(iter_facilities(out, "relay_station"))
    assert {r.district for r in relay} == set(DISTRICTS)
    # more employment, more stations: the last district in the fixture has 16× the first
    counts = {d: sum(r.district == d for r in relay) for d in DISTRICTS}
    assert counts[DISTRICTS[-1]] > counts[DISTRICTS[0]]
    for layer in LAYERS:
        if layer not in DEMO_TARGETS:
            assert not any(r.demo for r in iter_facilities(out, layer)), layer


def test_everything_located_lies_in_service_area(built: tuple[Path, Any]) -> None:
    import shapely
    from shapely.geometry import shape

    out, _ = built
    area = shape(load_geojson(out, "service_area")["features"][0]["geometry"])
    for layer in LAYERS:
        points = [(r.lon, r.lat) for r in iter_facilities(out, layer) if r.located]
        if points:
            lon, lat = np.array(points).T
            assert shapely.contains_xy(area, lon, lat).all(), layer


def test_manifest_lists_every_file_with_hash(built: tuple[Path, Any]) -> None:
    out, report = built
    manifest = read_manifest(out)
    listed = {entry["path"] for entry in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert listed == on_disk
    assert data_version(out) == report.data_version
    assert manifest["counts"]["training_site"] == 3
    with (out / "demand/district_employment_2023.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 16
    assert "extra_column" not in rows[0]


def test_rebuild_is_byte_identical(
    source_dir: Path, built: tuple[Path, Any], tmp_path: Path
) -> None:
    out, report = built
    again = build_data(source_dir, tmp_path, demo_targets=DEMO_TARGETS)
    assert again.data_version == report.data_version
    for entry in read_manifest(out)["files"]:
        assert (tmp_path / entry["path"]).read_bytes() == (out / entry["path"]).read_bytes(), entry[
            "path"
        ]


def test_missing_source_is_reported_and_nothing_written(source_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in REQUIRED_FILES[1:]:
        (broken / name).parent.mkdir(parents=True, exist_ok=True)
        (broken / name).write_bytes((source_dir / name).read_bytes())
    out = tmp_path / "out"
    with pytest.raises(SourceMissingError, match=r"1 source file\(s\) missing.*training_sites"):
        build_data(broken, out)
    assert not out.exists()


def test_cli_data_build(
    source_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import data as data_cli

    parser = argparse.ArgumentParser(prog="servicemap")
    data_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", "build", "--source", str(source_dir), "--out", str(tmp_path)])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "training_site" in printed
    assert "relay_station" in printed
    assert (tmp_path / "manifest.json").exists()
    missing = parser.parse_args(
        ["data", "build", "--source", str(tmp_path / "nope"), "--out", str(tmp_path)]
    )
    assert args.func(missing) == 2


def test_allocate_proportional_with_minimum_and_capacity() -> None:
    weights = {name: float(index + 1) for index, name in enumerate(DISTRICTS)}
    capacity = dict.fromkeys(DISTRICTS, 1000)
    quota = allocate(300, weights, 3, capacity)
    assert sum(quota.values()) == 300
    assert min(quota.values()) >= 3
    assert quota[DISTRICTS[-1]] > 5 * quota[DISTRICTS[0]]
    capacity[DISTRICTS[-1]] = 4
    capped = allocate(300, weights, 3, capacity)
    assert capped[DISTRICTS[-1]] == 4
    assert sum(capped.values()) == 300


def test_polygon_locator_inside_offshore_and_far() -> None:
    from shapely.geometry import box

    locator = PolygonLocator(
        ["a", "b"], [box(121.0, 31.0, 121.1, 31.1), box(121.1, 31.0, 121.2, 31.1)], 2000.0
    )
    # inside a, inside b, 1 km south of a (offshore fallback), 10 km away
    names = locator.locate([121.05, 121.15, 121.05, 121.05], [31.05, 31.05, 30.991, 30.9])
    assert names == ["a", "b", "a", None]


def test_gazetteer_is_built_listed_and_loadable(built: tuple[Path, Any]) -> None:
    from geo.geocode.matcher import GeocodeQuery, OfflineGeocoder
    from layers.registry.gazetteer_io import load_gazetteer

    out, _ = built
    listed = {entry["path"]: entry for entry in read_manifest(out)["files"]}
    for path in ("gazetteer/places.jsonl.gz", "gazetteer/roads.jsonl.gz", "gazetteer/areas.jsonl.gz"):
        assert path in listed
    gazetteer = load_gazetteer(out)
    assert len(gazetteer) == listed["gazetteer/places.jsonl.gz"]["rows"] > 0
    assert len(gazetteer.district_areas) == 16
    # a named POI of the synthetic sources is found by its name, in its district
    index = next(i for i, kind in enumerate(gazetteer.kinds) if kind == "hospital")
    placement = OfflineGeocoder(gazetteer).place(
        GeocodeQuery(name=gazetteer.names[index], district=gazetteer.districts[index])
    )
    assert placement.lon == pytest.approx(gazetteer.lon[index])
