"""Exports of a registry layer that round-trip: GeoJSON, GeoPackage, CSV and XLSX.

Every working copy of the layer is exported with its workflow state (review state, whether
workers see it, cards, last verification), unless filtered. CSV and XLSX use **the
layer's own form columns** (the 2023 application forms: ``推荐站点名称``, ``所在园区（楼宇、
商圈）名称`` …) followed by WGS84 ``经度``/``纬度`` and the state columns, so a district can
fix the sheet and upload it again: the importer reads the form columns, matches the rows
to the same records and ignores the state columns. Text cells go through
:func:`geo.spreadsheet.safe_cell` (no formula runs when the file is opened).
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from geo.spreadsheet import csv_text, safe_cell
from layers.registry.catalog import SERVICE_LABELS
from layers.registry.schema import Facility, FacilityStatus
from layers.store.records import StoredRecord

FORMATS = ("geojson", "gpkg", "csv", "xlsx")
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

Getter = Callable[[StoredRecord], Any]


def _services_and_hours(f: Facility) -> str | None:
    if f.service_text:
        return f.service_text
    parts = [SERVICE_LABELS[s][0] for s in f.services if s in SERVICE_LABELS]
    hours = f.hours.to_text("zh") if f.hours else None
    text = "、".join(parts)
    return "；".join(p for p in (text, hours) if p) or None


def _build_type(f: Facility) -> str | None:
    return {FacilityStatus.NEW: "新建", FacilityStatus.UPGRADED: "升级"}.get(f.status)


def _contact(f: Facility) -> str | None:
    return f.contact.name if f.contact else None


_NAME: tuple[str, Getter] = ("名称", lambda r: r.facility.name)
_ADDRESS: tuple[str, Getter] = ("地址", lambda r: r.facility.address)
_DISTRICT: tuple[str, Getter] = ("区", lambda r: r.facility.district)
_REGNO: tuple[str, Getter] = ("统一编号", lambda r: r.facility.registry_no)
_PHONE: tuple[str, Getter] = ("电话", lambda r: r.facility.phone)

#: The form columns of each layer (header text, value).
FORM_COLUMNS: dict[str, list[tuple[str, Getter]]] = {
    "health_point": [
        _REGNO, ("类型（新建/升级）", lambda r: _build_type(r.facility)),
        ("所在园区（楼宇、商圈）名称", lambda r: r.facility.park_name),
        ("企业数", lambda r: r.facility.n_firms), ("职工数", lambda r: r.facility.n_workers),
        ("推荐站点名称", lambda r: r.facility.name), _ADDRESS,
        ("负责人", lambda r: _contact(r.facility)), ("手机", lambda r: r.facility.phone),
        ("服务内容及时间", lambda r: _services_and_hours(r.facility)), _DISTRICT,
    ],
    "rest_room": [
        _REGNO, ("工间休息室名称", lambda r: r.facility.name), _ADDRESS,
        ("联系人", lambda r: _contact(r.facility)), ("手机号码", lambda r: r.facility.phone),
        ("面积（m²）", lambda r: _area(r.facility)),
        ("设施及服务", lambda r: _services_and_hours(r.facility)),
        ("计划完成时间", lambda r: _planned(r.facility)), _DISTRICT,
    ],
    "training_site": [
        ("所辖区", lambda r: r.facility.district), ("培训地点", lambda r: r.facility.name),
        ("详细地址", lambda r: r.facility.address),
    ],
    "service_centre": [
        ("职工服务中心", lambda r: r.facility.name), _PHONE, _ADDRESS, _DISTRICT,
    ],
}
_PLAIN_COLUMNS: list[tuple[str, Getter]] = [
    _REGNO, _NAME, _DISTRICT, _ADDRESS, _PHONE,
    ("开放时间", lambda r: r.facility.hours.to_text("zh") if r.facility.hours else None),
    ("服务内容", lambda r: _services_and_hours(r.facility)),
]
_TAIL_COLUMNS: list[tuple[str, Getter]] = [
    ("经度_wgs84", lambda r: r.facility.lon), ("纬度_wgs84", lambda r: r.facility.lat),
    ("记录编号 record id", lambda r: r.facility.id),
    ("状态 status", lambda r: str(r.facility.status)),
    ("审核 review", lambda r: str(r.facility.review)),
    ("对职工公开 published", lambda r: "是" if r.published else "否"),
    ("已删除 deleted", lambda r: "是" if r.deleted_at else "否"),
    ("最后核实 last verified", lambda r: r.facility.last_verified),
    ("定位精度 precision", lambda r: str(r.facility.location_precision)),
    ("定位来源 location source", lambda r: r.facility.location_source),
    ("待核查 flags", lambda r: "、".join(r.facility.flags) or None),
    ("版本 version", lambda r: r.version),
]


#: Headers of the state columns (an import of an export ignores them).
EXPORT_STATE_HEADERS = frozenset(name for name, _ in _TAIL_COLUMNS)


def _area(f: Facility) -> float | str | None:
    """The area as the form wrote it: ``约20`` when it was approximate."""
    if f.area_m2 is None:
        return None
    number = int(f.area_m2) if float(f.area_m2).is_integer() else f.area_m2
    return f"约{number}" if f.extra.get("area_approx") else number


def _planned(f: Facility) -> str | None:
    """``2023年12月`` for a month, the ISO date for a day (as the importer reads them back)."""
    text = f.planned_completion
    if text and len(text) == 7:
        return f"{text[:4]}年{int(text[5:7])}月"
    return text


def columns_of(layer: str) -> list[tuple[str, Getter]]:
    """The export columns of a layer: its form's columns, then position and state."""
    return [*FORM_COLUMNS.get(layer, _PLAIN_COLUMNS), *_TAIL_COLUMNS]


