"""Malformed and infeasible inputs are refused up front, with the numbers in the message."""

from __future__ import annotations

import numpy as np
import pytest

from geo.location import (
    InfeasibleProblemError,
    InvalidProblemError,
    LocationProblem,
    solve_lscp,
    solve_mclp,
    solve_pmedian,
)

COST = np.arange(24, dtype=float).reshape(4, 6)
GROUPS = ["a", "a", "b", "b", "c", "c"]


def test_district_minimums_above_new_sites() -> None:
    problem = LocationProblem(COST, site_group=GROUPS, group_min=2)
    with pytest.raises(InfeasibleProblemError, match=r"add up to 6 new sites > 4") as info:
        solve_pmedian(problem, 4)
    assert info.value.status_code == 422
    assert info.value.details == {"group_minimum_total": 6, "n_new_sites": 4}


def test_group_without_enough_candidates() -> None:
    problem = LocationProblem(
        COST, site_group=GROUPS, group_min={"c": 2}, eligible_sites=[0, 1, 2, 3, 4]
    )
    with pytest.raises(InfeasibleProblemError, match=r"group c needs at least 2 .* only 1"):
        solve_mclp(problem, 3, 10.0)


def test_budget_too_small() -> None:
    problem = LocationProblem(
        COST, site_cost=np.array([15000, 10000, 15000, 10000, 15000, 10000.0]), budget=25000
    )
    with pytest.raises(InfeasibleProblemError, match=r"budget 25000 < 30000"):
        solve_pmedian(problem, 3)


def test_budget_with_group_minimums() -> None:
    problem = LocationProblem(
        COST,
        site_cost=np.array([1, 9, 1, 9, 9, 9.0]),
        budget=10,
        site_group=GROUPS,
        group_min=1,
    )
    with pytest.raises(InfeasibleProblemError, match=r"budget 10 < 11"):
        solve_mclp(problem, 3, 5.0)


def test_more_sites_than_candidates() -> None:
    problem = LocationProblem(COST, fixed_sites=[0, 1], eligible_sites=[2, 3])
    with pytest.raises(InfeasibleProblemError, match=r"3 new sites requested but only 2"):
        solve_pmedian(problem, 3)


def test_group_maximums_too_tight() -> None:
    problem = LocationProblem(COST, site_group=GROUPS, group_max=1)
    with pytest.raises(InfeasibleProblemError, match=r"at most 3 new sites < 4"):
        solve_pmedian(problem, 4)


def test_capacity_below_demand() -> None:
    problem = LocationProblem(
        COST, demand_weight=np.array([100, 100, 100, 40.0]), capacity=np.full(6, 60.0)
    )
    with pytest.raises(InfeasibleProblemError, match=r"capacity 120 .* < demand 340"):
        solve_pmedian(problem, 2)


def test_lscp_uncoverable_demand() -> None:
    problem = LocationProblem(COST, demand_weight=np.array([1, 2, 3, 4.0]))
    with pytest.raises(InfeasibleProblemError, match=r"3 demand point\(s\) with total weight 9"):
        solve_lscp(problem, 5.0)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"cost": -COST}, "non-negative"),
        ({"cost": COST, "demand_weight": np.ones(3)}, "3 values for 4 demand points"),
        ({"cost": COST, "fixed_sites": [7]}, "outside 0..5"),
        ({"cost": COST, "budget": 5.0}, "needs site_cost"),
        ({"cost": COST, "site_group": GROUPS, "group_min": 2, "group_max": 1}, "minimum 2"),
    ],
)
def test_malformed_input(kwargs: dict, pattern: str) -> None:
    with pytest.raises(InvalidProblemError, match=pattern):
        solve_pmedian(LocationProblem(**kwargs), 1)


def test_nan_cost_refused() -> None:
    cost = COST.copy()
    cost[1, 1] = np.nan
    with pytest.raises(InvalidProblemError, match="NaN"):
        solve_mclp(LocationProblem(cost), 1, 3.0)
