"""The per-client rate limit of anonymous API use (OWASP API4), as plain ASGI middleware.

:class:`AnonymousRateLimit` counts the requests under its path prefixes (``/api/v1/``,
``/ogc``) per client address (IPv6 per ``/64``) with a :class:`~layers.ratelimit.RateLimiter`
and answers **429** with ``Retry-After`` and ``{"error": "rate_limited", "message": …}``
once a client used up its window. Static pages, ``/healthz``, ``/readyz`` and
``/metrics`` lie outside the prefixes and are never counted.

Staff are not limited: a request carrying credentials (``Authorization`` or the session
cookie) is checked first, in a worker thread (``identify``); when they verify, it goes on
uncounted, otherwise it counts as anonymous (so made-up credentials do not escape the
limit; the application then answers them 401 itself). Anonymous requests cost a lock and a
dictionary look-up with the in-memory limiter, one database round trip in a worker thread
with the shared one.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from api.errors import error_body
from api.middleware import ASGIApp, Receive, Scope, Send
from layers.ratelimit import Decision, MemoryRateLimiter, RateLimiter, StoreRateLimiter

logger = logging.getLogger(__name__)

#: Cookie whose presence marks a request as claiming a staff session.
SESSION_COOKIE_MARK = b"servicemap_session="


def client_key(scope: Scope) -> str:
    """The key a request counts against: its client address, IPv6 cut to its ``/64``."""
    client = scope.get("client")
    host = str(client[0]) if client else "unknown"
    if ":" not in host:
        return host[:64]
    try:
        address = ipaddress.IPv6Address(host.split("%")[0])
    except ValueError:
        return host[:64]
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


def carries_credentials(scope: Scope) -> bool:
    """Whether a request sends a bearer token or the staff session cookie."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization" or (name == b"cookie" and SESSION_COOKIE_MARK in value):
            return True
    return False


@dataclass
class AnonymousRateLimit:
    """429 for anonymous clients over their rate (see the module docstring).

    Parameters
    ----------
    app
        The wrapped application.
    limiter
        Counts the hits (in memory, or shared through the store).
    identify
        ``identify(scope) -> bool``: whether the credentials of a request verify (called in
        a worker thread, only for requests that carry credentials); ``None``: every request
        counts.
    prefixes
        Path prefixes that are limited.
    """

    app: ASGIApp
    limiter: RateLimiter
    identify: Callable[[Scope], bool] | None = None
    prefixes: tuple[str, ...] = ("/api/v1/", "/ogc")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or not scope["path"].startswith(self.prefixes)
                or scope["method"] == "OPTIONS"):  # fmt: skip
            await self.app(scope, receive, send)
            return
        if (self.identify is not None and carries_credentials(scope)
                and await anyio.to_thread.run_sync(self.identify, scope)):  # fmt: skip
            await self.app(scope, receive, send)  # staff: not limited
            return
        key = client_key(scope)
        if self.limiter.blocking:
            decision = await anyio.to_thread.run_sync(self.limiter.hit, key)
        else:
            decision = self.limiter.hit(key)
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        await _refuse(send, decision, self.limiter)


async def _refuse(send: Send, decision: Decision, limiter: RateLimiter) -> None:
    retry_after = max(1, math.ceil(decision.reset_s))
    message = (
        f"too many requests from your address: at most {decision.limit} per "
        f"{_window_text(limiter.rate.window_s)} without signing in; retry in {retry_after} s"
    )
    body = json.dumps(error_body("rate_limited", message, retry_after_s=retry_after),
                      ensure_ascii=False).encode()  # fmt: skip
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
        (b"ratelimit-limit", str(decision.limit).encode()), (b"ratelimit-remaining", b"0"),
        (b"ratelimit-reset", str(retry_after).encode()),
    ]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _window_text(window_s: int) -> str:
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if window_s % size == 0:
            count = window_s // size
            return name if count == 1 else f"{count} {name}s"
    return f"{window_s} s"  # pragma: no cover (every whole number of seconds is caught above)


def install_rate_limit(
    app: Any, settings: Any, store: Any, identify: Callable[[Scope], bool]
) -> RateLimiter | None:
    """Add :class:`AnonymousRateLimit` to ``app`` when ``SERVICEMAP_ANON_RATE_LIMIT`` is set.

    The limiter (``app.state.rate_limiter``, ``None`` without a limit) counts in the store
    on PostgreSQL and in the process on SQLite (``SERVICEMAP_RATE_LIMIT_BACKEND`` chooses
    otherwise).
    """
    rate = settings.anon_rate
    limiter: RateLimiter | None = None
    if rate is not None:
        backend = settings.rate_limit_backend
        shared = backend == "store" or (
            backend == "auto" and getattr(store, "dialect", None) is not None
            and store.dialect.name == "postgres"
        )  # fmt: skip
        limiter = StoreRateLimiter(rate, store) if shared else MemoryRateLimiter(rate)
        app.add_middleware(AnonymousRateLimit, limiter=limiter, identify=identify)
        logger.info("anonymous rate limit %s per client, counted %s", rate,
                    "in the store" if shared else "in each process")  # fmt: skip
    app.state.rate_limiter = limiter
    return limiter
