"""Keyboard use of the worker map and the planner, with real key events, and axe-core on
both pages with their popups and panels open.

The keyboard path is the issue's: a desktop user who never touches the mouse opens the map,
reaches "Locate me" through the skip link, gets the nearest stations with the way to the
first drawn, opens its details and closes them again, all without focus falling to the
page's body.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.conftest import LiveServer
from tests.web.pages import (
    axe_violations,
    console_problems,
    nearest_items,
    open_map,
    screenshot,
    wait,
    wait_for_popup,
)

pytestmark = pytest.mark.browser

PEOPLES_SQUARE = {"latitude": 31.2304, "longitude": 121.4737, "accuracy": 12}
MAX_TABS_TO_A_ROUTE = 10
PLANNER_WAIT_S = 90


def _press(driver: WebDriver, *keys: str) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def _active(driver: WebDriver) -> dict[str, Any]:
    """What has keyboard focus: id, tag, classes, and whether it is inside a popup."""
    active: dict[str, Any] = driver.execute_script(
        "const a = document.activeElement;"
        "return {id: a.id, tag: a.tagName.toLowerCase(), cls: String(a.className),"
        " inPopup: Boolean(a.closest('.leaflet-popup')), inPanel: Boolean(a.closest('#layer-panel'))};"
    )
    return active


def _allow_geolocation(driver: WebDriver, server: LiveServer) -> None:
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(server.url))
    driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": origin, "permissions": ["geolocation"]}
    )
    driver.execute_cdp_cmd("Emulation.setGeolocationOverride", PEOPLES_SQUARE)


def test_keyboard_path_from_open_to_a_route_and_back(
    desktop_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    driver = desktop_browser
    _allow_geolocation(driver, live_server)
    open_map(driver, live_server)
    assert _active(driver)["tag"] == "body"
    tabs = 0
    _press(driver, Keys.TAB)
    tabs += 1
    assert "skip-link" in _active(driver)["cls"]
    assert driver.find_element(By.CSS_SELECTOR, ".skip-link").is_displayed()
    _press(driver, Keys.ENTER)  # skip the header and the map's controls
    assert _active(driver)["id"] == "sheet-title"
    while _active(driver)["id"] != "btn-locate-sheet":
        _press(driver, Keys.TAB)
        tabs += 1
        assert tabs <= MAX_TABS_TO_A_ROUTE, f"Locate not reached in {tabs} Tab presses"
    _press(driver, Keys.ENTER)
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    wait(driver).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-route-pane path.route-network")
    )
    assert driver.execute_script("return window.servicemap.getLocation().source") == "gps"
    # Focus went to the first result (the Locate button it pressed is gone), not to <body>.
    wait(driver).until(lambda d: "result-head" in _active(d)["cls"])
    assert tabs <= MAX_TABS_TO_A_ROUTE
    screenshot(driver, artifacts_dir, "keyboard-route")
    # Enter on the result opens its popup and moves focus into it; Escape closes it and
    # gives focus back to the result.
    _press(driver, Keys.ENTER)
    wait_for_popup(driver)
    wait(driver).until(lambda d: _active(d)["inPopup"])
    screenshot(driver, artifacts_dir, "keyboard-popup")
    _press(driver, Keys.ESCAPE)
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".leaflet-popup"))
    assert "result-head" in _active(driver)["cls"]
    assert console_problems(driver) == []


def test_markers_are_not_tab_stops_and_the_map_is_one(
    desktop_browser: WebDriver, live_server: LiveServer
) -> None:
    driver = desktop_browser
    open_map(driver, live_server)
    driver.execute_script("window.servicemap.setLocation(121.4705745, 31.2346189)")
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    stops = driver.execute_script(
        "return [...document.querySelectorAll('#map a[href], #map button, #map [tabindex]')]"
        ".filter((e) => e.tabIndex >= 0 && e.checkVisibility()).map((e) => e.className)"
    )
    # the map itself, its zoom and locate buttons, the two attribution links: no marker
    assert len(stops) <= 6, stops
    assert not any("marker" in str(cls) or "cluster" in str(cls) for cls in stops), stops
    # and with real Tab presses: from the focused map, out of it in at most 6 presses (no
    # marker, cluster, metro station or route shape on the way)
    driver.execute_script("document.getElementById('map').focus()")
    presses = 0
    while driver.execute_script("return document.activeElement.closest('#map') !== null"):
        _press(driver, Keys.TAB)
        presses += 1
        assert presses <= 6, _active(driver)
    # Enter on the focused map searches from its centre, as a tap would.
    driver.execute_script("window.servicemap.map.setView([31.2222, 121.4581], 15, {animate: false})")
    driver.execute_script("document.getElementById('map').focus()")
    centre = driver.execute_script("const c = window.servicemap.map.getCenter(); return [c.lat, c.lng]")
    _press(driver, Keys.ENTER)
    wait(driver).until(
        lambda d: (d.execute_script("return window.servicemap.getLocation()") or {}).get("source")
        == "centre"
    )
    location = driver.execute_script("return window.servicemap.getLocation()")
    assert abs(location["lat"] - centre[0]) < 1e-6
    assert abs(location["lon"] - centre[1]) < 1e-6
    assert console_problems(driver) == []


def test_layer_panel_takes_focus_and_escape_gives_it_back(
    desktop_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    driver = desktop_browser
    open_map(driver, live_server)
    driver.execute_script("document.getElementById('btn-layers').focus()")
    _press(driver, Keys.ENTER)
    wait(driver).until(lambda d: d.find_element(By.ID, "layer-panel").is_displayed())
    assert _active(driver)["id"] == "layer-panel-title"
    _press(driver, Keys.TAB)
    assert _active(driver)["inPanel"]
    # the demo data is said once here, per layer, with what it means
    assert "示例数据" in driver.find_element(By.ID, "layers-demo-note").text
    assert driver.find_elements(By.CSS_SELECTOR, "#layers-registry .badge-demo")
    screenshot(driver, artifacts_dir, "keyboard-layer-panel")
    _press(driver, Keys.ESCAPE)
    wait(driver).until(lambda d: not d.find_element(By.ID, "layer-panel").is_displayed())
    assert _active(driver)["id"] == "btn-layers"
    assert driver.find_element(By.ID, "btn-layers").get_attribute("aria-expanded") == "false"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_worker_map_has_no_axe_violations_with_popup_and_panel_open(
    phone_browser: WebDriver, live_server: LiveServer, lang: str
) -> None:
    driver = phone_browser
    open_map(driver, live_server, f"?basemap=offline&lang={lang}")
    assert axe_violations(driver) == []
    # outside the walking network (estimates, the coverage note) with the areas' message
    driver.execute_script("return window.servicemap.setLocation(121.2278, 31.0322)")
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    driver.execute_script("return window.servicemap.setIsochrones(true)")
    assert axe_violations(driver) == []
    driver.execute_script("return window.servicemap.setLocation(121.4705745, 31.2346189)")
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    nearest_items(driver)[0].find_element(By.CSS_SELECTOR, ".result-head").click()
    wait_for_popup(driver)
    assert axe_violations(driver) == []
    driver.find_element(By.ID, "btn-layers").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "layer-panel").is_displayed())
    assert axe_violations(driver) == []
    driver.find_element(By.ID, "btn-layers-close").click()


def _open_planner(driver: WebDriver, server: LiveServer, query: str = "") -> None:
    driver.get_log("browser")
    driver.get(server.url + "planner.html" + query)
    _planner_ready(driver, "medical")


def _planner_ready(driver: WebDriver, value: str) -> None:
    WebDriverWait(driver, PLANNER_WAIT_S, poll_frequency=0.2).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == value
    )


def test_planner_tabs_follow_the_aria_tabs_pattern(
    desktop_browser: WebDriver, live_server: LiveServer
) -> None:
    driver = desktop_browser
    _open_planner(driver, live_server)

    def selected() -> list[str]:
        return [
            t.get_attribute("id")
            for t in driver.find_elements(By.CSS_SELECTOR, "[role=tab][aria-selected=true]")
        ]

    def stops() -> list[str]:
        return [
            t.get_attribute("id")
            for t in driver.find_elements(By.CSS_SELECTOR, "[role=tab]")
            if t.get_attribute("tabindex") == "0"
        ]

    assert selected() == ["tab-medical"]
    assert stops() == ["tab-medical"]  # one tab stop for the tab list
    driver.execute_script("document.getElementById('tab-medical').focus()")
    _press(driver, Keys.ARROW_RIGHT)
    assert _active(driver)["id"] == "tab-lunch"
    assert selected() == ["tab-lunch"]
    _planner_ready(driver, "lunch")
    _press(driver, Keys.END)
    assert _active(driver)["id"] == "tab-route"
    assert stops() == ["tab-route"]
    assert driver.find_element(By.ID, "route-panel").is_displayed()
    assert driver.find_element(By.ID, "route-panel").get_attribute("aria-labelledby") == "tab-route"
    _press(driver, Keys.ARROW_RIGHT)  # wraps around
    assert _active(driver)["id"] == "tab-medical"
    _press(driver, Keys.ARROW_LEFT)
    assert _active(driver)["id"] == "tab-route"
    _press(driver, Keys.HOME)
    assert selected() == ["tab-medical"]
    _planner_ready(driver, "medical")
    assert driver.find_element(By.ID, "gap-panel").is_displayed()
    # a ranking entry is a button: Enter fits the map to it and opens its popup, with focus
    zoom = driver.execute_script("return window.servicemapPlanner.map.getZoom()")
    driver.execute_script("document.querySelector('#pl-list .pl-item').focus()")
    _press(driver, Keys.ENTER)
    wait_for_popup(driver)
    assert driver.execute_script("return window.servicemapPlanner.map.getZoom()") > zoom
    wait(driver).until(lambda d: _active(d)["inPopup"])
    _press(driver, Keys.ESCAPE)
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".leaflet-popup"))
    assert "pl-item" in _active(driver)["cls"]
    assert console_problems(driver) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_planner_has_no_axe_violations_on_each_tab(
    desktop_browser: WebDriver, live_server: LiveServer, lang: str
) -> None:
    driver = desktop_browser
    _open_planner(driver, live_server, f"?lang={lang}")
    driver.find_element(By.CSS_SELECTOR, "#pl-list .pl-item").click()
    wait_for_popup(driver)
    assert axe_violations(driver) == []
    driver.find_element(By.ID, "tab-lunch").click()
    _planner_ready(driver, "lunch")
    assert axe_violations(driver) == []
    driver.find_element(By.ID, "tab-plan").click()
    WebDriverWait(driver, PLANNER_WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#plan-candidates input"))
    assert axe_violations(driver) == []
    driver.find_element(By.ID, "tab-route").click()
    assert axe_violations(driver) == []
