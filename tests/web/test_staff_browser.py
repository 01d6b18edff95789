"""The staff registry page (staff.html) in headless Chromium, as an editor and a reviewer.

One story in order (module-scoped browser): an editor of 普陀区 dry-runs a CSV with one bad
row and sees that row and its column flagged, commits the valid rows, drags a pin and saves,
meets a stale save (412), submits; a reviewer approves in bulk and issues a yellow card; the
history names the actors; English mode shows English. axe-core on every tab, no console
errors, phone and desktop screenshots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.web.conftest import STAFF_PASSWORD, LiveServer, sign_in
from tests.web.pages import axe_violations, console_problems, screenshot, wait, wrong_language

EDITOR, REVIEWER = "web_putuo_editor", "web_city_reviewer"
NAMES = ("普陀测试接力站甲", "普陀测试接力站乙", "普陀测试接力站丙", "普陀测试接力站丁")
CSV = (
    "名称,地址,区,经度,纬度,电话\n"
    f"{NAMES[0]},金沙江路1001号,普陀区,121.3950,31.2490,13812345678\n"
    f"{NAMES[1]},金沙江路1002号,普陀区,121.3960,31.2500,1391234567\n"
    f"{NAMES[2]},金沙江路1003号,普陀区,121.3970,31.2510,13812345679\n"
    f"{NAMES[3]},金沙江路1759号,普陀区,,,13812345670\n"  # placed only to the district
)
BAD_ROW = 3  # the CSV record number of the bad phone (the header is row 1)


def _fetch(driver: WebDriver, method: str, path: str, body: Any = None,
           headers: dict[str, str] | None = None) -> int:  # fmt: skip
    """A same-origin API call from the page with the session's CSRF token; its status."""
    status: int = driver.execute_async_script(
        """
        const [method, path, body, extra, done] = arguments;
        const csrf = (document.cookie.match(/servicemap_csrf=([^;]+)/) || [])[1];
        fetch(path, {method, credentials: "same-origin", headers: {"Content-Type":
          "application/json", "X-CSRF-Token": decodeURIComponent(csrf || ""), ...extra},
          body: body === null ? undefined : JSON.stringify(body)})
          .then((r) => done(r.status), () => done(0));
        """,
        method, path, body, headers or {},
    )
    return status


def _sign_in_as(driver: WebDriver, server: LiveServer, username: str) -> None:
    driver.delete_all_cookies()
    driver.get(server.url + "login.html")
    status = _fetch(driver, "POST", "api/v1/auth/login",
                    {"username": username, "password": STAFF_PASSWORD})  # fmt: skip
    assert status == 200, f"login of {username} answered {status}"


def _open(driver: WebDriver, server: LiveServer, query: str = "") -> None:
    driver.get(server.url + "staff.html" + query)
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")


def _tab(driver: WebDriver, name: str) -> None:
    driver.find_element(By.ID, f"tab-{name}").click()
    assert driver.find_element(By.ID, f"panel-{name}").is_displayed()


def _status(driver: WebDriver) -> str:
    return str(driver.find_element(By.ID, "st-status").text)


