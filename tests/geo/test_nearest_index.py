"""The spherical KD-tree index against a brute-force haversine scan."""

from __future__ import annotations

import numpy as np
import pytest

from geo.crs import haversine_m
from geo.nearest import PointIndex


@pytest.fixture
def points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.uniform(120.9, 122.0, 2000), rng.uniform(30.7, 31.8, 2000)


@pytest.mark.parametrize("k", [1, 5])
def test_matches_brute_force(points: tuple[np.ndarray, np.ndarray], k: int) -> None:
    lon, lat = points
    index = PointIndex(lon, lat)
    rng = np.random.default_rng(8)
    qlon, qlat = rng.uniform(120.9, 122.0, 500), rng.uniform(30.7, 31.8, 500)
    distance, found = index.query(qlon, qlat, k)
    for row in range(len(qlon)):
        brute = haversine_m(qlon[row], qlat[row], lon, lat)
        order = np.argsort(brute, kind="stable")[:k]
        np.testing.assert_allclose(distance[row], brute[order], atol=0.01)
        assert set(found[row]) == set(order)


def test_filtered_query_expands_until_enough(points: tuple[np.ndarray, np.ndarray]) -> None:
    lon, lat = points
    index = PointIndex(lon, lat)
    accepted = set(range(0, 2000, 97))  # a very selective filter
    distance, found = index.query_filtered(
        121.5, 31.2, 5, lambda idx: np.isin(idx, list(accepted))
    )
    brute = haversine_m(121.5, 31.2, lon, lat)
    expected = sorted(accepted, key=lambda i: brute[i])[:5]
    assert list(found) == expected
    assert np.all(np.diff(distance) >= 0)


def test_filter_matching_nothing_returns_empty(points: tuple[np.ndarray, np.ndarray]) -> None:
    index = PointIndex(*points)
    distance, found = index.query_filtered(
        121.5, 31.2, 3, lambda idx: np.zeros(len(idx), dtype=bool)
    )
    assert len(found) == 0
    assert len(distance) == 0


def test_within_radius(points: tuple[np.ndarray, np.ndarray]) -> None:
    lon, lat = points
    index = PointIndex(lon, lat)
    found = index.within(121.5, 31.2, 5_000)
    brute = np.flatnonzero(haversine_m(121.5, 31.2, lon, lat) <= 5_000)
    assert list(found) == list(brute)


def test_empty_index_answers_empty() -> None:
    index = PointIndex([], [])
    distance, found = index.query([121.5], [31.2], 3)
    assert distance.shape == (1, 0)
    assert found.shape == (1, 0)
