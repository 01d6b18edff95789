"""Isochrone and service-area answers: limits for anonymous callers, a cache, a gate.

An area on the citywide drive network costs seconds of CPU (the union of the buffered
streets), so the public area endpoints

* hold anonymous callers to whole minutes, at most ``anon_area_max_minutes_walk`` /
  ``_drive`` and ``anon_area_max_thresholds`` thresholds (422 ``anonymous_limit`` naming
  the limit; signed-in staff keep the full 60 minutes and 6 thresholds);
* keep each answer, encoded and gzip-compressed once, in a bounded LRU cache keyed on
  every input of the answer (:meth:`layers.networks.NetworkService.isochrone_key`,
  :meth:`~layers.networks.NetworkService.service_area_key`), so a repeated question costs
  a dictionary look-up and no re-encoding;
* compute what the cache does not hold for anonymous callers through a
  :class:`~layers.expensive.ComputeGate`: a few at a time per process, a short bounded
  wait, then 503 ``busy`` with ``Retry-After``.

An answer is the same bytes whether it was computed or came from the cache (the
``X-Cache`` header says which).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from api.deps import app_service
from api.errors import RequestError, excerpt
from api.schemas import GeoJSONResponse
from api.settings import Settings
from layers.expensive import ComputeGate, ResultCache

#: Answers at least this large are stored gzip-compressed (as the GZip middleware does).
GZIP_MIN_BYTES = 2048
#: Compression level of stored answers (level 9 costs three times the CPU for ~2 % less).
GZIP_LEVEL = 6
#: Limits of signed-in callers (the schema's own bounds).
STAFF_MAX_MINUTES = 60
STAFF_MAX_THRESHOLDS = 6


@dataclass(frozen=True)
class EncodedAnswer:
    """One answer as sent: its JSON bytes, gzip-compressed when ``gzipped``."""

    body: bytes
    gzipped: bool
    media_type: str = GeoJSONResponse.media_type

    @property
    def size(self) -> int:
        """Bytes kept in the cache."""
        return len(self.body)


def encode(content: dict[str, Any]) -> EncodedAnswer:
    """``content`` rendered exactly as :class:`~api.schemas.GeoJSONResponse` renders it,
    compressed once when large enough."""
    body = GeoJSONResponse(content).body
    if len(body) < GZIP_MIN_BYTES:
        return EncodedAnswer(bytes(body), gzipped=False)
    return EncodedAnswer(gzip.compress(body, GZIP_LEVEL, mtime=0), gzipped=True)


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "")  # as the GZip middleware


class AreaAnswers:
    """The cache and the gate of one application's area answers (see the module text)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache: ResultCache[EncodedAnswer] = ResultCache(
            settings.area_cache_entries, int(settings.area_cache_mb * 1_000_000),
            lambda answer: answer.size,
        )  # fmt: skip
        self.gate = ComputeGate(settings.anon_area_concurrency, settings.anon_area_max_waiting,
                                settings.anon_area_wait_s, what="isochrones and service areas")  # fmt: skip

    def answer(
        self,
        request: Request,
        key: Hashable,
        compute: Callable[[], dict[str, Any]],
        anonymous: bool,
    ) -> Response:
        """The answer of ``key``: from the cache, or made by ``compute()`` (through the gate
        for anonymous callers) and kept.

        Raises
        ------
        ServiceBusyError
            (503) For an anonymous caller when the gate is full.
        """
        found = self.cache.get(key)
        state = "hit"
        if found is None:
            if anonymous:
                with self.gate.slot():
                    found = self.cache.get(key)  # computed by the caller we waited for?
                    if found is None:
                        found, state = encode(compute()), "miss"
            else:
                found, state = encode(compute()), "miss"
            if state == "miss":
                self.cache.put(key, found)
        return respond(request, found, state)


def respond(request: Request, answer: EncodedAnswer, state: str) -> Response:
    """The response carrying ``answer`` (decompressed for clients that do not take gzip)."""
    headers = {"X-Cache": state}
    body = answer.body
    if answer.gzipped:
        headers["Vary"] = "Accept-Encoding"
        if _accepts_gzip(request):
            headers["Content-Encoding"] = "gzip"
        else:
            body = gzip.decompress(body)
    return Response(body, media_type=answer.media_type, headers=headers)


def area_answers(request: Request) -> AreaAnswers:
    """The application's :class:`AreaAnswers` (made on first use)."""
    settings: Settings = request.app.state.settings
    return app_service(request, "area_answers", lambda: AreaAnswers(settings))


def check_anonymous_minutes(minutes: list[float], profile: str, settings: Settings) -> None:
    """Refuse thresholds beyond the anonymous limits (422 ``anonymous_limit``).

    Raises
    ------
    RequestError
        Naming the limit that was passed.
    """
    most = (settings.anon_area_max_minutes_drive if profile == "drive"
            else settings.anon_area_max_minutes_walk)  # fmt: skip
    given = ",".join(f"{m:g}" for m in minutes)
    if len(minutes) > settings.anon_area_max_thresholds:
        raise _limit(f"without signing in, at most {settings.anon_area_max_thresholds} "
                     f"thresholds per request (got {len(minutes)}); signed-in staff may ask "
                     f"for {STAFF_MAX_THRESHOLDS}")  # fmt: skip
    if any(m != int(m) for m in minutes):
        raise _limit(f"without signing in, thresholds are whole minutes (got {excerpt(given)})")
    if max(minutes) > most:
        raise _limit(f"without signing in, {profile} areas reach at most {most} minutes (got "
                     f"{max(minutes):g}); signed-in staff may ask for up to "
                     f"{STAFF_MAX_MINUTES}")  # fmt: skip


def _limit(message: str) -> RequestError:
    return RequestError(message, 422, code="anonymous_limit")