@pytest.fixture(scope="module")
def accounts(desktop_browser: WebDriver, live_server: LiveServer) -> None:
    """An editor of 普陀区 and a city reviewer, created by the admin through the users API."""
    sign_in(desktop_browser, live_server)
    for name, role, district in ((EDITOR, "editor", "普陀区"), (REVIEWER, "reviewer", None)):
        status = _fetch(desktop_browser, "POST", "api/v1/users", {
            "username": name, "role": role, "district": district, "password": STAFF_PASSWORD})
        assert status == 201, f"creating {name} answered {status}"


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("staff-import") / "普陀区接力站.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_editor_imports_edits_and_submits(desktop_browser: WebDriver, live_server: LiveServer,
                                          accounts: None, csv_file: Path,
                                          artifacts_dir: Path) -> None:  # fmt: skip
    driver = desktop_browser
    _sign_in_as(driver, live_server, EDITOR)
    _open(driver, live_server, "?lang=zh")
    driver.get_log("browser")
    assert not driver.find_element(By.ID, "tab-review").is_displayed()  # editors do not review
    assert axe_violations(driver) == []

    # dry run: the bad row and its column are flagged, in Chinese
    Select(driver.find_element(By.ID, "imp-layer")).select_by_value("relay_station")
    Select(driver.find_element(By.ID, "imp-crs")).select_by_value("wgs84")
    driver.find_element(By.ID, "imp-file").send_keys(str(csv_file))
    driver.find_element(By.ID, "imp-dry").click()
    wait(driver).until(lambda d: d.find_elements(By.ID, "imp-summary"))
    bad = driver.find_element(By.CSS_SELECTOR, f'tr.st-outcome[data-row="{BAD_ROW}"]')
    assert "error" in bad.get_attribute("class")
    cell = bad.find_element(By.CSS_SELECTOR, "li.st-problem.error")
    assert cell.get_attribute("data-column") == "F"
    assert "F 列" in cell.text
    assert "电话号码" in cell.text
    good = driver.find_elements(By.CSS_SELECTOR, "tr.st-outcome.created")
    assert len(good) == 3
    assert axe_violations(driver) == []
    screenshot(driver, artifacts_dir, "staff-import-desktop")

    # commit the valid rows
    driver.find_element(By.ID, "imp-commit-valid").click()
    wait(driver).until(lambda d: "已写入" in d.find_element(By.ID, "imp-summary").text)
    assert "新建 3" in driver.find_element(By.ID, "imp-summary").text
    assert not driver.find_element(By.ID, "imp-actions").is_displayed()

    # the records tab: the three drafts; the coarse one offers the gazetteer's candidates
    _tab(driver, "records")
    Select(driver.find_element(By.ID, "rec-state")).select_by_value("draft")
    driver.find_element(By.CSS_SELECTOR, '#rec-filter button[type="submit"]').click()
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#rec-list tbody tr")) == 3)
    rows = driver.find_elements(By.CSS_SELECTOR, "#rec-list tbody tr")
    assert sorted(r.find_element(By.CSS_SELECTOR, "td:nth-child(2)").text for r in rows) == sorted(
        [NAMES[0], NAMES[2], NAMES[3]])
    coarse = next(r for r in rows if NAMES[3] in r.text)
    assert "位置粗略" in coarse.text
    coarse.find_element(By.CSS_SELECTOR, ".st-edit").click()
    candidate = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, ".st-candidate"))
    assert "金沙江路" in candidate.text
    candidate.click()
    assert int(driver.find_element(By.ID, "ed-moved").get_attribute("data-metres")) > 100

    # edit the first and drag its pin
    rows = driver.find_elements(By.CSS_SELECTOR, "#rec-list tbody tr")
    first = next(r for r in rows if NAMES[0] in r.text)
    record_id = first.get_attribute("data-id")
    first.find_element(By.CSS_SELECTOR, ".st-edit").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "rec-editor").get_attribute("data-id")
                       == record_id)  # fmt: skip
    pin = driver.find_element(By.CSS_SELECTOR, "#rec-map .leaflet-marker-icon")
    assert "拖动图钉" in driver.find_element(By.ID, "ed-moved").text
    ActionChains(driver).drag_and_drop_by_offset(pin, 60, 0).perform()
    moved = driver.find_element(By.ID, "ed-moved")
    metres = int(moved.get_attribute("data-metres"))
    assert 20 < metres < 2000, metres
    assert f"{metres} 米" in moved.text
    assert axe_violations(driver) == []
    driver.execute_script("document.getElementById('rec-editor').scrollIntoView()")
    screenshot(driver, artifacts_dir, "staff-editor-desktop")
    driver.find_element(By.ID, "ed-save").click()
    wait(driver).until(lambda d: "已保存" in d.find_element(By.ID, "ed-message").text)
    assert "拖动图钉" in driver.find_element(By.ID, "ed-moved").text  # the new origin

    # a stale save: someone else changes the record, this page's save is refused with 412
    assert _fetch(driver, "PATCH", f"api/v1/facilities/{record_id}", {"phone": "021-62001234"},
                  {"If-Match": "*"}) == 200  # fmt: skip
    name = driver.find_element(By.ID, "ed-name")
    name.clear()
    name.send_keys(NAMES[0] + "（新）")
    driver.find_element(By.ID, "ed-save").click()
    message = driver.find_element(By.ID, "ed-message")
    wait(driver).until(lambda d: message.get_attribute("data-status") == "412")
    assert "别人在您打开后修改了这条记录" in message.text
    driver.find_element(By.ID, "ed-reload").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "ed-phone").get_attribute("value")
                       == "021-62001234")  # fmt: skip

    # submit both drafts
    for box in driver.find_elements(By.CSS_SELECTOR, "#rec-list .st-select"):
        box.click()
    driver.find_element(By.ID, "rec-submit").click()
    wait(driver).until(lambda d: "已提交 3 条" in _status(d))
    # the one deliberate stale save is the only network error the browser logs
    problems = console_problems(driver)
    stale = [p for p in problems if "status of 412" in p["message"]]
    assert len(stale) == 1
    assert [p for p in problems if p not in stale] == []


