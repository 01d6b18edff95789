"""The check-up problem model: feasibility, reasons for unassigned bookings, lateness, I/O."""

from __future__ import annotations

import numpy as np
import pytest

from geo.routing.checkup import (
    Booking,
    CheckupProblem,
    Depot,
    Package,
    Vehicle,
    estimate_matrices,
    solve_checkup,
)
from geo.routing.checkup_io import plan_to_csv, plan_to_dict, plan_to_html, problem_from_dict
from geo.routing.errors import ProblemValidationError
from geo.routing.feasibility import check_checkup_plan

H = 3600
PACKAGES = (
    Package("L1", setup_s=600, per_worker_s=180),
    Package("L4", setup_s=900, per_worker_s=300),
    Package("XRAY", setup_s=900, per_worker_s=240, skills=frozenset({"xray"})),
    Package("MRI", setup_s=900, per_worker_s=240, skills=frozenset({"mri"})),
)
DEPOT = Depot("sanatorium", 121.44, 31.20, "市工人疗养院")


def random_problem(seed: int, n_bookings: int = 24, n_days: int = 3) -> CheckupProblem:
    rng = np.random.default_rng(seed)
    bookings = []
    for i in range(n_bookings):
        day = int(rng.integers(0, n_days))
        slots = ((day, "AM"), (day, "PM"), ((day + 1) % n_days, str(rng.choice(["AM", "PM"]))))
        window = (9 * H, 10 * H + 1800) if i % 6 == 0 else None
        bookings.append(
            Booking(
                id=f"B{i:02d}",
                lon=121.44 + float(rng.normal(0, 0.06)),
                lat=31.20 + float(rng.normal(0, 0.05)),
                workers=int(rng.integers(4, 30)),
                package_id=str(rng.choice(["L1", "L4", "XRAY"])),
                slots=slots,
                window_s=window,
                soft=i % 12 == 0,
                priority=1 + i % 3,
            )
        )
    vehicles = (
        Vehicle("V1", "sanatorium", 40, 70, skills=frozenset({"xray"})),
        Vehicle("V2", "sanatorium", 35, 60, days=(0, 1)),
        Vehicle("V3", "sanatorium", 40, 80, shift_start_s=8 * H, shift_end_s=17 * H),
    )
    return CheckupProblem((DEPOT,), vehicles, PACKAGES, tuple(bookings), n_days=n_days)


@pytest.mark.parametrize("seed", [0, 1])
def test_plan_is_feasible_and_nothing_is_dropped(seed: int) -> None:
    problem = random_problem(seed)
    duration_s, distance_m = estimate_matrices(problem)
    plan = solve_checkup(problem, duration_s, distance_m, time_limit_s=2.0, seed=0, n_workers=1)
    assert check_checkup_plan(problem, plan, duration_s) == []
    assert plan.routes
    assert plan.served_workers + sum(u.workers for u in plan.unassigned) == plan.total_workers
    for u in plan.unassigned:
        assert u.reason in {"capacity", "time_window", "skill", "unreachable"}
        assert u.message


def test_every_reason_is_given_with_numbers() -> None:
    far = np.full((6, 6), 600.0)
    np.fill_diagonal(far, 0.0)
    far[0, 4] = far[4, 0] = np.inf  # booking 3 (matrix row 4) cannot be reached
    bookings = (
        Booking("ok", 121.45, 31.21, 10, "L1", slots=((0, "AM"),)),
        Booking("mri", 121.46, 31.21, 10, "MRI", slots=((0, "AM"),)),
        Booking("long", 121.47, 31.21, 20, "L4", slots=((0, "PM"),), window_s=(16 * H, 16 * H)),
        Booking("island", 122.40, 30.70, 5, "L1", slots=((0, "PM"),)),
        Booking("huge", 121.48, 31.22, 90, "L1", slots=((0, "AM"),)),
    )
    problem = CheckupProblem(
        (DEPOT,),
        (Vehicle("V1", "sanatorium", 40, 60),),
        PACKAGES,
        bookings,
        n_days=1,
        split_large=False,
    )
    plan = solve_checkup(problem, far, far * 10, time_limit_s=1.0, seed=0, n_workers=1)
    reasons = {u.booking_id: u for u in plan.unassigned}
    assert set(reasons) == {"mri", "long", "island", "huge"}
    assert reasons["mri"].reason == "skill"
    assert "mri" in reasons["mri"].message
    assert reasons["long"].reason == "time_window"
    assert "115 min" in reasons["long"].message
    assert reasons["island"].reason == "unreachable"
    assert reasons["huge"].reason == "capacity"
    assert "90 workers > 40" in reasons["huge"].message
    assert check_checkup_plan(problem, plan, far) == []


def test_large_booking_is_split_into_parts() -> None:
    bookings = (Booking("big", 121.45, 31.21, 100, "L1"),)
    vehicles = (Vehicle("V1", "sanatorium", 40, 80), Vehicle("V2", "sanatorium", 40, 80))
    problem = CheckupProblem((DEPOT,), vehicles, PACKAGES, bookings, n_days=2)
    duration_s, distance_m = estimate_matrices(problem)
    plan = solve_checkup(problem, duration_s, distance_m, time_limit_s=1.0, seed=0, n_workers=1)
    parts = [s for r in plan.routes for s in r.stops]
    assert sum(s.workers for s in parts) == 100
    assert {s.n_parts for s in parts} == {3}
    assert max(s.workers for s in parts) <= 40
    assert check_checkup_plan(problem, plan, duration_s) == []


