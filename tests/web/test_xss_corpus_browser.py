"""A corpus of XSS payloads in every text field of imported records and of bookings.

The payloads go in the way real data does: a district spreadsheet imported through the API,
submitted and approved, then read on the worker map (result list and popup); and check-up
bookings sent to the route planner, read in its panel and in the printable schedule. In
Chromium each page must show the payloads as text: no element, attribute or script of
theirs may appear, nothing may run, and the CSP must not have had to block anything (a
blocked inline handler means the escaping failed and only the second line of defence held).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.conftest import STAFF_PASSWORD, STAFF_USER, LiveServer, sign_in
from tests.web.pages import nearest_items, open_map, wait, wait_for_popup

pytestmark = pytest.mark.browser

# Each payload calls window.__xss(<its id>) if it ever runs.
CORPUS = [
    '<script>window.__xss("s1")</script>',
    '"><img src=x onerror=window.__xss("i2")>',
    "<svg/onload=window.__xss('v3')>",
    "javascript:window.__xss('j4')",
    "<a href=\"javascript:window.__xss('a5')\">点我</a>",
    "'><iframe srcdoc=\"<script>parent.__xss('f6')</script>\"></iframe>",
    "＜script＞window.__xss('w7')＜/script＞",  # full-width brackets: must stay text
    "\u202e<img src=x onerror=window.__xss('r8')>",  # right-to-left override
    "<b onmouseover=window.__xss('b9')>悬停</b><style>*{display:none}</style>",
    "{{constructor.constructor('window.__xss(\"t10\")')()}}",
    "<details open ontoggle=window.__xss('d11')>",
    "%3Cscript%3Ewindow.__xss('u12')%3C/script%3E",
]

CENTRE = (121.4760, 31.2290)  # beside People's Square

# Before any page script: record every call of __xss and every CSP violation.
TRAPS_JS = """
window.__xssFired = [];
window.__xss = (id) => window.__xssFired.push(String(id));
window.__cspBlocked = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__cspBlocked.push(e.violatedDirective + " " + (e.sample || e.blockedURI)));
"""

# Elements and attributes only a payload could have made.
INJECTED_JS = """
const found = [];
for (const el of document.querySelectorAll("*")) {
  for (const attr of el.attributes) {
    const name = attr.name.toLowerCase();
    const value = attr.value.trim().toLowerCase();
    if (name.startsWith("on")) found.push(el.tagName + "@" + name);
    if (["href", "src", "action", "formaction", "xlink:href"].includes(name)
        && value.startsWith("javascript:")) found.push(el.tagName + "@" + name);
    if (name === "srcdoc") found.push(el.tagName + "@srcdoc");
  }
}
for (const el of document.querySelectorAll("img[src='x'], svg[onload], details[ontoggle], iframe"))
  found.push(el.tagName);
for (const el of document.querySelectorAll("script:not([src])"))
  if (el.textContent.includes("__xss")) found.push("inline script");
