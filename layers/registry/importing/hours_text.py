"""Opening-hours text -> :class:`~layers.registry.hours.OpeningHours`, where it can be expressed.

Recognised, per segment (segments are split at ``；``, ``;``, ``。`` and line breaks):

* ``24小时``, ``全天``, ``7×24`` -> always open;
* days: ``每周三``, ``周一至周五``, ``星期一到星期六``, ``周二、周四``, ``工作日`` (Mo-Fr),
  ``周末`` (Sa, Su), ``每天``/``每日``; OSM-style ``Mo-Fr`` too;
* times: ``9:00-17:00``, ``9：00—17：00``, ``9点-17点``, ``8:30-11:00、13:00-16:30``,
  with ``上午``/``中午``/``下午``/``晚上`` (``下午1:30-4:30`` -> 13:30-16:30).

What the model cannot express is kept as the hours' ``note`` and reported: monthly or
fortnightly times (``每月第一个周二下午``), half days without clock times (``每周二下午``),
days without times. Times without days are read as every day, with a warning. The
original text is always kept by the caller (``hours_text``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from geo._once import pure_cache
from layers.registry.hours import WEEKDAYS, HoursRule, OpeningHours
from layers.registry.importing.cells import nfkc

_DAY_CHARS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_DAY_WORD = r"(?:周|星期|礼拜)"
_DAY_CHAR = "[一二三四五六日天七]"
_DAY_RANGE = re.compile(rf"{_DAY_WORD}({_DAY_CHAR})\s*(?:至|到|~|-|—|－)\s*{_DAY_WORD}?({_DAY_CHAR})")
_DAY_LIST = re.compile(rf"{_DAY_WORD}({_DAY_CHAR}(?:\s*[、,，和及与]\s*{_DAY_WORD}?{_DAY_CHAR})*)")
_OSM_DAYS = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su)(?:\s*-\s*(Mo|Tu|We|Th|Fr|Sa|Su))?\b")
_PERIOD = r"(上午|早上|中午|午间|下午|晚上|傍晚)?"
_CLOCK = r"(\d{1,2})(?:\s*[:：.]\s*(\d{2})|\s*[点时](?:\s*(\d{1,2})\s*分?|(半))?)"
_TIME_RANGE = re.compile(rf"{_PERIOD}\s*{_CLOCK}\s*(?:-|~|—|－|至|到)+\s*{_PERIOD}\s*{_CLOCK}")
_ALWAYS = re.compile(r"24\s*(小时|h)|全天候|7\s*[x×*]\s*24|全天24")
_IRREGULAR = re.compile(r"每月|每季|第[一二三四五1-5]个?|双周|单周|隔周|每两周|每隔|不定期|预约|节假日")
_HALF_DAY = re.compile(r"上午|中午|下午|晚上|全天|半天")
_SEGMENTS = re.compile(r"[；;。\n]+")


@dataclass
class HoursParse:
    """The result of reading an hours text.

    Attributes
    ----------
    hours
        The schedule, or ``None`` when no rule could be read (unknown, not closed).
    note
        What could not be expressed, as written (also set on ``hours.note``).
    days_assumed
        Whether some times had no days and were read as every day.
    """

    hours: OpeningHours | None = None
    note: str | None = None
    days_assumed: bool = False
    unreadable: list[str] = field(default_factory=list)


def _days_in(segment: str) -> list[int] | None:
    """Week-day indices named in ``segment`` (``None`` when none are)."""
    days: set[int] = set()
    for match in _DAY_RANGE.finditer(segment):
        start, end = _DAY_CHARS[match.group(1)], _DAY_CHARS[match.group(2)]
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    remainder = _DAY_RANGE.sub(" ", segment)
    for match in _DAY_LIST.finditer(remainder):
        days.update(_DAY_CHARS[char] for char in match.group(1) if char in _DAY_CHARS)
    if "工作日" in segment:
        days.update(range(5))
    if "周末" in segment or "双休日" in segment:
        days.update((5, 6))
    if re.search(r"每天|每日|天天|全周|全年无休|周一至周日", segment):
        days.update(range(7))
    for match in _OSM_DAYS.finditer(segment):
        start = WEEKDAYS.index(match.group(1))
        end = WEEKDAYS.index(match.group(2)) if match.group(2) else start
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    return sorted(days) if days else None


def _minutes(period: str | None, hour: str, minute: str | None, minute_alt: str | None,
             half: str | None) -> int:
    value = int(hour) * 60 + (int(minute) if minute else int(minute_alt) if minute_alt else 0)
    if half:
        value += 30
    if (period in ("下午", "晚上", "傍晚") and int(hour) < 12) or (period in ("中午", "午间") and int(hour) < 6):
        value += 12 * 60
    return value


def _times_in(segment: str) -> list[tuple[int, int]]:
    """Opening intervals (minutes after midnight) named in ``segment``."""
    intervals = []
    for match in _TIME_RANGE.finditer(segment):
        start_period, end_period = match.group(1), match.group(6)
        start = _minutes(start_period, *match.group(2, 3, 4, 5))
        end = _minutes(end_period or start_period, *match.group(7, 8, 9, 10))
        if end <= start and end < 12 * 60 and end + 12 * 60 > start:
            end += 12 * 60  # "9:00-5:00" means 17:00
        if not (0 <= start < 24 * 60 and 0 < end <= 24 * 60) or end == start:
            continue
        intervals.append((start, end))
    return intervals


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@pure_cache(maxsize=8192)
def parse_hours(text: str) -> HoursParse:
    """Read ``text`` into opening hours where the model can express it.

    Parameters
    ----------
    text
        An hours cell, or a ``服务内容及时间`` cell that mixes services and times.

    Returns
    -------
    HoursParse
        The schedule (or ``None``) and a note holding every segment about time that
        could not be expressed. Results are cached by text: treat them as read-only.
    """
    result = HoursParse()
    normal = nfkc(text)
    if _ALWAYS.search(normal):
        result.hours = OpeningHours(always_open=True)
        return result
    rules: list[HoursRule] = []
    notes: list[str] = []
    for segment in (part.strip() for part in _SEGMENTS.split(normal)):
        if not segment:
            continue
        days = _days_in(segment)
        times = _times_in(segment)
        irregular = bool(_IRREGULAR.search(segment))
        if irregular or (days and not times) or (not days and not times and _HALF_DAY.search(segment)):
            notes.append(segment)
            continue
        if not times:
            continue  # a phrase about services, not time
        if days is None:
            days = list(range(7))
            result.days_assumed = True
        names = [WEEKDAYS[day] for day in days]
        rules += [HoursRule(days=names, opens=_clock(start), closes=_clock(end) if end < 24 * 60 else "24:00")
                  for start, end in times]
    note = "；".join(notes) or None
    if note and len(note) > 200:
        note = note[:199] + "…"
    result.note = note
    if rules:
        result.hours = OpeningHours(rules=rules, note=note)
    return result
