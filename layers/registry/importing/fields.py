"""The field vocabulary of an import: every normalised field name a parsed row can carry.

This is the one place that names them. :class:`~layers.registry.importing.model.ParsedRow`
keeps its values in ``fields`` keyed by these names; column synonyms
(:mod:`~layers.registry.importing.columns`) map spreadsheet headers onto them, and an
explicit mapping (``{"header text or column letter": "field"}``) must use them too.

Coordinates are WGS84 once parsed (converted from the declared CRS with ``geo.crs``);
``source_crs`` records what the file gave.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldInfo:
    """One normalised field.

    Attributes
    ----------
    name
        The field name used in ``ParsedRow.fields`` and in explicit mappings.
    kind
        The Python type of the value: ``str``, ``int``, ``float``, ``bool``, ``date``,
        ``list[str]``, ``OpeningHours``.
    label_zh, label_en
        How reports name the field.
    input
        Whether a column can be mapped onto it (``False``: derived from other cells).
    """

    name: str
    kind: str
    label_zh: str
    label_en: str
    input: bool = True


FIELDS: dict[str, FieldInfo] = {
    info.name: info
    for info in (
        FieldInfo("seq", "int", "序号", "sequence number"),
        FieldInfo("registry_no", "str", "统一编号", "registry number"),
        FieldInfo("record_id", "str", "记录编号", "this service's record id (in its own exports)"),
        FieldInfo("name", "str", "名称", "name"),
        FieldInfo("address", "str", "地址", "address"),
        FieldInfo("district", "str", "区", "district"),
        FieldInfo("street", "str", "街道（镇）", "subdistrict/town"),
        FieldInfo("lon", "float", "经度", "longitude (WGS84 once parsed)"),
        FieldInfo("lat", "float", "纬度", "latitude (WGS84 once parsed)"),
        FieldInfo("lonlat", "str", "经纬度", "'lon,lat' in one cell (parsed into lon/lat)"),
        FieldInfo("source_crs", "str", "坐标系", "CRS the coordinates were given in", input=False),
        FieldInfo("phones", "list[str]", "电话", "phone numbers (normalised)"),
        FieldInfo("contact_person", "str", "负责人/联系人", "person in charge / contact"),
        FieldInfo("hours_text", "str", "服务时间（原文）", "opening hours as written"),
        FieldInfo("hours", "OpeningHours", "服务时间", "opening hours", input=False),
        FieldInfo("services_text", "str", "服务内容（原文）", "services as written"),
        FieldInfo("services", "list[str]", "服务内容", "services (layer vocabulary)", input=False),
        FieldInfo(
            "services_unmatched",
            "list[str]",
            "未识别的服务内容",
            "service phrases not in the vocabulary",
            input=False,
        ),
        FieldInfo(
            "services_hours_text",
            "str",
            "服务内容及时间（原文）",
            "services and times in one cell, as written",
        ),
        FieldInfo("build_type", "str", "类型（新建/升级）", "new or upgrade"),
        FieldInfo("park_name", "str", "所在园区（楼宇、商圈）", "host park/building/district"),
        FieldInfo("partner_centre", "str", "合作社区卫生服务中心",
                  "the health point's fixed partner community health centre (name)"),
        FieldInfo("n_firms", "int", "企业数", "number of firms"),
        FieldInfo("n_workers", "int", "职工数", "number of workers"),
        FieldInfo("area_m2", "float", "面积（m²）", "floor area in square metres"),
        FieldInfo("area_approx", "bool", "面积为约数", "area is approximate", input=False),
        FieldInfo("planned_date", "date", "计划完成时间", "planned completion date"),
        FieldInfo(
            "planned_date_precision",
            "str",
            "计划完成时间精度",
            "day, month or year",
            input=False,
        ),
        FieldInfo("postcode", "str", "邮编", "postcode"),
        FieldInfo("email", "str", "邮箱", "e-mail"),
        FieldInfo("notes", "str", "备注", "notes"),
    )
}

#: Fields a mapping may target (derived fields excluded).
INPUT_FIELDS: frozenset[str] = frozenset(name for name, info in FIELDS.items() if info.input)

#: Fields that identify a row; a changed value here is still the same record.
IDENTITY_FIELDS: tuple[str, ...] = ("registry_no", "name", "address")

#: Fields compared when a row matches an existing record (``seq`` and raw texts excluded).
COMPARED_FIELDS: tuple[str, ...] = (
    "registry_no",
    "name",
    "address",
    "district",
    "street",
    "lon",
    "lat",
    "phones",
    "contact_person",
    "hours_text",
    "services",
    "build_type",
    "park_name",
    "partner_centre",
    "n_firms",
    "n_workers",
    "area_m2",
    "area_approx",
    "planned_date",
    "planned_date_precision",
    "postcode",
    "email",
    "notes",
)
