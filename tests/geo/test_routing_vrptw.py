"""The VRPTW core against exhaustive enumeration, and the independent checker."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from geo.routing.errors import ProblemValidationError
from geo.routing.feasibility import check_vrptw
from geo.routing.vrptw import RoutePlan, VehicleType, VrptwProblem, solve_vrptw


def make_problem(seed: int, n: int = 7, n_vehicles: int = 3) -> VrptwProblem:
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 50, size=(n + 1, 2)).astype(float)
    dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    early = rng.integers(0, 120, size=n).astype(float)
    return VrptwProblem(
        distance=dist,
        duration=dist,
        client_location=np.arange(1, n + 1),
        demand=rng.integers(1, 10, size=(n, 1)),
        tw_early=early,
        tw_late=early + rng.integers(30, 90, size=n),
        service=np.full(n, 5.0),
        vehicle_types=(VehicleType(count=n_vehicles, capacity=(20,), depot=0, tw_late=400.0),),
        name=f"random{seed}",
    )


def route_cost(p: VrptwProblem, order: tuple[int, ...]) -> float:
    """Distance of a single route, or inf when infeasible (same rules as the checker)."""
    vt = p.vehicle_types[0]
    if p.demand[list(order), 0].sum() > vt.capacity[0]:
        return math.inf
    t, prev, dist = vt.tw_early, vt.depot, 0.0
    for c in order:
        loc = int(p.client_location[c])
        t = max(t + p.duration[prev, loc], p.tw_early[c])
        if t > p.tw_late[c]:
            return math.inf
        dist += p.distance[prev, loc]
        t += p.service[c]
        prev = loc
    if t + p.duration[prev, vt.depot] > vt.tw_late:
        return math.inf
    return dist + p.distance[prev, vt.depot]


def exhaustive_optimum(p: VrptwProblem) -> float:
    """Optimal distance by enumerating every route of every subset, then set partitions."""
    n = p.n_clients
    best_route = {}
    for mask in range(1, 1 << n):
        members = [c for c in range(n) if mask >> c & 1]
        best_route[mask] = min(route_cost(p, perm) for perm in itertools.permutations(members))
    k_max = p.vehicle_types[0].count
    full = (1 << n) - 1
    # dp[k][mask]: cheapest cover of mask by k routes, the route holding the lowest client first
    dp = [dict.fromkeys(range(1 << n), math.inf) for _ in range(k_max + 1)]
    dp[0][0] = 0.0
    for k in range(1, k_max + 1):
        for mask in range(1, 1 << n):
            low = mask & -mask
            sub = mask
            while sub:
                if sub & low and best_route[sub] < math.inf:
                    dp[k][mask] = min(dp[k][mask], dp[k - 1][mask ^ sub] + best_route[sub])
                sub = (sub - 1) & mask
    return min(dp[k][full] for k in range(k_max + 1))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_exhaustive_enumeration(seed: int) -> None:
    problem = make_problem(seed)
    optimum = exhaustive_optimum(problem)
    assert math.isfinite(optimum)
    sol = solve_vrptw(problem, time_limit_s=1.0, seed=0, n_workers=1)
    assert check_vrptw(problem, sol.routes) == []
    assert sol.unassigned == []
    assert sol.distance == pytest.approx(optimum, abs=1e-3)


def test_portfolio_of_two_processes_is_optimal_and_feasible() -> None:
    problem = make_problem(7, n=8)
    optimum = exhaustive_optimum(problem)
    sol = solve_vrptw(problem, time_limit_s=1.5, seed=3, n_workers=2)
    assert check_vrptw(problem, sol.routes) == []
    assert sol.distance == pytest.approx(optimum, abs=1e-3)
    assert sol.runtime_s < 2.5


def test_skills_are_respected() -> None:
    base = make_problem(4, n=6)
    forbidden = frozenset({0, 1, 2})
    problem = VrptwProblem(
        **{
            **base.__dict__,
            "vehicle_types": (
                VehicleType(count=2, capacity=(20,), depot=0, tw_late=400.0, forbidden=forbidden),
                VehicleType(count=2, capacity=(20,), depot=0, tw_late=400.0),
            ),
        }
    )
    sol = solve_vrptw(problem, time_limit_s=1.0, seed=0, n_workers=1)
    assert check_vrptw(problem, sol.routes) == []
    assert sol.unassigned == []
    for r in sol.routes:
        if r.vehicle_type == 0:
            assert not set(r.clients) & forbidden


def test_group_serves_at_most_one_alternative() -> None:
    # client 0 and 1 are two alternatives (same place, different windows) of one visit
    dist = np.array([[0.0, 10.0, 10.0], [10.0, 0.0, 14.0], [10.0, 14.0, 0.0]])
    problem = VrptwProblem(
        distance=dist,
        duration=dist,
        client_location=np.array([1, 1, 2]),
        demand=np.array([[1], [1], [1]]),
        tw_early=np.array([0.0, 100.0, 0.0]),
        tw_late=np.array([5.0, 200.0, 300.0]),  # the first alternative is unreachable
        service=np.zeros(3),
        vehicle_types=(VehicleType(count=1, capacity=(5,), depot=0, tw_late=400.0),),
        required=np.array([False, False, True]),
        prize=np.array([1000.0, 1000.0, 0.0]),
        groups=((0, 1),),
    )
    sol = solve_vrptw(problem, time_limit_s=0.5, seed=0, n_workers=1)
    served = {c for r in sol.routes for c in r.clients}
    assert served == {1, 2}
    assert sol.unassigned == []
    assert check_vrptw(problem, sol.routes) == []


def test_checker_flags_violations() -> None:
    problem = make_problem(0)
    late = RoutePlan(0, tuple(range(problem.n_clients)))  # one route for all: overloaded/late
    problems = check_vrptw(problem, [late, RoutePlan(0, (0,))])
    assert any("served twice" in p for p in problems)
    assert any("capacity" in p or "window" in p for p in problems)


def test_validation_lists_every_problem() -> None:
    base = make_problem(0)
    bad = VrptwProblem(
        **{
            **base.__dict__,
            "tw_early": base.tw_late + 1,
            "vehicle_types": (VehicleType(count=0, capacity=(1, 2), depot=99),),
        }
    )
    with pytest.raises(ProblemValidationError, match="tw_early > tw_late") as info:
        bad.validate()
    assert len(info.value.problems) == 4
    assert info.value.status_code == 422
