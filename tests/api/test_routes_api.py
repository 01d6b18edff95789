"""Check-up routing API: job life cycle, 422 refusals with field paths, schedule and CSV."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo.crs import from_wgs84

WAIT_S = 90.0


def _request(client: TestClient, n_bookings: int = 10) -> dict[str, Any]:
    week = client.get("/api/v1/routes/sample").json()
    request = {k: week[k] for k in ("slots", "depots", "packages", "start_date")}
    request["days"] = 2
    request["vehicles"] = [dict(v, days=[0, 1]) for v in week["vehicles"][:2]]
    request["bookings"] = [
        {k: v for k, v in b.items() if k != "slots"} | {"slots": ["AM", "PM"]}
        for b in week["bookings"][:n_bookings]
    ]
    request["time_limit_s"] = 1
    return request


def _wait(client: TestClient, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        body = client.get(url).json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


@pytest.fixture(scope="module")
def finished(client: TestClient) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(the request, the 202 answer, the finished job) of one small plan."""
    request = _request(client)
    # one booking given as Amap (GCJ-02) coordinates
    b = request["bookings"][0]
    b["lon"], b["lat"] = from_wgs84(b["lon"], b["lat"], "gcj02")
    b["crs"] = "gcj02"
    created = client.post("/api/v1/routes", json=request)
    assert created.status_code == 202, created.text
    return request, created.json(), _wait(client, created.json()["links"]["self"])


def test_post_answers_202_with_links(
    finished: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
) -> None:
    _, created, _ = finished
    assert created["status"] == "queued"
    job_id = created["id"]
    assert created["links"] == {
        "self": f"/api/v1/routes/{job_id}",
        "schedule": f"/api/v1/routes/{job_id}/schedule.html",
        "csv": f"/api/v1/routes/{job_id}/plan.csv",
    }


def test_finished_job_has_routes_stops_unassigned_and_geojson(
    finished: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
) -> None:
    request, _, body = finished
    assert body["status"] == "done", body.get("error")
    assert body["progress"]["fraction"] == 1.0
    assert body["routes"]
    summary = body["summary"]
    assert summary["feasible"] is True
    assert summary["violations"] == []
    assert summary["bookings"] == len(request["bookings"])
    booked = sum(b["workers"] for b in request["bookings"])
    unassigned = sum(u["workers"] for u in body["unassigned"])
    assert summary["served_workers"] + unassigned == booked
    for u in body["unassigned"]:
        assert u["reason"] in ("capacity", "time_window", "skill", "unreachable")
        assert u["message"]
    for route in body["routes"]:
        assert route["vehicle"] in {v["id"] for v in request["vehicles"]}
        assert route["day"] in (0, 1)
        for stop in route["stops"]:
            assert {"eta", "start", "end", "workers", "load_slot", "name", "leg_method"} <= set(stop)
    kinds = {f["properties"]["kind"] for f in body["geojson"]["features"]}
    assert {"route", "stop", "depot"} <= kinds
    assert any("1 from GCJ02" in n for n in body["notes"])


def test_gcj02_booking_is_planned_at_its_wgs84_position(
    finished: tuple[dict[str, Any], dict[str, Any], dict[str, Any]], client: TestClient,
) -> None:
    request, _, body = finished
    week = client.get("/api/v1/routes/sample").json()
    original = week["bookings"][0]
    stop = next((s for r in body["routes"] for s in r["stops"] if s["booking"] == original["id"]),
                None)  # fmt: skip
    point = stop or next(u for u in body["unassigned"] if u["booking"] == original["id"])
    assert point["lon"] == pytest.approx(original["lon"], abs=1e-5)
    assert point["lat"] == pytest.approx(original["lat"], abs=1e-5)
    assert abs(request["bookings"][0]["lon"] - original["lon"]) > 1e-3


def test_schedule_html_and_csv(
    finished: tuple[dict[str, Any], dict[str, Any], dict[str, Any]], client: TestClient,
) -> None:
    _, created, body = finished
    html = client.get(created["links"]["schedule"])
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "体检车日程" in html.text
    for route in body["routes"]:
        assert route["vehicle"] in html.text
        for stop in route["stops"]:
            assert stop["eta"] in html.text
    answer = client.get(created["links"]["csv"])
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert sum(r["status"] == "planned" for r in rows) == sum(len(r["stops"]) for r in body["routes"])
    assert sum(r["status"] == "unassigned" for r in rows) == len(body["unassigned"])


