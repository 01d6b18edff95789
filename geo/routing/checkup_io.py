"""Reading a check-up request from plain JSON-like data, and writing plans (JSON, CSV, HTML).

The request format (all times ``"HH:MM"``, coordinates WGS84)::

    {
      "days": 5, "start_date": "2023-06-05",
      "slots": {"AM": ["08:00", "11:30"], "PM": ["13:00", "16:30"]},
      "lateness_penalty_per_min": 60, "split_large_bookings": true,
      "depots": [{"id": "sanatorium", "name": "市工人疗养院", "lon": 121.4, "lat": 31.2}],
      "packages": [{"id": "L1", "setup_min": 15, "per_worker_min": 4, "skills": []}],
      "vehicles": [{"id": "V1", "depot": "sanatorium", "count": 1,
                    "capacity_half_day": 40, "capacity_day": 70,
                    "shift": ["07:30", "17:30"], "lunch_break": ["11:30", "13:00"],
                    "skills": ["xray"], "days": [0, 1, 2, 3, 4]}],
      "bookings": [{"id": "B1", "name": "…", "lon": 121.5, "lat": 31.2, "workers": 25,
                    "package": "L1", "slots": [[0, "AM"], [2, "PM"]] | ["AM"],
                    "time_window": ["09:00", "10:30"], "soft": false, "priority": 1}],
      "matrix": {"duration_s": [[…]], "distance_m": [[…]], "method": "network"}
    }

``slots`` of a booking lists ``[day, "AM"|"PM"]`` pairs, or bare ``"AM"``/``"PM"`` meaning
that slot on every day; omitted means any slot. The optional ``matrix`` gives drive times
with rows/columns ordered depots then bookings; without it a straight-line estimate is used
(:func:`geo.routing.checkup.estimate_matrices`). Every malformed field is reported, with
its path, in one :class:`~geo.routing.errors.ProblemValidationError`.
"""

from __future__ import annotations

import html
import io
import re
from datetime import date, timedelta
from typing import Any

import numpy as np

