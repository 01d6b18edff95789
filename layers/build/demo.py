"""Demonstration registries generated deterministically from real OSM host sites.

No official list of health points, fitness stations, relay stations or rest rooms exists
offline, so the build generates stand-ins of the real networks' size at real host sites of
the kinds the documents name (see :mod:`layers.build.demo_rules`). The rule:

1. Candidate hosts per layer: OSM POIs of the host kinds (banks, convenience shops, ...),
   metro stations, and named workplace parks and buildings; each must lie in a district
   and inside the service area; hosts at the same spot (to 1 m) count once.
2. The layer's target count is split over the 16 districts in proportion to 2023 workplace
   employment, with a minimum per district (largest-remainder rounding); a district with
   too few hosts gives its remainder to the others.
3. In each district hosts are drawn without replacement with a fixed seed, the chance of a
   host being ``weight(kind) / hosts of that kind in the district``, unnamed hosts at a
   third of that (toilets excepted: OSM rarely names them).
4. Statuses: fixed numbers of new/upgraded/yellow-card records, drawn with the same seed;
   health points get one new and three upgraded per district first, as the 2023 plan asks.
5. Hours, services and floor areas follow the host kind, drawn from a generator seeded by
   the record id, so a record does not change when another host appears or disappears.

Every record has ``demo=True``, ``location_precision`` ``host-site``, no phone (OSM gives
none) and ``source`` naming the host. The names are those a real registry would carry (the
host and the layer's kind, e.g. ``中国银行人民广场支行爱心接力站``): that the layer is
demonstration data is said once per layer by the ``demo`` flag, never inside each name.
``name_en`` is set only where the host has an English name (metro stations); otherwise a
reader of English sees the Chinese name rather than a half-translated one.
"""

from __future__ import annotations

import logging
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from layers.build.context import Poi
from layers.build.demo_rules import (
    HOST_LABELS,
    REST_ROOM_SECTORS,
    RULES,
    LayerRule,
    area_m2,
    fitness_hours,
    fitness_services,
    health_point_hours,
    health_point_services,
    relay_hours,
    relay_services,
    rest_room_hours,
    rest_room_services,
)
from layers.build.locate import contains_points
from layers.build.sources import OSM_SNAPSHOT, SourceData
from layers.build.workplaces import Workplace
from layers.registry.catalog import DISTRICTS, LAYERS
from layers.registry.schema import Facility, FacilityStatus, LocationPrecision

logger = logging.getLogger(__name__)

DEMO_SEED = 20230215
#: Hosts whose name is shared with others get "（近X站）" if a station is this close.
STATION_SUFFIX_MAX_M = 1500.0
UNNAMED_FACTOR = 1 / 3
DEMO_POI_KINDS = frozenset(HOST_LABELS) - {"metro_station", "workplace_park", "workplace_building"}


@dataclass(frozen=True)
class Host:
    """A real site that can host a demonstration facility."""

    ref: str
    kind: str
    name: str | None
    name_en: str | None
    lon: float
    lat: float
    district: str
    origin: str  # text for ``source``: "OSM host n123" / "metro station 人民广场"
    osm_id: str | None


def hosts_from_pois(pois: Iterable[Poi]) -> list[Host]:
    """Hosts from OSM POIs of the demo host kinds (located in a district)."""
    return [
        Host(
            ref=poi.ref,
            kind=poi.fclass,
            name=poi.name,
            name_en=None,
            lon=poi.lon,
            lat=poi.lat,
            district=poi.district,
            origin=f"OSM host {poi.osm_id}",
            osm_id=poi.osm_id,
        )
        for poi in pois
        if poi.fclass in DEMO_POI_KINDS and poi.district is not None
    ]


def hosts_from_stations(stations: Iterable[Facility]) -> list[Host]:
    """Hosts from the metro-station context records."""
    return [
        Host(
            ref=station.id.split(":", 1)[1],
            kind="metro_station",
            name=f"{station.name}地铁站",
            name_en=f"{station.name_en} metro station" if station.name_en else None,
            lon=float(station.lon),  # type: ignore[arg-type]
            lat=float(station.lat),  # type: ignore[arg-type]
            district=station.district,
            origin=f"metro station {station.name}",
            osm_id=None,
        )
        for station in stations
        if station.located and station.district is not None
    ]


def hosts_from_workplaces(workplaces: Iterable[Workplace]) -> list[Host]:
    """Hosts from named workplace parks and buildings (representative points)."""
    return [
        Host(
            ref=f"{workplace.kind}-a{workplace.osm_id}",
            kind=workplace.layer,
            name=workplace.name,
            name_en=None,
            lon=workplace.lon,
            lat=workplace.lat,
            district=workplace.district,
            origin=f"OSM host {workplace.osm_id}",
            osm_id=workplace.osm_id,
        )
        for workplace in workplaces
        if workplace.name and workplace.district is not None
    ]


