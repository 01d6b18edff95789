"""Fixed-window request counters: in the process, or shared through the SQL store.

A :class:`Rate` is ``limit`` requests per ``window_s`` seconds (``"600/minute"``). A window
starts at a multiple of ``window_s`` seconds since the epoch, so every process that reads
the same clock agrees on it; the first ``limit`` hits of a key in a window are allowed,
later ones are refused until the next window starts (``reset_s`` later). A client may so
send up to ``2 × limit`` requests around a window boundary: the price of one counter per
key and window.

* :class:`MemoryRateLimiter` counts in the process (the embedded SQLite deployment, where
  one server process is the rule): no I/O, a lock and a dictionary.
* :class:`StoreRateLimiter` counts in the ``rate_limits`` table of the store, one atomic
  ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per hit, so all the worker processes on
  one PostgreSQL database share the count exactly. A key found over its limit is then
  refused in this process without a database round trip until its window ends, and old
  windows are deleted by the first hit of each new window.

Keys are hashed before they are kept (client addresses are personal data); a store error
lets the request through (the limiter never takes the service down with it).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from layers.errors import StoreError

logger = logging.getLogger(__name__)

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
          "hour": 3600, "d": 86400, "day": 86400}  # fmt: skip
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")

#: Keys remembered per window at most (in memory); beyond, new keys are not limited.
MAX_KEYS = 100_000


@dataclass(frozen=True)
class Rate:
    """``limit`` requests per ``window_s`` seconds."""

    limit: int
    window_s: int

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_s}s"


def parse_rate(text: str | None) -> Rate | None:
    """Parse ``"600/minute"``, ``"10/second"``, ``"5000/hour"``, ``"100/30s"``.

    ``None``, ``""`` and ``"0"`` (or a zero limit) mean no limit and give ``None``.

    Raises
    ------
    ValueError
        For anything else, with the accepted forms.
    """
    if text is None or text.strip() in ("", "0"):
        return None
    match = _RATE.match(text.lower())
    if match is None or match.group(3) not in _UNITS:
        message = (f"rate limit {text[:40]!r} is not understood: write N/second, N/minute, "
                   "N/hour, N/day or N/<seconds>s (e.g. 600/minute), or 0 for none")  # fmt: skip
        raise ValueError(message)
    limit = int(match.group(1))
    window_s = int(match.group(2) or 1) * _UNITS[match.group(3)]
    if window_s < 1 or window_s > 86400:
        raise ValueError(f"rate limit window of {text[:40]!r} must be 1 s to 1 day")
    return None if limit == 0 else Rate(limit, window_s)


@dataclass(frozen=True)
class Decision:
    """The answer to one hit.

    Attributes
    ----------
    allowed
        Whether the request may go on.
    limit, remaining
        The window's limit and the hits left in it after this one.
    reset_s
        Seconds until the window ends (the ``Retry-After`` of a refusal).
    """

    allowed: bool
    limit: int
    remaining: int
    reset_s: float


def bucket(key: str) -> str:
    """The stored form of a key (a short hash: no client address is kept)."""
    return hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=12).hexdigest()


class RateLimiter:
    """Fixed-window counting of hits per key (see the module docstring).

    Parameters
    ----------
    rate
        The limit and its window.
    clock
        Seconds since the epoch (tests pass a fake clock).
    """

    #: Whether :meth:`hit` waits for I/O (call it from a worker thread then).
    blocking = False

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.time) -> None:
        self.rate = rate
        self.clock = clock

    def _window(self) -> tuple[int, float]:
        now = self.clock()
        start = int(now // self.rate.window_s) * self.rate.window_s
        return start, start + self.rate.window_s - now

    def _decide(self, hits: int, reset_s: float) -> Decision:
        limit = self.rate.limit
        return Decision(hits <= limit, limit, max(0, limit - hits), reset_s)

    def hit(self, key: str) -> Decision:
        """Count one request of ``key`` and say whether it may go on."""
        raise NotImplementedError


class MemoryRateLimiter(RateLimiter):
    """Counters in this process (one dictionary per window)."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.time,
                 max_keys: int = MAX_KEYS) -> None:  # fmt: skip
        super().__init__(rate, clock)
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._window_start = -1
        self._counts: dict[str, int] = {}
        self._warned = False

    def hit(self, key: str) -> Decision:
        start, reset_s = self._window()
        with self._lock:
            if start != self._window_start:
                self._window_start, self._counts, self._warned = start, {}, False
            hits = self._counts.get(key, 0) + 1
            if hits == 1 and len(self._counts) >= self.max_keys:
                if not self._warned:
                    logger.warning("rate limiter: %d clients in one window, not counting more",
                                   self.max_keys)  # fmt: skip
                    self._warned = True
                return Decision(True, self.rate.limit, self.rate.limit, reset_s)
            self._counts[key] = hits
        return self._decide(hits, reset_s)


_UPSERT = (
    "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ({p}, {p}, 1) "
    "ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 "
    "RETURNING hits"
)


class StoreRateLimiter(RateLimiter):
    """Counters in the store's ``rate_limits`` table, shared by every process on it.

    Parameters
    ----------
    rate, clock
        As :class:`RateLimiter`.
    store
        A SQL store (``sql_autocommit`` and ``dialect``): PostGIS, or SQLite.
    """

    blocking = True

    def __init__(self, rate: Rate, store: Any, clock: Callable[[], float] = time.time) -> None:
        super().__init__(rate, clock)
        self.store = store
        p = store.dialect.placeholder
        self._upsert = _UPSERT.format(p=p)
        self._purge = f"DELETE FROM rate_limits WHERE window_start < {p}"
        self._lock = threading.Lock()
        self._window_start = -1
        self._over: set[str] = set()  # keys known over the limit in the current window

    def hit(self, key: str) -> Decision:
        start, reset_s = self._window()
        name = bucket(key)
        with self._lock:
            new_window = start != self._window_start
            if new_window:
                self._window_start, self._over = start, set()
            elif name in self._over:
                return Decision(False, self.rate.limit, 0, reset_s)
        try:
            with self.store.sql_autocommit() as conn:  # one atomic statement each
                if new_window:
                    conn.execute(self._purge, (start - self.rate.window_s,))
                hits = int(conn.execute(self._upsert, (name, start)).fetchone()[0])
        except StoreError as error:
            logger.warning("rate limiter: store unavailable, request let through: %s",
                           error.message)  # fmt: skip
            return Decision(True, self.rate.limit, self.rate.limit, reset_s)
        decision = self._decide(hits, reset_s)
        if not decision.allowed:
            with self._lock:
                if self._window_start == start and len(self._over) < MAX_KEYS:
                    self._over.add(name)
        return decision
