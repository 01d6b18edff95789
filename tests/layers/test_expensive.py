"""The bounded answer cache and the compute gate of expensive answers."""

from __future__ import annotations

import threading
import time

import pytest

from layers.expensive import ComputeGate, ResultCache, ServiceBusyError


def test_the_cache_drops_the_least_recently_used_within_its_entry_and_byte_bounds() -> None:
    cache: ResultCache[bytes] = ResultCache(max_entries=3, max_bytes=10, size=len)
    for key in "abc":
        cache.put(key, b"xx")
    assert cache.get("a") == b"xx"  # a is now the most recently used
    cache.put("d", b"xx")  # four entries: b, the least recently used, goes
    assert cache.get("b") is None
    assert {k for k in "acd" if cache.get(k) is not None} == set("acd")
    cache.put("e", b"123456")  # 2 + 2 + 2 + 6 > 10 bytes: the oldest (a) goes
    stats = cache.stats()
    assert (stats.entries, stats.bytes) == (3, 10)
    assert cache.get("a") is None
    assert cache.get("e") == b"123456"
    cache.put("huge", b"x" * 11)  # larger than the whole cache: not kept, nothing dropped
    assert cache.get("huge") is None
    assert cache.get("e") == b"123456"
    cache.put("e", b"1")  # replacing a value counts its new size only
    assert cache.stats().bytes == 2 + 2 + 1
    cache.clear()
    assert cache.stats().entries == cache.stats().bytes == 0


def test_a_cache_of_no_entries_keeps_nothing() -> None:
    cache: ResultCache[bytes] = ResultCache(max_entries=0, max_bytes=1000, size=len)
    cache.put("a", b"x")
    assert cache.get("a") is None
    assert cache.stats().misses == 1


def _hold(gate: ComputeGate, entered: threading.Event, release: threading.Event) -> None:
    with gate.slot():
        entered.set()
        release.wait(10)


def test_the_gate_admits_its_slots_lets_a_few_wait_and_refuses_the_rest() -> None:
    gate = ComputeGate(slots=1, max_waiting=1, wait_s=5.0, what="areas")
    entered, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold, args=(gate, entered, release))
    holder.start()
    assert entered.wait(5)
    outcome: list[str] = []

    def waiter() -> None:
        with gate.slot():
            outcome.append("waited and ran")

    waiting = threading.Thread(target=waiter)
    waiting.start()
    deadline = time.monotonic() + 5
    while gate.waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # until the second caller waits
    started = time.monotonic()
    refusal = pytest.raises(ServiceBusyError, match="at most 1 at a time and 1 waiting")
    with refusal as refused, gate.slot():
        pytest.fail("a third caller must not run")
    assert time.monotonic() - started < 1.0  # refused at once, not after a wait
    assert refused.value.status_code == 503
    assert 1 <= refused.value.retry_after_s <= 60
    assert f"retry in {refused.value.retry_after_s} s" in refused.value.message
    release.set()
    holder.join(5)
    waiting.join(5)
    assert outcome == ["waited and ran"]
    assert gate.refused == 1
    with gate.slot():  # free again
        pass


def test_a_waiting_caller_is_refused_after_the_longest_wait() -> None:
    gate = ComputeGate(slots=1, max_waiting=4, wait_s=0.2)
    entered, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold, args=(gate, entered, release))
    holder.start()
    assert entered.wait(5)
    started = time.monotonic()
    with pytest.raises(ServiceBusyError, match=r"waited 0.2 s"), gate.slot():
        pytest.fail("no slot freed")
    assert 0.15 <= time.monotonic() - started < 2.0
    release.set()
    holder.join(5)


def test_the_gate_never_runs_more_than_its_slots_at_once() -> None:
    gate = ComputeGate(slots=2, max_waiting=16, wait_s=10.0)
    running = peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with gate.slot():
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.02)
            with lock:
                running -= 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert peak == 2
    assert gate.refused == 0


def test_a_gate_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        ComputeGate(slots=0, max_waiting=1, wait_s=1.0)
