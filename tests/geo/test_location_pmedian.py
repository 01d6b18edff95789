"""p-median and p-center against brute-force enumeration of all site sets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from geo.location import (
    LocationProblem,
    Status,
    pmedian_objective,
    solve_pcenter,
    solve_pmedian,
)


def _instance(seed: int, n_demand: int = 10, n_sites: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 40, size=(n_demand, n_sites)).astype(float)
    weight = rng.integers(1, 6, size=n_demand).astype(float)
    return cost, weight


def _allowed(problem: LocationProblem, sites: tuple[int, ...]) -> bool:
    if problem.site_group is not None:
        labels = np.asarray(problem.site_group, dtype=object)
        for label in set(labels.tolist()):
            count = sum(1 for s in sites if labels[s] == label)
            low = problem.group_min if isinstance(problem.group_min, int) else 0
            high = problem.group_max if isinstance(problem.group_max, int) else 10**9
            if problem.group_min is not None and not isinstance(problem.group_min, int):
                low = problem.group_min.get(label, 0)
            if not low <= count <= high:
                return False
    if problem.budget is not None:
        assert problem.site_cost is not None
        if problem.site_cost[list(sites)].sum() > problem.budget + 1e-9:
            return False
    return True


def _brute_pmedian(problem: LocationProblem, p: int, unreachable: float | None = None) -> float:
    best = np.inf
    for sites in itertools.combinations(problem.eligible_sites.tolist(), p):
        if _allowed(problem, sites):
            best = min(best, pmedian_objective(problem, np.array(sites), unreachable))
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_pmedian_matches_brute_force(seed: int, p: int) -> None:
    cost, weight = _instance(seed)
    problem = LocationProblem(cost, weight)
    result = solve_pmedian(problem, p)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(_brute_pmedian(problem, p))
    assert len(result.new_sites) == p
    assert pmedian_objective(problem, np.array(result.new_sites)) == pytest.approx(result.objective)


@pytest.mark.parametrize("seed", range(4))
def test_pmedian_non_integral_costs(seed: int) -> None:
    cost, weight = _instance(seed)
    problem = LocationProblem(cost * 0.37 + 0.011, weight * 1.3)
    result = solve_pmedian(problem, 2)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(_brute_pmedian(problem, 2))


@pytest.mark.parametrize("seed", range(4))
def test_pmedian_fixed_sites_kept_and_optimal(seed: int) -> None:
    cost, weight = _instance(seed)
    problem = LocationProblem(cost, weight, fixed_sites=[0, 5])
    result = solve_pmedian(problem, 2)
    assert {0, 5} <= set(result.sites)
    assert not {0, 5} & set(result.new_sites)
    expected = min(
        pmedian_objective(problem, np.array(s))
        for s in itertools.combinations([1, 2, 3, 4, 6, 7], 2)
    )
    assert result.objective == pytest.approx(expected)
    assert result.status is Status.OPTIMAL


@pytest.mark.parametrize("seed", range(4))
def test_pmedian_groups_and_budget_hold(seed: int) -> None:
    cost, weight = _instance(seed, n_sites=9)
    groups = ["a", "a", "a", "b", "b", "b", "c", "c", "c"]
    site_cost = np.array([15, 10, 15, 10, 15, 10, 15, 10, 15], dtype=float)
    problem = LocationProblem(
        cost,
        weight,
        site_group=groups,
        group_min=1,
        group_max=2,
        site_cost=site_cost,
        budget=45.0,
    )
    result = solve_pmedian(problem, 4)
    chosen = list(result.new_sites)
    assert len(chosen) == 4
    for label in "abc":
        assert 1 <= sum(groups[s] == label for s in chosen) <= 2
    assert site_cost[chosen].sum() <= 45.0
    assert result.objective == pytest.approx(_brute_pmedian(problem, 4))


@pytest.mark.parametrize("seed", range(4))
def test_pmedian_candidate_restriction(seed: int) -> None:
    cost, weight = _instance(seed)
    problem = LocationProblem(cost, weight, eligible_sites=[1, 3, 4, 6])
    result = solve_pmedian(problem, 2)
    assert set(result.new_sites) <= {1, 3, 4, 6}
    assert result.objective == pytest.approx(_brute_pmedian(problem, 2))


@pytest.mark.parametrize("seed", range(4))
def test_pmedian_sparse_cutoff_with_and_without_penalty(seed: int) -> None:
    cost, weight = _instance(seed)
    cutoff = np.where(cost <= 25, cost, 0.0)
    matrix = sp.csr_array(cutoff)
    # keep real zero costs as stored entries
    rows, cols = np.nonzero(cost <= 25)
    matrix = sp.csr_array((cost[rows, cols], (rows, cols)), shape=cost.shape)
    penalised = LocationProblem(matrix, weight)
    result = solve_pmedian(penalised, 2, unreachable_cost=100.0)
    assert result.objective == pytest.approx(_brute_pmedian(penalised, 2, 100.0))
    strict = LocationProblem(matrix, weight)
    expected = _brute_pmedian(strict, 3)
    if np.isfinite(expected):
        assert solve_pmedian(strict, 3).objective == pytest.approx(expected)


def _transport_cost(cost: np.ndarray, weight: np.ndarray, cap: np.ndarray) -> float:
    """Optimal split assignment to the given columns (brute force helper, via LP)."""
    n, m = cost.shape
    a_eq = np.kron(np.eye(n), np.ones(m))
    a_ub = np.kron(weight[:, None], np.eye(m)).reshape(n, m, m).transpose(2, 0, 1).reshape(m, -1)
    res = linprog(
        (weight[:, None] * cost).ravel(),
        A_ub=a_ub,
        b_ub=cap,
        A_eq=a_eq,
        b_eq=np.ones(n),
        bounds=(0, 1),
        method="highs",
    )
    return float(res.fun) if res.status == 0 else np.inf


@pytest.mark.parametrize("seed", range(3))
def test_pmedian_capacitated_matches_brute_force(seed: int) -> None:
    cost, weight = _instance(seed, n_demand=7, n_sites=6)
    capacity = np.full(6, weight.sum() / 2.5)
    problem = LocationProblem(cost, weight, capacity=capacity, fixed_sites=[4])
    expected = min(
        _transport_cost(cost[:, [4, *s]], weight, capacity[[4, *s]])
        for s in itertools.combinations([0, 1, 2, 3, 5], 2)
    )
    result = solve_pmedian(problem, 2)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(expected)
    assert 4 in result.sites


@pytest.mark.parametrize("seed", range(4))
def test_pcenter_matches_brute_force(seed: int) -> None:
    cost, weight = _instance(seed)
    problem = LocationProblem(cost, weight, fixed_sites=[2])
    expected = min(
        float(cost[:, [2, *s]].min(axis=1).max())
        for s in itertools.combinations([0, 1, 3, 4, 5, 6, 7], 2)
    )
    result = solve_pcenter(problem, 2)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(expected)
    assert 2 in result.sites
