"""A live server on loopback and a headless Chromium driven by selenium.

The server is the real application (``api.main.create_app``) on a temporary SQLite registry
seeded from the shipped data, plus one relay station whose name and address are HTML
(the escaping test). Chromium runs with every host except loopback unresolvable, so the
page can never reach the internet and the online basemap probe fails deterministically.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from api.main import create_app
from api.settings import Settings
from layers.registry.schema import Facility

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver", "chromedriver")
INSTALL_HINT = (
    "headless Chromium is needed for the browser tests: install it with "
    "`apt-get install -y chromium chromium-driver` (make test does this through "
    "scripts/ensure-services.sh)"
)

STAFF_USER, STAFF_PASSWORD = "web_admin", "web test password"
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_ADDRESS = "<script>alert(2)</script>人民大道"
XSS_LON, XSS_LAT = 121.47200, 31.23250  # beside People's Square, inside the service area

PHONE_VIEWPORT = {"width": 390, "height": 844}
DESKTOP_WINDOW = (1366, 900)


@dataclass(frozen=True)
class LiveServer:
    """A running application."""

    url: str
    xss_id: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _xss_facility() -> Facility:
    return Facility(
        id="relay_station:test-xss",
        layer="relay_station",
        name=XSS_NAME,
        name_en=XSS_NAME,
        district="黄浦区",
        address=XSS_ADDRESS,
        lon=XSS_LON,
        lat=XSS_LAT,
        services=["water", "charging"],
        phone="021-12345678",
        source="test fixture <b>bold?</b>",
        demo=True,
    )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The application served by uvicorn on a free loopback port in a background thread."""
    state = tmp_path_factory.mktemp("web-state")
    # the probe tests point the map at a refused port; the page's CSP must allow it
    settings = Settings(state_dir=state, database_url=f"sqlite:///{state / 'registry.db'}",
                        tile_origins="https://tile.openstreetmap.org,http://127.0.0.1:9")
    app = create_app(settings)
    xss = _xss_facility()
    app.state.registry.upsert([xss])
    # one staff account that may plan and route (the planner's job tabs need a session)
    app.state.auth.accounts.add(STAFF_USER, "admin", password=STAFF_PASSWORD)

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="web-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"the test server did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}/", xss_id=xss.id)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _find(candidates: tuple[str, ...]) -> str | None:
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium_paths() -> tuple[str, str]:
    """Paths of the Chromium binary and its driver; fails (never skips) when absent."""
    binary = _find(CHROMIUM_CANDIDATES)
    driver = _find(CHROMEDRIVER_CANDIDATES)
    missing = [name for name, path in (("chromium", binary), ("chromedriver", driver)) if not path]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found. {INSTALL_HINT}", pytrace=False)
    assert binary is not None
    assert driver is not None
    return binary, driver


def _make_driver(chromium_paths: tuple[str, str], profile_dir: str, *, phone: bool) -> WebDriver:
    binary, driver_path = chromium_paths
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--lang=zh-CN",
        f"--user-data-dir={profile_dir}",
        # Nothing but loopback resolves: the page cannot reach the internet.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    if phone:
        options.add_experimental_option(
            "mobileEmulation",
            {"deviceMetrics": {**PHONE_VIEWPORT, "pixelRatio": 2, "touch": True}},
        )
    else:
        options.add_argument(f"--window-size={DESKTOP_WINDOW[0]},{DESKTOP_WINDOW[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    # Record alerts instead of blocking on them (the escaping test checks none fired).
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": "window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));"},
    )
    return driver


@pytest.fixture(scope="module")
def phone_browser(chromium_paths: tuple[str, str]) -> Iterator[WebDriver]:
    """Headless Chromium emulating a 390×844 phone."""
    with tempfile.TemporaryDirectory(prefix="servicemap-chromium-") as profile:
        driver = _make_driver(chromium_paths, profile, phone=True)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture(scope="module")
def desktop_browser(chromium_paths: tuple[str, str]) -> Iterator[WebDriver]:
    """Headless Chromium with a desktop-sized window."""
    with tempfile.TemporaryDirectory(prefix="servicemap-chromium-") as profile:
        driver = _make_driver(chromium_paths, profile, phone=False)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots go (gitignored)."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


def open_report(driver: WebDriver, report: Path, wait_s: float) -> int:
    """Open a self-contained HTML report (console log emptied first), wait until it says it
    is ready, and return how many shapes its map drew."""
    driver.get_log("browser")
    driver.get(report.as_uri())
    WebDriverWait(driver, wait_s).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
    )
    paths: int = driver.execute_script(
        "return document.querySelectorAll('#map canvas, #map svg path').length")
    return paths


def sign_in(driver: WebDriver, live_server: LiveServer) -> None:
    """Start a staff session in the browser (as the login page does: session cookie + CSRF)."""
    driver.get(live_server.url + "login.html")
    status = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch("api/v1/auth/login", {method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json"},
          body: JSON.stringify({username: arguments[0], password: arguments[1]})})
          .then((r) => done(r.status), () => done(0));
        """,
        STAFF_USER, STAFF_PASSWORD,
    )
    assert status == 200, f"staff login answered {status}"
