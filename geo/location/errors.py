"""Exceptions raised by the facility-location models.

Every exception carries a user-safe ``message`` (with the offending numbers in it) and an
integer ``status_code`` so that an outer layer (CLI, web API) can map it once, without this
package knowing anything about HTTP frameworks.
"""

from __future__ import annotations

from typing import Any

from geo.errors import GeoError


class LocationError(GeoError):
    """Base class of all facility-location errors.

    Parameters
    ----------
    message
        User-safe explanation, with the numbers that caused it.
    details
        Optional machine-readable numbers behind the message (JSON-serialisable).
    """

    status_code: int = 500
    status: str = "error"
    code = "location_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = dict(details or {})


class InvalidProblemError(LocationError):
    """The input arrays are malformed (shapes, NaN, negative costs, unknown indices)."""

    status_code = 422
    status = "invalid"
    code = "invalid_problem"


class InfeasibleProblemError(LocationError):
    """No set of sites satisfies the rules (counts, district minimums, budget, capacity)."""

    status_code = 422
    status = "infeasible"
    code = "infeasible_problem"


class SolverError(LocationError):
    """The MIP solver failed or stopped without any feasible solution."""

    status_code = 500
    status = "error"
    code = "solver_error"
