"""The embeddable map in headless Chromium, framed by host pages on other loopback ports.

One application is started for the module with ``SERVICEMAP_EMBED_ORIGINS`` set to the
origin of one host server (allowed); a second host server on another port is not in the
list, and the browser must refuse to frame the widget there. The host pages load the
one-line loader (``widget.js``) and record the widget's messages.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from api.main import create_app
from api.settings import Settings
from geo.crs import from_wgs84, haversine_m
from tests.web.conftest import _free_port
from tests.web.pages import (
    OSM_ATTRIBUTION,
    axe_violations,
    console_problems,
    screenshot,
    wait,
    wrong_language,
)

pytestmark = pytest.mark.browser

#: A point inside the walking network beside People's Square (WGS84).
POINT = (121.4705745, 31.2346189)


@dataclass(frozen=True)
class EmbedSetup:
    """The application and the two host servers."""

    app_url: str  # ends with "/"
    allowed_host: str  # origin, no slash
    refused_host: str


def _host_page(app_url: str, query: str) -> bytes:
    """A host page: the loader with data-* from the query, and a record of the messages."""
    data = dict(urllib.parse.parse_qsl(query))
    attrs = " ".join(f'data-{k}="{v}"' for k, v in data.items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>host</title>
<script>
window.__events = [];
for (const type of ["ready", "select", "resize", "results", "error"]) {{
  document.addEventListener("servicemap:" + type, (e) => window.__events.push(e.detail));
}}
</script></head><body><h1>A union district's page</h1>
<div id="slot" style="width: {data.get("width", "900px")}"></div>
<script src="{app_url}widget.js" data-target="slot" {attrs} async></script>
</body></html>""".encode()


class _HostHandler(http.server.BaseHTTPRequestHandler):
    app_url = ""

    def do_GET(self) -> None:
        query = urllib.parse.urlsplit(self.path).query
        body = _host_page(self.app_url, query)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve_hosts(app_url: str, ports: list[int]) -> list[http.server.ThreadingHTTPServer]:
    handler = type("Handler", (_HostHandler,), {"app_url": app_url})
    servers = []
    for port in ports:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers


@pytest.fixture(scope="module")
def embed_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbedSetup]:
    allowed_port, refused_port, app_port = _free_port(), _free_port(), _free_port()
    allowed = f"http://127.0.0.1:{allowed_port}"
    state = tmp_path_factory.mktemp("embed-state")
    settings = Settings(state_dir=state, database_url=f"sqlite:///{state / 'registry.db'}",
                        embed_origins=allowed, warm_up=False)  # fmt: skip
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=app_port,
                            log_level="warning", lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="embed-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"the embed test server did not start on 127.0.0.1:{app_port}")
        time.sleep(0.05)
    app_url = f"http://127.0.0.1:{app_port}/"
    hosts = _serve_hosts(app_url, [allowed_port, refused_port])
    try:
        yield EmbedSetup(app_url, allowed, f"http://127.0.0.1:{refused_port}")
    finally:
        for host in hosts:
            host.shutdown()
        server.should_exit = True
        thread.join(timeout=10)


def _events(driver: WebDriver, type_: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = driver.execute_script("return window.__events || []")
    return [e for e in events if e.get("type") == f"servicemap:{type_}"]


def _open_host(driver: WebDriver, host: str, **data: str) -> None:
    driver.switch_to.default_content()
    driver.get_log("browser")
    driver.get(f"{host}/?{urllib.parse.urlencode({'basemap': 'offline', **data})}")


def _in_frame(driver: WebDriver) -> None:
    driver.switch_to.default_content()
    driver.switch_to.frame(driver.find_element(By.CSS_SELECTOR, "iframe.servicemap-widget"))


#: True once no zoom or cluster animation runs and no marker is fading in (axe reads the
#: colours of a half-faded cluster number as a contrast failure).
SETTLED_JS = """
if (document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim')) return false;
return [...document.querySelectorAll('.leaflet-marker-icon')]
  .every((el) => ['0', '1'].includes(getComputedStyle(el).opacity));
"""


def _result_buttons(driver: WebDriver) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, "#nearest-list > li.result .result-head")


