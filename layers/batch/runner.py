"""Run the area tasks serially or on dask.distributed and write one GeoParquet file per area.

Schedulers:

* ``serial`` -- a plain loop in this process (dask is not needed);
* ``local`` -- a :class:`dask.distributed.LocalCluster` of ``workers`` single-threaded
  worker processes on 127.0.0.1, without a dashboard;
* ``tcp://HOST:PORT`` -- a :class:`dask.distributed.Client` of an existing scheduler (its
  workers need the same installed package and the same data folder path).

Each worker returns its area's table; this process writes ``DIR/<area-id>.parquet`` under a
temporary name and renames it, so an interrupted run leaves no partial file and a rerun
skips the areas already written. A failing area is reported and the others go on.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa
import pyarrow.parquet as pq

from layers.batch.tasks import AreaTask, run_task
from layers.errors import LayersError

SCHEDULER_URL = re.compile(r"^tcp://(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")
#: Seconds to wait for an existing scheduler.
CONNECT_TIMEOUT_S = 10


class SchedulerError(LayersError):
    """A scheduler that cannot be used (bad address, unreachable, dask missing)."""

    code = "bad_scheduler"


@dataclass(frozen=True)
class Outcome:
    """What one area gave: a table or an error message, and the seconds it took."""

    area_id: str
    table: pa.Table | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class BatchSummary:
    """The JSON summary of a run (``areas``, ``done``, ``skipped``, ``failed``)."""

    areas: list[str]
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """``{"areas": [...], "done": n, "skipped": n, "failed": [{"area", "error"}]}``."""
        return {"areas": self.areas, "done": len(self.done), "skipped": len(self.skipped),
                "failed": self.failed, "seconds": round(self.seconds, 2)}  # fmt: skip


def check_scheduler(text: str) -> str:
    """``serial``, ``local`` or a ``tcp://HOST:PORT`` address.

    Raises
    ------
    SchedulerError
        For anything else.
    """
    if text in ("serial", "local"):
        return text
    match = SCHEDULER_URL.match(text)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise SchedulerError(f"--scheduler must be serial, local or tcp://HOST:PORT, got {text!r}")
    return text


def safe_run(task: AreaTask) -> Outcome:
    """:func:`run_task` with any error turned into a message (runs on the workers)."""
    started = time.perf_counter()
    try:
        table = run_task(task)
    except Exception as error:  # one area's failure must not stop the others
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        return Outcome(task.area_id, error=message, seconds=time.perf_counter() - started)
    return Outcome(task.area_id, table=table, seconds=time.perf_counter() - started)


def output_path(out_dir: Path, area_id: str) -> Path:
    """``DIR/<area-id>.parquet``."""
    return Path(out_dir) / f"{area_id}.parquet"


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` as Parquet to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class _Counter:
    """``[k/n] area done`` lines on a stream (the progress of every scheduler)."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.count, self.stream = total, 0, stream

    def __call__(self, outcome: Outcome) -> None:
        self.count += 1
        state = "done" if outcome.error is None else f"FAILED: {outcome.error}"
        bar = "#" * round(20 * self.count / max(self.total, 1))
        print(f"[{bar:<20}] {self.count}/{self.total} {outcome.area_id} {state} "
              f"({outcome.seconds:.1f} s)", file=self.stream, flush=True)  # fmt: skip


def _serial(tasks: Sequence[AreaTask]) -> Iterable[Outcome]:
    for task in tasks:
        yield safe_run(task)


def _distributed(
    tasks: Sequence[AreaTask], scheduler: str, workers: int, stream: TextIO
) -> Iterable[Outcome]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SchedulerError("--scheduler local/tcp needs dask.distributed: "
                             "pip install 'servicemap[batch]'") from None  # fmt: skip
    cluster = None
    try:
        if scheduler == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=40)  # fmt: skip
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as error:
        if cluster is not None:
            cluster.close()
        raise SchedulerError(f"cannot reach the dask scheduler {scheduler}: {error}") from None
    print(f"dask: {scheduler} with {len(client.scheduler_info().get('workers', {}))} worker(s)",
          file=stream)  # fmt: skip
    try:
        futures = {client.submit(safe_run, t, key=f"area-{t.kind}-{t.area_id}", pure=False): t
                   for t in tasks}  # fmt: skip
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as error:  # a lost worker, an unpicklable result
                yield Outcome(futures[future].area_id, error=f"{type(error).__name__}: {error}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_batch(
    tasks: Sequence[AreaTask],
    out_dir: Path,
    *,
    scheduler: str = "serial",
    workers: int = 2,
    stream: TextIO = sys.stderr,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> BatchSummary:
    """Run the tasks whose output file is missing and write their tables.

    Parameters
    ----------
    tasks
        One per area.
    out_dir
        Output folder (created).
    scheduler
        ``serial``, ``local`` or ``tcp://HOST:PORT`` (see :func:`check_scheduler`).
    workers
        Worker processes of the ``local`` cluster.
    stream
        Where progress and skip messages go.

    Raises
    ------
    SchedulerError
        For a bad or unreachable scheduler.
    """
    check_scheduler(scheduler)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = BatchSummary([t.area_id for t in tasks])
    pending = []
    for task in tasks:
        path = output_path(out_dir, task.area_id)
        if path.exists():
            summary.skipped.append(task.area_id)
            print(f"skip {task.area_id}: {path.name} exists", file=stream)
        else:
            pending.append(task)
    counter = _Counter(len(pending), stream)
    if pending:
        outcomes = (_serial(pending) if scheduler == "serial"
                    else _distributed(pending, scheduler, workers, stream))  # fmt: skip
        for outcome in outcomes:
            if outcome.error is None and outcome.table is not None:
                try:
                    write_atomic(outcome.table, output_path(out_dir, outcome.area_id))
                except OSError as error:
                    outcome = Outcome(outcome.area_id, error=f"cannot write: {error}",
                                      seconds=outcome.seconds)  # fmt: skip
            if outcome.error is None:
                summary.done.append(outcome.area_id)
            else:
                summary.failed.append({"area": outcome.area_id, "error": outcome.error})
            counter(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    order = {a: i for i, a in enumerate(summary.areas)}
    summary.done.sort(key=order.__getitem__)
    summary.failed.sort(key=lambda f: order[f["area"]])
    summary.seconds = time.perf_counter() - started
    return summary
