"""Employment-density caps of the workers allocation, on small synthetic workplaces."""

from __future__ import annotations

import numpy as np
import pytest

from geo.coverage.allocation import (
    MIN_FOOTPRINT_COVERAGE,
    OfficialEmployment,
    allocate_workers,
    floor_area_proxy,
    park_floor_area,
    workers_basis,
)
from geo.coverage.density import DENSITIES, density_caps, land_use, land_uses


@pytest.mark.parametrize(
    ("kind", "category", "name", "expected"),
    [
        ("park", "industrial", "宝山钢铁股份有限公司", "heavy_industry"),
        ("park", "industrial", "中国石化上海石油化工股份有限公司", "heavy_industry"),
        ("park", "industrial", "江南造船厂", "heavy_industry"),
        ("park", "industrial", "老港固体废弃物综合利用基地", "waste"),
        ("park", "industrial", "上海天马生活垃圾焚烧发电厂", "waste"),  # waste before power
        ("park", "industrial", "外高桥港区", "port"),
        ("park", "industrial", "普洛斯金桥物流园", "logistics"),
        ("park", "industrial", "莘庄工业区", "industrial"),
        ("park", "industrial", None, "industrial"),
        ("park", "commercial", "上海新国际博览中心", "exhibition"),
        ("park", "commercial", "春晖集贸市场", "retail"),
        ("park", "commercial", "虹桥商务区", "office"),
        ("building", "commercial", "现代物流大厦", "office"),  # an office named after logistics
        ("building", "warehouse", "未命名仓库", "logistics"),
        ("building", "industrial", "炼钢", "heavy_industry"),
        ("building", "commercial", "上海高桥建材市场", "exhibition"),
    ],
)
def test_land_use_from_kind_category_and_name(kind: str, category: str, name: str | None,
                                              expected: str) -> None:  # fmt: skip
    assert land_use(kind, category, name) == expected
    assert expected in DENSITIES


def test_heavy_industry_ports_and_waste_are_the_sparsest_sites() -> None:
    per_ha = {k: d.workers_per_ha for k, d in DENSITIES.items()}
    assert per_ha["waste"] < per_ha["port"] < per_ha["heavy_industry"] < per_ha["logistics"]
    assert per_ha["logistics"] < per_ha["industrial"] < per_ha["office"]
    assert all(d.source for d in DENSITIES.values())


def test_site_cap_binds_a_huge_park_and_floor_cap_a_building() -> None:
    kind = np.array(["park", "park", "building"], dtype=object)
    use = np.array(["heavy_industry", "industrial", "office"], dtype=object)
    site = np.array([20_000_000.0, 100_000.0, 2_000.0])  # 2,000 ha steelworks, 10 ha, 0.2 ha
    floor = floor_area_proxy(kind, np.array(["industrial", "industrial", "commercial"]), site,
                             np.full(3, np.nan))  # fmt: skip
    caps = density_caps(kind, use, floor, site)
    # 15/ha x 2,000 ha; 10 ha x 1.0 plot ratio / 36 m²; 0.2 ha x 5 levels / 12 m²
    assert caps.capacity.tolist() == [30_000, 2_777, 833]
    assert caps.site_bound.tolist() == [True, True, False]


def test_parks_take_their_buildings_floor_area_only_when_mapped_enough() -> None:
    site = np.array([100_000.0, 100_000.0, 100_000.0])
    site_floor = site * 1.0
    footprint = np.array([30_000.0, 10_000.0, 0.0])  # 30 %, 10 %, none
    footprint_floor = footprint * 2.0
    floor, used = park_floor_area(site, site_floor, footprint, footprint_floor)
    assert used.tolist() == [True, False, False]
    assert floor.tolist() == [60_000.0, 100_000.0, 100_000.0]
    assert 0.1 < MIN_FOOTPRINT_COVERAGE <= 0.3


def test_workers_basis_names_the_binding_cap() -> None:
    basis = workers_basis(
        workers=np.array([500, 100, 30, 7, 0]),
        capacity=np.array([400, 100, 30, 50, 10]),
        overridden=np.array([True, False, False, False, False]),
        site_bound=np.array([True, True, False, False, False]),
        from_footprints=np.array([False, False, False, True, False]),
    )
    assert basis.tolist() == ["registry", "site density cap", "floor-area cap", "footprints",
                              "floor-area share"]  # fmt: skip


def _district(total: int) -> OfficialEmployment:
    return OfficialEmployment({"甲区": total}, {"甲区": 0}, {}, {})


def test_a_huge_steelworks_cannot_absorb_the_district_pool() -> None:
    kind = np.array(["park", "park", "building"], dtype=object)
    category = np.array(["industrial", "industrial", "commercial"], dtype=object)
    names = np.array(["宝山钢铁股份有限公司", "某工业园", "某大厦"], dtype=object)
    site = np.array([20_000_000.0, 500_000.0, 5_000.0])
    floor = floor_area_proxy(kind, category, site, np.full(3, np.nan))
    use = land_uses(kind, category, names)
    caps = density_caps(kind, use, floor, site)
    official = _district(200_000)
    got = allocate_workers(np.array(["甲区"] * 3, dtype=object), np.array([None] * 3), floor,
                           caps.capacity, official, site_bound=caps.site_bound)  # fmt: skip
    assert got.workers.tolist() == [30_000, 13_888, 2_083]  # every one at its cap
    assert (got.workers <= caps.capacity).all()
    row = got.districts[0]
    assert row.allocated + row.elsewhere_sector + row.elsewhere_unmapped == 200_000
    assert row.elsewhere_unmapped == 200_000 - 30_000 - 13_888 - 2_083
    assert got.basis.tolist() == ["site density cap", "site density cap", "floor-area cap"]


def test_a_registry_count_wins_over_the_cap_and_the_estimate() -> None:
    kind = np.array(["park", "park"], dtype=object)
    site = np.array([10_000_000.0, 1_000_000.0])
    use = np.array(["waste", "industrial"], dtype=object)
    floor = site * 1.0
    caps = density_caps(kind, use, floor, site)  # 2,000 and 27,777
    ov = np.array([5_000.0, np.nan])
    got = allocate_workers(np.array(["甲区", "甲区"], dtype=object), np.array([None, None]), floor,
                           caps.capacity, _district(20_000), ov, site_bound=caps.site_bound)  # fmt: skip
    assert got.workers[0] == 5_000  # above the waste site's cap of 2,000: the form says so
    assert got.workers[1] == 15_000
    assert got.basis.tolist() == ["registry", "floor-area share"]
    assert got.districts[0].elsewhere_unmapped == 0


def test_footprints_spread_a_pool_between_parks_by_their_buildings() -> None:
    # two parks of equal site: A's mapped buildings give it 4x the floor area of B's site
    site = np.array([100_000.0, 100_000.0])
    floor, used = park_floor_area(site, site * 1.0, np.array([50_000.0, 0.0]),
                                  np.array([400_000.0, 0.0]))  # fmt: skip
    kind = np.array(["park", "park"], dtype=object)
    use = np.array(["industrial", "industrial"], dtype=object)
    caps = density_caps(kind, use, floor, site)
    got = allocate_workers(np.array(["甲区", "甲区"], dtype=object), np.array([None, None]), floor,
                           caps.capacity, _district(500), site_bound=caps.site_bound,
                           from_footprints=used)  # fmt: skip
    assert got.workers.tolist() == [400, 100]
    assert got.basis.tolist() == ["footprints", "floor-area share"]
