"""Text normalisation for matching Chinese facility names, roads and districts.

Everything is NFKC-normalised first (full-width digits, letters and brackets become
half-width; ``１２号`` → ``12号``), lower-cased and stripped of white space. Names then lose
what districts add or vary without changing the place: a leading ``中国``/``上海市``/district
name, bracketed qualifiers (kept apart as a variant), legal-form suffixes such as
``有限公司``, and punctuation. The same function is applied to the gazetteer and to the
query, so both sides meet in the middle.
"""

from __future__ import annotations

import re
import unicodedata

#: The 16 districts of Shanghai (current names, 2016 onwards).
DISTRICTS: tuple[str, ...] = (
    "黄浦区",
    "徐汇区",
    "长宁区",
    "静安区",
    "普陀区",
    "虹口区",
    "杨浦区",
    "闵行区",
    "宝山区",
    "嘉定区",
    "浦东新区",
    "金山区",
    "松江区",
    "青浦区",
    "奉贤区",
    "崇明区",
)

#: Other spellings of a district: the name without 区/新区 and the merged former districts
#: (卢湾 and 南市 → 黄浦, 闸北 → 静安, 南汇 and 川沙 → 浦东, 吴淞 → 宝山, 崇明县 → 崇明区).
DISTRICT_ALIASES: dict[str, str] = {
    **{name: name for name in DISTRICTS},
    **{name.removesuffix("新区").removesuffix("区"): name for name in DISTRICTS},
    "浦东区": "浦东新区",
    "卢湾区": "黄浦区",
    "卢湾": "黄浦区",
    "南市区": "黄浦区",
    "闸北区": "静安区",
    "闸北": "静安区",
    "南汇区": "浦东新区",
    "南汇": "浦东新区",
    "川沙县": "浦东新区",
    "吴淞区": "宝山区",
    "崇明县": "崇明区",
    "金山县": "金山区",
    "松江县": "松江区",
    "青浦县": "青浦区",
    "奉贤县": "奉贤区",
    "嘉定县": "嘉定区",
    "宝山县": "宝山区",
    "上海县": "闵行区",
}

# Full forms first so 浦东新区 wins over 浦东, then by length.
_ALIASES_BY_LENGTH = sorted(DISTRICT_ALIASES, key=lambda alias: (-len(alias), alias))
_FULL_FORM = re.compile(r".+(区|县)$")

#: After a short district alias these start a road name, so the alias is part of the road
#: (长宁路, 浦东南路, 浦东大道, 嘉定新城 is a district though).
_ROAD_AFTER_ALIAS = re.compile(r"^[东南西北中]?[一二三四五六七八九十]?(路|街|大道|大街|公路|支路|新路|港|江|桥)")

_CITY_PREFIX = re.compile(r"^(中华人民共和国|中国)?(上海市|上海)(市辖区)?")
_BRACKETS = re.compile(r"[(\[【〔{<《]([^)\]】〕}>》]*)[)\]】〕}>》]")
_PUNCTUATION = re.compile(r"[\s·•・\-—–_,，、.。:：;；'\"“”‘’!！?？/\\|#*~～+&@^`%$]+")

#: Legal-form suffixes dropped from organisation names (longest first).
LEGAL_SUFFIXES: tuple[str, ...] = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "分公司",
    "总公司",
)

#: A prefix is only stripped when this many characters remain (上海银行 stays whole).
MIN_REMAINDER_CHARS = 4


def halfwidth(text: str) -> str:
    """NFKC-normalise: full-width digits, letters, brackets and spaces become half-width."""
    return unicodedata.normalize("NFKC", text)


def clean_text(text: str | None) -> str:
    """Half-width, lower-case, without white space (``None`` → ``''``)."""
    if not text:
        return ""
    return re.sub(r"\s+", "", halfwidth(str(text))).lower()


