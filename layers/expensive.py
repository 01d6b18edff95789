"""Bounded caching and bounded concurrency for expensive answers (isochrones, service areas).

An isochrone or a service area on the citywide drive network costs one to several seconds
of CPU, nearly all of it in the union of the buffered streets (GEOS). A public endpoint
cannot let anyone occupy the server's workers with them, so:

* :class:`ResultCache` keeps finished answers (any ``bytes``-sized value) in a
  least-recently-used map bounded by entry count and by total bytes; a key names every
  input the answer depends on (network, layer version, thresholds), so a changed network
  or layer makes new keys and the old entries age out.
* :class:`ComputeGate` admits at most ``slots`` computations at a time; up to
  ``max_waiting`` more wait at most ``wait_s`` for a slot, anything beyond is refused at
  once with :class:`ServiceBusyError` (503 with ``Retry-After``), so requests never queue
  without end.

Both are per process and thread-safe (routes run on a thread pool).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from layers.errors import LayersError

V = TypeVar("V")


class ServiceBusyError(LayersError):
    """Every slot for expensive computations is taken and the waiting line is full."""

    status_code = 503
    code = "busy"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class CacheStats:
    """A snapshot of a :class:`ResultCache`."""

    entries: int
    bytes: int
    hits: int
    misses: int


class ResultCache(Generic[V]):
    """A thread-safe LRU map bounded by entry count and total size.

    Parameters
    ----------
    max_entries
        Most entries kept (0 disables the cache).
    max_bytes
        Most bytes kept, as ``size(value)`` counts them; a value larger than this is not
        kept at all.
    size
        The size of a value in bytes.
    """

    def __init__(self, max_entries: int, max_bytes: int, size: Callable[[V], int]) -> None:
        self.max_entries = max(0, int(max_entries))
        self.max_bytes = max(0, int(max_bytes))
        self._size = size
        self._values: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value of ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            found = self._values.get(key)
            if found is None:
                self._misses += 1
                return None
            self._values.move_to_end(key)
            self._hits += 1
            return found[0]

    def put(self, key: Hashable, value: V) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used to make room."""
        size = int(self._size(value))
        if self.max_entries == 0 or size > self.max_bytes:
            return
        with self._lock:
            old = self._values.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._values[key] = (value, size)
            self._bytes += size
            while len(self._values) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._values.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._values.clear()
            self._bytes = 0

    def stats(self) -> CacheStats:
        """Entries, bytes, hits and misses so far."""
        with self._lock:
            return CacheStats(len(self._values), self._bytes, self._hits, self._misses)


class ComputeGate:
    """At most ``slots`` expensive computations at a time, a short bounded wait for more.

    Parameters
    ----------
    slots
        Computations admitted at the same time.
    max_waiting
        Callers that may wait for a slot; one more is refused at once.
    wait_s
        Longest wait for a slot before the caller is refused.
    what
        What is computed, for the refusal message (``"isochrones and service areas"``).
    clock
        Monotonic seconds (tests may pass their own).
    """

    def __init__(
        self,
        slots: int,
        max_waiting: int,
        wait_s: float,
        what: str = "expensive answers",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if slots < 1:
            msg = f"a gate needs at least one slot, got {slots}"
            raise ValueError(msg)
        self.slots = slots
        self.max_waiting = max(0, max_waiting)
        self.wait_s = max(0.0, wait_s)
        self.what = what
        self._clock = clock
        self._busy = 0
        self._waiting = 0
        self._mean_s = 1.0  # running mean of a computation's seconds (for Retry-After)
        self._refused = 0
        self._cond = threading.Condition()

    @property
    def busy(self) -> int:
        """Computations running now."""
        return self._busy

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot now."""
        return self._waiting

    @property
    def refused(self) -> int:
        """How many callers were refused so far."""
        return self._refused

    def retry_after_s(self) -> int:
        """Seconds after which a refused caller may expect a free slot (1 to 60)."""
        queued = self._busy + self._waiting
        return max(1, min(60, math.ceil(self._mean_s * max(1, queued) / self.slots)))

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the block (waiting at most ``wait_s``).

        Raises
        ------
        ServiceBusyError
            When the waiting line is full, or no slot freed within ``wait_s``.
        """
        with self._cond:
            if self._busy >= self.slots:
                if self._waiting >= self.max_waiting:
                    self._refuse("")
                self._waiting += 1
                try:
                    deadline = self._clock() + self.wait_s
                    while self._busy >= self.slots:
                        left = deadline - self._clock()
                        if left <= 0 or (not self._cond.wait(left) and self._busy >= self.slots):
                            self._refuse(f" (waited {self.wait_s:g} s)")
                finally:
                    self._waiting -= 1
            self._busy += 1
        started = self._clock()
        try:
            yield
        finally:
            seconds = self._clock() - started
            with self._cond:
                self._busy -= 1
                self._mean_s = 0.8 * self._mean_s + 0.2 * seconds
                self._cond.notify()

    def _refuse(self, waited: str) -> None:
        self._refused += 1
        retry = self.retry_after_s()
        message = (
            f"the server is busy computing {self.what} for other anonymous callers: at most "
            f"{self.slots} at a time and {self.max_waiting} waiting per server process"
            f"{waited}; retry in {retry} s, or sign in"
        )
        raise ServiceBusyError(message, retry)
