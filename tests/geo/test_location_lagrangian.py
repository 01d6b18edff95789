"""Lagrangian components of the p-median: branch-and-bound, fixing stage, interchange."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from geo.location import LocationProblem, Status, pmedian_objective, solve_pmedian
from geo.location._heuristics import base_cost, greedy, interchange, nearest_two, objective
from geo.location._lagbb import lagrangian_branch_and_bound, solution_value
from geo.location._reduction import lagrangian_stage
from geo.location._rings import build_rings


def _graph_costs(seed: int, n: int) -> np.ndarray:
    """Shortest-path costs of a small random graph (cycle + chords), like OR-Library."""
    from scipy.sparse.csgraph import shortest_path

    rng = np.random.default_rng(seed)
    i = np.concatenate([np.arange(n), rng.integers(0, n, 2 * n)])
    j = np.concatenate([(np.arange(n) + 1) % n, rng.integers(0, n, 2 * n)])
    keep = i != j
    w = rng.integers(1, 30, keep.sum()).astype(float)
    graph = sp.csr_array((w, (i[keep], j[keep])), shape=(n, n))
    return shortest_path(graph, directed=False)


def _brute(cost_w: np.ndarray, cap_w: np.ndarray, q: int) -> float:
    best = np.inf
    for cols in itertools.combinations(range(cost_w.shape[1]), q):
        mask = np.zeros(cost_w.shape[1], dtype=bool)
        mask[list(cols)] = True
        best = min(best, solution_value(cost_w, cap_w, mask))
    return best


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("q", [1, 2, 3, 4])
def test_branch_and_bound_matches_brute_force(seed: int, q: int) -> None:
    rng = np.random.default_rng(seed)
    n_rows, n_cols = 14, 9
    weight = rng.integers(1, 5, n_rows).astype(float)
    cost_w = rng.integers(0, 50, (n_rows, n_cols)).astype(float) * weight[:, None]
    if seed % 2:
        cost_w[rng.random(cost_w.shape) < 0.3] = np.inf  # pairs not stored
    cap_w = np.where(rng.random(n_rows) < 0.4, 35.0, 1e6) * weight
    expected = _brute(cost_w, cap_w, q)
    # A poor starting incumbent: the search must find the optimum and prove it.
    start = np.zeros(n_cols, dtype=bool)
    start[-q:] = True
    out = lagrangian_branch_and_bound(
        cost_w, cap_w, q, start, solution_value(cost_w, cap_w, start), 1.0 - 1e-6
    )
    assert out.proven
    assert out.best_value == pytest.approx(expected)
    if out.best_open is not None:
        assert out.best_open.sum() == q
        assert solution_value(cost_w, cap_w, out.best_open) == pytest.approx(expected)
    assert out.bound == pytest.approx(expected)


def test_branch_and_bound_without_incumbent_and_fractional_costs() -> None:
    rng = np.random.default_rng(7)
    cost_w = rng.random((12, 8)) * 10.0
    cap_w = np.full(12, 1e3)
    expected = _brute(cost_w, cap_w, 3)
    out = lagrangian_branch_and_bound(cost_w, cap_w, 3, None, np.inf, 1e-7)
    assert out.proven
    assert out.best_open is not None
    assert out.best_value == pytest.approx(expected)


def test_branch_and_bound_stops_at_node_limit_with_valid_bound() -> None:
    cost = _graph_costs(3, 40)
    out = lagrangian_branch_and_bound(
        cost, np.full(40, 1e6), 3, None, np.inf, 1 - 1e-6, max_nodes=1
    )
    assert out.nodes == 1
    assert out.best_open is not None  # the root's Lagrangian solution is offered
    exact = solve_pmedian(LocationProblem(cost), 3)
    assert out.bound <= exact.objective + 1e-9
    assert out.best_value >= exact.objective - 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_lagrangian_stage_proves_graph_instances(seed: int) -> None:
    cost = _graph_costs(seed, 60)
    problem = LocationProblem(cost)
    stats: dict[str, float | int] = {}
    stage = lagrangian_stage(problem, build_rings(problem), 4, None, np.inf, stats)
    result = solve_pmedian(problem, 4)
    assert result.status is Status.OPTIMAL
    assert stage.upper >= result.objective - 1e-9
    assert stage.bound <= result.objective + 1e-9
    if stage.proven:
        assert stage.upper == pytest.approx(result.objective)
    assert pmedian_objective(problem, stage.incumbent) == pytest.approx(stage.upper)


@pytest.mark.parametrize("seed", range(3))
def test_small_p_graph_instances_match_brute_force(seed: int) -> None:
    cost = _graph_costs(seed + 10, 24)
    problem = LocationProblem(cost)
    expected = min(
        pmedian_objective(problem, np.array(s)) for s in itertools.combinations(range(24), 2)
    )
    result = solve_pmedian(problem, 2)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(4))
def test_incremental_interchange_is_a_local_optimum(seed: int) -> None:
    cost = _graph_costs(seed, 50)
    problem = LocationProblem(cost, fixed_sites=[0])
    rings = build_rings(problem)
    base = base_cost(rings, None)
    out = interchange(rings, greedy(rings, 5, base), base)
    assert out.sum() == 6
    assert out[rings.n_eligible :].all()
    value = objective(rings, out, base)
    d1, _, _ = nearest_two(rings, out, base)
    assert value == pytest.approx(float(np.dot(rings.weight, d1)))
    opened = np.flatnonzero(out[: rings.n_eligible])
    closed = np.flatnonzero(~out[: rings.n_eligible])
    for f, j in itertools.product(opened, closed):  # no single swap improves
        trial = out.copy()
        trial[f], trial[j] = False, True
        assert objective(rings, trial, base) >= value - 1e-9


@pytest.mark.parametrize("seed", [1, 3, 4])
def test_branch_and_bound_path_agrees_with_the_mip(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = LocationProblem(_graph_costs(seed, 80))
    by_branching = solve_pmedian(problem, 3)
    assert by_branching.stats["branch_nodes"] >= 1
    assert "mip_rounds" not in by_branching.stats
    monkeypatch.setattr("geo.location._reduction.BRANCH_MIN_REL_GAP", np.inf)
    by_mip = solve_pmedian(problem, 3)
    assert "branch_nodes" not in by_mip.stats
    assert by_mip.stats["mip_rounds"] >= 1
    assert by_branching.status is by_mip.status is Status.OPTIMAL
    assert by_branching.objective == by_mip.objective


def test_branch_and_bound_out_of_time_hands_over_to_the_mip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = LocationProblem(_graph_costs(1, 80))
    expected = solve_pmedian(problem, 3).objective
    monkeypatch.setattr("geo.location._reduction.BRANCH_TIME_SHARE", 0.0)
    result = solve_pmedian(problem, 3)
    assert result.stats["mip_rounds"] >= 1
    assert result.status is Status.OPTIMAL
    assert result.objective == expected
