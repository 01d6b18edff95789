"""The typed facility record shared by every layer.

One schema covers the registries and the read-only OSM context layers. Coordinates are
WGS84 (EPSG:4326); a facility whose position is unknown keeps ``lon``/``lat`` as ``None``
and ``location_precision`` ``unknown`` so it can be listed but is never drawn.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from layers.registry.catalog import DISTRICTS, LAYERS
from layers.registry.hours import OpeningHours

FACILITY_ID_PATTERN = r"^[a-z_]+:[A-Za-z0-9_.\-]+$"


class FacilityStatus(StrEnum):
    """Life-cycle status of a facility (yellow card = rectification notice, red = delisted)."""

    PLANNED = "planned"
    NEW = "new"
    ACTIVE = "active"
    UPGRADED = "upgraded"
    YELLOW_CARD = "yellow_card"
    RED_CARD = "red_card"
    CLOSED = "closed"


#: Statuses under which a facility serves workers and is offered by "nearest".
SERVING_STATUSES = frozenset(
    {FacilityStatus.NEW, FacilityStatus.ACTIVE, FacilityStatus.UPGRADED, FacilityStatus.YELLOW_CARD}
)


class LocationPrecision(StrEnum):
    """How the position was obtained, from most to least exact.

    ``exact`` … ``station-proxy`` describe the shipped sites; ``building``, ``road``,
    ``subdistrict`` and ``district`` are what geocoding an imported record can reach (a
    named building/park/POI, a road, only the subdistrict or only the district).
    """

    EXACT = "exact"
    EXACT_STATION = "exact-station"
    BUILDING = "building"
    HOST_SITE = "host-site"
    ADDRESS_LANDMARK = "address-landmark"
    ROAD = "road"
    DEPOT_AREA = "depot-area"
    STATION_PROXY = "station-proxy"
    SUBDISTRICT = "subdistrict"
    DISTRICT = "district"
    UNKNOWN = "unknown"


#: Precisions too coarse to publish without a reviewer looking at the pin.
COARSE_PRECISIONS = frozenset(
    {LocationPrecision.SUBDISTRICT, LocationPrecision.DISTRICT, LocationPrecision.UNKNOWN}
)


class ReviewState(StrEnum):
    """Where a record's working copy stands in review.

    ``draft`` (being edited by district staff) → ``submitted`` (in the reviewers' queue) →
    ``approved`` (the working copy is what workers see) or ``returned`` (sent back for
    changes, editable again). Every record shipped or seeded is ``approved``.
    """

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"


class CardKind(StrEnum):
    """Yellow card (整改通知书, rectification notice) or red card (摘牌通知书, delisting)."""

    YELLOW = "yellow"
    RED = "red"


class Card(BaseModel):
    """A card issued by a city reviewer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: CardKind
    reason: str = Field(min_length=1, max_length=500)
    issued_on: date
    deadline: date | None = None
    issued_by: str | None = Field(default=None, max_length=80)


class Contact(BaseModel):
    """The record's contact person at the host (staff only, never shown to workers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, max_length=80)
    phone: str | None = Field(default=None, max_length=80)
    email: str | None = Field(default=None, max_length=120)


class Facility(BaseModel):
    """A facility of any layer.

    Attributes are those the union documents record; ``extra`` keeps source-specific
    fields (OSM id, evidence for a position) that no analysis depends on.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=FACILITY_ID_PATTERN, max_length=80, examples=["relay_station:demo-0001"])
    layer: str
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    district: str | None = None
    address: str | None = Field(default=None, max_length=300)
    lon: float | None = Field(default=None, ge=-180, le=180, description="WGS84 longitude")
    lat: float | None = Field(default=None, ge=-90, le=90, description="WGS84 latitude")
    location_precision: LocationPrecision = LocationPrecision.EXACT
    uncertainty_m: float | None = Field(default=None, ge=0)
    host_type: str | None = Field(default=None, max_length=60)
    hours: OpeningHours | None = None
    services: list[str] = Field(default_factory=list)
    phone: str | None = Field(default=None, max_length=80)
    status: FacilityStatus = FacilityStatus.ACTIVE
    capacity: int | None = Field(default=None, ge=0, description="People served at once")
    area_m2: float | None = Field(default=None, ge=0)
    source: str = Field(min_length=1, max_length=300)
    demo: bool = False
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    extra: dict[str, Any] = Field(default_factory=dict)
    # -- registry management (imports, review, cards) --------------------------------------
    registry_no: str | None = Field(
        default=None, max_length=60, description="The union's registry number (统一编号)"
    )
    review: ReviewState = ReviewState.APPROVED
    last_verified: date | None = Field(
        default=None, description="The date someone last confirmed the record is true"
    )
    location_source: str | None = Field(
        default=None, max_length=200, description="Where the position came from"
    )
    flags: list[str] = Field(default_factory=list, description="Reasons a reviewer must look")
    card: Card | None = None
    partner_centre_id: str | None = Field(
        default=None, max_length=80, description="Fixed partner community health centre"
    )
    contact: Contact | None = None
    park_name: str | None = Field(default=None, max_length=200, description="所在园区（楼宇）")
    n_firms: int | None = Field(default=None, ge=0, description="企业数")
    n_workers: int | None = Field(default=None, ge=0, description="职工数")
    service_text: str | None = Field(
        default=None, max_length=1000, description="Services and hours as the form wrote them"
    )
    planned_completion: str | None = Field(
        default=None, max_length=10, description="计划完成时间, ISO year-month or date"
    )

    @field_validator("layer")
    @classmethod
    def _known_layer(cls, value: str) -> str:
        if value not in LAYERS:
            raise ValueError(f"unknown layer {value!r}; valid layers: {', '.join(LAYERS)}")
        return value

    @field_validator("district")
    @classmethod
    def _known_district(cls, value: str | None) -> str | None:
        if value is not None and value not in DISTRICTS:
            raise ValueError(f"unknown district {value!r}; valid: {', '.join(DISTRICTS)}")
        return value

    @field_validator("lon", "lat")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("coordinates must be finite numbers")
        return value

    @field_validator("updated_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    @model_validator(mode="after")
    def _consistent(self) -> Facility:
        if not self.id.startswith(f"{self.layer}:"):
            raise ValueError(f"id {self.id!r} must start with its layer, '{self.layer}:'")
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        if self.lon is None and self.location_precision is not LocationPrecision.UNKNOWN:
            raise ValueError("a facility without coordinates must have location_precision 'unknown'")
        if self.lon is not None and self.location_precision is LocationPrecision.UNKNOWN:
            raise ValueError("location_precision 'unknown' cannot have coordinates")
        vocabulary = LAYERS[self.layer].services
        unknown = [service for service in self.services if service not in vocabulary]
        if unknown:
            raise ValueError(
                f"services {unknown} are not offered by layer {self.layer!r}; "
                f"valid: {', '.join(vocabulary) or '(none)'}"
            )
        return self

    @property
    def located(self) -> bool:
        """Whether the facility has a position that may be drawn and measured."""
        return self.lon is not None and self.lat is not None

    @property
    def serving(self) -> bool:
        """Whether the facility currently serves workers."""
        return self.status in SERVING_STATUSES
