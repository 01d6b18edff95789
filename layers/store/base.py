"""The registry store interface: one small base class, two backends (SQLite, PostGIS).

Backends are chosen by URL (``sqlite:///path`` or ``postgresql://...``) through
:func:`layers.store.open_store`. Every write is transactional: a batch either lands whole
or not at all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from layers.registry.schema import Facility, FacilityStatus

if TYPE_CHECKING:
    from layers.store.cql import CQLFilter


@dataclass(frozen=True)
class BBox:
    """A WGS84 bounding box (west, south, east, north) in degrees."""

    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True)
class FacilityQuery:
    """Filters for listing facilities; ``None`` means no filter.

    ``filters`` are CQL2 expressions (:mod:`layers.store.cql`) that the backend compiles
    into its ``WHERE`` clause, all of them to hold.
    """

    layer: str | None = None
    bbox: BBox | None = None
    district: str | None = None
    statuses: Sequence[FacilityStatus] | None = None
    limit: int = 100
    offset: int = 0
    filters: Sequence[CQLFilter] = ()


@dataclass(frozen=True)
class FacilityPage:
    """One page of a listing with the total number of matches."""

    items: list[Facility]
    total: int


class FacilityStore(ABC):
    """Storage for facility records.

    Implementations must validate nothing themselves (records arrive as validated
    :class:`Facility` objects) but must keep writes atomic and report per-layer versions so
    that caches (the nearest index, network labels) know when to rebuild.
    """

    #: Backend name shown in logs and ``/healthz``.
    backend: str = "abstract"

    @abstractmethod
    def init_schema(self) -> None:
        """Create tables and indexes if they do not exist (idempotent)."""

    @abstractmethod
    def upsert_many(self, facilities: Iterable[Facility]) -> int:
        """Insert or replace records by id in one transaction; return how many were written."""

    @abstractmethod
    def replace_layer(self, layer: str, facilities: Iterable[Facility]) -> int:
        """Atomically replace every record of ``layer`` with ``facilities``."""

    @abstractmethod
    def get(self, facility_id: str) -> Facility | None:
        """The record with this id, or ``None``."""

    @abstractmethod
    def delete(self, facility_id: str) -> bool:
        """Delete a record; return whether it existed."""

    @abstractmethod
    def query(self, query: FacilityQuery) -> FacilityPage:
        """List records matching ``query`` ordered by id, with the total match count.

        ``bbox`` matches located facilities whose point lies inside the box (edges
        included) and must use the backend's spatial index.
        """

    @abstractmethod
    def all_in_layer(self, layer: str) -> list[Facility]:
        """Every record of a layer, ordered by id."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of records per layer (layers with none are absent)."""

    @abstractmethod
    def layer_version(self, layer: str) -> int:
        """A number that changes whenever any record of ``layer`` is written or deleted."""

    @abstractmethod
    def get_meta(self, key: str) -> str | None:
        """A value from the store's key/value metadata table (e.g. the data version)."""

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> FacilityStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