def test_host_gets_ready_select_and_moves_the_map(
    desktop_browser: WebDriver, embed_setup: EmbedSetup, artifacts_dir: Path
) -> None:
    driver = desktop_browser
    _open_host(driver, embed_setup.allowed_host, layer="relay_station,health_point", list="1",
               controls="zoom,locate,layers,profile")  # fmt: skip
    wait(driver).until(lambda d: _events(d, "ready"))
    ready = _events(driver, "ready")[0]
    assert ready["layers"] == ["relay_station", "health_point"]
    # the loader follows the content's height
    wait(driver).until(lambda d: _events(d, "resize"))
    reported = _events(driver, "resize")[-1]["height"]
    frame_height = driver.execute_script(
        "return document.querySelector('iframe.servicemap-widget').getBoundingClientRect().height")
    assert abs(frame_height - reported) <= 1

    # host -> widget: a search from a point; the widget answers with the results' ids
    driver.execute_script("window.servicemapWidgets[0].nearest(arguments[0], arguments[1])", *POINT)
    wait(driver).until(lambda d: _events(d, "results"))
    ids = _events(driver, "results")[-1]["ids"]
    assert len(ids) == 5
    assert all(i.startswith("relay_station:") for i in ids)

    # a click on a facility of the list arrives at the host as select, with its id
    _in_frame(driver)
    wait(driver).until(lambda d: len(_result_buttons(d)) == 5)
    # 900 px wide: the list beside the map, the map as high as asked (400 px by default)
    box = driver.execute_script(
        "const m = document.getElementById('map').getBoundingClientRect(),"
        " p = document.getElementById('embed-panel').getBoundingClientRect(),"
        " e = document.documentElement;"
        "return {mapW: m.width, mapH: m.height, mapRight: m.right, panelLeft: p.left,"
        " overflow: e.scrollWidth - e.clientWidth, panelOverflow:"
        " document.getElementById('embed-panel').scrollWidth - p.width}")
    assert box["mapW"] > 500, box
    assert box["mapH"] == 400, box
    assert box["panelLeft"] >= box["mapRight"] - 1, box
    assert box["overflow"] <= 0, box
    assert box["panelOverflow"] <= 1, box
    _result_buttons(driver)[1].click()
    driver.switch_to.default_content()
    wait(driver).until(lambda d: _events(d, "select"))
    assert _events(driver, "select")[-1]["id"] == ids[1]

    # keyboard: the list entries are focusable buttons and Enter selects
    _in_frame(driver)
    first = _result_buttons(driver)[0]
    driver.execute_script("arguments[0].focus()", first)
    assert driver.switch_to.active_element == first
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    driver.switch_to.default_content()
    wait(driver).until(lambda d: len(_events(d, "select")) >= 2)
    assert _events(driver, "select")[-1]["id"] == ids[0]

    # host -> widget: flyTo moves the map
    driver.execute_script("window.servicemapWidgets[0].flyTo(121.5000, 31.2400, 16)")
    _in_frame(driver)
    wait(driver).until(lambda d: d.execute_script(
        "const m = window.servicemapEmbed.map, c = m.getCenter();"
        "return m.getZoom() === 16 && Math.abs(c.lng - 121.5) < 1e-3 && Math.abs(c.lat - 31.24) < 1e-3"))
    # ... and with crs: an Amap (GCJ-02) point lands on its WGS84 position, some 480 m away
    driver.switch_to.default_content()
    gcj = from_wgs84(*POINT, "gcj02")
    assert haversine_m(*gcj, *POINT) > 300  # the conversion is not a no-op
    driver.execute_script("window.servicemapWidgets[0].flyTo(arguments[0], arguments[1], 17,"
                          " 'gcj02')", *gcj)  # fmt: skip
    _in_frame(driver)
    wait(driver).until(lambda d: d.execute_script("return window.servicemapEmbed.map.getZoom() === 17"))
    wait(driver).until(lambda d: d.execute_script(
        "const c = window.servicemapEmbed.map.getCenter();"
        "return Math.abs(c.lng - arguments[0]) < 1e-5 && Math.abs(c.lat - arguments[1]) < 1e-5",
        *POINT))  # fmt: skip
    # a Baidu (BD-09) point for a search: the widget searches from its WGS84 position
    driver.switch_to.default_content()
    searches = len(_events(driver, "results"))
    driver.execute_script("window.servicemapWidgets[0].nearest(arguments[0], arguments[1], 'bd09')",
                          *from_wgs84(*POINT, "bd09"))  # fmt: skip
    wait(driver).until(lambda d: len(_events(d, "results")) > searches)
    assert _events(driver, "results")[-1]["ids"] == ids
    _in_frame(driver)
    searched = driver.execute_script("return window.servicemapEmbed.nearest.location")
    assert haversine_m(searched["lon"], searched["lat"], *POINT) < 0.5
    driver.switch_to.default_content()
    driver.execute_script("window.servicemapWidgets[0].flyTo(121.5, 31.24, 16, 'mercator')")
    wait(driver).until(lambda d: any("crs must be one of" in e["message"]
                                     for e in _events(d, "error")))  # fmt: skip
    # a bad command is answered with an error message, not obeyed
    driver.execute_script("window.servicemapWidgets[0].setLayer('no_such_layer')")
    wait(driver).until(lambda d: any("no_such_layer" in e["message"] for e in _events(d, "error")))
    driver.execute_script("window.servicemapWidgets[0].setLayer('health_point')")
    _in_frame(driver)
    wait(driver).until(lambda d: d.execute_script(
        "return window.servicemapEmbed.nearest.layerId === 'health_point'"))
    driver.switch_to.default_content()
    screenshot(driver, artifacts_dir, "embed-host-desktop")
    assert console_problems(driver) == []


