"""Check-up routing service: edge checks, drive times per leg, solving, GeoJSON, sample data."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from geo.crs import from_wgs84, to_wgs84
from geo.routing.feasibility import check_checkup_plan
from layers.checkups.request import CheckupRequestError, bookings_from_csv
from layers.checkups.sample import generate_checkup_request
from layers.checkups.service import CheckupResult, CheckupService, route_color
from layers.networks import NetworkService
from layers.registry.service import Registry
from layers.registry.shipped import iter_facilities
from layers.store import open_store

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
SAMPLE = DATA / "samples" / "checkup_week.json"
TIME_LIMIT_S = 1.0
OUTSIDE = (120.30, 30.25)  # Hangzhou


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry holding only the district service centres (the default depots)."""
    path = tmp_path_factory.mktemp("checkups") / "registry.db"
    store = open_store(f"sqlite:///{path}")
    registry = Registry(store, DATA)
    registry.upsert(iter_facilities(DATA, "service_centre"))
    yield registry
    store.close()


@pytest.fixture(scope="module")
def service(registry: Registry) -> CheckupService:
    return CheckupService(registry, NetworkService(registry, DATA / "networks"), n_workers=1)


def _small_request() -> dict[str, Any]:
    """Twelve bookings of the shipped week, two vehicles, two days."""
    week = json.loads(SAMPLE.read_text(encoding="utf-8"))
    request = {k: week[k] for k in ("slots", "depots", "packages", "start_date")}
    request["days"] = 2
    request["vehicles"] = [dict(v, days=[0, 1]) for v in week["vehicles"][:2]]
    request["bookings"] = []
    for b in week["bookings"][:12]:
        b = dict(b)
        if isinstance(b.get("slots"), list) and b["slots"] and isinstance(b["slots"][0], list):
            b.pop("slots")  # keep day-specific slots inside the two days
        request["bookings"].append(b)
    return request


@pytest.fixture(scope="module")
def solved(service: CheckupService) -> CheckupResult:
    prepared = service.check(_small_request())
    return service.solve(prepared, time_limit_s=TIME_LIMIT_S, seed=0)


# ----------------------------------------------------------------------------- end to end
def test_small_shanghai_request_is_feasible_and_accounts_for_every_booking(
    solved: CheckupResult,
) -> None:
    problem, plan = solved.problem, solved.plan
    assert check_checkup_plan(problem, plan, solved.travel.duration_s) == []
    assert solved.violations == []
    assert plan.routes, "nothing planned"
    served: dict[str, int] = {}
    for route in plan.routes:
        for stop in route.stops:
            served[stop.booking_id] = served.get(stop.booking_id, 0) + stop.workers
    missing: dict[str, int] = {}
    for u in plan.unassigned:
        assert u.reason in ("capacity", "time_window", "skill", "unreachable")
        assert u.message
        missing[u.booking_id] = missing.get(u.booking_id, 0) + u.workers
    for b in problem.bookings:
        assert served.get(b.id, 0) + missing.get(b.id, 0) == b.workers, b.id


def test_legs_carry_their_method_and_follow_the_streets(solved: CheckupResult) -> None:
    body = solved.to_dict()
    summary = body["summary"]
    assert summary["feasible"] is True
    n_legs = sum(len(r["stops"]) + 1 for r in body["routes"])
    assert summary["legs_network"] + summary["legs_estimated"] == n_legs
    assert summary["legs_network"] > 0
    assert summary["network"] == "citywide_drive"
    for route in body["routes"]:
        assert len(route["legs"]) == len(route["stops"]) + 1
        for leg in route["legs"]:
            assert leg["method"] in ("network", "estimated")
    routes = [f for f in body["geojson"]["features"] if f["properties"]["kind"] == "route"]
    assert len(routes) == len(body["routes"])
    along = 0
    for feature in routes:
        props = feature["properties"]
        lines = feature["geometry"]["coordinates"]
        assert len(lines) == len(props["leg_methods"])
        for line, method, streets in zip(lines, props["leg_methods"], props["leg_along_streets"],
                                         strict=True):  # fmt: skip
            if method == "estimated":
                assert len(line) == 2
                assert not streets
            along += int(streets and len(line) > 2)
    assert along > 0  # some legs drawn along the road network
    assert len({f["properties"]["color"] for f in routes}) == len(routes)


