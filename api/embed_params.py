"""The parameters of the embeddable map (``/embed``): parsed, checked and explained.

Every problem is collected (never the first only) with a message in Chinese and English, so
the page in the iframe can say all of them at once. The parsed configuration is what the
page's script reads (``<meta name="servicemap-embed">``, see ``docs/embed.md``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from geo.crs import CRS, parse_crs, to_wgs84
from geo.errors import UnknownCRSError
from layers.registry.catalog import LAYERS

#: Controls a host may show (``controls=zoom,locate``); the default is zoom and locate.
CONTROLS: tuple[str, ...] = ("zoom", "locate", "layers", "profile", "lang")
DEFAULT_CONTROLS: tuple[str, ...] = ("zoom", "locate")
PROFILES: tuple[str, ...] = ("walk", "drive")
LANGUAGES: tuple[str, ...] = ("zh", "en")
PARAMETERS: tuple[str, ...] = (
    "layer", "lon", "lat", "crs", "locate", "zoom", "k", "profile", "lang", "controls",
    "list", "scroll", "height", "origin", "basemap",
)  # fmt: skip
DEFAULT_LAYER = "relay_station"
MIN_ZOOM, MAX_ZOOM = 8, 19
MAX_K = 20
MIN_HEIGHT, MAX_HEIGHT = 150, 2000
_BASEMAP = re.compile(r"^[a-z0-9_\-]{1,40}$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")
_MAX_SHOWN = 60


@dataclass(frozen=True)
class Problem:
    """One bad parameter: its name and what is wrong, in both languages."""

    param: str
    zh: str
    en: str

    def as_json(self) -> dict[str, str]:
        return {"param": self.param, "zh": self.zh, "en": self.en}


@dataclass
class EmbedConfig:
    """The checked parameters of one embed (WGS84 centre, defaults filled in)."""

    layers: list[str] = field(default_factory=lambda: [DEFAULT_LAYER])
    lon: float | None = None
    lat: float | None = None
    input_crs: str = CRS.WGS84.value
    locate: bool = False
    zoom: int | None = None
    k: int = 5
    profile: str = "walk"
    lang: str | None = None
    controls: list[str] = field(default_factory=lambda: list(DEFAULT_CONTROLS))
    show_list: bool = False
    scroll: bool = False
    height: int | None = None
    origin: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def as_json(self, embed_origins: list[str]) -> dict[str, Any]:
        """What the page's script reads; ``embedOrigins`` is ``["*"]`` for any host."""
        centre = None if self.lon is None or self.lat is None else {"lon": self.lon, "lat": self.lat}
        return {
            "layers": self.layers, "center": centre, "inputCrs": self.input_crs,
            "locate": self.locate, "zoom": self.zoom, "k": self.k, "profile": self.profile,
            "lang": self.lang, "controls": self.controls, "list": self.show_list,
            "scroll": self.scroll, "height": self.height, "origin": self.origin,
            "embedOrigins": embed_origins or ["'none'"],
            "problems": [p.as_json() for p in self.problems],
        }  # fmt: skip


def _shown(value: str) -> str:
    return value if len(value) <= _MAX_SHOWN else value[: _MAX_SHOWN - 1] + "…"


def _flag(name: str, value: str, problems: list[Problem]) -> bool:
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no", ""):
        return False
    problems.append(Problem(name, f"{name} 只能是 1 或 0（收到 “{_shown(value)}”）",
                            f"{name} must be 1 or 0 (got “{_shown(value)}”)"))  # fmt: skip
    return False


def _integer(name: str, value: str, low: int, high: int, problems: list[Problem]) -> int | None:
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        problems.append(Problem(
            name, f"{name} 须为 {low} 到 {high} 之间的整数（收到 “{_shown(value)}”）",
            f"{name} must be a whole number from {low} to {high} (got “{_shown(value)}”)"))
        return None
    return number


def _degrees(name: str, value: str, bound: float, problems: list[Problem]) -> float | None:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not -bound <= number <= bound:
        problems.append(Problem(
            name, f"{name} 须为 {-bound:g} 到 {bound:g} 之间的度数（收到 “{_shown(value)}”）",
            f"{name} must be degrees from {-bound:g} to {bound:g} (got “{_shown(value)}”)"))
        return None
    return number


def _choices(name: str, value: str, valid: tuple[str, ...], problems: list[Problem],
             *, allow_none: bool = False) -> list[str]:  # fmt: skip
    items = [item.strip() for item in value.split(",") if item.strip()]
    if allow_none and items == ["none"]:
        return []
    unknown = [item for item in items if item not in valid]
    if unknown:
        listed = ", ".join(_shown(item) for item in unknown[:5])
        problems.append(Problem(
            name, f"未知的 {name}：{listed}；可用：{', '.join(valid)}",
            f"unknown {name}: {listed}; valid: {', '.join(valid)}"))
    return list(dict.fromkeys(item for item in items if item in valid))


