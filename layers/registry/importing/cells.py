"""Normalise and check single cells: text, numbers, phones, areas, dates, types, districts.

Each parser takes the cell as read and returns a :class:`CellResult`: the normalised
value (``None`` when nothing usable was found) and the issues found, each an error or a
warning with Chinese and English text. The rules are listed in ``docs/importing.md``.
"""

from __future__ import annotations

import calendar
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from geo._once import pure_cache
from layers.registry.catalog import DISTRICTS
from layers.registry.importing.model import Severity


@dataclass(frozen=True)
class Issue:
    """One thing wrong with a cell."""

    severity: Severity
    code: str
    message_zh: str
    message_en: str


@dataclass
class CellResult:
    """A parsed cell: its value and the issues found."""

    value: Any = None
    issues: list[Issue] = field(default_factory=list)

    def error(self, code: str, message_zh: str, message_en: str) -> CellResult:
        """Add an error and return self."""
        self.issues.append(Issue("error", code, message_zh, message_en))
        return self

    def warn(self, code: str, message_zh: str, message_en: str) -> CellResult:
        """Add a warning and return self."""
        self.issues.append(Issue("warning", code, message_zh, message_en))
        return self


# --------------------------------------------------------------------------- text

_FULL_WIDTH_ALNUM = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)}
_FULL_WIDTH_ALNUM.update({code: code - 0xFEE0 for code in range(0xFF21, 0xFF3B)})
_FULL_WIDTH_ALNUM.update({code: code - 0xFEE0 for code in range(0xFF41, 0xFF5B)})
_FULL_WIDTH_ALNUM[0x3000] = 0x20  # ideographic space
_FULL_WIDTH_ALNUM[0x00A0] = 0x20  # no-break space
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_BREAK_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])[ \t]*[\r\n]+[ \t]*(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")


def clean_text(value: Any) -> str:
    """The cell as trimmed text with full-width digits, letters and spaces made half-width.

    Chinese punctuation is kept (it belongs in names and addresses). A line break between
    two Chinese characters is dropped (``轨道交通培训中心\\n7号楼`` keeps its words together);
    any other run of white space becomes one space. Numbers read from a workbook lose a
    trailing ``.0`` (``200032.0`` -> ``200032``).
    """
    if type(value) is str:
        return _clean_str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return _clean_str(str(value))


_NEEDS_CLEANING = re.compile(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000\u00a0\t\r\n\f\v]| {2}")


@pure_cache(maxsize=65_536)
def _clean_str(text: str) -> str:
    if not _NEEDS_CLEANING.search(text):
        return text.strip()
    text = _BREAK_BETWEEN_CJK.sub("", text.translate(_FULL_WIDTH_ALNUM))
    return _SPACES.sub(" ", text).strip()


@pure_cache(maxsize=65_536)
def nfkc(text: str) -> str:
    """Compatibility normalisation: every full-width form and ``㎡`` made plain (for parsing)."""
    return unicodedata.normalize("NFKC", text)


# --------------------------------------------------------------------------- numbers

_NUMBER = r"\d+(?:\.\d+)?"
_INTEGER_TEXT = re.compile(rf"^(约|大约|近|超过|逾|>|≥|<|≤)?\s*({_NUMBER})\s*(万)?\s*(人|家|个|户|名|余|多)*$")


def parse_count(value: Any, label_zh: str, label_en: str) -> CellResult:
    """A non-negative whole number (企业数, 职工数): ``300``, ``1,200``, ``约300人``, ``1.2万``.

    An unreadable or negative value is a warning (the count is kept out of the record).
    """
    result = CellResult()
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        text = nfkc(clean_text(value)).replace(",", "").replace(" ", "")
        match = _INTEGER_TEXT.match(text)
        if not match:
            return result.warn(
                "invalid_count",
                f"{label_zh}“{clean_text(value)}”不是数字。",
                f"{label_en} {clean_text(value)!r} is not a number",
            )
        number = float(match.group(2)) * (10_000 if match.group(3) else 1)
        if match.group(1):
            result.warn(
                "approximate_count",
                f"{label_zh}“{clean_text(value)}”是约数，按 {round(number)} 读入。",
                f"{label_en} {clean_text(value)!r} is approximate; read as {round(number)}",
            )
    if not math.isfinite(number) or number < 0:
        return result.warn(
            "invalid_count",
            f"{label_zh}“{clean_text(value)}”不能为负数。",
            f"{label_en} {clean_text(value)!r} cannot be negative",
        )
    result.value = round(number)
    return result


_AREA = re.compile(
    rf"^(约|大约|近|约为|超过|逾)?\s*({_NUMBER})\s*(?:(?:-|~|～|—|至|到)\s*({_NUMBER}))?\s*"
    r"(平方米|平米|平方|m2|m\^2|sqm|㎡|m)?\s*(左右|余|多|以上)?$",
    re.IGNORECASE,
)


def parse_area(value: Any) -> CellResult:
    """A floor area in m²: ``30㎡``, ``约20``, ``40平方米``, ``25 m2``, ``20-30`` (-> 25, approximate).

    The value is ``(area_m2, approximate)``. An unreadable area is an error naming the
    value; an area above 5,000 m² or below 2 m² is a warning (a unit mistake?).
    """
    result = CellResult()
    if isinstance(value, int | float) and not isinstance(value, bool):
        area, approximate = float(value), False
    else:
        text = nfkc(clean_text(value)).replace(",", "")
        text = re.sub(r"<sup>\s*2\s*</sup>", "2", text)
        match = _AREA.match(text)
        if not match:
            return result.error(
                "invalid_area",
                f"面积“{clean_text(value)}”无法识别，请填写平方米数，如 30 或 约20。",
                f"area {clean_text(value)!r} is not a number of square metres (e.g. 30, 约20)",
            )
        low = float(match.group(2))
        high = float(match.group(3)) if match.group(3) else None
        area = (low + high) / 2 if high is not None else low
        approximate = bool(match.group(1) or match.group(5) or high is not None)
        if high is not None and high < low:
            result.warn(
                "area_range_reversed",
                f"面积范围“{clean_text(value)}”上下限颠倒。",
                f"area range {clean_text(value)!r} is reversed",
            )
    if not math.isfinite(area) or area <= 0:
        return result.error(
            "invalid_area",
            f"面积“{clean_text(value)}”必须大于 0。",
            f"area {clean_text(value)!r} must be greater than 0",
        )
    if area > 5_000 or area < 2:
        result.warn(
            "suspicious_area",
            f"面积 {area:g} m² 不太可能，请检查单位。",
            f"an area of {area:g} m² is unlikely; check the unit",
        )
    result.value = (round(area, 2), approximate)
    return result


# --------------------------------------------------------------------------- phones

_MOBILE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
_LANDLINE = re.compile(
    r"(?<!\d)(?:\(\s*0?21\s*\)|0?21)?[-\s]?([2-9]\d{3})[-\s]?(\d{4})"
    r"(?:\s*(?:-|转|ext\.?|x|分机)\s*(\d{1,6}))?(?!\d)",
    re.IGNORECASE,
)
_OTHER_AREA = re.compile(r"(?<!\d)\(?(0(?!21)[1-9]\d{1,2})\)?[-\s]?([2-9]\d{6,7})(?!\d)")
_HOTLINE = re.compile(r"(?<!\d)((?:400|800)[-\s]?\d{3}[-\s]?\d{4}|12\d{3}|9\d{4,5})(?!\d)")
_PLAIN_MOBILE = re.compile(r"1[3-9]\d{9}")
_PLAIN_LANDLINE = re.compile(r"(?:021-?)?[2-9]\d{7}")
_ANNOTATION = re.compile(r"[(（][^()（）]*[)）]")
_SEPARATORS = re.compile(r"[、，,;；/|\s]+|或|及|和")


def parse_phones(value: Any) -> CellResult:
    """Phone numbers in one cell: Chinese mobiles and Shanghai landlines, several allowed.

    Mobiles are ``1[3-9]`` + 9 digits (``+86`` and spaces or dashes allowed) and come out
    as 11 digits; Shanghai landlines are 8 digits with an optional ``021``, ``021-`` or
    ``(021)`` prefix and an extension (``-88104``, ``转8``) and come out as
    ``021-XXXXXXXX[-ext]``; 400/800 and short service numbers (``12351``) are kept as
    written. Numbers are separated by ``、``, ``，``, ``/``, ``;`` or spaces; notes in
    brackets (``33362765(在职)``) are dropped. Digits left over that form no number are an
    error naming them; another city's area code is a warning.
    """
    result = CellResult()
    text = nfkc(clean_text(value))
    if _PLAIN_MOBILE.fullmatch(text):
        result.value = [text]
        return result
    if _PLAIN_LANDLINE.fullmatch(text):
        result.value = [f"021-{text[-8:]}"]
        return result
    text = _ANNOTATION.sub(" ", text)
    phones: list[tuple[int, str]] = []
    rest = text

    def take(pattern: re.Pattern[str], render) -> None:
        nonlocal rest
        for match in pattern.finditer(rest):
            phones.append((match.start(), render(match)))
        rest = pattern.sub(lambda m: " " * len(m.group(0)), rest)

    take(_MOBILE, lambda m: "".join(m.groups()))

    def other_area(match: re.Match[str]) -> str:
        result.warn(
            "non_shanghai_phone",
            f"电话“{match.group(0).strip()}”不是上海号码（区号 {match.group(1)}）。",
            f"phone {match.group(0).strip()!r} is not a Shanghai number "
            f"(area code {match.group(1)})",
        )
        return f"{match.group(1)}-{match.group(2)}"

    take(_OTHER_AREA, other_area)
    take(
        _LANDLINE,
        lambda m: f"021-{m.group(1)}{m.group(2)}" + (f"-{m.group(3)}" if m.group(3) else ""),
    )
    take(_HOTLINE, lambda m: re.sub(r"[\s]", "", m.group(0)))
    leftovers = [part for part in _SEPARATORS.split(rest) if re.search(r"\d", part)]
    for part in leftovers:
        result.error(
            "invalid_phone",
            f"电话号码“{part}”无效：手机为 11 位（1 开头），固话为 8 位（可加 021）。",
            f"phone number {part!r} is not valid: a mobile has 11 digits starting with 1, a "
            "Shanghai landline 8 digits (optionally after 021)",
        )
    if not phones and not leftovers and text.strip():
        result.error(
            "invalid_phone",
            f"“{clean_text(value)}”不是电话号码。",
            f"{clean_text(value)!r} is not a phone number",
        )
    ordered = [phone for _, phone in sorted(phones)]
    result.value = list(dict.fromkeys(ordered)) or None
    return result


# --------------------------------------------------------------------------- dates

EXCEL_EPOCH = date(1899, 12, 30)
_DATE_DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*(底|末|前|内|中旬|上旬|下旬|份)?\s*(前|之前|完成)?$")
_DATE_YEAR = re.compile(r"^(\d{4})\s*年?\s*(底|末|年底|年内|内|上半年|下半年)?\s*(前|之前|完成)?$")


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_date(value: Any) -> CellResult:
    """A planned date: ``2023-10-01``, ``2023年6月``, ``2023.09``, ``2023年12月底``, serials.

    The value is ``(date, precision)`` with precision ``day``, ``month`` or ``year``. A
    month or a year is read as a deadline: its last day (``2023年6月`` -> 2023-06-30,
    precision ``month``; ``2023年上半年`` -> 2023-06-30, ``month``). Excel date cells and
    serial numbers (days since 1899-12-30) are days. An unreadable date or a year outside
    2000-2100 is a warning; the text stays in ``raw``.
    """
    result = CellResult()
    if isinstance(value, datetime):
        parsed: tuple[date, str] | None = (value.date(), "day")
    elif isinstance(value, date):
        parsed = (value, "day")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = (EXCEL_EPOCH + timedelta(days=int(value)), "day") if 1 <= value < 2_958_466 else None
    else:
        parsed = _date_from_text(nfkc(clean_text(value)).replace(" ", ""))
    if parsed is None:
        return result.warn(
            "invalid_date",
            f"日期“{clean_text(value)}”无法识别，请写成 2023-10-01 或 2023年10月。",
            f"date {clean_text(value)!r} is not readable; write it as 2023-10-01 or 2023年10月",
        )
    if not 2000 <= parsed[0].year <= 2100:
        return result.warn(
            "suspicious_date",
            f"日期“{clean_text(value)}”的年份 {parsed[0].year} 不合理。",
            f"date {clean_text(value)!r} has an unlikely year {parsed[0].year}",
        )
    result.value = parsed
    return result


def _date_from_text(text: str) -> tuple[date, str] | None:
    try:
        if match := _DATE_DAY.match(text) or _DATE_COMPACT.match(text):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3))), "day"
        if match := _DATE_MONTH.match(text):
            month = int(match.group(2))
            if match.group(3) in ("上旬", "中旬"):
                day = 10 if match.group(3) == "上旬" else 20
                return date(int(match.group(1)), month, day), "day"
            return _month_end(int(match.group(1)), month), "month"
        if match := _DATE_YEAR.match(text):
            year = int(match.group(1))
            if match.group(2) == "上半年":
                return date(year, 6, 30), "month"
            return date(year, 12, 31), "month" if match.group(2) == "下半年" else "year"
    except ValueError:  # 2023-02-30, month 13
        return None
    return None


