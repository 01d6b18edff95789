"""Helpers shared by the benchmarks: timing, a loopback server, wrk and a Python load client."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` wall-clock runs of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def loopback_server(workers: int = 1, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``servicemap serve`` on a free loopback port; yield its base URL."""
    port = free_port()
    state = tempfile.mkdtemp(prefix="servicemap-bench-")
    environment = {**os.environ, "SERVICEMAP_STATE_DIR": state, **(env or {})}
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port),
               "--workers", str(workers), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=REPO, env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        import urllib.request

        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.3)
        wait_ready(base, workers, deadline=time.time() + 600)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(state, ignore_errors=True)


def wait_ready(base: str, workers: int, deadline: float) -> None:
    """Poll ``/readyz`` until every worker process has finished its start-up warm-up.

    Each worker answers for itself and the kernel spreads connections among them, so the
    server counts as ready after ``10 × workers`` consecutive 200 answers.
    """
    import urllib.error
    import urllib.request

    streak = 0
    while streak < 10 * workers:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:
                streak = streak + 1 if response.status == 200 else 0
        except (urllib.error.HTTPError, OSError):
            streak = 0
            if time.time() > deadline:
                raise RuntimeError("server did not finish its warm-up") from None
            time.sleep(0.5)


def run_wrk(url_lua: str, base: str, seconds: int, connections: int, threads: int = 1) -> dict:
    """Run Debian's ``wrk`` with a Lua script; return requests/s and latency percentiles (ms)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(url_lua)
    output = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
         "--latency", "-s", script.name, base],
        capture_output=True, text=True, check=True,
    ).stdout
    os.unlink(script.name)
    result = json.loads(output.strip().splitlines()[-1].removeprefix("JSON "))
    return result


WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format('JSON {"requests": %d, "seconds": %f, "errors": %d, '
    .. '"non2xx": %d, "p50_ms": %f, "p90_ms": %f, "p99_ms": %f}\\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000))
end
"""


def wrk_script_for_paths(paths: list[str]) -> str:
    """A wrk Lua script cycling through ``paths`` and printing a JSON summary line."""
    lines = ",\n".join(json.dumps(p) for p in paths)
    return (
        f"local paths = {{\n{lines}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        "  return wrk.format('GET', paths[i])\nend\n" + WRK_REPORT
    )


def python_load(base: str, paths: list[str], seconds: float, concurrency: int) -> dict:
    """Fallback load generator (asyncio + httpx) when ``wrk`` is not installed."""
    import httpx

    latencies: list[float] = []
    errors = 0

    async def worker(client: httpx.AsyncClient, offset: int, stop: float) -> None:
        nonlocal errors
        i = offset
        while time.perf_counter() < stop:
            start = time.perf_counter()
            response = await client.get(paths[i % len(paths)])
            latencies.append(time.perf_counter() - start)
            errors += response.status_code != 200
            i += concurrency

    async def main() -> float:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            start = time.perf_counter()
            stop = start + seconds
            await asyncio.gather(*(worker(client, j, stop) for j in range(concurrency)))
            return time.perf_counter() - start

    elapsed = asyncio.run(main())
    ms = np.array(latencies) * 1000
    return {"requests": len(ms), "seconds": elapsed, "errors": 0, "non2xx": errors,
            "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99))}


def machine_line() -> str:
    """A one-line description of the machine the figures come from."""
    import platform

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")
