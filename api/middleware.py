"""ASGI middleware of the service: body-size limits, security headers, CORS for public reads.

Written as plain ASGI callables (no per-request task or thread), so they cost next to
nothing on the hot paths.

* :class:`BodyLimit` refuses a request body larger than its route's limit with **413**
  before it is read in full: at once from ``Content-Length``, or as soon as a chunked body
  passes the limit.
* :class:`SecurityHeaders` adds ``Content-Security-Policy`` (no inline scripts; the tile
  origins allowed; ``frame-ancestors``), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy`` and ``X-Frame-Options`` to every answer, and CORS headers to the
  read-only public API (``GET``/``HEAD`` under ``/api/v1/`` and ``/ogc``), never to writes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


#: Methods the service answers; anything else (TRACE, CONNECT …) is 405 with ``Allow``.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _error(status: int, code: str, message: str) -> tuple[dict[str, Any], bytes]:
    body = json.dumps({"error": code, "message": message}, ensure_ascii=False).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), (b"connection", b"close")],
    }  # fmt: skip
    return start, body


@dataclass
class BodyLimit:
    """413 for request bodies over the limit of their path.

    Parameters
    ----------
    app
        The wrapped application.
    default_bytes
        Limit of every route not named in ``path_limits``.
    path_limits
        ``(path prefix, limit)`` pairs, first match wins (e.g. uploads).
    """

    app: ASGIApp
    default_bytes: int = 1_000_000
    path_limits: tuple[tuple[str, int], ...] = ()

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.path_limits:
            if path.startswith(prefix):
                return limit
        return self.default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._refuse(send, 400, "bad_request", "Content-Length is not a number")
                    return
        if declared is not None and declared > limit:
            await self._refuse_size(send, limit, declared)
            return
        seen = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # answer 413 now and tell the app the client went away
                    refused = True
                    if not started:
                        await self._refuse_size(send, limit, None)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not refused:
                raise

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, message: str) -> None:
        start, body = _error(status, code, message)
        await send(start)
        await send({"type": "http.response.body", "body": body})

    async def _refuse_size(self, send: Send, limit: int, declared: int | None) -> None:
        size = f" ({declared:,} bytes)" if declared is not None else ""
        await self._refuse(
            send, 413, "body_too_large",
            f"the request body{size} is larger than this endpoint accepts: at most "
            f"{limit:,} bytes",
        )  # fmt: skip


@dataclass
class SecurityHeaders:
    """Security headers on every answer; CORS on the public read-only API.

    Parameters
    ----------
    app
        The wrapped application.
    tile_origins
        Origins the map may load tiles (and probe them) from, for ``img-src``/``connect-src``.
    embed_paths
        Paths of pages made to live in other sites' iframes (``/embed``): their
        ``frame-ancestors`` is ``embed_ancestors``; every other page is ``'self'``.
    embed_ancestors
        ``frame-ancestors`` sources of the embed pages (default any origin: ``*``).
    cors_prefixes
        Path prefixes of the read-only public API that get ``Access-Control-Allow-Origin``.
    """

    app: ASGIApp
    tile_origins: Iterable[str] = ()
    embed_paths: tuple[str, ...] = ("/embed",)
    embed_ancestors: Iterable[str] = ("*",)
    cors_prefixes: tuple[str, ...] = ("/api/v1/", "/ogc", "/oembed")
    _csp: dict[bool, bytes] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        tiles = " ".join(sorted(set(self.tile_origins)))
        base = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob: {tiles}; connect-src 'self' {tiles}; "
            "worker-src 'self' blob:; font-src 'self' data:; object-src 'none'; "
            "base-uri 'self'; form-action 'self'"
        )
        ancestors = " ".join(self.embed_ancestors) or "'none'"
        self._csp = {
            False: f"{base}; frame-ancestors 'self'".encode(),
            True: f"{base}; frame-ancestors {ancestors}".encode(),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        if method not in _METHODS:
            start, body = _error(405, "method_not_allowed",
                                 f"method {method[:20]} is not supported by this service")  # fmt: skip
            start["headers"].append((b"allow", b", ".join(m.encode() for m in sorted(_METHODS))))
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        # exactly the embed pages: /embed-builder.html is a staff page, framed by 'self' only
        embed = path in self.embed_paths or path.startswith(tuple(f"{p}/" for p in self.embed_paths))
        public_path = path.startswith(self.cors_prefixes)
        public_read = method in ("GET", "HEAD") and public_path
        asked = (_header(scope, b"access-control-request-method") or b"GET").upper()
        if (method == "OPTIONS" and public_path and _header(scope, b"origin") is not None
                and asked in (b"GET", b"HEAD")):
            await send({"type": "http.response.start", "status": 204, "headers": [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-methods", b"GET, HEAD, OPTIONS"),
                (b"access-control-allow-headers", b"Accept, Accept-Language, Content-Type"),
                (b"access-control-max-age", b"86400"), (b"vary", b"Origin"),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
            return
        csp = self._csp[embed]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                ]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", csp))
                if not embed:
                    extra.append((b"x-frame-options", b"SAMEORIGIN"))
                if public_read:
                    extra.append((b"access-control-allow-origin", b"*"))
                    extra.append((b"access-control-expose-headers", b"ETag, Link, Retry-After, Content-Crs"))
                message["headers"] = headers + [h for h in extra if h[0] not in names]
            await send(message)

        await self.app(scope, receive, with_headers)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None