def parse_embed(params: Mapping[str, str], in_service_area: Callable[[float, float], bool]) -> EmbedConfig:
    """Check the query parameters of ``/embed``.

    Parameters
    ----------
    params
        The query parameters (the last value of each name).
    in_service_area
        Whether a WGS84 point lies in the service area.

    Returns
    -------
    EmbedConfig
        The configuration; ``problems`` lists every bad parameter (empty when all are good).
    """
    config = EmbedConfig()
    problems = config.problems
    unknown = [name for name in params if name not in PARAMETERS]
    if unknown:
        listed = ", ".join(_shown(name) for name in unknown[:5])
        problems.append(Problem(
            unknown[0], f"未知的参数：{listed}；可用：{', '.join(PARAMETERS)}",
            f"unknown parameter: {listed}; valid: {', '.join(PARAMETERS)}"))
    if "layer" in params:
        layers = _choices("layer", params["layer"], tuple(LAYERS), problems)
        if layers:
            config.layers = layers
        elif not problems or problems[-1].param != "layer":
            problems.append(Problem("layer", "layer 不能为空", "layer must not be empty"))
    for name, valid in (("lang", LANGUAGES), ("profile", PROFILES)):
        if name in params:
            value = params[name].strip()
            if value in valid:
                setattr(config, name, value)
            else:
                problems.append(Problem(
                    name, f"{name} 只能是 {' 或 '.join(valid)}（收到 “{_shown(value)}”）",
                    f"{name} must be {' or '.join(valid)} (got “{_shown(value)}”)"))
    if "controls" in params:
        config.controls = _choices("controls", params["controls"], CONTROLS, problems, allow_none=True)
    for name, attribute in (("locate", "locate"), ("list", "show_list"), ("scroll", "scroll")):
        if name in params:
            setattr(config, attribute, _flag(name, params[name], problems))
    if "zoom" in params:
        config.zoom = _integer("zoom", params["zoom"], MIN_ZOOM, MAX_ZOOM, problems)
    if "k" in params:
        config.k = _integer("k", params["k"], 1, MAX_K, problems) or config.k
    if "height" in params:
        config.height = _integer("height", params["height"], MIN_HEIGHT, MAX_HEIGHT, problems)
    if "origin" in params:
        origin = params["origin"].strip().rstrip("/")
        if _ORIGIN.match(origin):
            config.origin = origin
        else:
            problems.append(Problem(
                "origin", f"origin 须为网页来源，如 https://example.org（收到 “{_shown(origin)}”）",
                f"origin must be a page origin such as https://example.org (got “{_shown(origin)}”)"))
    if "basemap" in params and not _BASEMAP.match(params["basemap"]):
        problems.append(Problem(
            "basemap", f"basemap 须为 offline、online 或底图编号（收到 “{_shown(params['basemap'])}”）",
            f"basemap must be offline, online or a source id (got “{_shown(params['basemap'])}”)"))
    _centre(params, config)
    if config.lon is not None and config.lat is not None and not in_service_area(config.lon, config.lat):
        problems.append(Problem(
            "lon", "中心点不在服务范围内：只限上海市（16 个区）",
            "the centre is outside the service area: the Shanghai municipality (16 districts)"))
        config.lon = config.lat = None
    return config


def _centre(params: Mapping[str, str], config: EmbedConfig) -> None:
    problems = config.problems
    source = CRS.WGS84
    if "crs" in params:
        try:
            source = parse_crs(params["crs"])
        except UnknownCRSError:
            problems.append(Problem(
                "crs", f"未知的 crs：{_shown(params['crs'])}；可用：wgs84, gcj02, bd09",
                f"unknown crs: {_shown(params['crs'])}; valid: wgs84, gcj02, bd09"))
    config.input_crs = source.value
    has_lon, has_lat = "lon" in params, "lat" in params
    if has_lon != has_lat:
        missing = "lat" if has_lon else "lon"
        problems.append(Problem(missing, f"lon 和 lat 须同时给出（缺少 {missing}）",
                                f"lon and lat go together ({missing} is missing)"))  # fmt: skip
        return
    if not has_lon:
        return
    lon = _degrees("lon", params["lon"], 180.0, problems)
    lat = _degrees("lat", params["lat"], 90.0, problems)
    if lon is None or lat is None:
        return
    config.lon, config.lat = to_wgs84(lon, lat, source)
