"""What a worker reads in the list and popups: the time asked about, phones that dial, hours
or how to ask for them, distances door to door (old and new API answers), the worker's
position above every marker, and the pages a browser may land on (unknown page, favicon).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.conftest import LiveServer
from tests.web.pages import (
    console_problems,
    nearest_items,
    open_map,
    screenshot,
    wait,
    wait_for_popup,
)

pytestmark = pytest.mark.browser

HUANGPU_CENTRE = (121.468032, 31.214378)  # the Huangpu service centre's own point

# Answers /nearest as the door-to-door API does (access_m, network_m beside distance_m) or
# as the older one did (street to street: "0" for a facility beside the same street).
STUB_NEAREST_JS = """
const [mode] = arguments;
const realFetch = window.__realFetch || window.fetch;
window.__realFetch = realFetch;
window.fetch = async (resource, options) => {
  const url = String(resource);
  if (!url.includes("/api/v1/nearest")) return realFetch(resource, options);
  const answer = await (await realFetch(resource, options)).json();
  for (const r of answer.results) {
    if (mode === "new") {
      r.network_m = r.distance_m;
      r.access_m = [60, 90];
      r.distance_m = r.distance_m + 150;
    } else {
      delete r.access_m;  // the older answer had neither field
      delete r.network_m;
      r.distance_m = 0;  // street to street, both ends on one street
    }
  }
  return new Response(JSON.stringify(answer), {status: 200, headers: {"Content-Type": "application/json"}});
};
"""


def _list_texts(driver: WebDriver) -> list[str]:
    """The texts of the result list, read in one go (the list may be redrawn meanwhile)."""
    texts: list[str] = driver.execute_script(
        "return [...document.querySelectorAll('#nearest-list > li.result')].map((li) => li.innerText)")
    return texts


def test_open_at_a_chosen_day_and_time(phone_browser: WebDriver, live_server: LiveServer,
                                       artifacts_dir: Path) -> None:
    driver = phone_browser
    open_map(driver, live_server)
    driver.execute_script("return window.servicemap.setLocation(121.4737, 31.2304)")
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    assert driver.execute_script("return window.servicemap.getNearestQuery().params.open_at") is None
    # "open at 12:30 on Wednesday" (a lunch break), chosen in the sheet's controls
    driver.find_element(By.CSS_SELECTOR, "#sel-when option[value=at]").click()
    assert driver.find_element(By.ID, "when-at").is_displayed()
    driver.find_element(By.CSS_SELECTOR, "#sel-when-day option[value=We]").click()
    driver.execute_script(
        "const t = document.getElementById('in-when-time'); t.value = '12:30';"
        "t.dispatchEvent(new Event('change'));"
    )
    wait(driver).until(
        lambda d: (d.execute_script("return window.servicemap.getNearestQuery().params.open_at")
                   or "").endswith("T12:30")
        and len(nearest_items(d)) == 5
    )
    open_at = driver.execute_script("return window.servicemap.getNearestQuery().params.open_at")
    assert date.fromisoformat(open_at[:10]).weekday() == 2  # a Wednesday
    # the API returned only stations open then; the badges say so for that time (read in
    # one go, once the last search has been drawn)
    badges_js = (
        "const list = document.getElementById('nearest-list');"
        "if (list.getAttribute('aria-busy') !== 'false') return null;"
        "return [...list.querySelectorAll('.badge-open, .badge-closed')].map((b) => b.textContent);"
    )
    wait(driver).until(lambda d: len(d.execute_script(badges_js) or []) == 5)
    badges = driver.execute_script(badges_js)
    assert badges == ["周三 12:30 开放"] * 5, badges
    screenshot(driver, artifacts_dir, "details-open-at")
    # no registry states on a worker's list ("已提升", "新建")
    for text in _list_texts(driver):
        assert "已提升" not in text
        assert "新建" not in text
    driver.execute_script("return window.servicemap.setWhen({kind: 'any'})")
    assert console_problems(driver) == []


def test_phone_fields_dial_every_number_and_hours_say_how_to_ask(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    driver = phone_browser
    open_map(driver, live_server)
    driver.execute_script("return window.servicemap.setNearestLayer('service_centre')")
    driver.execute_script("return window.servicemap.setLocation(arguments[0], arguments[1])",
                          *HUANGPU_CENTRE)
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    first = nearest_items(driver)[0]
    links = [a.get_attribute("href") for a in first.find_elements(By.CSS_SELECTOR, "a.fac-phone")]
    # "63773621、53062331": two numbers, two links, with Shanghai's area code
    assert links == ["tel:+862163773621", "tel:+862153062331"]
    assert "开放时间未公布，请致电询问" in first.text
    assert "开放时间未知" not in first.text
    first.find_element(By.CSS_SELECTOR, ".result-head").click()
    popup = wait_for_popup(driver)
    assert len(popup.find_elements(By.CSS_SELECTOR, "a.fac-phone")) == 2
    screenshot(driver, artifacts_dir, "details-two-phones")
    # an extension is dialled after a pause; labelled numbers keep their labels
    by_name = {}
    for item in nearest_items(driver):
        by_name[item.find_element(By.CSS_SELECTOR, ".fac-name").text] = item
    pudong = by_name["浦东新区总工会职工服务中心（办事点）"]
    assert [a.get_attribute("href") for a in pudong.find_elements(By.CSS_SELECTOR, "a.fac-phone")] \
        == ["tel:+862168472222,88104"]
    # the training sites: booked through the unions, with the plan's contact
    driver.execute_script("window.servicemap.map.closePopup();"
                          "return window.servicemap.setNearestLayer('training_site')")
    wait(driver).until(lambda d: "按预约开班" in (_list_texts(d) or [""])[0])
    assert "tel:+862163211939,3434" in [
        a.get_attribute("href") for a in nearest_items(driver)[0].find_elements(By.CSS_SELECTOR, "a.fac-phone")]
    assert console_problems(driver) == []


@pytest.mark.parametrize("mode", ["new", "old"])
def test_distances_are_door_to_door_with_old_and_new_answers(
    desktop_browser: WebDriver, live_server: LiveServer, mode: str
) -> None:
    driver = desktop_browser
    open_map(driver, live_server)
    driver.execute_script(STUB_NEAREST_JS, mode)
    driver.execute_script("return window.servicemap.setLocation(121.4737, 31.2304)")
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    results = driver.execute_script("return window.servicemap.getNearestResults()")
    for item, result in zip(nearest_items(driver), results, strict=True):
        block = item.find_element(By.CSS_SELECTOR, ".result-distance")
        shown_m = int(block.get_attribute("data-distance-m"))
        straight = driver.execute_script(
            "const [a, b] = arguments; return window.servicemap.map.distance([a.lat, a.lon], [b.lat, b.lon])",
            {"lat": 31.2304, "lon": 121.4737}, result["facility"])
        if mode == "new":
            assert abs(shown_m - result["distance_m"]) <= 0.5  # the API's door-to-door figure
            assert "到门口" in block.text  # the walk off the street is said
        else:
            # street to street said "0": the straight line is the honest lower bound
            assert shown_m >= round(straight) - 1
            assert shown_m > 0
            assert not re.search(r"(?<![\d.])0 米", block.text), block.text
    assert console_problems(driver) == []


def test_the_workers_position_is_drawn_above_every_marker(
    desktop_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    driver = desktop_browser
    open_map(driver, live_server)
    # a point right on a relay station: the station's numbered marker moves aside
    station = driver.execute_script("return window.servicemap.setLocation(121.4737, 31.2304)")[0]
    lon, lat = station["facility"]["lon"], station["facility"]["lat"]
    driver.execute_script("return window.servicemap.setLocation(arguments[0], arguments[1])", lon, lat)
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    driver.execute_script("window.servicemap.map.setView([arguments[1], arguments[0]], 13, {animate: false})",
                          lon, lat)
    on_top_js = """
        const [lon, lat] = arguments;
        const map = window.servicemap.map;
        if (document.querySelector('.leaflet-zoom-anim')) return null;
        const p = map.latLngToContainerPoint([lat, lon]);
        const box = map.getContainer().getBoundingClientRect();
        const el = document.elementFromPoint(box.left + p.x, box.top + p.y);
        return el ? el.className : null;
        """
    # once the view has settled (the clusters redraw after a zoom), the dot is on top
    wait(driver).until(lambda d: "you-dot" in (d.execute_script(on_top_js, lon, lat) or ""))
    user_z = driver.execute_script("return +getComputedStyle(document.querySelector('.leaflet-user-pane')).zIndex")
    marker_z = driver.execute_script("return +getComputedStyle(document.querySelector('.leaflet-marker-pane')).zIndex")
    result_z = driver.execute_script("return +getComputedStyle(document.querySelector('.leaflet-result-pane')).zIndex")
    assert user_z > result_z > marker_z
    # the first result (on the point) is shifted aside, still visible and clickable
    ranked = driver.find_element(By.CSS_SELECTOR, ".leaflet-result-pane .fac-marker-ranked .glyph")
    assert "translate" in ranked.get_attribute("style")
    screenshot(driver, artifacts_dir, "details-position-on-top")
    assert console_problems(driver) == []


def test_unknown_page_is_an_html_page_and_the_favicon_exists(
    desktop_browser: WebDriver, live_server: LiveServer
) -> None:
    driver = desktop_browser
    driver.get_log("browser")
    driver.get(live_server.url + "no-such-page.html?lang=en")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Page not found"
    assert driver.find_element(By.CSS_SELECTOR, "a[href='/']").is_displayed()
    # the 404 itself is the only failed request: no broken icon or script on the page
    problems = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert all("no-such-page.html" in m for m in problems), problems
    with urllib.request.urlopen(live_server.url + "favicon.ico", timeout=10) as answer:
        assert answer.status == 200
    request = urllib.request.Request(live_server.url + "no-such-page.html",
                                     headers={"Accept": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 404
    assert json.load(refused.value)["error"] == "not_found"  # API clients keep JSON


def test_demo_notice_goes_away_for_a_layer_whose_registry_is_real(
    phone_browser: WebDriver, live_server: LiveServer
) -> None:
    driver = phone_browser

    def relay_stations_reported(demo: bool) -> str:
        """/layers as the map reads it, with relay stations demo or real (other tests of the
        session import real ones into the shared server)."""
        flag = "true" if demo else "false"
        answer = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
            const realFetch = window.fetch;
            window.fetch = async (resource, options) => {
              const answer = await realFetch(resource, options);
              if (!/\\/api\\/v1\\/layers(\\?|$)/.test(String(resource))) return answer;
              const body = await answer.json();
              for (const layer of body.layers) if (layer.id === "relay_station") layer.demo = FLAG;
              return new Response(JSON.stringify(body), {status: 200, headers: {"Content-Type": "application/json"}});
            };""".replace("FLAG", flag)})
        return str(answer["identifier"])

    demo_script = relay_stations_reported(True)
    try:
        open_map(driver, live_server)
        banner = driver.find_element(By.ID, "demo-banner")
        assert banner.is_displayed()
        assert "户外职工爱心接力站" in banner.text
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                               {"identifier": demo_script})
    # /layers reporting relay stations as real (an imported registry): no notice for them
    script = {"identifier": relay_stations_reported(False)}
    try:
        open_map(driver, live_server)
        assert not driver.find_element(By.ID, "demo-banner").is_displayed()
        # a demo layer shown beside it is still named, once
        driver.execute_script("return window.servicemap.setLayerVisible('health_point', true)")
        banner = driver.find_element(By.ID, "demo-banner")
        wait(driver).until(lambda d: banner.is_displayed())
        assert "健康服务点" in banner.text
        assert "户外职工爱心接力站" not in banner.text
        # dismissed, it stays dismissed for that layer
        banner.find_element(By.CSS_SELECTOR, ".demo-banner-close").click()
        assert not banner.is_displayed()
        open_map(driver, live_server, "?basemap=offline&show=health_point")
        assert not driver.find_element(By.ID, "demo-banner").is_displayed()
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                               {"identifier": script["identifier"]})
        driver.execute_script("localStorage.removeItem('servicemap.demoDismissed')")
