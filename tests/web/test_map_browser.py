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
OSM_ATTRIBUTION = "OpenStreetMap contributors (ODbL)"

# A point of the map (in CSS pixels from the map's centre) where a tap reaches the map
# itself rather than a marker, control or notice; searched outward from the centre. The
# point keeps a finger's width (TOUCH_CLEARANCE px) from anything blocked: Chromium's touch
# adjustment moves a tap onto a clickable element that near.
FIND_EMPTY_POINT_JS = """
const map = document.getElementById("map");
const box = map.getBoundingClientRect();
const cx = box.left + box.width / 2, cy = box.top + box.height / 2;
const blocked = ".leaflet-marker-icon, .leaflet-control, .map-notices, .leaflet-popup, .sheet, "
  + ".leaflet-tooltip";
const TOUCH_CLEARANCE = 14;
const free = (x, y) => {
  const el = document.elementFromPoint(x, y);
  return el && map.contains(el) && !el.closest(blocked);
};
const clear = (x, y) => {
  if (!free(x, y)) return false;
  for (let a = 0; a < 360; a += 45) {
    const t = a * Math.PI / 180;
    if (!free(x + TOUCH_CLEARANCE * Math.cos(t), y + TOUCH_CLEARANCE * Math.sin(t))) return false;
  }
  return true;
};
for (let r = 0; r < Math.min(box.width, box.height) / 2 - 20; r += 6) {
  for (let a = 0; a < 360; a += 15) {
    const x = cx + r * Math.cos(a * Math.PI / 180), y = cy + r * Math.sin(a * Math.PI / 180);
    if (clear(x, y)) return [x - cx, y - cy];
    if (r === 0) break;
  }
}
return null;
"""


# Records the page's /nearest requests and answers driving ones with the walking answer
# relabelled as driving (see test_walk_routes_drive_switch_and_isochrones).
STUB_DRIVE_JS = """
const realFetch = window.fetch;
window.__nearestRequests = [];
window.fetch = async (resource, options) => {
  const url = String(resource);
  if (!url.includes("/api/v1/nearest")) return realFetch(resource, options);
  window.__nearestRequests.push(url);
  if (!url.includes("profile=drive")) return realFetch(resource, options);
  const walk = await realFetch(url.replace("profile=drive", "profile=walk"), options);
  const body = await walk.json();
  body.query.profile = "drive";
  body.query.network = "citywide_drive";
  for (const result of body.results) result.duration_s = result.distance_m / 8;
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: {"Content-Type": "application/json"},
  });
};
"""


def _wait(driver: WebDriver) -> WebDriverWait:
    """A wait that polls every 0.1 s (the default 0.5 s adds up over the module)."""
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.1)


def _text(element: Any) -> str:
    """An element's text whether or not it is scrolled into view."""
    return str(element.get_attribute("textContent"))


def _open_map(driver: WebDriver, server: LiveServer, query: str = "?basemap=offline") -> None:
    """Load the page (console log emptied first) and wait until it is ready."""
    _flush_console(driver)
    driver.get(server.url + query)
    _wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready || null"))
    state = driver.execute_script("return document.body.dataset.ready")
    assert state == "true", f"the map did not start (state {state!r})"


def _console_problems(driver: WebDriver) -> list[dict[str, Any]]:
    """Browser log entries at SEVERE or WARNING level since the last read."""
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def _flush_console(driver: WebDriver) -> None:
    driver.get_log("browser")


def _nearest_items(driver: WebDriver) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, "#nearest-list > li.result")


def _nearest_query(driver: WebDriver) -> dict[str, Any]:
    """The page's last /nearest request parameters, the server's echo and the status."""
    query: dict[str, Any] = driver.execute_script("return window.servicemap.getNearestQuery()")
    return query


def _wait_for_profile(driver: WebDriver, profile: str, n_items: int = 5) -> None:
    """Wait until the list shows the answer of a search with this travel profile."""
    _wait(driver).until(
        lambda d: (
            (_nearest_query(d)["query"] or {}).get("profile") == profile
            and len(_nearest_items(d)) == n_items
            and d.find_element(By.ID, "nearest-list").get_attribute("aria-busy") == "false"
        )
    )


def _tap_map(driver: WebDriver) -> None:
    """Tap an empty spot of the map near its centre."""
    offset = driver.execute_script(FIND_EMPTY_POINT_JS)
    assert offset is not None, "no empty spot to tap on the map"
    ActionChains(driver).move_to_element_with_offset(
        driver.find_element(By.ID, "map"), round(offset[0]), round(offset[1])
    ).click().perform()


