"""One language at a time: no Chinese on the English pages and no English on the Chinese
pages (worker map, its popups and panels, every planner tab), in what a person sees.

The scan (``pages.wrong_language``) reads visible text, labels and options. Its documented
exceptions: text marked with its own ``lang`` (a facility's Chinese name on the English page,
the English OpenStreetMap licence notice), names from the data marked ``translate="no"`` on
the Chinese page, and a few Latin names used as such in Chinese (``ZH_PAGE_LATIN_ALLOWED``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.conftest import LiveServer, sign_in
from tests.web.pages import (
    console_problems,
    nearest_items,
    open_map,
    screenshot,
    wait,
    wait_for_popup,
    wrong_language,
)

pytestmark = pytest.mark.browser

PLANNER_WAIT_S = 90
PEOPLES_SQUARE = (121.4705745, 31.2346189)  # the training site's own point


def _ready(driver: WebDriver, value: str) -> None:
    WebDriverWait(driver, PLANNER_WAIT_S, poll_frequency=0.2).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == value
    )


def test_both_string_tables_have_the_same_keys(
    phone_browser: WebDriver, live_server: LiveServer
) -> None:
    open_map(phone_browser, live_server)
    missing = phone_browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        import("./i18n.js").then(({ STRINGS }) => {
          const zh = Object.keys(STRINGS.zh), en = Object.keys(STRINGS.en);
          done({ onlyZh: zh.filter((k) => !(k in STRINGS.en)), onlyEn: en.filter((k) => !(k in STRINGS.zh)),
                 count: zh.length });
        });
        """
    )
    assert missing["onlyZh"] == []
    assert missing["onlyEn"] == []
    assert missing["count"] > 300


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_worker_map_speaks_one_language(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path, lang: str
) -> None:
    driver = phone_browser
    # The offline basemap's notice is shown in the language the page started in ...
    open_map(driver, live_server, "?lang=" + ("zh" if lang == "en" else "en"))
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".map-notice[data-key=basemap]"))
    # ... and follows a switch, like every other notice.
    driver.execute_script("window.servicemap.setLanguage(arguments[0])", lang)
    notice = driver.find_element(By.CSS_SELECTOR, ".map-notice[data-key=basemap]").text
    assert ("offline" in notice) == (lang == "en"), notice
    assert wrong_language(driver) == []
    # training sites at People's Square: the site itself, then its popup and the layer panel
    driver.execute_script("return window.servicemap.setNearestLayer('training_site')")
    driver.execute_script("return window.servicemap.setLocation(arguments[0], arguments[1])", *PEOPLES_SQUARE)
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    first = nearest_items(driver)[0]
    assert first.find_element(By.CSS_SELECTOR, ".result-distance").text == (
        "You are here" if lang == "en" else "就在此处")
    assert wrong_language(driver) == [], "list"
    driver.execute_script("window.servicemap.setSheetState('full')")
    screenshot(driver, artifacts_dir, f"language-{lang}-list")
    first.find_element(By.CSS_SELECTOR, ".result-head").click()
    popup = wait_for_popup(driver)
    text = popup.text
    if lang == "en":
        assert "District: Huangpu" in text, text
        assert "：" not in text  # full-width colons belong to the Chinese page
        assert "Source: List of the Shanghai Federation of Trade Unions' 2023 projects" in text
        name = popup.find_element(By.CSS_SELECTOR, ".fac-name")
        assert name.get_attribute("lang") == "zh-CN"  # no English name: Chinese, marked so
    else:
        assert "所在区：黄浦区" in text
        assert "来源：上海市总工会2023年实事项目名单" in text
    assert wrong_language(driver) == [], "popup"
    screenshot(driver, artifacts_dir, f"language-{lang}-popup")
    driver.execute_script("window.servicemap.map.closePopup()")
    # relay stations hosted by metro stations have an English name: the English page uses it
    driver.execute_script("return window.servicemap.setNearestLayer('relay_station')")
    driver.execute_script("return window.servicemap.setLocation(121.4737, 31.2304)")
    wait(driver).until(lambda d: len(nearest_items(d)) == 5)
    names = driver.find_elements(By.CSS_SELECTOR, "#nearest-list .fac-name")
    english = [n.text for n in names if not n.get_attribute("lang")]
    if lang == "en":
        assert any(re.search(r" at .+ metro station$", n) for n in english), english
        assert all(not re.search(r"[\u4e00-\u9fff]", n) for n in english), english
    assert wrong_language(driver) == [], "relay list"
    driver.find_element(By.ID, "btn-layers").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "layer-panel").is_displayed())
    assert wrong_language(driver) == [], "layer panel"
    driver.find_element(By.ID, "btn-layers-close").click()
    assert console_problems(driver) == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_location_errors_are_worded_by_the_page(
    phone_browser: WebDriver, live_server: LiveServer, lang: str
) -> None:
    driver = phone_browser
    open_map(driver, live_server, f"?basemap=offline&lang={lang}")
    # the browser's own message ("User denied Geolocation") never reaches the page
    driver.execute_script(
        "navigator.geolocation.getCurrentPosition = (ok, fail) =>"
        " fail({code: 1, message: 'User denied Geolocation'});"
    )
    driver.find_element(By.ID, "btn-locate-sheet").click()
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".map-notice[data-key=locate]"))
    notice = driver.find_element(By.CSS_SELECTOR, ".map-notice[data-key=locate]").text
    assert "User denied" not in notice
    assert ("permission" in notice) == (lang == "en"), notice
    assert wrong_language(driver) == []