def test_reviewer_approves_in_bulk_issues_a_yellow_card_and_reads_history(
    desktop_browser: WebDriver, live_server: LiveServer, accounts: None, artifacts_dir: Path,
) -> None:
    driver = desktop_browser
    _sign_in_as(driver, live_server, REVIEWER)
    _open(driver, live_server, "?lang=zh&tab=review")
    driver.get_log("browser")
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#rev-list tbody tr")) >= 3)
    rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "#rev-list tbody tr")
            if any(n in r.text for n in NAMES)]  # fmt: skip
    assert len(rows) == 3
    assert "→" in rows[0].find_element(By.CSS_SELECTOR, ".st-changes").text
    assert axe_violations(driver) == []
    screenshot(driver, artifacts_dir, "staff-review-desktop")
    for row in rows:
        row.find_element(By.CSS_SELECTOR, ".st-select").click()
    driver.find_element(By.ID, "rev-approve").click()
    wait(driver).until(lambda d: "已批准 3 条" in _status(d))
    recent = driver.find_elements(By.CSS_SELECTOR, "#rev-recent tbody tr")
    assert len(recent) == 3
    target = next(r for r in recent if NAMES[0] in r.text)
    record_id = target.get_attribute("data-id")

    target.find_element(By.CSS_SELECTOR, ".st-card-open").click()
    dialog = driver.find_element(By.ID, "card-dialog")
    assert dialog.is_displayed()
    assert axe_violations(driver) == []
    driver.find_element(By.ID, "card-reason").send_keys("饮水机损坏，限期整改")
    driver.execute_script("document.getElementById('card-deadline').value = '2099-12-31'")
    driver.find_element(By.ID, "card-issue").click()
    wait(driver).until(lambda d: "已向" in _status(d))
    assert not dialog.is_displayed()
    assert "黄牌" in _status(driver)

    # the history names the reviewer (card, approval) and the editor (edit, import)
    _tab(driver, "history")
    driver.find_element(By.ID, "hist-id").send_keys(record_id)
    driver.find_element(By.CSS_SELECTOR, '#hist-form button[type="submit"]').click()
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#hist-list tbody tr"))
    entries = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#hist-list tbody tr")]
    assert REVIEWER in entries[0]
    assert "发放黄牌" in entries[0]
    assert any("批准" in e and REVIEWER in e for e in entries)
    assert any("修改" in e and EDITOR in e for e in entries)
    assert any("导入新建" in e and EDITOR in e for e in entries)
    assert axe_violations(driver) == []

    # English mode: the same history in English
    driver.find_element(By.ID, "btn-lang").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "tab-history").text == "History")
    entries = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#hist-list tbody tr")]
    assert "yellow card issued" in entries[0]
    assert any("created by import" in e for e in entries)
    assert driver.find_element(By.CSS_SELECTOR, "#hist-list th").text == "When"
    assert wrong_language(driver) == []
    assert axe_violations(driver) == []
    _tab(driver, "records")
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rec-list tbody tr"))
    assert axe_violations(driver) == []
    driver.find_element(By.ID, "btn-lang").click()  # back to Chinese for the next test
    assert console_problems(driver) == []

    # the planner's account corner links signed-in staff to these pages
    driver.get(live_server.url + "planner.html")
    link = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "#pl-account #link-staff"))
    assert link.text == "登记管理"
    assert link.get_attribute("href").endswith("/staff.html")


def test_english_import_report_and_phone_width(
    phone_browser: WebDriver, live_server: LiveServer, accounts: None, csv_file: Path,
    artifacts_dir: Path,
) -> None:
    driver = phone_browser
    _sign_in_as(driver, live_server, EDITOR)
    _open(driver, live_server, "?lang=en")
    driver.get_log("browser")
    assert driver.find_element(By.ID, "tab-import").text == "Import"
    Select(driver.find_element(By.ID, "imp-layer")).select_by_value("relay_station")
    Select(driver.find_element(By.ID, "imp-crs")).select_by_value("wgs84")
    driver.find_element(By.ID, "imp-file").send_keys(str(csv_file))
    driver.find_element(By.ID, "imp-dry").click()
    wait(driver).until(lambda d: d.find_elements(By.ID, "imp-summary"))
    cell = driver.find_element(By.CSS_SELECTOR, f'tr[data-row="{BAD_ROW}"] li.st-problem.error')
    assert "Column F" in cell.text
    assert "phone number" in cell.text
    assert wrong_language(driver) == []
    # a re-import: the untouched row is unchanged, the one whose pin and phone were edited
    # would be updated back to the sheet
    summary = driver.find_element(By.ID, "imp-summary").text
    assert "1 updated, 2 unchanged, 1 with errors" in summary
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    assert axe_violations(driver) == []
    screenshot(driver, artifacts_dir, "staff-import-phone")
    _tab(driver, "records")
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rec-list tbody tr"))
    driver.find_element(By.CSS_SELECTOR, "#rec-list .st-edit").click()
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rec-map .leaflet-marker-icon"))
    wide = driver.execute_script(
        "return [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 392)"
        ".slice(0, 8).map((e) => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))")
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 390, wide
    driver.execute_script("document.getElementById('rec-editor').scrollIntoView()")
    screenshot(driver, artifacts_dir, "staff-editor-phone")
    assert console_problems(driver) == []
