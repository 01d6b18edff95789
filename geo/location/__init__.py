"""Exact facility location on cost matrices: p-median, MCLP, LSCP and p-center.

Pure array-in / dataclass-out models solved as MIPs with HiGHS. See ``docs/location.md``.
"""

from .errors import InfeasibleProblemError, InvalidProblemError, LocationError, SolverError
from .lscp import solve_lscp
from .mclp import covered_weight, solve_mclp
from .models import LocationProblem, LocationResult, SolveOptions, Status
from .orlib import OrlibInstance, read_orlib_pmedian
from .pcenter import solve_pcenter
from .pmedian import nearest_open_site, pmedian_objective, solve_pmedian

__all__ = [
    "InfeasibleProblemError",
    "InvalidProblemError",
    "LocationError",
    "LocationProblem",
    "LocationResult",
    "OrlibInstance",
    "SolveOptions",
    "SolverError",
    "Status",
    "covered_weight",
    "nearest_open_site",
    "pmedian_objective",
    "read_orlib_pmedian",
    "solve_lscp",
    "solve_mclp",
    "solve_pcenter",
    "solve_pmedian",
]
