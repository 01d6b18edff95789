"""Map header cells to fields: synonyms per layer, CRS named in headers, explicit mappings.

A header is compared after normalisation (:func:`normalise_header`): compatibility forms
made plain (full-width letters and brackets, ``㎡`` -> ``m2``), HTML tags dropped
(``m <sup>2</sup>`` -> ``m2``), every space and line break removed, letters lower-cased,
and a trailing ``：`` or a leading required-mark ``*`` dropped. It matches a synonym when
the normalised texts are equal, or when they are equal once bracketed parts are removed
(``类型（新建/升级）`` -> ``类型``; ``所在园区（楼宇、商圈）名称`` -> ``所在园区名称``).

Synonyms listed under a layer are *specific*: they still map for any layer, but they
count towards recognising that layer's form, which is how a file that is another
layer's form is detected (:func:`form_scores`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from layers.registry.importing.cells import clean_text, nfkc
from layers.registry.importing.errors import ImportFileError
from layers.registry.importing.fields import FIELDS, INPUT_FIELDS
from layers.registry.importing.model import ColumnMatch, column_index, column_letter

#: Headers every layer understands, per field (Chinese and English).
COMMON_SYNONYMS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "序", "no", "no.", "#", "seq"),
    "registry_no": ("统一编号", "编号", "站点编号", "登记编号", "点位编号", "registry_no",
                    "registryno", "registry number", "code"),
    "record_id": ("记录编号", "记录编号recordid", "recordid", "record_id"),
    "name": ("名称", "站点名称", "点位名称", "场所名称", "机构名称", "阵地名称", "name",
             "facility", "facility name"),
    "address": ("地址", "详细地址", "具体地址", "所在地址", "站点地址", "地址(详细)", "address",
                "addr"),
    "district": ("区", "所辖区", "所在区", "所属区", "区县", "行政区", "辖区", "所在区域",
                 "district"),
    "street": ("街道", "街镇", "街道(镇)", "街道镇", "所属街镇", "所在街镇", "所属街道",
               "street", "subdistrict", "town"),
    "lon": ("经度", "lon", "lng", "long", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
    "lonlat": ("经纬度", "坐标", "经纬度坐标", "coordinates", "lonlat", "lnglat", "lon,lat"),
    "phones": ("电话", "手机", "手机号", "手机号码", "联系电话", "联系方式", "电话号码",
               "服务电话", "咨询电话", "phone", "tel", "telephone", "mobile"),
    "contact_person": ("负责人", "联系人", "站长", "管理员", "负责人姓名", "contact",
                       "contact_person", "contact person"),
    "hours_text": ("开放时间", "服务时间", "营业时间", "办公时间", "时间", "hours",
                   "opening_hours", "opening hours"),
    "services_text": ("服务内容", "服务项目", "设施", "配套设施", "services", "facilities"),
    "services_hours_text": ("服务内容及时间", "服务内容和时间", "服务项目及时间",
                            "services and hours"),
    "build_type": ("类型", "建设类型", "申报类型", "type", "build_type"),
    "park_name": ("所在园区名称", "园区名称", "楼宇名称", "所在园区", "所在楼宇", "park",
                  "park_name"),
    "partner_centre": ("合作社区卫生服务中心", "固定社区卫生服务中心", "签约社区卫生服务中心",
                       "合作医疗机构", "partner_centre", "partner centre"),
    "n_firms": ("企业数", "企业数量", "入驻企业数", "n_firms", "firms"),
    "n_workers": ("职工数", "职工人数", "服务职工数", "员工数", "n_workers", "workers"),
    "area_m2": ("面积", "面积(m2)", "面积(平方米)", "建筑面积", "使用面积", "area", "area_m2",
                "area(m2)"),
    "planned_date": ("计划完成时间", "完成时间", "计划时间", "预计完成时间", "planned_date",
                     "completion_date"),
    "postcode": ("邮编", "邮政编码", "postcode", "zip"),
    "email": ("邮箱", "电子邮箱", "email", "e-mail"),
    "notes": ("备注", "说明", "notes", "remarks"),
}

#: Headers specific to one layer's form (they map for every layer and identify the form).
LAYER_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "health_point": {
        "name": ("推荐站点名称", "健康服务点名称", "服务点名称"),
        "park_name": ("所在园区(楼宇、商圈)名称",),
        "services_hours_text": ("服务内容及时间",),
        "partner_centre": ("合作社区卫生服务中心", "固定社区卫生服务中心", "签约社区卫生服务中心",
                       "合作医疗机构", "partner_centre", "partner centre"),
    "n_firms": ("企业数",),
        "n_workers": ("职工数",),
        "build_type": ("类型(新建/升级)",),
    },
    "rest_room": {
        "name": ("工间休息室名称", "休息室名称"),
        "services_text": ("设施及服务",),
        "area_m2": ("面积(m2)",),
        "planned_date": ("计划完成时间",),
    },
    "training_site": {
        "name": ("培训地点", "培训点", "培训点名称"),
        "district": ("所辖区",),
    },
    "service_centre": {
        "name": ("职工服务中心", "服务中心", "服务中心名称", "区工会职工服务中心"),
    },
    "fitness_station": {
        "name": ("驿站名称", "健身驿站名称", "职工健身驿站"),
    },
    "relay_station": {
        "name": ("接力站名称", "爱心接力站名称", "户外职工爱心接力站"),
    },
    "community_health": {
        "name": ("社区卫生服务中心", "社区卫生服务中心名称", "卫生服务中心"),
    },
}

#: Words of each layer's form title (申报表 titles and list captions).
TITLE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "health_point": ("健康服务点",),
    "rest_room": ("工间休息室",),
    "training_site": ("培训点", "轨交现场培训"),
    "service_centre": ("职工服务中心", "服务处"),
    "fitness_station": ("健身驿站",),
    "relay_station": ("接力站",),
    "community_health": ("社区卫生服务中心", "社区卫生服务站"),
}

_HTML_TAG = re.compile(r"<[^>]{0,40}>")
_BRACKETED = re.compile(r"\([^()]*\)")
_CRS_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"bd-?09|百度|baidu"), "bd09"),
    (re.compile(r"gcj-?02|高德|腾讯|火星|amap|tencent"), "gcj02"),
    (re.compile(r"wgs-?84|gps|epsg:?4326"), "wgs84"),
)


def normalise_header(text: object) -> str:
    """The comparison form of a header cell (see the module docstring)."""
    value = nfkc(clean_text(text))
    value = _HTML_TAG.sub("", value)
    value = re.sub(r"\s+", "", value).lower()
    value = value.replace("m²", "m2").replace("㎡", "m2")
    return value.strip("*＊:：").strip()


def _base(header: str) -> str:
    return _BRACKETED.sub("", header)


def header_crs(header: str) -> tuple[str, str | None]:
    """Split a coordinate system off a normalised header: ``经度_bd09`` -> (``经度``, ``bd09``)."""
    for pattern, crs in _CRS_WORDS:
        if pattern.search(header):
            rest = pattern.sub("", header)
            return re.sub(r"[_\-()/]+", "", rest), crs
    return header, None


@dataclass(frozen=True)
class _Synonym:
    field: str
    layer: str | None  # the layer it is specific to


def _synonym_table() -> dict[str, _Synonym]:
    table: dict[str, _Synonym] = {}
    for field_name, words in COMMON_SYNONYMS.items():
        for word in words:
            table.setdefault(normalise_header(word), _Synonym(field_name, None))
    for layer_id, fields in LAYER_SYNONYMS.items():
        for field_name, words in fields.items():
            for word in words:
                table[normalise_header(word)] = _Synonym(field_name, layer_id)
    return table


SYNONYMS: dict[str, _Synonym] = _synonym_table()


def lookup_header(text: object) -> tuple[str | None, str | None, str | None]:
    """``(field, specific_layer, crs)`` for one header cell; ``field`` is ``None`` if unknown."""
    header = normalise_header(text)
    if not header:
        return None, None, None
    body, crs = header_crs(header)
    for candidate in (header, body, _base(header), _base(body)):
        synonym = SYNONYMS.get(candidate)
        if synonym is not None:
            if crs is not None and synonym.field not in ("lon", "lat", "lonlat"):
                crs = None
            return synonym.field, synonym.layer, crs
    return None, None, None


def form_scores(headers: Sequence[object], title: str | None) -> dict[str, int]:
    """How strongly the headers and title look like each layer's form.

    Each specific header counts 1 and a title keyword 2.
    """
    scores = dict.fromkeys(LAYER_SYNONYMS, 0)
    for header in headers:
        normal = normalise_header(header)
        for candidate in {normal, _base(normal)}:
            synonym = SYNONYMS.get(candidate)
            if synonym is not None and synonym.layer is not None:
                scores[synonym.layer] += 1
                break
    if title:
        normal_title = nfkc(clean_text(title))
        for layer_id, words in TITLE_KEYWORDS.items():
            if any(word in normal_title for word in words):
                scores[layer_id] += 2
    return scores


def check_mapping(mapping: Mapping[str, str | None]) -> dict[str, str | None]:
    """Validate an explicit mapping and return it with normalised keys.

    Keys are header texts or column letters; values are input fields (``None``, ``""``
    or ``"ignore"`` drop a column).

    Raises
    ------
    ImportFileError
        When a value is not a field of the vocabulary.
    """
    checked: dict[str, str | None] = {}
    for key, value in mapping.items():
        target = None if value in (None, "", "ignore", "-") else str(value).strip()
        if target is not None and target not in INPUT_FIELDS:
            valid = ", ".join(sorted(INPUT_FIELDS))
            raise ImportFileError(
                "import_bad_mapping",
                f"列映射中的字段“{target}”不存在；可用字段：{valid}。",
                f"the mapping names field {target!r}, which does not exist; valid: {valid}",
            )
        checked[str(key)] = target
    return checked


def _is_letter_key(key: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z]{1,3}", key.strip())) and key.strip().isupper()


def map_columns(
    header_cells: Sequence[object], mapping: Mapping[str, str | None] | None = None
) -> tuple[list[ColumnMatch], list[str]]:
    """Map each non-empty header cell (and each column the mapping names) to a field.

    Parameters
    ----------
    header_cells
        The header row's cells, column A first.
    mapping
        A checked explicit mapping (:func:`check_mapping`); it wins over synonyms.

    Returns
    -------
    tuple
        ``(columns, notes)``: the column matches, and English notes about columns whose
        field was already taken (the first column keeps it; several ``phones`` or
        ``services_text`` columns are all kept and joined).

    Raises
    ------
    ImportFileError
        When a mapping key names neither a header nor a column letter of the table.
    """
    mapping = dict(mapping or {})
    by_header = {normalise_header(key): target for key, target in mapping.items()
                 if not _is_letter_key(key)}
    by_letter: dict[int, str | None] = {}
    for key, target in mapping.items():
        if _is_letter_key(key):
            by_letter[column_index(key)] = target
    used_headers: set[str] = set()
    columns: list[ColumnMatch] = []
    taken: dict[str, str] = {}
    notes: list[str] = []
    width = max(len(header_cells), max(by_letter, default=-1) + 1)
    for index in range(width):
        raw = header_cells[index] if index < len(header_cells) else ""
        header = clean_text(raw)
        normal = normalise_header(raw)
        field_name, _layer, crs = lookup_header(raw)
        how = "synonym" if field_name else "unknown"
        if index in by_letter:
            field_name, how = by_letter[index], "mapping"
        elif normal and normal in by_header:
            field_name, how = by_header[normal], "mapping"
            used_headers.add(normal)
        if not header and how != "mapping":
            continue
        if field_name in ("lon", "lat", "lonlat") and crs is None:
            crs = header_crs(normal)[1]
        letter = column_letter(index)
        if field_name and field_name in taken and field_name not in ("phones", "services_text"):
            notes.append(f"{letter}:{field_name}:{taken[field_name]}")
            field_name, how = None, "duplicate"
        if field_name:
            taken.setdefault(field_name, letter)
        columns.append(ColumnMatch(index, letter, header, field_name, how, crs))
    missing = [key for key in by_header if key not in used_headers]
    if missing:
        headers = "、".join(column.header for column in columns) or "（无）"
        raise ImportFileError(
            "import_bad_mapping",
            f"列映射中的表头“{'、'.join(missing)}”在表头行中找不到；表头为：{headers}。",
            f"the mapping names header(s) {', '.join(missing)} that are not in the header "
            f"row; the headers are: {headers}",
        )
    return columns, notes


def field_label(field_name: str) -> tuple[str, str]:
    """Chinese and English labels of a field."""
    info = FIELDS[field_name]
    return info.label_zh, info.label_en
