"""Errors of the planning service: requests refused before solving (HTTP 422)."""

from __future__ import annotations

from typing import Any

from layers.errors import LayersError


class PlanRequestError(LayersError):
    """A planning request refused before solving (unknown layer, impossible rules)."""

    status_code = 422
    code = "invalid_plan"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = dict(details or {})


class PlanInfeasibleError(PlanRequestError):
    """No choice of sites satisfies the rules (counts, district limits, budget)."""

    code = "infeasible_plan"
