"""The in-memory gazetteer: named places, roads, address points and areas with their indexes.

Built from plain rows (dicts, as the data build writes them) and, optionally, district and
subdistrict polygons for point-in-polygon answers. Names are indexed three ways:

* an exact dict from the normalised key (:func:`geo.geocode.normalize.normalize_name`) to
  the places, for the common case of a sheet spelling the name as OSM does;
* character-bigram postings, to shortlist fuzzy candidates without scanning every name;
* ``rapidfuzz`` (``WRatio``) on the shortlist, with a coverage cap so that a short generic
  key (``卫生服务中心``) does not match every longer name.

Everything is WGS84 degrees in and out; distances use UTM 51N metres (:func:`geo.crs.to_utm`).
The object is read-only once built and safe to share between threads (the lazy road
geometries are pure functions of the rows; a race only computes one twice).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from rapidfuzz import fuzz, process
from shapely.geometry.base import BaseGeometry

from geo.crs import to_utm
from geo.geocode.normalize import (
    DISTRICTS,
    bigrams,
    clean_text,
    name_variants,
    normalize_road,
)

#: Shortlist size handed to rapidfuzz.
SHORTLIST = 48
#: Character pairs found in more names than this share are "common" (see search_names).
COMMON_GRAM_SHARE = 0.02
#: Distinct (query, district) searches remembered per gazetteer.
SEARCH_CACHE_SIZE = 50_000
#: Below this length ratio (shorter/longer key) a fuzzy score is capped at ``COVERAGE_CAP``.
MIN_COVERAGE = 0.6
COVERAGE_CAP = 80.0
_DIGITS = re.compile(r"\d+")

#: Generic endings of facility names, longest first. When query and candidate share one,
#: the heads decide (田林街道… vs 枫林街道…), and a bare generic name
#: (社区卫生服务中心) matches nothing specific.
GENERIC_TAILS: tuple[str, ...] = tuple(
    sorted(
        {
            "社区卫生服务中心", "社区卫生服务站", "卫生服务中心", "卫生服务站", "卫生院",
            "人民医院", "中医医院", "中心医院", "妇幼保健院", "医院", "门诊部", "诊所", "药房",
            "公园", "广场", "大厦", "大楼", "中心", "银行", "支行", "分行", "小学", "中学",
            "幼儿园", "派出所", "产业园", "科技园", "园区", "工业区", "工业园", "酒店", "超市",
            "便利店", "菜场", "市场", "街道办事处", "居委会", "党群服务中心", "职工服务中心",
            "服务中心", "服务站", "站", "大酒店", "宾馆", "学校", "学院", "大学", "商场",
            "购物中心", "写字楼", "办公楼", "花园", "小区", "新村",
        },
        key=lambda tail: (-len(tail), tail),
    )
)
#: Score cap for a bare generic name against a specific one.
GENERIC_CAP = 70.0
_ADMIN_WORDS = re.compile(r"(街道|镇|乡|社区)")


def head_score(query_key: str, key: str) -> float | None:
    """Score of the specific heads when both keys end with the same generic tail.

    Returns ``None`` when they share no generic tail (the whole-name score stands).
    """
    for tail in GENERIC_TAILS:
        if query_key.endswith(tail) and key.endswith(tail):
            head_q = _ADMIN_WORDS.sub("", query_key[: -len(tail)])
            head_k = _ADMIN_WORDS.sub("", key[: -len(tail)])
            if head_q == head_k:
                return 100.0
            if not head_q or not head_k:
                return GENERIC_CAP
            return float(fuzz.ratio(head_q, head_k))
    return None


@dataclass(frozen=True)
class NameHit:
    """One fuzzy name hit: place index, raw score (0-100) and the key that matched."""

    place: int
    score: float
    key: str


@dataclass(frozen=True)
class Road:
    """One named road within one district (lines as WGS84 ``(n, 2)`` arrays)."""

    name: str
    district: str | None
    length_m: float
    lon: float
    lat: float
    lines: tuple[NDArray[np.float64], ...]


@dataclass(frozen=True)
class Area:
    """A district or subdistrict with its representative point (``None`` when unknown)."""

    id: str
    kind: str
    name: str
    district: str
    lon: float | None
    lat: float | None
    radius_m: float
    estimate: str | None


def _first_number(text: str | None) -> int | None:
    match = _DIGITS.search(clean_text(text)) if text else None
    return int(match.group(0)) if match else None


def place_keys(name: str, alt: Iterable[str] = ()) -> list[str]:
    """Every matching key of a place: its name, alternative names, and for hospitals named
    ``…附属XX医院`` the short ``XX医院`` people write."""
    keys: list[str] = []
    for value in [name, *alt]:
        for key in name_variants(value):
            if key not in keys:
                keys.append(key)
        cleaned = clean_text(value)
        if "附属" in cleaned:
            short = cleaned.rsplit("附属", 1)[1]
            for key in name_variants(short):
                if len(key) >= 3 and key not in keys:
                    keys.append(key)
    return keys


class Gazetteer:
    """Places, roads and areas with name, road and address indexes.

    Parameters
    ----------
    places
        Rows with ``id``, ``kind``, ``name``, ``lon``, ``lat`` and optionally ``radius_m``,
        ``district``, ``subdistrict``, ``alt`` (list), ``street``, ``housenumber``.
    roads
        Rows with ``name``, ``district``, ``length_m``, ``lon``, ``lat``, ``lines`` (lists of
        ``[lon, lat]``) and optionally ``alt``.
    areas
        Rows with ``id``, ``kind`` (``district``/``subdistrict``), ``name``, ``district`` and
        optionally ``lon``, ``lat``, ``radius_m``, ``estimate``.
    district_polygons, subdistrict_polygons
        ``(name, geometry)`` pairs (WGS84) for point-in-polygon; subdistrict names are
        matched to areas by name.
    """

    def __init__(
        self,
        places: Sequence[dict[str, Any]],
        roads: Sequence[dict[str, Any]] = (),
        areas: Sequence[dict[str, Any]] = (),
        district_polygons: Sequence[tuple[str, BaseGeometry]] = (),
        subdistrict_polygons: Sequence[tuple[str, BaseGeometry]] = (),
    ) -> None:
        self._init_places(places)
        self._init_roads(roads)
        self._init_areas(areas)
        self._district_names = [name for name, _ in district_polygons]
        self._district_tree = shapely.STRtree([geom for _, geom in district_polygons])
        self._subdistrict_names = [name for name, _ in subdistrict_polygons]
        self._subdistrict_geoms = [geom for _, geom in subdistrict_polygons]
        self._subdistrict_tree = shapely.STRtree(self._subdistrict_geoms)
        self._metric_cache: dict[tuple[str, int], BaseGeometry] = {}

    # -- places ---------------------------------------------------------------------------
    def _init_places(self, places: Sequence[dict[str, Any]]) -> None:
        self.ids = [str(row["id"]) for row in places]
        self.names = [str(row["name"]) for row in places]
        self.kinds = [str(row.get("kind") or "place") for row in places]
        self.districts = [row.get("district") for row in places]
        self.subdistricts = [row.get("subdistrict") for row in places]
        self.lon = np.array([float(row["lon"]) for row in places], dtype=float)
        self.lat = np.array([float(row["lat"]) for row in places], dtype=float)
        self.radius_m = np.array([float(row.get("radius_m") or 0.0) for row in places])
        x, y = to_utm(self.lon, self.lat) if len(places) else (np.zeros(0), np.zeros(0))
        self.x, self.y = x, y
        district_code = {name: index for index, name in enumerate(DISTRICTS)}
        keys: list[str] = []
        key_place: list[int] = []
        self.exact: dict[str, list[int]] = {}
        for index, row in enumerate(places):
            for key in place_keys(self.names[index], row.get("alt") or ()):
                self.exact.setdefault(key, []).append(len(keys))
                keys.append(key)
                key_place.append(index)
        self.keys = keys
        self.key_place = np.array(key_place, dtype=np.int64)
        self.key_district = np.array(
            [district_code.get(self.districts[p] or "", -1) for p in key_place], dtype=np.int64
        )
        postings: dict[str, list[int]] = {}
        for key_index, key in enumerate(keys):
            for gram in bigrams(key):
                postings.setdefault(gram, []).append(key_index)
        self.postings = {gram: np.array(ids, dtype=np.int64) for gram, ids in postings.items()}
        # pairs in more than COMMON_GRAM_SHARE of the names (服务, 中心 …) say little and cost
        # most of the shortlist's time: they count only when a query has nothing rarer
        common = max(64, int(COMMON_GRAM_SHARE * len(keys)))
        self.common_grams = frozenset(g for g, ids in self.postings.items() if len(ids) > common)
        # (query key, district) -> hits; dict reads and writes are atomic under the GIL, so
        # concurrent imports at worst compute an entry twice
        self._search_cache: dict[tuple[str, str | None], tuple[NameHit, ...]] = {}
        self.addresses: dict[str, list[tuple[int, int]]] = {}
        for index, row in enumerate(places):
            street, number = row.get("street"), _first_number(row.get("housenumber"))
            if street and number is not None:
                self.addresses.setdefault(normalize_road(street), []).append((number, index))

    def __len__(self) -> int:
        return len(self.ids)

    def search_names(self, query_key: str, district: str | None = None) -> list[NameHit]:
        """Fuzzy name hits for a normalised query key, best first (cached; see
        :meth:`_search_names`)."""
        key = (query_key, district)
        found = self._search_cache.get(key)
        if found is None:
            found = tuple(self._search_names(query_key, district))
            if len(self._search_cache) >= SEARCH_CACHE_SIZE:
                self._search_cache.clear()  # bounded; whole rows repeat within one import
            self._search_cache[key] = found
        return list(found)

    def _search_names(self, query_key: str, district: str | None = None) -> list[NameHit]:
        """Fuzzy name hits for a normalised query key, best first (one per place).

        Parameters
        ----------
        query_key
            A key from :func:`geo.geocode.normalize.normalize_name`.
        district
            When given, names in this district are shortlisted first (others still compete).

        Returns
        -------
        list of NameHit
            Raw scores 0-100 (100 for an exact key); no district adjustment.
        """
        if not query_key or not self.keys:
            return []
        exact = self.exact.get(query_key, [])
        grams = bigrams(query_key)
        rare = [gram for gram in grams if gram in self.postings and gram not in self.common_grams]
        arrays = [self.postings[gram] for gram in (rare or [g for g in grams if g in self.postings])]
        chosen: list[int] = list(exact)
        if arrays:
            # only the keys sharing a pair with the query are counted (sparse, not all keys)
            ids, shared = np.unique(np.concatenate(arrays), return_counts=True)
            counts = shared.astype(float)
            if district is not None and district in DISTRICTS:
                counts += 0.5 * (self.key_district[ids] == DISTRICTS.index(district))
            top = min(SHORTLIST, len(ids))
            best = np.argpartition(-counts, top - 1)[:top] if top < len(ids) else np.arange(len(ids))
            floor = max(1.0, 0.34 * len(grams))
            chosen += [int(ids[k]) for k in best if shared[k] >= floor]
        if not chosen:
            return []
        unique = list(dict.fromkeys(chosen))
        choices = [self.keys[k] for k in unique]
        results = process.extract(
            query_key, choices, scorer=fuzz.WRatio, limit=None, score_cutoff=50
        )
        by_place: dict[int, NameHit] = {}
        for key, score, position in results:
            coverage = min(len(key), len(query_key)) / max(len(key), len(query_key))
            value = 100.0 if key == query_key else float(score)
            if key != query_key:
                if coverage < MIN_COVERAGE:
                    value = min(value, COVERAGE_CAP)
                heads = head_score(query_key, key)
                if heads is not None:
                    value = min(value, heads)
            place = int(self.key_place[unique[position]])
            if place not in by_place or by_place[place].score < value:
                by_place[place] = NameHit(place, value, key)
        return sorted(by_place.values(), key=lambda hit: (-hit.score, self.ids[hit.place]))

    def address_points(self, road_name: str) -> list[tuple[int, int]]:
        """``(house number, place index)`` pairs of the address points on a road."""
        return list(self.addresses.get(normalize_road(road_name), []))

    # -- roads ----------------------------------------------------------------------------
    def _init_roads(self, roads: Sequence[dict[str, Any]]) -> None:
        self.roads: list[Road] = []
        self.road_index: dict[str, list[int]] = {}
        for row in roads:
            lines = tuple(np.asarray(line, dtype=float) for line in row.get("lines", []) if len(line) >= 2)
            if not lines:
                continue
            road = Road(
                name=str(row["name"]),
                district=row.get("district"),
                length_m=float(row.get("length_m") or 0.0),
                lon=float(row["lon"]),
                lat=float(row["lat"]),
                lines=lines,
            )
            index = len(self.roads)
            self.roads.append(road)
            for name in [road.name, *(row.get("alt") or [])]:
                key = normalize_road(name)
                if key and index not in self.road_index.get(key, []):
                    self.road_index.setdefault(key, []).append(index)

    def find_roads(self, name: str) -> list[int]:
        """Indexes of the roads (one per district) with this name or alternative name."""
        return list(self.road_index.get(normalize_road(name), []))

    def road_metric(self, index: int) -> BaseGeometry:
        """The road's lines in UTM 51N metres (a MultiLineString), built once."""
        key = ("road", index)
        cached = self._metric_cache.get(key)
        if cached is None:
            parts = []
            for line in self.roads[index].lines:
                x, y = to_utm(line[:, 0], line[:, 1])
                parts.append(shapely.linestrings(np.column_stack([x, y])))
            cached = shapely.multilinestrings(parts)
            self._metric_cache[key] = cached
        return cached

    # -- areas ----------------------------------------------------------------------------
    def _init_areas(self, areas: Sequence[dict[str, Any]]) -> None:
        self.district_areas: dict[str, Area] = {}
        self.subdistrict_areas: dict[str, list[Area]] = {}
        for row in areas:
            area = Area(
                id=str(row["id"]),
                kind=str(row["kind"]),
                name=str(row["name"]),
                district=str(row.get("district") or ""),
                lon=float(row["lon"]) if row.get("lon") is not None else None,
                lat=float(row["lat"]) if row.get("lat") is not None else None,
                radius_m=float(row.get("radius_m") or 0.0),
                estimate=row.get("estimate"),
            )
            if area.kind == "district":
                self.district_areas[area.name] = area
            else:
                self.subdistrict_areas.setdefault(clean_text(area.name), []).append(area)

    def subdistrict_area(self, name: str, district: str | None = None) -> Area | None:
        """The subdistrict of this name (in ``district`` when several share it)."""
        found = self.subdistrict_areas.get(clean_text(name), [])
        if district is not None:
            found = [area for area in found if area.district == district] or found
        return found[0] if found else None

    def subdistrict_list(self) -> list[tuple[str, str]]:
        """``(name, district)`` of every subdistrict, for the address parser."""
        return [(a.name, a.district) for areas in self.subdistrict_areas.values() for a in areas]

    def subdistrict_polygon(self, name: str) -> BaseGeometry | None:
        """The WGS84 polygon of a subdistrict, where one is shipped."""
        key = clean_text(name)
        for poly_name, geometry in zip(self._subdistrict_names, self._subdistrict_geoms, strict=True):
            if clean_text(poly_name) == key:
                return geometry
        return None

    def locate(self, lon: float, lat: float) -> tuple[str | None, str | None]:
        """District and subdistrict containing a WGS84 point (``None`` where none)."""
        point = shapely.Point(lon, lat)
        district = subdistrict = None
        if self._district_names:
            hits = self._district_tree.query(point, predicate="intersects")
            if len(hits):
                district = self._district_names[int(min(hits))]
        if self._subdistrict_names:
            hits = self._subdistrict_tree.query(point, predicate="intersects")
            if len(hits):
                subdistrict = self._subdistrict_names[int(min(hits))]
        return district, subdistrict

    # -- distances ------------------------------------------------------------------------
    def distances_m(self, lon: float, lat: float, places: Sequence[int]) -> NDArray[np.float64]:
        """Metres from a WGS84 point to each of ``places``."""
        x, y = to_utm(np.array([lon]), np.array([lat]))
        index = np.asarray(places, dtype=np.int64)
        return np.asarray(np.hypot(self.x[index] - x[0], self.y[index] - y[0]), dtype=float)
