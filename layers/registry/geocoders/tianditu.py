"""Tianditu (天地图) geocoding, ``GET /geocoder?ds={"keyWord": …}&tk=KEY``.

Answers CGCS2000 coordinates, which agree with WGS84 to well under a metre (no conversion).
A success is ``{"status": "0", "msg": "ok", "location": {"lon", "lat", "level", "score",
"keyWord"}}``; ``status`` ``"101"`` means no result and ``"404"`` an error. Key problems come
back as HTTP 403 (or a message about the key or 权限); an exhausted allowance as HTTP 418 or
429 (or a message with 超限/次数). ``level`` → precision: 门址 → exact, 兴趣点 → building,
道路/交叉口 → road, 乡镇/村庄/地名 → subdistrict, 区县 → district.
"""

from __future__ import annotations

import json
from typing import Any

from geo.geocode.placement import Precision
from layers.registry.geocoders.base import OnlineGeocoder, ProviderAnswer, ProviderStatus

DEFAULT_BASE_URL = "https://api.tianditu.gov.cn"
GEOCODE_PATH = "/geocoder"

LEVELS: dict[str, Precision] = {
    "门址": Precision.EXACT,
    "门牌号": Precision.EXACT,
    "兴趣点": Precision.BUILDING,
    "POI": Precision.BUILDING,
    "道路": Precision.ROAD,
    "交叉口": Precision.ROAD,
    "道路交叉口": Precision.ROAD,
    "乡镇": Precision.SUBDISTRICT,
    "村庄": Precision.SUBDISTRICT,
    "地名": Precision.SUBDISTRICT,
    "区县": Precision.DISTRICT,
}


class TiandituGeocoder(OnlineGeocoder):
    """Tianditu geocoding (see the module docstring)."""

    name = "tianditu"

    def __init__(self, key: str | None, base_url: str = DEFAULT_BASE_URL, **kwargs: Any) -> None:
        super().__init__(key, base_url, **kwargs)

    def _request(self, address: str, city: str) -> tuple[str, dict[str, str]]:
        keyword = address if address.startswith(city.removesuffix("市")) else f"{city}{address}"
        ds = json.dumps({"keyWord": keyword}, ensure_ascii=False, separators=(",", ":"))
        return f"{self.base_url}{GEOCODE_PATH}", {"ds": ds, "tk": self.key or ""}

    def _interpret(self, status_code: int, body: Any) -> ProviderAnswer:
        message = str(body.get("msg") or "") if isinstance(body, dict) else ""
        if status_code == 403 or (status_code >= 400 and ("key" in message.lower() or "权限" in message)):
            return ProviderAnswer(self.name, ProviderStatus.INVALID_KEY,
                                  message=message or f"HTTP {status_code}: key refused")
        if status_code in (418, 429) or "超限" in message or "次数" in message:
            return ProviderAnswer(self.name, ProviderStatus.QUOTA_EXCEEDED,
                                  message=message or f"HTTP {status_code}: allowance exhausted")
        if status_code >= 500:
            return ProviderAnswer(self.name, ProviderStatus.SERVER_ERROR, message=f"HTTP {status_code}")
        if not isinstance(body, dict):
            return ProviderAnswer(self.name, ProviderStatus.BAD_ANSWER,
                                  message=f"HTTP {status_code}, not JSON")
        status = str(body.get("status"))
        location = body.get("location")
        if status == "101" or (status == "0" and not location):
            return ProviderAnswer(self.name, ProviderStatus.NO_RESULT, message=message or "no result",
                                  raw=body)
        if status != "0" or not isinstance(location, dict):
            return ProviderAnswer(self.name, ProviderStatus.BAD_ANSWER,
                                  message=f"status {status}: {message}", raw=body)
        try:
            lon, lat = float(location["lon"]), float(location["lat"])
        except (KeyError, TypeError, ValueError):
            return ProviderAnswer(self.name, ProviderStatus.BAD_ANSWER,
                                  message="unreadable location", raw=body)
        level = str(location.get("level") or "")
        return ProviderAnswer(
            self.name,
            ProviderStatus.OK,
            lon=lon,
            lat=lat,
            precision=LEVELS.get(level, Precision.UNKNOWN),
            level=level,
            matched=location.get("keyWord") or None,
            raw=body,
        )