def test_geojson_stops_are_numbered_with_eta_load_and_name(solved: CheckupResult) -> None:
    body = solved.to_dict()
    stops = [f for f in body["geojson"]["features"] if f["properties"]["kind"] == "stop"]
    assert len(stops) == sum(len(r["stops"]) for r in body["routes"])
    names = {b["id"]: b["name"] for b in _small_request()["bookings"]}
    for route in body["routes"]:
        mine = [f["properties"] for f in stops if f["properties"]["route"] == route["index"]]
        assert [p["seq"] for p in mine] == list(range(1, len(route["stops"]) + 1))
        for p in mine:
            assert p["name"] == names[p["booking"]]
            assert len(p["eta"]) == 5
            assert p["eta"][2] == ":"
            assert p["load_slot"] >= p["workers"] > 0
    depots = [f for f in body["geojson"]["features"] if f["properties"]["kind"] == "depot"]
    assert len(depots) == len(solved.problem.depots)


def test_schedule_and_csv_list_every_stop(solved: CheckupResult) -> None:
    html = solved.schedule_html()
    rows = list(csv.DictReader(io.StringIO(solved.plan_csv())))
    n_stops = sum(len(r.stops) for r in solved.plan.routes)
    assert sum(1 for r in rows if r["status"] == "planned") == n_stops
    assert sum(1 for r in rows if r["status"] == "unassigned") == len(solved.plan.unassigned)
    for route in solved.plan.routes:
        assert route.vehicle_id in html


# ----------------------------------------------------------------------------- edge checks
def test_gcj02_and_bd09_bookings_are_converted_to_wgs84(service: CheckupService) -> None:
    request = _small_request()
    wgs = [(b["lon"], b["lat"]) for b in request["bookings"][:2]]
    request["bookings"][0]["lon"], request["bookings"][0]["lat"] = from_wgs84(*wgs[0], "gcj02")
    request["bookings"][0]["crs"] = "gcj02"
    request["bookings"][1]["lon"], request["bookings"][1]["lat"] = from_wgs84(*wgs[1], "bd09")
    request["bookings"][1]["crs"] = "BD-09"
    prepared = service.check(request)
    for booking, (lon, lat) in zip(prepared.problem.bookings[:2], wgs, strict=True):
        assert booking.lon == pytest.approx(lon, abs=1e-5)
        assert booking.lat == pytest.approx(lat, abs=1e-5)
    given = request["bookings"][0]
    assert abs(given["lon"] - wgs[0][0]) > 1e-3  # the offset was real (hundreds of metres)
    assert prepared.converted == {"gcj02": 1, "bd09": 1}
    assert any("converted to WGS84" in n for n in prepared.notes)
    assert prepared.bookings[given["id"]].crs == "gcj02"


def test_request_level_crs_applies_to_every_point(service: CheckupService) -> None:
    request = _small_request()
    for b in request["bookings"]:
        b["lon"], b["lat"] = from_wgs84(b["lon"], b["lat"], "gcj02")
    request["crs"] = "gcj02"
    prepared = service.check(request)
    lon, _lat = to_wgs84(request["bookings"][3]["lon"], request["bookings"][3]["lat"], "gcj02")
    assert prepared.problem.bookings[3].lon == pytest.approx(lon)
    assert prepared.converted["gcj02"] == len(request["bookings"]) + len(request["depots"])


def test_booking_outside_the_service_area_is_refused_by_name(service: CheckupService) -> None:
    request = _small_request()
    request["bookings"][4].update(lon=OUTSIDE[0], lat=OUTSIDE[1], name="杭州某厂")
    bid = request["bookings"][4]["id"]
    with pytest.raises(CheckupRequestError, match=rf"bookings\[4\] '{bid}' \(杭州某厂\).*outside the service area") as info:
        service.check(request)
    assert info.value.status_code == 422
    assert len(info.value.problems) == 1


def test_every_problem_is_listed_with_its_field_path(service: CheckupService) -> None:
    request = _small_request()
    request["bookings"][0]["time_window"] = ["09:00", "25:70"]
    request["bookings"][1]["package"] = "L9"
    request["vehicles"][0]["shift"] = ["7.30", "17:30"]
    request["bookings"][2].update(lon=OUTSIDE[0], lat=OUTSIDE[1])
    with pytest.raises(CheckupRequestError) as info:
        service.check(request)
    text = info.value.message
    assert "bookings[0].time_window[1]: '25:70' is not a time HH:MM" in text
    assert "bookings[1].package" in text
    assert "'L9'" in text
    assert "vehicles[0].shift[0]: '7.30' is not a time HH:MM" in text
    assert "bookings[2]" in text
    assert "outside the service area" in text
    assert len(info.value.problems) == 4


