"""The site-planning tab of the planner view and the offline plan report, in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from api.cli import main
from tests.web.conftest import LiveServer, open_report, sign_in

WAIT_S = 90

pytestmark = pytest.mark.browser


def _problems(driver: WebDriver, allowed: tuple[str, ...] = ()) -> list[dict]:
    return [e for e in driver.get_log("browser")
            if e["level"] in ("SEVERE", "WARNING")
            and not any(a in e["message"] for a in allowed)]  # fmt: skip


def _fill(driver: WebDriver, element_id: str, value: str) -> None:
    box = driver.find_element(By.ID, element_id)
    box.clear()
    box.send_keys(value)


def _choose_candidates(driver: WebDriver, layers: set[str]) -> None:
    """Tick exactly these candidate host layers (checkboxes named after the layers)."""
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#plan-candidates input[type=checkbox]"))
    for box in driver.find_elements(By.CSS_SELECTOR, "#plan-candidates input[type=checkbox]"):
        if box.is_selected() != (box.get_attribute("value") in layers):
            driver.find_element(By.CSS_SELECTOR, f"label[for='{box.get_attribute('id')}']").click()


def _map_view(driver: WebDriver) -> dict:
    view: dict = driver.execute_script(
        "const m = window.servicemapPlanner.map; const b = m.getBounds();"
        "return {zoom: m.getZoom(), west: b.getWest(), east: b.getEast(),"
        " south: b.getSouth(), north: b.getNorth()};")
    return view


def _ready(driver: WebDriver, value: str) -> None:
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == value
    )


def test_planning_tab_runs_a_plan_and_shows_it(
    desktop_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    driver = desktop_browser
    driver.get_log("browser")
    sign_in(driver, live_server)
    driver.get(live_server.url + "planner.html?lang=en")
    _ready(driver, "medical")
    driver.find_element(By.ID, "tab-plan").click()
    assert driver.find_element(By.ID, "plan-panel").is_displayed()
    assert not driver.find_element(By.ID, "gap-panel").is_displayed()
    # candidate hosts are checkboxes with the layers' names, not identifiers to type
    labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#plan-candidates label")]
    assert "District union worker service centre" in labels, labels
    assert not any("_" in label for label in labels), labels
    # host types are checkboxes with their names and counts; public toilets unticked
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#plan-host-types input[type=checkbox]"))
    hosts = {b.get_attribute("value"): b.is_selected()
             for b in driver.find_elements(By.CSS_SELECTOR, "#plan-host-types input")}  # fmt: skip
    assert hosts["toilet"] is False
    assert hosts["bank"] is True
    host_labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#plan-host-types label")]
    assert "Public toilet (306)" in host_labels, host_labels
    assert not driver.find_element(By.ID, "plan-include-demo").is_selected()
    _fill(driver, "plan-new", "2")
    _fill(driver, "plan-district-min", "0")
    _choose_candidates(driver, {"service_centre", "training_site"})
    _fill(driver, "plan-curve-points", "0,1,2,3")
    before = _map_view(driver)
    driver.find_element(By.CSS_SELECTOR, "#plan-form button[type=submit]").click()
    _ready(driver, "plan")
    summary = driver.find_element(By.ID, "plan-summary").text
    assert "proven optimal" in summary
    assert "Newly covered" in summary
    assert "152 demonstration records not counted as existing sites" in summary
    # the host types follow the candidate layers ticked
    WebDriverWait(driver, WAIT_S).until(lambda d: "union_office" in [
        b.get_attribute("value") for b in d.find_elements(By.CSS_SELECTOR, "#plan-host-types input")])
    assert "toilet" not in [b.get_attribute("value")
                            for b in driver.find_elements(By.CSS_SELECTOR, "#plan-host-types input")]
    # the map fits what was just computed: every proposed site in view, closer than before
    after = _map_view(driver)
    sites = driver.execute_script(
        "return [...document.querySelectorAll('#plan-sites .pl-item')].map((b) => b.dataset.id)")
    assert len(sites) == 2
    points = driver.execute_script(
        "return window.servicemapPlanner.planResult().sites.features.map((f) => f.geometry.coordinates)")
    for lon, lat in points:
        assert after["west"] <= lon <= after["east"]
        assert after["south"] <= lat <= after["north"]
    assert after != before
    assert after["zoom"] >= before["zoom"]
    chosen = driver.find_element(By.CSS_SELECTOR, "#plan-sites li").text
    assert "District union worker service centre" in chosen or "Metro safety training site" in chosen
    sites = driver.find_elements(By.CSS_SELECTOR, "#plan-sites li")
    assert len(sites) == 2
    rows = driver.find_elements(By.CSS_SELECTOR, "#plan-districts tbody tr")
    assert len(rows) >= 8
    new_total = sum(int(r.find_elements(By.TAG_NAME, "td")[1].text) for r in rows)
    assert new_total == 2
    dots = driver.find_elements(By.CSS_SELECTOR, "#plan-curve svg circle")
    assert [d.get_attribute("data-n") for d in dots] == ["0", "1", "2", "3"]
    heights = [float(d.get_attribute("cy")) for d in dots]
    assert heights == sorted(heights, reverse=True)  # more sites never cover fewer workers
    markers = driver.execute_script(
        "return document.querySelectorAll('#pl-map canvas, #pl-map path').length")
    assert markers > 0
    driver.save_screenshot(str(artifacts_dir / "planner-site-planning.png"))
    sites[0].click()
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content")
    )
    assert driver.find_element(By.CSS_SELECTOR, ".leaflet-popup-content").text
    assert driver.execute_script("return window.__alerts.length") == 0
    assert _problems(driver) == []
    # an impossible request is refused with the numbers, and the gap tabs still work
    _fill(driver, "plan-new", "3")
    _fill(driver, "plan-district-min", "1")
    _choose_candidates(driver, {"relay_station"})
    driver.find_element(By.CSS_SELECTOR, "#plan-form button[type=submit]").click()
    _ready(driver, "plan-error")
    message = driver.find_element(By.ID, "pl-status").text
    assert "16 new sites > 3" in message
    assert _problems(driver, allowed=("status of 422",)) == []
    driver.find_element(By.ID, "tab-lunch").click()
    _ready(driver, "lunch")
    assert driver.find_element(By.ID, "gap-panel").is_displayed()
    assert driver.find_elements(By.CSS_SELECTOR, "#pl-list li")


def test_plan_report_renders_offline(desktop_browser: WebDriver, tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    assert main(["plan", "--model", "mclp", "--layer", "health_point", "--candidates",
                 "service_centre,training_site", "--new", "2", "--curve", "0,1,2",
                 "--shipped", "--time-limit", "30", "--out", str(out)]) == 0  # fmt: skip
    page = out.read_text(encoding="utf-8")
    assert "<script src=" not in page
    assert "<link " not in page
    paths = open_report(desktop_browser, out, WAIT_S)
    assert paths > 0
    assert len(desktop_browser.find_elements(By.CSS_SELECTOR, "table.districts tbody tr")) >= 8
    assert len(desktop_browser.find_elements(By.CSS_SELECTOR, "table.sites tbody tr")) == 2
    assert len(desktop_browser.find_elements(By.CSS_SELECTOR, "svg.curve circle")) == 3
    assert _problems(desktop_browser) == []