def table(layer: str, records: Sequence[StoredRecord]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the CSV/XLSX export."""
    columns = columns_of(layer)
    rows = [[_plain(get(record)) for _, get in columns] for record in records]
    return [name for name, _ in columns], rows


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def feature(record: StoredRecord) -> dict[str, Any]:
    """A working copy as a GeoJSON Feature with its workflow state."""
    f = record.facility
    properties = f.model_dump(mode="json", exclude={"lon", "lat"})
    properties.update(published=record.published, version=record.version,
                      deleted=record.deleted_at is not None)  # fmt: skip
    geometry = None if not f.located else {"type": "Point", "coordinates": [f.lon, f.lat]}
    return {"type": "Feature", "id": f.id, "geometry": geometry, "properties": properties}


def export_bytes(layer: str, records: Sequence[StoredRecord], fmt: str) -> bytes:
    """The layer's records in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "geojson":
        collection = {"type": "FeatureCollection", "name": layer,
                      "features": [feature(r) for r in records]}  # fmt: skip
        return json.dumps(collection, ensure_ascii=False).encode("utf-8")
    if fmt == "csv":
        header, rows = table(layer, records)
        return csv_text(header, rows, bom=True).encode("utf-8")
    if fmt == "xlsx":
        return _xlsx(layer, records)
    if fmt == "gpkg":
        return _gpkg(layer, records)
    raise ValueError(f"unknown export format {fmt!r}; valid: {', '.join(FORMATS)}")


def _xlsx(layer: str, records: Sequence[StoredRecord]) -> bytes:
    header, rows = table(layer, records)
    return xlsx_table(layer, header, rows)


def xlsx_table(title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """One XLSX sheet named ``title``: a frozen header row, then ``rows``; text cells stay
    text, never formulas (leading ``=``, ``+``, ``-``, ``@`` neutralised by ``safe_cell``)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([safe_cell(h) for h in header])
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    for cells in sheet.iter_rows(min_row=2):  # text stays text, never a formula
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _gpkg(layer: str, records: Sequence[StoredRecord]) -> bytes:
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import Point

    header, rows = table(layer, records)
    names = [_column_name(h) for h in header]
    frame = gpd.GeoDataFrame(
        [dict(zip(names, row, strict=True)) for row in rows],
        columns=names,
        geometry=[Point(r.facility.lon, r.facility.lat) if r.facility.located else None
                  for r in records],
        crs="EPSG:4326",
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{layer}.gpkg"
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG")
        return path.read_bytes()


def _column_name(header: str) -> str:
    """A GeoPackage column name: the English part of a bilingual header, else the header."""
    parts = header.split(" ", 1)
    return parts[1].replace(" ", "_") if len(parts) == 2 and parts[1].isascii() else header
