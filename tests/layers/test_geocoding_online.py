"""The online geocoders against a local server on 127.0.0.1 replaying recorded answers.

Each scenario is chosen by the key the client sends (``key`` for Amap, ``tk`` for
Tianditu), so one server serves every test; nothing reaches the internet.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from geo.crs import from_wgs84, haversine_m
from geo.geocode.placement import Precision
from layers.registry.geocoders.amap import AmapGeocoder
from layers.registry.geocoders.base import HttpPolicy, ProviderStatus
from layers.registry.geocoders.tianditu import TiandituGeocoder
from layers.registry.geocoding import Geocoder, GeocoderConfig

ANSWERS = Path(__file__).parents[1] / "data/geocoders"


def _answer(name: str) -> bytes:
    return (ANSWERS / f"{name}.json").read_bytes()


class _Replay(BaseHTTPRequestHandler):
    hits: ClassVar[list[dict[str, Any]]] = []
    counters: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: object) -> None:  # keep test output clean
        return

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        key = query.get("key") or query.get("tk") or ""
        _Replay.hits.append({"path": url.path, **query})
        count = _Replay.counters.get(key, 0)
        _Replay.counters[key] = count + 1
        provider = "amap" if url.path == "/v3/geocode/geo" else "tianditu"
        if key == "slow":
            time.sleep(0.5)
            self._send(200, _answer(f"{provider}_success"))
        elif key == "error500":
            self._send(500, b"<html>Internal Server Error</html>")
        elif key == "qps-then-ok":
            self._send(200, _answer("amap_qps_limit" if count < 2 else "amap_success"))
        elif key == "qps":
            self._send(200, _answer("amap_qps_limit"))
        elif provider == "tianditu" and key == "badkey":
            self._send(403, _answer("tianditu_invalid_key"))
        elif provider == "tianditu" and key == "quota":
            self._send(418, _answer("tianditu_quota"))
        else:
            name = {"ok": "success", "none": "no_result", "badkey": "invalid_key",
                    "quota": "daily_quota", "quota44": "user_daily_quota", "road": "road_level"}[key]
            self._send(200, _answer(f"{provider}_{name}"))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Replay)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _reset() -> None:
    _Replay.hits.clear()
    _Replay.counters.clear()


def _policy(**kwargs: float) -> HttpPolicy:
    return HttpPolicy(**{"timeout_s": 2.0, "max_retries": 2, "backoff_s": 0.0, **kwargs})


def test_amap_success_is_converted_from_gcj02(server: str) -> None:
    answer = AmapGeocoder("ok", server, policy=_policy()).geocode("徐汇区广元西路349号")
    assert answer.status is ProviderStatus.OK
    assert answer.precision is Precision.EXACT
    assert answer.level == "门牌号"
    gcj = from_wgs84(answer.lon, answer.lat, "gcj02")
    assert gcj == pytest.approx((121.4364, 31.19621), abs=1e-6)
    assert float(haversine_m(answer.lon, answer.lat, 121.4364, 31.19621)) > 100  # really moved
    sent = _Replay.hits[0]
    assert sent["address"] == "徐汇区广元西路349号"
    assert sent["city"] == "上海市"


def test_amap_no_result(server: str) -> None:
    answer = AmapGeocoder("none", server, policy=_policy()).geocode("某某路")
    assert answer.status is ProviderStatus.NO_RESULT
    assert not answer.ok


@pytest.mark.parametrize(("key", "status"), [("badkey", ProviderStatus.INVALID_KEY),
                                             ("quota", ProviderStatus.QUOTA_EXCEEDED),
                                             ("quota44", ProviderStatus.QUOTA_EXCEEDED)])
def test_amap_key_and_quota_errors_stop_calling(server: str, key: str, status: ProviderStatus) -> None:
    provider = AmapGeocoder(key, server, policy=_policy())
    first = provider.geocode("a")
    second = provider.geocode("b")
    assert first.status is status
    assert first.called
    assert second.status is status
    assert not second.called
    assert len(_Replay.hits) == 1
    assert not provider.enabled
    assert provider.stopped_reason is not None


def test_amap_qps_limit_is_retried_with_back_off(server: str) -> None:
    pauses: list[float] = []
    provider = AmapGeocoder("qps-then-ok", server, policy=_policy(backoff_s=0.1), sleep=pauses.append)
    answer = provider.geocode("徐汇区广元西路349号")
    assert answer.status is ProviderStatus.OK
    assert answer.attempts == 3
    assert pauses == [0.1, 0.2]


def test_amap_qps_limit_gives_up_after_retries(server: str) -> None:
    pauses: list[float] = []
    provider = AmapGeocoder("qps", server, policy=_policy(backoff_s=0.1), sleep=pauses.append)
    answer = provider.geocode("x")
    assert answer.status is ProviderStatus.RATE_LIMITED
    assert answer.attempts == 3
    assert provider.enabled  # a QPS limit is not a reason to stop for the day


def test_server_error_then_circuit_breaker(server: str) -> None:
    provider = AmapGeocoder(
        "error500", server, policy=_policy(max_retries=1, max_consecutive_failures=2, cooldown_s=60),
        sleep=lambda _: None,
    )
    assert provider.geocode("a").status is ProviderStatus.SERVER_ERROR
    assert provider.geocode("b").status is ProviderStatus.SERVER_ERROR
    paused = provider.geocode("c")
    assert paused.status is ProviderStatus.PAUSED
    assert not paused.called
    assert len(_Replay.hits) == 4  # 2 rows x 2 attempts, the third row sends nothing


def test_timeout(server: str) -> None:
    provider = AmapGeocoder("slow", server, policy=_policy(timeout_s=0.1, max_retries=0))
    answer = provider.geocode("x")
    assert answer.status is ProviderStatus.TIMEOUT
    assert "0.1 s" in (answer.message or "")


def test_tianditu_success_and_request_shape(server: str) -> None:
    answer = TiandituGeocoder("ok", server, policy=_policy()).geocode("徐汇区广元西路349号")
    assert answer.status is ProviderStatus.OK
    assert answer.precision is Precision.EXACT
    assert (answer.lon, answer.lat) == pytest.approx((121.43207, 31.1983))  # no conversion
    sent = _Replay.hits[0]
    assert sent["path"] == "/geocoder"
    assert json.loads(sent["ds"]) == {"keyWord": "上海市徐汇区广元西路349号"}


@pytest.mark.parametrize(("key", "status"), [("none", ProviderStatus.NO_RESULT),
                                             ("badkey", ProviderStatus.INVALID_KEY),
                                             ("quota", ProviderStatus.QUOTA_EXCEEDED),
                                             ("error500", ProviderStatus.SERVER_ERROR)])
def test_tianditu_errors(server: str, key: str, status: ProviderStatus) -> None:
    provider = TiandituGeocoder(key, server, policy=_policy(max_retries=0))
    assert provider.geocode("x").status is status


def test_no_key_calls_nothing(server: str) -> None:
    geocoder = Geocoder(config=GeocoderConfig(amap_base_url=server, tianditu_base_url=server))
    assert geocoder.providers == []
    placement = geocoder.place("无名单位", "闵行区七宝镇某某路1号", "闵行区")
    assert placement.precision is Precision.SUBDISTRICT
    assert _Replay.hits == []


def test_chain_uses_amap_when_offline_is_coarse(server: str) -> None:
    config = GeocoderConfig(amap_key="ok", amap_base_url=server, backoff_s=0.0)
    placement = Geocoder(config=config).place("无名单位", "徐汇区广元西路349号", "徐汇区")
    assert placement.precision is Precision.EXACT
    assert placement.source == "amap"
    assert placement.district == "徐汇区"
    assert placement.candidates  # the offline placement stays as a choice
    assert len(_Replay.hits) == 1


def test_chain_skips_online_when_offline_found_the_building(server: str) -> None:
    config = GeocoderConfig(amap_key="ok", amap_base_url=server)
    placement = Geocoder(config=config).place("瑞金医院", None, "黄浦区")
    assert placement.precision is Precision.BUILDING
    assert placement.source.startswith("gazetteer:")
    assert _Replay.hits == []


def test_chain_keeps_offline_when_provider_fails_and_says_so(server: str) -> None:
    config = GeocoderConfig(amap_key="quota", amap_base_url=server, tianditu_key="none",
                            tianditu_base_url=server, backoff_s=0.0)
    geocoder = Geocoder(config=config)
    first = geocoder.place("无名单位", "闵行区七宝镇某某路1号", "闵行区")
    second = geocoder.place("无名单位二", "闵行区七宝镇某某路2号", "闵行区")
    assert first.precision is Precision.SUBDISTRICT
    assert any(note.startswith("amap: quota_exceeded") for note in first.notes)
    assert any("not called" in note for note in second.notes)
    assert any(note.startswith("tianditu: no_result") for note in second.notes)
    assert geocoder.provider_states()["amap"].startswith("quota_exceeded")
    amap_hits = [hit for hit in _Replay.hits if hit["path"] == "/v3/geocode/geo"]
    assert len(amap_hits) == 1


def test_coarser_provider_answer_is_not_taken(server: str) -> None:
    config = GeocoderConfig(amap_key="road", amap_base_url=server)
    placement = Geocoder(config=config).place("瑞金医院东", "黄浦区西藏中路100号（近福州路）", "黄浦区")
    assert placement.source == "gazetteer:road"
    assert any("not finer" in note for note in placement.notes)


def test_config_from_settings_hides_keys() -> None:
    from types import SimpleNamespace

    from pydantic import SecretStr

    settings = SimpleNamespace(amap_key=SecretStr("secret-key"), tianditu_key=None)
    config = GeocoderConfig.from_settings(settings)
    assert config.amap_key == "secret-key"
    assert config.tianditu_key is None
    assert "secret-key" not in repr(config)
