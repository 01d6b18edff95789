"""Request ids, the JSON access log, /metrics (one process and several) and /readyz."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi import APIRouter
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from api.main import create_app, job_kinds
from api.observability import JsonFormatter, Metrics, logging_config
from layers.accounts.roles import Actor, Role
from layers.jobs.model import JobCancelledError
from layers.registry.service import Registry
from layers.store.postgis import PostGISStore
from tests.api._auth import client_for, make_app, make_settings
from tests.layers.test_store import PostGISDatabase, postgis_database  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[2]


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of a Prometheus text exposition (``None`` when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.rsplit(" ", 1)[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_request_ids_are_honoured_when_sane_and_made_otherwise(tmp_path: Path) -> None:
    with client_for(make_app(tmp_path, staff=False)) as client:
        sent = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a:42"})
        assert sent.headers["x-request-id"] == "lb-7f3a:42"
        made = client.get("/healthz").headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made)
        assert client.get("/healthz").headers["x-request-id"] != made
        for insane in ("has space", "x" * 129, "semi;colon", "引号".encode(), b'q"uote'):
            answer = client.get("/healthz", headers={"X-Request-ID": insane})
            assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"]), insane
        # errors answered by the middleware carry it too
        refused = client.request("TRACE", "/healthz", headers={"X-Request-ID": "r-405"})
        assert refused.status_code == 405
        assert refused.headers["x-request-id"] == "r-405"


def test_one_json_access_line_per_request_and_the_id_in_every_line(tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # what servicemap serve installs
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with client_for(make_app(tmp_path)) as client:
            client.get("/api/v1/facilities/no-such-id", headers={"X-Request-ID": "trace-1"})
            client.post("/api/v1/auth/login", json={"username": "ed", "password": "wrong"},
                        headers={"X-Request-ID": "trace-2"})  # fmt: skip
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]  # each line JSON
    access = [line for line in lines if line["logger"] == "servicemap.access"]
    assert len(access) == 2
    first = access[0]
    assert first["request_id"] == "trace-1"
    assert first["method"] == "GET"
    assert first["path"] == "/api/v1/facilities/{facility_id}"  # the template, not the id
    assert first["status"] == 404
    assert first["client"] == "testclient"
    assert isinstance(first["duration_ms"], float)
    assert 0 < first["duration_ms"] < 10_000
    assert first["level"] == "info"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["ts"])
    assert access[1]["status"] == 401
    assert access[1]["path"] == "/api/v1/auth/login"
    # a line the application logs while serving the request carries its id
    failed_login = [line for line in lines if "failed login" in line["message"]]
    assert failed_login
    assert failed_login[0]["request_id"] == "trace-2"
    assert failed_login[0]["logger"] == "api.auth"


def test_an_unhandled_error_is_logged_and_counted_as_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path, staff=False, metrics_allow="*")
    broken = APIRouter()

    @broken.get("/api/v1/broken/{n}")
    def fail(n: int) -> None:
        raise RuntimeError(f"bug {n}")

    app.include_router(broken)
    with client_for(app) as client, caplog.at_level(logging.INFO, "servicemap.access"):
        answer = client.get("/api/v1/broken/3", headers={"X-Request-ID": "oops-1"})
        assert answer.status_code == 500
        assert answer.json()["error"] == "internal_error"
        text = client.get("/metrics").text
    line = next(r for r in caplog.records if r.name == "servicemap.access")
    assert line.fields["status"] == 500
    assert line.fields["request_id"] == "oops-1"
    assert line.fields["path"] == "/api/v1/broken/{n}"
    assert sample(text, "servicemap_http_requests_total", route="/api/v1/broken/{n}",
                  status="500") == 1  # fmt: skip


def test_a_500_carries_the_request_id_of_its_log_lines_and_no_traceback(tmp_path: Path) -> None:
    app = make_app(tmp_path, staff=False)
    broken = APIRouter()

    @broken.get("/api/v1/broken/{n}")
    def fail(n: int) -> None:
        raise RuntimeError(f"secret detail {n} at /srv/servicemap/db")

    app.include_router(broken)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # what servicemap serve installs
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with client_for(app) as client:
            sent = client.get("/api/v1/broken/3", headers={"X-Request-ID": "oops-7"})
            made = client.get("/api/v1/broken/4")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    for answer, n in ((sent, 3), (made, 4)):
        assert answer.status_code == 500
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == {"error": "internal_error", "message": answer.json()["message"]}
        for leak in ("Traceback", "RuntimeError", "secret detail", "/srv/", f"{n} at"):
            assert leak not in answer.text
        rid = answer.headers["x-request-id"]
        errors = [line for line in lines if line["logger"] == "servicemap.error"
                  and line.get("request_id") == rid]  # fmt: skip
        assert len(errors) == 1, lines
        assert errors[0]["level"] == "error"
        assert f"RuntimeError: secret detail {n}" in errors[0]["exception"]
        access = [line for line in lines if line["logger"] == "servicemap.access"
                  and line["request_id"] == rid]  # fmt: skip
        assert [line["status"] for line in access] == [500]
    assert sent.headers["x-request-id"] == "oops-7"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    # the traceback is logged once, not again by the server around the application
    assert sum("secret detail 3" in json.dumps(line) for line in lines) == 1


def test_the_logging_config_writes_json_or_text() -> None:
    json_config = logging_config("json", "warning")
    assert json_config["formatters"]["default"]["()"] is JsonFormatter
    assert json_config["root"]["level"] == "WARNING"
    assert "format" in logging_config("text")["formatters"]["default"]
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom %s", ("now",), None)
    try:
        raise ValueError("inner")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "boom now"
    assert line["level"] == "error"
    assert "request_id" not in line  # outside any request
    assert "ValueError: inner" in line["exception"]


def test_metrics_count_the_requests_made_by_route_template_and_status(tmp_path: Path) -> None:
    app = make_app(tmp_path, staff=False, metrics_allow="*")
    with client_for(app) as client:
        before = client.get("/metrics").text
        assert client.get("/api/v1/layers").status_code == 200
        assert client.get("/api/v1/facilities/nope-1").status_code == 404
        assert client.get("/api/v1/facilities/nope-2").status_code == 404
        client.get("/no/such/page")
        client.request("BREW", "/api/v1/layers")
        answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = answer.text
    layers = {"method": "GET", "route": "/api/v1/layers"}
    assert (sample(before, "servicemap_http_requests_total", **layers, status="200") or 0) == 0
    assert sample(text, "servicemap_http_requests_total", **layers, status="200") == 1
    assert sample(text, "servicemap_http_request_duration_seconds_count", **layers) == 1
    assert sample(text, "servicemap_http_requests_total", method="GET",
                  route="/api/v1/facilities/{facility_id}", status="404") == 2  # fmt: skip
    assert sample(text, "servicemap_http_requests_total", method="GET", route="unmatched",
                  status="404") == 1  # fmt: skip
    assert sample(text, "servicemap_http_requests_total", method="other", status="405") == 1
    assert "nope-1" not in text  # no raw path ever becomes a label
    assert "BREW" not in text
    assert sample(text, "servicemap_store_up") == 1
    assert sample(text, "process_resident_memory_bytes") is not None


def test_metrics_are_only_for_the_allowed_networks_and_can_be_turned_off(tmp_path: Path) -> None:
    with client_for(make_app(tmp_path / "a", staff=False)) as client:  # default: private nets
        refused = client.get("/metrics")  # the test client's address is no IP at all
        assert refused.status_code == 403
        assert refused.json()["error"] == "forbidden"
    app = make_app(tmp_path / "b", staff=False, metrics_allow="10.0.0.0/8")
    with client_for(app, client=("10.1.2.3", 5000)) as inside:
        assert inside.get("/metrics").status_code == 200
    with client_for(app, client=("203.0.113.9", 5000)) as outside:
        assert outside.get("/metrics").status_code == 403
    with client_for(make_app(tmp_path / "c", staff=False, metrics_enabled=False,
                             metrics_allow="*")) as client:  # fmt: skip
        assert client.get("/metrics").status_code == 404
    with pytest.raises(ValueError, match="metrics_allow"):
        make_app(tmp_path / "d", staff=False, metrics_allow="10.0.0.0/33")


def test_job_queue_depth_shows_in_readyz_and_metrics(tmp_path: Path) -> None:
    app = make_app(tmp_path, staff=False, metrics_allow="*")
    with client_for(app) as client:
        owner = Actor("plan", Role.PLANNER, None)
        for n in range(2):  # a kind no worker runs: it stays queued
            app.state.jobs.submit("survey", {"n": n}, owner)
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["jobs"] == {"queued": 2, "running": 0}
        assert ready.json()["job_worker"] == "running"
        text = client.get("/metrics").text
        assert sample(text, "servicemap_jobs", kind="survey", status="queued") == 2


def test_job_run_times_are_observed_by_kind_and_outcome(tmp_path: Path) -> None:
    metrics = Metrics()

    def solve(request: dict, progress: object) -> dict:
        if request.get("fail"):
            raise ValueError("no solution")
        if request.get("stop"):
            raise JobCancelledError("cancelled")
        time.sleep(0.02)
        return {"ok": True}

    timed = metrics.timed_job("plan", solve)
    assert timed({}, None) == {"ok": True}
    with pytest.raises(ValueError, match="no solution"):
        timed({"fail": True}, None)
    with pytest.raises(JobCancelledError):
        timed({"stop": True}, None)
    text = metrics.render()[0].decode()
    assert sample(text, "servicemap_job_run_seconds_count", kind="plan", outcome="done") == 1
    assert sample(text, "servicemap_job_run_seconds_sum", kind="plan", outcome="done") >= 0.02
    assert sample(text, "servicemap_job_run_seconds_count", kind="plan", outcome="failed") == 1
    assert sample(text, "servicemap_job_run_seconds_count", kind="plan", outcome="stopped") == 1
    # the application's plan and route jobs are timed the same way
    app = make_app(tmp_path, staff=False)
    kinds = job_kinds(app)
    assert kinds.names() == ("plan", "route")
    assert all(kinds.function(kind).__qualname__.startswith("Metrics.timed_job")
               for kind in kinds.names())  # fmt: skip


_WORKER = """
import sys
from api.observability import Metrics
m = Metrics()
for _ in range(int(sys.argv[1])):
    m.observe_request("GET", "/api/v1/layers", 200, 0.01)
