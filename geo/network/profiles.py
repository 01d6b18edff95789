"""Travel profiles: which OSM ways a walker or a driver may use, and how fast they go.

The rules are plain functions of a way's tags so they can be tested and documented on their
own (see ``docs/network.md``).

Walk
    Every highway class except construction/proposed/abandoned features, platforms and
    raceways. Dropped: motorways and trunks (and their links) unless they carry a sidewalk
    (``sidewalk=yes|both|left|right``) or explicit ``foot=yes|designated|permissive``;
    ``foot=no``; ``access=no|private`` unless foot is explicitly allowed; road tunnels
    (``tunnel=*`` other than ``no``/``building_passage`` on anything that is not a footway,
    path, pedestrian street, steps or corridor) -- so the road tunnels under the Huangpu are
    not walkable. Every street is walkable in both directions at ``WALK_SPEED_MPS``.
Drive
    Motorway..residential, living streets, unclassified and ``road`` and their links (as the
    osmnx ``drive`` network type: no service roads, tracks, footways). Dropped:
    ``access=no|private`` unless ``motor_vehicle``/``motorcar`` allows it, and
    ``motor_vehicle``/``motorcar=no|private``. ``oneway`` (incl. ``-1`` and roundabouts) is
    respected. Speeds by class, capped by a numeric ``maxspeed`` (``SPEEDS_KMH``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from geo.network.errors import InvalidQueryError

PROFILES = ("walk", "drive")

#: Walking speed in metres per second (all walkable ways; steps are not slowed down).
WALK_SPEED_MPS = 1.2

#: Typical urban driving speeds in km/h by highway class (congested-city averages, not limits).
SPEEDS_KMH: dict[str, float] = {
    "motorway": 60.0,
    "motorway_link": 35.0,
    "trunk": 50.0,
    "trunk_link": 30.0,
    "primary": 35.0,
    "primary_link": 25.0,
    "secondary": 30.0,
    "secondary_link": 25.0,
    "tertiary": 25.0,
    "tertiary_link": 20.0,
    "unclassified": 20.0,
    "road": 20.0,
    "residential": 15.0,
    "living_street": 10.0,
}

WALK_EXCLUDED = frozenset(
    {
        "abandoned", "bus_guideway", "busway", "construction", "disused", "escape", "no",
        "planned", "platform", "proposed", "raceway", "razed", "rest_area", "services",
        "elevator", "emergency_bay",
    }
)  # fmt: skip
MOTOR_ONLY = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
FOOT_CLASSES = frozenset({"footway", "path", "pedestrian", "steps", "corridor", "bridleway"})
DRIVE_CLASSES = frozenset(SPEEDS_KMH)
_YES_FOOT = frozenset({"yes", "designated", "permissive", "official"})
_SIDEWALK = frozenset({"yes", "both", "left", "right"})
_NO = frozenset({"no", "private"})
_YES_MOTOR = frozenset({"yes", "designated", "permissive", "destination", "official"})
#: Tags copied into the filtered file handed to osmnx.
KEPT_TAGS = ("highway", "oneway", "junction", "maxspeed", "tunnel", "bridge", "name")


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is a known profile, else raise :class:`InvalidQueryError`."""
    if profile not in PROFILES:
        msg = f"profile must be one of {', '.join(PROFILES)}, got {profile!r}"
        raise InvalidQueryError(msg)
    return profile


def is_road_tunnel(tags: Mapping[str, str]) -> bool:
    """True for a tunnel that carries a road (not a pedestrian underpass or building passage)."""
    tunnel = tags.get("tunnel", "no")
    if tunnel in ("no", "building_passage"):
        return False
    return tags.get("highway", "") not in FOOT_CLASSES


def walk_allows(tags: Mapping[str, str]) -> bool:
    """Whether a way with these tags belongs to the walking network."""
    highway = tags.get("highway")
    if highway is None or highway in WALK_EXCLUDED or tags.get("area") == "yes":
        return False
    foot = tags.get("foot", "")
    if foot == "no":
        return False
    foot_yes = foot in _YES_FOOT
    if tags.get("access") in _NO and not foot_yes:
        return False
    if highway in MOTOR_ONLY and not (foot_yes or tags.get("sidewalk") in _SIDEWALK):
        return False
    return not is_road_tunnel(tags)


def drive_allows(tags: Mapping[str, str]) -> bool:
    """Whether a way with these tags belongs to the driving network."""
    if tags.get("highway") not in DRIVE_CLASSES or tags.get("area") == "yes":
        return False
    motor = tags.get("motor_vehicle", tags.get("motorcar", ""))
    if motor in _NO or tags.get("motorcar") in _NO:
        return False
    return not (tags.get("access") in _NO and motor not in _YES_MOTOR)


def allows(profile: str, tags: Mapping[str, str]) -> bool:
    """Dispatch to :func:`walk_allows` or :func:`drive_allows`."""
    return walk_allows(tags) if check_profile(profile) == "walk" else drive_allows(tags)


_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh)?\s*$")


def parse_maxspeed_kmh(value: str | None) -> float | None:
    """Parse an OSM ``maxspeed`` value to km/h; None if absent or not numeric."""
    if not value:
        return None
    match = _SPEED_RE.match(value.split(";")[0])
    if match is None:
        return None
    speed = float(match.group(1))
    return speed * 1.609344 if match.group(2) == "mph" else speed


def drive_speed_kmh(highway: str, maxspeed: str | None = None) -> float:
    """Driving speed for a highway class, capped by a numeric ``maxspeed`` if given."""
    speed = SPEEDS_KMH.get(highway, SPEEDS_KMH["unclassified"])
    limit = parse_maxspeed_kmh(maxspeed)
    return min(speed, limit) if limit and limit > 0 else speed
