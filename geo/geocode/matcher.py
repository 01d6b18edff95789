"""The offline placement chain: sheet coordinates → address point → named place → road →
subdistrict → district → unknown.

Given a record's name, address, district (and the park or building it sits in), the matcher
looks the names up in the gazetteer, constrained to the named district and checked against
the named road, and returns a :class:`~geo.geocode.placement.Placement`:

* **exact** when the sheet gives coordinates (converted from GCJ-02/BD-09 when said so), or
  an OSM address point has the road and house number;
* **building** when a named place matches (score ≥ 86 after adjustments, and no equally good
  namesake more than 300 m away, unless the named road tells them apart);
* **road** at the house number (interpolated between address points), at the cross street
  (``近真北路``), else at the middle of the road within the subdistrict or district;
* **subdistrict** / **district** at the area's representative point; **unknown** otherwise.

Score adjustments for a named place: −15 outside the named district, +5 within 200 m of the
named road, −10 beyond 1.5 km from it, +3 in the named subdistrict, +4 when the kind agrees
with the name (医院 → hospital, 站 → metro station, 公园 → park ...). Scores rank above
100 internally and are reported clipped to 100.

A placement is flagged for review when it is coarser than road, when its uncertainty
exceeds 500 m, when the match was ambiguous, or when the point lies outside the named
district. Pure: strings and arrays in, dataclasses out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from geo.crs import to_wgs84
from geo.errors import UnknownCRSError
from geo.geocode.address import ParsedAddress, SubdistrictNames, parse_address
from geo.geocode.gazetteer import Area, Gazetteer
from geo.geocode.normalize import (
    canonical_district,
    clean_text,
    normalize_name,
    split_district,
    strip_city,
)
from geo.geocode.placement import (
    COARSE_PRECISIONS,
    Candidate,
    Placement,
    Precision,
    unknown_placement,
)
from geo.geocode.roads import (
    RoadPoint,
    crossing,
    distance_to_roads_m,
    interpolate_number,
    metric_polygon,
    midpoint,
)

ACCEPT_SCORE = 86.0
AMBIGUITY_MARGIN = 3.0
AMBIGUITY_DISTANCE_M = 300.0
OUTSIDE_DISTRICT_PENALTY = 15.0
NEAR_ROAD_M, NEAR_ROAD_BONUS = 200.0, 5.0
FAR_ROAD_M, FAR_ROAD_PENALTY = 1500.0, 10.0
SUBDISTRICT_BONUS = 3.0
KIND_BONUS = 4.0
#: Placements less certain than this are flagged for review (metres).
REVIEW_UNCERTAINTY_M = 500.0
#: A sheet position this far from the matched named place is flagged (metres).
SHEET_CONFLICT_M = 1000.0
POINT_UNCERTAINTY_M = 50.0
ADDRESS_POINT_UNCERTAINTY_M = 25.0
MAX_CANDIDATES = 5
#: A rough box around Shanghai for checking sheet coordinates (degrees).
SHANGHAI_BOX = (120.8, 30.6, 122.2, 31.95)

#: Facility words stripped from a record name to find the host building or park
#: (``恒隆广场职工健身驿站`` → ``恒隆广场``), longest first.
FACILITY_WORDS: tuple[str, ...] = (
    "户外职工爱心接力站", "职工健身驿站", "爱心妈咪小屋", "园区健康服务点", "楼宇健康服务点",
    "职工工间休息室", "党群服务中心", "职工服务中心", "健康服务点", "健康服务站", "爱心接力站",
    "工间休息室", "职工休息室", "党群服务站", "职工服务站", "职工书屋", "妈咪小屋", "健身驿站",
    "接力站", "休息室", "服务点", "服务站", "驿站",
)
_KIND_HINTS: tuple[tuple[str, frozenset[str]], ...] = (
    ("社区卫生服务中心", frozenset({"community_health"})),
    ("医院", frozenset({"hospital"})),
    ("站", frozenset({"metro_station"})),
    ("公园", frozenset({"park"})),
    ("园区", frozenset({"industrial_park", "commercial_area"})),
    ("银行", frozenset({"bank"})),
)
_SUBDISTRICT_IN_NAME = re.compile(r"([\u4e00-\u9fff]{2,6}?(?:街道|镇))")


@dataclass(frozen=True)
class GeocodeQuery:
    """One record to place. Coordinates, when given, are in ``crs`` (WGS84 by default)."""

    name: str | None = None
    address: str | None = None
    district: str | None = None
    park_name: str | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str | None = None


@dataclass
class _Scored:
    place: int
    score: float
    role: str
    key: str
    reasons: list[str] = field(default_factory=list)


def host_name(name: str | None) -> str | None:
    """The host building or park a facility name starts with, or ``None``."""
    value = clean_text(name)
    stripped = value
    changed = True
    while changed:
        changed = False
        for word in FACILITY_WORDS:
            if stripped.endswith(word) and len(stripped) > len(word) + 1:
                stripped = stripped[: -len(word)]
                changed = True
    stripped = stripped.removesuffix("职工").removesuffix("户外")
    return stripped if stripped != value and len(stripped) >= 2 else None


class OfflineGeocoder:
    """Place records with a :class:`~geo.geocode.gazetteer.Gazetteer` only (no network).

    Parameters
    ----------
    gazetteer
        The loaded gazetteer (with district/subdistrict polygons for point-in-polygon).
    """

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self.subdistricts = SubdistrictNames(gazetteer.subdistrict_list())
        self._metric_polygons: dict[str, object] = {}

    # -- public ---------------------------------------------------------------------------
    def parse(self, address: str | None) -> ParsedAddress:
        """Parse an address with the gazetteer's subdistrict names."""
        return parse_address(address, self.subdistricts)

    def place(self, query: GeocodeQuery) -> Placement:
        """Place one record offline (see the module docstring for the chain)."""
        parsed = self.parse(query.address)
        named = self._named_district(query, parsed)
        if parsed.other_region:
            placement = unknown_placement(named, "address_outside_shanghai")
            placement.notes.append(f"address names {parsed.other_region}")
            return placement
        subdistrict = parsed.subdistrict or self._subdistrict_from_name(query.name, named)
        roads = self._resolve_roads(parsed, named)
        pool = self._name_candidates(query, parsed, named, subdistrict, roads)
        sheet = self._sheet_point(query)
        ambiguous = False
        if sheet is not None:
            placement = self._from_sheet(sheet, query, pool)
        else:
            by_name, ambiguous = self._from_names(pool)
            placement = (
                self._from_address_point(parsed, roads)
                or by_name
                or self._from_road(parsed, roads, subdistrict, named)
                or self._from_area(subdistrict, named)
                or unknown_placement(named)
            )
        return self._finish(placement, named, pool, ambiguous)

    # -- inputs ---------------------------------------------------------------------------
    def _named_district(self, query: GeocodeQuery, parsed: ParsedAddress) -> str | None:
        named = canonical_district(query.district) or parsed.district
        if named is None and query.name:
            named, _ = split_district(strip_city(clean_text(query.name)))
        return named

    def _subdistrict_from_name(self, name: str | None, district: str | None) -> str | None:
        text = clean_text(name)
        if not text:
            return None
        found = self.subdistricts.find(text, district)
        if found:
            return found
        _, rest = split_district(strip_city(text))
        match = _SUBDISTRICT_IN_NAME.search(rest)
        if match is None:
            return None
        written = match.group(1)
        if self.gazetteer.subdistrict_area(written, district):
            return written
        # 华泾街道 written for the town 华泾镇 (and the other way round)
        head = re.sub(r"(街道|镇)$", "", written)
        for suffix in ("镇", "街道"):
            if self.gazetteer.subdistrict_area(head + suffix, district):
                return head + suffix
        return None

    def _resolve_roads(self, parsed: ParsedAddress, district: str | None) -> tuple[str, list[int]]:
        """The road name found in the gazetteer and its rows (those of ``district`` first)."""
        for candidate in parsed.road_candidates:
            found = self.gazetteer.find_roads(candidate)
            if not found:
                continue
            in_district = [i for i in found if self.gazetteer.roads[i].district == district]
            return candidate, in_district or found
        return (parsed.road or "", [])

    def _sheet_point(self, query: GeocodeQuery) -> tuple[float, float, list[str]] | None:
        if query.lon is None or query.lat is None:
            return None
        notes: list[str] = []
        try:
            lon, lat = to_wgs84(float(query.lon), float(query.lat), query.crs or "wgs84")
        except UnknownCRSError as exc:
            return (math.nan, math.nan, [exc.message])
        west, south, east, north = SHANGHAI_BOX
        if not (west <= lon <= east and south <= lat <= north):
            swapped = to_wgs84(float(query.lat), float(query.lon), query.crs or "wgs84")
            if west <= swapped[0] <= east and south <= swapped[1] <= north:
                notes.append("sheet longitude and latitude were swapped")
                lon, lat = swapped
            else:
                return (math.nan, math.nan, ["sheet coordinates lie outside Shanghai"])
        return lon, lat, notes

    # -- names ----------------------------------------------------------------------------
    def _queries(self, query: GeocodeQuery, parsed: ParsedAddress) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        values = [("name", query.name), ("host", host_name(query.name)),
                  ("park", query.park_name)]
        values += [("landmark", item) for item in parsed.landmarks]
        for role, value in values:
            key = normalize_name(value)
            if key and len(key) >= 2 and all(key != k for _, k in out):
                out.append((role, key))
        return out

    def _kind_bonus(self, key: str, kind: str) -> float:
        for word, kinds in _KIND_HINTS:
            if key.endswith(word) or (word == "医院" and word in key):
                return KIND_BONUS if kind in kinds else 0.0
        return 0.0

    def _name_candidates(
        self,
        query: GeocodeQuery,
        parsed: ParsedAddress,
        named: str | None,
        subdistrict: str | None,
        roads: tuple[str, list[int]],
    ) -> list[_Scored]:
        gaz = self.gazetteer
        pool: dict[int, _Scored] = {}
        for role, key in self._queries(query, parsed):
            hits = gaz.search_names(key, named)[:12]
            if not hits:
                continue
            places = [hit.place for hit in hits]
            road_distance = distance_to_roads_m(gaz, roads[1], places) if roads[1] else None
            for position, hit in enumerate(hits):
                score, reasons = hit.score, []
                district = gaz.districts[hit.place]
                if named and district != named:
                    score -= OUTSIDE_DISTRICT_PENALTY
                    reasons.append("outside_named_district")
                if road_distance is not None:
                    if road_distance[position] <= NEAR_ROAD_M:
                        score += NEAR_ROAD_BONUS
                    elif road_distance[position] > FAR_ROAD_M:
                        score -= FAR_ROAD_PENALTY
                        reasons.append("far_from_named_road")
                if subdistrict and gaz.subdistricts[hit.place] == subdistrict:
                    score += SUBDISTRICT_BONUS
                score += self._kind_bonus(key, gaz.kinds[hit.place])
                current = pool.get(hit.place)
                if current is None or current.score < score:
                    pool[hit.place] = _Scored(hit.place, score, role, hit.key, reasons)
        return sorted(pool.values(), key=lambda s: (-s.score, gaz.ids[s.place]))

    def _from_names(self, pool: list[_Scored]) -> tuple[Placement | None, bool]:
        """The accepted named place (facility name first, then host, park, landmark) and
        whether an acceptable match was refused as ambiguous."""
        gaz = self.gazetteer
        for role in ("name", "host", "park", "landmark"):
            scored = [s for s in pool if s.role == role and s.score >= ACCEPT_SCORE]
            if not scored:
                continue
            best = scored[0]
            rivals = [s for s in scored[1:] if s.score >= best.score - AMBIGUITY_MARGIN]
            ambiguous = False
            if rivals:
                distances = gaz.distances_m(
                    float(gaz.lon[best.place]), float(gaz.lat[best.place]), [s.place for s in rivals]
                )
                ambiguous = bool(np.any(distances > AMBIGUITY_DISTANCE_M))
            if ambiguous:
                continue
            radius = float(gaz.radius_m[best.place])
            placement = Placement(
                lon=float(gaz.lon[best.place]),
                lat=float(gaz.lat[best.place]),
                precision=Precision.BUILDING,
                source=f"gazetteer:{gaz.ids[best.place]}",
                score=round(min(best.score, 100.0), 1),
                uncertainty_m=max(radius, POINT_UNCERTAINTY_M),
                matched_name=gaz.names[best.place],
            )
            for reason in best.reasons:
                placement.flag(reason)
            if role != "name":
                placement.notes.append(f"placed at the {role} {gaz.names[best.place]}")
            return placement, False
        return None, any(s.score >= ACCEPT_SCORE for s in pool)

    # -- address and road -----------------------------------------------------------------
    def _from_address_point(
        self, parsed: ParsedAddress, roads: tuple[str, list[int]]
    ) -> Placement | None:
        if parsed.house_number is None or not (roads[0] or parsed.road):
            return None
        gaz = self.gazetteer
        for road_name in [roads[0], *(parsed.road_candidates or [])]:
            for number, place in gaz.address_points(road_name):
                if number == parsed.house_number:
                    return Placement(
                        lon=float(gaz.lon[place]),
                        lat=float(gaz.lat[place]),
                        precision=Precision.EXACT,
                        source=f"gazetteer:{gaz.ids[place]}",
                        score=95.0,
                        uncertainty_m=max(float(gaz.radius_m[place]), ADDRESS_POINT_UNCERTAINTY_M),
                        matched_name=gaz.names[place],
                    )
        return None

    def _subdistrict_metric(self, name: str) -> object | None:
        if name not in self._metric_polygons:
            polygon = self.gazetteer.subdistrict_polygon(name)
            self._metric_polygons[name] = metric_polygon(polygon) if polygon is not None else None
        return self._metric_polygons[name]

    def _from_road(
        self,
        parsed: ParsedAddress,
        roads: tuple[str, list[int]],
        subdistrict: str | None,
        named: str | None,
    ) -> Placement | None:
        road_name, rows = roads
        if not rows:
            return None
        gaz = self.gazetteer
        point: RoadPoint | None = None
        if parsed.house_number is not None:
            point = interpolate_number(gaz, road_name, rows, parsed.house_number)
        if point is None:
            for cross in parsed.near_roads:
                cross_rows = gaz.find_roads(cross)
                point = crossing(gaz, rows, cross_rows)
                if point is not None:
                    break
        if point is None:
            within = self._subdistrict_metric(subdistrict) if subdistrict else None
            point = midpoint(gaz, rows, within)  # type: ignore[arg-type]
        if point is None:
            return None
        score = {"interpolated": 80.0, "crossing": 78.0, "midpoint": 65.0}[point.method]
        placement = Placement(
            lon=point.lon,
            lat=point.lat,
            precision=Precision.ROAD,
            source="gazetteer:road",
            score=score,
            uncertainty_m=round(point.uncertainty_m, 1),
            matched_name=gaz.roads[rows[0]].name,
        )
        placement.notes.append(f"road {point.method}")
        if named and all(gaz.roads[i].district != named for i in rows):
            placement.flag("road_outside_named_district")
        return placement

    def _from_area(self, subdistrict: str | None, named: str | None) -> Placement | None:
        area: Area | None = None
        precision = Precision.SUBDISTRICT
        if subdistrict:
            area = self.gazetteer.subdistrict_area(subdistrict, named)
        if area is None or area.lon is None:
            area = self.gazetteer.district_areas.get(named or "")
            precision = Precision.DISTRICT
        if area is None or area.lon is None or area.lat is None:
            return None
        placement = Placement(
            lon=area.lon,
            lat=area.lat,
            precision=precision,
            source=f"gazetteer:{area.id}",
            score=40.0 if precision is Precision.SUBDISTRICT else 20.0,
            uncertainty_m=round(area.radius_m, 1) or None,
            matched_name=area.name,
        )
        if area.estimate and area.estimate != "polygon":
            placement.notes.append(f"{area.name}: position estimated ({area.estimate})")
        return placement

    def _from_sheet(
        self, sheet: tuple[float, float, list[str]], query: GeocodeQuery, pool: list[_Scored]
    ) -> Placement:
        lon, lat, notes = sheet
        if math.isnan(lon):
            # unusable coordinates: geocode from the text instead, and say why
            fallback = self.place(
                GeocodeQuery(query.name, query.address, query.district, query.park_name)
            )
            fallback.notes.extend(notes)
            fallback.flag("sheet_coordinates_rejected")
            return fallback
        crs = (query.crs or "wgs84").lower()
        placement = Placement(
            lon=lon, lat=lat, precision=Precision.EXACT,
            source="sheet" if crs in {"wgs84", "epsg:4326"} else f"sheet:{crs}",
            score=100.0, uncertainty_m=None, notes=list(notes),
        )
        if notes:
            placement.flag("sheet_coordinates_swapped")
        accepted = [s for s in pool if s.role == "name" and s.score >= ACCEPT_SCORE]
        if accepted:
            gaz = self.gazetteer
            distance = float(gaz.distances_m(lon, lat, [accepted[0].place])[0])
            if distance > SHEET_CONFLICT_M:
                placement.flag("sheet_far_from_named_place")
                placement.notes.append(
                    f"sheet position is {distance:.0f} m from {gaz.names[accepted[0].place]}"
                )
        return placement

    # -- result ---------------------------------------------------------------------------
    def _finish(
        self, placement: Placement, named: str | None, pool: list[_Scored], ambiguous: bool
    ) -> Placement:
        gaz = self.gazetteer
        placement.named_district = named
        if placement.located and placement.lon is not None and placement.lat is not None:
            placement.district, placement.subdistrict = gaz.locate(placement.lon, placement.lat)
            if named and placement.district and placement.district != named:
                placement.outside_named_district = True
                placement.flag("outside_named_district")
        if placement.precision in COARSE_PRECISIONS:
            placement.flag("coarse_precision")
        if (placement.uncertainty_m or 0.0) > REVIEW_UNCERTAINTY_M:
            placement.flag("uncertain_position")
        if ambiguous:
            placement.flag("ambiguous_name")
        top = pool[:MAX_CANDIDATES]
        distances = (
            gaz.distances_m(placement.lon, placement.lat, [s.place for s in top])
            if top and placement.lon is not None and placement.lat is not None
            else None
        )
        placement.candidates = [
            Candidate(
                name=gaz.names[s.place],
                kind=gaz.kinds[s.place],
                source=f"gazetteer:{gaz.ids[s.place]}",
                lon=float(gaz.lon[s.place]),
                lat=float(gaz.lat[s.place]),
                score=round(min(s.score, 100.0), 1),
                distance_m=round(float(distances[i]), 1) if distances is not None else None,
                district=gaz.districts[s.place],
            )
            for i, s in enumerate(top)
        ]
        return placement
