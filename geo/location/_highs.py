"""Thin array-level wrapper around HiGHS (``highspy``) shared by all models.

Models assemble their constraint matrix as COO blocks in a :class:`RowBuilder`, then call
:func:`solve` once; nothing here loops over constraints in Python.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from geo.highs import new_highs

from .models import SolveOptions

logger = logging.getLogger(__name__)

INF = float("inf")


@dataclass
class RowBuilder:
    """Accumulates constraint rows as COO triplets with row bounds."""

    n_cols: int
    _rows: list[np.ndarray] = field(default_factory=list)
    _cols: list[np.ndarray] = field(default_factory=list)
    _vals: list[np.ndarray] = field(default_factory=list)
    _lower: list[np.ndarray] = field(default_factory=list)
    _upper: list[np.ndarray] = field(default_factory=list)
    n_rows: int = 0

    def add(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        vals: np.ndarray | float,
        lower: np.ndarray | float,
        upper: np.ndarray | float,
        n_new_rows: int | None = None,
    ) -> int:
        """Append a block of rows.

        Parameters
        ----------
        rows
            Local row numbers (``0 .. n_new_rows-1``) of each non-zero.
        cols, vals
            Column and coefficient of each non-zero (``vals`` may be a scalar).
        lower, upper
            Row bounds, scalars or arrays of length ``n_new_rows``.
        n_new_rows
            Number of rows in the block (default ``rows.max() + 1``).

        Returns
        -------
        int
            Global index of the block's first row.
        """
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        if n_new_rows is None:
            n_new_rows = int(rows.max()) + 1 if rows.size else 0
        first = self.n_rows
        self._rows.append(rows + first)
        self._cols.append(cols)
        self._vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), rows.shape))
        self._lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n_new_rows,)))
        self._upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n_new_rows,)))
        self.n_rows += n_new_rows
        return first

    def matrix(self) -> tuple[sp.csc_array, np.ndarray, np.ndarray]:
        """Return ``(A, row_lower, row_upper)`` with ``A`` in compressed-column form."""
        if not self._rows:
            empty = np.zeros(0)
            return sp.csc_array((0, self.n_cols)), empty, empty
        rows = np.concatenate(self._rows)
        cols = np.concatenate(self._cols)
        vals = np.concatenate(self._vals)
        a = sp.csc_array((vals, (rows, cols)), shape=(self.n_rows, self.n_cols))
        a.sum_duplicates()
        return a, np.concatenate(self._lower), np.concatenate(self._upper)


@dataclass(frozen=True)
class Outcome:
    """What HiGHS returned, reduced to what the models need."""

    status: str
    """``optimal``, ``infeasible``, ``time_limit`` or ``other``."""
    x: np.ndarray | None
    objective: float
    bound: float
    nodes: int
    seconds: float
    detail: str


def solve(
    cost: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    rows: RowBuilder,
    integer: np.ndarray | None,
    options: SolveOptions,
    *,
    maximize: bool = False,
    offset: float = 0.0,
    time_limit_s: float | None = None,
    start: np.ndarray | None = None,
    extra_options: dict[str, bool | int | float | str] | None = None,
) -> Outcome:
    """Solve ``min/max cost @ x + offset`` subject to the rows and column bounds.

    Parameters
    ----------
    cost, col_lower, col_upper
        Objective coefficients and column bounds.
    rows
        The constraint rows.
    integer
        Boolean mask of integer columns; ``None`` solves the LP relaxation.
    options
        Gap, seed, threads and logging.
    maximize
        Maximise instead of minimise.
    offset
        Constant added to the objective.
    time_limit_s
        Overrides ``options.time_limit_s`` (remaining time of a multi-round solve).
    start
        A full feasible column vector handed to HiGHS as the incumbent.
    extra_options
        Further HiGHS options by name.

    Returns
    -------
    Outcome
        Status, primal values (``None`` if no solution), objective, bound and counters.
    """
    t0 = time.perf_counter()
    a, row_lower, row_upper = rows.matrix()
    n_cols = len(cost)
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = a.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(col_lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(col_upper, dtype=np.float64)
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.offset_ = float(offset)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = a.shape[0]
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    is_mip = integer is not None and bool(np.any(integer))
    if is_mip:
        kinds = np.where(integer, highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous)
        lp.integrality_ = list(kinds)
    h = new_highs(log=bool(options.log))
    h.setOptionValue("random_seed", int(options.seed))
    if options.threads > 0:
        h.setOptionValue("threads", int(options.threads))
    limit = options.time_limit_s if time_limit_s is None else time_limit_s
    h.setOptionValue("time_limit", max(float(limit), 0.01))
    h.setOptionValue("mip_rel_gap", float(options.rel_gap))
    h.setOptionValue("mip_abs_gap", 1e-7)
    for name, value in (extra_options or {}).items():
        h.setOptionValue(name, value)
    h.passModel(lp)
    if start is not None and is_mip:
        solution = highspy.HighsSolution()
        solution.col_value = np.asarray(start, dtype=np.float64)
        solution.value_valid = True
        h.setSolution(solution)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    status_map = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
        highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    }
    status = status_map.get(model_status, "other")
    has_solution = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=np.float64) if has_solution else None
    objective = float(info.objective_function_value) if has_solution else float("nan")
    if is_mip:
        bound = float(info.mip_dual_bound)
        nodes = int(info.mip_node_count)
    else:
        bound = objective if status == "optimal" else float("nan")
        nodes = 0
    seconds = time.perf_counter() - t0
    logger.debug(
        "HiGHS %s: %d cols, %d rows, %d nz -> %s obj=%s bound=%s nodes=%d in %.2fs",
        "MIP" if is_mip else "LP",
        n_cols,
        a.shape[0],
        a.nnz,
        status,
        objective,
        bound,
        nodes,
        seconds,
    )
    return Outcome(
        status=status,
        x=x,
        objective=objective,
        bound=bound,
        nodes=nodes,
        seconds=seconds,
        detail=h.modelStatusToString(model_status),
    )
