"""Account management over HTTP (administrators only), and concurrency on a live server:
two administrators changing one account at once, many parallel logins."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api._auth import PASSWORD, bearer, client_for, live_server, make_app, token


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(make_app(tmp_path)) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return bearer(token(client, "root"))


def test_create_read_change_delete(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post("/api/v1/users", headers=admin, json={
        "username": "JingAn.Editor", "role": "editor", "district": "静安区",
        "display_name": "静安区总工会", "password": "a fine password"})  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/users/jingan.editor"
    assert created.headers["etag"] == '"1"'
    body = created.json()
    assert (body["username"], body["role"], body["district"]) == ("jingan.editor", "editor", "静安区")
    assert body["has_password"] is True
    assert "password" not in body
    assert "$argon2" not in created.text
    assert token(client, "jingan.editor", "a fine password")

    listing = client.get("/api/v1/users", headers=admin)
    assert [u["username"] for u in listing.json()] == ["doc", "ed", "jingan.editor", "plan",
                                                       "rev", "root"]  # fmt: skip
    assert "$argon2" not in listing.text

    patched = client.patch("/api/v1/users/jingan.editor", headers={**admin, "If-Match": '"1"'},
                           json={"role": "reviewer", "district": None})  # fmt: skip
    assert patched.status_code == 200
    assert (patched.json()["role"], patched.json()["district"]) == ("reviewer", None)
    assert patched.headers["etag"] == '"2"'
    assert client.get("/api/v1/users/JINGAN.editor", headers=admin).json()["version"] == 2

    assert client.delete("/api/v1/users/jingan.editor", headers=admin).status_code == 204
    gone = client.get("/api/v1/users/jingan.editor", headers=admin)
    assert gone.status_code == 404
    assert gone.json()["error"] == "account_not_found"
    history = client.app.state.registry.store.history(limit=5)
    assert [h.action for h in history[:3]] == ["account.delete", "account.update", "account.create"]
    assert {h.actor for h in history[:3]} == {"root"}


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [({"username": "ed", "role": "planner"}, 409, "account_exists"),
     ({"username": "new", "role": "editor"}, 422, "invalid_account"),
     ({"username": "new", "role": "editor", "district": "上海"}, 422, "invalid_account"),
     ({"username": "new", "role": "superuser"}, 422, "invalid_request"),
     ({"username": "new", "role": "planner", "password": "short"}, 422, "invalid_account"),
     ({"username": "аdmin", "role": "planner"}, 422, "invalid_account"),
     ({"username": "x" * 10_000, "role": "planner"}, 422, "invalid_request"),
     ({"username": "new", "role": "planner", "is_superuser": True}, 422, "invalid_request"),
     ({"role": "planner"}, 422, "invalid_request"),
     ({"username": "new", "role": "planner", "display_name": "a\u0000b"}, 422, "invalid_account")],
)  # fmt: skip
def test_bad_creations(client: TestClient, admin: dict[str, str], body: dict, status: int,
                       error: str) -> None:  # fmt: skip
    response = client.post("/api/v1/users", headers=admin, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert len(client.get("/api/v1/users", headers=admin).json()) == 5


def test_bad_changes(client: TestClient, admin: dict[str, str]) -> None:
    stale = client.patch("/api/v1/users/ed", headers={**admin, "If-Match": '"7"'},
                         json={"display_name": "x"})  # fmt: skip
    assert stale.status_code == 412
    assert stale.json()["error"] == "stale_version"
    malformed = client.patch("/api/v1/users/ed", headers={**admin, "If-Match": "seven"}, json={})
    assert malformed.status_code == 422  # the documented pattern of If-Match
    assert "if-match" in malformed.json()["message"].lower()
    no_district = client.patch("/api/v1/users/ed", headers=admin, json={"district": None})
    assert no_district.status_code == 422
    assert "needs a district" in no_district.json()["message"]
    last = client.patch("/api/v1/users/root", headers=admin, json={"active": False})
    assert last.status_code == 409
    assert last.json()["error"] == "last_admin"
    assert client.delete("/api/v1/users/root", headers=admin).status_code == 409
    assert client.patch("/api/v1/users/ghost", headers=admin, json={}).status_code == 404
    assert client.get("/api/v1/users/" + "x" * 10_000, headers=admin).status_code == 422
    assert client.get("/api/v1/users/%D0%B0dmin", headers=admin).status_code == 404
    assert client.patch("/api/v1/users/ed", headers=admin, json={"active": "maybe"}).status_code == 422
    assert client.get("/api/v1/users/ed", headers=admin).json()["version"] == 1


def test_a_null_field_means_unchanged_where_clearing_is_meaningless(client: TestClient,
                                                                    admin: dict[str, str]) -> None:  # fmt: skip
    response = client.patch("/api/v1/users/ed", headers=admin,
                            json={"role": None, "active": None, "password": None})  # fmt: skip
    assert response.status_code == 200
    assert (response.json()["role"], response.json()["active"], response.json()["version"]) == (
        "editor", True, 1)


# -- concurrency on a live server -----------------------------------------------------------


def test_two_admins_changing_one_account_at_once(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    app.state.auth.accounts.add("root2", "admin", password=PASSWORD)
    rounds = 10
    with live_server(app) as url:
        with httpx.Client(base_url=url) as http:
            tokens = [http.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
                      .json()["access_token"] for name in ("root", "root2")]  # fmt: skip

        def change(who: int) -> list[int]:
            statuses = []
            with httpx.Client(base_url=url, headers=bearer(tokens[who]), timeout=30) as http:
                for i in range(rounds):
                    body = {"display_name": f"name {i}"} if who == 0 else \
                        {"district": ("黄浦区", "徐汇区")[i % 2]}  # fmt: skip
                    statuses.append(http.patch("/api/v1/users/ed", json=body).status_code)
            return statuses

        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(change, [0, 1]))
        assert outcomes == [[200] * rounds, [200] * rounds]
        final = app.state.auth.accounts.get("ed")
        assert final.display_name == f"name {rounds - 1}"
        assert final.district == ("黄浦区", "徐汇区")[(rounds - 1) % 2]
        assert final.version == 1 + 2 * rounds  # no update was lost

        # both read version N and send it back: exactly one wins, the other gets 412
        barrier = threading.Barrier(2)
        etag = f'"{final.version}"'

        def conditional(who: int) -> int:
            with httpx.Client(base_url=url, headers={**bearer(tokens[who]), "If-Match": etag},
                              timeout=30) as http:  # fmt: skip
                barrier.wait()
                return http.patch("/api/v1/users/ed", json={"display_name": f"by {who}"}).status_code

        with ThreadPoolExecutor(2) as pool:
            assert sorted(pool.map(conditional, [0, 1])) == [200, 412]


def test_many_parallel_logins(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    names = ["root", "rev", "ed", "plan", "doc"]
    attempts = [(names[i % 5], PASSWORD if i % 4 else "wrong password") for i in range(40)]
    with live_server(app) as url:

        def login(attempt: tuple[str, str]) -> tuple[str, int, str | None]:
            name, password = attempt
            with httpx.Client(base_url=url, timeout=60) as http:
                response = http.post("/api/v1/auth/token",
                                     data={"username": name, "password": password})  # fmt: skip
                access = response.json().get("access_token")
                if access:
                    me = http.get("/api/v1/auth/me", headers=bearer(access))
                    assert me.json()["username"] == name
            return name, response.status_code, access

        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(login, attempts))
    statuses = [status for _, status, _ in results]
    assert statuses.count(200) == 30
    assert statuses.count(401) == 10  # two failures per name: below the lockout
    assert len({access for _, _, access in results if access}) == 30  # every token distinct