def _api_nearest(
    server: LiveServer, lon: float, lat: float, layer: str, profile: str = "walk"
) -> dict[str, Any]:
    query = urllib.parse.urlencode(
        {"lon": lon, "lat": lat, "layer": layer, "k": 5, "profile": profile}
    )
    with urllib.request.urlopen(f"{server.url}api/v1/nearest?{query}", timeout=10) as answer:
        return json.load(answer)


def _wait_for_popup(driver: WebDriver) -> Any:
    """The open popup's content, once its fade-in animation has finished."""
    _wait(driver).until(
        lambda d: d.execute_script(
            "const p = document.querySelector('.leaflet-popup');"
            "return p !== null && getComputedStyle(p).opacity === '1';"
        )
    )
    return driver.find_element(By.CSS_SELECTOR, ".leaflet-popup-content")


def _screenshot(driver: WebDriver, artifacts_dir: Path, name: str) -> None:
    """Save a screenshot once no zoom animation is running."""
    _wait(driver).until(
        lambda d: d.execute_script("return !document.querySelector('.leaflet-zoom-anim')")
    )
    path = artifacts_dir / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"


def test_map_loads_without_console_errors(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
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
    # The walking network's coverage outline can be shown from the panel.
    coverage = driver.find_element(
        By.CSS_SELECTOR, "#layers-overlays input[data-layer='walk-coverage']"
    )
    assert not coverage.is_selected()
    driver.find_element(By.CSS_SELECTOR, "label[for='layer-toggle-walk-coverage']").click()
    _wait(driver).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-coverage-pane path.coverage-outline")
    )
    _screenshot(driver, artifacts_dir, "map-phone-layers")
    driver.find_element(By.CSS_SELECTOR, "label[for='layer-toggle-walk-coverage']").click()
    _wait(driver).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, ".leaflet-coverage-pane path")
    )
    driver.find_element(By.ID, "btn-layers-close").click()
    planner = driver.find_element(By.ID, "link-planner")
    assert planner.get_attribute("href").endswith("/planner.html")
    assert "规划视图" in planner.text
    _screenshot(driver, artifacts_dir, "map-phone-start")
    assert _console_problems(driver) == []


def test_unreachable_tiles_fall_back_to_offline_basemap(
    phone_browser: WebDriver, live_server: LiveServer
) -> None:
    _open_map(phone_browser, live_server, query="")
    driver = phone_browser
    assert driver.execute_script("return window.servicemap.getBasemap()") == "offline"
    # no raster tile was shown (the offline basemap's tiles are canvases)
    assert not driver.find_elements(By.CSS_SELECTOR, "img.leaflet-tile")
    driver.find_element(By.ID, "btn-layers").click()
    assert driver.find_element(By.ID, "basemap-offline").is_selected()
    assert driver.find_element(By.ID, "basemap-osm").is_enabled()
    driver.find_element(By.ID, "btn-layers-close").click()
    # The probe runs in a worker: its expected failure leaves the page's console clean.
    assert _console_problems(driver) == []


def test_tile_probe_tells_a_reachable_tile_server_from_an_unreachable_one(
    phone_browser: WebDriver, live_server: LiveServer
) -> None:
    _open_map(phone_browser, live_server)
    _flush_console(phone_browser)
    probe = """
        const [template, done] = [arguments[0], arguments[arguments.length - 1]];
        import("./js/basemap.js").then((m) => m.probeTiles(template, 3000)).then(done);
    """
    reachable = f"{live_server.url}/healthz?z={{z}}&x={{x}}&y={{y}}"  # loopback answers
    refused = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # discard port: connection refused
    assert phone_browser.execute_async_script(probe, reachable) is True
    assert phone_browser.execute_async_script(probe, refused) is False
    assert _console_problems(phone_browser) == []