def test_a_host_not_in_embed_origins_is_refused(
    desktop_browser: WebDriver, embed_setup: EmbedSetup
) -> None:
    driver = desktop_browser
    _open_host(driver, embed_setup.refused_host, layer="relay_station")
    app = embed_setup.app_url.rstrip("/")
    wait(driver).until(lambda d: any(
        "frame-ancestors" in e["message"] and app in e["message"] for e in d.get_log("browser")))
    time.sleep(0.5)  # a widget that did load would have said ready by now
    assert _events(driver, "ready") == []
    _in_frame(driver)
    assert driver.execute_script("return Boolean(window.servicemapEmbed)") is False
    assert not driver.find_elements(By.ID, "map")


def test_widget_at_280_px_wide_and_full_map_link(
    desktop_browser: WebDriver, embed_setup: EmbedSetup, artifacts_dir: Path
) -> None:
    driver = desktop_browser
    _open_host(driver, embed_setup.allowed_host, width="280px", list="1", lang="zh",
               height="320", lon="121.47", lat="31.23", zoom="15")  # fmt: skip
    wait(driver).until(lambda d: _events(d, "ready"))
    driver.execute_script("window.servicemapWidgets[0].nearest(arguments[0], arguments[1])", *POINT)
    wait(driver).until(lambda d: _events(d, "results"))
    _in_frame(driver)
    wait(driver).until(lambda d: len(_result_buttons(d)) == 5)
    assert driver.execute_script("return window.innerWidth") == 280
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the frame"
    attribution = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution")
    assert attribution.is_displayed()
    assert OSM_ATTRIBUTION in attribution.text
    link = driver.find_element(By.ID, "embed-fullmap")
    assert link.is_displayed()
    assert link.text == "打开完整地图"
    assert link.get_attribute("target") == "_blank"
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link.get_attribute("href")).query))
    assert query["layer"] == "relay_station"
    assert query["lang"] == "zh"
    assert query["profile"] == "walk"
    assert "from" in query
    driver.switch_to.default_content()
    driver.execute_script("document.querySelector('iframe.servicemap-widget').scrollIntoView()")
    screenshot(driver, artifacts_dir, "embed-280px")

    # the full map opens on the same view, layer and search point
    driver.get(link_href := link_href_of(query, embed_setup.app_url))
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready || null"))
    state = driver.execute_script(
        "const s = window.servicemap, c = s.map.getCenter();"
        "return {zoom: s.map.getZoom(), lon: c.lng, lat: c.lat, layer: s.getNearestLayer(),"
        " from: s.getLocation()}")
    assert state["layer"] == "relay_station", link_href
    assert state["from"] is not None
    assert abs(state["from"]["lon"] - POINT[0]) < 1e-5


def link_href_of(query: dict[str, str], app_url: str) -> str:
    """The full map's URL with the link's query (and the offline basemap of the tests)."""
    return f"{app_url}?{urllib.parse.urlencode({**query, 'basemap': 'offline'})}"


