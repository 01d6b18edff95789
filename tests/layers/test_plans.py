"""The planning service on small hand-built Shanghai-like cases with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from geo.coverage.reach import ReachModel
from geo.network.estimate import great_circle_m
from layers.gaps.data import DEFAULT_CALIBRATION
from layers.gaps.service import GapService, ShippedSource
from layers.plans.costs import nearest_open, walking_costs
from layers.plans.service import (
    Demand,
    PlanInfeasibleError,
    PlanRequest,
    PlanRequestError,
    PlanService,
    parse_int_list,
)
from layers.registry.schema import Facility, FacilityStatus
from layers.registry.shipped import DEFAULT_DATA_DIR

LON0, LAT0 = 121.47, 31.23
CROW_MPS = DEFAULT_CALIBRATION.crow_speed_mps
CANDIDATES = ("relay_station", "rest_room")


def point(x_m: float, y_m: float) -> tuple[float, float]:
    """A WGS84 point ``x_m`` east and ``y_m`` north of People's Square."""
    return (LON0 + x_m / (111_320.0 * math.cos(math.radians(LAT0))), LAT0 + y_m / 110_574.0)


def facility(layer: str, key: str, xy: tuple[float, float], district: str,
             status: FacilityStatus = FacilityStatus.ACTIVE, *, demo: bool = False,
             host_type: str | None = None) -> Facility:  # fmt: skip
    lon, lat = point(*xy)
    return Facility(id=f"{layer}:{key}", layer=layer, name=f"{layer} {key}", district=district,
                    lon=lon, lat=lat, status=status, source="test", demo=demo,
                    host_type=host_type)  # fmt: skip


class DictSource:
    """Facilities from a dict, one fixed version (like the shipped files)."""

    def __init__(self, facilities: list[Facility]) -> None:
        self.by_layer: dict[str, list[Facility]] = {}
        for f in facilities:
            self.by_layer.setdefault(f.layer, []).append(f)

    def version(self, layer: str) -> object:
        return 0

    def facilities(self, layer: str) -> list[Facility]:
        return list(self.by_layer.get(layer, []))


def demand_at(xy: list[tuple[float, float]], workers: list[float],
              districts: list[str] | None = None) -> Demand:  # fmt: skip
    lon, lat = np.array([point(*p) for p in xy]).T
    n = len(xy)
    return Demand(
        id=np.array([f"wp{i}" for i in range(n)]), name=np.array([f"园区 {i}" for i in range(n)],
        dtype=object), district=np.array(districts or ["黄浦区"] * n, dtype=object),
        lon=lon, lat=lat, workers=np.asarray(workers, dtype=float),
        reach=ReachModel(lon, lat, None, [], DEFAULT_CALIBRATION),
    )  # fmt: skip


def minutes_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lon1, lat1), (lon2, lat2) = point(*a), point(*b)
    return float(great_circle_m(np.array([lon1]), np.array([lat1]), np.array([lon2]),
                                np.array([lat2]))[0]) / CROW_MPS / 60.0  # fmt: skip


# ------------------------------------------------------------------- a line of workplaces
# Workplaces every 2 km along a street; 15 min at 0.96 m/s is 864 m.
LINE_WP = [(2000.0 * k, 0.0) for k in range(6)]
LINE_WORKERS = [100, 200, 300, 400, 500, 600]


def line_service(extra: list[Facility] | None = None) -> PlanService:
    facilities = [
        facility("health_point", "old", (0.0, 100.0), "黄浦区"),
        facility("health_point", "new2023", (2000.0, 100.0), "黄浦区", FacilityStatus.NEW),
        facility("health_point", "closed", (4000.0, 100.0), "徐汇区", FacilityStatus.CLOSED),
        facility("relay_station", "r0", (0.0, -50.0), "黄浦区"),
        facility("relay_station", "r2", (4000.0, -50.0), "徐汇区"),
        facility("relay_station", "r3", (6000.0, -50.0), "徐汇区"),
        facility("rest_room", "s4", (8000.0, -50.0), "长宁区"),
        facility("rest_room", "s5", (10000.0, -50.0), "长宁区"),
        *(extra or []),
    ]
    return PlanService(DictSource(facilities), demand_at(LINE_WP, LINE_WORKERS))