def allocate(
    total: int, weights: dict[str, float], minimum: int, capacity: dict[str, int]
) -> dict[str, int]:
    """Split ``total`` over districts ∝ ``weights``, at least ``minimum`` each, within capacity.

    Largest-remainder rounding; ties broken by the catalogue's district order. A district's
    quota never exceeds its ``capacity`` (available hosts); the excess goes to the others
    in proportion to their weights.
    """
    names = [name for name in DISTRICTS if name in weights]
    minimum = min(minimum, total // max(len(names), 1))
    quota = {name: min(minimum, capacity.get(name, 0)) for name in names}
    remaining = total - sum(quota.values())
    while remaining > 0:
        open_names = [n for n in names if capacity.get(n, 0) > quota[n]]
        if not open_names:
            break
        weight_sum = sum(weights[n] for n in open_names) or float(len(open_names))
        shares = {n: remaining * (weights[n] or 1.0) / weight_sum for n in open_names}
        floors = {n: int(np.floor(shares[n])) for n in open_names}
        leftover = remaining - sum(floors.values())
        order = sorted(open_names, key=lambda n: (-(shares[n] - floors[n]), names.index(n)))
        for n in order[:leftover]:
            floors[n] += 1
        given = 0
        for n in open_names:
            add = min(floors[n], capacity[n] - quota[n])
            quota[n] += add
            given += add
        remaining -= given
        if given == 0:
            break
    return quota


def _record_rng(record_id: str) -> np.random.Generator:
    return np.random.default_rng([DEMO_SEED, zlib.crc32(record_id.encode("utf-8"))])


def _layer_rng(layer: str) -> np.random.Generator:
    return np.random.default_rng([DEMO_SEED, zlib.crc32(layer.encode("utf-8"))])


def _unique_spots(hosts: Sequence[Host]) -> list[Host]:
    seen: set[tuple[float, float]] = set()
    unique = []
    for host in hosts:
        spot = (round(host.lon, 5), round(host.lat, 5))
        if spot not in seen:
            seen.add(spot)
            unique.append(host)
    return unique


def select_hosts(rule: LayerRule, hosts: Sequence[Host], employment: dict[str, int]) -> list[Host]:
    """Draw the hosts of one layer (deterministic for the same input order)."""
    candidates = _unique_spots([h for h in hosts if h.kind in rule.host_weights])
    by_district: dict[str, list[Host]] = {name: [] for name in DISTRICTS}
    for host in candidates:
        by_district.setdefault(host.district, []).append(host)
    capacity = {name: len(items) for name, items in by_district.items()}
    weights = {name: float(employment.get(name, 0)) for name in DISTRICTS}
    quota = allocate(rule.target, weights, rule.min_per_district, capacity)
    rng = _layer_rng(rule.layer)
    chosen: list[Host] = []
    for district in DISTRICTS:
        items = by_district[district]
        count = quota.get(district, 0)
        if count == 0 or not items:
            continue
        kinds = Counter(host.kind for host in items)
        probability = np.array(
            [
                rule.host_weights[h.kind]
                / kinds[h.kind]
                * (1.0 if h.name or h.kind == "toilet" else UNNAMED_FACTOR)
                for h in items
            ]
        )
        picked = rng.choice(
            len(items), size=count, replace=False, p=probability / probability.sum()
        )
        chosen.extend(items[index] for index in sorted(picked.tolist()))
    return chosen


def assign_statuses(rule: LayerRule, hosts: Sequence[Host]) -> list[str]:
    """Statuses for the chosen hosts (same order), fixed counts drawn with the layer seed."""
    statuses = ["active"] * len(hosts)
    rng = np.random.default_rng([DEMO_SEED, zlib.crc32(f"{rule.layer}:status".encode())])
    free = list(range(len(hosts)))
    if rule.layer == "health_point":
        # the 2023 plan: at least one new and three upgraded points per district
        for district in DISTRICTS:
            members = [i for i in free if hosts[i].district == district]
            order = rng.permutation(len(members)).tolist()
            for position, status in zip(
                order, ["new", "upgraded", "upgraded", "upgraded"], strict=False
            ):
                statuses[members[position]] = status
        free = [i for i in free if statuses[i] == "active"]
    for status, wanted in rule.statuses.items():
        have = statuses.count(status)
        need = max(0, min(wanted - have, len(free)))
        picked = rng.choice(len(free), size=need, replace=False).tolist() if need else []
        for index in sorted(picked, reverse=True):
            statuses[free[index]] = status
        free = [i for i in free if statuses[i] == "active"]
    return statuses


def _host_display(host: Host, common: Counter[str], sources: SourceData) -> str:
    """The host's name for the record, disambiguated by a nearby metro station."""
    base = host.name or f"{host.district}{HOST_LABELS.get(host.kind, '站点')}"
    if host.kind == "metro_station" or (host.name and common[host.name] <= 1):
        return base
    station = sources.nearest_station(host.lon, host.lat, STATION_SUFFIX_MAX_M)
    return f"{base}（近{station.name_zh}站）" if station else base


def _partner_centre(host: Host, centres: Sequence[Facility]) -> str | None:
    """Name of the nearest community health centre in the same district (health points)."""
    same = [c for c in centres if c.district == host.district and c.located]
    if not same:
        return None
    lon = np.array([c.lon for c in same], dtype=float)
    lat = np.array([c.lat for c in same], dtype=float)
    dx = (lon - host.lon) * np.cos(np.radians(host.lat))
    return same[int(np.argmin(dx**2 + (lat - host.lat) ** 2))].name


def _english_name(rule: LayerRule, host: Host, display: str) -> str | None:
    """``<layer> at <host>`` when the host has an English name, else ``None``."""
    if not host.name_en or display != host.name:
        return None
    return f"{LAYERS[rule.layer].name_en} at {host.name_en}"[:200]


def build_record(
    rule: LayerRule,
    host: Host,
    status: str,
    display: str,
    partner: str | None,
) -> Facility:
    """One demonstration facility at ``host``."""
    record_id = f"{rule.layer}:demo-{host.ref}"
    rng = _record_rng(record_id)
    extra: dict[str, object] = {"host_ref": host.ref, "host_kind": host.kind}
    if host.name:
        extra["host_name"] = host.name
    if rule.layer == "relay_station":
        hours, services = relay_hours(host.kind, rng), relay_services(host.kind, rng)
        name = f"{display}{rule.suffix}"
    elif rule.layer == "health_point":
        hours, services = health_point_hours(rng), health_point_services(status, rng)
        name = f"{display}{rule.suffix}"
        if partner:
            extra["partner_health_centre"] = partner
    elif rule.layer == "fitness_station":
        hours, services = fitness_hours(host.kind, rng), fitness_services(rng)
        name = f"{display}{rule.suffix}"
    else:
        sector, sector_zh = REST_ROOM_SECTORS[host.kind]
        hours, services = rest_room_hours(host.kind), rest_room_services(rng)
        name = f"{display}{sector_zh}{rule.suffix}"
        extra["sector"] = sector
    return Facility(
        id=record_id,
        layer=rule.layer,
        name=name[:200],
        name_en=_english_name(rule, host, display),
        district=host.district,
        lon=host.lon,
        lat=host.lat,
        location_precision=LocationPrecision.HOST_SITE,
        host_type=host.kind,
        hours=hours,
        services=services,
        status=FacilityStatus(status),
        area_m2=area_m2(rule.layer, rng),
        source=f"demo: generated from {host.origin}",
        demo=True,
        updated_at=OSM_SNAPSHOT,
        extra=extra,
    )


def demo_layer(
    rule: LayerRule,
    hosts: Sequence[Host],
    sources: SourceData,
    community_health: Sequence[Facility] = (),
) -> list[Facility]:
    """Generate one demonstration registry (sorted by id)."""
    chosen = select_hosts(rule, hosts, sources.district_employment)
    statuses = assign_statuses(rule, chosen)
    common = Counter(h.name for h in hosts if h.name and h.kind in rule.host_weights)
    records = [
        build_record(
            rule,
            host,
            status,
            _host_display(host, common, sources),
            _partner_centre(host, community_health) if rule.layer == "health_point" else None,
        )
        for host, status in zip(chosen, statuses, strict=True)
    ]
    per_district = Counter(r.district for r in records)
    logger.debug(
        "demo %s: %d of target %d; districts %s",
        rule.layer,
        len(records),
        rule.target,
        dict(per_district),
    )
    return sorted(records, key=lambda r: r.id)


def demo_layers(
    sources: SourceData,
    pois: Sequence[Poi],
    stations: Sequence[Facility],
    workplaces: Sequence[Workplace],
    community_health: Sequence[Facility] = (),
    targets: dict[str, int] | None = None,
) -> dict[str, list[Facility]]:
    """All four demonstration registries.

    Parameters
    ----------
    sources
        The loaded sources (district employment, metro stations).
    pois, stations, workplaces
        Host candidates, in stable order (sorted by OSM id / name).
    community_health
        Community health centres; a health point names the nearest as its partner.
    targets
        Override the record count per layer (tests use small numbers).
    """
    hosts = (
        hosts_from_pois(pois) + hosts_from_stations(stations) + hosts_from_workplaces(workplaces)
    )
    inside = contains_points(sources.service_area, [h.lon for h in hosts], [h.lat for h in hosts])
    hosts = [host for host, keep in zip(hosts, inside, strict=True) if keep]
    result = {}
    for layer, rule in RULES.items():
        if targets and layer in targets:
            scale = targets[layer] / rule.target
            rule = LayerRule(
                rule.layer,
                targets[layer],
                min(rule.min_per_district, max(1, targets[layer] // (2 * len(DISTRICTS)))),
                rule.host_weights,
                rule.suffix,
                {status: round(count * scale) for status, count in rule.statuses.items()},
            )
        result[layer] = demo_layer(rule, hosts, sources, community_health)
    return result