def test_embed_lang_en_bad_parameters_and_axe(
    desktop_browser: WebDriver, embed_setup: EmbedSetup
) -> None:
    driver = desktop_browser
    driver.switch_to.default_content()
    driver.get_log("browser")
    driver.get(f"{embed_setup.app_url}embed?lang=en&list=1&basemap=offline&controls=zoom,locate,lang")
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready || null"))
    assert driver.execute_script("return document.documentElement.lang") == "en"
    assert driver.find_element(By.ID, "embed-panel-title").text == "Nearest to me"
    assert driver.find_element(By.ID, "embed-fullmap").text == "Open the full map"
    assert "Tap anywhere on the map" in driver.find_element(By.ID, "nearest-status").text
    status = driver.find_element(By.ID, "nearest-status")
    assert status.get_attribute("aria-live") == "polite"
    assert status.get_attribute("role") == "status"
    driver.execute_script("return window.servicemapEmbed.setLocation(arguments[0], arguments[1])", *POINT)
    wait(driver).until(lambda d: len(_result_buttons(d)) == 5)
    wait(driver).until(lambda d: d.execute_script(SETTLED_JS))
    violations = axe_violations(driver)
    assert violations == [], violations
    assert wrong_language(driver) == []
    assert console_problems(driver) == []

    # bad parameters: a clear message on the page, no map, no broken script
    driver.get(f"{embed_setup.app_url}embed?layer=relay_station,nope&zoom=99&lang=en")
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready || null"))
    errors = driver.find_element(By.ID, "embed-errors")
    assert errors.is_displayed()
    assert "unknown layer: nope" in errors.text
    assert "zoom must be a whole number from 8 to 19" in errors.text
    assert not driver.find_element(By.ID, "map").is_displayed()
    assert driver.find_element(By.ID, "embed-fullmap").is_displayed()
    problems = [e for e in console_problems(driver) if "400 (Bad Request)" not in e["message"]]
    assert problems == []
    config = json.loads(driver.execute_script(
        "return document.querySelector('meta[name=servicemap-embed]').content"))
    assert [p["param"] for p in config["problems"]] == ["layer", "zoom"]


def test_widget_locates_the_visitor_through_allow_geolocation(
    desktop_browser: WebDriver, embed_setup: EmbedSetup
) -> None:
    driver = desktop_browser
    driver.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": embed_setup.allowed_host, "permissions": ["geolocation"]})
    driver.execute_cdp_cmd("Emulation.setGeolocationOverride", {
        "longitude": POINT[0], "latitude": POINT[1], "accuracy": 10})
    try:
        _open_host(driver, embed_setup.allowed_host, locate="1", list="1")
        wait(driver).until(lambda d: _events(d, "results"))
        assert len(_events(driver, "results")[-1]["ids"]) == 5
        _in_frame(driver)
        location = driver.execute_script("return window.servicemapEmbed.nearest.location")
        assert location["source"] == "gps"
        assert abs(location["lon"] - POINT[0]) < 1e-6
    finally:
        driver.switch_to.default_content()
        driver.execute_cdp_cmd("Emulation.clearGeolocationOverride", {})
        driver.execute_cdp_cmd("Browser.resetPermissions", {})


def test_snippet_builder_and_example_page(desktop_browser: WebDriver, embed_setup: EmbedSetup) -> None:
    driver = desktop_browser
    driver.switch_to.default_content()
    driver.get_log("browser")
    driver.get(f"{embed_setup.app_url}embed-builder.html?lang=en")
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready || null") == "true")
    script = driver.find_element(By.ID, "out-script").get_attribute("value")
    assert script.startswith(f'<script src="{embed_setup.app_url}widget.js" data-layer="relay_station"')
    assert 'data-lang="en"' in script
    assert 'data-list="1"' in script
    driver.find_element(By.ID, "layer-health_point").click()
    driver.find_element(By.ID, "chk-list").click()
    iframe_code = driver.find_element(By.ID, "out-iframe").get_attribute("value")
    assert "embed?layer=relay_station%2Chealth_point" in iframe_code
    assert "list=1" not in iframe_code
    # moving the preview picks the centre and the zoom
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.preview") == "ready")
    driver.switch_to.frame(driver.find_element(By.ID, "preview"))
    driver.execute_script("window.servicemapEmbed.map.setView([31.2400, 121.5000], 14)")
    driver.switch_to.default_content()
    wait(driver).until(lambda d: d.find_element(By.ID, "in-lon").get_attribute("value") == "121.50000")
    assert driver.find_element(By.ID, "in-zoom").get_attribute("value") == "14"
    assert "lon=121.50000" in driver.find_element(By.ID, "out-iframe").get_attribute("value")
    violations = axe_violations(driver)
    assert violations == [], violations
    assert console_problems(driver) == []

    # the example host page: the widget says ready, the buttons move it
    driver.get(f"{embed_setup.app_url}embed-example.html")
    wait(driver).until(lambda d: "servicemap:ready" in d.find_element(By.ID, "log").text)
    driver.find_element(By.ID, "fly").click()
    _in_frame(driver)
    wait(driver).until(lambda d: d.execute_script("return window.servicemapEmbed.map.getZoom() === 16"))
    driver.switch_to.default_content()
