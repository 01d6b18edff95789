"""The basemaps in headless Chromium: the offline vector basemap's labels, a GCJ-02 source.

The offline basemap is checked through the labels protomaps-leaflet has placed (its label
index, read by ``Basemap.renderedLabels()``) and through the canvas pixels at those labels.
The GCJ-02 test runs a second application configured with an Amap source whose tiles come
from a fake tile server on another loopback port, so nothing reaches the internet; the
marker and click positions are measured against the tile grid (tile ``<img>`` elements and
their z/x/y), independently of Leaflet's projection. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import math
import re
import struct
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from api.main import create_app
from api.settings import Settings
from geo.crs import from_wgs84, haversine_m, to_wgs84
from layers.registry.schema import Facility
from tests.web.conftest import LiveServer, _free_port

pytestmark = pytest.mark.browser

WAIT_S = 30
PEOPLES_SQUARE = (121.4737, 31.2304)  # lon, lat
# Streets around People's Square that OSM names (name, name:en).
NEARBY_STREETS = {
    "西藏中路": "Middle Xizang Road",
    "人民大道": "People's Avenue",
    "延安东路": "East Yan'an Road",
    "九江路": "Jiujiang Road",
    "汉口路": "Hankou Road",
    "福州路": "Fuzhou Road",
    "广东路": "Guangdong Road",
    "北海路": "Beihai Road",
    "金陵东路": "East Jinling Road",
    "淮海中路": "Middle Huaihai Road",
}
DISTRICTS = ("黄浦区", "静安区", "徐汇区", "长宁区", "普陀区", "虹口区", "杨浦区", "浦东新区")
TEST_FACILITY = Facility(
    id="relay_station:test-gcj02",
    layer="relay_station",
    name="GCJ-02 测试站",
    name_en="GCJ-02 test station",
    district="黄浦区",
    address="人民大道",
    lon=121.47912,
    lat=31.23161,
    services=["water"],
    source="test fixture",
    demo=True,
)


def _wait(driver: WebDriver, seconds: float = WAIT_S) -> WebDriverWait:
    return WebDriverWait(driver, seconds, poll_frequency=0.1)


def _console_problems(driver: WebDriver) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def _open(driver: WebDriver, url: str) -> None:
    driver.get_log("browser")
    driver.get(url)
    _wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready || null"))
    assert driver.execute_script("return document.body.dataset.ready") == "true"


def _view(driver: WebDriver, lon: float, lat: float, zoom: int) -> None:
    driver.execute_script(
        "window.servicemap.map.setView([arguments[1], arguments[0]], arguments[2], "
        "{animate: false});",
        lon,
        lat,
        zoom,
    )


def _labels(driver: WebDriver, script: str = "window.servicemap.basemap") -> list[dict[str, Any]]:
    labels: list[dict[str, Any]] = driver.execute_script(f"return {script}.renderedLabels()")
    return labels


def _wait_for_labels(
    driver: WebDriver, wanted: set[str], at_least: int, script: str = "window.servicemap.basemap"
) -> list[dict[str, Any]]:
    """Wait until the basemap has placed at least `at_least` of the wanted names."""
    _wait(driver).until(
        lambda d: len({lb["text"] for lb in _labels(d, script)} & wanted) >= at_least
    )
    # let the last tiles settle: the label set stops changing
    previous: list[str] = []
    for _ in range(30):
        current = sorted(lb["text"] for lb in _labels(driver, script))
        if current == previous:
            break
        previous = current
        time.sleep(0.2)
    return _labels(driver, script)


# Count dark (text) pixels of the basemap's canvas tiles around each label anchor.
DARK_PIXELS_AT_LABELS_JS = """
const labels = arguments[0];
const container = arguments[1] ? document.querySelector(arguments[1]) : window.servicemap.map.getContainer();
const box = container.getBoundingClientRect();
const canvases = [...container.querySelectorAll(".leaflet-basemap-pane canvas.leaflet-tile")];
// read through one scratch canvas made for readback (no console warning about it)
const scratch = document.createElement("canvas");
const ctx = scratch.getContext("2d", {willReadFrequently: true});
return labels.map((label) => {
  const px = box.left + label.x, py = box.top + label.y;
  let dark = 0;
  for (const canvas of canvases) {
    const r = canvas.getBoundingClientRect();
    if (px < r.left - 20 || px > r.right + 20 || py < r.top - 20 || py > r.bottom + 20) continue;
    const sx = canvas.width / r.width, sy = canvas.height / r.height;
    const x0 = Math.max(0, Math.round((px - r.left - 20) * sx));
    const y0 = Math.max(0, Math.round((py - r.top - 20) * sy));
    const x1 = Math.min(canvas.width, Math.round((px - r.left + 20) * sx));
    const y1 = Math.min(canvas.height, Math.round((py - r.top + 20) * sy));
    if (x1 <= x0 || y1 <= y0) continue;
    scratch.width = x1 - x0;
    scratch.height = y1 - y0;
    ctx.drawImage(canvas, x0, y0, x1 - x0, y1 - y0, 0, 0, x1 - x0, y1 - y0);
    const data = ctx.getImageData(0, 0, x1 - x0, y1 - y0).data;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && data[i] + data[i + 1] + data[i + 2] < 3 * 110) dark += 1;
    }
  }
  return dark;
});
"""


def _labels_drawn(driver: WebDriver, labels: list[dict[str, Any]], container: str = "") -> int:
    """How many labels have text pixels on the basemap canvas near their anchor."""
    counts: list[int] = driver.execute_script(DARK_PIXELS_AT_LABELS_JS, labels, container)
    return sum(1 for count in counts if count >= 8)


def _screenshot(driver: WebDriver, artifacts_dir: Path, name: str) -> Path:
    _wait(driver).until(
        lambda d: d.execute_script("return !document.querySelector('.leaflet-zoom-anim')")
    )
    path = artifacts_dir / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    return path


def test_offline_basemap_names_the_streets_at_zoom_17(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path
) -> None:
    driver = phone_browser
    _open(driver, live_server.url + "?lang=zh")  # online tiles unreachable: the probe fails
    assert driver.execute_script("return window.servicemap.basemap.source") == "offline"
    _view(driver, *PEOPLES_SQUARE, 17)
    labels = _wait_for_labels(driver, set(NEARBY_STREETS), 3)
    names = {label["text"] for label in labels}
    assert len(names & set(NEARBY_STREETS)) >= 3, names
    size = driver.execute_script("const s = window.servicemap.map.getSize(); return [s.x, s.y];")
    assert all(0 <= lb["x"] <= size[0] and 0 <= lb["y"] <= size[1] for lb in labels)
    # The placed labels are painted: dark text pixels on the canvas at most of them.
    assert _labels_drawn(driver, labels) >= max(3, len(labels) // 2)
    _screenshot(driver, artifacts_dir, "basemap-offline-zh-z17-check")

    driver.execute_script("window.servicemap.setLanguage('en')")
    english = set(NEARBY_STREETS.values())
    labels = _wait_for_labels(driver, english, 3)
    names = {label["text"] for label in labels}
    assert len(names & english) >= 3, names
    # Chinese remains only where OSM has no English name for a way: a minority.
    latin = [name for name in names if re.search(r"[A-Za-z]", name)]
    assert len(latin) >= 2 * (len(names) - len(latin)), names
    driver.execute_script("window.servicemap.setLanguage('zh')")
    assert _console_problems(driver) == []


def test_offline_basemap_labels_districts_at_zoom_12(
    phone_browser: WebDriver, live_server: LiveServer
) -> None:
    """createBasemap() on any Leaflet map: district names at zoom 12; on the main page the
    districts overlay labels them and the basemap leaves them out."""
    driver = phone_browser
    _open(driver, live_server.url + "?lang=zh")
    _view(driver, *PEOPLES_SQUARE, 12)
    assert len(driver.find_elements(By.CSS_SELECTOR, ".district-label")) == 16
    on_page = {label["text"] for label in _labels(driver)}
    assert not on_page & set(DISTRICTS), "the main page's basemap should not repeat district names"

    driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const box = document.createElement("div");
        box.id = "standalone-map";
        box.style.cssText = "position:fixed;left:0;top:0;width:390px;height:600px;z-index:9999";
        document.body.append(box);
        const map = window.L.map(box, {zoomControl: false}).setView([31.2304, 121.4737], 12);
        import("./js/basemap.js")
          .then((m) => m.createBasemap(map))
          .then((basemap) => { window.__standalone = basemap; done(basemap.source); });
        """
    )
    assert driver.execute_script("return window.__standalone.source") == "offline"
    labels = _wait_for_labels(driver, set(DISTRICTS), 4, script="window.__standalone")
    names = {label["text"] for label in labels}
    assert len(names & set(DISTRICTS)) >= 4, names
    districts = [label for label in labels if label["text"] in DISTRICTS]
    assert _labels_drawn(driver, districts, "#standalone-map") >= 3
    driver.execute_script(
        "window.__standalone.map.remove(); document.getElementById('standalone-map').remove();"
    )
    assert _console_problems(driver) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_offline_basemap_screenshots(
    phone_browser: WebDriver, live_server: LiveServer, artifacts_dir: Path, lang: str
) -> None:
    """Screenshots at 390×844 for a person to judge (zoom 13, 16, 17 around People's Square)."""
    driver = phone_browser
    _open(driver, live_server.url + f"?lang={lang}&basemap=offline")
    driver.execute_script("window.servicemap.setSheetState('min')")
    for zoom in (13, 16, 17):
        _view(driver, *PEOPLES_SQUARE, zoom)
        _wait(driver).until(lambda d: len(_labels(d)) >= 5)
        labels = _wait_for_labels(driver, {lb["text"] for lb in _labels(driver)}, 1)
        path = _screenshot(driver, artifacts_dir, f"basemap-offline-{lang}-z{zoom}")
        assert path.stat().st_size > 20_000
        if lang == "en" and zoom >= 16:  # street names (zoom 13 shows areas, Chinese only)
            latin = [lb["text"] for lb in labels if re.search(r"[A-Za-z]", lb["text"])]
            assert latin, labels
    assert _console_problems(driver) == []