def test_tap_sets_location_and_lists_five_nearest(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    _open_map(phone_browser, live_server)
    driver = phone_browser
    assert _nearest_items(driver) == []
    _tap_map(driver)
    _wait(driver).until(lambda d: len(_nearest_items(d)) == 5)
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
    _open_map(phone_browser, live_server)
    driver = phone_browser
    driver.execute_script("window.servicemap.setLocation(121.4705745, 31.2346189)")
    _wait(driver).until(lambda d: len(_nearest_items(d)) == 5)

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
    _wait(driver).until(lambda d: visible()["title"] == "Worker Service Map")
    en = visible()
    assert en["sheet"] == "Nearest to me"
    assert en["lang"] == "中文"
    assert en["html"] == "en"
    assert "Hours" in en["first"]
    assert re.search(r"\d+(\.\d+)? (m|km)\b", en["first"]), en["first"]
    assert "开放时间" not in en["first"]
    _screenshot(driver, artifacts_dir, "map-phone-english")
    driver.find_element(By.ID, "btn-lang").click()
    _wait(driver).until(lambda d: visible()["title"] == "职工服务地图")
    assert visible()["sheet"] == "离我最近"
    assert _console_problems(driver) == []


def test_facility_text_is_escaped(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    _open_map(phone_browser, live_server)
    driver = phone_browser
    driver.execute_script(
        "return window.servicemap.setLocation(arguments[0], arguments[1])", XSS_LON, XSS_LAT
    )
    _wait(driver).until(lambda d: len(_nearest_items(d)) == 5)
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
    _open_map(desktop_browser, live_server)
    driver = desktop_browser
    driver.execute_script("window.servicemap.setLocation(121.4705745, 31.2346189)")
    _wait(driver).until(lambda d: len(_nearest_items(d)) == 5)
    sheet = driver.find_element(By.ID, "sheet").rect
    map_rect = driver.find_element(By.ID, "map").rect
    assert sheet["x"] + sheet["width"] <= map_rect["x"] + 1
    assert map_rect["width"] > sheet["width"]
    # The list scrolls inside the side panel; neither it nor the map grows past the window.
    height = driver.execute_script("return window.innerHeight")
    assert map_rect["y"] + map_rect["height"] <= height + 1
    assert sheet["y"] + sheet["height"] <= height + 1
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


def test_walk_routes_drive_switch_and_isochrones(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    _open_map(phone_browser, live_server)
    driver = phone_browser
    # A tap in the central area (People's Square), inside the walking network's coverage.
    driver.execute_script(
        "window.servicemap.map.setView([31.2304, 121.4737], 16, {animate: false})"
    )
    _tap_map(driver)
    _wait_for_profile(driver, "walk")
    asked = _nearest_query(driver)
    assert asked["params"]["profile"] == "walk"
    assert asked["query"]["in_coverage"] is True
    location = driver.execute_script("return window.servicemap.getLocation()")
    expected = _api_nearest(live_server, location["lon"], location["lat"], "relay_station")
    items = _nearest_items(driver)
    assert [i.get_attribute("data-facility-id") for i in items] == [
        r["facility"]["id"] for r in expected["results"]
    ]
    assert expected["results"][0]["method"] == "network"
    first = items[0]
    assert (
        first.find_element(By.CSS_SELECTOR, ".result-distance").get_attribute("data-method")
        == "network"
    )
    minutes = max(1, round(expected["results"][0]["duration_s"] / 60))
    assert f"步行约 {minutes} 分钟" in first.text, first.text
    assert re.search(r"\d+ 米", first.text), first.text
    # The route of the first (chosen) result is drawn along the streets.
    assert "is-selected" in first.get_attribute("class")
    network_paths = driver.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path.route-network")
    assert len(network_paths) == 1
    first_route = network_paths[0].get_attribute("d")
    assert first_route.count("L") >= 1
    assert "沿道路的路线" in driver.find_element(By.CSS_SELECTOR, ".map-legend").text
    _screenshot(driver, artifacts_dir, "map-phone-walk-route")
    # Choosing another result in the list draws its route instead.
    items[2].find_element(By.CSS_SELECTOR, ".result-head").click()
    _wait(driver).until(lambda d: "is-selected" in _nearest_items(d)[2].get_attribute("class"))
    paths = driver.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path.route-network")
    assert len(paths) == 1
    assert paths[0].get_attribute("d") != first_route
    _wait_for_popup(driver)
    driver.execute_script("window.servicemap.map.closePopup()")

    # Driving: the switch re-runs the search with profile=drive. The page's requests are
    # recorded; the driving answer itself is stood in for by the walking one relabelled
    # (the first driving query prepares the citywide network, tens of seconds of server
    # time that belong to the API tests, not to this page test).
    driver.execute_script(STUB_DRIVE_JS)
    driver.find_element(By.CSS_SELECTOR, "label[for='travel-drive']").click()
    _wait_for_profile(driver, "drive")
    assert _nearest_query(driver)["params"]["profile"] == "drive"
    requested = driver.execute_script("return window.__nearestRequests")
    assert len(requested) == 1
    assert "profile=drive" in requested[0]
    assert driver.find_element(By.ID, "travel-drive").is_selected()
    first = _nearest_items(driver)[0]
    assert re.search(r"驾车约 \d+ 分钟", first.text), first.text
    amap = first.find_element(By.CSS_SELECTOR, "a.nav-link[href*='amap.com']")
    assert "mode=car" in amap.get_attribute("href")
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path.route-network")
    _screenshot(driver, artifacts_dir, "map-phone-drive")

    # Back to walking, then the 5/10/15-minute walking areas.
    driver.find_element(By.CSS_SELECTOR, "label[for='travel-walk']").click()
    _wait_for_profile(driver, "walk")
    toggle = driver.find_element(By.ID, "btn-isochrones")
    assert toggle.text == "5/10/15 分钟步行圈"
    toggle.click()
    _wait(driver).until(
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, ".leaflet-isochrone-pane path.isochrone")) == 3
        )
    )
    assert toggle.get_attribute("aria-pressed") == "true"
    legend = driver.find_element(By.CSS_SELECTOR, ".map-legend").text
    for text in ("步行可达范围", "5 分钟", "10 分钟", "15 分钟"):
        assert text in legend, legend
    _screenshot(driver, artifacts_dir, "map-phone-isochrones")
    toggle.click()
    _wait(driver).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, ".leaflet-isochrone-pane path")
    )
    assert _console_problems(driver) == []


