"""Amap (高德) Web Service geocoding, ``GET /v3/geocode/geo``; answers in GCJ-02.

The answer's ``status`` is ``"1"`` on success (``count`` may be ``"0"``: no result) and
``"0"`` on error, with ``info``/``infocode`` saying which. The infocodes handled:

* invalid key or key not allowed: 10001 INVALID_USER_KEY, 10005-10009 (IP/domain/signature/
  scode/platform mismatch), 10012 INSUFFICIENT_PRIVILEGES, 10013 USER_KEY_RECYCLED;
* daily quota: 10003 DAILY_QUERY_OVER_LIMIT, 10010 IP_QUERY_OVER_LIMIT, 10029, 10044
  USER_DAILY_QUERY_OVER_LIMIT, 10045;
* QPS limits (retried with back-off): 10004 ACCESS_TOO_FREQUENT, 10014, 10019, 10020, 10021;
* server trouble (retried): 10002, 10015 GATEWAY_TIMEOUT, 10016 SERVER_IS_BUSY, 10017, 20003;
* bad request (our query): 20000-20012.

The ``level`` of a match becomes our precision (门牌号 → exact, 兴趣点 → building, 道路 →
road, 乡镇/开发区 → subdistrict, 区县 → district). Positions are converted to WGS84 with
:func:`geo.crs.to_wgs84`.
"""

from __future__ import annotations

from typing import Any

from geo.crs import CRS, to_wgs84
from geo.geocode.placement import Precision
from layers.registry.geocoders.base import OnlineGeocoder, ProviderAnswer, ProviderStatus

DEFAULT_BASE_URL = "https://restapi.amap.com"
GEOCODE_PATH = "/v3/geocode/geo"

INVALID_KEY_CODES = frozenset({"10001", "10005", "10006", "10007", "10008", "10009", "10012", "10013"})
QUOTA_CODES = frozenset({"10003", "10010", "10029", "10044", "10045"})
RATE_CODES = frozenset({"10004", "10014", "10019", "10020", "10021"})
SERVER_CODES = frozenset({"10002", "10015", "10016", "10017", "20003"})

#: Amap match level → our precision (levels not listed are not used).
LEVELS: dict[str, Precision] = {
    "门牌号": Precision.EXACT,
    "单元号": Precision.EXACT,
    "楼栋": Precision.BUILDING,
    "兴趣点": Precision.BUILDING,
    "公交站台、地铁站": Precision.BUILDING,
    "公交地铁站点": Precision.BUILDING,
    "道路": Precision.ROAD,
    "道路交叉路口": Precision.ROAD,
    "热点商圈": Precision.SUBDISTRICT,
    "开发区": Precision.SUBDISTRICT,
    "乡镇": Precision.SUBDISTRICT,
    "村庄": Precision.SUBDISTRICT,
    "区县": Precision.DISTRICT,
}


class AmapGeocoder(OnlineGeocoder):
    """Amap geocoding (see the module docstring)."""

    name = "amap"

    def __init__(self, key: str | None, base_url: str = DEFAULT_BASE_URL, **kwargs: Any) -> None:
        super().__init__(key, base_url, **kwargs)

    def _request(self, address: str, city: str) -> tuple[str, dict[str, str]]:
        params = {"key": self.key or "", "address": address, "city": city, "output": "JSON"}
        return f"{self.base_url}{GEOCODE_PATH}", params

    def _interpret(self, status_code: int, body: Any) -> ProviderAnswer:
        if status_code >= 500:
            return ProviderAnswer(self.name, ProviderStatus.SERVER_ERROR, message=f"HTTP {status_code}")
        if not isinstance(body, dict):
            return ProviderAnswer(self.name, ProviderStatus.BAD_ANSWER,
                                  message=f"HTTP {status_code}, not JSON")
        info = str(body.get("info") or "")
        code = str(body.get("infocode") or "")
        if str(body.get("status")) != "1":
            message = f"{info} ({code})" if code else info or f"HTTP {status_code}"
            if code in INVALID_KEY_CODES:
                status = ProviderStatus.INVALID_KEY
            elif code in QUOTA_CODES:
                status = ProviderStatus.QUOTA_EXCEEDED
            elif code in RATE_CODES:
                status = ProviderStatus.RATE_LIMITED
            elif code in SERVER_CODES:
                status = ProviderStatus.SERVER_ERROR
            else:
                status = ProviderStatus.BAD_ANSWER
            return ProviderAnswer(self.name, status, message=message, raw=body)
        geocodes = body.get("geocodes") or []
        if not geocodes:
            return ProviderAnswer(self.name, ProviderStatus.NO_RESULT, message="no result", raw=body)
        first = geocodes[0]
        try:
            lon_text, lat_text = str(first.get("location") or "").split(",")
            lon, lat = to_wgs84(float(lon_text), float(lat_text), CRS.GCJ02)
        except ValueError:
            return ProviderAnswer(self.name, ProviderStatus.BAD_ANSWER,
                                  message=f"unreadable location {first.get('location')!r}", raw=body)
        level = str(first.get("level") or "")
        district = first.get("district")
        return ProviderAnswer(
            self.name,
            ProviderStatus.OK,
            lon=lon,
            lat=lat,
            precision=LEVELS.get(level, Precision.UNKNOWN),
            level=level,
            matched=first.get("formatted_address") or None,
            district=district if isinstance(district, str) and district else None,
            raw=body,
        )
