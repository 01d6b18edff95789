"""The worker web map in headless Chromium against the real application on loopback.

Screenshots of every scenario are written to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.conftest import XSS_ADDRESS, XSS_LAT, XSS_LON, XSS_NAME, LiveServer

pytestmark = pytest.mark.browser

WAIT_S = 20
TILE_HOST = "tile.openstreetmap.org"
OSM_ATTRIBUTION = "OpenStreetMap contributors (ODbL)"

# A point of the map (in CSS pixels from the map's top-left corner) where a tap reaches
# the map itself rather than a marker, control or notice; searched outward from the centre.
FIND_EMPTY_POINT_JS = """
const map = document.getElementById("map");
const box = map.getBoundingClientRect();
const cx = box.left + box.width / 2, cy = box.top + box.height / 2;
const blocked = ".leaflet-marker-icon, .leaflet-control, .map-notices, .leaflet-popup, .sheet";
for (let r = 0; r < Math.min(box.width, box.height) / 2 - 20; r += 12) {
  for (let a = 0; a < 360; a += 30) {
    const x = cx + r * Math.cos(a * Math.PI / 180), y = cy + r * Math.sin(a * Math.PI / 180);
    const el = document.elementFromPoint(x, y);
    if (el && map.contains(el) && !el.closest(blocked)) return [x - cx, y - cy];
    if (r === 0) break;
  }
}
return null;
"""


def _open_map(driver: WebDriver, server: LiveServer, query: str = "?basemap=offline") -> None:
    """Load the page and wait until layers, overlays and the basemap are ready."""
    driver.get(server.url + query)
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.execute_script("return document.body.dataset.ready || null")
    )
    state = driver.execute_script("return document.body.dataset.ready")
    assert state == "true", f"the map did not start (state {state!r})"


def _console_problems(driver: WebDriver) -> list[dict[str, Any]]:
    """Browser log entries at SEVERE or WARNING level since the last read."""
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def _flush_console(driver: WebDriver) -> None:
    driver.get_log("browser")


def _nearest_items(driver: WebDriver) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, "#nearest-list > li.result")


def _api_nearest(server: LiveServer, lon: float, lat: float, layer: str) -> dict[str, Any]:
    query = urllib.parse.urlencode({"lon": lon, "lat": lat, "layer": layer, "k": 5})
    with urllib.request.urlopen(f"{server.url}api/v1/nearest?{query}", timeout=10) as answer:
        return json.load(answer)


def _wait_for_popup(driver: WebDriver) -> Any:
    """The open popup's content, once its fade-in animation has finished."""
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.execute_script(
            "const p = document.querySelector('.leaflet-popup');"
            "return p !== null && getComputedStyle(p).opacity === '1';"
        )
    )
    return driver.find_element(By.CSS_SELECTOR, ".leaflet-popup-content")


def _screenshot(driver: WebDriver, artifacts_dir: Path, name: str) -> None:
    """Save a screenshot once no zoom animation is running."""
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.execute_script("return !document.querySelector('.leaflet-zoom-anim')")
    )
    path = artifacts_dir / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"