return found;
"""


def _payload_rows() -> list[dict[str, Any]]:
    rows = []
    for i, payload in enumerate(CORPUS):
        lon = CENTRE[0] + 0.0012 * (i % 4)
        lat = CENTRE[1] + 0.0012 * (i // 4)
        rows.append({
            "名称": f"测试站{i + 1:02d} {payload}",
            "地址": f"黄浦区人民大道{i + 1}号 {payload}",
            "区": "黄浦区",
            "经度": f"{lon:.6f}", "纬度": f"{lat:.6f}",
            "联系人": payload[:40],
            "电话": "021-63211939",
            "开放时间": f"周一至周五 9:00-17:00 {payload}",
            "服务内容": f"饮水、充电 {payload}",
            "备注": payload,
        })  # fmt: skip
    return rows


def _csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def imported(live_server: LiveServer) -> list[dict[str, Any]]:
    """The corpus imported as relay stations by staff, submitted and approved (published)."""
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        token = http.post("api/v1/auth/token",
                          data={"username": STAFF_USER, "password": STAFF_PASSWORD})
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        rows = _payload_rows()
        answer = http.post(
            "api/v1/imports", headers=headers,
            files={"file": ("xss.csv", _csv_bytes(rows), "text/csv")},
            data={"layer": "relay_station", "crs": "wgs84", "dry_run": "false", "submit": "true"},
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert report["created"] == len(CORPUS), report
        ids = [o["record_id"] for o in report["outcomes"]]
        approved = http.post("api/v1/review/approve", json={"ids": ids}, headers=headers)
        assert approved.status_code == 200, approved.text
        facilities = [http.get(f"api/v1/facilities/{i}").json() for i in ids]
    for facility, row in zip(facilities, rows, strict=True):
        assert facility["name"] == row["名称"]  # kept as it was typed, not "cleaned"
    return facilities


def _trap(driver: WebDriver) -> None:
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TRAPS_JS})


def _assert_inert(driver: WebDriver) -> None:
    assert driver.execute_script("return window.__xssFired") == []
    assert driver.execute_script(INJECTED_JS) == []
    blocked = driver.execute_script("return window.__cspBlocked")
    assert [b for b in blocked if "script" in b or "frame" in b] == [], blocked


def test_imported_payloads_stay_text_on_the_worker_map(
    phone_browser: WebDriver, live_server: LiveServer, imported: list[dict[str, Any]]
) -> None:
    driver = phone_browser
    _trap(driver)
    open_map(driver, live_server)
    driver.execute_script("return window.servicemap.setNearestLayer('relay_station')")
    for facility in imported:
        driver.execute_script("window.servicemap.map.closePopup();"
                              "return window.servicemap.setLocation(arguments[0], arguments[1])",
                              facility["lon"], facility["lat"])  # fmt: skip
        wait(driver).until(lambda d, f=facility: (nearest_items(d) or [None])[0] is not None
                           and nearest_items(d)[0].get_attribute("data-facility-id") == f["id"])
        first = nearest_items(driver)[0]
        shown_name = first.find_element(By.CSS_SELECTOR, ".fac-name").get_attribute("textContent")
        assert shown_name.strip() == facility["name"].strip()  # the payload shown as typed
        first.find_element(By.CSS_SELECTOR, ".result-head").click()
        popup = wait_for_popup(driver)
        shown = popup.get_attribute("textContent")
        assert facility["address"] in shown  # the address, payload and all, as text
        _assert_inert(driver)


def test_booking_payloads_stay_text_in_the_planner_and_the_schedule(
    desktop_browser: WebDriver, live_server: LiveServer
) -> None:
    driver = desktop_browser
    _trap(driver)
    sign_in(driver, live_server)
    driver.get(live_server.url + "planner.html?lang=en")
    WebDriverWait(driver, 90).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "medical")
    driver.find_element(By.ID, "tab-route").click()
    bookings = [
        {"id": f"B{i}", "name": payload, "lon": 121.44 + 0.004 * (i % 4), "lat": 31.18 + 0.004 * (i // 4), "workers": 10,
         "package": "L1", "slots": ["AM", "PM"]}
        for i, payload in enumerate(CORPUS)
    ]  # fmt: skip
    request = {
        "days": 2,
        "depots": [{"id": "d", "name": CORPUS[1], "lon": 121.4336, "lat": 31.1730}],
        "packages": [{"id": "L1", "setup_min": 10, "per_worker_min": 2}],
        "vehicles": [{"id": "V1", "depot": "d", "capacity_half_day": 80}],
        "bookings": bookings,
    }
    driver.execute_script("document.getElementById('route-json').value = arguments[0];"
                          "document.getElementById('route-time').value = '1';",
                          json.dumps(request))  # fmt: skip
    driver.find_element(By.ID, "route-run").click()
    WebDriverWait(driver, 90).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready")
        in ("route", "route-error"))
    status = driver.find_element(By.ID, "pl-status").text
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "route", status
    panel = driver.find_element(By.ID, "route-panel").get_attribute("textContent")
    assert sum(payload in panel for payload in CORPUS) >= len(CORPUS) - 1  # names as text
    _assert_inert(driver)
    # the printable schedule, a page of its own, shows the same names as text
    driver.get(driver.find_element(By.ID, "route-schedule-link").get_attribute("href"))
    page = driver.find_element(By.TAG_NAME, "body").get_attribute("textContent")
    assert sum(payload in page for payload in CORPUS) >= len(CORPUS) - 1
    _assert_inert(driver)
