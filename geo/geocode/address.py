"""A Shanghai address parser: district, subdistrict, road, house number, building or park.

Rules written for the way district sheets spell addresses::

    上海市徐汇区零陵北路2号                 → 徐汇区 / 零陵北路 / 2
    浦东新区张江高科技园区碧波路690号        → 浦东新区 / 碧波路 / 690, landmark 张江高科技园区
    普陀区长征镇金沙江路1759号（近真北路）   → 普陀区 / 长征镇 / 金沙江路 / 1759, near 真北路
    静安区南京西路1266号恒隆广场            → 静安区 / 南京西路 / 1266, landmark 恒隆广场
    徐汇区五原路281弄7号                   → lane 281 (the number on the road), 7 inside it
    闵行区莘庄镇莘松路３８０号１幢２０１室    → full-width digits; building 1, room 201

Digits and brackets are made half-width first. The district comes from the alias table of
:mod:`geo.geocode.normalize` (short names and merged former districts included); whether an
address belongs to another province is asked of the ``cpca`` library through
:mod:`geo.geocode._admin`. Subdistricts are recognised from the official list given by the
caller. Nothing here needs the gazetteer: a road that cannot be cut cleanly is returned with
its shorter tails (``静安寺南京西路`` → ``南京西路`` ...) for the matcher to look up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from geo.geocode import _admin
from geo.geocode.normalize import bracket_parts, clean_text, split_district, strip_city

#: Endings of road names, longest first.
ROAD_SUFFIXES: tuple[str, ...] = ("大道", "公路", "大街", "路", "街", "巷", "弄")
_ROAD_END = re.compile(r"(大道|公路|大街|路|街|巷)$")
#: Characters that end an administrative or park name before a road starts (长征镇|金沙江路).
_STOP_CHARS = set("区镇乡村市县园")
_NUMBER = re.compile(r"(\d+)(?:[-~至](\d+))?(号|弄|支弄)")
_BUILDING = re.compile(r"^(\d+|[a-z])(号楼|幢|栋|座|号|楼)(?!层)")
_ROOM = re.compile(r"(\d+)(室|房|号房)")
_FLOOR = re.compile(r"(\d+|[一二三四五六七八九十]+)(层|楼|f)")
_SUB_NUMBER = re.compile(r"^(?:(\d+)支弄)?(\d+)号")
_NEAR = (
    re.compile(r"近([\u4e00-\u9fff0-9]{1,12}?(?:大道|公路|大街|路|街))"),
    re.compile(r"(?:与|和)([\u4e00-\u9fff0-9]{1,12}?(?:大道|公路|大街|路|街))(?:交叉|路口|口)"),
    re.compile(r"^([^与和近]{1,12}?(?:大道|公路|大街|路|街))(?:路口|口|交叉口)"),
)
#: Words around a landmark that carry no name (底层, 对面, 内 ...).
_FILLER = re.compile(r"(对面|旁边|旁|附近|内|底层|一楼|二楼|首层|地下|地块|入口|东侧|西侧|南侧|北侧|门口)$")
#: An address can only name another region if one of these ends a word near its start.
_REGION_OPENING = re.compile(r"^.{1,9}?(省|市|自治区|自治州|县)")
_ROAD_WORD = re.compile(r"(大道|公路|大街|路|街|巷)")


@dataclass
class ParsedAddress:
    """The parts of one address (all strings cleaned and half-width).

    Attributes
    ----------
    text
        The cleaned address.
    district
        Canonical district named by the address (``None`` when none is written).
    other_region
        A province/city outside Shanghai that the address opens with (``江苏省苏州市``).
    subdistrict
        Official subdistrict/town name found in the address (``长征镇``).
    road
        The road the house number is on (``金沙江路``).
    road_candidates
        ``road`` and its shorter tails, longest first, for lookup.
    house_number
        The number on the road (for ``281弄7号`` the lane number 281).
    number_text
        The number as written (``281弄7号``).
    lane, sub_number
        Lane (弄) and number inside the lane.
    building, room, floor
        Building (幢/栋/号楼), room (室) and floor (层/楼) when written.
    near_roads
        Cross streets (``近真北路``, ``与XX路交叉口``).
    landmarks
        Park, building or other place names found around the road and number.
    """

    text: str
    district: str | None = None
    other_region: str | None = None
    subdistrict: str | None = None
    road: str | None = None
    road_candidates: list[str] = field(default_factory=list)
    house_number: int | None = None
    number_text: str | None = None
    lane: int | None = None
    sub_number: int | None = None
    building: str | None = None
    room: str | None = None
    floor: str | None = None
    near_roads: list[str] = field(default_factory=list)
    landmarks: list[str] = field(default_factory=list)


class SubdistrictNames:
    """Official subdistrict/town names for the parser, longest first.

    Parameters
    ----------
    names
        ``(name, district)`` pairs, e.g. ``("长征镇", "普陀区")``.
    """

    def __init__(self, names: Iterable[tuple[str, str]]) -> None:
        pairs = sorted({(clean_text(name), district) for name, district in names if name})
        self.by_name: dict[str, list[str]] = {}
        for name, district in pairs:
            self.by_name.setdefault(name, []).append(district)
        self.ordered = sorted(self.by_name, key=lambda name: (-len(name), name))

    def find(self, text: str, district: str | None = None) -> str | None:
        """The longest official name contained in ``text`` (in ``district`` when given)."""
        for name in self.ordered:
            if name in text and (district is None or district in self.by_name[name]):
                return name
        return None

    def districts_of(self, name: str) -> list[str]:
        """Districts that have a subdistrict of this name."""
        return list(self.by_name.get(name, []))


def _road_tails(segment: str) -> list[str]:
    """``segment`` and its tails of 3+ characters that still end like a road."""
    tails = [segment]
    for start in range(1, len(segment) - 2):
        tails.append(segment[start:])
    return tails


def _cut_road(prefix: str) -> tuple[str | None, str]:
    """Split ``prefix`` (text before a house number) into (road, what precedes it)."""
    if not _ROAD_END.search(prefix):
        return None, prefix
    start = len(prefix)
    while start > 0 and prefix[start - 1] not in _STOP_CHARS:
        start -= 1
    road = prefix[start:]
    if len(road) < 2:
        return None, prefix
    return road, prefix[:start]


def _first_road(text: str) -> tuple[str | None, str, str]:
    """Find a road in text without a house number: (road, before, after)."""
    for match in _ROAD_WORD.finditer(text):
        end = match.end()
        # 南京西路 ends at 路; 路口/路段 keep it a road; a 路 inside a longer word is skipped
        road, before = _cut_road(text[:end])
        if road is not None:
            return road, before, text[end:]
    return None, text, ""


def _clean_landmark(text: str) -> str | None:
    value = text.strip("-,，、 ")
    previous = None
    while value and value != previous:
        previous = value
        value = _FILLER.sub("", value)
    value = _FLOOR.sub("", value)
    value = _ROOM.sub("", value)
    if len(value) < 2 or value.isdigit():
        return None
    return value


def _near_roads(parts: Iterable[str]) -> list[str]:
    found: list[str] = []
    for part in parts:
        for pattern in _NEAR:
            for road in pattern.findall(part):
                if road not in found:
                    found.append(road)
    return found


def parse_address(address: str | None, subdistricts: SubdistrictNames | None = None) -> ParsedAddress:
    """Parse a Shanghai address into its parts.

    Parameters
    ----------
    address
        The address as written (full-width digits, brackets and spaces allowed).
    subdistricts
        Official subdistrict names to recognise (optional).

    Returns
    -------
    ParsedAddress
        Missing parts stay ``None``/empty; an empty address gives an empty result.
    """
    text = clean_text(address)
    parsed = ParsedAddress(text=text)
    if not text:
        return parsed
    body, notes = bracket_parts(text)
    landmarks: list[str] = []
    rest = strip_city(body)
    district, rest = split_district(rest)
    parsed.district = district
    if district is None and rest == body and _REGION_OPENING.match(body):
        parsed.other_region = _admin.other_region(body)
        if parsed.other_region:
            return parsed
    if subdistricts is not None:
        parsed.subdistrict = subdistricts.find(rest, district) or subdistricts.find(rest)
        if parsed.subdistrict and rest.startswith(parsed.subdistrict):
            rest = rest[len(parsed.subdistrict) :]
            if not parsed.subdistrict.endswith(("街道", "镇", "乡")):
                landmarks.append(parsed.subdistrict)  # 张江高科技园区 is a zone and a place
    after = ""
    number = _NUMBER.search(rest)
    if number is not None:
        prefix, after = rest[: number.start()], rest[number.end() :]
        road, before = _cut_road(prefix)
        value = int(number.group(1))
        parsed.number_text = number.group(0)
        if number.group(3) == "号":
            parsed.house_number = value
        else:
            parsed.lane = value
            parsed.house_number = value
            inner = _SUB_NUMBER.match(after)
            if inner is not None:
                parsed.sub_number = int(inner.group(2))
                parsed.number_text += inner.group(0)
                after = after[inner.end() :]
        if road is None and prefix:
            # "南京西路恒隆广场1号楼": the number belongs to the building, not to a road
            road, before, tail = _first_road(prefix)
            landmarks.append(tail)
    else:
        road, before, after = _first_road(rest)
    if before:
        landmarks.append(before)
    building = _BUILDING.match(after)
    if building is not None:
        parsed.building = building.group(1)
        after = after[building.end() :]
    room = _ROOM.search(after)
    if room is not None:
        parsed.room = room.group(1)
    floor = _FLOOR.search(after)
    if floor is not None:
        parsed.floor = floor.group(1)
    parsed.near_roads = _near_roads([*notes, after])
    for pattern in _NEAR:
        after = pattern.sub("", after)
    landmarks.append(after)
    landmarks.extend(note for note in notes if not _near_roads([note]))
    parsed.road = road
    parsed.road_candidates = _road_tails(road) if road else []
    for item in landmarks:
        value = _clean_landmark(item)
        administrative = parsed.subdistrict and parsed.subdistrict.endswith(("街道", "镇", "乡"))
        if value and value not in parsed.landmarks and not (administrative and value == parsed.subdistrict):
            parsed.landmarks.append(value)
    return parsed
