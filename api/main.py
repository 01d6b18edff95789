"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from api.auth import Authenticator
from api.basemap_sources import source_origins
from api.errors import install_error_handlers
from api.middleware import BodyLimit, SecurityHeaders
from api.observability import JobQueueCollector, Metrics, RequestObserver
from api.openapi import install_openapi
from api.ratelimit import install_rate_limit
from api.routers import (
    auth,
    embed,
    facilities,
    gaps,
    geocode,
    geography,
    imports,
    layers,
    meta,
    nearest,
    network,
    ogc,
    plans,
    records,
    routes,
    users,
)
from api.settings import Settings
from layers.jobs import JobKinds, JobQueue, JobWorker
from layers.networks import NetworkService
from layers.registry.catalog import REGISTRY_LAYERS
from layers.registry.service import Registry
from layers.store import open_store

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    """Build the application.

    Parameters
    ----------
    settings
        Configuration; read from the environment when omitted.
    registry
        An existing registry service (tests); otherwise one is opened from
        ``settings.database_url`` and seeded from the shipped data.
    """
    settings = settings or Settings()
    owns_registry = registry is None
    if registry is None:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        registry = Registry(open_store(settings.resolved_database_url()), settings.data_dir)
        if settings.seed_on_start:
            registry.seed_from_shipped()

    authenticator = Authenticator(settings, registry.store)
    networks = NetworkService(registry, settings.data_dir / "networks", settings.max_snap_m)

    warm_up_done = threading.Event()

    def _warm_up() -> None:
        try:
            if settings.warm_up:
                registry.warm_up()
                networks.warm_up(REGISTRY_LAYERS)
                # the indexes are long-lived: keep them out of the cyclic collector's full
                # passes, which otherwise walk ~350,000 objects (~130 ms) now and then
                # under load and set the p99 latency
                gc.collect()
                gc.freeze()
        except Exception:  # a failed warm-up only costs the first requests their speed
            logger.exception("warm-up failed")
        finally:
            warm_up_done.set()

    jobs = JobQueue(registry.store, settings.job_limits())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # build the per-layer indexes in the background so the first requests are fast
        warm = threading.Thread(target=_warm_up, name="warm-up", daemon=True)
        warm.start()
        # every server process runs jobs (queued ones, and those of processes that died)
        # unless it is an API-only process (SERVICEMAP_JOB_WORKER=false)
        worker = JobWorker(jobs, job_kinds(app)) if settings.job_worker else None
        app.state.job_worker = worker
        if worker is not None:
            worker.start()
        yield
        if worker is not None:
            worker.shutdown(wait_s=2.0)  # running jobs go back to the queue
        app.state.job_worker = None
        warm.join()  # never leave the warm-up running into interpreter shutdown
        authenticator.close()
        if owns_registry:
            registry.store.close()

    app = FastAPI(
        title="servicemap",
        summary="Shanghai trade-union worker facilities: nearest facility, coverage, planning.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.networks = networks
    app.state.auth = authenticator
    app.state.warm_up_done = warm_up_done
    app.state.jobs = jobs  # durable background jobs (plans, routes), see docs/jobs.md
    app.state.metrics = metrics = Metrics()  # /metrics, see docs/operations.md
    metrics.add_collector(JobQueueCollector(jobs))
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(BodyLimit, default_bytes=settings.max_body_bytes,
                       path_limits=(("/api/v1/imports", settings.max_upload_bytes),))
    install_rate_limit(app, settings, registry.store, authenticator.identify)
    app.add_middleware(
        SecurityHeaders,
        tile_origins=[o.strip() for o in settings.tile_origins.split(",") if o.strip()]
        + source_origins(settings.basemap_source_ids, settings.basemap_urls),
        embed_ancestors=embed.frame_ancestors(settings.embed_origins),
    )
    app.add_middleware(RequestObserver, metrics=metrics)  # outermost: ids, access log, metrics
    # the hot public reads first: routes are matched in this order on every request
    for module in (meta, nearest, layers, facilities, auth, users, records, imports, geocode,
                   geography, network, gaps, plans, routes, ogc, embed):  # fmt: skip
        app.include_router(module.router)
    if settings.static_dir.is_dir():
        app.mount("/", StaticFiles(directory=settings.static_dir, html=True), name="static")
    return app


def job_kinds(app: FastAPI) -> JobKinds:
    """The job kinds this application runs: site plans and check-up routes."""
    kinds = JobKinds()
    metrics: Metrics = app.state.metrics
    kinds.register(plans.JOB_KIND, metrics.timed_job(plans.JOB_KIND, plans.plan_job(app)))
    kinds.register(routes.JOB_KIND, metrics.timed_job(routes.JOB_KIND, routes.route_job(app)))
    return kinds