def test_schedule_before_the_plan_is_ready_is_409(client: TestClient) -> None:
    request = _request(client, n_bookings=4)
    request["time_limit_s"] = 2
    created = client.post("/api/v1/routes", json=request).json()
    early = client.get(created["links"]["schedule"])
    assert early.status_code == 409
    assert early.json()["error"] == "plan_not_ready"
    listed = client.get("/api/v1/routes").json()["routes"]
    assert created["id"] in {r["id"] for r in listed}
    assert _wait(client, created["links"]["self"])["status"] == "done"
    assert client.get(created["links"]["csv"]).status_code == 200


def test_unknown_job_is_404(client: TestClient) -> None:
    answer = client.get("/api/v1/routes/nope123")
    assert answer.status_code == 404
    assert answer.json()["error"] == "job_not_found"
    assert client.get("/api/v1/routes/nope123/plan.csv").status_code == 404


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.update(time_limit_s=121), "time_limit_s: Input should be less than or equal to 120"),
        (lambda r: r.update(time_limit_s=0), "time_limit_s: Input should be greater than 0"),
        (lambda r: r.update(bookngs=[]), "bookngs: Extra inputs are not permitted"),
        (lambda r: r["bookings"][2].update(time_window=["10:00", "9h"]),
         "bookings[2].time_window[1]: '9h' is not a time HH:MM"),
        (lambda r: r["bookings"][1].update(lon=116.40, lat=39.90),
         "is outside the service area"),
        (lambda r: r["bookings"][0].update(package="L7"), "bookings[0].package"),
        (lambda r: r["bookings"][0].update(crs="mercator"), "bookings[0].crs: unknown crs 'mercator'"),
        (lambda r: r["vehicles"][0].update(depot="nowhere"), "unknown depot 'nowhere'"),
        (lambda r: r.update(bookings="B1"), "bookings: expected a list"),
        (lambda r: r.update(bookings=[], bookings_csv="lon,lat,workers,package\n121.4,31.2,many,L1\n"),
         "bookings_csv line 2: workers 'many' is not an integer"),
    ],
    ids=["limit-high", "limit-zero", "unknown-field", "time", "outside", "package", "crs",
         "depot", "not-a-list", "csv"],
)  # fmt: skip
def test_bad_requests_are_refused_before_the_job_starts(
    client: TestClient, change: Any, expected: str
) -> None:
    request = _request(client, n_bookings=4)
    before = len(client.get("/api/v1/routes").json()["routes"])
    change(request)
    answer = client.post("/api/v1/routes", json=request)
    assert answer.status_code == 422, answer.text
    assert expected in answer.json()["message"]
    assert len(client.get("/api/v1/routes").json()["routes"]) == before  # no job started


def test_outside_booking_is_named(client: TestClient) -> None:
    request = _request(client, n_bookings=4)
    request["bookings"][3].update(lon=120.15, lat=30.28, name="杭州某物流站")
    answer = client.post("/api/v1/routes", json=request)
    assert answer.status_code == 422
    message = answer.json()["message"]
    assert f"bookings[3] '{request['bookings'][3]['id']}' (杭州某物流站)" in message


def test_package_without_equipment_is_refused_naming_bookings(client: TestClient) -> None:
    request = _request(client, n_bookings=4)
    for v in request["vehicles"]:
        v["skills"] = []
    request["bookings"][2]["package"] = "heart"
    answer = client.post("/api/v1/routes", json=request)
    assert answer.status_code == 422
    message = answer.json()["message"]
    assert "'heart' needs equipment ['ecg'] that no vehicle carries" in message
    assert "bookings[2]" in message


def test_sample_is_demo_data(client: TestClient) -> None:
    sample = client.get("/api/v1/routes/sample").json()
    assert sample["demo"] is True
    assert "DEMO" in sample["description"]
    assert len(sample["bookings"]) >= 40


@pytest.fixture(scope="module", autouse=True)
def _acting_as_staff(client: TestClient) -> Iterator[None]:
    """Every test here acts as staff (the job endpoints refuse anonymous callers)."""
    from api.deps import get_actor
    from layers.accounts.roles import Actor, Role

    client.app.dependency_overrides[get_actor] = lambda: Actor("test_admin", Role.ADMIN)  # type: ignore[attr-defined]
    yield
    client.app.dependency_overrides.pop(get_actor, None)  # type: ignore[attr-defined]
