"""Errors raised by the network engine.

Each error carries a user-safe ``message`` with the offending numbers in it and an integer
``status_code`` (the HTTP status an API layer should map it to). Plain Python: no web
framework is imported here.
"""

from __future__ import annotations

from geo.errors import GeoError


class NetworkError(GeoError):
    """Base class of network-engine errors.

    Parameters
    ----------
    message
        A user-safe explanation, with the numbers that caused it.
    """

    status_code: int = 400
    code: str = "network_error"


class SnapTooFarError(NetworkError):
    """A point is farther from the nearest street of the network than the snapping limit."""

    status_code = 422
    code = "snap_too_far"

    def __init__(self, snap_distance_m: float, max_snap_m: float, network: str) -> None:
        self.snap_distance_m = float(snap_distance_m)
        self.max_snap_m = float(max_snap_m)
        super().__init__(
            f"the point is {snap_distance_m:,.0f} m from the nearest street of network "
            f"{network!r}; the limit is {max_snap_m:,.0f} m"
        )


class OutOfCoverageError(NetworkError):
    """A point lies outside a network's coverage polygon and no estimate was allowed."""

    status_code = 422
    code = "out_of_coverage"

    def __init__(self, lon: float, lat: float, network: str) -> None:
        super().__init__(
            f"the point ({lon:.5f}, {lat:.5f}) is outside the coverage of network {network!r}"
        )


class NetworkFormatError(NetworkError):
    """A network folder on disk is missing arrays or has inconsistent shapes."""

    status_code = 500
    code = "network_format"


class NetworkBuildError(NetworkError):
    """The input data could not be turned into a network (no roads, unreadable file, ...)."""

    status_code = 422
    code = "network_build"


class InvalidQueryError(NetworkError):
    """Bad query parameters (negative minutes, k < 1, mismatched array shapes, ...)."""

    status_code = 422
    code = "invalid_query"
