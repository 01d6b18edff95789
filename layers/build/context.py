"""Read-only context layers from OpenStreetMap points of interest and the metro stations.

Classification of ``osm/pois.geojson`` (Geofabrik free layers, one representative point per
mapped object):

* ``community_health``: the name contains 社区卫生服务中心, 卫生服务站 or 卫生院, whatever
  the OSM class (these are taken out of ``hospital`` and ``clinic``);
* ``hospital``: class ``hospital``;
* ``clinic``: classes ``clinic`` and ``doctors`` (the class is the service);
* ``pharmacy``: class ``pharmacy``;
* ``food``: classes ``restaurant``, ``fast_food``, ``food_court``, ``cafe``, plus any object
  whose name contains 食堂 (service ``canteen``);
* ``toilet``: class ``toilet``.

An object listed under two classes (the free layers repeat it) becomes one record whose
services list both. Unnamed objects get a generic name (未命名医院 ...).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from layers.build.sources import (
    METRO_SNAPSHOT,
    METRO_SOURCE,
    OSM_SNAPSHOT,
    OSM_SOURCE,
    POIS_GEOJSON,
    SourceData,
)
from layers.registry.schema import Facility, LocationPrecision

logger = logging.getLogger(__name__)

COMMUNITY_HEALTH_NAMES = ("社区卫生服务中心", "卫生服务站", "卫生院")
CANTEEN_NAME = "食堂"
FOOD_CLASSES = ("restaurant", "fast_food", "food_court", "cafe")
CLINIC_CLASSES = ("clinic", "doctors")

#: Generic names for unnamed objects: layer -> (zh, en).
UNNAMED: dict[str, tuple[str, str]] = {
    "hospital": ("未命名医院", "Unnamed hospital"),
    "community_health": ("社区卫生服务机构", "Community health centre"),
    "clinic": ("未命名诊所", "Unnamed clinic"),
    "pharmacy": ("未命名药店", "Unnamed pharmacy"),
    "food": ("未命名餐饮网点", "Unnamed food outlet"),
    "toilet": ("公共厕所", "Public toilet"),
}

POI_LAYERS: tuple[str, ...] = tuple(UNNAMED)


@dataclass(frozen=True)
class Poi:
    """One OSM point of interest with its district (WGS84).

    ``ref`` is a stable key, ``osm-n<id>`` for nodes and ``osm-a<id>`` for areas (the
    free layers give polygons as a representative point).
    """

    osm_id: str
    osm_type: str
    fclass: str
    name: str | None
    lon: float
    lat: float
    area_m2: float | None
    district: str | None

    @property
    def ref(self) -> str:
        return f"osm-{self.osm_type[0]}{self.osm_id}"

    @property
    def sort_key(self) -> tuple[int, str, str]:
        digits = re.sub(r"\D", "", self.osm_id) or "0"
        return (int(digits), self.osm_type, self.fclass)


def load_pois(sources: SourceData) -> list[Poi]:
    """All POIs of ``osm/pois.geojson`` with their district, sorted by OSM id (cached)."""
    return list(sources.cached("pois", lambda: _read_pois(sources)))


def _read_pois(sources: SourceData) -> list[Poi]:
    raw = []
    for feature in sources.geojson(POIS_GEOJSON)["features"]:
        props = feature["properties"]
        lon, lat = feature["geometry"]["coordinates"][:2]
        area = float(props.get("area_m2") or 0.0)
        name = (props.get("name") or "").strip() or None
        raw.append((props, float(lon), float(lat), area, name))
    districts = sources.districts.locate([r[1] for r in raw], [r[2] for r in raw])
    pois = [
        Poi(
            osm_id=str(props["osm_id"]),
            osm_type="area" if props.get("geom_type") == "polygon" else "node",
            fclass=str(props["fclass"]),
            name=name,
            lon=round(lon, 7),
            lat=round(lat, 7),
            area_m2=round(area, 1) if area > 0 else None,
            district=district,
        )
        for (props, lon, lat, area, name), district in zip(raw, districts, strict=True)
    ]
    pois.sort(key=lambda poi: poi.sort_key)
    return pois


def classify_poi(poi: Poi) -> tuple[str, str | None] | None:
    """The context layer and service of a POI, or ``None`` when it belongs to none."""
    name = poi.name or ""
    if any(marker in name for marker in COMMUNITY_HEALTH_NAMES):
        return "community_health", None
    if poi.fclass == "hospital":
        return "hospital", None
    if poi.fclass in CLINIC_CLASSES:
        return "clinic", poi.fclass
    if poi.fclass == "pharmacy":
        return "pharmacy", None
    if CANTEEN_NAME in name:
        return "food", "canteen"
    if poi.fclass in FOOD_CLASSES:
        return "food", poi.fclass
    if poi.fclass == "toilet":
        return "toilet", None
    return None


def poi_facility(poi: Poi, layer: str, services: list[str], fclasses: list[str]) -> Facility:
    """The context-layer record of one POI."""
    zh, en = UNNAMED[layer]
    return Facility(
        id=f"{layer}:{poi.ref}",
        layer=layer,
        name=poi.name or zh,
        name_en=None if poi.name else en,
        district=poi.district,
        lon=poi.lon,
        lat=poi.lat,
        location_precision=LocationPrecision.EXACT,
        host_type=fclasses[0],
        services=services,
        area_m2=poi.area_m2,
        source=OSM_SOURCE,
        updated_at=OSM_SNAPSHOT,
        extra={"osm_id": poi.osm_id, "osm_type": poi.osm_type, "fclass": "|".join(fclasses)},
    )


def poi_layers(pois: Iterable[Poi]) -> dict[str, list[Facility]]:
    """Classify POIs into the context layers, merging repeated objects."""
    merged: dict[tuple[str, str], tuple[Poi, list[str], list[str]]] = {}
    for poi in pois:
        found = classify_poi(poi)
        if found is None:
            continue
        layer, service = found
        key = (layer, poi.ref)
        if key not in merged:
            merged[key] = (poi, [], [])
        _, services, fclasses = merged[key]
        if service is not None and service not in services:
            services.append(service)
        if poi.fclass not in fclasses:
            fclasses.append(poi.fclass)
    layers: dict[str, list[Facility]] = {layer: [] for layer in POI_LAYERS}
    for (layer, _), (poi, services, fclasses) in merged.items():
        layers[layer].append(poi_facility(poi, layer, services, fclasses))
    for layer, records in layers.items():
        logger.debug("context layer %s: %d records", layer, len(records))
    return layers


def station_slug(name_en: str) -> str:
    """An id-safe slug of an English station name: 'Xin Zhuang' -> 'xin-zhuang'."""
    slug = re.sub(r"[^a-z0-9]+", "-", name_en.lower()).strip("-")
    return slug or "station"


def metro_station_facilities(sources: SourceData) -> list[Facility]:
    """Metro stations (one point per station name, transfer stations merged)."""
    stations = sources.metro_stations
    districts = sources.districts.locate([s.lon for s in stations], [s.lat for s in stations])
    facilities = []
    used: set[str] = set()
    for station, district in zip(stations, districts, strict=True):
        slug = station_slug(station.name_en)
        candidate, suffix = slug, 2
        while candidate in used:
            candidate, suffix = f"{slug}-{suffix}", suffix + 1
        used.add(candidate)
        facilities.append(
            Facility(
                id=f"metro_station:metro-{candidate}",
                layer="metro_station",
                name=station.name_zh,
                name_en=station.name_en,
                district=district,
                lon=round(station.lon, 7),
                lat=round(station.lat, 7),
                location_precision=LocationPrecision.EXACT_STATION,
                host_type="metro_station",
                source=METRO_SOURCE,
                updated_at=METRO_SNAPSHOT,
                extra={"lines": station.lines},
            )
        )
    logger.debug("metro stations: %d", len(facilities))
    return facilities
