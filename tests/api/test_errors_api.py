"""Error answers: JSON for API clients, the HTML "page not found" page for browsers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_missing_page_asked_by_a_browser_is_an_html_page(client: TestClient) -> None:
    answer = client.get("/no-such-page.html", headers={"Accept": BROWSER_ACCEPT})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "<html" in answer.text
    assert 'href="/"' in answer.text  # a way back to the map


@pytest.mark.parametrize(
    "accept", ["application/json", "*/*", "", "text/html;q=0.5, application/json"]
)
def test_missing_page_asked_by_an_api_client_stays_json(client: TestClient, accept: str) -> None:
    answer = client.get("/no-such-page.html", headers={"Accept": accept})
    assert answer.status_code == 404
    assert answer.json() == {"error": "not_found", "message": "Not Found"}


def test_missing_api_path_is_json_even_for_a_browser(client: TestClient) -> None:
    answer = client.get("/api/v1/no-such-thing", headers={"Accept": BROWSER_ACCEPT})
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


def test_favicon_is_served(client: TestClient) -> None:
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