if len(sys.argv) > 2:
    sys.stdout.write(m.render()[0].decode())
"""


def test_several_worker_processes_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}

    def worker(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", _WORKER, *args], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
        return done.stdout

    worker("3")
    worker("4")
    text = worker("1", "render")  # a third process scrapes: every process's samples
    layers = {"method": "GET", "route": "/api/v1/layers"}
    assert sample(text, "servicemap_http_requests_total", **layers, status="200") == 8
    assert sample(text, "servicemap_http_request_duration_seconds_count", **layers) == 8


# -- readiness ----------------------------------------------------------------------------


def test_readyz_is_503_while_the_job_worker_is_stopped(tmp_path: Path) -> None:
    app = make_app(tmp_path, staff=False)
    with client_for(app) as client:
        assert client.get("/readyz").status_code == 200
        app.state.job_worker.shutdown(wait_s=1.0)
        stopped = client.get("/readyz")
        assert stopped.status_code == 503
        assert stopped.json()["status"] == "unavailable"
        assert stopped.json()["job_worker"] == "stopped"
        assert "job worker" in stopped.json()["reason"]


def test_readyz_is_503_when_the_sqlite_store_is_gone(tmp_path: Path) -> None:
    app = make_app(tmp_path, staff=False, metrics_allow="*")
    with client_for(app) as client:
        assert client.get("/readyz").status_code == 200
        app.state.registry.store.close()
        broken = client.get("/readyz")
        assert broken.status_code == 503
        assert broken.json() == {"status": "unavailable", "store": "unreachable",
                                 "reason": "the registry store does not answer"}  # fmt: skip
        assert str(tmp_path) not in broken.text  # where the store lives stays in the log
        assert sample(client.get("/metrics").text, "servicemap_store_up") == 0


class TcpProxy:
    """A loopback TCP relay to the database that the test can take down and bring back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Refuse new connections and cut the open ones (the server is gone)."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            self._listener.close()
            self._listener = None
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets = []


@pytest.mark.postgis
def test_readyz_is_503_when_the_postgis_store_is_unreachable_and_200_again_after(
    tmp_path: Path,
    postgis_database: PostGISDatabase,  # noqa: F811
) -> None:
    schema = postgis_database.new_schema()
    info = conninfo_to_dict(postgis_database.url)
    proxy = TcpProxy((str(info.get("host", "127.0.0.1")), int(info.get("port", 5432))))
    proxy.start()
    url = make_conninfo(postgis_database.url, host="127.0.0.1", port=str(proxy.port),
                        options=f"-c search_path={schema},public")  # fmt: skip
    store = PostGISStore(url, connect_timeout_s=1)
    store.init_schema()
    registry = Registry(store, tmp_path / "no-data")
    app = create_app(make_settings(tmp_path, metrics_allow="*"), registry=registry)
    try:
        with client_for(app) as client:
            assert client.get("/readyz").status_code == 200
            proxy.stop()
            broken = client.get("/readyz")
            assert broken.status_code == 503
            assert broken.json()["store"] == "unreachable"
            assert str(proxy.port) not in broken.text  # the database address stays in the log
            assert sample(client.get("/metrics").text, "servicemap_store_up") == 0
            proxy.start()  # the database is back
            assert client.get("/readyz").status_code == 200
    finally:
        proxy.stop()
        store.close()
        postgis_database.drop_schema(schema)
