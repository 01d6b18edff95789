"""Check-up routing requests at the edge: CSV bookings, coordinate systems, checks, depots.

A union staff member's request (the JSON format of :mod:`geo.routing.checkup_io`, or the
same with the bookings as CSV text) is checked here *before* anything is solved, and every
problem is reported at once with the path of the field that caused it:

* booking and depot coordinates may be WGS84, GCJ-02 (Amap, Tencent) or BD-09 (Baidu),
  per point (``"crs"`` on the booking) or for the whole request (top-level ``"crs"``); they
  are converted to WGS84 with :func:`geo.crs.to_wgs84`;
* a booking or depot outside the service area (the Shanghai municipality) is refused,
  naming it; with ``strict=False`` such bookings are kept and planned as ``unreachable``;
* a package whose equipment no vehicle carries is refused, naming the bookings (with
  ``strict=False`` they are kept and reported as ``skill``);
* malformed times, unknown ids and the like come from
  :func:`geo.routing.checkup_io.problem_from_dict` and are merged into the same list.

Without ``"depots"`` the vehicles start from the district union worker service centres
(区工会职工服务中心, the ``service_centre`` registry): a vehicle's ``"depot"`` is then the
district name (``"徐汇区"``). The workers' sanatorium (市工人疗养院), which runs the
vehicles, is not in the shipped data; give it as a depot when its position is known.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from geo.crs import CRS, parse_crs, to_wgs84
from geo.errors import GeoError
from geo.routing.checkup import CheckupProblem
from geo.routing.checkup_io import problem_from_dict
from geo.routing.errors import ProblemValidationError
from layers.errors import LayersError
from layers.registry.catalog import DISTRICTS
from layers.registry.service import Registry

logger = logging.getLogger(__name__)

#: Most bookings one request may plan.
MAX_BOOKINGS = 1000
#: Most vehicle-days one request may plan.
MAX_VEHICLE_DAYS = 400
#: Columns of a bookings CSV (``id``, ``time_window``, ``soft`` and ``priority`` optional).
CSV_COLUMNS = ("name", "address", "lon", "lat", "crs", "workers", "package", "slots")
CSV_OPTIONAL = ("id", "time_window", "soft", "priority")
#: The registry layer whose facilities are the default depots.
DEFAULT_DEPOT_LAYER = "service_centre"


class CheckupRequestError(LayersError):
    """A check-up request refused before solving; ``problems`` lists every reason.

    Parameters
    ----------
    message
        Summary.
    problems
        One message per problem, each starting with the field path.
    """

    status_code = 422
    code = "invalid_checkup_request"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        shown = self.problems[:40]
        more = len(self.problems) - len(shown)
        full = message if not shown else message + ": " + "; ".join(shown)
        if more > 0:
            full += f"; … and {more} more"
        super().__init__(full)


@dataclass(frozen=True)
class BookingInfo:
    """What the request said about a booking beyond the routing model."""

    name: str
    address: str
    crs: str
    input_lon: float | None
    input_lat: float | None
    outside: bool = False


@dataclass(frozen=True)
class PreparedRequest:
    """A checked request, ready to solve.

    Attributes
    ----------
    problem
        The routing problem (WGS84 coordinates).
    matrix
        ``(duration_s, distance_m, method)`` given in the request, or ``None``.
    start_date
        ISO date of day 0, or ``None``.
    bookings
        Per booking id: name, address, input coordinates and CRS, outside the area or not.
    outside
        Ids of bookings outside the service area (kept only with ``strict=False``).
    converted
        Points converted to WGS84, per source CRS.
    default_depots
        Whether the depots are the district service centres.
    notes
        Plain-language notes for the answer.
    """

    problem: CheckupProblem
    matrix: tuple[np.ndarray, np.ndarray | None, str] | None
    start_date: str | None
    bookings: dict[str, BookingInfo]
    outside: frozenset[str]
    converted: dict[str, int]
    default_depots: bool
    notes: list[str] = field(default_factory=list)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --------------------------------------------------------------------------- CSV bookings
def _csv_slots(text: str, start_date: str | None, where: str, problems: list[str]) -> list:
    """``AM``, ``PM``, ``AM;PM``, ``2:AM``, ``2023-06-05:PM`` (semicolons between entries)."""
    slots: list = []
    for raw in (part.strip() for part in text.replace(",", ";").split(";")):
        if not raw:
            continue
        if raw.upper() in ("AM", "PM"):
            slots.append(raw.upper())
            continue
        day_text, _, slot = raw.rpartition(":")
        slot = slot.strip().upper()
        if slot not in ("AM", "PM") or not day_text:
            problems.append(f"{where}: {raw!r} is not AM, PM, day:AM or YYYY-MM-DD:PM")
            continue
        day_text = day_text.strip()
        if day_text.isdigit():
            slots.append([int(day_text), slot])
            continue
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            problems.append(f"{where}: {day_text!r} is neither a day number nor a date")
            continue
        if start_date is None:
            problems.append(f"{where}: the date {day_text} needs the request's start_date")
            continue
        slots.append([(day - date.fromisoformat(start_date)).days, slot])
    return slots


def bookings_from_csv(text: str, start_date: str | None = None) -> tuple[list[dict], list[str]]:
    """Read bookings from CSV text (UTF-8, header row).

    Columns ``name, address, lon, lat, crs, workers, package, slots`` (``address`` and
    ``crs`` may be empty; ``slots`` empty means any slot) and optionally ``id``,
    ``time_window`` (``09:00-10:30``), ``soft`` (``1``/``true``) and ``priority``. Without
    an ``id`` column a booking is called ``row-N`` after its line number.

    Returns
    -------
    tuple
        ``(bookings, problems)``: booking dicts in the JSON request format, and one message
        per malformed cell (``bookings_csv line 4: workers 'x' is not an integer``).
    """
    problems: list[str] = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("lon", "lat", "workers", "package") if c not in header]
    if missing:
        problems.append(
            f"bookings_csv: header {header} lacks {missing}; expected {', '.join(CSV_COLUMNS)}"
        )
        return [], problems
    bookings: list[dict] = []
    for line_no, row in enumerate(reader, start=2):
        cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(cells.values()):
            continue
        where = f"bookings_csv line {line_no}"
        booking: dict[str, Any] = {
            "id": cells.get("id") or f"row-{line_no}",
            "name": cells.get("name", ""),
            "address": cells.get("address", ""),
            "package": cells.get("package", ""),
        }
        for key in ("lon", "lat"):
            try:
                booking[key] = float(cells.get(key, ""))
            except ValueError:
                problems.append(f"{where}: {key} {cells.get(key)!r} is not a number")
        for key, default in (("workers", None), ("priority", 1)):
            value = cells.get(key, "")
            if not value and default is not None:
                continue
            try:
                booking[key] = int(value)
            except ValueError:
                problems.append(f"{where}: {key} {value!r} is not an integer")
        if cells.get("crs"):
            booking["crs"] = cells["crs"]
        if cells.get("slots"):
            booking["slots"] = _csv_slots(cells["slots"], start_date, f"{where}: slots", problems)
        if cells.get("time_window"):
            parts = [p.strip() for p in cells["time_window"].replace("–", "-").split("-")]
            if len(parts) == 2:
                booking["time_window"] = parts
            else:
                problems.append(f"{where}: time_window {cells['time_window']!r} is not HH:MM-HH:MM")
        if cells.get("soft"):
            booking["soft"] = cells["soft"].lower() in ("1", "true", "yes", "y", "soft")
        bookings.append(booking)
    if not bookings and not problems:
        problems.append("bookings_csv: no booking rows")
    return bookings, problems


# --------------------------------------------------------------------------- checks
def _convert_points(
    items: list[Any],
    kind: str,
    default_crs: CRS,
    registry: Registry,
    problems: list[str],
    converted: dict[str, int],
) -> tuple[list[Any], list[bool], list[tuple[str, float | None, float | None]]]:
    """Convert points to WGS84 and test the service area; return copies, outside flags, inputs."""
    out: list[Any] = []
    outside: list[bool] = []
    inputs: list[tuple[str, float | None, float | None]] = []
    for i, item in enumerate(items):
        where = f"{kind}[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object, got {type(item).__name__}")
            out.append({})
            outside.append(False)
            inputs.append((default_crs.value, None, None))
            continue
        copy = dict(item)
        crs = default_crs
        if "crs" in copy:
            try:
                crs = parse_crs(str(copy.pop("crs") or default_crs.value))
            except GeoError as error:
                problems.append(f"{where}.crs: {error.message}")
        lon, lat = copy.get("lon"), copy.get("lat")
        inputs.append((crs.value, lon if _is_number(lon) else None, lat if _is_number(lat) else None))
        is_outside = False
        if _is_number(lon) and _is_number(lat):
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                problems.append(f"{where}: lon {lon}, lat {lat} out of range")
            else:
                wgs_lon, wgs_lat = to_wgs84(float(lon), float(lat), crs)
                if crs is not CRS.WGS84:
                    converted[crs.value] = converted.get(crs.value, 0) + 1
                copy["lon"], copy["lat"] = wgs_lon, wgs_lat
                is_outside = not registry.in_service_area(wgs_lon, wgs_lat)
        out.append(copy)
        outside.append(is_outside)
    return out, outside, inputs


def _label(item: Any, index: int) -> str:
    if not isinstance(item, dict):
        return str(index)
    name = str(item.get("name") or "")
    ident = str(item.get("id", index))
    return f"{ident!r}" + (f" ({name})" if name else "")


def _default_depots(
    registry: Registry, vehicles: list[Any], problems: list[str]
) -> list[dict[str, Any]]:
    """The district service centres referenced by the vehicles, as depot dicts."""
    _, centres = registry.serving(DEFAULT_DEPOT_LAYER)
    by_district = {c.district: c for c in centres if c.district and c.lon is not None}
    wanted: list[str] = []
    for i, v in enumerate(vehicles):
        if not isinstance(v, dict):
            continue
        depot = str(v.get("depot", ""))
        if depot in by_district or depot in {c.id for c in by_district.values()}:
            key = depot if depot in by_district else next(
                d for d, c in by_district.items() if c.id == depot
            )
            if key not in wanted:
                wanted.append(key)
        elif depot in DISTRICTS:
            problems.append(
                f"vehicles[{i}].depot: the {depot} union service centre has no known position; "
                "give the vehicles' depot under \"depots\" (or use one of "
                + ", ".join(sorted(by_district)) + ")"
            )
        else:
            problems.append(
                f"vehicles[{i}].depot: {depot!r} is not a district; without \"depots\" in the "
                "request a vehicle starts from its district union service centre, one of "
                + ", ".join(sorted(by_district))
            )
    depots = []
    for district in wanted:
        c = by_district[district]
        depots.append({"id": district, "name": c.name, "lon": c.lon, "lat": c.lat,
                       "address": c.address or "", "facility": c.id})  # fmt: skip
    return depots


def _check_equipment(
    packages: list[Any], vehicles: list[Any], bookings: list[Any], problems: list[str]
) -> set[int]:
    """Bookings whose package needs equipment no vehicle carries; one message per package."""
    fleet: set[str] = set()
    for v in vehicles:
        if isinstance(v, dict) and isinstance(v.get("skills"), list):
            fleet |= {str(s) for s in v["skills"]}
    vehicle_skills = [
        {str(s) for s in (v.get("skills") or [])} if isinstance(v, dict) else set()
        for v in vehicles
    ]
    undoable: set[int] = set()
    for p_i, p in enumerate(packages):
        if not isinstance(p, dict) or not isinstance(p.get("skills") or [], list):
            continue
        need = {str(s) for s in (p.get("skills") or [])}
        if not need or any(need <= have for have in vehicle_skills):
            continue
        users = [
            b_i for b_i, b in enumerate(bookings)
            if isinstance(b, dict) and str(b.get("package", "")) == str(p.get("id", p_i))
        ]  # fmt: skip
        undoable |= set(users)
        if users:
            named = ", ".join(f"bookings[{b}] {_label(bookings[b], b)}" for b in users[:8])
            more = f" and {len(users) - 8} more" if len(users) > 8 else ""
            problems.append(
                f"packages[{p_i}] {p.get('id', p_i)!r} needs equipment {sorted(need)} that no "
                f"vehicle carries (equipment in the fleet: {sorted(fleet)}); booked by "
                f"{named}{more}"
            )
    return undoable


def prepare_request(
    data: Any, registry: Registry, *, strict: bool = True, max_bookings: int = MAX_BOOKINGS
) -> PreparedRequest:
    """Check a check-up request and turn it into a routing problem (WGS84).

    Parameters
    ----------
    data
        The JSON request (``bookings`` as a list, or ``bookings_csv`` as CSV text).
    registry
        For the service area and the default depots (district service centres).
    strict
        Refuse bookings outside the service area and packages no vehicle can do (default);
        with ``False`` keep them and report them as ``unreachable`` / ``skill``.
    max_bookings
        Largest number of bookings accepted.

    Returns
    -------
    PreparedRequest

    Raises
    ------
    CheckupRequestError
        Listing every problem found, each with its field path (status 422).
    """
    if not isinstance(data, dict):
        message = "the check-up request must be a JSON object"
        raise CheckupRequestError(message)
    problems: list[str] = []
    request = dict(data)
    try:
        default_crs = parse_crs(str(request.pop("crs", "wgs84")))
    except GeoError as error:
        problems.append(f"crs: {error.message}")
        default_crs = CRS.WGS84
    start_date = request.get("start_date")
    if start_date is not None:
        try:
            date.fromisoformat(str(start_date))
        except ValueError:
            start_date = None  # reported by problem_from_dict
    if "bookings_csv" in request:
        csv_text = request.pop("bookings_csv")
        if request.get("bookings"):
            problems.append("bookings_csv: give bookings either as a list or as CSV, not both")
        elif not isinstance(csv_text, str):
            problems.append("bookings_csv: expected CSV text")
        else:
            request["bookings"], csv_problems = bookings_from_csv(csv_text, start_date)
            problems += csv_problems
    for key in ("bookings", "vehicles", "packages", "depots"):
        if key in request and request[key] is not None and not isinstance(request[key], list):
            problems.append(f"{key}: expected a list, got {type(request[key]).__name__}")
            request[key] = []
    raw_bookings = list(request.get("bookings") or [])
    vehicles = list(request.get("vehicles") or [])
    if not raw_bookings:
        problems.append("bookings: no bookings to plan")
    if len(raw_bookings) > max_bookings:
        problems.append(
            f"bookings: {len(raw_bookings)} bookings > {max_bookings}, the most one request "
            "may plan; split the request (by district or by week)"
        )
    converted: dict[str, int] = {}
    bookings, outside_flags, inputs = _convert_points(
        raw_bookings, "bookings", default_crs, registry, problems, converted
    )
    outside_ids: set[str] = set()
    for i, is_out in enumerate(outside_flags):
        if not is_out:
            continue
        b = raw_bookings[i]
        crs, lon, lat = inputs[i]
        if strict:
            problems.append(
                f"bookings[{i}] {_label(b, i)}: lon {lon}, lat {lat} ({crs}) is outside the "
                "service area (the Shanghai municipality, 16 districts)"
            )
        else:
            outside_ids.add(str(b.get("id", i)))
    default_depots = not request.get("depots")
    if default_depots:
        if request.get("matrix") is not None:
            problems.append(
                "matrix: a travel-time matrix needs explicit depots (its rows are depots, "
                "then bookings)"
            )
        request["depots"] = _default_depots(registry, vehicles, problems)
    else:
        depots, depot_out, depot_in = _convert_points(
            list(request["depots"]), "depots", default_crs, registry, problems, converted
        )
        for i, is_out in enumerate(depot_out):
            if is_out:
                crs, lon, lat = depot_in[i]
                problems.append(
                    f"depots[{i}] {_label(request['depots'][i], i)}: lon {lon}, lat {lat} "
                    f"({crs}) is outside the service area (the Shanghai municipality)"
                )
        request["depots"] = depots
    undoable = _check_equipment(list(request.get("packages") or []), vehicles, raw_bookings,
                                problems if strict else [])  # fmt: skip
    request["bookings"] = bookings
    package_ids = [str(p.get("id", i)) for i, p in enumerate(request.get("packages") or [])
                   if isinstance(p, dict)]  # fmt: skip
    for i, b in enumerate(raw_bookings):
        if isinstance(b, dict) and str(b.get("package", "")) not in package_ids:
            problems.append(
                f"bookings[{i}].package: {_label(b, i)} books unknown package "
                f"{b.get('package')!r}; packages: {', '.join(package_ids) or 'none given'}"
            )
    problem = None
    extras: dict[str, Any] = {}
    try:
        problem, extras = problem_from_dict(request)
    except ProblemValidationError as error:
        problems += [m for m in (error.problems or [error.message])
                     if "unknown package" not in m]  # fmt: skip (reported above with the path)
    if problem is not None:
        n_vehicle_days = sum(len(problem.vehicle_days(v)) for v in problem.vehicles)
        if n_vehicle_days > MAX_VEHICLE_DAYS:
            problems.append(
                f"vehicles: {n_vehicle_days} vehicle-days > {MAX_VEHICLE_DAYS}, the most one "
                "request may plan"
            )
        if extras.get("duration_s") is not None:
            n_loc = len(problem.depots) + len(problem.bookings)
            for key in ("duration_s", "distance_m"):
                mat = extras.get(key)
                if mat is not None and mat.shape != (n_loc, n_loc):
                    problems.append(
                        f"matrix.{key}: shape {mat.shape} != ({n_loc}, {n_loc}) (depots, then "
                        "bookings)"
                    )
    if problems:
        message = f"{len(problems)} problem(s) in the check-up request"
        raise CheckupRequestError(message, problems)
    assert problem is not None
    infos: dict[str, BookingInfo] = {}
    for i, b in enumerate(problem.bookings):
        raw = raw_bookings[i] if isinstance(raw_bookings[i], dict) else {}
        crs, lon, lat = inputs[i]
        infos[b.id] = BookingInfo(
            name=str(raw.get("name") or b.name or ""), address=str(raw.get("address") or ""),
            crs=crs, input_lon=lon, input_lat=lat, outside=b.id in outside_ids,
        )  # fmt: skip
    notes: list[str] = []
    if converted:
        text = ", ".join(f"{n} from {crs.upper()}" for crs, n in sorted(converted.items()))
        notes.append(f"coordinates converted to WGS84: {text}")
    if default_depots:
        notes.append(
            "depots: the district union worker service centres "
            f"({', '.join(d.name or d.id for d in problem.depots)}); the workers' sanatorium "
            "(市工人疗养院) is not in the data — give it under \"depots\" to start from it"
        )
    if outside_ids:
        notes.append(
            f"{len(outside_ids)} booking(s) outside the service area kept as unreachable: "
            + ", ".join(sorted(outside_ids)[:10])
        )
    if undoable and not strict:
        notes.append(f"{len(undoable)} booking(s) need equipment no vehicle carries (skill)")
    matrix = None
    if extras.get("duration_s") is not None:
        matrix = (extras["duration_s"], extras.get("distance_m"), str(extras["method"]))
    return PreparedRequest(
        problem=problem, matrix=matrix, start_date=extras.get("start_date"), bookings=infos,
        outside=frozenset(outside_ids), converted=converted, default_depots=default_depots,
        notes=notes,
    )  # fmt: skip