def canonical_district(text: str | None) -> str | None:
    """The current district name for a form value (``徐汇``, ``闸北区`` → ``静安区``), or ``None``."""
    value = clean_text(text).removeprefix("上海市").removeprefix("上海")
    if not value:
        return None
    return DISTRICT_ALIASES.get(value)


def split_district(text: str) -> tuple[str | None, str]:
    """Split a leading district name off ``text`` (already cleaned, city prefix removed).

    A short alias (``长宁``) is only taken when what follows does not continue a road name,
    so ``长宁路`` and ``浦东南路`` stay roads.

    Returns
    -------
    tuple
        The canonical district (or ``None``) and the rest of the text.
    """
    for alias in _ALIASES_BY_LENGTH:
        if not text.startswith(alias):
            continue
        rest = text[len(alias) :]
        if not _FULL_FORM.match(alias) and _ROAD_AFTER_ALIAS.match(rest):
            continue
        return DISTRICT_ALIASES[alias], rest
    return None, text


def strip_city(text: str) -> str:
    """Remove a leading ``中国``/``上海市``/``上海`` (and ``市辖区``)."""
    return _CITY_PREFIX.sub("", text, count=1)


def bracket_parts(text: str) -> tuple[str, list[str]]:
    """Text without bracketed parts, and the bracketed contents in order."""
    inner = [part for part in _BRACKETS.findall(text) if part]
    return _BRACKETS.sub("", text), inner


def strip_legal_suffix(text: str) -> str:
    """Remove legal-form suffixes (``有限公司`` ...), repeatedly, keeping 2+ characters."""
    changed = True
    while changed:
        changed = False
        for suffix in LEGAL_SUFFIXES:
            if text.endswith(suffix) and len(text) - len(suffix) >= 2:
                text = text[: -len(suffix)]
                changed = True
    return text


def _strip_prefixes(text: str) -> str:
    stripped = strip_city(text)
    if len(stripped) >= MIN_REMAINDER_CHARS:
        text = stripped
    _, rest = split_district(text)
    if len(rest) >= MIN_REMAINDER_CHARS:
        text = rest
    return text


def normalize_name(text: str | None) -> str:
    """The matching key of a place name.

    ``上海市徐汇区斜土街道社区卫生服务中心`` and ``斜土街道社区卫生服务中心`` give the same key;
    ``上海某某科技有限公司（徐汇分部）`` → ``某某科技``.

    Parameters
    ----------
    text
        A name as written in a sheet or in OpenStreetMap.

    Returns
    -------
    str
        The key ('' for an empty name).
    """
    value = clean_text(text)
    if not value:
        return ""
    value, _ = bracket_parts(value)
    value = _strip_prefixes(value)
    value = strip_legal_suffix(value)
    value = _strip_prefixes(value)  # 上海某某有限公司 → 某某 once the suffix is gone
    return _PUNCTUATION.sub("", value)


def name_variants(text: str | None) -> list[str]:
    """Matching keys of a name: the normalised key, and the key with brackets kept inline.

    ``上海市第六人民医院（东院）`` → ``['第六人民医院', '第六人民医院东院']``. Duplicates and
    empty keys are left out.
    """
    value = clean_text(text)
    keys = [normalize_name(value)]
    if _BRACKETS.search(value):
        inline = _BRACKETS.sub(lambda match: match.group(1), value)
        keys.append(normalize_name(inline))
    out: list[str] = []
    for key in keys:
        if key and key not in out:
            out.append(key)
    return out


def normalize_road(text: str | None) -> str:
    """The key of a road name: cleaned, no punctuation (``南京西路``)."""
    return _PUNCTUATION.sub("", clean_text(text))


def bigrams(text: str) -> list[str]:
    """Distinct character bigrams of ``text`` (the text itself when shorter than 2)."""
    if len(text) < 2:
        return [text] if text else []
    seen: dict[str, None] = {}
    for index in range(len(text) - 1):
        seen.setdefault(text[index : index + 2], None)
    return list(seen)