def test_map_loads_without_console_errors(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    _flush_console(phone_browser)
    _open_map(phone_browser, live_server)
    driver = phone_browser
    assert driver.find_elements(By.CSS_SELECTOR, "#map.leaflet-container")
    assert driver.execute_script("return window.servicemap.getBasemap()") == "offline"
    # Offline basemap drawn (canvas), metro lines and district boundaries drawn (svg paths).
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-basemap-pane canvas")
    assert len(driver.find_elements(By.CSS_SELECTOR, ".leaflet-metro-pane path")) >= 20
    assert len(driver.find_elements(By.CSS_SELECTOR, ".district-label")) == 16
    # The searched layer (relay stations) is drawn as markers, context layers are off.
    markers = driver.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .fac-marker")
    assert 10 <= len(markers) <= 1500
    assert driver.execute_script("return window.servicemap.visibleLayers()") == ["relay_station"]
    attribution = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution")
    assert attribution.is_displayed()
    assert OSM_ATTRIBUTION in attribution.text
    # Layer switcher: every layer with its count, registry layers before context layers.
    driver.find_element(By.ID, "btn-layers").click()
    registry_rows = driver.find_elements(By.CSS_SELECTOR, "#layers-registry .layer-row")
    context_rows = driver.find_elements(By.CSS_SELECTOR, "#layers-context .layer-row")
    assert len(registry_rows) == 6
    assert len(context_rows) >= 8
    relay = driver.find_element(
        By.CSS_SELECTOR, "#layers-registry input[data-layer='relay_station']"
    )
    assert relay.is_selected()
    hospital = driver.find_element(By.CSS_SELECTOR, "#layers-context input[data-layer='hospital']")
    assert not hospital.is_selected()
    assert re.search(r"\d[\d,]* 处", registry_rows[2].text), registry_rows[2].text
    _screenshot(driver, artifacts_dir, "map-phone-layers")
    driver.find_element(By.ID, "btn-layers-close").click()
    _screenshot(driver, artifacts_dir, "map-phone-start")
    assert _console_problems(driver) == []


def test_unreachable_tiles_fall_back_to_offline_basemap(
    phone_browser: WebDriver, live_server: LiveServer
) -> None:
    _flush_console(phone_browser)
    _open_map(phone_browser, live_server, query="")
    driver = phone_browser
    assert driver.execute_script("return window.servicemap.getBasemap()") == "offline"
    assert not driver.find_elements(By.CSS_SELECTOR, ".leaflet-tile")
    driver.find_element(By.ID, "btn-layers").click()
    assert driver.find_element(By.ID, "basemap-offline").is_selected()
    assert driver.find_element(By.ID, "basemap-online").is_enabled()
    driver.find_element(By.ID, "btn-layers-close").click()
    # The only console entry allowed is the browser's own note that the single probe tile
    # failed (Chromium logs every failed request, even when the page handles the failure).
    problems = _console_problems(driver)
    assert len(problems) <= 1, problems
    for entry in problems:
        assert entry["source"] == "network", entry
        assert TILE_HOST in entry["message"], entry


def test_tap_sets_location_and_lists_five_nearest(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    _flush_console(phone_browser)
    _open_map(phone_browser, live_server)
    driver = phone_browser
    assert _nearest_items(driver) == []
    offset = driver.execute_script(FIND_EMPTY_POINT_JS)
    assert offset is not None, "no empty spot to tap on the map"
    map_el = driver.find_element(By.ID, "map")
    ActionChains(driver).move_to_element_with_offset(
        map_el, round(offset[0]), round(offset[1])
    ).click().perform()
    WebDriverWait(driver, WAIT_S).until(lambda d: len(_nearest_items(d)) == 5)
    location = driver.execute_script("return window.servicemap.getLocation()")
    assert location["source"] == "tap"
    assert 120.8 < location["lon"] < 122.2
    assert 30.6 < location["lat"] < 31.9

    items = _nearest_items(driver)
    expected = _api_nearest(live_server, location["lon"], location["lat"], "relay_station")
    expected_ids = [r["facility"]["id"] for r in expected["results"]]
    assert [item.get_attribute("data-facility-id") for item in items] == expected_ids
    for item in items:
        assert re.search(r"\d+(\.\d+)? (米|公里)", item.text), item.text
        assert "开放时间" in item.text
        assert item.find_elements(By.CSS_SELECTOR, ".chip"), "services missing"
        assert item.find_elements(By.CSS_SELECTOR, ".badge-demo"), "demo badge missing"
        geo = item.find_element(By.CSS_SELECTOR, "a.nav-link[href^='geo:']")
        assert geo.get_attribute("href").startswith("geo:")
    ranked = driver.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .fac-marker-ranked")
    assert len(ranked) == 5
    _screenshot(driver, artifacts_dir, "map-phone-nearest")
    driver.execute_script("window.servicemap.setSheetState('full')")
    _screenshot(driver, artifacts_dir, "map-phone-nearest-list")
    items[0].find_element(By.CSS_SELECTOR, ".result-head").click()
    popup = _wait_for_popup(driver).find_element(By.CSS_SELECTOR, ".fac-popup")
    assert popup.get_attribute("data-facility-id") == expected_ids[0]
    _screenshot(driver, artifacts_dir, "map-phone-popup")
    assert _console_problems(driver) == []


def test_language_toggle_switches_visible_text(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    _flush_console(phone_browser)
    _open_map(phone_browser, live_server)
    driver = phone_browser
    driver.execute_script("window.servicemap.setLocation(121.4705745, 31.2346189)")
    WebDriverWait(driver, WAIT_S).until(lambda d: len(_nearest_items(d)) == 5)

    def visible() -> dict[str, str]:
        return {
            "title": driver.find_element(By.CSS_SELECTOR, ".topbar-title").text,
            "sheet": driver.find_element(By.ID, "sheet-title").text,
            "lang": driver.find_element(By.ID, "btn-lang").text,
            "html": driver.execute_script("return document.documentElement.lang"),
            "first": _nearest_items(driver)[0].text,
        }

    zh = visible()
    assert zh["title"] == "职工服务地图"
    assert zh["sheet"] == "离我最近"
    assert zh["html"] == "zh-CN"
    assert "开放时间" in zh["first"]
    driver.find_element(By.ID, "btn-lang").click()
    WebDriverWait(driver, WAIT_S).until(lambda d: visible()["title"] == "Worker Service Map")
    en = visible()
    assert en["sheet"] == "Nearest to me"
    assert en["lang"] == "中文"
    assert en["html"] == "en"
    assert "Hours" in en["first"]
    assert re.search(r"\d+(\.\d+)? (m|km)\b", en["first"]), en["first"]
    assert "开放时间" not in en["first"]
    _screenshot(driver, artifacts_dir, "map-phone-english")
    driver.find_element(By.ID, "btn-lang").click()
    WebDriverWait(driver, WAIT_S).until(lambda d: visible()["title"] == "职工服务地图")
    assert visible()["sheet"] == "离我最近"
    assert _console_problems(driver) == []


def test_facility_text_is_escaped(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    _flush_console(phone_browser)
    _open_map(phone_browser, live_server)
    driver = phone_browser
    driver.execute_script(
        "return window.servicemap.setLocation(arguments[0], arguments[1])", XSS_LON, XSS_LAT
    )
    WebDriverWait(driver, WAIT_S).until(lambda d: len(_nearest_items(d)) == 5)
    first = _nearest_items(driver)[0]
    assert first.get_attribute("data-facility-id") == live_server.xss_id
    assert first.find_element(By.CSS_SELECTOR, ".fac-name").text == XSS_NAME
    assert XSS_ADDRESS in first.text
    first.find_element(By.CSS_SELECTOR, ".result-head").click()
    popup_name = _wait_for_popup(driver).find_element(By.CSS_SELECTOR, ".fac-name")
    assert popup_name.text == XSS_NAME
    _screenshot(driver, artifacts_dir, "map-phone-escaped-name")
    assert driver.execute_script("return window.__alerts") == []
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert driver.execute_script("return document.querySelectorAll('body script').length") == 0
    assert _console_problems(driver) == []


def test_desktop_layout_and_analysis_hooks(
    desktop_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    _flush_console(desktop_browser)
    _open_map(desktop_browser, live_server)
    driver = desktop_browser
    driver.execute_script("window.servicemap.setLocation(121.4705745, 31.2346189)")
    WebDriverWait(driver, WAIT_S).until(lambda d: len(_nearest_items(d)) == 5)
    sheet = driver.find_element(By.ID, "sheet").rect
    map_rect = driver.find_element(By.ID, "map").rect
    assert sheet["x"] + sheet["width"] <= map_rect["x"] + 1
    assert map_rect["width"] > sheet["width"]
    _screenshot(driver, artifacts_dir, "map-desktop-nearest")
    assert _console_problems(driver) == []

    # The hooks the network engine uses: a route and isochrones drawn on the same page.
    route = {
        "type": "LineString",
        "coordinates": [[121.4706, 31.2346], [121.4730, 31.2330], [121.4760, 31.2335]],
    }
    rings = {
        minutes: {
            "type": "Feature",
            "properties": {"minutes": minutes},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [121.4706 - d, 31.2346 - d],
                        [121.4706 + d, 31.2346 - d],
                        [121.4706 + d, 31.2346 + d],
                        [121.4706 - d, 31.2346 + d],
                        [121.4706 - d, 31.2346 - d],
                    ]
                ],
            },
        }
        for minutes, d in ((5, 0.004), (10, 0.008), (15, 0.012))
    }
    isochrones = {"type": "FeatureCollection", "features": list(rings.values())}
    driver.execute_script("window.servicemap.showIsochrones(arguments[0])", isochrones)
    driver.execute_script("window.servicemap.drawRoute(arguments[0])", route)
    assert len(driver.find_elements(By.CSS_SELECTOR, ".leaflet-isochrone-pane path")) == 3
    assert len(driver.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path.route-line")) == 1
    driver.execute_script("window.servicemap.drawRoute(arguments[0], {method: 'estimated'})", route)
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path.route-estimated")
    _screenshot(driver, artifacts_dir, "map-desktop-hooks")
    driver.execute_script("window.servicemap.clearRoute(); window.servicemap.clearIsochrones()")
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path") == []
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-isochrone-pane path") == []
    assert _console_problems(driver) == []