def test_estimates_outside_coverage_and_unreachable_across_river(
    desktop_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    _open_map(desktop_browser, live_server)
    driver = desktop_browser
    # Songjiang: outside the walking network, every answer is an estimate and says so.
    driver.execute_script("return window.servicemap.setLocation(121.2278, 31.0322)")
    _wait_for_profile(driver, "walk")
    assert _nearest_query(driver)["query"]["in_coverage"] is False
    for item in _nearest_items(driver):
        block = item.find_element(By.CSS_SELECTOR, ".result-distance")
        assert block.get_attribute("data-method") == "estimated"
        assert "约" in block.get_attribute("textContent")
        badge = block.find_element(By.CSS_SELECTOR, ".badge-estimate")
        assert badge.get_attribute("textContent") == "估算"
        assert "font-style: italic" in driver.execute_script(
            "const s = getComputedStyle(arguments[0]); return 'font-style: ' + s.fontStyle",
            block.find_element(By.CSS_SELECTOR, ".result-km"),
        )
    notes = _text(driver.find_element(By.ID, "nearest-notes"))
    assert "估算：直线距离×绕行系数" in notes, notes
    assert "不在步行路网覆盖范围" in notes, notes
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path.route-estimated")
    assert not driver.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path.route-network")
    legend = driver.find_element(By.CSS_SELECTOR, ".map-legend").text
    assert "估算：直线距离×绕行系数" in legend, legend
    # Walking areas cannot be drawn here: a message, and the coverage outline on request.
    driver.execute_script("return window.servicemap.setIsochrones(true)")
    status = driver.find_element(By.ID, "isochrone-status")
    assert "不在步行路网覆盖范围" in status.text, status.text
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-isochrone-pane path") == []
    driver.find_element(By.ID, "btn-show-coverage").click()
    _wait(driver).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-coverage-pane path.coverage-outline")
    )
    _screenshot(driver, artifacts_dir, "map-desktop-estimates")
    driver.execute_script(
        "window.servicemap.showCoverage(false); return window.servicemap.setIsochrones(false)"
    )

    # Lujiazui on foot: the Puxi training site across the river is unreachable, and listed
    # as such (with its straight-line distance), never as a route distance.
    driver.execute_script("return window.servicemap.setNearestLayer('training_site')")
    driver.execute_script("return window.servicemap.setLocation(121.502, 31.2395)")
    _wait(driver).until(
        lambda d: (
            (_nearest_query(d)["query"] or {}).get("layer") == "training_site"
            and d.find_element(By.ID, "unreachable").is_displayed()
        )
    )
    unreachable = _nearest_query(driver)["unreachable"]
    assert unreachable, "the API reported nothing unreachable"
    across = unreachable[0]["facility"]
    section = driver.find_element(By.ID, "unreachable")
    assert "步行无法到达" in _text(section.find_element(By.CSS_SELECTOR, ".unreachable-title"))
    entry = section.find_element(
        By.CSS_SELECTOR, f".unreachable-item[data-facility-id='{across['id']}']"
    )
    entry_text = _text(entry)
    assert across["name"] in entry_text
    assert "步行无法到达（河对岸无桥梁/轮渡数据）" in entry_text
    assert "直线距离" in entry_text
    listed = [i.get_attribute("data-facility-id") for i in _nearest_items(driver)]
    assert across["id"] not in listed
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", section)
    _screenshot(driver, artifacts_dir, "map-desktop-unreachable")
    assert _console_problems(driver) == []
