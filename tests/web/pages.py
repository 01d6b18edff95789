"""Shared helpers of the browser tests: opening the pages, waiting, the console, screenshots,
accessibility (axe-core) and the one-language scan of visible text."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.conftest import LiveServer

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


def wait(driver: WebDriver) -> WebDriverWait:
    """A wait that polls every 0.1 s (the default 0.5 s adds up over the module).

    An element the page redrew while the condition read it is tried again at the next poll.
    """
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,))


def text_of(element: Any) -> str:
    """An element's text whether or not it is scrolled into view."""
    return str(element.get_attribute("textContent"))


def open_map(driver: WebDriver, server: LiveServer, query: str = "?basemap=offline") -> None:
    """Load the page (console log emptied first) and wait until it is ready."""
    flush_console(driver)
    driver.get(server.url + query)
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready || null"))
    state = driver.execute_script("return document.body.dataset.ready")
    assert state == "true", f"the map did not start (state {state!r})"


def console_problems(driver: WebDriver) -> list[dict[str, Any]]:
    """Browser log entries at SEVERE or WARNING level since the last read."""
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def flush_console(driver: WebDriver) -> None:
    driver.get_log("browser")


def nearest_items(driver: WebDriver) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, "#nearest-list > li.result")


def nearest_query(driver: WebDriver) -> dict[str, Any]:
    """The page's last /nearest request parameters, the server's echo and the status."""
    query: dict[str, Any] = driver.execute_script("return window.servicemap.getNearestQuery()")
    return query


def wait_for_profile(driver: WebDriver, profile: str, n_items: int = 5) -> None:
    """Wait until the list shows the answer of a search with this travel profile."""
    wait(driver).until(
        lambda d: (
            (nearest_query(d)["query"] or {}).get("profile") == profile
            and len(nearest_items(d)) == n_items
            and d.find_element(By.ID, "nearest-list").get_attribute("aria-busy") == "false"
        )
    )


def tap_map(driver: WebDriver) -> None:
    """Tap an empty spot of the map near its centre."""
    offset = driver.execute_script(FIND_EMPTY_POINT_JS)
    assert offset is not None, "no empty spot to tap on the map"
    ActionChains(driver).move_to_element_with_offset(
        driver.find_element(By.ID, "map"), round(offset[0]), round(offset[1])
    ).click().perform()


def api_nearest(
    server: LiveServer, lon: float, lat: float, layer: str, profile: str = "walk"
) -> dict[str, Any]:
    query = urllib.parse.urlencode(
        {"lon": lon, "lat": lat, "layer": layer, "k": 5, "profile": profile}
    )
    with urllib.request.urlopen(f"{server.url}api/v1/nearest?{query}", timeout=10) as answer:
        return json.load(answer)


def wait_for_popup(driver: WebDriver) -> Any:
    """The open popup's content, once its fade-in animation has finished."""
    wait(driver).until(
        lambda d: d.execute_script(
            "const p = document.querySelector('.leaflet-popup');"
            "return p !== null && getComputedStyle(p).opacity === '1';"
        )
    )
    return driver.find_element(By.CSS_SELECTOR, ".leaflet-popup-content")


def screenshot(driver: WebDriver, artifacts_dir: Path, name: str) -> None:
    """Save a screenshot once no zoom animation is running."""
    wait(driver).until(
        lambda d: d.execute_script("return !document.querySelector('.leaflet-zoom-anim')")
    )
    path = artifacts_dir / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"


# --- accessibility: axe-core ------------------------------------------------------------------
AXE_PATH = Path(__file__).parent / "vendor" / "axe.min.js"


def axe_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """Run axe-core (vendored, injected into the page) on the whole document; its violations
    as {id, impact, help, nodes: [target, …]}."""
    if not driver.execute_script("return Boolean(window.axe)"):
        driver.execute_script(AXE_PATH.read_text(encoding="utf-8"))
    result: list[dict[str, Any]] = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        window.axe.run(document, {resultTypes: ["violations"]}).then(
          (r) => done(r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => [n.target.join(" "), n.failureSummary]),
          }))),
          (e) => done([{id: "axe-error", impact: "critical", help: String(e), nodes: []}]));
        """
    )
    return result


# --- one language at a time: a scan of what a person sees --------------------------------------
#: Latin words allowed on the Chinese page: names of things that are written so in Chinese
#: too (the data source, its licence, formats, the coordinate system). Single letters with
#: digits (the check-up packages L1–L4) are not words. Everything else in Latin letters is a
#: missing translation.
ZH_PAGE_LATIN_ALLOWED = ("OpenStreetMap", "OSM", "ODbL", "WGS84", "JSON", "CSV")

# Visible text nodes and labels (aria-label, title, placeholder, alt, select options) of the
# page, skipping elements marked with another language (lang="zh-CN" names on the English
# page, the English licence notice) and, on the Chinese page, names from the data marked
# translate="no" (OpenStreetMap names mixing Latin and Chinese). Returns [[where, text], …].
VISIBLE_TEXT_JS = r"""
const page = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
const other = (el) => {
  const marked = el.closest("[lang]");
  if (marked && !marked.lang.startsWith(page)) return true;
  // names from the data (translate="no") may mix scripts: "Covestro 健康服务点" is still Chinese
  return page === "zh" && el.closest('[translate="no"]') !== null;
};
const shown = (el) => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
const out = [["title", document.title]];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const el = node.parentElement;
  if (!el || ["SCRIPT", "STYLE", "NOSCRIPT", "OPTION"].includes(el.tagName)) continue;
  const text = node.textContent.trim();
  if (!text || other(el) || !shown(el)) continue;
  out.push([el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.className, text]);
}
for (const el of document.body.querySelectorAll("[aria-label], [title], [placeholder], img[alt]")) {
  if (other(el) || !shown(el)) continue;
  for (const name of ["aria-label", "title", "placeholder", "alt"]) {
    const value = (el.getAttribute(name) || "").trim();
    if (value) out.push([el.tagName.toLowerCase() + "@" + name, value]);
  }
}
for (const select of document.body.querySelectorAll("select")) {
  if (other(select) || !shown(select)) continue;
  for (const option of select.options) out.push(["option", option.text.trim()]);
}
return out;
"""

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def wrong_language(driver: WebDriver) -> list[tuple[str, str]]:
    """Visible text in the other language than the page's: Chinese characters (full-width
    punctuation included) on the English page, Latin words (other than the allow-list) on
    the Chinese page. Text marked with its own lang attribute is a proper noun and skipped."""
    lang = driver.execute_script("return document.documentElement.lang")
    found = []
    for where, text in driver.execute_script(VISIBLE_TEXT_JS):
        if lang.startswith("en"):
            if CJK.search(text):
                found.append((where, text))
        else:
            rest = text
            for word in ZH_PAGE_LATIN_ALLOWED:
                rest = rest.replace(word, "")
            if LATIN_WORD.search(rest):
                found.append((where, text))
    return found
