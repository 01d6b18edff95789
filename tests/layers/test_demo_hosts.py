"""Demonstration records are not coverage unless asked; host types limit the candidates."""

from __future__ import annotations

import numpy as np
import pytest

from layers.gaps.service import GapService
from layers.plans.hosts import EXCLUDED_BY_DEFAULT, host_type_rows
from layers.plans.service import PlanRequest, PlanRequestError, PlanService
from layers.registry.schema import Facility, FacilityStatus
from layers.registry.shipped import DEFAULT_DATA_DIR
from tests.layers.test_gaps import MutableSource
from tests.layers.test_plans import LINE_WORKERS, DictSource, demand_at, facility

DATA = DEFAULT_DATA_DIR


# ------------------------------------------------------------------------------ planning
def hosts_service(*, demo_existing: bool) -> PlanService:
    """Workplaces at 0, 2, ..., 10 km; one existing point at 0 km; candidates of three kinds.

    The toilet at 10 km is the best host (600 workers); the bank at 8 km the next best.
    """
    facilities = [
        facility("health_point", "old", (0.0, 100.0), "黄浦区", demo=demo_existing),
        facility("relay_station", "bank", (8000.0, -50.0), "长宁区", host_type="bank"),
        facility("relay_station", "wc", (10000.0, -50.0), "长宁区", host_type="toilet"),
        facility("relay_station", "shop", (4000.0, -50.0), "徐汇区", host_type="convenience"),
        facility("relay_station", "none", (6000.0, -50.0), "徐汇区"),
    ]
    xy = [(2000.0 * k, 0.0) for k in range(6)]
    return PlanService(DictSource(facilities), demand_at(xy, LINE_WORKERS))


def test_toilets_are_not_health_point_hosts_by_default() -> None:
    service = hosts_service(demo_existing=False)
    result = service.solve(PlanRequest(candidates=("relay_station",), n_new=1))
    assert [s["id"] for s in result.sites] == ["relay_station:bank"]
    assert result.summary["candidates_left_out_by_host_type"] == {"toilet": 1}
    assert result.summary["n_candidates"] == 3  # bank, convenience, unspecified
    assert "toilet" not in result.summary["host_types"]
    allowed = service.solve(PlanRequest(candidates=("relay_station",), n_new=1,
                                        host_types=("toilet", "bank")))  # fmt: skip
    assert [s["id"] for s in allowed.sites] == ["relay_station:wc"]
    assert allowed.summary["candidates_left_out_by_host_type"] == {"convenience": 1,
                                                                   "unspecified": 1}  # fmt: skip
    assert allowed.request["host_types"] == ["bank", "toilet"]
    # another planned layer has no default exclusion of toilets
    rest = service.sites(PlanRequest(layer="rest_room", candidates=("relay_station",)))
    assert rest.host_types_left_out == {}


@pytest.mark.parametrize(
    ("host_types", "pattern"),
    [(("loo",), r"unknown host type\(s\) 'loo'; valid host types: bank"),
     ((), "host_types is empty"),
     (("toilet",), r"no located, serving facility .* \(left out: bank 1")],
)  # fmt: skip
def test_bad_host_types_are_refused(host_types: tuple[str, ...], pattern: str) -> None:
    service = hosts_service(demo_existing=False)
    if host_types == ("toilet",):  # a valid type no candidate of these layers carries
        service = PlanService(DictSource([
            facility("relay_station", "bank", (0.0, 0.0), "黄浦区", host_type="bank")]),
            demand_at([(0.0, 0.0)], [10]))  # fmt: skip
    with pytest.raises(PlanRequestError, match=pattern) as caught:
        service.check(PlanRequest(candidates=("relay_station",), n_new=1, host_types=host_types))
    assert caught.value.status_code == 422


def test_demo_points_are_not_existing_sites_unless_asked() -> None:
    service = hosts_service(demo_existing=True)
    default = service.solve(PlanRequest(candidates=("relay_station",), n_new=1))
    assert default.existing == []
    assert default.summary["existing_demo_left_out"] == 1
    assert default.summary["workers_covered_before"] == 0
    counted = service.solve(PlanRequest(candidates=("relay_station",), n_new=1, include_demo=True))
    assert [e["id"] for e in counted.existing] == ["health_point:old"]
    assert counted.summary["existing_demo_left_out"] == 0
    assert counted.summary["workers_covered_before"] == LINE_WORKERS[0]
    real = hosts_service(demo_existing=False).solve(PlanRequest(candidates=("relay_station",),
                                                                n_new=1))  # fmt: skip
    assert [e["id"] for e in real.existing] == ["health_point:old"]  # real points always count


def test_host_type_rows_name_and_flag_each_type() -> None:
    rows = hosts_service(demo_existing=False).host_types("health_point", ("relay_station",))
    table = {r["id"]: r for r in host_type_rows("health_point", rows)}
    assert set(table) == {"bank", "toilet", "convenience", "unspecified"}
    assert table["toilet"]["default_allowed"] is False
    assert table["toilet"]["name_zh"] == "公共厕所"
    assert table["bank"]["default_allowed"] is True
    assert table["bank"]["count"] == 1
    assert {"toilet", "fuel"} <= EXCLUDED_BY_DEFAULT["health_point"]


# ------------------------------------------------------------------------------- gaps
def _point(fid: str, lon: float, lat: float, *, demo: bool) -> Facility:
    return Facility(id=f"health_point:{fid}", layer="health_point", name="测试健康服务点",
                    lon=lon, lat=lat, source="test", status=FacilityStatus.NEW, demo=demo)


@pytest.fixture(scope="module")
def gaps() -> GapService:
    return GapService(MutableSource(DATA), DATA)


def test_demo_health_points_count_only_with_include_demo(gaps: GapService) -> None:
    source = gaps.source
    assert isinstance(source, MutableSource)
    before = gaps.medical_gaps()
    supply = {s.layer: s for s in before.supply}
    assert supply["health_point"].counted == 0  # every shipped health point is a demo record
    assert supply["health_point"].demo_left_out == 152
    assert before.demo_left_out == 152
    assert supply["hospital"].counted > 0
    assert supply["hospital"].demo_left_out == 0
    shipped = gaps.medical_gaps(include_demo=True)
    assert shipped.include_demo
    assert shipped.demo_left_out == 0
    assert shipped.n_flagged < before.n_flagged
    target = int(np.flatnonzero(before.gaps.flagged & shipped.gaps.flagged)[0])
    wp = gaps.workplaces
    demo = _point("test-demo", float(wp.lon[target]), float(wp.lat[target]), demo=True)
    source.add(demo)
    assert gaps.medical_gaps().gaps.flagged[target]  # a demo point is no medical resource
    with_demo = gaps.medical_gaps(include_demo=True)
    assert not with_demo.gaps.flagged[target]
    assert with_demo.nearest[target] is not None
    assert with_demo.nearest[target].id == demo.id
    real = _point("test-real", float(wp.lon[target]), float(wp.lat[target]), demo=False)
    source.add(real)
    after = gaps.medical_gaps()
    assert not after.gaps.flagged[target]  # real points always count
    assert after.nearest[target] is not None
    assert after.nearest[target].id == real.id
    assert {s.layer: s.counted for s in after.supply}["health_point"] == 1
    source.remove(demo.id)
    source.remove(real.id)
    np.testing.assert_array_equal(gaps.medical_gaps().gaps.flagged, before.gaps.flagged)
