"""``servicemap serve``: run the web service."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` sub-command."""
    parser = subparsers.add_parser(
        "serve", help="run the API and web map", description="Run the API and the web map."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=_positive, default=None,
                        help="worker processes (default: SERVICEMAP_WORKERS, else one per core)")
    parser.add_argument("--log-level", default="info", help="uvicorn log level")
    parser.set_defaults(func=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"must be between 1 and 256, got {value}")
    return value


def default_workers() -> int:
    """``SERVICEMAP_WORKERS`` when set, else one worker process per core this process may use."""
    configured = os.environ.get("SERVICEMAP_WORKERS", "").strip()
    if configured:
        try:
            return _positive(configured)
        except argparse.ArgumentTypeError as exc:
            raise SystemExit(f"servicemap serve: SERVICEMAP_WORKERS {exc}") from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run(args: argparse.Namespace) -> int:
    """Start uvicorn with the application factory.

    Logs go to standard error as JSON lines (``SERVICEMAP_LOG_FORMAT=text`` for plain
    text); the service writes its own access line per request, so uvicorn's is off. With
    several workers, the Prometheus samples of all of them are kept in a fresh directory
    (``PROMETHEUS_MULTIPROC_DIR``, removed at exit; an operator's own is used as it is) so
    a scrape of any worker adds them up.
    """
    if args.workers is None:
        args.workers = default_workers()
    made_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        made_dir = tempfile.mkdtemp(prefix="servicemap-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made_dir  # before prometheus_client loads
    import uvicorn

    from api.observability import logging_config
    from api.settings import Settings

    log_format = Settings().log_format
    try:
        uvicorn.run(
            "api.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            log_config=logging_config(log_format, args.log_level),
            access_log=False,
        )
    finally:
        if made_dir is not None:
            shutil.rmtree(made_dir, ignore_errors=True)
    return 0