# ---- GCJ-02 ----------------------------------------------------------------------------


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG (tiles of the fake tile server)."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


TILE_PNG = _png(256, 256, (236, 232, 222))


class _TileHandler(BaseHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012 - shared by the handler instances on purpose

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(TILE_PNG)))
        self.end_headers()
        self.wfile.write(TILE_PNG)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


@pytest.fixture(scope="module")
def tile_server() -> Iterator[str]:
    """A fake raster tile server on a free loopback port: every path is a plain tile."""
    server = ThreadingHTTPServer(("127.0.0.1", _free_port()), _TileHandler)
    thread = threading.Thread(target=server.serve_forever, name="fake-tiles", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def gcj_server(tile_server: str) -> Iterator[str]:
    """The application configured with Amap (GCJ-02) first and OSM second, both served by
    the fake tile server (the Amap URL keeps Amap's {lang} option)."""
    with tempfile.TemporaryDirectory(prefix="servicemap-gcj-") as state:
        settings = Settings(
            state_dir=Path(state),
            database_url=f"sqlite:///{Path(state) / 'registry.db'}",
            warm_up=False,
            basemap_sources="amap,osm",
            basemap_urls={
                "amap": tile_server + "/amap/{z}/{x}/{y}.png?lang={lang}",
                "osm": tile_server + "/osm/{z}/{x}/{y}.png",
            },
        )
        app = create_app(settings)
        app.state.registry.upsert([TEST_FACILITY])
        port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="gcj-test-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail(f"the GCJ-02 test server did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            server.should_exit = True
            thread.join(timeout=10)


# The test facility's marker centre and the top-left corner of one loaded tile of the shown
# source, in client pixels, with the tile's z/x/y parsed from its URL.
MARKER_AND_TILE_JS = """
const [lat, lon, source] = arguments;
const map = window.servicemap.map;
let icon = null;
map.eachLayer((layer) => {
  if (layer.getLatLng && layer._icon && Math.abs(layer.getLatLng().lat - lat) < 1e-7
      && Math.abs(layer.getLatLng().lng - lon) < 1e-7) icon = layer._icon;
});
if (!icon) return null;
const m = icon.getBoundingClientRect();
const pattern = new RegExp(`/${source}/(\\\\d+)/(\\\\d+)/(\\\\d+)\\\\.png`);
for (const img of document.querySelectorAll(".leaflet-basemap-pane img.leaflet-tile-loaded")) {
  const found = pattern.exec(img.src);
  if (!found) continue;
  const t = img.getBoundingClientRect();
  return {marker: [m.left + m.width / 2, m.top + m.height / 2], tile: [t.left, t.top],
          z: +found[1], x: +found[2], y: +found[3], tileWidth: t.width};
}
return null;
"""


def _unproject(z: int, px: float, py: float) -> tuple[float, float]:
    """Web Mercator global pixel (256-px tiles) → lon/lat of whatever datum the tiles use."""
    world = 256 * 2**z
    lon = px / world * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * py / world))))
    return lon, lat