# --------------------------------------------------------------------------- build type

_BUILD_TYPES = {
    "新建": "new",
    "新增": "new",
    "新": "new",
    "new": "new",
    "升级": "upgrade",
    "改建": "upgrade",
    "提升": "upgrade",
    "升级改造": "upgrade",
    "改造": "upgrade",
    "upgrade": "upgrade",
}


def parse_build_type(value: Any) -> CellResult:
    """``类型`` of a health point: 新建 -> ``new``, 升级 (改建, 提升) -> ``upgrade``."""
    result = CellResult()
    key = nfkc(clean_text(value)).replace(" ", "").lower()
    if key not in _BUILD_TYPES:
        return result.error(
            "invalid_build_type",
            f"类型“{clean_text(value)}”应为“新建”或“升级”。",
            f"type {clean_text(value)!r} must be 新建 (new) or 升级 (upgrade)",
        )
    result.value = _BUILD_TYPES[key]
    return result


# --------------------------------------------------------------------------- districts

_FORMER_DISTRICTS = {
    "闸北区": "静安区",
    "卢湾区": "黄浦区",
    "南汇区": "浦东新区",
    "崇明县": "崇明区",
}
_PINYIN = {
    "huangpu": "黄浦区",
    "xuhui": "徐汇区",
    "changning": "长宁区",
    "jingan": "静安区",
    "putuo": "普陀区",
    "hongkou": "虹口区",
    "yangpu": "杨浦区",
    "minhang": "闵行区",
    "baoshan": "宝山区",
    "jiading": "嘉定区",
    "pudong": "浦东新区",
    "pudongnew": "浦东新区",
    "jinshan": "金山区",
    "songjiang": "松江区",
    "qingpu": "青浦区",
    "fengxian": "奉贤区",
    "chongming": "崇明区",
}


