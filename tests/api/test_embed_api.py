"""/embed (parameters, CSP frame-ancestors) and /oembed (oEmbed 1.0) over HTTP."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.embed_params import parse_embed
from api.main import create_app
from api.settings import Settings
from geo.crs import from_wgs84

EMBED = "http://testserver/embed"


def _config(page: str) -> dict:
    match = re.search(r'<meta name="servicemap-embed" content="([^"]*)">', page)
    assert match, "the page carries no configuration"
    return json.loads(html.unescape(match.group(1)))


def test_embed_page_carries_the_checked_configuration(client: TestClient) -> None:
    answer = client.get("/embed", params={"layer": "relay_station,health_point", "list": "1",
                                          "k": "3", "profile": "drive", "lang": "en", "zoom": "14"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    config = _config(answer.text)
    assert config["layers"] == ["relay_station", "health_point"]
    assert (config["list"], config["k"], config["profile"], config["zoom"]) == (True, 3, "drive", 14)
    assert config["problems"] == []
    assert '<html lang="en"' in answer.text
    assert "<title>Worker service map</title>" in answer.text
    assert 'type="application/json+oembed"' in answer.text
    assert "<script>" not in answer.text  # CSP script-src 'self': no inline script


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_embed_centre_in_gcj02_or_bd09_is_converted_to_wgs84(client: TestClient, crs: str) -> None:
    wgs = (121.4737, 31.2304)
    lon, lat = from_wgs84(*wgs, crs)
    assert abs(lon - wgs[0]) > 1e-3  # the offset is real (hundreds of metres)
    config = _config(client.get("/embed", params={"lon": lon, "lat": lat, "crs": crs}).text)
    assert config["inputCrs"] == crs
    assert config["center"]["lon"] == pytest.approx(wgs[0], abs=1e-6)
    assert config["center"]["lat"] == pytest.approx(wgs[1], abs=1e-6)


@pytest.mark.parametrize("crs", ["gcj02", "bd09", "wgs84"])
def test_to_wgs84_converts_as_the_embed_centre_does(client: TestClient, crs: str) -> None:
    """The widget's crs messages call /api/v1/to-wgs84: the same answer as the URL's crs."""
    lon, lat = from_wgs84(121.4737, 31.2304, crs)
    point = client.get("/api/v1/to-wgs84", params={"lon": lon, "lat": lat, "crs": crs})
    assert point.status_code == 200
    body = point.json()
    centre = _config(client.get("/embed", params={"lon": lon, "lat": lat, "crs": crs}).text)["center"]
    assert (body["lon"], body["lat"]) == (centre["lon"], centre["lat"])
    assert body["lon"] == pytest.approx(121.4737, abs=1e-6)
    assert body["lat"] == pytest.approx(31.2304, abs=1e-6)
    assert (body["crs"], body["input_crs"], body["input_lon"]) == ("wgs84", crs, lon)


@pytest.mark.parametrize(("params", "code"), [
    ({"lon": "121.47", "lat": "31.23", "crs": "utm"}, "unknown_crs"),
    ({"lon": "116.40", "lat": "39.90", "crs": "gcj02"}, "outside_service_area"),
    ({"lon": "nan", "lat": "31.23"}, "invalid_request"),
    ({"lon": "121.47"}, "invalid_request"),
])  # fmt: skip
def test_to_wgs84_refuses_bad_points(client: TestClient, params: dict[str, str], code: str) -> None:
    answer = client.get("/api/v1/to-wgs84", params=params)
    assert answer.status_code == 422
    assert answer.json()["error"] == code


@pytest.mark.parametrize(
    ("query", "param", "words"),
    [
        ({"layer": "nope"}, "layer", "unknown layer: nope"),
        ({"layer": ""}, "layer", "must not be empty"),
        ({"lon": "121.47"}, "lat", "lat is missing"),
        ({"lon": "abc", "lat": "31.2"}, "lon", "must be degrees"),
        ({"lon": "116.40", "lat": "39.90"}, "lon", "outside the service area"),
        ({"lon": "121.47", "lat": "31.23", "crs": "utm"}, "crs", "unknown crs"),
        ({"zoom": "40"}, "zoom", "from 8 to 19"),
        ({"k": "0"}, "k", "from 1 to 20"),
        ({"profile": "fly"}, "profile", "walk or drive"),
        ({"lang": "fr"}, "lang", "zh or en"),
        ({"controls": "zoom,teleport"}, "controls", "unknown controls: teleport"),
        ({"list": "maybe"}, "list", "1 or 0"),
        ({"height": "5"}, "height", "from 150 to 2000"),
        ({"origin": "javascript:alert(1)"}, "origin", "page origin"),
        ({"layers": "relay_station"}, "layers", "unknown parameter: layers"),
    ],
)
def test_embed_bad_parameters_answer_400_with_the_reason_on_the_page(
    client: TestClient, query: dict[str, str], param: str, words: str
) -> None:
    answer = client.get("/embed", params={**query, "lang": query.get("lang", "en")})
    assert answer.status_code == 400
    config = _config(answer.text)
    assert param in [p["param"] for p in config["problems"]]
    # said on the page itself (in the page's language), escaped
    box = answer.text.split('id="embed-errors"', 1)[1].split("</div>", 1)[0]
    assert "hidden" not in box.split(">", 1)[0]
    assert html.escape(words) in box or words in box
    assert "<script" not in box


def test_embed_problems_are_escaped(client: TestClient) -> None:
    answer = client.get("/embed", params={"layer": "<img src=x onerror=alert(1)>"})
    assert answer.status_code == 400
    assert "<img src=x" not in answer.text
    assert "&lt;img src=x" in answer.text


def test_csp_frame_ancestors_any_origin_for_embed_only(client: TestClient) -> None:
    embed = client.get("/embed")
    assert embed.headers["content-security-policy"].endswith("frame-ancestors *")
    assert "x-frame-options" not in embed.headers
    for path in ("/", "/embed-builder.html", "/embed-example.html", "/widget.js", "/embed.html"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-security-policy"].endswith("frame-ancestors 'self'"), path
        assert answer.headers["x-frame-options"] == "SAMEORIGIN", path


def test_csp_frame_ancestors_follow_servicemap_embed_origins(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'r.db'}",
                        warm_up=False, seed_on_start=False,
                        embed_origins="https://union.example, https://district.example")  # fmt: skip
    with TestClient(create_app(settings)) as local:
        csp = local.get("/embed").headers["content-security-policy"]
        assert csp.endswith("frame-ancestors https://union.example https://district.example 'self'")
        config = _config(local.get("/embed").text)
        assert config["embedOrigins"] == ["https://union.example", "https://district.example"]
        assert local.get("/").headers["content-security-policy"].endswith("frame-ancestors 'self'")


def test_oembed_answers_rich_iframe_within_maxwidth_and_maxheight(client: TestClient) -> None:
    url = f"{EMBED}?layer=relay_station&lang=en"
    answer = client.get("/oembed", params={"url": url, "format": "json",
                                           "maxwidth": "320", "maxheight": "300"})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["version"], body["type"]) == ("1.0", "rich")
    assert (body["width"], body["height"]) == (320, 300)
    assert 'width="320"' in body["html"]
    assert 'height="300"' in body["html"]
    assert html.escape(url) in body["html"]
    assert 'allow="geolocation"' in body["html"]
    assert body["title"] == "Worker service map"
    assert answer.headers["access-control-allow-origin"] == "*"
    unbounded = client.get("/oembed", params={"url": url}).json()
    assert (unbounded["width"], unbounded["height"]) == (640, 480)


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"url": f"{EMBED}", "format": "xml"}, 501, "not implemented"),
        ({}, 422, "url"),
        ({"url": "https://elsewhere.example/embed"}, 404, "only the /embed pages"),
        ({"url": "http://testserver/planner.html"}, 404, "only the /embed pages"),
        ({"url": "ftp://testserver/embed"}, 404, "only the /embed pages"),
        ({"url": f"{EMBED}?layer=nope"}, 400, "unknown layer: nope"),
        ({"url": EMBED, "maxwidth": "wide"}, 422, "maxwidth"),
        ({"url": EMBED, "maxheight": "-5"}, 422, "maxheight"),
        ({"url": EMBED, "maxwidth": "99"}, 404, "needs at least"),
    ],
)
def test_oembed_bad_input(client: TestClient, params: dict[str, str], status: int, words: str) -> None:
    answer = client.get("/oembed", params=params)
    assert answer.status_code == status
    assert words in answer.json()["message"]


def test_parse_embed_collects_every_problem() -> None:
    config = parse_embed({"layer": "nope", "zoom": "x", "k": "99"}, lambda lon, lat: True)
    assert [p.param for p in config.problems] == ["layer", "zoom", "k"]
    assert all(p.zh and p.en for p in config.problems)
