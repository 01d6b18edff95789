"""Workers per workplace on the shipped data: density caps, footprints, registry overrides."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import shapely

from geo.coverage.allocation import BASES, DEFAULT_LEVELS, MIN_FOOTPRINT_COVERAGE
from geo.coverage.density import DENSITIES
from layers.gaps.service import GapService
from layers.plans.service import Demand
from layers.registry.schema import Facility, FacilityStatus
from layers.registry.shipped import DEFAULT_DATA_DIR
from tests.layers.test_gaps import MutableSource

DATA = DEFAULT_DATA_DIR
BAOSTEEL = "宝山钢铁股份有限公司"
LAOGANG = "老港固体废弃物综合利用基地"


@pytest.fixture(scope="module")
def source() -> MutableSource:
    return MutableSource(DATA)


@pytest.fixture(scope="module")
def service(source: MutableSource) -> GapService:
    return GapService(source, DATA)


def _one(service: GapService, name: str) -> int:
    (idx,) = np.flatnonzero(service.workplaces.name == name)
    return int(idx)


def test_no_workplace_exceeds_its_land_use_density_cap(service: GapService) -> None:
    wp, alloc = service.workplaces, service.allocation
    assert not alloc.overridden.any()  # the shipped registries carry no 职工数
    m2 = np.array([DENSITIES[u].m2_per_worker for u in wp.land_use])
    per_ha = np.array([DENSITIES[u].workers_per_ha for u in wp.land_use])
    floor_cap = np.floor(wp.floor_area_m2 / m2 + 1e-9)
    site_cap = np.where(wp.kind == "park", np.floor(wp.area_m2 / 1e4 * per_ha + 1e-9), np.inf)
    over = np.flatnonzero((alloc.workers > floor_cap) | (alloc.workers > site_cap))
    assert over.size == 0, [(wp.name[i], int(alloc.workers[i])) for i in over[:5]]
    # a park's floor area is never more than its site at the default plot ratio, unless
    # its own mapped buildings say so
    plot = np.array([DEFAULT_LEVELS.get((k, c), 1.0) for k, c in zip(wp.kind, wp.category,
                                                                     strict=True)])  # fmt: skip
    parks = (wp.kind == "park") & ~wp.from_footprints
    assert np.allclose(wp.floor_area_m2[parks], wp.area_m2[parks] * plot[parks])
    assert set(wp.district[alloc.workers > 0].tolist()) >= {r.district for r in alloc.districts}
    assert len(alloc.districts) == 16
    assert set(alloc.basis.tolist()) <= set(BASES)


def test_baosteel_and_laogang_are_plausible(service: GapService) -> None:
    wp, workers = service.workplaces, service.workers
    steel, landfill = _one(service, BAOSTEEL), _one(service, LAOGANG)
    assert wp.land_use[steel] == "heavy_industry"
    assert wp.land_use[landfill] == "waste"
    # 2,038 ha at 15 workers/ha, 1,336 ha at 2/ha (they were 368,710 and 79,100)
    assert 20_000 <= workers[steel] <= 35_000
    assert 1_000 <= workers[landfill] <= 3_000
    assert service.allocation.basis[steel] == "site density cap"
    # no single workplace holds more than a quarter of a million people any more
    assert int(workers.max()) < 300_000


def test_conservation_per_district_stays_exact(service: GapService) -> None:
    with (DATA / "demand" / "district_employment_2023.csv").open(encoding="utf-8") as handle:
        official = {r["district"]: int(r["employment"]) for r in csv.DictReader(handle)}
    for r in service.allocation.districts:
        assert r.allocated + r.elsewhere_sector + r.elsewhere_unmapped == official[r.district]
        assert r.elsewhere_unmapped >= 0
        in_d = service.workplaces.district == r.district
        assert int(service.workers[in_d].sum()) == r.allocated


def test_parks_with_mapped_buildings_are_spread_by_their_footprints(service: GapService) -> None:
    wp = service.workplaces
    fp = np.flatnonzero(wp.from_footprints)
    assert fp.size > 300  # 480 parks in the 2025-03-18 extract
    assert (wp.kind[fp] == "park").all()
    coverage = wp.footprint_m2[fp] / wp.area_m2[fp]
    assert (coverage >= MIN_FOOTPRINT_COVERAGE).all()
    # floor area = their buildings' floor area (footprint x default levels), not the site's
    assert (wp.floor_area_m2[fp] >= wp.footprint_m2[fp]).all()
    assert (wp.floor_area_m2[fp] <= 5.0 * wp.footprint_m2[fp] + 1e-6).all()
    sparse = (wp.kind == "park") & (wp.attached_buildings > 0) & ~wp.from_footprints
    assert (wp.footprint_m2[sparse] < MIN_FOOTPRINT_COVERAGE * wp.area_m2[sparse]).all()
    basis = service.allocation.basis[fp]
    assert set(basis.tolist()) <= {"footprints", "site density cap", "floor-area cap"}
    assert (basis == "footprints").any()


def _health_point(fid: str, lon: float, lat: float, **fields: object) -> Facility:
    return Facility(id=f"health_point:{fid}", layer="health_point", name="宝钢职工健康服务点",
                    lon=lon, lat=lat, status=FacilityStatus.ACTIVE, source="test",
                    services=["consultation"], **fields)  # fmt: skip


def test_a_registry_count_of_workers_overrides_the_estimate(
    source: MutableSource, service: GapService
) -> None:
    steel = _one(service, BAOSTEEL)
    estimate = int(service.workers[steel])
    inside = shapely.get_coordinates(
        service.workplaces.geometry[steel].representative_point())[0]  # fmt: skip
    record = _health_point("test-baosteel", float(inside[0]), float(inside[1]), n_workers=17_000,
                           park_name=BAOSTEEL)  # fmt: skip
    source.add(record)
    try:
        alloc = service.allocation
        assert int(alloc.workers[steel]) == 17_000
        assert alloc.basis[steel] == "registry"
        medical = service.medical_gaps()
        assert int(medical.workers[steel]) == 17_000
        assert medical.basis[steel] == "registry"
        lunch = service.lunch_gaps()
        assert int(lunch.workers[steel]) == 17_000
        demand = Demand.from_gap_service(service)
        assert demand.workers[steel] == 17_000
        assert demand.basis[steel] == "registry"
        row = next(r for r in alloc.districts if r.district == "宝山区")
        assert row.n_overridden == 1
        assert row.allocated + row.elsewhere_sector + row.elsewhere_unmapped == row.official
    finally:
        source.remove(record.id)
    assert int(service.workers[steel]) == estimate
    assert service.allocation.basis[steel] == "site density cap"


def test_an_explicit_workplace_id_names_the_workplace(
    source: MutableSource, service: GapService
) -> None:
    landfill = _one(service, LAOGANG)
    wid = str(service.workplaces.id[landfill])
    record = _health_point("test-laogang", 121.47, 31.23, n_workers=3_500,
                           extra={"workplace_id": wid})  # fmt: skip
    source.add(record)
    try:
        assert int(service.workers[landfill]) == 3_500
    finally:
        source.remove(record.id)
