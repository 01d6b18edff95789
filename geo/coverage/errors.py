"""Errors of the coverage-gap engine (plain Python; each carries a status and a safe message)."""

from __future__ import annotations

from geo.errors import GeoError


class CoverageError(GeoError):
    """Base class of coverage-gap errors."""

    code = "coverage_error"


class AllocationError(CoverageError):
    """Official totals and workplace data cannot be reconciled (e.g. overrides too large)."""

    status_code = 422
    code = "allocation_error"


class InvalidThresholdError(CoverageError):
    """A threshold outside its valid range (negative minutes, walk time beyond the horizon)."""

    status_code = 422
    code = "invalid_threshold"
