"""Logging in: access tokens for scripts, sessions for the staff web pages, who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import SESSION_COOKIE, Authenticator
from api.deps import CallerDep, get_authenticator
from api.errors import RequestError
from api.schemas import ErrorOut
from layers.accounts.errors import NotAuthenticatedError

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])

AuthDep = Annotated[Authenticator, Depends(get_authenticator)]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_LOGIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Unknown user name or wrong password"},
    422: {"model": ErrorOut, "description": "A missing or oversized field"},
    429: {"model": ErrorOut, "description": "Too many failed logins: wait `Retry-After` s"},
}


class TokenOut(BaseModel):
    """An access token (OAuth2 password flow)."""

    access_token: str
    token_type: str = Field("bearer", examples=["bearer"])
    expires_in: int = Field(description="Seconds until the token expires", examples=[28800])


class LoginIn(BaseModel):
    """User name and password of a staff login."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=256, examples=["putuo.editor"])
    password: str = Field(max_length=1024)


class MeOut(BaseModel):
    """The caller."""

    username: str
    role: str
    district: str | None
    display_name: str | None = None
    via: str = Field(description="token, oidc or session")
    csrf_token: str | None = Field(None, description="Session callers: the X-CSRF-Token value")


class LoginOut(BaseModel):
    """A started session."""

    user: dict[str, Any]
    csrf_token: str = Field(description="Send as the X-CSRF-Token header on every write")
    expires_in: int


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/token", response_model=TokenOut, responses=_LOGIN_ERRORS,
             summary="Get an access token (OAuth2 password flow)")  # fmt: skip
def issue_token(
    request: Request,
    auth: AuthDep,
    username: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=1024)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
    scope: Annotated[str, Form(max_length=1024)] = "",
) -> JSONResponse:
    """For scripts: post the form fields `username` and `password`
    (`application/x-www-form-urlencoded`) and get `{"access_token", "token_type": "bearer",
    "expires_in"}`; send the token as `Authorization: Bearer <token>`. It stops working
    when it expires, when the password is changed or when the account is disabled.

    Wrong user name and wrong password get the same `401`; after repeated failures for one
    user name from one address, `429` with `Retry-After`."""
    account = auth.login(username, password, _client(request))
    issued = auth.tokens.issue(account)
    body = {"access_token": issued.access_token, "token_type": issued.token_type,
            "expires_in": issued.expires_in}  # fmt: skip
    return JSONResponse(body, headers=_NO_STORE)


@router.post("/login", response_model=LoginOut, responses=_LOGIN_ERRORS,
             summary="Log in to the staff web pages")  # fmt: skip
def login(body: LoginIn, request: Request, auth: AuthDep) -> JSONResponse:
    """Starts a session: sets the `HttpOnly; Secure; SameSite=Strict` session cookie and a
    readable `servicemap_csrf` cookie, and answers the account and the `csrf_token` that
    every cookie-authenticated write must send as the `X-CSRF-Token` header. JSON only
    (`application/json`), so another site cannot post a login form on the user's behalf."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        # a body without a Content-Type would be read as JSON; a cross-site no-cors fetch
        # can send one, so the type is required
        raise RequestError("send the login as JSON with 'Content-Type: application/json'",
                           status_code=415, code="unsupported_media_type")  # fmt: skip
    account = auth.login(body.username, body.password, _client(request))
    session = auth.accounts.start_session(account)
    response = JSONResponse(
        {"user": account.to_public(), "csrf_token": auth.csrf_token(session.token),
         "expires_in": auth.accounts.session_ttl_s},
        headers=_NO_STORE,
    )  # fmt: skip
    auth.set_session_cookies(response, session)
    return response


@router.post("/logout", status_code=204, responses={403: {"model": ErrorOut}},
             summary="End the web session")  # fmt: skip
def logout(request: Request, auth: AuthDep) -> Response:
    """Ends the session of the session cookie (with its `X-CSRF-Token`) and clears the
    cookies. Bearer tokens are not sessions: they end when they expire (change the password
    to revoke them all)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth.check_csrf(request, token)
        auth.accounts.end_session(token)
    response = Response(status_code=204)
    auth.clear_session_cookies(response)
    return response


@router.get("/me", response_model=MeOut, responses={401: {"model": ErrorOut}},
            summary="Who am I")  # fmt: skip
def me(caller: CallerDep, auth: AuthDep) -> JSONResponse:
    """The caller's user name, role, district and how they authenticated; `401` for
    anonymous callers. A session caller also gets its `csrf_token`."""
    if caller is None:
        raise NotAuthenticatedError
    body: dict[str, Any] = {**caller.actor.to_dict(), "via": caller.via,
                            "display_name": caller.account.display_name if caller.account else None}  # fmt: skip
    if caller.session_token is not None:
        body["csrf_token"] = auth.csrf_token(caller.session_token)
    return JSONResponse(body, headers=_NO_STORE)