def test_package_no_vehicle_can_do_is_refused_naming_its_bookings(
    service: CheckupService,
) -> None:
    request = _small_request()
    request["packages"].append({"id": "tumour", "setup_min": 20, "per_worker_min": 4,
                                "skills": ["ct_scanner"]})  # fmt: skip
    request["bookings"][5]["package"] = "tumour"
    bid = request["bookings"][5]["id"]
    with pytest.raises(CheckupRequestError, match=rf"'tumour' needs equipment \['ct_scanner'\].*bookings\[5\] '{bid}'"):
        service.check(request)


def test_non_strict_plans_the_rest_and_gives_every_reason(service: CheckupService) -> None:
    """Explicit matrix (no network): outside → unreachable, no equipment → skill, full → capacity,
    a window the 30-min visit cannot fit in the slot → time_window."""
    depot = {"id": "徐汇区", "name": "徐汇区总工会职工服务中心", "lon": 121.4336, "lat": 31.1730}
    pts = [(121.44, 31.18), (121.45, 31.19), (121.46, 31.18), OUTSIDE, (121.43, 31.20),
           (121.44, 31.17)]  # fmt: skip
    bookings = [
        {"id": "A", "lon": pts[0][0], "lat": pts[0][1], "workers": 30, "package": "L1", "slots": ["AM"]},
        {"id": "B", "lon": pts[1][0], "lat": pts[1][1], "workers": 30, "package": "L1", "slots": ["AM"]},
        {"id": "C", "lon": pts[2][0], "lat": pts[2][1], "workers": 12, "package": "ct", "slots": ["AM"]},
        {"id": "D", "lon": pts[3][0], "lat": pts[3][1], "workers": 12, "package": "L1"},
        {"id": "E", "lon": pts[4][0], "lat": pts[4][1], "workers": 20, "package": "L1",
         "slots": ["PM"], "time_window": ["13:00", "13:05"]},
        {"id": "F", "lon": pts[5][0], "lat": pts[5][1], "workers": 10, "package": "L1",
         "slots": ["PM"], "time_window": ["16:20", "16:30"]},
    ]  # fmt: skip
    n = 1 + len(bookings)
    duration = np.full((n, n), 600.0)
    np.fill_diagonal(duration, 0.0)
    request = {
        "days": 1, "depots": [depot],
        "packages": [{"id": "L1", "setup_min": 10, "per_worker_min": 2},
                     {"id": "ct", "setup_min": 10, "per_worker_min": 2, "skills": ["ct"]}],
        "vehicles": [{"id": "V1", "depot": "徐汇区", "capacity_half_day": 40}],
        "bookings": bookings,
        "matrix": {"duration_s": duration.tolist(), "distance_m": (duration * 8).tolist(),
                   "method": "network"},
    }  # fmt: skip
    with pytest.raises(CheckupRequestError):
        service.check(copy.deepcopy(request))
    prepared = service.check(request, strict=False)
    assert prepared.outside == {"D"}
    result = service.solve(prepared, time_limit_s=TIME_LIMIT_S)
    assert result.violations == []
    reasons = {u.booking_id: u.reason for u in result.plan.unassigned}
    assert reasons["C"] == "skill"
    assert reasons["D"] == "unreachable"
    assert reasons["F"] == "time_window"
    assert sorted(r for b, r in reasons.items() if b in "AB") == ["capacity"]  # one fits
    assert "E" not in reasons  # 13:05 window, 10 min away, vehicle may leave early
    body = result.to_dict()
    assert body["summary"]["unassigned_by_reason"] == {"skill": 1, "unreachable": 1,
                                                       "time_window": 1, "capacity": 1}  # fmt: skip
    unassigned = [f for f in body["geojson"]["features"]
                  if f["properties"]["kind"] == "unassigned"]  # fmt: skip
    assert {f["properties"]["booking"] for f in unassigned} == {"C", "D", "F"} | {
        b for b in "AB" if b in reasons}