def test_existing_sites_include_new_and_upgraded_points_and_stay_open() -> None:
    service = line_service()
    result = service.solve(PlanRequest(layer="health_point", candidates=CANDIDATES, n_new=1))
    existing = {s["id"] for s in result.existing}
    assert existing == {"health_point:old", "health_point:new2023"}  # closed is not serving
    s = result.summary
    assert s["status"] == "optimal"
    assert s["workers_covered_before"] == 100 + 200
    # one new site: the largest workplace not yet covered (600 workers at 10 km)
    assert [site["id"] for site in result.sites] == ["rest_room:s5"]
    assert s["objective"] == 100 + 200 + 600
    assert s["workers_newly_covered"] == 600
    assert [w["id"] for w in result.workplaces] == ["wp5"]
    assert result.workplaces[0]["site_id"] == "rest_room:s5"
    assert result.workplaces[0]["method"] == "estimated"
    assert result.workplaces[0]["minutes"] == pytest.approx(minutes_between((10000, 0), (10000, -50)), abs=0.05)


def test_candidate_beside_an_existing_site_is_worthless() -> None:
    result = line_service().solve(PlanRequest(candidates=CANDIDATES, n_new=2))
    chosen = {site["id"] for site in result.sites}
    assert "relay_station:r0" not in chosen  # wp0 is already covered by health_point:old
    assert chosen == {"rest_room:s5", "rest_room:s4"}
    assert result.summary["workers_newly_covered"] == 500 + 600


def test_district_minimum_and_maximum_hold() -> None:
    service = line_service()
    result = service.solve(PlanRequest(candidates=CANDIDATES, n_new=3, district_min=1))
    per_district = {row["district"]: row["new_sites"] for row in result.districts}
    assert per_district["黄浦区"] >= 1
    assert per_district["徐汇区"] >= 1
    assert per_district["长宁区"] >= 1
    # 黄浦区's only candidate is r0 (worthless), forced in by the minimum
    assert "relay_station:r0" in {s["id"] for s in result.sites}
    capped = service.solve(PlanRequest(candidates=CANDIDATES, n_new=3, district_max=1))
    assert max(row["new_sites"] for row in capped.districts) <= 1
    assert capped.summary["objective"] == 100 + 200 + 400 + 600 + 0  # r2/r3 one only


def test_budget_holds_and_is_refused_with_the_numbers() -> None:
    service = line_service()
    ok = service.solve(PlanRequest(candidates=CANDIDATES, n_new=3, budget_yuan=45_000))
    assert ok.summary["spent_yuan"] == 45_000 <= 45_000
    with pytest.raises(PlanInfeasibleError, match=r"budget 40000 < 45000"):
        service.check(PlanRequest(candidates=CANDIDATES, n_new=3, budget_yuan=40_000))


@pytest.mark.parametrize(
    ("request_", "pattern"),
    [
        (PlanRequest(candidates=CANDIDATES, n_new=2, district_min=1),
         r"district minimums add up to 3 new sites > 2 new sites requested"),
        (PlanRequest(candidates=CANDIDATES, n_new=9), r"9 new sites requested but only 5"),
        (PlanRequest(layer="nope", candidates=CANDIDATES), r"unknown layer 'nope'"),
        (PlanRequest(candidates=()), r"candidates is empty"),
        (PlanRequest(candidates=("health_point",)), r"cannot also be a candidate"),
        (PlanRequest(candidates=("fitness_station",)), r"no located, serving facility"),
        (PlanRequest(candidates=CANDIDATES, max_minutes=0), r"max_minutes must be above 0"),
        (PlanRequest(candidates=CANDIDATES, n_new=3, district_min=2, district_max=1),
         r"district_max 1 < district_min 2"),
        (PlanRequest(candidates=CANDIDATES, n_new=2, n_upgrade=1, budget_yuan=5_000),
         r"budget 5,000 < 10,000, the cost of 1 upgrades"),
        (PlanRequest(candidates=CANDIDATES, n_new=1, n_upgrade=2),
         r"2 upgrades requested but only 1 existing point\(s\) to upgrade"),
    ],
)  # fmt: skip
def test_bad_requests_are_refused_up_front(request_: PlanRequest, pattern: str) -> None:
    with pytest.raises(PlanRequestError, match=pattern) as info:
        line_service().check(request_)
    assert info.value.status_code == 422