def _marker_in_tiles(driver: WebDriver, source: str) -> tuple[float, float, dict[str, Any]]:
    """Where the test facility's marker sits on the tile grid of `source` (lon, lat)."""
    found: dict[str, Any] | None = None

    def ready(d: WebDriver) -> bool:
        nonlocal found
        found = d.execute_script(MARKER_AND_TILE_JS, TEST_FACILITY.lat, TEST_FACILITY.lon, source)
        return found is not None

    _wait(driver).until(ready)
    assert found is not None
    assert abs(found["tileWidth"] - 256) < 0.5
    px = found["x"] * 256 + found["marker"][0] - found["tile"][0]
    py = found["y"] * 256 + found["marker"][1] - found["tile"][1]
    lon, lat = _unproject(found["z"], px, py)
    return lon, lat, found


def test_gcj02_source_shifts_markers_and_clicks_back_to_wgs84(
    phone_browser: WebDriver, gcj_server: str, tile_server: str, artifacts_dir: Path
) -> None:
    del tile_server
    driver = phone_browser
    _open(driver, gcj_server + "?lang=zh")
    assert driver.execute_script("return window.servicemap.basemap.source") == "amap"
    assert driver.execute_script("return window.servicemap.map.options.crs.code") == "GCJ02"
    # Amap's language option reaches the tile URLs.
    assert driver.execute_script(
        "return [...document.querySelectorAll('.leaflet-basemap-pane img')]"
        ".some((img) => img.src.includes('lang=zh_cn'))"
    )
    wgs_lon, wgs_lat = TEST_FACILITY.lon, TEST_FACILITY.lat
    gcj_lon, gcj_lat = from_wgs84(wgs_lon, wgs_lat, "gcj02")
    offset_m = haversine_m(wgs_lon, wgs_lat, gcj_lon, gcj_lat)
    assert 300 < offset_m < 700

    _view(driver, wgs_lon, wgs_lat, 17)
    on_amap_lon, on_amap_lat, _ = _marker_in_tiles(driver, "amap")
    # On GCJ-02 tiles the marker sits at the GCJ-02 position (within ~2 px at zoom 17)...
    assert haversine_m(on_amap_lon, on_amap_lat, gcj_lon, gcj_lat) < 3
    # ... while the page still holds WGS84.
    marker_latlng = driver.execute_script(
        """const [lat, lon] = arguments; let ll = null;
        window.servicemap.map.eachLayer((l) => { if (l.getLatLng && l._icon
          && Math.abs(l.getLatLng().lat - lat) < 1e-7) ll = l.getLatLng(); });
        return ll && [ll.lng, ll.lat];""",
        wgs_lat,
        wgs_lon,
    )
    assert marker_latlng == pytest.approx([wgs_lon, wgs_lat], abs=1e-9)
    _screenshot(driver, artifacts_dir, "basemap-gcj02-amap-z17")

    # A click is converted back to WGS84 within 1 m: the pixel's GCJ-02 position, from the
    # tile grid, converted to WGS84 here, against the click's LatLng in the page.
    _, _, grid = _marker_in_tiles(driver, "amap")
    driver.execute_script(
        "window.__click = null; window.servicemap.map.once('click', "
        "(e) => { window.__click = [e.latlng.lng, e.latlng.lat]; });"
    )
    map_el = driver.find_element(By.ID, "map")
    box = driver.execute_script(
        "const r = document.getElementById('map').getBoundingClientRect();"
        "return [r.left, r.top, r.width, r.height];"
    )
    click_x, click_y = box[0] + box[2] * 0.3, box[1] + box[3] * 0.25
    ActionChains(driver).move_to_element_with_offset(
        map_el, round(click_x - box[0] - box[2] / 2), round(click_y - box[1] - box[3] / 2)
    ).click().perform()
    _wait(driver).until(lambda d: d.execute_script("return window.__click"))
    clicked = driver.execute_script("return window.__click")
    click_x = box[0] + box[2] / 2 + round(click_x - box[0] - box[2] / 2)
    click_y = box[1] + box[3] / 2 + round(click_y - box[1] - box[3] / 2)
    px = grid["x"] * 256 + click_x - grid["tile"][0]
    py = grid["y"] * 256 + click_y - grid["tile"][1]
    tile_lon, tile_lat = _unproject(grid["z"], px, py)
    expected = to_wgs84(tile_lon, tile_lat, "gcj02")
    assert haversine_m(clicked[0], clicked[1], *expected) < 1.0

    # Switching to the WGS84 source keeps the same real place in the centre, and there the
    # marker sits at its WGS84 position on the tile grid: it moved by the GCJ-02 offset.
    before = driver.execute_script(
        "const c = window.servicemap.map.getCenter(); return [c.lng, c.lat];"
    )
    driver.execute_script("window.servicemap.setBasemap('osm')")
    _wait(driver).until(
        lambda d: d.execute_script("return window.servicemap.basemap.source") == "osm"
    )
    assert driver.execute_script("return window.servicemap.map.options.crs.code") == "EPSG:3857"
    after = driver.execute_script(
        "const c = window.servicemap.map.getCenter(); return [c.lng, c.lat];"
    )
    assert haversine_m(*before, *after) < 1.0
    on_osm_lon, on_osm_lat, _ = _marker_in_tiles(driver, "osm")
    assert haversine_m(on_osm_lon, on_osm_lat, wgs_lon, wgs_lat) < 3
    moved_m = haversine_m(on_amap_lon, on_amap_lat, on_osm_lon, on_osm_lat)
    assert abs(moved_m - offset_m) < 5
    _screenshot(driver, artifacts_dir, "basemap-gcj02-osm-z17")
    assert _console_problems(driver) == []
