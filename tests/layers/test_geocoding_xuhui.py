"""The 13 Xuhui community health centres, geocoded from name and address only.

Truth: the BD-09 positions the list publishes, converted to WGS84. Seven centres are in OSM
(found by name); the other six must come from roads or subdistricts, and any that cannot be
placed within 300 m must be flagged for review rather than passed as precise.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from geo.crs import haversine_m, to_wgs84
from geo.geocode.placement import Precision
from layers.registry.geocoding import Geocoder

CSV = Path(__file__).parents[1] / "data/registries/xuhui_community_health_centres_bd09.csv"
NEAR_M = 300.0


@pytest.fixture(scope="module")
def results() -> list[tuple[dict[str, str], object, float]]:
    geocoder = Geocoder()
    with CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = []
    for row in rows:
        placement = geocoder.place(row["名称"], row["地址"], "徐汇区")
        lon, lat = to_wgs84(float(row["经度_bd09"]), float(row["纬度_bd09"]), "bd09")
        assert placement.lon is not None
        assert placement.lat is not None
        out.append((row, placement, float(haversine_m(lon, lat, placement.lon, placement.lat))))
    return out


def test_all_thirteen_are_placed_in_xuhui(results: list) -> None:
    assert len(results) == 13
    assert all(placement.district == "徐汇区" for _, placement, _ in results)


def test_most_land_within_300_m(results: list) -> None:
    near = [row["名称"] for row, _, distance in results if distance <= NEAR_M]
    # measured: 10 of 13 (7 by OSM name, 3 by road or subdistrict)
    assert len(near) >= 10, near


def test_the_seven_osm_centres_are_matched_by_name(results: list) -> None:
    by_name = [(row, p, d) for row, p, d in results if p.precision is Precision.BUILDING]
    assert len(by_name) >= 7
    assert all(d <= 100 for _, _, d in by_name)
    assert all(p.source.startswith("gazetteer:osm_poi:") for _, p, _ in by_name)


def test_none_is_far_without_a_flag(results: list) -> None:
    for row, placement, distance in results:
        if distance > NEAR_M:
            assert placement.needs_review, row["名称"]
            assert placement.precision in {Precision.ROAD, Precision.SUBDISTRICT, Precision.DISTRICT}
