"""The portfolio member that searches with one route fewer than the best known plan."""

from __future__ import annotations

import time

import pytest

from geo.routing.feasibility import check_vrptw
from geo.routing.portfolio import (
    SearchVariant,
    _context,
    _decode,
    _encode,
    _FleetLimited,
    _search_fewer_routes,
    _Shared,
    fewer_routes_start,
    run_search,
)
from geo.routing.vrptw import Scaling, routes_from_pyvrp, to_pyvrp
from tests.geo.test_routing_vrptw import make_problem


def _data(seed: int = 5, n: int = 8, n_vehicles: int = 4) -> object:
    mapping = to_pyvrp(make_problem(seed, n=n, n_vehicles=n_vehicles),
                       Scaling(distance=10_000, duration=10_000))  # fmt: skip
    return mapping


def test_fewer_routes_start_drops_the_route_with_fewest_clients() -> None:
    data = _data().data
    code = [3, 0, 3, 0, 1, 2, 0, 1, 3, 0, 4, 4, 5, 6, 7]  # routes of 3, 1 and 4 clients
    smaller, start = fewer_routes_start(data, code)
    assert smaller.vehicle_type(0).num_available == 2
    assert start == [2, 0, 3, 0, 1, 2, 0, 4, 4, 5, 6, 7]  # client 3 is left to re-insert
    assert _decode(smaller, start).num_routes() == 2


def test_fewer_routes_start_needs_two_routes() -> None:
    data = _data().data
    assert fewer_routes_start(data, [1, 0, 8, 0, 1, 2, 3, 4, 5, 6, 7]) is None


def test_fleet_limited_view_never_offers_a_plan_with_too_many_routes() -> None:
    shared = _Shared(_context(), 8)
    shared.publish(100, [3, 0, 3, 0, 1, 2, 0, 1, 3, 0, 4, 4, 5, 6, 7])
    assert _FleetLimited(shared, 2).read() == (100, None)
    assert _FleetLimited(shared, 3).read()[1] is not None
    assert _FleetLimited(shared, 2).publish(90, [2, 0, 4, 0, 1, 2, 3, 0, 4, 4, 5, 6, 7])
    assert shared.read()[0] == 90  # publications reach the shared best


@pytest.mark.parametrize("seed", [1, 2])
def test_search_with_fewer_routes_returns_a_feasible_plan_for_the_full_fleet(seed: int) -> None:
    mapping = _data(seed)
    problem = make_problem(seed, n=8, n_vehicles=4)
    data = mapping.data
    shared = _Shared(_context(), data.num_clients)
    variant = SearchVariant()
    best, cost, iters = run_search(data, variant, seed, time.monotonic() + 0.3, None, None, shared)
    assert best.is_feasible()
    out, out_cost, out_iters = _search_fewer_routes(
        data, variant, seed, time.monotonic() + 0.6, shared, 0.2, None, best, cost, iters
    )
    assert out.is_feasible()
    assert out_cost <= cost
    assert out_iters > iters
    plan = _decode(data, _encode(out))  # valid in the full problem
    assert check_vrptw(problem, routes_from_pyvrp(mapping, plan)) == []
