"""The check-up routes tab (体检车排班) of the planner view, in headless Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.conftest import XSS_NAME, LiveServer, sign_in

WAIT_S = 90

pytestmark = pytest.mark.browser


# The visits of each split booking in the schedule: {name: [["date HH:MM", part k], ...]}.
VISITS_JS = r"""
const out = {};
for (const box of document.querySelectorAll('#route-schedule .rt-vd')) {
  const date = box.querySelector('strong').textContent.match(/\d{4}-\d{2}-\d{2}/)[0];
  for (const li of box.querySelectorAll('li')) {
    const m = li.textContent.match(/^(\d{2}:\d{2}).* · (.+?) \(visit (\d+) of (\d+)\)/);
    if (m) (out[m[2]] = out[m[2]] || []).push([date + ' ' + m[1], Number(m[3])]);
  }
}
return out;
"""


def _problems(driver: WebDriver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def _ready(driver: WebDriver, value: str) -> None:
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == value
    )


def _open_tab(driver: WebDriver, live_server: LiveServer) -> None:
    sign_in(driver, live_server)
    driver.get(live_server.url + "planner.html?lang=en")
    _ready(driver, "medical")
    driver.find_element(By.ID, "tab-route").click()
    assert driver.find_element(By.ID, "route-panel").is_displayed()
    assert not driver.find_element(By.ID, "gap-panel").is_displayed()
    assert not driver.find_element(By.ID, "plan-panel").is_displayed()


def _set(driver: WebDriver, element_id: str, value: str) -> None:
    driver.execute_script("document.getElementById(arguments[0]).value = arguments[1];",
                          element_id, value)  # fmt: skip


def test_sample_runs_and_draws_coloured_routes_with_numbered_stops(
    desktop_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    driver = desktop_browser
    driver.get_log("browser")
    _open_tab(driver, live_server)
    driver.find_element(By.ID, "route-sample").click()
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.ID, "route-json").get_attribute("value").startswith("{")
    )
    request = json.loads(driver.find_element(By.ID, "route-json").get_attribute("value"))
    assert request["demo"] is True
    _set(driver, "route-time", "2")
    driver.find_element(By.ID, "route-run").click()
    _ready(driver, "route")
    summary = driver.find_element(By.ID, "route-summary").text
    assert "checked feasible" in summary
    boxes = driver.find_elements(By.CSS_SELECTOR, "#route-schedule .rt-vd")
    assert len(boxes) >= 2
    legs = driver.find_elements(By.CSS_SELECTOR, "#pl-map path.rt-leg")
    assert legs
    colours = {leg.get_attribute("stroke") for leg in legs}
    assert len(colours) == len(boxes)  # one colour per vehicle-day
    assert driver.find_elements(By.CSS_SELECTOR, "#pl-map path.rt-leg-network")
    numbers = [n.text for n in driver.find_elements(By.CSS_SELECTOR, "#pl-map .rt-num")]
    n_stops = len(driver.find_elements(By.CSS_SELECTOR, "#route-schedule .rt-vd li"))
    assert len(numbers) == n_stops
    assert {"1", "2"} <= set(numbers)
    schedule = driver.find_element(By.ID, "route-schedule-link").get_attribute("href")
    csv_link = driver.find_element(By.ID, "route-csv-link").get_attribute("href")
    assert schedule.endswith("/schedule.html")
    assert csv_link.endswith("/plan.csv")
    driver.save_screenshot(str(artifacts_dir / "planner-checkup-routes.png"))
    # one day only: fewer vehicle-days listed and drawn
    days = driver.find_elements(By.CSS_SELECTOR, "#route-day option")
    assert len(days) >= 2
    days[1].click()
    shown = driver.find_elements(By.CSS_SELECTOR, "#route-schedule .rt-vd")
    assert 0 < len(shown) < len(boxes)
    boxes_day = {leg.get_attribute("stroke") for leg in
                 driver.find_elements(By.CSS_SELECTOR, "#pl-map path.rt-leg")}  # fmt: skip
    assert len(boxes_day) == len(shown)
    assert driver.execute_script("return window.__alerts.length") == 0
    assert _problems(driver) == []
    driver.find_elements(By.CSS_SELECTOR, "#route-day option")[0].click()  # all days again
    # times read as a 24-hour clock with the half-day slot named on its own
    first = driver.find_element(By.CSS_SELECTOR, "#route-schedule .rt-vd li").text
    assert re.match(r"\d{2}:\d{2}–\d{2}:\d{2} · (morning|afternoon) slot", first), first
    assert not re.search(r"\b(AM|PM)\b", driver.find_element(By.ID, "route-schedule").text)
    # the parts of a split booking are numbered in the order they are visited
    visits = driver.execute_script(VISITS_JS)
    assert visits, "no split booking in the sample plan"
    for parts in visits.values():
        ordered = sorted(parts)
        assert [k for _, k in ordered] == list(range(1, len(parts) + 1)), parts
    driver.get_log("browser")
    driver.get(schedule)
    assert "体检车日程" in driver.page_source
    # the printable page loads without a failed request (its favicon is shipped)
    assert _problems(driver) == []


def test_names_are_escaped_and_refusals_are_shown(
    desktop_browser: WebDriver, live_server: LiveServer
) -> None:
    driver = desktop_browser
    driver.get_log("browser")
    _open_tab(driver, live_server)
    request = {
        "days": 1,
        "depots": [{"id": "d", "name": "徐汇区总工会职工服务中心", "lon": 121.4336, "lat": 31.1730}],
        "packages": [{"id": "L1", "setup_min": 10, "per_worker_min": 2}],
        "vehicles": [{"id": "V1", "depot": "d", "capacity_half_day": 40}],
        "bookings": [
            {"id": "X1", "name": XSS_NAME, "lon": 121.44, "lat": 31.18, "workers": 20,
             "package": "L1", "slots": ["AM"]},
            {"id": "X2", "name": "<b>二</b>", "lon": 121.45, "lat": 31.19, "workers": 30,
             "package": "L1", "slots": ["AM"]},
        ],
    }  # fmt: skip
    _set(driver, "route-json", json.dumps(request))
    _set(driver, "route-time", "1")
    driver.find_element(By.ID, "route-run").click()
    _ready(driver, "route")
    text = driver.find_element(By.ID, "route-panel").text
    assert XSS_NAME in text  # shown as text, not parsed
    assert "<b>二</b>" in text
    assert "capacity" in driver.find_element(By.ID, "route-unassigned").text
    assert not driver.find_elements(By.CSS_SELECTOR, "#route-panel img, #route-panel b")
    assert driver.execute_script("return window.__alerts.length") == 0
    request["bookings"][1].update(lon=120.15, lat=30.28)
    _set(driver, "route-json", json.dumps(request))
    driver.find_element(By.ID, "route-run").click()
    _ready(driver, "route-error")
    status = driver.find_element(By.ID, "pl-status").text
    assert "bookings[1] 'X2'" in status
    assert "outside the service area" in status
    assert [e for e in _problems(driver) if "422" not in e["message"]] == []