def test_default_depots_are_district_service_centres(
    service: CheckupService, registry: Registry
) -> None:
    request = _small_request()
    request.pop("depots")
    request["vehicles"][0]["depot"] = "徐汇区"
    request["vehicles"][1]["depot"] = "浦东新区"
    prepared = service.check(request)
    assert prepared.default_depots
    assert [d.id for d in prepared.problem.depots] == ["徐汇区", "浦东新区"]
    _, centres = registry.serving("service_centre")
    xuhui = next(c for c in centres if c.district == "徐汇区")
    assert prepared.problem.depots[0].lon == pytest.approx(xuhui.lon)
    assert any("市工人疗养院" in note for note in prepared.notes)
    request["vehicles"][1]["depot"] = "sanatorium"
    with pytest.raises(CheckupRequestError, match=r"vehicles\[1\]\.depot: 'sanatorium' is not a district"):
        service.check(request)


def test_bookings_csv_is_read_with_line_numbers() -> None:
    text = (
        "name,address,lon,lat,crs,workers,package,slots,time_window\n"
        "快递站,某路1号,121.47,31.23,gcj02,25,L1,AM,\n"
        "环卫所,,121.48,31.22,,40,L2,0:PM;2023-06-07:AM,13:30-14:30\n"
        "工地,,abc,31.2,,x,L1,noon,\n"
    )
    bookings, problems = bookings_from_csv(text, start_date="2023-06-05")
    assert bookings[0]["id"] == "row-2"
    assert bookings[0]["crs"] == "gcj02"
    assert bookings[0]["slots"] == ["AM"]
    assert bookings[1]["slots"] == [[0, "PM"], [2, "AM"]]
    assert bookings[1]["time_window"] == ["13:30", "14:30"]
    assert "bookings_csv line 4: lon 'abc' is not a number" in problems
    assert "bookings_csv line 4: workers 'x' is not an integer" in problems
    assert any(p.startswith("bookings_csv line 4: slots: 'noon'") for p in problems)
    assert len(problems) == 3


def test_bookings_csv_in_a_request_is_planned_like_a_list(service: CheckupService) -> None:
    request = _small_request()
    rows = ["id,name,address,lon,lat,crs,workers,package,slots"]
    for b in request.pop("bookings")[:4]:
        rows.append(f"{b['id']},{b['name']},,{b['lon']},{b['lat']},,{b['workers']},{b['package']},AM")
    request["bookings_csv"] = "\n".join(rows) + "\n"
    prepared = service.check(request)
    assert len(prepared.problem.bookings) == 4
    assert all(s == "AM" for b in prepared.problem.bookings for _, s in b.slots or ())


# ----------------------------------------------------------------------------- sample data
def test_demo_generator_is_reproducible_and_spread_over_the_districts() -> None:
    one = generate_checkup_request(DATA, n_bookings=48, n_vehicles=6, working_days=10, seed=7,
                                   gcj_share=0.1)  # fmt: skip
    two = generate_checkup_request(DATA, n_bookings=48, n_vehicles=6, working_days=10, seed=7,
                                   gcj_share=0.1)  # fmt: skip
    assert one == two
    assert one["demo"] is True
    assert "DEMO" in one["description"]
    bookings = one["bookings"]
    assert len(bookings) == 48
    assert len({b["district"] for b in bookings}) == 16
    assert all(10 <= b["workers"] <= 120 for b in bookings)
    assert {b["package"] for b in bookings} <= {"L1", "L2", "L3", "L4", "heart", "stroke"}
    assert any(b.get("crs") == "gcj02" for b in bookings)
    assert len(one["vehicles"]) == 6
    assert all(len(v["days"]) == 10 for v in one["vehicles"])
    assert all(d % 7 < 5 for v in one["vehicles"] for d in v["days"])  # weekdays only
    assert any("carotid_ultrasound" in v["skills"] for v in one["vehicles"])
    assert len({v["depot"] for v in one["vehicles"]}) == 3


def test_shipped_week_is_valid_and_demo(service: CheckupService) -> None:
    week = json.loads(SAMPLE.read_text(encoding="utf-8"))
    assert week["demo"] is True
    prepared = service.check(week)
    assert len(prepared.problem.bookings) == len(week["bookings"])


def test_route_colours_are_distinct() -> None:
    colours = [route_color(k) for k in range(60)]
    assert len(set(colours)) == 60
    assert all(len(c) == 7 and c.startswith("#") for c in colours)
