"""The authentication API: tokens, the 401/403 matrix, revocation, sessions and CSRF,
OIDC bearer tokens from a local provider, settings and the OpenAPI security schemes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.settings import Settings
from tests._oidc import LocalProvider, start_provider, stop_provider
from tests.api._auth import (
    PASSWORD,
    SECRET,
    STAFF,
    bearer,
    client_for,
    make_app,
    token,
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(make_app(tmp_path, login_max_failures=3)) as test_client:
        yield test_client


def _login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


# -- the password flow ----------------------------------------------------------------------


def test_the_password_flow_answers_a_bearer_token(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "ED", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 8 * 3600
    assert response.headers["cache-control"] == "no-store"
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.json() == {"username": "ed", "role": "editor", "district": "普陀区",
                         "display_name": None, "via": "token"}  # fmt: skip


def test_unknown_user_and_wrong_password_get_the_same_answer(client: TestClient) -> None:
    answers = []
    for name, password in (("ed", "wrong password"), ("nobody", PASSWORD)):
        response = client.post("/api/v1/auth/token", data={"username": name, "password": password})
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith('Bearer realm="servicemap"')
        answers.append(response.json())
    assert answers[0] == answers[1] == {"error": "invalid_credentials",
                                        "message": "unknown user name or wrong password"}  # fmt: skip


@pytest.mark.parametrize(
    ("form", "status"),
    [({"username": "ed"}, 422), ({"password": PASSWORD}, 422), ({}, 422),
     ({"username": "x" * 10_000, "password": PASSWORD}, 422),
     ({"username": "ed", "password": "p" * 10_000}, 422),
     ({"username": "ed", "password": PASSWORD, "grant_type": "client_credentials"}, 422),
     ({"username": "аdmin", "password": PASSWORD}, 401),  # Cyrillic а
     ({"username": "ro\u200bot", "password": PASSWORD}, 401),
     ({"username": "root\x00", "password": PASSWORD}, 401),
     ({"username": "\u202eroot", "password": PASSWORD}, 401),
     ({"username": "", "password": ""}, 422)],  # empty form fields count as missing
)  # fmt: skip
def test_bad_token_requests_are_4xx(client: TestClient, form: dict, status: int) -> None:
    response = client.post("/api/v1/auth/token", data=form)
    assert response.status_code == status, response.text
    assert response.json()["message"]


def test_the_token_endpoint_wants_a_form(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "ed", "password": PASSWORD})
    assert response.status_code == 422


def test_repeated_failures_lock_out_one_client(client: TestClient) -> None:
    for _ in range(3):
        failed = client.post("/api/v1/auth/token", data={"username": "ed", "password": "nope!"})
        assert failed.status_code == 401
    locked = client.post("/api/v1/auth/token", data={"username": "ed", "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) == 30
    assert locked.json()["error"] == "too_many_attempts"
    session = client.post("/api/v1/auth/login", json={"username": "Ed", "password": PASSWORD})
    assert session.status_code == 429  # the same lockout for the session login
    elsewhere = client_for(client.app, client=("10.8.0.2", 4000))  # no lifespan of its own
    assert token(elsewhere, "ed")
    assert token(client, "rev")  # another user name from the same client


# -- who may call what ----------------------------------------------------------------------

#: route -> expected status for anonymous, then each account of STAFF
MATRIX = {
    ("GET", "/probe/optional"): {None: 200, "root": 200, "rev": 200, "ed": 200, "plan": 200, "doc": 200},
    ("GET", "/probe/staff"): {None: 401, "root": 200, "rev": 200, "ed": 200, "plan": 200, "doc": 200},
    ("POST", "/probe/edit/普陀区"): {None: 401, "root": 200, "rev": 200, "ed": 200, "plan": 403, "doc": 403},
    ("POST", "/probe/edit/黄浦区"): {None: 401, "root": 200, "rev": 200, "ed": 403, "plan": 403, "doc": 403},
    ("POST", "/probe/review"): {None: 401, "root": 200, "rev": 200, "ed": 403, "plan": 403, "doc": 403},
    ("POST", "/probe/plans"): {None: 401, "root": 200, "rev": 403, "ed": 403, "plan": 200, "doc": 403},
    ("POST", "/probe/admin"): {None: 401, "root": 200, "rev": 403, "ed": 403, "plan": 403, "doc": 403},
    ("GET", "/api/v1/users"): {None: 401, "root": 200, "rev": 403, "ed": 403, "plan": 403, "doc": 403},
    ("POST", "/api/v1/users"): {None: 401, "root": 422, "rev": 403, "ed": 403, "plan": 403, "doc": 403},
    ("GET", "/api/v1/users/ed"): {None: 401, "root": 200, "rev": 403, "ed": 403, "plan": 403, "doc": 403},
    ("PATCH", "/api/v1/users/ed"): {None: 401, "root": 200, "rev": 403, "ed": 403, "plan": 403, "doc": 403},
    ("DELETE", "/api/v1/users/nobody"): {None: 401, "root": 404, "rev": 403, "ed": 403, "plan": 403, "doc": 403},
    ("GET", "/api/v1/auth/me"): {None: 401, "root": 200, "rev": 200, "ed": 200, "plan": 200, "doc": 200},
}  # fmt: skip


@pytest.mark.parametrize("route", list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
def test_the_401_403_matrix(client: TestClient, route: tuple[str, str]) -> None:
    method, path = route
    tokens = {name: token(client, name) for name in STAFF}
    for who, expected in MATRIX[route].items():
        headers = {} if who is None else bearer(tokens[who])
        response = client.request(method, path, headers=headers, json={} if method in ("POST", "PATCH") else None)
        assert response.status_code == expected, (who, response.text)
        if expected == 401:
            assert response.headers["www-authenticate"] == 'Bearer realm="servicemap"'
            assert response.json()["error"] == "unauthenticated"
        if expected == 403:
            assert response.json()["error"] == "forbidden"
            assert "you are signed in as" in response.json()["message"] or "editors of" in response.json()["message"]


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Basic cm9vdDpyb290", "Bearer ", "bearer a.b.c", "Token abc",
     "Bearer " + "x" * 10_000],
)  # fmt: skip
def test_bad_credentials_are_401_even_where_anonymous_is_welcome(client: TestClient,
                                                                 header: str) -> None:  # fmt: skip
    response = client.get("/probe/optional", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/probe/optional").json() == {"actor": None}


def _forge(**claims: object) -> str:
    now = int(time.time())
    body = {"iss": "servicemap", "aud": "servicemap-api", "sub": "root", "gen": 1, "iat": now,
            "exp": now + 60, **claims}  # fmt: skip
    return jwt.encode({k: v for k, v in body.items() if v is not None}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("forged", "message"),
    [(_forge(), None),
     (_forge(exp=int(time.time()) - 120), "expired"),
     (_forge(aud="another-api"), "another audience"),
     (_forge(iss="elsewhere"), "not accepted"),
     (_forge(gen=0), "revoked"),
     (_forge(sub="ghost"), "revoked"),
     (_forge(gen=None), "not valid"),
     (jwt.encode({"iss": "servicemap", "aud": "servicemap-api", "sub": "root", "gen": 1,
                  "iat": int(time.time()), "exp": int(time.time()) + 60},
                 "a-different-key-of-the-same-size!!", algorithm="HS256"), "not valid")],
)  # fmt: skip
def test_token_checks(client: TestClient, forged: str, message: str | None) -> None:
    response = client.get("/api/v1/auth/me", headers=bearer(forged))
    if message is None:
        assert response.status_code == 200  # a correctly signed token of the key works
        return
    assert response.status_code == 401
    assert message in response.json()["message"]


def test_tampering_with_a_real_token_is_refused(client: TestClient) -> None:
    real = token(client, "ed")
    header, payload, signature = real.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for bad in (f"{header}.{payload}.{flipped}", f"{header}.{payload[:-1]}.{signature}"):
        assert client.get("/api/v1/auth/me", headers=bearer(bad)).status_code == 401


def test_password_change_disabling_and_role_change(client: TestClient) -> None:
    admin = bearer(token(client, "root"))
    ed_token = token(client, "ed")
    assert client.post("/probe/review", headers=bearer(ed_token)).status_code == 403
    promoted = client.patch("/api/v1/users/ed", json={"role": "reviewer"}, headers=admin)
    assert promoted.status_code == 200
    assert client.post("/probe/review", headers=bearer(ed_token)).status_code == 200  # at once

    changed = client.patch("/api/v1/users/ed", json={"password": "a brand new one"}, headers=admin)
    assert changed.status_code == 200
    revoked = client.get("/api/v1/auth/me", headers=bearer(ed_token))
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["message"]
    fresh = token(client, "ed", "a brand new one")
    assert client.patch("/api/v1/users/ed", json={"active": False}, headers=admin).status_code == 200
    assert client.get("/api/v1/auth/me", headers=bearer(fresh)).status_code == 401
    refused = client.post("/api/v1/auth/token", data={"username": "ed", "password": "a brand new one"})
    assert refused.status_code == 401


# -- sessions and CSRF ----------------------------------------------------------------------


def test_login_sets_hardened_cookies(client: TestClient) -> None:
    response = client.post("/api/v1/auth/login", json={"username": "ed", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "ed"
    assert "password_hash" not in body["user"]
    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    session = cookies["servicemap_session"].lower()
    for attribute in ("httponly", "secure", "samesite=strict", "path=/", "max-age=28800"):
        assert attribute in session
    csrf = cookies["servicemap_csrf"].lower()
    assert "httponly" not in csrf
    assert "secure" in csrf
    assert f"servicemap_csrf={body['csrf_token']}" in cookies["servicemap_csrf"]
    me = client.get("/api/v1/auth/me").json()
    assert me["via"] == "session"
    assert me["csrf_token"] == body["csrf_token"]


def test_plain_http_intranets_can_drop_secure(tmp_path: Path) -> None:
    with client_for(make_app(tmp_path, cookie_secure=False)) as client:
        response = client.post("/api/v1/auth/login", json={"username": "ed", "password": PASSWORD})
        assert all("secure" not in c.lower() for c in response.headers.get_list("set-cookie"))


def test_cookie_writes_need_the_csrf_header(client: TestClient) -> None:
    csrf = _login(client, "ed")
    assert client.get("/probe/staff").status_code == 200  # reads need no header
    missing = client.post("/probe/staff")
    assert missing.status_code == 403
    assert missing.json()["error"] == "csrf_failed"
    assert client.post("/probe/staff", headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    assert client.post("/probe/staff", headers={"X-CSRF-Token": b"\xe9"}).status_code == 403
    assert client.post("/probe/staff", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.post("/probe/edit/普陀区", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.post("/probe/edit/黄浦区", headers={"X-CSRF-Token": csrf}).status_code == 403


def test_bearer_writes_need_no_csrf_header(client: TestClient) -> None:
    _login(client, "plan")  # a session cookie is present too; the bearer token wins
    response = client.post("/probe/staff", headers=bearer(token(client, "ed")))
    assert response.status_code == 200
    assert response.json()["username"] == "ed"


def test_a_csrf_token_belongs_to_its_session(client: TestClient) -> None:
    first = _login(client, "ed")
    second = _login(client, "ed")  # a new session replaces the cookie
    assert first != second
    assert client.post("/probe/staff", headers={"X-CSRF-Token": first}).status_code == 403
    assert client.post("/probe/staff", headers={"X-CSRF-Token": second}).status_code == 200


def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = _login(client, "ed")
    old_cookie = client.cookies.get("servicemap_session")
    assert client.post("/api/v1/auth/logout").status_code == 403  # CSRF on logout too
    response = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert any("servicemap_session=" in c and "max-age=0" in c.lower()
               for c in response.headers.get_list("set-cookie"))  # fmt: skip
    assert client.get("/api/v1/auth/me").status_code == 401
    client.cookies.set("servicemap_session", old_cookie)
    replay = client.get("/api/v1/auth/me")
    assert replay.status_code == 401
    assert "session has ended" in replay.json()["message"]


def test_login_wants_json(client: TestClient) -> None:
    as_form = client.post("/api/v1/auth/login", data={"username": "ed", "password": PASSWORD})
    assert as_form.status_code == 422
    assert "servicemap_session" not in as_form.headers.get("set-cookie", "")
    untyped = client.post("/api/v1/auth/login",
                          content=b'{"username": "ed", "password": "staff password 1"}')  # fmt: skip
    assert untyped.status_code in (415, 422)  # FastAPI itself refuses an untyped JSON body
    assert "set-cookie" not in untyped.headers
    extra = client.post("/api/v1/auth/login", json={"username": "ed", "password": PASSWORD,
                                                    "role": "admin"})  # fmt: skip
    assert extra.status_code == 422
    wrong = client.post("/api/v1/auth/login", json={"username": "ed", "password": "nope nope"})
    assert wrong.status_code == 401
    assert "set-cookie" not in wrong.headers


# -- OIDC -----------------------------------------------------------------------------------


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    running = start_provider()
    yield running
    stop_provider(running)


def test_oidc_bearer_tokens_map_to_actors(tmp_path: Path, provider: LocalProvider) -> None:
    app = make_app(
        tmp_path, oidc_issuer=provider.issuer, oidc_audience=provider.audience,
        oidc_role_claims=["realm_access.roles", "resource_access.servicemap.roles"],
        oidc_role_map={"union-editor": "editor", "union-reviewer": "reviewer"},
    )  # fmt: skip
    with client_for(app) as client:
        editor = provider.token(preferred_username="wang", realm_access={"roles": []},
                                resource_access={"servicemap": {"roles": ["union-editor"]}},
                                district="普陀区")  # fmt: skip
        me = client.get("/api/v1/auth/me", headers=bearer(editor))
        assert me.json() == {"username": "wang", "role": "editor", "district": "普陀区",
                             "display_name": None, "via": "oidc"}  # fmt: skip
        assert client.post("/probe/edit/普陀区", headers=bearer(editor)).status_code == 200
        assert client.post("/probe/edit/黄浦区", headers=bearer(editor)).status_code == 403
        assert client.post("/probe/review", headers=bearer(editor)).status_code == 403

        reviewer = provider.token(realm_access={"roles": ["union-reviewer"]})
        assert client.post("/probe/review", headers=bearer(reviewer)).status_code == 200
        no_role = provider.token(realm_access={"roles": ["servicemap-admin"]})  # not mapped here
        refused = client.get("/api/v1/auth/me", headers=bearer(no_role))
        assert refused.status_code == 403
        assert "no servicemap role" in refused.json()["message"]
        assert token(client, "root")  # local accounts keep working beside OIDC

        other = start_provider()  # an issuer nobody configured
        try:
            foreign = client.get("/api/v1/auth/me", headers=bearer(other.token()))
        finally:
            stop_provider(other)
        assert foreign.status_code == 401
        assert "issuer are not accepted" in foreign.json()["message"]
        assert provider.jwks_requests == 1


def test_without_oidc_provider_tokens_are_refused(client: TestClient, provider: LocalProvider) -> None:
    response = client.get("/api/v1/auth/me", headers=bearer(provider.token()))
    assert response.status_code == 401


# -- settings, keys and OpenAPI -------------------------------------------------------------


@pytest.mark.parametrize("weak", ["changeme", "secret", "tooShort-123", "x" * 64])
def test_settings_refuse_weak_secret_keys(weak: str) -> None:
    with pytest.raises(ValidationError, match="SERVICEMAP_SECRET_KEY") as caught:
        Settings(secret_key=weak)
    assert "input_value" not in str(caught.value)  # the value is never echoed into logs


def test_oidc_settings_come_in_pairs() -> None:
    with pytest.raises(ValidationError, match="SERVICEMAP_OIDC_AUDIENCE is not"):
        Settings(oidc_issuer="https://sso.example.org/realms/union")
    with pytest.raises(ValidationError, match="not a servicemap role"):
        Settings(oidc_role_map={"x": "superuser"})


def test_the_generated_key_is_shared_by_two_apps_on_one_store(tmp_path: Path) -> None:
    first = make_app(tmp_path, secret_key=None)
    second = make_app(tmp_path, secret_key=None, staff=False)
    with client_for(first) as one, client_for(second) as two:
        issued = token(one, "ed")
        assert two.get("/api/v1/auth/me", headers=bearer(issued)).json()["username"] == "ed"
        assert first.state.registry.store.get_meta("auth.secret_key")


def test_openapi_documents_the_security_schemes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["OAuth2Password"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert schemes["BearerToken"] == {**schemes["BearerToken"], "type": "http", "scheme": "bearer"}
    assert schemes["SessionCookie"]["in"] == "cookie"
    assert schemes["SessionCookie"]["name"] == "servicemap_session"
    expected = [{"OAuth2Password": []}, {"BearerToken": []}, {"SessionCookie": []}]
    for path, method in (("/api/v1/users", "get"), ("/api/v1/users", "post"),
                         ("/api/v1/users/{username}", "patch"), ("/api/v1/auth/me", "get")):  # fmt: skip
        assert spec["paths"][path][method]["security"] == expected
    assert "security" not in spec["paths"]["/api/v1/layers"]["get"]
    assert "security" not in spec["paths"]["/api/v1/auth/token"]["post"]
