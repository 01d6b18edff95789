"""Structured opening hours in local time (Asia/Shanghai).

The model is a small subset of OSM ``opening_hours``: a list of rules, each a set of week
days with one opening interval; an interval whose closing time is not after its opening
time runs past midnight. ``always_open`` means 24/7. Hours that are unknown are ``None`` on
the facility, never an empty schedule, so "closed" and "unknown" stay different answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

TIMEZONE: Final = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TIMEZONE)
WEEKDAYS: tuple[str, ...] = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

Weekday = Literal["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]


def _parse_clock(value: str) -> int:
    """Minutes after midnight for ``HH:MM`` (``24:00`` allowed)."""
    hours, _, minutes = value.partition(":")
    total = int(hours) * 60 + int(minutes)
    if not (0 <= int(minutes) < 60 and 0 <= total <= 24 * 60):
        raise ValueError(f"time {value!r} is not between 00:00 and 24:00")
    return total


class HoursRule(BaseModel):
    """One opening interval on a set of week days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[Weekday] = Field(min_length=1, description="Week days, OSM style: Mo..Su")
    opens: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["09:00"])
    closes: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["17:30"])

    @field_validator("opens", "closes")
    @classmethod
    def _valid_clock(cls, value: str) -> str:
        _parse_clock(value)
        return value

    def covers(self, weekday: int, minute_of_day: int) -> bool:
        """Whether this rule is open at ``minute_of_day`` of week day ``weekday`` (0 = Mo)."""
        start, end = _parse_clock(self.opens), _parse_clock(self.closes)
        today = WEEKDAYS[weekday]
        yesterday = WEEKDAYS[(weekday - 1) % 7]
        if end > start:
            return today in self.days and start <= minute_of_day < end
        # interval runs past midnight: open from `start` today, or before `end` after a
        # day on which it opened
        return (today in self.days and minute_of_day >= start) or (
            yesterday in self.days and minute_of_day < end
        )


class OpeningHours(BaseModel):
    """A facility's weekly opening hours in Asia/Shanghai local time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: Literal["Asia/Shanghai"] = TIMEZONE
    always_open: bool = False
    rules: list[HoursRule] = Field(default_factory=list)
    note: str | None = Field(default=None, max_length=200)

    def is_open(self, at: datetime) -> bool:
        """Whether the facility is open at ``at`` (naive datetimes are Shanghai local time)."""
        if self.always_open:
            return True
        local = at.replace(tzinfo=SHANGHAI) if at.tzinfo is None else at.astimezone(SHANGHAI)
        minute = local.hour * 60 + local.minute
        return any(rule.covers(local.weekday(), minute) for rule in self.rules)

    def to_text(self, lang: Literal["zh", "en"] = "en") -> str:
        """A short human-readable form, e.g. ``Mo-Fr 09:00-17:00``."""
        if self.always_open:
            return "24小时" if lang == "zh" else "24/7"
        parts = []
        for rule in self.rules:
            names = _WEEKDAY_ZH if lang == "zh" else WEEKDAYS
            indices = sorted(WEEKDAYS.index(day) for day in rule.days)
            parts.append(f"{_day_ranges(indices, names)} {rule.opens}-{rule.closes}")
        text = "; ".join(parts)
        if self.note:
            text = f"{text} ({self.note})" if text else self.note
        return text


def _day_ranges(indices: list[int], names: tuple[str, ...]) -> str:
    """Collapse sorted day indices into ranges: [0,1,2,4] -> 'Mo-We,Fr'."""
    ranges: list[str] = []
    run_start = previous = indices[0]
    for index in [*indices[1:], None]:
        if index is not None and index == previous + 1:
            previous = index
            continue
        ranges.append(names[run_start] if run_start == previous else f"{names[run_start]}-{names[previous]}")
        if index is not None:
            run_start = previous = index
    return ",".join(ranges)


def now_in_shanghai() -> datetime:
    """The current time in Asia/Shanghai."""
    return datetime.now(SHANGHAI)


def parse_local_datetime(value: str) -> datetime:
    """Parse an ISO 8601 date-time; a value without offset is Shanghai local time.

    Raises
    ------
    ValueError
        When the value is not an ISO 8601 date-time.
    """
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed


ONE_WEEK = timedelta(days=7)
