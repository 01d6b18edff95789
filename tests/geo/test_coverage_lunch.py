"""Lunch supply by 2SFCA: shared outlets, weights, flags and the worst places."""

from __future__ import annotations

import numpy as np
import pytest

from geo.coverage.lunch import (
    OUTLET_WEIGHTS,
    flag_lunch,
    outlet_weight,
    two_step,
    worst_places,
)
from geo.coverage.reach import ReachModel
from tests.geo._coverage_fixtures import CAL, LAT0, east_of


def _park_pair_model() -> tuple[ReachModel, float]:
    a = 121.0
    b = east_of(a, 600.0)
    restaurant = east_of(a, 300.0)  # 300 m = 5 min from both parks at 1 m/s
    return ReachModel(np.array([a, b]), np.array([LAT0, LAT0]), None, [], CAL), restaurant


def test_a_shared_restaurant_gives_each_park_half_the_supply() -> None:
    model, restaurant = _park_pair_model()
    reach = model.reach(np.array([restaurant]), np.array([LAT0]), 600.0)
    assert sorted(reach.workplace.tolist()) == [0, 1]
    workers = np.array([1000, 1000])
    shared = two_step(reach.facility, reach.workplace, np.array([1.0]), workers)
    alone = two_step(np.array([0]), np.array([0]), np.array([1.0]), workers)
    assert shared.supply_per_1000_workers[0] == pytest.approx(0.5)
    assert shared.supply_per_1000_workers[1] == pytest.approx(0.5)
    assert alone.supply_per_1000_workers[0] == pytest.approx(1.0)
    assert shared.outlets_reachable.tolist() == [1, 1]


def test_the_catchment_cuts_at_the_walk_time() -> None:
    model, restaurant = _park_pair_model()
    assert len(model.reach(np.array([restaurant]), np.array([LAT0]), 299.0)) == 0


def test_supply_is_shared_by_workers_not_by_places() -> None:
    result = two_step(np.array([0, 0]), np.array([0, 1]), np.array([1.0]), np.array([3000, 1000]))
    assert result.ratio[0] == pytest.approx(1 / 4000)
    assert result.accessibility.tolist() == pytest.approx([1 / 4000, 1 / 4000])


def test_outlet_weights_order() -> None:
    order = ["canteen", "food_court", "fast_food", "restaurant", "cafe"]
    weights = [OUTLET_WEIGHTS[k] for k in order]
    assert weights == sorted(weights, reverse=True)
    assert outlet_weight(["cafe", "canteen"]) == OUTLET_WEIGHTS["canteen"]
    assert outlet_weight([]) == 1.0


def test_flags_nothing_reachable_and_low_supply() -> None:
    supply = np.array([0.0, 0.5, 2.0, 0.5])
    count = np.array([0, 3, 10, 3])
    workers = np.array([2000, 2000, 2000, 10])
    gaps = flag_lunch(supply, count, workers, min_supply_per_1000=1.0, min_workers=1000)
    assert gaps.flagged.tolist() == [True, True, False, False]
    assert gaps.score.tolist() == pytest.approx([2000.0, 1000.0, 0.0, 5.0])
    assert gaps.rank[:2].tolist() == [1, 2]
    worst = worst_places(gaps, workers, n=10)
    assert worst.index.tolist() == [0, 1]
    assert worst.workers_total == 4000
    assert not worst.meets_target


def test_raising_the_supply_threshold_never_removes_flags() -> None:
    rng = np.random.default_rng(11)
    supply = rng.exponential(1.0, 300)
    count = rng.integers(0, 5, 300)
    workers = rng.integers(0, 4000, 300)
    before = flag_lunch(supply, count, workers, min_supply_per_1000=0.5).flagged
    after = flag_lunch(supply, count, workers, min_supply_per_1000=2.0).flagged
    assert not (before & ~after).any()
