"""The worker web map in headless Chromium against the real application on loopback.

Screenshots of every scenario are written to ``test-artifacts/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.conftest import XSS_ADDRESS, XSS_LAT, XSS_LON, XSS_NAME, LiveServer
from tests.web.pages import (
    OSM_ATTRIBUTION,
    STUB_DRIVE_JS,
    api_nearest,
    console_problems,
    flush_console,
    nearest_items,
    nearest_query,
    open_map,
    screenshot,
    tap_map,
    text_of,
    wait,
    wait_for_popup,
    wait_for_profile,
)

pytestmark = pytest.mark.browser

def test_map_loads_without_console_errors(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    open_map(phone_browser, live_server)
    driver = phone_browser
    assert driver.find_elements(By.CSS_SELECTOR, "#map.leaflet-container")
    assert driver.execute_script("return window.servicemap.getBasemap()") == "offline"
    # Offline basemap drawn (canvas), metro lines and district boundaries drawn (svg paths).
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-basemap-pane canvas")
    assert len(driver.find_elements(By.CSS_SELECTOR, ".leaflet-metro-pane path")) >= 20
    assert len(driver.find_elements(By.CSS_SELECTOR, ".district-label")) == 16
    # The searched layer (relay stations) is drawn, clustered at this zoom: discs with the
    # count of the stations they hold, far fewer than the 1,328 stations; context layers off.
    clusters = driver.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .fac-cluster")
    singles = driver.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .fac-marker")
    assert 10 <= len(clusters) + len(singles) <= 400
    counts = [int(c.text) for c in clusters if c.text]
    assert counts
    assert all(n >= 2 for n in counts)
    assert driver.execute_script("return window.servicemap.visibleLayers()") == ["relay_station"]
    # Neither markers nor clusters are tab stops: the map is one stop, the list the path.
    assert driver.execute_script(
        "return document.querySelectorAll('.leaflet-marker-pane [tabindex]').length") == 0
    attribution = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution")
    assert attribution.is_displayed()
    assert OSM_ATTRIBUTION in attribution.text
    # Layer switcher: every layer with its count, registry layers before context layers.
    driver.find_element(By.ID, "btn-layers").click()
    registry_rows = driver.find_elements(By.CSS_SELECTOR, "#layers-registry .layer-row")
    context_rows = driver.find_elements(By.CSS_SELECTOR, "#layers-context .layer-row")
    assert len(registry_rows) == 7  # the six union registries and the community health centres
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
    wait(driver).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-coverage-pane path.coverage-outline")
    )
    screenshot(driver, artifacts_dir, "map-phone-layers")
    driver.find_element(By.CSS_SELECTOR, "label[for='layer-toggle-walk-coverage']").click()
    wait(driver).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, ".leaflet-coverage-pane path")
    )
    driver.find_element(By.ID, "btn-layers-close").click()
    planner = driver.find_element(By.ID, "link-planner")
    assert planner.get_attribute("href").endswith("/planner.html")
    assert "规划视图" in planner.text
    screenshot(driver, artifacts_dir, "map-phone-start")
    assert console_problems(driver) == []


def test_unreachable_tiles_fall_back_to_offline_basemap(
    phone_browser: WebDriver, live_server: LiveServer
) -> None:
    open_map(phone_browser, live_server, query="")
    driver = phone_browser
    assert driver.execute_script("return window.servicemap.getBasemap()") == "offline"
    # no raster tile was shown (the offline basemap's tiles are canvases)
    assert not driver.find_elements(By.CSS_SELECTOR, "img.leaflet-tile")
    driver.find_element(By.ID, "btn-layers").click()
    assert driver.find_element(By.ID, "basemap-offline").is_selected()
    assert driver.find_element(By.ID, "basemap-osm").is_enabled()
    driver.find_element(By.ID, "btn-layers-close").click()
    # The probe runs in a worker: its expected failure leaves the page's console clean.
    assert console_problems(driver) == []


def test_tile_probe_tells_a_reachable_tile_server_from_an_unreachable_one(
    phone_browser: WebDriver, live_server: LiveServer
) -> None:
    open_map(phone_browser, live_server)
    flush_console(phone_browser)
    probe = """
        const [template, done] = [arguments[0], arguments[arguments.length - 1]];
        import("./js/basemap.js").then((m) => m.probeTiles(template, 3000)).then(done);
    """
    reachable = f"{live_server.url}/healthz?z={{z}}&x={{x}}&y={{y}}"  # loopback answers
    refused = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # discard port: connection refused
    assert phone_browser.execute_async_script(probe, reachable) is True
    assert phone_browser.execute_async_script(probe, refused) is False
    assert console_problems(phone_browser) == []


def test_tap_sets_location_and_lists_five_nearest(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    open_map(phone_browser, live_server)
    driver = phone_browser
    assert nearest_items(driver) == []
    tap_map(driver)
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    location = driver.execute_script("return window.servicemap.getLocation()")
    assert location["source"] == "tap"
    assert 120.8 < location["lon"] < 122.2
    assert 30.6 < location["lat"] < 31.9

    items = nearest_items(driver)
    expected = api_nearest(live_server, location["lon"], location["lat"], "relay_station")
    expected_ids = [r["facility"]["id"] for r in expected["results"]]
    assert [item.get_attribute("data-facility-id") for item in items] == expected_ids
    for item in items:
        assert re.search(r"\d+(\.\d+)? (米|公里)", item.text), item.text
        assert "开放时间" in item.text
        assert item.find_elements(By.CSS_SELECTOR, ".chip"), "services missing"
        # demo data is said once (the banner), not on every entry nor in the names
        assert not item.find_elements(By.CSS_SELECTOR, ".badge-demo")
        assert "示例" not in item.find_element(By.CSS_SELECTOR, ".fac-name").text
        geo = item.find_element(By.CSS_SELECTOR, "a.nav-link[href^='geo:']")
        assert geo.get_attribute("href").startswith("geo:")
    ranked = driver.find_elements(By.CSS_SELECTOR, ".leaflet-result-pane .fac-marker-ranked")
    assert len(ranked) == 5
    banner = driver.find_element(By.ID, "demo-banner")
    assert banner.is_displayed()
    assert "户外职工爱心接力站" in banner.text
    assert "示例" in banner.text
    screenshot(driver, artifacts_dir, "map-phone-nearest")
    driver.execute_script("window.servicemap.setSheetState('full')")
    screenshot(driver, artifacts_dir, "map-phone-nearest-list")
    items[0].find_element(By.CSS_SELECTOR, ".result-head").click()
    popup = wait_for_popup(driver).find_element(By.CSS_SELECTOR, ".fac-popup")
    assert popup.get_attribute("data-facility-id") == expected_ids[0]
    screenshot(driver, artifacts_dir, "map-phone-popup")
    assert console_problems(driver) == []


def test_language_toggle_switches_visible_text(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    open_map(phone_browser, live_server)
    driver = phone_browser
    driver.execute_script("window.servicemap.setLocation(121.4705745, 31.2346189)")
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)

    def visible() -> dict[str, str]:
        return {
            "title": driver.find_element(By.CSS_SELECTOR, ".topbar-title").text,
            "sheet": driver.find_element(By.ID, "sheet-title").text,
            "lang": driver.find_element(By.ID, "btn-lang").text,
            "html": driver.execute_script("return document.documentElement.lang"),
            "first": nearest_items(driver)[0].text,
        }

    zh = visible()
    assert zh["title"] == "职工服务地图"
    assert zh["sheet"] == "离我最近"
    assert zh["html"] == "zh-CN"
    assert "开放时间" in zh["first"]
    driver.find_element(By.ID, "btn-lang").click()
    wait(driver).until(lambda d: visible()["title"] == "Worker Service Map")
    en = visible()
    assert en["sheet"] == "Nearest to me"
    assert en["lang"] == "中文"
    assert en["html"] == "en"
    assert "Hours" in en["first"]
    assert re.search(r"\d+(\.\d+)? (m|km)\b", en["first"]), en["first"]
    assert "开放时间" not in en["first"]
    screenshot(driver, artifacts_dir, "map-phone-english")
    driver.find_element(By.ID, "btn-lang").click()
    wait(driver).until(lambda d: visible()["title"] == "职工服务地图")
    assert visible()["sheet"] == "离我最近"
    assert console_problems(driver) == []


def test_facility_text_is_escaped(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    open_map(phone_browser, live_server)
    driver = phone_browser
    driver.execute_script(
        "return window.servicemap.setLocation(arguments[0], arguments[1])", XSS_LON, XSS_LAT
    )
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    first = nearest_items(driver)[0]
    assert first.get_attribute("data-facility-id") == live_server.xss_id
    assert first.find_element(By.CSS_SELECTOR, ".fac-name").text == XSS_NAME
    assert XSS_ADDRESS in first.text
    first.find_element(By.CSS_SELECTOR, ".result-head").click()
    popup_name = wait_for_popup(driver).find_element(By.CSS_SELECTOR, ".fac-name")
    assert popup_name.text == XSS_NAME
    screenshot(driver, artifacts_dir, "map-phone-escaped-name")
    assert driver.execute_script("return window.__alerts") == []
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert driver.execute_script("return document.querySelectorAll('body script').length") == 0
    assert console_problems(driver) == []


def test_desktop_layout_and_analysis_hooks(
    desktop_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    open_map(desktop_browser, live_server)
    driver = desktop_browser
    driver.execute_script("window.servicemap.setLocation(121.4705745, 31.2346189)")
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    sheet = driver.find_element(By.ID, "sheet").rect
    map_rect = driver.find_element(By.ID, "map").rect
    assert sheet["x"] + sheet["width"] <= map_rect["x"] + 1
    assert map_rect["width"] > sheet["width"]
    # The list scrolls inside the side panel; neither it nor the map grows past the window.
    height = driver.execute_script("return window.innerHeight")
    assert map_rect["y"] + map_rect["height"] <= height + 1
    assert sheet["y"] + sheet["height"] <= height + 1
    screenshot(driver, artifacts_dir, "map-desktop-nearest")
    assert console_problems(driver) == []

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
    screenshot(driver, artifacts_dir, "map-desktop-hooks")
    driver.execute_script("window.servicemap.clearRoute(); window.servicemap.clearIsochrones()")
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path") == []
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-isochrone-pane path") == []
    assert console_problems(driver) == []


def test_walk_routes_drive_switch_and_isochrones(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    open_map(phone_browser, live_server)
    driver = phone_browser
    # A tap in the central area (People's Square), inside the walking network's coverage.
    driver.execute_script(
        "window.servicemap.map.setView([31.2304, 121.4737], 16, {animate: false})"
    )
    tap_map(driver)
    wait_for_profile(driver, "walk")
    asked = nearest_query(driver)
    assert asked["params"]["profile"] == "walk"
    assert asked["query"]["in_coverage"] is True
    location = driver.execute_script("return window.servicemap.getLocation()")
    expected = api_nearest(live_server, location["lon"], location["lat"], "relay_station")
    items = nearest_items(driver)
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
    screenshot(driver, artifacts_dir, "map-phone-walk-route")
    # Choosing another result in the list draws its route instead.
    items[2].find_element(By.CSS_SELECTOR, ".result-head").click()
    wait(driver).until(lambda d: "is-selected" in nearest_items(d)[2].get_attribute("class"))
    paths = driver.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path.route-network")
    assert len(paths) == 1
    assert paths[0].get_attribute("d") != first_route
    wait_for_popup(driver)
    driver.execute_script("window.servicemap.map.closePopup()")

    # Driving: the switch re-runs the search with profile=drive. The page's requests are
    # recorded; the driving answer itself is stood in for by the walking one relabelled
    # (the first driving query prepares the citywide network, tens of seconds of server
    # time that belong to the API tests, not to this page test).
    driver.execute_script(STUB_DRIVE_JS)
    driver.find_element(By.CSS_SELECTOR, "label[for='travel-drive']").click()
    wait_for_profile(driver, "drive")
    assert nearest_query(driver)["params"]["profile"] == "drive"
    requested = driver.execute_script("return window.__nearestRequests")
    assert len(requested) == 1
    assert "profile=drive" in requested[0]
    assert driver.find_element(By.ID, "travel-drive").is_selected()
    first = nearest_items(driver)[0]
    assert re.search(r"驾车约 \d+ 分钟", first.text), first.text
    amap = first.find_element(By.CSS_SELECTOR, "a.nav-link[href*='amap.com']")
    assert "mode=car" in amap.get_attribute("href")
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path.route-network")
    screenshot(driver, artifacts_dir, "map-phone-drive")

    # Back to walking, then the 5/10/15-minute walking areas.
    driver.find_element(By.CSS_SELECTOR, "label[for='travel-walk']").click()
    wait_for_profile(driver, "walk")
    toggle = driver.find_element(By.ID, "btn-isochrones")
    assert toggle.text == "5/10/15 分钟步行圈"
    toggle.click()
    wait(driver).until(
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, ".leaflet-isochrone-pane path.isochrone")) == 3
        )
    )
    assert toggle.get_attribute("aria-pressed") == "true"
    legend = driver.find_element(By.CSS_SELECTOR, ".map-legend").text
    for text in ("步行可达范围", "5 分钟", "10 分钟", "15 分钟"):
        assert text in legend, legend
    screenshot(driver, artifacts_dir, "map-phone-isochrones")
    toggle.click()
    wait(driver).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, ".leaflet-isochrone-pane path")
    )
    assert console_problems(driver) == []


def test_estimates_outside_coverage_and_unreachable_across_river(
    desktop_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    open_map(desktop_browser, live_server)
    driver = desktop_browser
    # Songjiang: outside the walking network, every answer is an estimate and says so.
    driver.execute_script("return window.servicemap.setLocation(121.2278, 31.0322)")
    wait_for_profile(driver, "walk")
    assert nearest_query(driver)["query"]["in_coverage"] is False
    for item in nearest_items(driver):
        block = item.find_element(By.CSS_SELECTOR, ".result-distance")
        assert block.get_attribute("data-method") == "estimated"
        assert "约" in block.get_attribute("textContent")
        badge = block.find_element(By.CSS_SELECTOR, ".badge-estimate")
        assert badge.get_attribute("textContent") == "估算"
        assert "font-style: italic" in driver.execute_script(
            "const s = getComputedStyle(arguments[0]); return 'font-style: ' + s.fontStyle",
            block.find_element(By.CSS_SELECTOR, ".result-km"),
        )
    notes = text_of(driver.find_element(By.ID, "nearest-notes"))
    assert "估算：直线距离×绕行系数" in notes, notes
    coverage = driver.find_element(By.ID, "nearest-coverage")
    assert "不在步行路网覆盖范围" in text_of(coverage)
    # read before the figures it qualifies: above the first result
    first_item = nearest_items(driver)[0]
    assert coverage.rect["y"] + coverage.rect["height"] <= first_item.rect["y"] + 1
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
    wait(driver).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-coverage-pane path.coverage-outline")
    )
    screenshot(driver, artifacts_dir, "map-desktop-estimates")
    driver.execute_script(
        "window.servicemap.showCoverage(false); return window.servicemap.setIsochrones(false)"
    )

    # Lujiazui on foot: the Puxi training site across the river is unreachable, and listed
    # as such (with its straight-line distance), never as a route distance.
    driver.execute_script("return window.servicemap.setNearestLayer('training_site')")
    driver.execute_script("return window.servicemap.setLocation(121.502, 31.2395)")
    wait(driver).until(
        lambda d: (
            (nearest_query(d)["query"] or {}).get("layer") == "training_site"
            and d.find_element(By.ID, "unreachable").is_displayed()
        )
    )
    unreachable = nearest_query(driver)["unreachable"]
    assert unreachable, "the API reported nothing unreachable"
    across = unreachable[0]["facility"]
    section = driver.find_element(By.ID, "unreachable")
    assert "步行无法到达" in text_of(section.find_element(By.CSS_SELECTOR, ".unreachable-title"))
    entry = section.find_element(
        By.CSS_SELECTOR, f".unreachable-item[data-facility-id='{across['id']}']"
    )
    entry_text = text_of(entry)
    assert across["name"] in entry_text
    assert "步行无法到达（河对岸无桥梁/轮渡数据）" in entry_text
    assert "直线距离" in entry_text
    listed = [i.get_attribute("data-facility-id") for i in nearest_items(driver)]
    assert across["id"] not in listed
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", section)
    screenshot(driver, artifacts_dir, "map-desktop-unreachable")
    assert console_problems(driver) == []
