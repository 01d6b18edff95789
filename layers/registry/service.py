"""The registry service: facility records, their spatial indexes and seeding from shipped data.

Routers and CLIs talk to :class:`Registry`; it talks to a :class:`FacilityStore` and to the
pure engine in ``geo``. Spatial indexes are built lazily per layer and rebuilt when the
store reports a new layer version, so an edit is visible to the next query. Every lazily
built value (layer indexes, serving lists, the service-area polygon) is built once per key
even when many request threads ask together (:class:`geo._once.OnceMap`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from geo._once import OnceMap, freeze_arrays, once_property
from geo._prepared import SharedPrepared
from geo.nearest import PointIndex
from layers.errors import FacilityNotFoundError, ReadOnlyLayerError
from layers.registry import shipped
from layers.registry.catalog import LAYERS, LayerInfo, LayerKind, get_layer
from layers.registry.schema import SERVING_STATUSES, Facility, FacilityStatus
from layers.store import FacilityPage, FacilityQuery, FacilityStore

logger = logging.getLogger(__name__)

DATA_VERSION_KEY = "data_version"

#: Seconds between checks of the store's layer versions (writes made through this registry
#: are seen at once; writes by other processes within this delay).
VERSION_CHECK_INTERVAL_S = 1.0


_STATUS_ORDER: dict[FacilityStatus, int] = {status: i for i, status in enumerate(FacilityStatus)}
_SERVING_MASK = np.array([status in SERVING_STATUSES for status in FacilityStatus], dtype=bool)


@dataclass(frozen=True)
class LayerSummary:
    """A layer with its current record count and whether its records are demonstration data."""

    info: LayerInfo
    count: int
    demo: bool


@dataclass(frozen=True)
class NearestHit:
    """One straight-line nearest result."""

    facility: Facility
    distance_m: float


@dataclass
class _LayerIndex:
    version: int
    facilities: list[Facility]
    index: PointIndex
    status_codes: np.ndarray  # int8 index into FacilityStatus per facility
    service_bits: np.ndarray  # int64 bit mask over the layer's service vocabulary
    checked_at: float


class Registry:
    """Facility registries backed by a store, with cached per-layer spatial indexes.

    Parameters
    ----------
    store
        The storage backend.
    data_dir
        The shipped data directory (``data/``) used for seeding and map layers.
    """

    def __init__(self, store: FacilityStore, data_dir: Path) -> None:
        self.store = store
        self.data_dir = Path(data_dir)
        self._indexes: OnceMap[str, _LayerIndex] = OnceMap()
        self._serving: OnceMap[tuple[str, str | None], tuple[int, list[Facility]]] = OnceMap()

    # --- seeding -------------------------------------------------------------------------
    def seed_from_shipped(self, force: bool = False) -> dict[str, int]:
        """Load shipped layers into the store when the shipped data changed.

        Context layers (OSM reference data) are replaced whenever the shipped data version
        differs from the one recorded in the store. Registry layers are seeded only when the
        store holds no record of that layer, so edits and imports are never overwritten.

        Returns
        -------
        dict
            Records written per layer (empty when the store was up to date).
        """
        version = shipped.data_version(self.data_dir)
        if not force and self.store.get_meta(DATA_VERSION_KEY) == version:
            return {}
        counts = self.store.counts()
        written: dict[str, int] = {}
        for layer in shipped.shipped_layers(self.data_dir):
            info = LAYERS.get(layer)
            if info is None:
                logger.warning("shipped layer %s is not in the catalogue; skipped", layer)
                continue
            if info.kind is LayerKind.REGISTRY:
                if counts.get(layer, 0) and not force:
                    continue
                # registry layers get approved working copies next to their public copies
                written[layer] = self.store.seed_registry_layer(
                    layer, list(shipped.iter_facilities(self.data_dir, layer))
                )
                continue
            written[layer] = self.store.replace_layer(
                layer, shipped.iter_facilities(self.data_dir, layer)
            )
        self.store.set_meta(DATA_VERSION_KEY, version)
        self.invalidate()
        logger.info("seeded store from shipped data %s: %s", version, written)
        return written

    # --- reading -------------------------------------------------------------------------
    def layer_summaries(self) -> list[LayerSummary]:
        """Every catalogue layer with its count and demo flag, registries first."""
        counts = self.store.counts()
        return [
            LayerSummary(info, counts.get(layer_id, 0), self._layer_is_demo(layer_id))
            for layer_id, info in LAYERS.items()
        ]

    def _layer_is_demo(self, layer_id: str) -> bool:
        cached = self._layer_index(layer_id)
        return bool(cached.facilities) and all(f.demo for f in cached.facilities)

    def features(self, query: FacilityQuery) -> FacilityPage:
        """A page of facilities matching ``query`` (the layer must exist)."""
        if query.layer is not None:
            get_layer(query.layer)
        return self.store.query(query)

    def get(self, facility_id: str) -> Facility:
        """The facility with this id.

        Raises
        ------
        FacilityNotFoundError
            When there is none.
        """
        found = self.store.get(facility_id)
        if found is None:
            raise FacilityNotFoundError(facility_id)
        return found

    def located(self, layer: str) -> list[Facility]:
        """The located facilities of a layer, in index order (cached)."""
        return self._layer_index(layer).facilities

    def serving(self, layer: str, service: str | None = None) -> tuple[int, list[Facility]]:
        """The located, serving facilities of a layer (optionally offering ``service``).

        Returns
        -------
        version, facilities
            ``version`` changes whenever the layer does (a cache key for derived indexes).
        """
        cached = self._layer_index(layer)
        key = (layer, service)
        hit = self._serving.peek(key)
        if hit is not None and hit[0] == cached.version:
            return hit
        if service is not None and service not in LAYERS[layer].services:
            return cached.version, []
        return self._serving.get(key, lambda: _serving_list(cached, layer, service),
                                 valid=lambda hit: hit[0] == cached.version)  # fmt: skip

    def nearest(
        self,
        lon: float,
        lat: float,
        layer: str,
        k: int = 5,
        service: str | None = None,
        open_at: datetime | None = None,
        statuses: Iterable[FacilityStatus] | None = None,
    ) -> list[NearestHit]:
        """The ``k`` nearest located facilities of ``layer`` by great-circle distance.

        Parameters
        ----------
        lon, lat
            Query point, WGS84 degrees.
        layer
            Layer id.
        k
            Number of results.
        service
            Only facilities offering this service.
        open_at
            Only facilities whose opening hours say they are open then (unknown hours
            never match).
        statuses
            Accepted statuses; default: those that serve workers (new, active, upgraded,
            yellow card).
        """
        info = get_layer(layer)
        cached = self._layer_index(layer)
        if statuses is None:
            status_ok = _SERVING_MASK
        else:
            status_ok = np.zeros(len(_STATUS_ORDER), dtype=bool)
            status_ok[[_STATUS_ORDER[FacilityStatus(s)] for s in statuses]] = True
        service_bit = (
            np.int64(1) << np.int64(info.services.index(service))
            if service is not None and service in info.services
            else None
        )
        if service is not None and service_bit is None:
            return []

        def accept(candidates: np.ndarray) -> np.ndarray:
            keep = status_ok[cached.status_codes[candidates]]
            if service_bit is not None:
                keep &= (cached.service_bits[candidates] & service_bit) != 0
            if open_at is not None:
                for j in np.flatnonzero(keep):
                    hours = cached.facilities[int(candidates[j])].hours
                    keep[j] = hours is not None and hours.is_open(open_at)
            return keep

        distance, index = cached.index.query_filtered(lon, lat, k, accept)
        return [
            NearestHit(cached.facilities[int(i)], float(d))
            for d, i in zip(distance, index, strict=True)
        ]

    def is_fresh(self, layer: str) -> bool:
        """Whether a query of ``layer`` now would neither read the store nor build anything.

        True while the layer's index is built and its version was checked within most of
        :data:`VERSION_CHECK_INTERVAL_S`; an event-loop caller answers inline then and
        hands the query to a thread otherwise.
        """
        cached = self._indexes.peek(layer)
        return cached is not None and (
            time.monotonic() - cached.checked_at < 0.8 * VERSION_CHECK_INTERVAL_S
        )

    def _layer_index(self, layer: str) -> _LayerIndex:
        cached = self._indexes.peek(layer)
        now = time.monotonic()
        if cached is not None and now - cached.checked_at < VERSION_CHECK_INTERVAL_S:
            return cached
        version = self.store.layer_version(layer)
        if cached is not None and cached.version == version:
            cached.checked_at = now
            return cached
        return self._indexes.get(layer, lambda: self._build_index(layer, version),
                                 valid=lambda index: index.version == version)  # fmt: skip

    def _build_index(self, layer: str, version: int) -> _LayerIndex:
        vocabulary = {service: bit for bit, service in enumerate(LAYERS[layer].services)}
        facilities = [f for f in self.store.all_in_layer(layer) if f.located]
        lon = np.array([f.lon for f in facilities], dtype=float)
        lat = np.array([f.lat for f in facilities], dtype=float)
        status_codes = np.array([_STATUS_ORDER[f.status] for f in facilities], dtype=np.int8)
        service_bits = np.array(
            [sum(1 << vocabulary[s] for s in set(f.services)) for f in facilities], dtype=np.int64
        )
        logger.debug("indexed %d facilities of %s (version %s)", len(facilities), layer, version)
        return freeze_arrays(_LayerIndex(version, facilities, PointIndex(lon, lat), status_codes,
                                         service_bits, time.monotonic()))  # fmt: skip

    def warm_up(self) -> None:
        """Build every layer's index and the service area now (in the background at start-up)."""
        try:
            _ = self._service_area
            for layer in LAYERS:
                self._layer_index(layer)
        except Exception:  # a failed warm-up only costs the first request its speed
            logger.exception("warm-up of the facility indexes failed")

    def invalidate(self, layer: str | None = None) -> None:
        """Forget cached indexes (all, or one layer's) so the next query rebuilds them.

        Waits for a build of the same layer under way, so it cannot store a stale index
        after this returns.
        """
        if layer is None:
            self._indexes.clear()
        else:
            self._indexes.discard(layer)

    def invalidate_layers(self, layers: set[str]) -> None:
        """Forget the cached indexes of ``layers`` (after their public copies changed)."""
        for layer in layers:
            self.invalidate(layer)

    # --- writing -------------------------------------------------------------------------
    def upsert(self, facilities: Iterable[Facility], actor: str = "system") -> int:
        """Write registry records as approved and published, bypassing review (all or nothing).

        For trusted writers (tests, data loading); staff edits go through
        :class:`layers.registry.workflow.RegistryWorkflow`. Each record's working copy gets
        a new version and an audit line.

        Raises
        ------
        ReadOnlyLayerError
            When any record belongs to a context layer; nothing is written.
        """
        from layers.registry.workflow import diff_fields, public_copy
        from layers.store.records import AuditEntry

        batch = list(facilities)
        for facility in batch:
            if LAYERS[facility.layer].kind is not LayerKind.REGISTRY:
                raise ReadOnlyLayerError(facility.layer)
        with self.store.registry_transaction() as sql:
            for facility in batch:
                current = sql.get(facility.id, lock=True)
                version = 1 if current is None else current.version + 1
                sql.put(facility, version=version, published=True, updated_by=actor)
                sql.publish(public_copy(facility))
                sql.audit(AuditEntry(
                    action="write", actor=actor, role=None, facility_id=facility.id,
                    layer=facility.layer, district=facility.district,
                    changes=diff_fields(None if current is None else current.facility, facility),
                ))  # fmt: skip
        for layer in {facility.layer for facility in batch}:
            self.invalidate(layer)
        return len(batch)

    def delete(self, facility_id: str) -> None:
        """Delete a registry record.

        Raises
        ------
        FacilityNotFoundError
            When there is no such record.
        ReadOnlyLayerError
            When it belongs to a context layer.
        """
        facility = self.get(facility_id)
        if LAYERS[facility.layer].kind is not LayerKind.REGISTRY:
            raise ReadOnlyLayerError(facility.layer)
        self.store.delete(facility_id)
        with self.store.registry_transaction() as sql:
            sql.conn.execute(
                f"DELETE FROM registry_records WHERE id = {sql.d.placeholder}", (facility_id,)
            )
        self.invalidate(facility.layer)

    # --- geography -----------------------------------------------------------------------
    @once_property
    def _service_area(self) -> SharedPrepared:
        collection = shipped.load_geojson(self.data_dir, "service_area")
        return SharedPrepared(shape(collection["features"][0]["geometry"]))

    def in_service_area(self, lon: float, lat: float) -> bool:
        """Whether a WGS84 point lies in the service area (the municipality, buffered)."""
        return bool(self._service_area.contains_xy(lon, lat))

    @once_property
    def _district_shapes(self) -> list[tuple[str, Any]]:
        collection = shipped.load_geojson(self.data_dir, "districts")
        return [(f["properties"]["name"], shape(f["geometry"])) for f in collection["features"]]

    def district_at(self, lon: float, lat: float) -> str | None:
        """The district (of the 16) containing a WGS84 point, or ``None`` outside them all.

        Uses the shipped land districts (simplified to about 20 m) without prepared
        geometries, so it is safe from any thread.
        """
        for name, polygon in self._district_shapes:
            if shapely.contains_xy(polygon, lon, lat):
                return str(name)
        return None


def _serving_list(
    cached: _LayerIndex, layer: str, service: str | None
) -> tuple[int, list[Facility]]:
    """The serving facilities of a layer index (offering ``service`` if given)."""
    keep = _SERVING_MASK[cached.status_codes]
    if service is not None:
        bit = np.int64(1) << np.int64(LAYERS[layer].services.index(service))
        keep &= (cached.service_bits & bit) != 0
    return cached.version, [cached.facilities[int(i)] for i in np.flatnonzero(keep)]
