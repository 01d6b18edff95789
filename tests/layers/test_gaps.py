"""The gap service on the shipped Shanghai data: reconciliation, flags, incremental updates."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest

from geo.coverage.errors import InvalidThresholdError
from layers.gaps.service import GapService, ShippedSource
from layers.registry.schema import Facility, FacilityStatus
from layers.registry.shipped import DEFAULT_DATA_DIR

DATA = DEFAULT_DATA_DIR


class MutableSource(ShippedSource):
    """Shipped facilities plus edits, with a version counter per layer (like a store)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.extra: dict[str, list[Facility]] = {}
        self.removed: set[str] = set()
        self.versions: dict[str, int] = {}

    def version(self, layer: str) -> object:
        return self.versions.get(layer, 0)

    def facilities(self, layer: str) -> list[Facility]:
        every = super().facilities(layer) + self.extra.get(layer, [])
        return [f for f in every if f.id not in self.removed]

    def add(self, facility: Facility) -> None:
        self.extra.setdefault(facility.layer, []).append(facility)
        self.versions[facility.layer] = self.versions.get(facility.layer, 0) + 1

    def remove(self, facility_id: str) -> None:
        self.removed.add(facility_id)
        layer = facility_id.split(":")[0]
        self.versions[layer] = self.versions.get(layer, 0) + 1


@pytest.fixture(scope="module")
def service() -> GapService:
    return GapService(MutableSource(DATA), DATA)


def test_allocation_reconciles_with_the_official_district_totals(service: GapService) -> None:
    with (DATA / "demand" / "district_employment_2023.csv").open(encoding="utf-8") as handle:
        official = {r["district"]: int(r["employment"]) for r in csv.DictReader(handle)}
    rows = {r.district: r for r in service.allocation.districts}
    assert set(rows) == set(official)
    for district, total in official.items():
        r = rows[district]
        assert r.official == total
        assert r.allocated + r.elsewhere_sector + r.elsewhere_unmapped == total
        assert r.allocated >= 0
        assert r.elsewhere_unmapped >= 0
        in_d = service.workplaces.district == district
        assert int(service.workers[in_d].sum()) == r.allocated
    totals = service.allocation.totals()
    assert totals["official"] == sum(official.values())
    assert 0.5 < totals["allocated"] / totals["official"] < 0.9


def test_buildings_inside_parks_are_not_counted_twice(service: GapService) -> None:
    wp = service.workplaces
    assert wp.n_buildings_attached > 0
    assert len(wp) + wp.n_buildings_attached == 9800
    assert len(set(wp.id.tolist())) == len(wp)


def test_medical_flags_follow_the_rule(service: GapService) -> None:
    result = service.medical_gaps()
    flagged = result.gaps.flagged
    assert 0 < flagged.sum() < flagged.size
    assert (result.gaps.minutes[flagged] > 15).all()
    assert (result.workers[flagged] >= 1000).all()
    assert set(result.method.tolist()) <= {"network", "estimated", "inside"}
    assert (result.method == "network").sum() > 100
    assert all(result.nearest[i] is not None for i in np.flatnonzero(flagged))


def test_medical_flags_are_monotone_in_the_threshold(service: GapService) -> None:
    previous = None
    for minutes in (5, 15, 30, 60):
        flagged = service.medical_gaps(max_minutes=minutes).gaps.flagged
        if previous is not None:
            assert not (flagged & ~previous).any()
        previous = flagged


def test_thresholds_beyond_the_horizon_are_refused(service: GapService) -> None:
    with pytest.raises(InvalidThresholdError, match="at most 90"):
        service.medical_gaps(max_minutes=120)
    with pytest.raises(InvalidThresholdError, match="walk_minutes"):
        service.lunch_gaps(walk_minutes=0)


def test_lunch_names_the_worst_places(service: GapService) -> None:
    result = service.lunch_gaps()
    assert result.worst.index.size == 10
    assert result.gaps.flagged[result.worst.index].all()
    assert result.worst.workers_total == int(result.workers[result.worst.index].sum())
    supply = result.gaps.supply_per_1000
    assert ((supply < 1.0) | (result.gaps.outlets_reachable == 0))[result.gaps.flagged].all()


def _health_point(fid: str, lon: float, lat: float) -> Facility:
    return Facility(id=f"health_point:{fid}", layer="health_point", name="测试健康服务点",
                    lon=lon, lat=lat, source="test", status=FacilityStatus.NEW)


def test_adding_and_removing_a_health_point_is_incremental(service: GapService) -> None:
    source = service.source
    assert isinstance(source, MutableSource)
    before = service.medical_gaps()
    target = int(np.flatnonzero(before.gaps.flagged)[0])
    wp = service.workplaces
    point = _health_point("test-new", float(wp.lon[target]), float(wp.lat[target]))
    source.add(point)
    started = time.perf_counter()
    after = service.medical_gaps()
    assert time.perf_counter() - started <= 1.0
    assert service.last_update is not None
    assert (service.last_update.added, service.last_update.removed) == (1, 0)
    assert not after.gaps.flagged[target]
    assert after.nearest[target] is not None
    assert after.nearest[target].id == point.id
    fresh = GapService(MutableSource(DATA), DATA)
    fresh.source.add(point)  # type: ignore[attr-defined]
    full = fresh.medical_gaps()
    np.testing.assert_array_equal(after.gaps.minutes, full.gaps.minutes)
    assert [r.id if r else None for r in after.nearest] == [r.id if r else None for r in full.nearest]
    source.remove(point.id)
    started = time.perf_counter()
    again = service.medical_gaps()
    assert time.perf_counter() - started <= 1.0
    np.testing.assert_array_equal(again.gaps.minutes, before.gaps.minutes)
    np.testing.assert_array_equal(again.gaps.flagged, before.gaps.flagged)


def test_removing_a_food_outlet_is_incremental(service: GapService) -> None:
    source = service.source
    assert isinstance(source, MutableSource)
    before = service.lunch_gaps()
    food = source.facilities("food")
    busiest = food[0].id
    source.remove(busiest)
    started = time.perf_counter()
    after = service.lunch_gaps()
    assert time.perf_counter() - started <= 1.0
    assert service.last_update is not None
    assert service.last_update.removed == 1
    assert (after.gaps.outlets_reachable <= before.gaps.outlets_reachable).all()
    fresh_source = MutableSource(DATA)
    fresh_source.remove(busiest)
    full = GapService(fresh_source, DATA).lunch_gaps()
    np.testing.assert_allclose(after.gaps.supply_per_1000, full.gaps.supply_per_1000,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(after.gaps.flagged, full.gaps.flagged)
