"""Site rules shared by every model: number of new sites, groups (districts), budget.

The rules act on the binary ``y`` variables of the eligible sites only; existing (fixed)
sites are constants and never count towards the number of new sites, group limits or budget.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np

from ._highs import INF, RowBuilder
from .errors import InvalidProblemError
from .models import GroupLimit, LocationProblem


@dataclass(frozen=True)
class Groups:
    """Group (district) limits resolved to integer codes.

    Attributes
    ----------
    labels
        Group labels, indexed by code.
    code_of_site
        ``(n_sites,)`` group code of every column, ``-1`` for no group.
    minimum, maximum
        ``(n_groups,)`` minimum and maximum numbers of new sites (``maximum`` may be large).
    """

    labels: tuple[Hashable, ...]
    code_of_site: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray

    @property
    def active(self) -> bool:
        """Whether any group limit actually constrains the choice."""
        return bool(np.any(self.minimum > 0) or np.any(np.isfinite(self.maximum)))


def _limit_array(
    limit: GroupLimit, labels: tuple[Hashable, ...], default: float, name: str
) -> np.ndarray:
    out = np.full(len(labels), default, dtype=np.float64)
    if limit is None:
        return out
    if isinstance(limit, Mapping):
        index = {label: k for k, label in enumerate(labels)}
        unknown = [label for label in limit if label not in index]
        if unknown:
            msg = f"{name} names groups {unknown[:5]} that no site belongs to"
            raise InvalidProblemError(msg, {"unknown_groups": [str(u) for u in unknown]})
        for label, value in limit.items():
            out[index[label]] = value
    else:
        out[:] = limit
    if np.any(out < 0) or np.any(np.isnan(out)):
        msg = f"{name} must be non-negative, got {limit!r}"
        raise InvalidProblemError(msg)
    return out


def resolve_groups(problem: LocationProblem) -> Groups:
    """Resolve ``site_group``/``group_min``/``group_max`` into integer arrays.

    An integer ``group_min``/``group_max`` applies to every group label that occurs in
    ``site_group`` (so "at least one per district" fails loudly for a district without an
    eligible site rather than silently skipping it).
    """
    n_sites = problem.n_sites
    if problem.site_group is None:
        if problem.group_min is not None or problem.group_max is not None:
            if isinstance(problem.group_min, Mapping) or isinstance(problem.group_max, Mapping):
                msg = "group_min/group_max given without site_group"
                raise InvalidProblemError(msg)
            if (problem.group_min or 0) > 0 or problem.group_max is not None:
                msg = "group_min/group_max given without site_group"
                raise InvalidProblemError(msg)
        return Groups((), np.full(n_sites, -1), np.zeros(0), np.zeros(0))
    raw = list(problem.site_group)
    if len(raw) != n_sites:
        msg = f"site_group has {len(raw)} entries for {n_sites} sites"
        raise InvalidProblemError(msg)
    labels: list[Hashable] = []
    index: dict[Hashable, int] = {}
    codes = np.full(n_sites, -1, dtype=np.int64)
    for j, label in enumerate(raw):
        if label is None or (isinstance(label, float) and np.isnan(label)):
            continue
        if label not in index:
            index[label] = len(labels)
            labels.append(label)
        codes[j] = index[label]
    label_tuple = tuple(labels)
    minimum = _limit_array(problem.group_min, label_tuple, 0.0, "group_min")
    maximum = _limit_array(problem.group_max, label_tuple, INF, "group_max")
    return Groups(label_tuple, codes, minimum, maximum)


def add_site_rules(
    builder: RowBuilder,
    problem: LocationProblem,
    groups: Groups,
    y_cols: np.ndarray,
    *,
    n_new_sites: int | None,
    exact_count: bool = True,
) -> None:
    """Add the count, group and budget rows over the eligible sites' ``y`` columns.

    Parameters
    ----------
    builder
        Row builder of the model.
    problem
        The instance (its ``eligible_sites`` are the columns ``y_cols`` refer to).
    groups
        Resolved groups.
    y_cols
        Model column of ``y`` for each eligible site (same order as ``eligible_sites``).
    n_new_sites
        Number of new sites, or ``None`` for no count row.
    exact_count
        ``sum y == n_new_sites`` if true, else ``sum y <= n_new_sites``.
    """
    eligible = problem.eligible_sites
    k = len(eligible)
    if n_new_sites is not None and k:
        lower = float(n_new_sites) if exact_count else 0.0
        builder.add(np.zeros(k), y_cols, 1.0, lower, float(n_new_sites), 1)
    if groups.active and k:
        codes = groups.code_of_site[eligible]
        in_group = codes >= 0
        used = np.unique(codes[in_group])
        limited = used[(groups.minimum[used] > 0) | np.isfinite(groups.maximum[used])]
        if limited.size:
            local = np.full(len(groups.labels), -1)
            local[limited] = np.arange(limited.size)
            mask = in_group & (local[np.maximum(codes, 0)] >= 0)
            builder.add(
                local[codes[mask]],
                y_cols[mask],
                1.0,
                groups.minimum[limited],
                groups.maximum[limited],
                limited.size,
            )
    if problem.budget is not None and problem.site_cost is not None and k:
        builder.add(
            np.zeros(k), y_cols, problem.site_cost[eligible], -INF, float(problem.budget), 1
        )
