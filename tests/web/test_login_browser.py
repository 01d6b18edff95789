"""The staff login page in headless Chromium, served under a strict Content-Security-Policy.

Checks that Chromium keeps and sends the ``Secure`` session cookie to http://127.0.0.1
(a loopback origin counts as secure), that ``next=`` only leads to pages of this origin,
and that the page works without inline scripts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from starlette.middleware.base import BaseHTTPMiddleware

from tests.api._auth import PASSWORD, live_server, make_app

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'self'"
WAIT_S = 30


@pytest.fixture(scope="module")
def login_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = make_app(tmp_path_factory.mktemp("login-web"), static_dir=REPO / "static")

    async def strict_csp(request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        return response

    app.add_middleware(BaseHTTPMiddleware, dispatch=strict_csp)
    with live_server(app) as url:
        yield url


def _open(driver: WebDriver, url: str) -> None:
    driver.delete_all_cookies()
    driver.get_log("browser")
    driver.get(url)
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.ID, "lg-username").is_displayed()
    )


def _log_in(driver: WebDriver, username: str, password: str) -> None:
    for element_id, value in (("lg-username", username), ("lg-password", password)):
        box = driver.find_element(By.ID, element_id)
        box.clear()
        box.send_keys(value)
    driver.find_element(By.ID, "lg-submit").click()


def test_login_returns_to_the_next_page_with_a_secure_cookie(desktop_browser: WebDriver,
                                                             login_server: str) -> None:  # fmt: skip
    _open(desktop_browser, f"{login_server}/login.html?next=/planner.html%3Ftab%3Dplan")
    _log_in(desktop_browser, "ed", "wrong password")
    error = desktop_browser.find_element(By.ID, "lg-error")
    WebDriverWait(desktop_browser, WAIT_S).until(lambda d: error.text)
    assert error.text == "用户名或密码错误。"
    assert desktop_browser.find_element(By.ID, "lg-password").get_attribute("aria-invalid") == "true"

    _log_in(desktop_browser, "ed", PASSWORD)
    WebDriverWait(desktop_browser, WAIT_S).until(
        lambda d: d.current_url.startswith(f"{login_server}/planner.html"))
    assert desktop_browser.current_url == f"{login_server}/planner.html?tab=plan"
    cookies = {c["name"]: c for c in desktop_browser.get_cookies()}
    session = cookies["servicemap_session"]
    assert session["secure"] is True
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert cookies["servicemap_csrf"]["httpOnly"] is False
    # the browser sends the Secure cookie back to http://127.0.0.1, and a write with the
    # CSRF header from the readable cookie is accepted while one without it is not
    result = desktop_browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const csrf = document.cookie.split('; ').find(c => c.startsWith('servicemap_csrf=')).split('=')[1];
        (async () => {
          const me = await fetch('/api/v1/auth/me');
          const bare = await fetch('/api/v1/auth/logout', {method: 'POST'});
          const withHeader = await fetch('/api/v1/auth/logout', {method: 'POST', headers: {'X-CSRF-Token': csrf}});
          const after = await fetch('/api/v1/auth/me');
          return [me.status, (await me.json()).username, bare.status, withHeader.status, after.status];
        })().then(done, e => done(String(e)));
    """)
    assert result == [200, "ed", 403, 204, 401]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("/planner.html#x", "/planner.html#x"), ("https://evil.example/", "./"), ("//evil.example/", "./"),
     ("/\\evil.example", "./"), ("javascript:alert(1)", "./"), ("planner.html", "./"),
     ("/%2F%2Fevil.example", "/%2F%2Fevil.example"), ("/login.html?next=/", "./"),
     ("/ok\u0000", "./"), ("", "./")],
)  # fmt: skip
def test_next_stays_on_this_origin(desktop_browser: WebDriver, login_server: str, raw: str,
                                   expected: str) -> None:  # fmt: skip
    if not desktop_browser.current_url.startswith(f"{login_server}/login.html"):
        _open(desktop_browser, f"{login_server}/login.html")
    got = desktop_browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('./js/login.js').then(m => done(m.safeNext(arguments[0])), e => done(String(e)));",
        raw,
    )
    assert got == expected


def test_a_foreign_next_lands_on_the_map(desktop_browser: WebDriver, login_server: str) -> None:
    _open(desktop_browser, f"{login_server}/login.html?next=https://evil.example/steal")
    _log_in(desktop_browser, "rev", PASSWORD)
    WebDriverWait(desktop_browser, WAIT_S).until(lambda d: "login.html" not in d.current_url)
    assert desktop_browser.current_url == f"{login_server}/"


def test_english_signed_in_state_and_no_csp_violations(desktop_browser: WebDriver,
                                                       login_server: str) -> None:  # fmt: skip
    # next=/healthz: a page without assets of its own, so every log line is the login page's
    _open(desktop_browser, f"{login_server}/login.html?lang=en&next=/healthz")
    assert desktop_browser.find_element(By.ID, "lg-title").text == "Staff login"
    assert desktop_browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    desktop_browser.find_element(By.ID, "lg-lang").click()
    assert desktop_browser.find_element(By.ID, "lg-title").text == "工作人员登录"
    _log_in(desktop_browser, "plan", PASSWORD)
    WebDriverWait(desktop_browser, WAIT_S).until(lambda d: "login.html" not in d.current_url)
    desktop_browser.get(f"{login_server}/login.html")
    signed_in = desktop_browser.find_element(By.ID, "lg-signed-in-text")
    WebDriverWait(desktop_browser, WAIT_S).until(lambda d: signed_in.is_displayed())
    assert signed_in.text == "您已登录：plan（规划人员）。"
    desktop_browser.find_element(By.ID, "lg-logout").click()
    WebDriverWait(desktop_browser, WAIT_S).until(
        lambda d: d.find_element(By.ID, "lg-username").is_displayed()
    )
    assert desktop_browser.find_element(By.ID, "lg-status").text == "已退出登录。"
    assert "servicemap_session" not in {c["name"] for c in desktop_browser.get_cookies()}
    problems = [e for e in desktop_browser.get_log("browser")
                if "Content Security Policy" in e["message"]
                or (e["level"] == "SEVERE" and "401" not in e["message"]
                    and "/favicon.ico" not in e["message"])]  # fmt: skip
    assert problems == []


def test_the_page_has_no_inline_script_or_style() -> None:
    html = (REPO / "static" / "login.html").read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "<style" not in html
    assert " style=" not in html
    assert " on" not in html.replace(" one", "")  # no onclick= / onload= handlers
