"""MCLP and LSCP against brute-force enumeration of all site sets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from geo.location import LocationProblem, Status, covered_weight, solve_lscp, solve_mclp


def _instance(seed: int, n_demand: int = 12, n_sites: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(100 + seed)
    cost = rng.integers(0, 30, size=(n_demand, n_sites)).astype(float)
    weight = rng.integers(1, 9, size=n_demand).astype(float)
    return cost, weight


GROUPS = ["a", "a", "a", "b", "b", "b", "c", "c"]
SITE_COST = np.array([15, 10, 15, 10, 15, 10, 15, 10], dtype=float)


def _rules_ok(sites: tuple[int, ...], g_min: int, g_max: int, budget: float | None) -> bool:
    for label in "abc":
        if not g_min <= sum(GROUPS[s] == label for s in sites) <= g_max:
            return False
    return budget is None or SITE_COST[list(sites)].sum() <= budget


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_mclp_matches_brute_force(seed: int, p: int) -> None:
    cost, weight = _instance(seed)
    problem = LocationProblem(cost, weight)
    expected = max(
        covered_weight(problem, np.array(s), 10.0) for s in itertools.combinations(range(8), p)
    )
    result = solve_mclp(problem, p, 10.0)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(expected)
    assert covered_weight(problem, np.array(result.new_sites), 10.0) == pytest.approx(expected)
    assert result.covered is not None
    assert weight[result.covered].sum() == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(6))
def test_mclp_fixed_groups_budget(seed: int) -> None:
    cost, weight = _instance(seed)
    problem = LocationProblem(
        cost,
        weight,
        fixed_sites=[7],
        site_group=GROUPS,
        group_min=1,
        group_max=1,
        site_cost=SITE_COST,
        budget=40.0,
    )
    candidates = [0, 1, 2, 3, 4, 5, 6]
    best = -1.0
    for sites in itertools.combinations(candidates, 3):
        # site 7 (group c) is existing: it does not count towards group c
        counts_ok = all(sum(GROUPS[s] == label for s in sites) == 1 for label in "abc")
        if counts_ok and SITE_COST[list(sites)].sum() <= 40.0:
            best = max(best, covered_weight(problem, np.array(sites), 12.0))
    result = solve_mclp(problem, 3, 12.0)
    assert result.objective == pytest.approx(best)
    assert 7 in result.sites
    assert 7 not in result.new_sites
    assert SITE_COST[list(result.new_sites)].sum() <= 40.0
    assert sorted(GROUPS[s] for s in result.new_sites) == ["a", "b", "c"]
    assert result.stats["newly_covered"] == pytest.approx(
        result.objective - result.stats["covered_by_existing"]
    )


def test_mclp_sparse_matches_dense() -> None:
    cost, weight = _instance(3)
    rows, cols = np.nonzero(cost <= 15)
    sparse = sp.csr_array((cost[rows, cols], (rows, cols)), shape=cost.shape)
    dense_result = solve_mclp(LocationProblem(cost, weight), 2, 9.0)
    sparse_result = solve_mclp(LocationProblem(sparse, weight), 2, 9.0)
    assert sparse_result.objective == pytest.approx(dense_result.objective)


def test_mclp_capacitated_limits_coverage() -> None:
    cost = np.array([[1, 9], [1, 9], [1, 9], [9, 1]], dtype=float)
    weight = np.array([4, 4, 4, 2], dtype=float)
    free = solve_mclp(LocationProblem(cost, weight), 1, 5.0)
    capped = solve_mclp(LocationProblem(cost, weight, capacity=np.array([6.0, 6.0])), 1, 5.0)
    assert free.objective == pytest.approx(12.0)
    assert capped.objective == pytest.approx(6.0)
    assert capped.status is Status.OPTIMAL


def _brute_lscp(cost: np.ndarray, cutoff: float, fixed: list[int], g_min: int) -> int:
    n_sites = cost.shape[1]
    candidates = [s for s in range(n_sites) if s not in fixed]
    for k in range(len(candidates) + 1):
        for sites in itertools.combinations(candidates, k):
            if not _rules_ok(sites, g_min, 99, None):
                continue
            if np.all((cost[:, [*fixed, *sites]] <= cutoff).any(axis=1)):
                return k
    return -1


@pytest.mark.parametrize("seed", range(6))
def test_lscp_matches_brute_force(seed: int) -> None:
    cost, weight = _instance(seed)
    cutoff = 12.0
    expected = _brute_lscp(cost, cutoff, [], 0)
    if expected < 0:
        cutoff = 20.0
        expected = _brute_lscp(cost, cutoff, [], 0)
    problem = LocationProblem(cost, weight)
    result = solve_lscp(problem, cutoff)
    assert result.status is Status.OPTIMAL
    assert result.objective == expected
    assert result.covered is not None
    assert result.covered.all()


@pytest.mark.parametrize("seed", range(4))
def test_lscp_with_fixed_and_group_minimum(seed: int) -> None:
    cost, weight = _instance(seed)
    cutoff = 20.0
    problem = LocationProblem(cost, weight, fixed_sites=[0], site_group=GROUPS, group_min=1)
    expected = _brute_lscp(cost, cutoff, [0], 1)
    result = solve_lscp(problem, cutoff)
    assert result.objective == expected
    assert 0 in result.sites
    for label in "abc":
        assert sum(GROUPS[s] == label for s in result.new_sites) >= 1


def test_lscp_minimise_cost() -> None:
    cost = np.array([[1, 1, 9], [9, 1, 1]], dtype=float)
    problem = LocationProblem(cost, site_cost=np.array([1.0, 5.0, 1.0]))
    by_count = solve_lscp(problem, 2.0)
    by_cost = solve_lscp(problem, 2.0, minimize="cost")
    assert by_count.new_sites == (1,)
    assert by_cost.new_sites == (0, 2)
    assert by_cost.objective == pytest.approx(2.0)
