"""Medical access: hand-built distances with known answers, network times, monotone flags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from geo.coverage.errors import InvalidThresholdError
from geo.coverage.medical import flag_medical, nearest_from_pairs
from geo.coverage.reach import ESTIMATED, INSIDE, NETWORK, ReachModel
from geo.network.matrix import travel_matrix
from tests.geo._coverage_fixtures import CAL, LAT0, east_of, street_network


def test_park_20_minutes_from_the_only_clinic_is_flagged() -> None:
    park_lon = 121.0
    clinic_lon = east_of(park_lon, 1200.0)  # 1,200 m at 1 m/s crow-fly = 20 min
    model = ReachModel(np.array([park_lon]), np.array([LAT0]), None, [], CAL)
    reach = model.reach(np.array([clinic_lon]), np.array([LAT0]), 3600.0)
    answer = nearest_from_pairs(1, reach.facility, reach.workplace, reach.time_s, reach.method,
                                np.array(["clinic:1"]))
    assert answer.time_s[0] / 60 == pytest.approx(20.0, abs=1e-3)
    assert answer.method[0] == ESTIMATED
    gaps = flag_medical(answer.time_s, np.array([2000]), max_minutes=15, min_workers=1000)
    assert gaps.flagged.tolist() == [True]
    assert gaps.score[0] == pytest.approx(2000 * 5.0, rel=1e-4)
    assert flag_medical(answer.time_s, np.array([999])).flagged.tolist() == [False]
    assert flag_medical(answer.time_s, np.array([2000]), max_minutes=20.5).flagged.tolist() == [False]


def test_clinic_inside_the_park_counts_as_zero_minutes() -> None:
    park = shapely.box(121.0, 31.2, 121.01, 31.21)
    model = ReachModel(np.array([121.005]), np.array([31.205]), np.array([park]), [], CAL)
    reach = model.reach(np.array([121.009]), np.array([31.209]), 60.0)
    assert reach.method.tolist() == [INSIDE]
    assert reach.time_s.tolist() == [0.0]


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory):
    return street_network(tmp_path_factory.mktemp("street"))


def test_network_walk_along_a_street(street) -> None:
    net, lons = street
    # workplace at node 0, clinic at node 15: 1,500 m at 1.2 m/s = 20.8 min
    model = ReachModel(np.array([lons[0]]), np.array([LAT0]), None, [net], CAL)
    assert model.workplace_method.tolist() == ["network"]
    reach = model.reach(np.array([lons[15]]), np.array([LAT0]), 3600.0)
    assert reach.method.tolist() == [NETWORK]
    assert reach.time_s[0] == pytest.approx(1500.0 / 1.2, rel=2e-3)
    gaps = flag_medical(reach.time_s, np.array([5000]))
    assert gaps.flagged.tolist() == [True]


def test_network_times_match_the_travel_matrix(street) -> None:
    net, lons = street
    rng = np.random.default_rng(7)
    wp_lon = rng.uniform(lons[0], lons[-1], 30)
    wp_lat = LAT0 + rng.uniform(-0.0005, 0.0005, 30)
    fac_lon = rng.uniform(lons[0], lons[-1], 6)
    fac_lat = LAT0 + rng.uniform(-0.0005, 0.0005, 6)
    model = ReachModel(wp_lon, wp_lat, None, [net], CAL)
    reach = model.reach(fac_lon, fac_lat, 1e6)
    expected = travel_matrix(net, wp_lon, wp_lat, fac_lon, fac_lat).values
    assert len(reach) == 30 * 6
    got = np.full((30, 6), np.nan)
    got[reach.workplace, reach.facility] = reach.time_s
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_outside_coverage_uses_the_estimate(street, tmp_path: Path) -> None:
    net, lons = street
    far_lat = LAT0 + 0.05  # 5.5 km north: outside the 300 m coverage buffer
    model = ReachModel(np.array([lons[0], lons[0]]), np.array([LAT0, far_lat]), None, [net], CAL)
    assert model.workplace_method.tolist() == ["network", "estimated"]
    reach = model.reach(np.array([lons[5]]), np.array([far_lat]), 1e5)
    methods = dict(zip(reach.workplace.tolist(), reach.method.tolist(), strict=True))
    assert methods == {0: ESTIMATED, 1: ESTIMATED}


def test_ties_break_by_facility_id() -> None:
    answer = nearest_from_pairs(1, np.array([0, 1]), np.array([0, 0]), np.array([60.0, 60.0]),
                                np.zeros(2, dtype=np.int8), np.array(["b", "a"]))
    assert answer.facility.tolist() == [1]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_raising_the_time_threshold_never_adds_flags(seed: int) -> None:
    rng = np.random.default_rng(seed)
    time_s = rng.exponential(900, 500)
    time_s[rng.integers(0, 500, 10)] = np.inf
    workers = rng.integers(0, 5000, 500)
    previous = None
    for minutes in (0, 5, 10, 15, 20, 30, 60, 90):
        flagged = flag_medical(time_s, workers, max_minutes=minutes).flagged
        if previous is not None:
            assert not (flagged & ~previous).any()
        previous = flagged
    for min_workers in (0, 500, 1000, 3000):
        now = flag_medical(time_s, workers, min_workers=min_workers).flagged
        assert not (now & ~flag_medical(time_s, workers, min_workers=0).flagged).any()


def test_rank_puts_the_largest_score_first() -> None:
    gaps = flag_medical(np.array([1200.0, 1800.0, 300.0]), np.array([2000, 1500, 9000]))
    assert gaps.rank.tolist() == [2, 1, 3]  # scores 10,000 and 22,500 and 0


@pytest.mark.parametrize(("minutes", "workers"), [(-1, 1000), (np.nan, 1000), (15, -5)])
def test_bad_thresholds_are_refused(minutes: float, workers: float) -> None:
    with pytest.raises(InvalidThresholdError, match="must be a finite number >= 0"):
        flag_medical(np.array([60.0]), np.array([1]), max_minutes=minutes, min_workers=workers)
