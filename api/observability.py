"""Request ids, one structured log line per request, and Prometheus metrics.

* :class:`RequestObserver` (plain ASGI middleware, the outermost one) takes the request's
  ``X-Request-ID`` when it is sane (1–128 characters of ``A-Za-z0-9._:@+=/-``) or makes
  one, echoes it in the answer, keeps it in :data:`request_id` for every log line written
  while the request runs, and after the answer logs one line on the ``servicemap.access``
  logger and counts the request in :class:`Metrics`. An exception that escapes the
  application is logged with its traceback on ``servicemap.error`` (with the request id)
  and answered ``500 {"error": "internal_error", …}`` with the ``X-Request-ID`` header and
  nothing of the failure in the body.
* :class:`JsonFormatter` writes each log record as one JSON object per line;
  :func:`logging_config` is the ``logging.config`` dictionary ``servicemap serve`` hands
  to uvicorn (``SERVICEMAP_LOG_FORMAT=json|text``).
* :class:`Metrics` holds the application's metrics in its own registry. With
  ``PROMETHEUS_MULTIPROC_DIR`` set (``servicemap serve --workers N`` sets it) every
  process writes its samples there and a scrape of any process adds them all up.

Labels are bounded: the route is the path template (``/api/v1/facilities/{facility_id}``),
a mounted app's mount point (``/*`` for the static files) or ``unmatched``; methods
outside the served set are ``other``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from api.errors import error_body
from api.middleware import _METHODS, ASGIApp, Message, Receive, Scope, Send
from layers.errors import LayersError
from layers.jobs.model import JobCancelledError

#: The request id of the request being served (``None`` outside requests).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "servicemap_request_id", default=None
)
_SANE_ID = re.compile(r"[A-Za-z0-9._:@+=/-]{1,128}")
access_logger = logging.getLogger("servicemap.access")
error_logger = logging.getLogger("servicemap.error")

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS_S = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


def multiprocess_dir() -> str | None:
    """The shared metrics directory of several worker processes, if one is set."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The metrics of one application (see the module docstring).

    Attributes
    ----------
    requests
        ``servicemap_http_requests_total{method, route, status}``.
    latency
        ``servicemap_http_request_duration_seconds{method, route}``.
    job_runs
        ``servicemap_job_run_seconds{kind, outcome}``: run time of each plan or route job
        (solver included), outcome ``done``, ``failed`` or ``stopped``.
    """

    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        self.registry = CollectorRegistry()
        own = None if self.multiprocess else self.registry
        self.requests = Counter("servicemap_http_requests", "HTTP requests answered",
                                ("method", "route", "status"), registry=own)  # fmt: skip
        self.latency = Histogram("servicemap_http_request_duration_seconds",
                                 "Time to answer an HTTP request", ("method", "route"),
                                 buckets=LATENCY_BUCKETS_S, registry=own)  # fmt: skip
        self.job_runs = Histogram("servicemap_job_run_seconds", "Run time of background jobs",
                                  ("kind", "outcome"), buckets=JOB_BUCKETS_S, registry=own)  # fmt: skip
        if not self.multiprocess:
            ProcessCollector(registry=self.registry)
        self._collectors: list[Collector] = []
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # label look-ups

    def add_collector(self, collector: Collector) -> None:
        """Add metrics computed at scrape time (the job queue's depth), not per process."""
        self._collectors.append(collector)
        if not self.multiprocess:
            self.registry.register(collector)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        children = self._children.get((method, route, status))
        if children is None:  # bounded: the labels are
            children = (self.requests.labels(method, route, str(status)),
                        self.latency.labels(method, route))  # fmt: skip
            self._children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        registry = self.registry
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            for collector in self._collectors:
                registry.register(collector)
        return generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4  # what every Prometheus reads

    def timed_job(self, kind: str, function: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        """``function`` (a job function) timed into :attr:`job_runs`."""

        def timed(request: Any, progress: Any) -> Any:
            started = time.perf_counter()
            outcome = "failed"
            try:
                result = function(request, progress)
                outcome = "done"
                return result
            except JobCancelledError:
                outcome = "stopped"
                raise
            finally:
                self.job_runs.labels(kind, outcome).observe(time.perf_counter() - started)

        return timed


class JobQueueCollector(Collector):
    """``servicemap_jobs{kind, status}`` (queued and running jobs of the whole store) and
    ``servicemap_store_up`` (whether the store answered), computed at each scrape."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("servicemap_store_up", "Whether the registry store answers")
        jobs = GaugeMetricFamily("servicemap_jobs", "Queued and running background jobs",
                                 labels=("kind", "status"))  # fmt: skip
        try:
            depth = self.queue.depth()
        except LayersError:
            up.add_metric([], 0.0)
            return [up]
        up.add_metric([], 1.0)
        for (kind, status), count in sorted(depth.items()):
            jobs.add_metric([kind, status], float(count))
        return [up, jobs]


def route_label(scope: Scope) -> str:
    """The bounded route label of a served request (after the application ran)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(template, str):
        return template
    if scope.get("endpoint") is not None:  # a mounted application (the static files)
        return f"{scope.get('root_path', '')}/*"
    return "unmatched"


def client_host(scope: Scope) -> str | None:
    """The client address of a request (as the server saw it)."""
    client = scope.get("client")
    return str(client[0]) if client else None


class RequestObserver:
    """Request id, access log line and metrics of every HTTP request.

    Parameters
    ----------
    app
        The wrapped application (all of it: this is the outermost middleware).
    metrics
        Where requests are counted (``None``: only ids and logs).
    clock
        Monotonic seconds (tests may pass their own).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:  # fmt: skip
        self.app = app
        self.metrics = metrics
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        rid = _incoming_id(scope) or uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        header = (b"x-request-id", rid.encode())

        started_response = False

        async def observed_send(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started_response = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            # answered here, inside the request's id: Starlette's outermost error handler
            # would answer without the X-Request-ID header, after the id is reset, and the
            # server would log the traceback a second time
            status = 500
            error_logger.exception("unhandled error in %s %s", scope["method"],
                                   route_label(scope))  # fmt: skip
            if started_response:
                raise  # part of an answer is out: only closing the connection is left
            await _internal_error(send, header)
        finally:
            seconds = self.clock() - started
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = route_label(scope)
            if self.metrics is not None:
                self.metrics.observe_request(method, route, status, seconds)
            if access_logger.isEnabledFor(logging.INFO):
                duration_ms = round(seconds * 1000.0, 2)
                access_logger.info(
                    "%s %s %d %.2f ms", method, route, status, duration_ms,
                    extra={"fields": {"request_id": rid, "method": method, "path": route, "status": status,
                                      "duration_ms": duration_ms, "client": client_host(scope)}},
                )  # fmt: skip
            request_id.reset(token)


#: Headers of the 500 answer: JSON, never cached, never sniffed as something else.
_ERROR_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                  (b"x-content-type-options", b"nosniff")]  # fmt: skip


async def _internal_error(send: Send, id_header: tuple[bytes, bytes]) -> None:
    """The ``500 {"error": "internal_error", …}`` answer (no detail of the failure)."""
    body = json.dumps(error_body("internal_error", "internal server error; quote the "
                                 "X-Request-ID of this answer when reporting it")).encode()  # fmt: skip
    headers = [*_ERROR_HEADERS, (b"content-length", str(len(body)).encode()), id_header]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.fullmatch(text) else None
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per log record: ``ts``, ``level``, ``logger``, ``message``, the
    ``request_id`` when a request is being served, the ``fields`` of the record's
    ``extra`` and ``exception`` with the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            entry["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(log_format: str = "json", level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary: every logger (the service's, uvicorn's)
    to standard error as JSON lines (``json``) or plain text (``text``)."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter} if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )  # fmt: skip
    handler = {"class": "logging.StreamHandler", "formatter": "default",
               "stream": "ext://sys.stderr"}  # fmt: skip
    named = ("uvicorn", "uvicorn.error", "uvicorn.access")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {name: {"handlers": [], "propagate": True, "level": level.upper()}
                    for name in named},
    }  # fmt: skip

