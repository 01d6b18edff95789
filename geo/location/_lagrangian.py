"""Lagrangian relaxation of the p-median for lower bounds and variable fixing.

Relaxing the assignment constraints ``Σ_j x_ij = 1`` with multipliers ``λ_i`` gives::

    L(λ) = Σ_i λ_i + Σ_{j fixed} ρ_j + (sum of the p smallest ρ_j over candidates),
    ρ_j  = Σ_i min(0, w_i d_ij − λ_i)

a lower bound on the p-median optimum for every ``λ`` (Cornuéjols, Fisher & Nemhauser 1977;
Beasley 1993). Its maximum equals the LP bound; we approach it by subgradient ascent.
Because the subproblem is "pick the p smallest ρ", the bound with a site forced open or
closed is known in closed form, which gives Beasley-style reduced-cost fixing: a site whose
forced-open bound already reaches the incumbent's cost can be dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._heuristics import interchange, objective
from ._rings import Rings

logger = logging.getLogger(__name__)

#: Iterations without a better bound before the step factor is halved.
STALL_ITERATIONS = 25
#: Step factor at which a large remaining gap is handed to the branch-and-bound.
COARSE_THETA = 0.1


@dataclass(frozen=True)
class LagrangianOutcome:
    """Best bound and the fixing it allows.

    Attributes
    ----------
    bound
        Best Lagrangian lower bound found.
    closed
        Local candidate sites proven useless: opening them cannot beat the incumbent.
    forced
        Local candidate sites open in every improving solution.
    best_open
        Best open mask found (incumbent, possibly improved by Lagrangian solutions).
    best_value
        Its cost.
    iterations
        Subgradient iterations done.
    multipliers
        The multipliers ``λ`` (per ring row) of the best bound.
    """

    bound: float
    closed: np.ndarray
    forced: np.ndarray
    best_open: np.ndarray
    best_value: float
    iterations: int
    multipliers: np.ndarray


def subgradient(
    rings: Rings,
    n_new_sites: int,
    incumbent: np.ndarray,
    incumbent_value: float,
    base: float,
    improve_margin: float,
    max_iterations: int = 3000,
    deadline_check: object | None = None,
    stop_coarse: Callable[[float, float], bool] | None = None,
    coarse_theta: float | None = None,
) -> LagrangianOutcome:
    """Subgradient ascent on ``L(λ)``, with fixing tests at every iteration.

    Parameters
    ----------
    rings
        Sorted pairs (rows truncated at their nearest existing site).
    n_new_sites
        ``p``.
    incumbent, incumbent_value
        Best known open mask and its cost (the upper bound).
    base
        Cost of serving a row through none of its listed sites (unreachable cost).
    improve_margin
        An improving solution costs at most ``upper − improve_margin`` (1 for integral
        data, a tiny tolerance otherwise); tests use this to fix more.
    max_iterations
        Iteration cap.
    deadline_check
        Callable returning true when time is up.
    stop_coarse
        Called with ``(bound, upper)`` once the step factor falls below ``coarse_theta``;
        returning true stops there (a branch-and-bound will refine the bound anyway),
        false continues until the step factor is below ``1e-3``.
    coarse_theta
        See ``stop_coarse`` (default ``COARSE_THETA``).

    Returns
    -------
    LagrangianOutcome
    """
    n = rings.n_rows
    n_elig = rings.n_eligible
    m = len(rings.sites)
    p = n_new_sites
    w = rings.weight
    row = rings.entry_row
    best_open = incumbent.copy()
    upper = incumbent_value
    closed = np.zeros(n_elig, dtype=bool)
    forced = np.zeros(n_elig, dtype=bool)
    if p == 0 or n_elig == 0:
        return LagrangianOutcome(-np.inf, closed, forced, best_open, upper, 0, np.zeros(n))
    # Start from the incumbent's assignment costs.
    from ._heuristics import nearest_two

    d1, _, _ = nearest_two(rings, incumbent, base)
    lam = w * d1
    has_base = np.isfinite(base)
    best_bound = -np.inf
    best_lam = lam
    theta = 2.0
    stall = 0
    it = 0
    keep = np.ones(n_elig, dtype=bool)
    tried: set[bytes] = set()
    coarse_theta = COARSE_THETA if coarse_theta is None else coarse_theta
    for it in range(1, max_iterations + 1):
        per_unit = np.divide(lam, w, out=np.zeros(n), where=w > 0)
        idx = rings.prefix_below(per_unit)
        e_row = row[idx]
        reduced = w[e_row] * rings.entry_cost[idx] - lam[e_row]
        rho = np.bincount(rings.entry_site[idx], weights=reduced, minlength=m)
        rho_c = rho[:n_elig].copy()
        rho_c[~keep] = np.inf
        value = float(lam.sum()) + float(rho[n_elig:].sum())
        if has_base:
            value += float(np.minimum(0.0, w * base - lam).sum())
        order = np.argsort(rho_c, kind="stable")
        chosen = np.sort(order[:p])
        rho_p = rho_c[order[p - 1]]
        rho_next = rho_c[order[p]] if p < keep.sum() else np.inf
        bound = value + float(rho_c[chosen].sum())
        threshold = upper - improve_margin
        # Fixing tests: forcing j open / closed changes the subproblem in closed form.
        with np.errstate(invalid="ignore"):
            open_bound = np.where(keep, bound + rho_c - rho_p, -np.inf)
            closed_bound = np.where(keep, bound - rho_c + rho_next, -np.inf)
        newly_closed = keep & (open_bound > threshold + 1e-9 * abs(upper))
        newly_closed[best_open[:n_elig]] = False
        closed |= newly_closed
        keep &= ~newly_closed
        in_p = np.zeros(n_elig, dtype=bool)
        in_p[chosen] = True
        forced |= in_p & (closed_bound > threshold + 1e-9 * abs(upper))
        if bound > best_bound + 1e-9 * abs(bound):
            best_bound = bound
            best_lam = lam
            stall = 0
        else:
            stall += 1
            if stall >= STALL_ITERATIONS:
                theta /= 2.0
                stall = 0
        if best_bound > threshold or theta < 1e-3:
            break
        if stop_coarse is not None and theta < coarse_theta:
            if stop_coarse(best_bound, upper):
                break
            stop_coarse = None
        # Subgradient: 1 - (number of chosen open sites assigned to i).
        open_now = np.zeros(m, dtype=bool)
        open_now[chosen] = True
        open_now[n_elig:] = True
        assigned = np.bincount(e_row, weights=open_now[rings.entry_site[idx]], minlength=n)
        if has_base:
            assigned += (w * base < lam).astype(float)
        g = 1.0 - assigned
        norm = float(np.dot(g, g))
        if it % 25 == 0 or norm == 0.0:
            key = chosen.tobytes()
            if key not in tried:
                tried.add(key)
                improved = interchange(rings, open_now, base)
                improved_value = objective(rings, improved, base)
                if improved_value < upper - 1e-9 * abs(upper):
                    upper, best_open = improved_value, improved
                    logger.debug("Lagrangian heuristic improved the incumbent to %g", upper)
            if norm == 0.0:
                break
        if deadline_check is not None and deadline_check():
            break
        step = theta * (upper - bound) / norm
        lam = np.maximum(lam + step * g, 0.0)
    logger.debug(
        "subgradient: %d iterations, bound %.6g, upper %.6g, %d closed, %d forced",
        it,
        best_bound,
        upper,
        int(closed.sum()),
        int(forced.sum()),
    )
    return LagrangianOutcome(best_bound, closed, forced, best_open, upper, it, best_lam)