from geo.routing.checkup import (
    SLOTS,
    Booking,
    CheckupPlan,
    CheckupProblem,
    Depot,
    Package,
    Vehicle,
)
from geo.routing.errors import ProblemValidationError
from geo.spreadsheet import SafeWriter

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _short(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters (messages never echo large inputs)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Collector:
    """Reads JSON-like values of the request, recording each problem with its path."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        """``value`` when it is an object, else ``{}`` (and a problem unless ``None``)."""
        if isinstance(value, dict):
            return value
        if value is not None:
            self.problems.append(f"{where}: expected an object, got {_short(value)}")
        return {}

    def items(self, data: dict[str, Any], key: str, where: str) -> list[tuple[str, dict]]:
        """``(path, object)`` for each element of the list ``data[key]`` (objects only)."""
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problems.append(f"{where}{key}: expected a list, got {_short(value)}")
            return []
        out = []
        for i, element in enumerate(value):
            path = f"{where}{key}[{i}]"
            if isinstance(element, dict):
                out.append((path, element))
            else:
                self.problems.append(f"{path}: expected an object, got {_short(element)}")
        return out

    def text(self, obj: dict[str, Any], key: str, where: str, default: str = "") -> str:
        """A string field (numbers are accepted and written as text)."""
        value = obj.get(key, default)
        if value is None:
            return default
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
        self.problems.append(f"{where}.{key}: expected text, got {_short(value)}")
        return default

    def strings(self, obj: dict[str, Any], key: str, where: str) -> frozenset[str]:
        """A list of strings (``skills``)."""
        value = obj.get(key)
        if value is None:
            return frozenset()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.append(f"{where}.{key}: expected a list of text, got {_short(value)}")
            return frozenset()
        return frozenset(value)

    def flag(self, obj: dict[str, Any], key: str, where: str, default: bool) -> bool:
        value = obj.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problems.append(f"{where}.{key}: expected true or false, got {_short(value)}")
            return default
        return value

    def time(self, value: Any, where: str) -> int:
        m = _HHMM.match(str(value).strip()) if isinstance(value, str) else None
        if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59:
            self.problems.append(f"{where}: {_short(value)} is not a time HH:MM")
            return 0
        t = int(m.group(1)) * 3600 + int(m.group(2)) * 60
        if t > 86_400:
            self.problems.append(f"{where}: {_short(value)} is after 24:00")
        return t

    def interval(self, value: Any, where: str, default: tuple[int, int]) -> tuple[int, int]:
        if value is None:
            return default
        if not isinstance(value, list | tuple) or len(value) != 2:
            self.problems.append(f'{where}: expected ["HH:MM", "HH:MM"], got {_short(value)}')
            return default
        n_before = len(self.problems)
        a, b = self.time(value[0], f"{where}[0]"), self.time(value[1], f"{where}[1]")
        if a > b and len(self.problems) == n_before:
            self.problems.append(f"{where}: {value[0]} is after {value[1]}")
        return a, b

    def number(
        self, obj: dict, key: str, where: str, default: Any = None, kind: type = float,
        low: float | None = None, high: float | None = None,
    ) -> Any:
        if key not in obj or (obj[key] is None and default is not None):
            if default is None:
                self.problems.append(f"{where}: missing {key!r}")
                return kind(0)
            return default
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.problems.append(f"{where}.{key}: {_short(value)} is not a number")
            return kind(0)
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.problems.append(f"{where}.{key}: {_short(value)} is not a number")
            return kind(0)
        if kind is int:
            if not np.isfinite(number) or number != int(number) or abs(number) > 2**31:
                self.problems.append(f"{where}.{key}: {_short(value)} is not an integer")
                return 0
            return int(number)
        if not np.isfinite(number):
            self.problems.append(f"{where}.{key}: {_short(value)} is not finite")
            return 0.0
        if (low is not None and number < low) or (high is not None and number > high):
            self.problems.append(f"{where}.{key}: {_short(value)} is not between {low:g} and {high:g}")
            return 0.0
        return number

    def days(self, obj: dict[str, Any], key: str, where: str) -> tuple[int, ...] | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 10_000 for d in value
        ):
            self.problems.append(f"{where}.{key}: expected a list of day numbers, got {_short(value)}")
            return None
        return tuple(value)

    def slots(self, b: dict[str, Any], where: str, n_days: int) -> list[tuple[int, str]] | None:
        raw = b.get("slots")
        if raw is None:
            return None
        if not isinstance(raw, list):
            self.problems.append(f'{where}.slots: expected a list of [day, "AM"|"PM"] or "AM"/"PM", got {_short(raw)}')
            return None
        out: list[tuple[int, str]] = []
        for j, s in enumerate(raw):
            path = f"{where}.slots[{j}]"
            if isinstance(s, str):
                if s not in SLOTS:
                    self.problems.append(f"{path}: {_short(s)} is not AM or PM")
                out += [(d, s) for d in range(max(n_days, 0))]
            elif isinstance(s, list | tuple) and len(s) == 2:
                day, slot = s
                if isinstance(day, bool) or not isinstance(day, int):
                    self.problems.append(f"{path}: day {_short(day)} is not an integer")
                elif not isinstance(slot, str) or slot not in SLOTS:
                    self.problems.append(f"{path}: {_short(slot)} is not AM or PM")
                else:
                    out.append((day, slot))
            else:
                self.problems.append(f'{path}: expected [day, "AM"|"PM"], got {_short(s)}')
        return out


def problem_from_dict(data: dict) -> tuple[CheckupProblem, dict]:
    """Build a :class:`CheckupProblem` from a JSON-like request.

    Every value is type-checked: a wrong type anywhere (a number where an object is
    expected, text where a list is, ``null`` in a list) is reported with its path, never
    raised as a Python error.

    Returns
    -------
    tuple
        ``(problem, extras)`` where ``extras`` holds ``duration_s``/``distance_m`` arrays
        (or ``None``), the matrix ``method`` and ``start_date``.

    Raises
    ------
    ProblemValidationError
        Listing every malformed field (status 422).
    """
    col = _Collector()
    if not isinstance(data, dict):
        msg = "the request must be a JSON object"
        raise ProblemValidationError(msg)
    n_days = col.number(data, "days", "request", 5, int)
    if not 0 <= n_days <= 366:
        col.problems.append(f"days: {n_days} is not between 0 and 366")
        n_days = max(0, min(n_days, 366))
    slots = col.obj(data.get("slots"), "slots")
    am = col.interval(slots.get("AM"), "slots.AM", (8 * 3600, 11 * 3600 + 1800))
    pm = col.interval(slots.get("PM"), "slots.PM", (13 * 3600, 16 * 3600 + 1800))
    lunch_default = col.interval(data.get("lunch_break"), "lunch_break", (am[1], pm[0]))

    depots = [
        Depot(col.text(d, "id", w, str(i)), col.number(d, "lon", w, low=-180, high=180),
              col.number(d, "lat", w, low=-90, high=90),
              col.text(d, "name", w))
        for i, (w, d) in enumerate(col.items(data, "depots", ""))
    ]  # fmt: skip
    packages = [
        Package(col.text(p, "id", w, str(i)), round(60 * col.number(p, "setup_min", w, 0.0, low=0, high=1440)),
                round(60 * col.number(p, "per_worker_min", w, low=0, high=1440)), col.strings(p, "skills", w))
        for i, (w, p) in enumerate(col.items(data, "packages", ""))
    ]  # fmt: skip
    vehicles = []
    for i, (w, v) in enumerate(col.items(data, "vehicles", "")):
        count = col.number(v, "count", w, 1, int)
        if not 0 <= count <= 1000:
            col.problems.append(f"{w}.count: {count} is not between 0 and 1000")
            count = 0
        shift = col.interval(v.get("shift"), f"{w}.shift", (7 * 3600 + 1800, 17 * 3600 + 1800))
        brk = col.interval(v.get("lunch_break"), f"{w}.lunch_break", lunch_default)
        half = col.number(v, "capacity_half_day", w, kind=int)
        day_cap = None if v.get("capacity_day") is None else col.number(v, "capacity_day", w,
                                                                        kind=int)  # fmt: skip
        days = col.days(v, "days", w)
        skills = col.strings(v, "skills", w)
        depot = col.text(v, "depot", w)
        base_id = col.text(v, "id", w, str(i))
        for k in range(count):
            vehicles.append(
                Vehicle(
                    id=base_id if count == 1 else f"{base_id}-{k + 1}",
                    depot_id=depot,
                    capacity_half_day=half,
                    capacity_day=day_cap,
                    shift_start_s=shift[0],
                    shift_end_s=shift[1],
                    skills=skills,
                    break_start_s=brk[0],
                    break_end_s=brk[1],
                    days=days,
                )
            )
    bookings = []
    for i, (w, b) in enumerate(col.items(data, "bookings", "")):
        slot_list = col.slots(b, w, n_days)
        window = b.get("time_window")
        bookings.append(
            Booking(
                id=col.text(b, "id", w, str(i)),
                lon=col.number(b, "lon", w, low=-180, high=180),
                lat=col.number(b, "lat", w, low=-90, high=90),
                workers=col.number(b, "workers", w, kind=int),
                package_id=col.text(b, "package", w),
                slots=None if slot_list is None else tuple(slot_list),
                window_s=None if window is None else col.interval(window, f"{w}.time_window", (0, 0)),
                soft=col.flag(b, "soft", w, False),
                priority=col.number(b, "priority", w, 1, int),
                name=col.text(b, "name", w),
            )
        )
    extras: dict[str, Any] = {
        "duration_s": None,
        "distance_m": None,
        "method": "estimate",
        "start_date": data.get("start_date"),
    }
    if data.get("matrix") is not None:
        m = col.obj(data["matrix"], "matrix")
        try:
            if "duration_s" not in m:
                raise KeyError("duration_s")
            extras["duration_s"] = np.asarray(m["duration_s"], dtype=float)
            extras["distance_m"] = (
                None if m.get("distance_m") is None else np.asarray(m["distance_m"], dtype=float)
            )
            extras["method"] = col.text(m, "method", "matrix", "matrix")
            if extras["duration_s"].ndim != 2:
                raise ValueError("duration_s must be a square list of lists")
        except (KeyError, TypeError, ValueError) as exc:
            col.problems.append(f"matrix: {_short(str(exc), 80)}")
    if extras["start_date"] is not None:
        try:
            date.fromisoformat(str(extras["start_date"]))
        except ValueError:
            col.problems.append(f"start_date: {_short(extras['start_date'])} is not YYYY-MM-DD")
    penalty = col.number(data, "lateness_penalty_per_min", "request", 60.0, low=0, high=1e6)
    split = col.flag(data, "split_large_bookings", "request", True)
    if col.problems:
        msg = f"{len(col.problems)} malformed field(s) in the check-up request"
        raise ProblemValidationError(msg, col.problems[:50])
    problem = CheckupProblem(
        depots=tuple(depots),
        vehicles=tuple(vehicles),
        packages=tuple(packages),
        bookings=tuple(bookings),
        n_days=n_days,
        am_s=am,
        pm_s=pm,
        lateness_penalty_per_min=float(penalty),
        split_large=split,
    )
    problem.validate()
    return problem, extras


def hhmm(t_s: float) -> str:
    """Format seconds since midnight as ``HH:MM`` (rounded to the minute)."""
    t = round(t_s / 60.0) * 60
    return f"{t // 3600:02d}:{(t % 3600) // 60:02d}"


def _day_label(day: int, start_date: str | None) -> str:
    if start_date:
        return (date.fromisoformat(start_date) + timedelta(days=day)).isoformat()
    return f"day {day}"


def plan_to_dict(plan: CheckupPlan, start_date: str | None = None) -> dict:
    """The plan as JSON-ready data (times as ``HH:MM`` plus seconds)."""
    routes = []
    for r in plan.routes:
        routes.append(
            {
                "vehicle": r.vehicle_id,
                "day": r.day,
                "date": _day_label(r.day, start_date),
                "depot": r.depot_id,
                "depart": hhmm(r.depart_s),
                "return": hhmm(r.return_s),
                "load_am": r.load_am,
                "load_pm": r.load_pm,
                "travel_min": round(r.travel_s / 60, 1),
                "distance_km": round(r.distance_m / 1000, 2),
                "stops": [
                    {
                        "seq": k + 1,
                        "booking": s.booking_id,
                        "part": s.part,
                        "parts": s.n_parts,
                        "workers": s.workers,
                        "package": s.package_id,
                        "slot": s.slot,
                        "eta": hhmm(s.arrival_s),
                        "start": hhmm(s.start_s),
                        "end": hhmm(s.end_s),
                        "start_s": round(s.start_s, 1),
                        "lateness_min": round(s.lateness_s / 60, 1),
                        "lon": s.lon,
                        "lat": s.lat,
                    }
                    for k, s in enumerate(r.stops)
                ],
            }
        )
    return {
        "routes": routes,
        "unassigned": [
            {
                "booking": u.booking_id,
                "part": u.part,
                "parts": u.n_parts,
                "workers": u.workers,
                "reason": u.reason,
                "message": u.message,
            }
            for u in plan.unassigned
        ],
        "summary": {
            "vehicle_days": len(plan.routes),
            "served_workers": plan.served_workers,
            "total_workers": plan.total_workers,
            "travel_h": round(plan.total_travel_s / 3600, 2),
            "distance_km": round(plan.total_distance_m / 1000, 2),
            "seconds": round(plan.runtime_s, 2),
            "travel_times": plan.leg_method,
        },
    }


def plan_to_csv(plan: CheckupPlan, start_date: str | None = None) -> str:
    """One row per stop, then one row per unassigned booking (``status`` column)."""
    buf = io.StringIO()
    w = SafeWriter(buf)
    w.writerow(
        [
            "status",
            "vehicle",
            "date",
            "seq",
            "booking",
            "part",
            "workers",
            "package",
            "slot",
            "eta",
            "start",
            "end",
            "lateness_min",
            "lon",
            "lat",
            "reason",
            "message",
        ]
    )
    for r in plan.routes:
        for k, s in enumerate(r.stops):
            w.writerow(
                [
                    "planned",
                    r.vehicle_id,
                    _day_label(r.day, start_date),
                    k + 1,
                    s.booking_id,
                    f"{s.part}/{s.n_parts}",
                    s.workers,
                    s.package_id,
                    s.slot,
                    hhmm(s.arrival_s),
                    hhmm(s.start_s),
                    hhmm(s.end_s),
                    round(s.lateness_s / 60, 1),
                    f"{s.lon:.6f}",
                    f"{s.lat:.6f}",
                    "",
                    "",
                ]
            )
    for u in plan.unassigned:
        w.writerow(
            [
                "unassigned",
                "",
                "",
                "",
                u.booking_id,
                f"{u.part}/{u.n_parts}",
                u.workers,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                u.reason,
                u.message,
            ]
        )
    return buf.getvalue()


def plan_to_html(plan: CheckupPlan, problem: CheckupProblem, start_date: str | None = None) -> str:
    """A self-contained printable schedule: one page per vehicle-day with ETAs."""
    e = html.escape
    names = {b.id: b.name for b in problem.bookings}
    depots = {d.id: d.name or d.id for d in problem.depots}
    parts = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        "<title>体检车日程 Check-up vehicle schedule</title><style>",
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%}",
        "th,td{border:1px solid #999;padding:4px 6px;text-align:left}th{background:#eee}",
        "section{page-break-after:always;margin-bottom:2em}.late{color:#b00}",
        "@media print{body{margin:0}}</style></head><body>",
        "<h1>体检车日程 · Check-up vehicle schedule</h1>",
        f"<p>{plan.served_workers} of {plan.total_workers} workers planned on "
        f"{len(plan.routes)} vehicle-days; travel {plan.total_travel_s / 3600:.1f} h "
        f"({e(plan.leg_method)} travel times).</p>",
    ]
    for r in plan.routes:
        parts.append(
            f"<section><h2>{e(r.vehicle_id)} · {e(_day_label(r.day, start_date))}</h2>"
            f"<p>Depot {e(depots.get(r.depot_id, r.depot_id))}: depart {hhmm(r.depart_s)}, "
            f"back {hhmm(r.return_s)} · AM {r.load_am} / PM {r.load_pm} workers · "
            f"{r.distance_m / 1000:.1f} km</p><table><tr><th>#</th><th>Workplace</th>"
            "<th>Slot</th><th>ETA</th><th>Start</th><th>End</th><th>Workers</th>"
            "<th>Package</th><th>Late</th></tr>"
        )
        for k, s in enumerate(r.stops):
            label = names.get(s.booking_id) or s.booking_id
            part = f" ({s.part}/{s.n_parts})" if s.n_parts > 1 else ""
            late = f"<span class='late'>{s.lateness_s / 60:.0f} min</span>" if s.lateness_s else ""
            parts.append(
                f"<tr><td>{k + 1}</td><td>{e(label)}{part}<br><small>{e(s.booking_id)}</small>"
                f"</td><td>{s.slot}</td><td>{hhmm(s.arrival_s)}</td><td>{hhmm(s.start_s)}</td>"
                f"<td>{hhmm(s.end_s)}</td><td>{s.workers}</td><td>{e(s.package_id)}</td>"
                f"<td>{late}</td></tr>"
            )
        parts.append("</table></section>")
    if plan.unassigned:
        parts.append(
            "<section><h2>Not planned</h2><table><tr><th>Booking</th><th>Workers</th>"
            "<th>Reason</th><th>Details</th></tr>"
        )
        for u in plan.unassigned:
            parts.append(
                f"<tr><td>{e(u.booking_id)}</td><td>{u.workers}</td><td>{e(u.reason)}"
                f"</td><td>{e(u.message)}</td></tr>"
            )
        parts.append("</table></section>")
    parts.append("</body></html>")
    return "\n".join(parts)