def test_soft_window_reports_lateness() -> None:
    # the depot is 45 min away and the shift starts at 08:00: the 08:00–08:10 window is missed
    duration_s = np.array([[0.0, 2700.0], [2700.0, 0.0]])
    soft = Booking(
        "soft", 121.5, 31.3, 10, "L1", slots=((0, "AM"),), window_s=(8 * H, 8 * H + 600), soft=True
    )
    vehicle = Vehicle("V1", "sanatorium", 40, 60, shift_start_s=8 * H)
    problem = CheckupProblem((DEPOT,), (vehicle,), PACKAGES, (soft,), n_days=1)
    plan = solve_checkup(problem, duration_s, duration_s * 8, time_limit_s=0.5, n_workers=1)
    (stop,) = plan.routes[0].stops
    assert stop.lateness_s == pytest.approx(2100.0)
    assert check_checkup_plan(problem, plan, duration_s) == []
    hard = CheckupProblem(
        (DEPOT,),
        (vehicle,),
        PACKAGES,
        (soft.__class__(**{**soft.__dict__, "soft": False}),),
        n_days=1,
    )
    plan_hard = solve_checkup(hard, duration_s, duration_s * 8, time_limit_s=0.5, n_workers=1)
    assert [u.reason for u in plan_hard.unassigned] == ["time_window"]


def test_capacity_reason_when_the_fleet_is_full() -> None:
    bookings = tuple(
        Booking(f"B{i}", 121.45, 31.21 + i / 1000, 30, "L1", slots=((0, "AM"),)) for i in range(3)
    )
    problem = CheckupProblem(
        (DEPOT,), (Vehicle("V1", "sanatorium", 40, 60),), PACKAGES, bookings, n_days=1
    )
    duration_s, distance_m = estimate_matrices(problem)
    plan = solve_checkup(problem, duration_s, distance_m, time_limit_s=0.5, n_workers=1)
    assert plan.served_workers == 30
    assert [u.reason for u in plan.unassigned] == ["capacity", "capacity"]
    assert check_checkup_plan(problem, plan, duration_s) == []


def test_validation_lists_every_problem() -> None:
    request = {
        "days": 2,
        "depots": [{"id": "D", "lon": 121.4, "lat": 31.2}],
        "packages": [{"id": "L1", "setup_min": 10, "per_worker_min": 3}],
        "vehicles": [
            {"id": "V", "depot": "nowhere", "capacity_half_day": 40, "shift": ["07:30", "25:99"]}
        ],
        "bookings": [
            {"id": "B1", "lon": 121.5, "lat": 31.2, "workers": 10, "package": "L9"},
            {
                "id": "B2",
                "lon": 121.5,
                "lat": 31.2,
                "workers": "ten",
                "package": "L1",
                "time_window": ["10:00", "09:00"],
                "slots": [[0, "EVENING"]],
            },
        ],
    }
    with pytest.raises(ProblemValidationError) as info:
        problem_from_dict(request)
    text = info.value.message
    assert "vehicles[0].shift[1]: '25:99' is not a time HH:MM" in text
    assert "bookings[1].workers: 'ten' is not a number" in text
    assert "10:00 is after 09:00" in text
    assert "'EVENING'" in text
    assert info.value.status_code == 422
    request["vehicles"][0]["shift"] = ["07:30", "17:30"]
    request["bookings"] = request["bookings"][:1]
    with pytest.raises(ProblemValidationError, match="unknown package 'L9'") as info:
        problem_from_dict(request)
    assert "unknown depot 'nowhere'" in info.value.message


def test_outputs_are_consistent() -> None:
    problem = random_problem(5, n_bookings=8, n_days=2)
    plan = solve_checkup(problem, time_limit_s=1.0, n_workers=1)
    data = plan_to_dict(plan)
    n_stops = sum(len(r["stops"]) for r in data["routes"])
    csv_rows = plan_to_csv(plan).strip().splitlines()
    assert len(csv_rows) == 1 + n_stops + len(plan.unassigned)
    assert plan_to_html(plan, problem).count("<section>") == len(plan.routes) + bool(
        plan.unassigned
    )


_WRONG_TYPES = (5, "x", None, True, [1], {"a": 1}, 1.5e308, [None], [[]])


def _valid_request() -> dict:
    return {
        "days": 2, "slots": {"AM": ["08:00", "11:30"], "PM": ["13:00", "16:30"]},
        "depots": [{"id": "D", "lon": 121.4, "lat": 31.2, "name": "d"}],
        "packages": [{"id": "L1", "setup_min": 10, "per_worker_min": 3, "skills": []}],
        "vehicles": [{"id": "V", "depot": "D", "capacity_half_day": 40, "count": 1,
                      "shift": ["07:30", "17:30"], "skills": [], "days": [0, 1]}],
        "bookings": [{"id": "B1", "lon": 121.5, "lat": 31.2, "workers": 10, "package": "L1",
                      "slots": [[0, "AM"]], "time_window": ["09:00", "10:00"], "soft": False,
                      "priority": 1, "name": "b"}],
    }


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


def test_a_wrong_type_anywhere_is_a_listed_problem_never_a_crash() -> None:
    """Every field of a valid request replaced by every wrong type: a clean refusal or a
    valid problem, never AttributeError/TypeError (the fuzzing finds of POST /routes)."""
    import copy

    for path in _paths(_valid_request()):
        for wrong in _WRONG_TYPES:
            request = copy.deepcopy(_valid_request())
            target = request
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = wrong
            message = "valid"
            try:
                problem_from_dict(request)
            except ProblemValidationError as error:
                message = error.message
            assert 0 < len(message) < 5000
