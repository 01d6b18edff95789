"""Allocation of official employment to workplaces: pools, caps, overrides, reconciliation."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.coverage.allocation import (
    OfficialEmployment,
    allocate_workers,
    attach_buildings_to_parks,
    fill_pool,
    floor_area_proxy,
)
from geo.coverage.density import density_caps
from geo.coverage.errors import AllocationError


def test_fill_pool_is_proportional_and_exact() -> None:
    got = fill_pool(1000, np.array([1.0, 3.0]), np.array([10_000, 10_000]))
    assert got.tolist() == [250, 750]


def test_fill_pool_respects_caps_and_refills_the_rest() -> None:
    got = fill_pool(1000, np.array([1.0, 1.0, 2.0]), np.array([100, 10_000, 10_000]))
    assert got[0] == 100
    assert got.sum() == 1000
    assert got[2] == pytest.approx(2 * got[1], abs=1)


def test_fill_pool_never_exceeds_total_capacity() -> None:
    got = fill_pool(1000, np.array([1.0, 1.0]), np.array([100, 200]))
    assert got.tolist() == [100, 200]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fill_pool_random_sums(seed: int) -> None:
    rng = np.random.default_rng(seed)
    weight = rng.uniform(0, 10, 50)
    cap = rng.integers(0, 500, 50)
    pool = int(rng.integers(0, 20_000))
    got = fill_pool(pool, weight, cap)
    assert got.sum() == min(pool, cap[weight > 0].sum())
    assert (got <= cap).all()
    assert (got >= 0).all()


def test_floor_area_uses_levels_when_tagged_else_defaults() -> None:
    area = floor_area_proxy(np.array(["building", "building", "park"]),
                            np.array(["commercial", "commercial", "industrial"]),
                            np.array([100.0, 100.0, 1000.0]), np.array([10.0, np.nan, np.nan]))
    assert area.tolist() == [1000.0, 500.0, 1000.0]
    caps = density_caps(np.array(["building"]), np.array(["office"]), np.array([1200.0]),
                        np.array([240.0]))  # fmt: skip
    assert caps.capacity.tolist() == [100]  # 12 m² of floor per office worker
    assert not caps.site_bound.any()


def test_building_inside_a_park_is_attached_once() -> None:
    park = shapely.box(0, 0, 1, 1)
    inner = shapely.box(0.2, 0.2, 0.8, 0.8)
    got = attach_buildings_to_parks(np.array([park, inner]), np.array([0.5, 2.0]),
                                    np.array([0.5, 2.0]))
    assert got.tolist() == [1, -1]  # the smaller (nested) park wins; outside stays alone


def _official() -> OfficialEmployment:
    return OfficialEmployment(
        district_total={"A区": 10_000, "B区": 5_000},
        district_elsewhere_sector={"A区": 2_000, "B区": 1_000},
        subdistrict_total={("A区", "一街道"): 6_000, ("A区", "二街道"): 3_000,
                           ("A区", "空街道"): 1_000},
        district_wide={"A区": 0},
    )  # fmt: skip


def _inputs() -> tuple[np.ndarray, ...]:
    district = np.array(["A区", "A区", "A区", "B区", "B区"], dtype=object)
    sub = np.array(["一街道", "一街道", "二街道", None, None], dtype=object)
    floor = np.array([1000.0, 3000.0, 10.0, 500.0, 500.0])
    cap = np.array([100_000, 100_000, 1, 100_000, 100_000])
    return district, sub, floor, cap


def test_allocation_reconciles_with_official_totals() -> None:
    district, sub, floor, cap = _inputs()
    result = allocate_workers(district, sub, floor, cap, _official())
    for row in result.districts:
        assert row.allocated + row.elsewhere_sector + row.elsewhere_unmapped == row.official
    a, b = result.districts
    # A: eligible share 0.8; 一街道 pool 4,800 split 1:3; 二街道 pool 2,400 but capacity 1
    assert result.workers[:2].tolist() == [1200, 3600]
    assert result.workers[2] == 1
    assert a.allocated == 4801
    assert a.elsewhere_unmapped == 10_000 - 2_000 - 4801  # 空街道 and the capped remainder
    # B: no subdistricts, eligible 4,000 over two equal workplaces
    assert result.workers[3:].tolist() == [2000, 2000]
    assert b.elsewhere_unmapped == 0
    assert result.totals()["official"] == 15_000


def test_override_replaces_the_estimate_and_comes_out_of_its_pool() -> None:
    district, sub, floor, cap = _inputs()
    overrides = np.array([np.nan, np.nan, np.nan, 3000.0, np.nan])
    result = allocate_workers(district, sub, floor, cap, _official(), overrides)
    assert result.workers[3] == 3000
    assert result.workers[4] == 1000
    assert result.overridden.tolist() == [False, False, False, True, False]
    b = result.districts[1]
    assert b.allocated + b.elsewhere_sector + b.elsewhere_unmapped == b.official


def test_overrides_beyond_the_district_total_are_refused() -> None:
    district, sub, floor, cap = _inputs()
    overrides = np.array([np.nan, np.nan, np.nan, 9000.0, np.nan])
    with pytest.raises(AllocationError, match=r"B区 total 9,000, more than its 4,000"):
        allocate_workers(district, sub, floor, cap, _official(), overrides)
