"""What a geocoding answers: a placement with its precision, source, score and candidates.

Plain dataclasses (no pydantic): :mod:`geo.geocode` returns them and the registry layer turns
them into records or API answers. Coordinates are WGS84 degrees; distances are metres.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Precision(StrEnum):
    """How precisely a record was placed, from finest to coarsest.

    ``exact``: coordinates given in the sheet, or an address point with the house number;
    ``building``: a named building, POI, park, hospital or station matched;
    ``road``: on the named road (at the house number when interpolable, at a cross street,
    else its midpoint within the district or subdistrict); ``subdistrict``, ``district``: the
    representative point of that area; ``unknown``: not placed.
    """

    EXACT = "exact"
    BUILDING = "building"
    ROAD = "road"
    SUBDISTRICT = "subdistrict"
    DISTRICT = "district"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """0 for ``exact`` up to 5 for ``unknown`` (larger is coarser)."""
        return _RANK[self]

    def finer_than(self, other: Precision) -> bool:
        """Whether this precision is strictly finer than ``other``."""
        return self.rank < other.rank


_RANK = {precision: index for index, precision in enumerate(Precision)}

#: Precisions a caller must flag for review whatever else is known.
COARSE_PRECISIONS = frozenset({Precision.SUBDISTRICT, Precision.DISTRICT, Precision.UNKNOWN})


@dataclass(frozen=True)
class Candidate:
    """One gazetteer entry (or provider answer) the staff editor may choose instead.

    Attributes
    ----------
    name
        The entry's own name.
    kind
        Gazetteer kind (``hospital``, ``park``, ``metro_station``, ``road`` ...).
    source
        Stable source id, e.g. ``gazetteer:osm_poi:n123``.
    lon, lat
        WGS84 position of the entry.
    score
        Match score 0-100 after the district/road adjustments.
    distance_m
        Distance from the chosen point (``None`` when nothing was chosen).
    district
        District the entry lies in.
    """

    name: str
    kind: str
    source: str
    lon: float
    lat: float
    score: float
    distance_m: float | None = None
    district: str | None = None


@dataclass
class Placement:
    """The position chosen for one record and how far to trust it.

    Attributes
    ----------
    lon, lat
        WGS84 degrees, ``None`` when ``precision`` is ``unknown``.
    precision
        See :class:`Precision`.
    source
        Where the point comes from: ``sheet``, ``gazetteer:osm_poi:<id>``, ``gazetteer:road``,
        ``gazetteer:subdistrict:<code>``, ``amap``, ``tianditu`` ...
    score
        Confidence 0-100 of the chosen match (100 for sheet coordinates).
    uncertainty_m
        Rough radius within which the true position lies (``None`` when unknown).
    matched_name
        Name of the gazetteer entry (or road) chosen.
    district, subdistrict
        Where the chosen point lies (point in polygon; the subdistrict only where polygons
        exist, the eight central districts).
    named_district
        The district the form (or address) names, normalised.
    outside_named_district
        The point lies in another district than the form names.
    needs_review
        The placement should be checked by staff (see ``reasons``).
    reasons
        Short machine-readable reasons (``coarse_precision``, ``ambiguous_name`` ...).
    candidates
        The best alternatives, for the staff editor to choose from.
    notes
        Human-readable notes (provider errors, quota state, parser remarks).
    """

    lon: float | None
    lat: float | None
    precision: Precision
    source: str
    score: float = 0.0
    uncertainty_m: float | None = None
    matched_name: str | None = None
    district: str | None = None
    subdistrict: str | None = None
    named_district: str | None = None
    outside_named_district: bool = False
    needs_review: bool = False
    reasons: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def located(self) -> bool:
        """Whether the placement has coordinates."""
        return self.lon is not None and self.lat is not None

    def flag(self, reason: str) -> None:
        """Mark the placement for review with a reason (kept once)."""
        self.needs_review = True
        if reason not in self.reasons:
            self.reasons.append(reason)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (precision as its string value)."""
        data = asdict(self)
        data["precision"] = self.precision.value
        return data


def unknown_placement(named_district: str | None = None, reason: str = "no_match") -> Placement:
    """A placement without coordinates, flagged for review."""
    placement = Placement(
        lon=None, lat=None, precision=Precision.UNKNOWN, source="none", named_district=named_district
    )
    placement.flag("coarse_precision")
    placement.flag(reason)
    return placement
