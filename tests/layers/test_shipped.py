"""Tests of the committed ``data/`` directory and its readers (no raw sources needed)."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from layers.build.demo_rules import RULES
from layers.errors import UnknownLayerError
from layers.registry.catalog import DISTRICTS, LAYERS
from layers.registry.schema import Facility, LocationPrecision
from layers.registry.shipped import (
    DEFAULT_DATA_DIR,
    MAP_LAYERS,
    ShippedDataError,
    content_hash,
    data_version,
    iter_facilities,
    load_geojson,
    read_manifest,
    shipped_layers,
)

DATA = DEFAULT_DATA_DIR
DEMO_LAYERS = tuple(RULES)
MAX_TOTAL_BYTES = 40 * 1024 * 1024

#: Expected record counts per layer (inclusive ranges).
EXPECTED_COUNTS: dict[str, tuple[int, int]] = {
    "health_point": (130, 170),
    "fitness_station": (50, 70),
    "relay_station": (1250, 1400),
    "rest_room": (200, 500),
    "training_site": (25, 25),
    "service_centre": (16, 16),
    "hospital": (300, 400),
    "community_health": (75, 100),
    "clinic": (50, 90),
    "pharmacy": (150, 250),
    "food": (5000, 7000),
    "toilet": (700, 900),
    "metro_station": (400, 420),
    "workplace_park": (2900, 3000),
    "workplace_building": (6500, 7000),
}


@pytest.fixture(scope="module")
def facilities() -> dict[str, list[Facility]]:
    return {layer: list(iter_facilities(DATA, layer)) for layer in LAYERS}


@pytest.fixture(scope="module")
def service_area() -> shapely.Geometry:
    collection = load_geojson(DATA, "service_area")
    assert len(collection["features"]) == 1
    area = shape(collection["features"][0]["geometry"])
    shapely.prepare(area)
    return area


def test_every_catalogue_layer_is_shipped() -> None:
    assert shipped_layers(DATA) == list(LAYERS)


@pytest.mark.parametrize("layer", list(EXPECTED_COUNTS))
def test_counts_in_expected_range(layer: str, facilities: dict[str, list[Facility]]) -> None:
    low, high = EXPECTED_COUNTS[layer]
    assert low <= len(facilities[layer]) <= high


def test_ids_unique_sorted_and_prefixed(facilities: dict[str, list[Facility]]) -> None:
    for layer, records in facilities.items():
        ids = [r.id for r in records]
        assert ids == sorted(set(ids)), layer
        assert all(r.layer == layer for r in records)


def test_training_sites_and_service_centres_are_real(facilities: dict[str, list[Facility]]) -> None:
    sites = facilities["training_site"]
    assert sum(r.located for r in sites) == 24
    unknown = [r for r in sites if not r.located]
    assert len(unknown) == 1
    assert unknown[0].location_precision is LocationPrecision.UNKNOWN
    assert unknown[0].address
    centres = facilities["service_centre"]
    assert sum(r.located for r in centres) == 8
    assert all(r.phone and r.address for r in centres)
    assert all(r.location_precision is LocationPrecision.UNKNOWN for r in centres if not r.located)
    assert all(not r.demo and r.extra.get("evidence") for r in sites + centres)


def test_peoples_square_training_site(facilities: dict[str, list[Facility]]) -> None:
    site = next(r for r in facilities["training_site"] if r.name.startswith("人民广场"))
    assert site.lon == pytest.approx(121.4705745, abs=1e-7)
    assert site.lat == pytest.approx(31.2346189, abs=1e-7)
    assert site.uncertainty_m == 63.0


def test_demo_flags(facilities: dict[str, list[Facility]]) -> None:
    for layer, records in facilities.items():
        if layer in DEMO_LAYERS:
            assert all(r.demo for r in records), layer
            assert not any("示例" in r.name for r in records), layer
            assert not any(re.search(r"[\u4e00-\u9fff]", r.name_en or "") for r in records), layer
            assert all(r.source.startswith("demo: generated from ") for r in records)
            assert all(r.location_precision is LocationPrecision.HOST_SITE for r in records)
            assert all(r.phone is None and r.hours is not None and r.services for r in records)
        else:
            assert not any(r.demo for r in records), layer


def test_demo_registries_cover_every_district(facilities: dict[str, list[Facility]]) -> None:
    for layer in DEMO_LAYERS:
        per_district = Counter(r.district for r in facilities[layer])
        assert set(per_district) == set(DISTRICTS), layer
    relay = Counter(r.district for r in facilities["relay_station"])
    # roughly proportional to employment: Pudong (2.9 M jobs) far above Chongming (0.16 M)
    assert relay["浦东新区"] > 5 * relay["崇明区"]


def test_demo_statuses_mostly_active(facilities: dict[str, list[Facility]]) -> None:
    for layer in DEMO_LAYERS:
        statuses = Counter(r.status.value for r in facilities[layer])
        assert statuses["active"] > len(facilities[layer]) / 2, layer
        assert set(statuses) <= {"active", "new", "upgraded", "yellow_card"}
    health = Counter(r.status.value for r in facilities["health_point"])
    assert health["new"] == 20
    assert health["upgraded"] == 50


def test_health_point_hours_are_half_days(facilities: dict[str, list[Facility]]) -> None:
    for record in facilities["health_point"]:
        assert record.hours is not None
        assert not record.hours.always_open
        days = {day for rule in record.hours.rules for day in rule.days}
        assert 1 <= len(days) <= 2
        assert {"consultation", "lectures"} <= set(record.services)


def test_every_located_facility_is_inside_service_area(
    facilities: dict[str, list[Facility]], service_area: shapely.Geometry
) -> None:
    for layer, records in facilities.items():
        points = np.array([(r.lon, r.lat) for r in records if r.located])
        assert shapely.contains_xy(service_area, points[:, 0], points[:, 1]).all(), layer


def test_located_facilities_have_a_district(facilities: dict[str, list[Facility]]) -> None:
    for layer, records in facilities.items():
        assert all(r.district in DISTRICTS for r in records if r.located), layer


def test_map_layers() -> None:
    districts = load_geojson(DATA, "districts")
    assert sorted(f["properties"]["name"] for f in districts["features"]) == sorted(DISTRICTS)
    assert all(shape(f["geometry"]).is_valid for f in districts["features"])
    roads = load_geojson(DATA, "roads")
    assert {f["properties"]["highway"] for f in roads["features"]} == {
        "motorway",
        "trunk",
        "primary",
    }
    metro = load_geojson(DATA, "metro_lines")
    assert len(metro["features"]) == 21
    assert len(load_geojson(DATA, "subdistricts")["features"]) == 113
    for name in MAP_LAYERS:
        assert load_geojson(DATA, name)["type"] == "FeatureCollection"


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ShippedDataError, match="unknown map layer 'water'"):
        load_geojson(DATA, "water")
    with pytest.raises(UnknownLayerError, match="unknown layer 'atm'"):
        list(iter_facilities(DATA, "atm"))


def test_missing_manifest_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ShippedDataError, match=r"no manifest\.json"):
        data_version(tmp_path)
    assert list(iter_facilities(tmp_path, "relay_station")) == []


def test_manifest_matches_files() -> None:
    manifest = read_manifest(DATA)
    listed = {entry["path"] for entry in manifest["files"]}
    for entry in manifest["files"]:
        payload = (DATA / entry["path"]).read_bytes()
        assert len(payload) == entry["size_bytes"], entry["path"]
        assert hashlib.sha256(payload).hexdigest() == entry["sha256"], entry["path"]
        assert entry["source"]
    for layer in LAYERS:
        assert f"facilities/{layer}.jsonl.gz" in listed
    assert manifest["data_version"] == data_version(DATA) == content_hash(manifest["files"])
    assert len(data_version(DATA)) == 16


def test_total_size_within_budget() -> None:
    total = sum(path.stat().st_size for path in DATA.rglob("*") if path.is_file())
    assert total <= MAX_TOTAL_BYTES


def test_workplace_parquet_matches_facilities(facilities: dict[str, list[Facility]]) -> None:
    import geopandas as gpd

    frame = gpd.read_parquet(DATA / "workplaces/workplaces.parquet")
    ids = {r.id for r in facilities["workplace_park"] + facilities["workplace_building"]}
    assert set(frame["id"]) == ids
    assert set(frame["kind"]) == {"park", "building"}
    assert frame.crs.to_epsg() == 4326
    assert (frame["area_m2"] > 0).all()
    central = frame[frame["subdistrict"].notna()]
    assert len(central) > 100
    assert set(central["district"]) <= {*DISTRICTS[:7], "浦东新区"}  # the 8 central districts


def test_demand_tables() -> None:
    with (DATA / "demand/district_employment_2023.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["district"] for row in rows) == sorted(DISTRICTS)
    total = sum(int(row["employment"]) for row in rows)
    assert 13.0e6 < total < 13.2e6
    with (DATA / "demand/subdistrict_employment_2023_central.csv").open(encoding="utf-8") as handle:
        subdistricts = list(csv.DictReader(handle))
    assert len(subdistricts) == 116
    assert {"code", "name", "employment"} <= set(subdistricts[0])