def _run_route_sample(driver: WebDriver) -> None:
    driver.find_element(By.ID, "tab-route").click()
    driver.find_element(By.ID, "route-sample").click()
    WebDriverWait(driver, PLANNER_WAIT_S).until(
        lambda d: d.find_element(By.ID, "route-json").get_attribute("value").startswith("{")
    )
    driver.execute_script("document.getElementById('route-time').value = '2'")
    driver.find_element(By.ID, "route-run").click()
    _ready(driver, "route")


def _run_small_plan(driver: WebDriver) -> None:
    driver.find_element(By.ID, "tab-plan").click()
    WebDriverWait(driver, PLANNER_WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#plan-candidates input"))
    driver.execute_script(
        "for (const [id, v] of [['plan-new', '2'], ['plan-district-min', '0'],"
        " ['plan-curve-points', '1,2']]) document.getElementById(id).value = v;"
    )
    driver.find_element(By.CSS_SELECTOR, "#plan-form button[type=submit]").click()
    _ready(driver, "plan")


def _open_first_popup(driver: WebDriver, selector: str) -> None:
    driver.find_element(By.CSS_SELECTOR, selector).click()
    wait_for_popup(driver)


def test_planner_speaks_one_language_on_every_tab(
    desktop_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    driver = desktop_browser
    driver.get_log("browser")
    sign_in(driver, live_server)
    driver.get(live_server.url + "planner.html?lang=en")
    _ready(driver, "medical")
    # a link back to the worker map, and the same language switch
    assert driver.find_element(By.ID, "link-map").get_attribute("href") == live_server.url
    assert driver.find_element(By.ID, "btn-lang").text == "中文"
    _open_first_popup(driver, "#pl-list .pl-item")
    reason = driver.find_element(By.CSS_SELECTOR, "#pl-list .pl-reason").text
    assert reason.startswith("The nearest medical care"), reason
    found = {"medical": wrong_language(driver)}
    driver.find_element(By.ID, "tab-lunch").click()
    _ready(driver, "lunch")
    found["lunch"] = wrong_language(driver)
    _run_small_plan(driver)
    _open_first_popup(driver, "#plan-sites .pl-item")
    found["plan"] = wrong_language(driver)
    screenshot(driver, artifacts_dir, "planner-en-plan")
    _run_route_sample(driver)
    found["route"] = wrong_language(driver)
    screenshot(driver, artifacts_dir, "planner-en-routes")
    # the same pages in Chinese, after the switch (the answers are worded again)
    driver.find_element(By.ID, "btn-lang").click()
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script("return document.documentElement.lang") == "zh-CN")
    found["route zh"] = wrong_language(driver)
    screenshot(driver, artifacts_dir, "planner-zh-routes")
    driver.find_element(By.ID, "tab-plan").click()
    found["plan zh"] = wrong_language(driver)
    driver.find_element(By.ID, "tab-medical").click()
    _ready(driver, "medical")
    _open_first_popup(driver, "#pl-list .pl-item")
    found["medical zh"] = wrong_language(driver)
    screenshot(driver, artifacts_dir, "planner-zh-medical")
    assert {tab: hits for tab, hits in found.items() if hits} == {}
    assert console_problems(driver) == []