def test_a_district_without_candidates_is_refused() -> None:
    extra = [facility("health_point", "far", (0.0, 3000.0), "崇明区")]
    with pytest.raises(PlanInfeasibleError, match=r"1 district\(s\) have no candidate.*崇明区"):
        line_service(extra).check(PlanRequest(candidates=CANDIDATES, n_new=3, district_min=1))


def test_upgrades_pick_the_best_existing_point() -> None:
    extra = [facility("health_point", "busy", (6000.0, 80.0), "徐汇区")]
    result = line_service(extra).solve(
        PlanRequest(candidates=CANDIDATES, n_new=1, n_upgrade=1, budget_yuan=25_000)
    )
    assert [u["id"] for u in result.upgrades] == ["health_point:busy"]  # 400 workers > 100
    assert result.summary["upgrade"]["status"] == "optimal"
    assert result.summary["spent_yuan"] == 25_000


# ---------------------------------------------------------------- brute force, random case
def random_case(seed: int) -> tuple[PlanService, list[Facility], Demand]:
    rng = np.random.default_rng(seed)
    wp = [tuple(p) for p in rng.uniform(0, 3000, size=(18, 2))]
    workers = rng.integers(50, 2000, size=18).astype(float)
    districts = ("黄浦区", "徐汇区", "长宁区")
    facilities = [facility("health_point", f"h{k}", tuple(rng.uniform(0, 3000, 2)), districts[k])
                  for k in range(2)]  # fmt: skip
    for k in range(8):
        xy = tuple(rng.uniform(0, 3000, 2))
        layer = CANDIDATES[k % 2]
        facilities.append(facility(layer, f"c{k}", xy, districts[int(xy[0] // 1000)]))
    demand = demand_at(wp, list(workers))
    return PlanService(DictSource(facilities), demand), facilities, demand


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mclp_equals_brute_force_through_the_cost_path(seed: int) -> None:
    service, _, demand = random_case(seed)
    request = PlanRequest(candidates=CANDIDATES, n_new=3, max_minutes=15, district_min=1)
    sites = service.check(request)
    costs = service.costs(request, sites)
    best = -1.0
    for combo in itertools.combinations(sites.candidates.tolist(), 3):
        districts = {sites.facilities[j].district for j in combo}
        have = {sites.facilities[j].district for j in sites.candidates.tolist()}
        if districts != have:
            continue
        reach = nearest_open(costs, np.r_[sites.existing, list(combo)])
        best = max(best, float(demand.workers[reach.minutes <= 15].sum()))
    result = service.solve(request)
    assert result.summary["status"] == "optimal"
    assert result.summary["objective"] == pytest.approx(best)
    assert result.summary["workers_covered_after"] == pytest.approx(best, abs=1)


def test_costs_are_sparse_estimates_within_the_cutoff() -> None:
    _, _, demand = random_case(4)
    sites_xy = [(0.0, 0.0), (1500.0, 1500.0), (3000.0, 3000.0)]
    lon, lat = np.array([point(*p) for p in sites_xy]).T
    costs = walking_costs(demand.reach, lon, lat, 10.0)
    assert costs.shape == (18, 3)
    assert costs.n_pairs < 18 * 3
    assert (costs.minutes.data <= 10.0).all()
    assert costs.method_counts()["estimated"] == costs.n_pairs
    coo = costs.minutes.tocoo()
    expect = great_circle_m(demand.lon[coo.row], demand.lat[coo.row], lon[coo.col],
                            lat[coo.col]) / CROW_MPS / 60.0  # fmt: skip
    np.testing.assert_allclose(coo.data, expect, rtol=1e-9)
    full = great_circle_m(np.repeat(demand.lon, 3), np.repeat(demand.lat, 3), np.tile(lon, 18),
                          np.tile(lat, 18)) / CROW_MPS / 60.0  # fmt: skip
    assert int((full <= 10.0).sum()) == costs.n_pairs  # nothing within the cutoff is missed


def test_curve_is_monotone_non_decreasing() -> None:
    service, _, _ = random_case(5)
    result = service.solve(PlanRequest(candidates=CANDIDATES, n_new=2, curve=(0, 1, 2, 3, 4, 5)))
    values = [p["workers_covered"] for p in result.curve]
    assert [p["n_new"] for p in result.curve] == [0, 1, 2, 3, 4, 5]
    assert all(p["status"] == "optimal" for p in result.curve)
    assert values == sorted(values)
    assert values[0] == result.summary["workers_covered_before"]
    assert values[2] == result.summary["objective"]


def test_curve_marks_points_below_the_district_minimum_infeasible() -> None:
    result = line_service().solve(
        PlanRequest(candidates=CANDIDATES, n_new=3, district_min=1, curve=(2, 3))
    )
    assert result.curve[0]["status"] == "infeasible"
    assert "3 new sites > 2" in result.curve[0]["reason"]
    assert result.curve[1]["workers_covered"] == result.summary["objective"]


def test_pmedian_and_lscp() -> None:
    service = line_service()
    pmedian = service.solve(PlanRequest(model="pmedian", candidates=CANDIDATES, n_new=1,
                                        max_minutes=15, horizon_minutes=30))  # fmt: skip
    # 600 workers at 10 km gain the most worker-minutes (each workplace is 2 km from the next)
    assert [s["id"] for s in pmedian.sites] == ["rest_room:s5"]
    assert pmedian.summary["objective_unit"].startswith("worker-minutes")
    assert pmedian.summary["mean_minutes_after"] < pmedian.summary["mean_minutes_before"]
    lscp = service.solve(PlanRequest(model="lscp", candidates=CANDIDATES, n_new=None))
    assert lscp.summary["status"] == "optimal"
    assert lscp.summary["objective"] == 4  # wp2..wp5 each need their own site
    assert lscp.summary["workers_covered_after"] == sum(LINE_WORKERS)


def test_parse_int_list() -> None:
    assert parse_int_list("20, 5,5,0") == (0, 5, 20)
    assert parse_int_list(None) == ()
    with pytest.raises(PlanRequestError, match="comma-separated integers"):
        parse_int_list("5,x")


def test_shipped_city_uses_network_times_in_the_centre() -> None:
    gaps = GapService(ShippedSource(DEFAULT_DATA_DIR), DEFAULT_DATA_DIR)
    service = PlanService.from_gap_service(gaps)
    result = service.solve(PlanRequest(candidates=("service_centre", "training_site"), n_new=2,
                                       max_minutes=15, time_limit_s=30))  # fmt: skip
    s = result.summary
    assert s["status"] == "optimal"
    assert s["costs"]["methods"]["network"] > 0
    assert s["costs"]["methods"]["estimated"] > 0
    assert s["n_existing"] == 0  # the shipped health points are demonstration data
    assert s["existing_demo_left_out"] == 152
    assert s["workers_covered_after"] == s["workers_covered_before"] + s["workers_newly_covered"]
    assert sum(r["newly_covered"] for r in result.districts) == s["workers_newly_covered"]
    assert len(result.sites) == 2
