"""Lagrangian branch-and-bound for the uncapacitated p-median on a small candidate set.

After the root Lagrangian has closed most candidates (see :mod:`._lagrangian`), what is left
is a p-median over a few dozen to a few hundred candidate columns where the LP bound is
still a fraction of a percent below the incumbent (typically small ``p``). This module
closes that gap without an LP solver: depth-first/best-first branching on ``y_k`` with, at
every node, the Lagrangian bound of Cornuéjols, Fisher & Nemhauser (1977) warm-started from
the parent's multipliers, Beasley-style reduced-cost fixing of the free sites and the
incumbent improved by the Lagrangian solutions.

Node problem: columns ``K`` (free candidates), weighted costs ``C_ik = w_i d_ik``, an
always-available option ``u_i`` per row (the nearest existing or forced-open site, or the
unreachable charge), ``q`` sites still to open. Relaxing ``u-assignment + Σ_k x_ik = 1``::

    L(λ) = Σ_i min(λ_i, u_i) + (sum of the q smallest ρ_k),   ρ_k = Σ_i min(0, C_ik − λ_i)

a lower bound for every ``λ`` (its maximum is the node's LP bound). Forcing ``k`` open or
closed changes the subproblem in closed form (``L + ρ_k − ρ_(q)`` / ``L − ρ_k + ρ_(q+1)``),
which gives the fixing tests and a proof when every node's bound exceeds
``incumbent − margin``.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

#: Initial step factor at every node (halved after 5 iterations without progress).
THETA0 = 2.0


@dataclass(frozen=True)
class BranchOutcome:
    """Result of :func:`lagrangian_branch_and_bound`.

    Attributes
    ----------
    best_open
        Boolean mask over the columns of the best solution found, ``None`` if nothing
        beat the upper bound given by the caller.
    best_value
        Its cost ``Σ_i min(u_i, min_{k open} C_ik)`` (the caller's upper bound if none).
    bound
        Proven lower bound on the optimum (``best_value`` when ``proven``).
    proven
        Whether the search finished: no solution costs less than ``best_value − margin``.
    nodes
        Nodes processed.
    iterations
        Subgradient iterations over all nodes.
    root_opened, root_closed
        Columns the root node fixed open / closed (valid for every improving solution).
    """

    best_open: np.ndarray | None
    best_value: float
    bound: float
    proven: bool
    nodes: int
    iterations: int
    root_opened: np.ndarray
    root_closed: np.ndarray


@dataclass
class _Node:
    bound: float
    opened: np.ndarray
    closed: np.ndarray
    lam: np.ndarray
    depth: int


def solution_value(cost_w: np.ndarray, cap_w: np.ndarray, open_mask: np.ndarray) -> float:
    """Cost of opening ``open_mask``: every row takes its cheapest open column or ``u_i``."""
    if not open_mask.any():
        return float(cap_w.sum())
    return float(np.minimum(cap_w, cost_w[:, open_mask].min(axis=1)).sum())


class _Search:
    """State of one branch-and-bound run (see :func:`lagrangian_branch_and_bound`)."""

    def __init__(
        self,
        cost_w: np.ndarray,
        cap_w: np.ndarray,
        n_open: int,
        best_open: np.ndarray | None,
        best_value: float,
        margin: float,
        is_late: Callable[[], bool],
    ) -> None:
        self.cost_w = cost_w
        self.cap_w = cap_w
        self.n_open = n_open
        self.best_open = None if best_open is None else best_open.copy()
        self.best_value = best_value
        self.margin = margin
        self.is_late = is_late
        self.iterations = 0
        self.seen: set[bytes] = set()

    @property
    def threshold(self) -> float:
        """A node whose bound exceeds this cannot hold an improving solution."""
        return self.best_value - self.margin

    def offer(self, open_mask: np.ndarray) -> None:
        """Evaluate a full solution and keep it if it improves the incumbent."""
        key = np.packbits(open_mask).tobytes()
        if key in self.seen:
            return
        self.seen.add(key)
        value = solution_value(self.cost_w, self.cap_w, open_mask)
        if value < self.best_value - 1e-9 * max(1.0, abs(value)):
            self.best_value, self.best_open = value, open_mask.copy()
            logger.debug("Lagrangian B&B: incumbent improved to %.6g", value)

    def process(
        self, node: _Node, max_iterations: int
    ) -> tuple[float, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        """Bound a node, fix what its reduced costs allow and pick a branching column.

        Returns the node's bound, the branching column's mask position (``None`` when the
        node is closed: pruned or solved), the final opened/closed masks and multipliers.
        """
        opened, closed, lam = node.opened.copy(), node.closed.copy(), node.lam.copy()
        bound = -np.inf
        for _ in range(8):  # re-bound after fixing changed the node
            q = self.n_open - int(opened.sum())
            free = np.flatnonzero(~opened & ~closed)
            if q < 0 or free.size < q:
                return np.inf, None, opened, closed, lam
            if q == 0 or free.size == q:
                leaf = opened.copy()
                leaf[free] = True
                self.offer(leaf)
                value = solution_value(self.cost_w, self.cap_w, leaf)
                return value, None, opened, closed, lam
            cap = self.cap_w
            if opened.any():
                cap = np.minimum(cap, self.cost_w[:, opened].min(axis=1))
            cols = self.cost_w[:, free]
            lo = np.minimum(cols.min(axis=1), cap)
            lam = np.clip(lam, lo, cap)
            # Rows whose own option is at least as cheap as every free column are settled:
            # their multiplier sits at u_i and they add nothing to any ρ.
            live = lo < cap
            settled = float(cap[~live].sum())
            bound, lam_live, rho, chosen, y_avg = self._subgradient(
                cols[live], cap[live], lo[live], lam[live], q, max_iterations, settled
            )
            lam[live] = lam_live
            sol = opened.copy()
            sol[free[chosen]] = True
            self.offer(sol)
            if bound > self.threshold:
                return bound, None, opened, closed, lam
            order = np.argsort(rho, kind="stable")
            rho_q = rho[order[q - 1]]
            rho_next = rho[order[q]] if q < free.size else np.inf
            in_s = np.zeros(free.size, dtype=bool)
            in_s[order[:q]] = True
            slack = 1e-9 * max(1.0, abs(self.best_value))
            to_close = ~in_s & (bound + rho - rho_q > self.threshold + slack)
            to_open = in_s & (bound - rho + rho_next > self.threshold + slack)
            if to_close.any() or to_open.any():
                closed[free[to_close]] = True
                opened[free[to_open]] = True
                if to_open.any() or (~in_s & ~to_close).sum() == 0:
                    continue
            frac = np.minimum(y_avg, 1.0 - y_avg)
            frac[to_close | to_open] = -1.0
            pick = int(np.argmax(frac + 1e-6 * y_avg))
            if frac[pick] <= 1e-3:
                # Averages are integral: branch on the chosen site the bound leans on least.
                candidates = np.flatnonzero(in_s & ~to_open)
                if candidates.size == 0:
                    candidates = np.flatnonzero(~to_close & ~to_open)
                pick = int(candidates[np.argmax(rho[candidates])])
            branch = np.zeros(len(opened), dtype=bool)
            branch[free[pick]] = True
            return bound, branch, opened, closed, lam
        return bound, None if bound > self.threshold else np.zeros(0, bool), opened, closed, lam

    def _subgradient(
        self,
        cols: np.ndarray,
        cap: np.ndarray,
        lo: np.ndarray,
        lam: np.ndarray,
        q: int,
        max_iterations: int,
        constant: float,
    ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Projected subgradient ascent on the node's ``L(λ)`` with primal averaging.

        ``constant`` is the settled rows' share of the bound.
        """
        theta = THETA0
        best = -np.inf
        best_lam = lam
        best_rho = np.zeros(cols.shape[1])
        best_chosen = np.arange(q)
        y_avg = np.zeros(cols.shape[1])
        stall = 0
        diff = np.empty_like(cols)
        for it in range(max_iterations):
            self.iterations += 1
            np.subtract(cols, lam[:, None], out=diff)
            np.minimum(diff, 0.0, out=diff)
            rho = diff.sum(axis=0)
            chosen = np.argpartition(rho, q - 1)[:q] if q < rho.size else np.arange(rho.size)
            value = float(constant + lam.sum() + rho[chosen].sum())
            if value > best + 1e-9 * max(1.0, abs(value)):
                best, best_lam, best_rho, best_chosen = value, lam, rho, chosen
                stall = 0
            else:
                stall += 1
                if stall >= 5:
                    theta *= 0.5
                    stall = 0
            y_now = np.zeros(rho.size)
            y_now[chosen] = 1.0
            y_avg = y_now if it == 0 else 0.85 * y_avg + 0.15 * y_now
            if best > self.threshold or theta < 1e-4:
                break
            g = 1.0 - (diff[:, chosen] < 0.0).sum(axis=1)
            g[(lam >= cap) & (g > 0)] = 0.0
            g[(lam <= lo) & (g < 0)] = 0.0
            norm = float(np.dot(g, g))
            if norm == 0.0:
                break
            step = theta * (self.best_value - value) / norm
            lam = np.clip(lam + step * g, lo, cap)
        return best, best_lam, best_rho, best_chosen, y_avg


def lagrangian_branch_and_bound(
    cost_w: np.ndarray,
    cap_w: np.ndarray,
    n_open: int,
    incumbent: np.ndarray | None,
    upper: float,
    margin: float,
    lam0: np.ndarray | None = None,
    *,
    deadline: float | None = None,
    max_nodes: int = 200_000,
    node_iterations: int = 25,
    root_iterations: int = 400,
) -> BranchOutcome:
    """Prove (or improve) a p-median incumbent by Lagrangian branch-and-bound.

    Parameters
    ----------
    cost_w
        ``(n_rows, n_cols)`` weighted costs ``w_i d_ik`` of the free candidate columns
        (``inf`` where a pair does not exist).
    cap_w
        ``(n_rows,)`` weighted cost of the always-available option of every row (nearest
        existing site, unreachable charge, or a large number).
    n_open
        Number of columns to open.
    incumbent
        Boolean mask of a feasible solution (exactly ``n_open`` columns), or ``None`` when
        the best known solution lies outside these columns.
    upper
        Cost of the best known solution (an upper bound on the optimum).
    margin
        Prove that nothing costs less than ``upper − margin`` (``1 − 1e-6`` for integral
        data, a tolerance otherwise).
    lam0
        Starting multipliers (e.g. from the root Lagrangian).
    deadline
        ``time.perf_counter()`` value at which to stop with the best bound so far.
    max_nodes
        Node limit.
    node_iterations, root_iterations
        Subgradient iterations per node / at the root.

    Returns
    -------
    BranchOutcome
    """
    n_cols = cost_w.shape[1]
    value = upper
    if incumbent is not None:
        value = min(upper, solution_value(cost_w, cap_w, incumbent))

    def late() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    search = _Search(cost_w, cap_w, n_open, incumbent, value, margin, late)
    if lam0 is None:
        lam0 = cap_w.copy()
        if incumbent is not None and incumbent.any():
            lam0 = np.minimum(cap_w, cost_w[:, incumbent].min(axis=1))
    root = _Node(-np.inf, np.zeros(n_cols, bool), np.zeros(n_cols, bool), lam0.copy(), 0)
    root_opened, root_closed = root.opened, root.closed
    heap: list[tuple[float, int, _Node]] = [(-np.inf, 0, root)]
    counter = 1
    nodes = 0
    finished = True
    while heap:
        parent_bound, _, node = heapq.heappop(heap)
        if parent_bound > search.threshold:
            continue
        if nodes >= max_nodes or late():
            heapq.heappush(heap, (parent_bound, counter, node))
            finished = False
            break
        nodes += 1
        bound, branch, opened, closed, lam = search.process(
            node, root_iterations if nodes == 1 else node_iterations
        )
        if nodes == 1:
            root_opened, root_closed = opened, closed
        bound = max(bound, node.bound)
        if branch is None or bound > search.threshold:
            continue
        if branch.size == 0:
            # Fixing kept changing the node: queue it again as it now stands.
            heapq.heappush(heap, (bound, counter, _Node(bound, opened, closed, lam, node.depth)))
            counter += 1
            continue
        for child_open in (True, False):
            o, c = opened.copy(), closed.copy()
            if child_open:
                o |= branch
            else:
                c |= branch
            child = _Node(bound, o, c, lam, node.depth + 1)
            heapq.heappush(heap, (bound, counter, child))
            counter += 1
    if finished:
        proven_bound = search.best_value
    else:
        proven_bound = min([b for b, _, _ in heap] + [search.best_value])
    logger.debug(
        "Lagrangian B&B: %d nodes, %d iterations, value %.6g, bound %.6g, %s",
        nodes,
        search.iterations,
        search.best_value,
        proven_bound,
        "proven" if finished else "stopped",
    )
    return BranchOutcome(
        best_open=search.best_open,
        best_value=search.best_value,
        bound=proven_bound,
        proven=finished,
        nodes=nodes,
        iterations=search.iterations,
        root_opened=root_opened,
        root_closed=root_closed,
    )
