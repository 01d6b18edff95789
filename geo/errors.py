"""Errors raised by the spatial engine.

Plain Python: each carries a user-safe ``message`` and the HTTP ``status_code`` the API
should answer with, so the web layer maps them in one place without ``geo`` knowing HTTP.
"""

from __future__ import annotations


class GeoError(Exception):
    """Base class of spatial-engine errors."""

    status_code = 422
    code = "geo_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownCRSError(GeoError):
    """A coordinate reference system name the engine does not convert."""

    code = "unknown_crs"


class OutOfServiceAreaError(GeoError):
    """A point outside the area the service covers."""

    code = "outside_service_area"
