"""Turn one data row's cells into a :class:`ParsedRow`: normalised fields and problems.

Row rules (cell rules are in :mod:`.cells`):

* a row without a name is an error;
* a row with neither a usable position nor an address is an error;
* coordinates outside Shanghai (more than 0.5° beyond its bounds) are an error, just
  outside its bounds a warning; swapped longitude/latitude are swapped back with a
  warning; GCJ-02/BD-09 are converted to WGS84 with ``geo.crs`` (prcoords);
* the district comes from the row's district column, else from the contact block, else
  from the start of the address, else from the start of the name (``徐汇区总工会…``); a district column that disagrees with the address is a
  warning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from geo.crs import to_wgs84
from layers.registry.catalog import LAYERS
from layers.registry.importing import cells as cellparse
from layers.registry.importing.cells import CellResult, Issue, clean_text, nfkc
from layers.registry.importing.hours_text import parse_hours
from layers.registry.importing.model import ColumnMatch, ContactBlock, ParsedRow, RowProblem
from layers.registry.importing.services import parse_services

#: Shanghai's extent in WGS84 degrees (mainland, Chongming and the offshore islands).
SHANGHAI_BOUNDS = (120.85, 30.65, 122.25, 31.90)
#: How far outside the bounds a point may lie and only be warned about.
NEAR_MARGIN_DEG = 0.5

#: the Facility schema's limits
MAX_NAME_CHARS = 200
MAX_ADDRESS_CHARS = 300

_NUMBER_TEXT = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
_POSTCODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class RowContext:
    """What every row of a table shares.

    Attributes
    ----------
    layer
        The layer being imported.
    columns
        The header's column matches.
    contact
        The contact block (its district applies to rows without one).
    coord_crs
        The CRS of the coordinate columns, or ``None`` when they cannot be used.
    """

    layer: str
    columns: Sequence[ColumnMatch]
    contact: ContactBlock
    coord_crs: str | None


class _RowBuilder:
    def __init__(self, row_number: int, context: RowContext) -> None:
        self.row = ParsedRow(row=row_number)
        self.context = context

    def add(self, column: ColumnMatch | None, value: str | None, issue: Issue) -> None:
        self.row.problems.append(
            RowProblem(
                row=self.row.row,
                column=column.header if column else None,
                column_letter=column.letter if column else None,
                value=value,
                message_zh=issue.message_zh,
                message_en=issue.message_en,
                severity=issue.severity,
                code=issue.code,
                field=column.field if column else None,
            )
        )

    def problem(self, column: ColumnMatch | None, value: str | None, severity: str, code: str,
                message_zh: str, message_en: str) -> None:
        self.add(column, value, Issue(severity, code, message_zh, message_en))  # type: ignore[arg-type]

    def take(self, column: ColumnMatch, value: Any, result: CellResult) -> Any:
        for issue in result.issues:
            self.add(column, clean_text(value), issue)
        return result.value


def parse_row(row_number: int, values: Sequence[Any], context: RowContext) -> ParsedRow:
    """Parse one data row.

    Parameters
    ----------
    row_number
        Excel row number.
    values
        The row's cells, column A first.
    context
        Columns, layer, contact block and coordinate CRS of the table.
    """
    builder = _RowBuilder(row_number, context)
    row = builder.row
    fields = row.fields
    cells_by_field: dict[str, list[tuple[ColumnMatch, Any]]] = {}
    for column in context.columns:
        value = values[column.index] if column.index < len(values) else ""
        text = clean_text(value)
        if not text:
            continue
        if column.field is None:
            if column.how != "mapping":  # a column the mapping drops is not kept
                row.extra_columns[column.header or column.letter] = text
            continue
        cells_by_field.setdefault(column.field, []).append((column, value))
        row.raw[column.field] = (
            f"{row.raw[column.field]} {text}" if column.field in row.raw else text
        )

    def first(name: str) -> tuple[ColumnMatch, Any] | None:
        found = cells_by_field.get(name)
        return found[0] if found else None

    for name in ("name", "address", "contact_person", "park_name", "notes", "street",
                 "partner_centre"):
        if cell := first(name):
            fields[name] = clean_text(cell[1])
    if cell := first("seq"):
        number = nfkc(clean_text(cell[1]))
        fields["seq"] = int(number) if number.isdigit() else number
    if cell := first("registry_no"):
        fields["registry_no"] = re.sub(r"\s+", "", nfkc(clean_text(cell[1]))).upper()
    if cell := first("record_id"):
        fields["record_id"] = re.sub(r"\s+", "", nfkc(clean_text(cell[1])))
    if cell := first("postcode"):
        postcode = nfkc(clean_text(cell[1])).replace(" ", "")
        fields["postcode"] = postcode
        if not _POSTCODE.match(postcode):
            builder.problem(cell[0], clean_text(cell[1]), "warning", "invalid_postcode",
                            f"邮编“{postcode}”应为 6 位数字。",
                            f"postcode {postcode!r} should have 6 digits")
    def parsed(name: str, parser: Any) -> Any:
        cell = first(name)
        return None if cell is None else builder.take(cell[0], cell[1], parser(cell[1]))

    if (email := parsed("email", cellparse.parse_email)) is not None:
        fields["email"] = email
    phones: list[str] = []
    for column, value in cells_by_field.get("phones", []):
        phones += builder.take(column, value, cellparse.parse_phones(value)) or []
    if phones:
        fields["phones"] = list(dict.fromkeys(phones))
    if (kind := parsed("build_type", cellparse.parse_build_type)) is not None:
        fields["build_type"] = kind
    for name, label_zh, label_en in (("n_firms", "企业数", "number of firms"),
                                     ("n_workers", "职工数", "number of workers")):
        count = parsed(name, lambda value, zh=label_zh, en=label_en: cellparse.parse_count(value, zh, en))
        if count is not None:
            fields[name] = count
    if (area := parsed("area_m2", cellparse.parse_area)) is not None:
        fields["area_m2"], fields["area_approx"] = area
    if (planned := parsed("planned_date", cellparse.parse_date)) is not None:
        fields["planned_date"], fields["planned_date_precision"] = planned
    _services_and_hours(builder, cells_by_field)
    _district(builder, first("district"))
    _position(builder, cells_by_field)
    for name, limit in (("name", MAX_NAME_CHARS), ("address", MAX_ADDRESS_CHARS)):
        if len(fields.get(name) or "") > limit:
            column = next((c for c in context.columns if c.field == name), None)
            builder.problem(column, fields[name][:40] + "…", "error", f"{name}_too_long",
                            f"内容超过 {limit} 个字，请精简。",
                            f"the {name} is longer than {limit} characters")
    if not fields.get("name"):
        column = next((c for c in context.columns if c.field == "name"), None)
        builder.problem(column, None, "error", "missing_name", "缺少名称，请填写站点名称。",
                        "the name is missing; fill in the site's name")
    if not row.located and not fields.get("address"):
        column = next((c for c in context.columns if c.field == "address"), None)
        builder.problem(column, None, "error", "missing_location",
                        "缺少地址（也没有经纬度），无法在地图上标注。",
                        "there is no address and no position; the site cannot be placed")
    row.problems.sort(key=lambda problem: problem.severity != "error")
    return row


def _services_and_hours(builder: _RowBuilder, cells_by_field: dict[str, list[tuple[ColumnMatch, Any]]]) -> None:
    fields = builder.row.fields
    layer = builder.context.layer
    vocabulary = LAYERS[layer].services if layer in LAYERS else ()
    service_cells = cells_by_field.get("services_text", []) + cells_by_field.get("services_hours_text", [])
    services: list[str] = []
    unmatched: list[str] = []
    for column, value in service_cells:
        text = clean_text(value)
        fields["services_hours_text" if column.field == "services_hours_text" else "services_text"] = text
        found, rest = parse_services(text, layer)
        services += [service for service in found if service not in services]
        unmatched += rest
        if vocabulary and not found:
            builder.problem(column, text, "warning", "no_known_service",
                            f"“{text}”中没有识别出服务项目（可用：{'、'.join(vocabulary)}）。",
                            f"no known service found in {text!r} (known: {', '.join(vocabulary)})")
    if services:
        fields["services"] = [service for service in vocabulary if service in services]
    if unmatched and vocabulary:
        fields["services_unmatched"] = unmatched
    hour_cells = cells_by_field.get("hours_text", []) + cells_by_field.get("services_hours_text", [])
    if not hour_cells:
        return
    column, value = hour_cells[0]
    text = " ".join(clean_text(v) for _, v in hour_cells)
    if column.field == "hours_text":
        fields["hours_text"] = text
    parsed = parse_hours(text)
    if parsed.hours is not None:
        fields["hours"] = parsed.hours
        if column.field == "services_hours_text":
            fields["hours_text"] = text
    if parsed.note:
        builder.problem(column, text, "warning", "hours_as_note",
                        f"时间“{parsed.note}”无法写成每周固定时段，已作为备注保留。",
                        f"the times {parsed.note!r} are not a weekly schedule; kept as a note")
    elif parsed.hours is None and column.field == "hours_text":
        builder.problem(column, text, "warning", "invalid_hours",
                        f"开放时间“{text}”无法识别，请写成“周一至周五 9:00-17:00”。",
                        f"opening hours {text!r} are not readable; write e.g. 周一至周五 9:00-17:00")
    if parsed.days_assumed:
        builder.problem(column, text, "warning", "hours_days_assumed",
                        f"时间“{text}”没有写星期几，按每天读入。",
                        f"the times {text!r} name no days; read as every day")


def _district(builder: _RowBuilder, cell: tuple[ColumnMatch, Any] | None) -> None:
    fields = builder.row.fields
    address = fields.get("address") or ""
    from_address = cellparse.district_in_address(address) if address else None
    if cell is not None:
        parsed = builder.take(cell[0], cell[1], cellparse.parse_district(cell[1]))
        if parsed is None:
            return
        fields["district"] = parsed[0]
        if parsed[1] and "street" not in fields:
            fields["street"] = parsed[1]
        if from_address and from_address != parsed[0]:
            builder.problem(cell[0], clean_text(cell[1]), "warning", "district_mismatch",
                            f"区“{parsed[0]}”与地址中的“{from_address}”不一致。",
                            f"district {parsed[0]} differs from {from_address} in the address")
        return
    contact = builder.context.contact
    if contact.district:
        fields["district"] = contact.district
        if contact.street and "street" not in fields:
            fields["street"] = contact.street
        if from_address and from_address != contact.district:
            builder.problem(None, address, "warning", "district_mismatch",
                            f"地址中的“{from_address}”与表头的区“{contact.district}”不一致。",
                            f"{from_address} in the address differs from the form's district "
                            f"{contact.district}")
    elif from_address:
        fields["district"] = from_address
    elif name_district := cellparse.district_in_address(fields.get("name") or ""):
        fields["district"] = name_district  # 徐汇区总工会职工服务中心


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = nfkc(clean_text(value)).replace(" ", "").rstrip("°")
    return float(text) if _NUMBER_TEXT.match(text) else None


def _position(builder: _RowBuilder, cells_by_field: dict[str, list[tuple[ColumnMatch, Any]]]) -> None:
    lon_cell = (cells_by_field.get("lon") or [None])[0]
    lat_cell = (cells_by_field.get("lat") or [None])[0]
    pair_cell = (cells_by_field.get("lonlat") or [None])[0]
    lon = lat = None
    column: ColumnMatch | None = None
    if pair_cell is not None:
        column = pair_cell[0]
        parts = re.split(r"[,，\s;；]+", nfkc(clean_text(pair_cell[1])).strip())
        numbers = [_number(part) for part in parts if part]
        if len(numbers) == 2 and None not in numbers:
            lon, lat = numbers
        else:
            builder.problem(column, clean_text(pair_cell[1]), "error", "invalid_coordinates",
                            f"经纬度“{clean_text(pair_cell[1])}”应写成“经度,纬度”。",
                            f"coordinates {clean_text(pair_cell[1])!r} must be 'lon,lat'")
            return
    elif lon_cell is not None or lat_cell is not None:
        if lon_cell is None or lat_cell is None:
            present = lon_cell or lat_cell
            assert present is not None
            builder.problem(present[0], clean_text(present[1]), "error", "incomplete_coordinates",
                            "经度和纬度要同时填写。", "give both longitude and latitude")
            return
        column = lon_cell[0]
        lon, lat = _number(lon_cell[1]), _number(lat_cell[1])
        for cell, number in ((lon_cell, lon), (lat_cell, lat)):
            if number is None:
                builder.problem(cell[0], clean_text(cell[1]), "error", "invalid_coordinates",
                                f"“{clean_text(cell[1])}”不是数字形式的经纬度。",
                                f"{clean_text(cell[1])!r} is not a coordinate in degrees")
        if lon is None or lat is None:
            return
    else:
        return
    assert lon is not None
    assert lat is not None
    crs = builder.context.coord_crs
    if crs is None:
        return  # the file-level problem says why the coordinates are not used
    west, south, east, north = SHANGHAI_BOUNDS
    if south - 1 <= lon <= north + 1 and west - 1 <= lat <= east + 1:
        lon, lat = lat, lon
        builder.problem(column, f"{lat}, {lon}", "warning", "coordinates_swapped",
                        "经度和纬度填反了，已交换。", "longitude and latitude were swapped; swapped back")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        builder.problem(column, f"{lon}, {lat}", "error", "invalid_coordinates",
                        f"经纬度 {lon}, {lat} 超出范围。", f"coordinates {lon}, {lat} are out of range")
        return
    lon_wgs, lat_wgs = to_wgs84(lon, lat, crs)
    inside = west <= lon_wgs <= east and south <= lat_wgs <= north
    near = (west - NEAR_MARGIN_DEG <= lon_wgs <= east + NEAR_MARGIN_DEG
            and south - NEAR_MARGIN_DEG <= lat_wgs <= north + NEAR_MARGIN_DEG)
    if not near:
        builder.problem(column, f"{lon}, {lat}", "error", "outside_shanghai",
                        f"位置 {lon}, {lat} 不在上海。",
                        f"the position {lon}, {lat} is not in Shanghai")
        return
    if not inside:
        builder.problem(column, f"{lon}, {lat}", "warning", "near_shanghai",
                        f"位置 {lon}, {lat} 在上海边界之外，请核对。",
                        f"the position {lon}, {lat} lies just outside Shanghai; check it")
    builder.row.fields.update(lon=round(lon_wgs, 7), lat=round(lat_wgs, 7), source_crs=crs)
