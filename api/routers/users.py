"""Account management for administrators: list, create, change, remove local accounts."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Authenticator
from api.deps import AdminDep, get_authenticator, require_role
from api.errors import RequestError
from api.schemas import ErrorOut
from layers.accounts.model import Account
from layers.accounts.roles import Role
from layers.accounts.service import UNSET

router = APIRouter(prefix="/api/v1/users", tags=["accounts"],
                   dependencies=[Depends(require_role(Role.ADMIN))])  # fmt: skip

AuthDep = Annotated[Authenticator, Depends(get_authenticator)]
UsernamePath = Annotated[str, Path(max_length=256, description="The account's user name")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not logged in"},
    403: {"model": ErrorOut, "description": "Not an administrator (or no CSRF header)"},
    422: {"model": ErrorOut, "description": "A bad field"},
}
_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')
#: What an ``If-Match`` of this API may be (documented, so a malformed one is a 422).
IF_MATCH_PATTERN = r'^\s*(\*|(W/)?"\d{1,18}")\s*$'


class UserCreate(BaseModel):
    """A new local account."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=256, examples=["putuo.editor"],
                          description="1–64 lower-case ASCII letters, digits, '.', '_', '-'")  # fmt: skip
    role: Role
    district: str | None = Field(None, max_length=64, examples=["普陀区"],
                                 description="One of the 16 districts; required for editors")  # fmt: skip
    display_name: str | None = Field(None, max_length=400, examples=["普陀区总工会 王老师"])
    password: str | None = Field(None, max_length=1024, description="10–256 characters; "
                                 "without one the account cannot log in until it is set")  # fmt: skip


class UserUpdate(BaseModel):
    """Fields to change; absent fields keep their value (`district: null` clears it)."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    district: str | None = Field(None, max_length=64)
    display_name: str | None = Field(None, max_length=400)
    active: bool | None = Field(None, description="false disables the account and revokes "
                                "its tokens and sessions")  # fmt: skip
    password: str | None = Field(None, max_length=1024, description="A new password "
                                 "(revokes the account's tokens and sessions)")  # fmt: skip


class UserPublic(BaseModel):
    """An account as the API shows it (never its password hash)."""

    username: str
    role: Role
    district: str | None
    display_name: str | None
    active: bool
    has_password: bool
    version: int
    created_at: str
    updated_at: str
    password_changed_at: str | None


def _answer(account: Account, status_code: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(account.to_public(), status_code=status_code,
                        headers={"ETag": account.etag, "Cache-Control": "no-store", **headers})  # fmt: skip


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.match(if_match.strip())
    if found is None:
        message = 'If-Match must be the ETag of the account as read, e.g. "3"'
        raise RequestError(message, status_code=422, code="invalid_if_match")
    return int(found.group(1))


@router.get("", response_model=list[UserPublic], responses=_ERRORS, summary="List accounts")
def list_users(auth: AuthDep) -> JSONResponse:
    """Every local account by user name (administrators only)."""
    return JSONResponse([a.to_public() for a in auth.accounts.list()],
                        headers={"Cache-Control": "no-store"})  # fmt: skip


@router.post("", status_code=201, response_model=UserPublic,
             responses={**_ERRORS, 409: {"model": ErrorOut, "description": "Name taken"}},
             summary="Create an account")  # fmt: skip
def create_user(body: UserCreate, request: Request, auth: AuthDep, actor: AdminDep) -> JSONResponse:
    """Create a local account. User names are folded to lower case (`Alice` is `alice`);
    editors need a `district`."""
    account = auth.accounts.add(body.username, body.role, district=body.district,
                                display_name=body.display_name, password=body.password,
                                actor=actor)  # fmt: skip
    location = str(request.url_for("get_user", username=account.username).path)
    return _answer(account, 201, Location=location)


@router.get("/{username}", response_model=UserPublic,
            responses={**_ERRORS, 404: {"model": ErrorOut}}, summary="An account")  # fmt: skip
def get_user(username: UsernamePath, auth: AuthDep) -> JSONResponse:
    """One account, with its `ETag` (send it back as `If-Match` when changing it)."""
    return _answer(auth.accounts.get(username))


@router.patch("/{username}", response_model=UserPublic,
              responses={**_ERRORS, 404: {"model": ErrorOut},
                         409: {"model": ErrorOut, "description": "Would leave no admin"},
                         412: {"model": ErrorOut, "description": "Changed since read"}},
              summary="Change an account")  # fmt: skip
def update_user(
    username: UsernamePath,
    body: UserUpdate,
    auth: AuthDep,
    actor: AdminDep,
    if_match: Annotated[str | None, Header(max_length=64, pattern=IF_MATCH_PATTERN,
                                           description='The ETag as read, e.g. "3", or *')] = None,
) -> JSONResponse:
    """Change the role, district, display name, active flag or password. Fields not sent
    keep their value. With `If-Match` the change applies only if the account is still at
    that version (`412` otherwise). Disabling an account or setting its password revokes
    its tokens and sessions; the last active administrator cannot be demoted or disabled."""
    sent = body.model_fields_set
    changes: dict[str, Any] = {
        name: getattr(body, name) if name in sent else UNSET
        for name in ("role", "district", "display_name", "active", "password")
    }
    for name in ("role", "active", "password"):
        if changes[name] is None:
            changes[name] = UNSET  # null means "leave as it is" where clearing is meaningless
    account = auth.accounts.update(username, expected_version=_expected_version(if_match),
                                   actor=actor, **changes)  # fmt: skip
    return _answer(account)


@router.delete("/{username}", status_code=204,
               responses={**_ERRORS, 404: {"model": ErrorOut},
                          409: {"model": ErrorOut, "description": "The last admin"}},
               summary="Remove an account")  # fmt: skip
def delete_user(username: UsernamePath, auth: AuthDep, actor: AdminDep) -> Response:
    """Remove the account and end its sessions (the audit log keeps its name)."""
    auth.accounts.delete(username, actor=actor)
    return Response(status_code=204)
