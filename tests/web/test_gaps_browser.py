"""The gap report (a file opened offline) and the planner view, in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from api.cli import main
from tests.web.conftest import LiveServer, open_report

WAIT_S = 60

pytestmark = pytest.mark.browser


def _problems(driver: WebDriver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


@pytest.mark.parametrize("analysis", ["medical", "lunch"])
def test_html_report_renders_offline_without_console_errors(
    desktop_browser: WebDriver, tmp_path: Path, analysis: str
) -> None:
    out = tmp_path / f"{analysis}.html"
    assert main(["gaps", analysis, "--shipped", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<script src=" not in page
    assert "<link " not in page
    assert "OpenStreetMap" in page
    paths = open_report(desktop_browser, out, WAIT_S)
    assert paths > 0
    rows = desktop_browser.find_elements(By.CSS_SELECTOR, "table tbody tr")
    assert len(rows) > 0
    assert desktop_browser.find_elements(By.CSS_SELECTOR, "svg rect")
    assert "under-records" in desktop_browser.find_element(By.CLASS_NAME, "caveat").text
    assert _problems(desktop_browser) == []


def test_planner_shows_both_gap_layers(desktop_browser: WebDriver, live_server: LiveServer) -> None:
    driver = desktop_browser
    driver.get_log("browser")
    driver.get(live_server.url + "planner.html")
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "medical"
    )
    items = driver.find_elements(By.CSS_SELECTOR, "#pl-list li")
    assert len(items) > 0
    assert "分钟" in items[0].text
    assert "≈" in items[0].text
    assert "估计" in items[0].text
    assert driver.find_elements(By.CSS_SELECTOR, "#pl-legend .sw")
    driver.find_element(By.ID, "tab-lunch").click()
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "lunch"
    )
    assert "目标" in driver.find_element(By.ID, "pl-summary").text
    first = driver.find_elements(By.CSS_SELECTOR, "#pl-list li")[0]
    first.click()
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content")
    )
    assert _problems(driver) == []


def test_medical_panel_leaves_demo_points_out_unless_ticked(
    desktop_browser: WebDriver, live_server: LiveServer
) -> None:
    driver = desktop_browser
    driver.get_log("browser")
    driver.get(live_server.url + "planner.html?lang=en")
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "medical"
    )
    box = driver.find_element(By.ID, "in-include-demo")
    assert box.is_displayed()
    assert not box.is_selected()
    supply = driver.find_element(By.CSS_SELECTOR, "#pl-summary .pl-supply").text
    assert "Demonstration data left out: Park/building health service point 152" in supply
    flagged = driver.find_element(By.CSS_SELECTOR, "#pl-summary div").text
    driver.find_element(By.CSS_SELECTOR, "label[for='in-include-demo']").click()
    driver.find_element(By.CSS_SELECTOR, "#pl-form button[type=submit]").click()
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#pl-summary .pl-supply").text
        == "Demonstration data counted"
    )
    assert driver.find_element(By.CSS_SELECTOR, "#pl-summary div").text != flagged
    driver.find_element(By.ID, "tab-lunch").click()
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "lunch"
    )
    assert not driver.find_element(By.ID, "in-include-demo").is_displayed()
    assert _problems(driver) == []
