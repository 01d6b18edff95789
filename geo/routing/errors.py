"""Errors raised by the routing package.

Each error carries a user-safe ``message`` with the offending numbers in it and an integer
``status_code`` (the HTTP status an API layer should map it to). Plain Python: no web
framework is imported here.
"""

from __future__ import annotations

from geo.errors import GeoError


class RoutingError(GeoError):
    """Base class of routing errors.

    Parameters
    ----------
    message
        A user-safe explanation, with the numbers that caused it.
    """

    status_code: int = 400
    code = "routing_error"


class InstanceFormatError(RoutingError):
    """A benchmark instance file could not be parsed."""

    status_code = 422
    code = "instance_format"


class ProblemValidationError(RoutingError):
    """A routing problem is inconsistent (bad times, unknown ids, matrix shapes, ...).

    Parameters
    ----------
    message
        Summary message.
    problems
        One message per problem found (all of them, not only the first).
    """

    status_code = 422
    code = "invalid_problem"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        full = message if not self.problems else message + ": " + "; ".join(self.problems)
        super().__init__(full)


class InfeasibleSolutionError(RoutingError):
    """The solver returned a solution that the independent checker rejects."""

    status_code = 500
    code = "infeasible_solution"
