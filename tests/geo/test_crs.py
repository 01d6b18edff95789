"""CRS conversions: fixed references and round trips."""

from __future__ import annotations

import numpy as np
import pytest

from geo.crs import CRS, from_utm, from_wgs84, haversine_m, parse_crs, to_utm, to_wgs84
from geo.errors import UnknownCRSError

PEOPLES_SQUARE_WGS84 = (121.4705745, 31.2346189)
PEOPLES_SQUARE_GCJ02 = (121.475108, 31.232687)


def test_peoples_square_wgs84_to_gcj02_within_1m() -> None:
    lon, lat = from_wgs84(*PEOPLES_SQUARE_WGS84, CRS.GCJ02)
    assert haversine_m(lon, lat, *PEOPLES_SQUARE_GCJ02) < 1.0


def test_peoples_square_gcj02_to_wgs84_within_1m() -> None:
    lon, lat = to_wgs84(*PEOPLES_SQUARE_GCJ02, "gcj02")
    assert haversine_m(lon, lat, *PEOPLES_SQUARE_WGS84) < 1.0


def test_offset_is_the_known_few_hundred_metres() -> None:
    gcj = from_wgs84(*PEOPLES_SQUARE_WGS84, CRS.GCJ02)
    bd = from_wgs84(*PEOPLES_SQUARE_WGS84, CRS.BD09)
    assert 300 < haversine_m(*PEOPLES_SQUARE_WGS84, *gcj) < 700
    assert 700 < haversine_m(*PEOPLES_SQUARE_WGS84, *bd) < 1500


@pytest.mark.parametrize("crs", [CRS.GCJ02, CRS.BD09, CRS.WGS84])
def test_round_trip_error_below_half_metre(crs: CRS) -> None:
    rng = np.random.default_rng(20231)
    lons = rng.uniform(120.85, 122.2, 300)
    lats = rng.uniform(30.68, 31.87, 300)
    worst = 0.0
    for lon, lat in zip(lons, lats, strict=True):
        back = to_wgs84(*from_wgs84(lon, lat, crs), crs)
        worst = max(worst, float(haversine_m(lon, lat, *back)))
    assert worst < 0.5


def test_utm_round_trip_and_metric_distance() -> None:
    lon = np.array([121.4705745, 121.5])
    lat = np.array([31.2346189, 31.25])
    x, y = to_utm(lon, lat)
    assert 300_000 < x[0] < 400_000  # UTM 51N easting near Shanghai
    back_lon, back_lat = from_utm(x, y)
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)
    planar = float(np.hypot(x[1] - x[0], y[1] - y[0]))
    sphere = float(haversine_m(lon[0], lat[0], lon[1], lat[1]))
    assert abs(planar - sphere) / sphere < 0.005


@pytest.mark.parametrize("name", ["GCJ02", "bd-09", " wgs84 ", "EPSG:4326"])
def test_parse_crs_aliases(name: str) -> None:
    assert parse_crs(name) in set(CRS)


def test_unknown_crs_lists_valid_values() -> None:
    with pytest.raises(UnknownCRSError, match="valid values: wgs84, gcj02, bd09"):
        parse_crs("mercator")