def _district_prefixes() -> list[tuple[str, str]]:
    """(prefix, district) pairs, longest first: 浦东新区, 浦东, 徐汇区, 徐汇, 闸北区 ..."""
    pairs: list[tuple[str, str]] = []
    for district in DISTRICTS:
        short = district.removesuffix("新区").removesuffix("区")
        pairs += [(district, district), (short, district)]
    for former, current in _FORMER_DISTRICTS.items():
        pairs += [(former, current), (former.removesuffix("区").removesuffix("县"), current)]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


DISTRICT_PREFIXES = _district_prefixes()
_CITY_PREFIX = re.compile(r"^(中国)?(上海市|上海)")
_STREET = re.compile(r"^[\u4e00-\u9fff]{1,8}(街道|镇|乡|工业区|新城|园区|管委会)$")


def split_district(text: str) -> tuple[str | None, str, str | None]:
    """Split a leading district name off ``text``.

    Returns ``(district, rest, former)``: the district (one of ``DISTRICTS``) or ``None``,
    the text after it, and the former district name when an old one was used (闸北区).
    """
    body = _CITY_PREFIX.sub("", nfkc(text).strip()).strip()
    for prefix, district in DISTRICT_PREFIXES:
        if body.startswith(prefix):
            rest = body[len(prefix) :].lstrip(" /、,，-")
            former = prefix if prefix in _FORMER_DISTRICTS or prefix + "区" in _FORMER_DISTRICTS else None
            return district, rest, former
    return None, body, None


