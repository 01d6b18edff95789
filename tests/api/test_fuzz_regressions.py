"""What the Schemathesis fuzz tests found, one regression test each (``test_fuzz_api.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.schemas import ErrorOut
from api.settings import REPO_ROOT
from tests.api._auth import PASSWORD, bearer, client_for, make_settings, token

GEOJSON_OPERATIONS = [
    ("/api/v1/districts", "get"), ("/api/v1/basemap/{name}", "get"),
    ("/api/v1/layers/{layer}/features", "get"), ("/api/v1/isochrones", "get"),
    ("/api/v1/layers/{layer}/service-area", "get"),
]  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The application with the real static pages mounted at ``/`` (as deployed)."""
    app = create_app(make_settings(tmp_path_factory.mktemp("fuzz-regressions"),
                                   static_dir=REPO_ROOT / "static"))  # fmt: skip
    app.state.auth.accounts.add("root", "admin", password=PASSWORD)
    return app


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    with client_for(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(client: TestClient) -> dict[str, str]:
    return bearer(token(client, "root"))


@pytest.fixture(scope="module")
def openapi(client: TestClient) -> dict[str, Any]:
    return dict(client.get("/openapi.json").json())


def _operations(openapi: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_error_is_documented_as_the_json_error_model(openapi: dict[str, Any]) -> None:
    """422s were documented as FastAPI's ``{"detail": [...]}`` (11 operations) and the
    errors of the HTML schedule as ``text/html``; every error answers ``ErrorOut`` JSON."""
    assert "HTTPValidationError" not in openapi["components"]["schemas"]
    for path, method, operation in _operations(openapi):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response["content"]) == ["application/json"], (method, path, status)
    schedule = openapi["paths"]["/api/v1/routes/{route_id}/schedule.html"]["get"]["responses"]
    assert schedule["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"}  # fmt: skip


def test_validation_errors_answer_the_documented_model(client: TestClient) -> None:
    answer = client.get("/api/v1/basemap/nowhere")
    assert answer.status_code == 422
    assert ErrorOut.model_validate(answer.json()).error == "invalid_request"


@pytest.mark.parametrize(("path", "method"), GEOJSON_OPERATIONS)
def test_geojson_answers_are_documented_as_geojson(openapi: dict[str, Any], path: str,
                                                   method: str) -> None:  # fmt: skip
    """They answered ``application/geo+json`` but documented ``application/json``."""
    content = openapi["paths"][path][method]["responses"]["200"]["content"]
    assert list(content) == ["application/geo+json"]


def test_geojson_content_type_as_documented(client: TestClient) -> None:
    answer = client.get("/api/v1/districts")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/geo+json"
    assert answer.json()["type"] == "FeatureCollection"


def test_job_endpoints_document_what_they_answer(openapi: dict[str, Any]) -> None:
    """401/403 were raised by the dependencies but not documented, nor the 202/204 of a
    cancel; the CSV plan was documented as JSON."""
    paths = openapi["paths"]
    for path in ("/api/v1/plans", "/api/v1/routes"):
        for method in paths[path]:
            assert {"401", "403"} <= set(paths[path][method]["responses"]), (method, path)
    for path in ("/api/v1/plans/{plan_id}", "/api/v1/routes/{route_id}"):
        assert {"200", "202", "204", "401", "403", "404"} <= set(paths[path]["delete"]["responses"])
    csv = paths["/api/v1/routes/{route_id}/plan.csv"]["get"]["responses"]["200"]["content"]
    assert list(csv) == ["text/csv"]
    assert "404" in paths["/api/v1/basemap/tiles/{z}/{x}/{y}.mvt"]["get"]["responses"]
    assert "404" in paths["/api/v1/layers/{layer}/service-area"]["get"]["responses"]
    assert "404" in paths["/api/v1/routes/sample"]["get"]["responses"]


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("OPTIONS", "/api/v1/users", "GET, HEAD, POST"),
    ("PUT", "/api/v1/facilities/training_site:site-01", "DELETE, GET, HEAD, PATCH"),
    ("OPTIONS", "/api/v1/plans/abc", "DELETE, GET, HEAD"),
    ("PUT", "/api/v1/review/queue", "GET, HEAD"),
    ("OPTIONS", "/api/v1/routes/sample", "GET, HEAD"),
    ("PUT", "/api/v1/review/approve", "POST"),
    # a GET the static files mounted at "/" would answer with a 404
    ("GET", "/api/v1/auth/logout", "POST"),
    ("GET", "/api/v1/matrix", "POST"),
])  # fmt: skip
def test_405_allows_every_method_of_the_path(client: TestClient, method: str, path: str,
                                             allow: str) -> None:  # fmt: skip
    """``Allow`` named only the methods of one route of the path (``GET`` for
    ``/api/v1/users``), or none when the static files answered."""
    answer = client.request(method, path)
    assert answer.status_code == 405, answer.text
    assert answer.headers["allow"] == allow
    assert ErrorOut.model_validate(answer.json())


def test_a_body_that_cannot_be_decoded_is_a_422(client: TestClient, admin: dict[str, str]) -> None:
    """FastAPI answered an undocumented 400 to a body that is not UTF-8."""
    answer = client.post("/api/v1/users", content=b"\xff\xfe{", headers={
        **admin, "Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 422
    assert ErrorOut.model_validate(answer.json()).error == "invalid_request"


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/facilities/training_site:site-01/cards", {"kind": "red", "reason": "x",
                                                         "issued_on": 0}, "issued_on"),
    ("/api/v1/layers/health_point/facilities", {"name": "x", "uncertainty_m": False},
     "uncertainty_m"),
    ("/api/v1/plans", {"n_new": True}, "n_new"),
])  # fmt: skip
def test_bodies_are_taken_as_documented(client: TestClient, admin: dict[str, str], path: str,
                                        body: dict[str, Any], field: str) -> None:  # fmt: skip
    """Pydantic's lax mode took the number 0 for the date 1970-01-01 (a red card was issued
    "on" it) and ``false`` for the number 0, against the documented types."""
    answer = client.post(path, content=json.dumps(body),
                         headers={**admin, "Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert field in ErrorOut.model_validate(answer.json()).message


def test_job_worker_setting_leaves_jobs_queued(tmp_path: Path) -> None:
    """``job_worker=False`` (what the fuzz application runs with): an API-only process."""
    app = create_app(make_settings(tmp_path, job_worker=False))
    with client_for(app):
        assert app.state.job_worker is None
