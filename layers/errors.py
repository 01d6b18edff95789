"""Errors raised by the registry layer; each carries an HTTP status and a user-safe message."""

from __future__ import annotations


class LayersError(Exception):
    """Base class: ``status_code`` and ``message`` are safe to show to a user."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownLayerError(LayersError):
    """A layer id that is not in the catalogue."""

    status_code = 404
    code = "unknown_layer"

    def __init__(self, layer_id: str, valid: tuple[str, ...]) -> None:
        self.layer_id = layer_id
        self.valid = valid
        shown = repr(layer_id) if len(layer_id) <= 60 else repr(layer_id[:57] + "...")
        super().__init__(f"unknown layer {shown}; valid layers: {', '.join(valid)}")


class FacilityNotFoundError(LayersError):
    """No facility with the requested id."""

    status_code = 404
    code = "facility_not_found"

    def __init__(self, facility_id: str) -> None:
        self.facility_id = facility_id
        super().__init__(f"no facility with id {facility_id!r}")


class ReadOnlyLayerError(LayersError):
    """An attempt to write to a read-only context layer."""

    status_code = 409
    code = "read_only_layer"

    def __init__(self, layer_id: str) -> None:
        super().__init__(
            f"layer {layer_id!r} is read-only reference data from OpenStreetMap; "
            "rebuild it with `servicemap data build` instead"
        )


class InvalidFacilityError(LayersError):
    """A facility record that fails validation (nothing is written)."""

    status_code = 422
    code = "invalid_facility"


class StoreError(LayersError):
    """The registry store could not complete an operation (nothing is written)."""

    status_code = 503
    code = "store_unavailable"


class ForbiddenError(LayersError):
    """The caller is authenticated but may not do this (role or district)."""

    status_code = 403
    code = "forbidden"


class StaleVersionError(LayersError):
    """The record changed since the caller read it (``If-Match`` no longer matches)."""

    status_code = 412
    code = "stale_version"

    def __init__(self, facility_id: str, expected: int, current: int) -> None:
        self.facility_id = facility_id
        self.current = current
        super().__init__(
            f"record {facility_id!r} changed since you read it (you sent version {expected}, "
            f"it is now at version {current}); reload it and apply your change again"
        )


class InvalidTransitionError(LayersError):
    """A review action that does not apply to the record's current state."""

    status_code = 409
    code = "invalid_transition"