def parse_district(value: Any, *, allow_street: bool = True) -> CellResult:
    """A district, optionally followed by a subdistrict/town (``普陀区长征镇``).

    ``徐汇`` -> 徐汇区, ``浦东`` -> 浦东新区, ``上海市静安区`` -> 静安区, ``Xuhui`` -> 徐汇区;
    a former district (闸北区) maps to today's with a warning. The value is
    ``(district, street or None)``. A name that is not one of the 16 districts is an error.
    """
    result = CellResult()
    text = clean_text(value)
    pinyin = re.sub(r"[^a-z]", "", text.lower()).removesuffix("district").removesuffix("qu")
    if pinyin in _PINYIN:
        result.value = (_PINYIN[pinyin], None)
        return result
    district, rest, former = split_district(text)
    if district is None:
        return result.error(
            "unknown_district",
            f"“{text}”不是上海的区，请填写 16 个区之一（如 徐汇区、浦东新区）。",
            f"{text!r} is not a Shanghai district; use one of the 16 (e.g. 徐汇区, 浦东新区)",
        )
    if former:
        result.warn(
            "former_district",
            f"“{former}”已撤并，按“{district}”读入。",
            f"{former!r} no longer exists; read as {district}",
        )
    street = rest.strip() or None
    if street and not allow_street:
        street = None
    if street and not _STREET.match(street):
        result.warn(
            "unusual_street",
            f"“{street}”看起来不像街道或镇的名称。",
            f"{street!r} does not look like a subdistrict or town name",
        )
    result.value = (district, street)
    return result


def district_in_address(address: str) -> str | None:
    """The district an address starts with (``上海市徐汇区零陵北路2号`` -> 徐汇区), if any.

    Only full names count (``徐汇区``), so a road named after a district (``浦东大道``) is
    not taken for one.
    """
    body = _CITY_PREFIX.sub("", nfkc(address).strip()).strip()
    for district in DISTRICTS:
        if body.startswith(district):
            return district
    for former, current in _FORMER_DISTRICTS.items():
        if body.startswith(former):
            return current
    return None


# --------------------------------------------------------------------------- e-mail

_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")


def parse_email(value: Any) -> CellResult:
    """An e-mail address (a malformed one is a warning)."""
    result = CellResult()
    text = nfkc(clean_text(value)).replace(" ", "")
    if not _EMAIL.match(text):
        return result.warn(
            "invalid_email",
            f"邮箱“{clean_text(value)}”格式不正确。",
            f"e-mail {clean_text(value)!r} is not valid",
        )
    result.value = text.lower()
    return result
