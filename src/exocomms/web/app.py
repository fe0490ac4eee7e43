"""``create_app(settings)``: the FastAPI application with its runtime, worker and routers.

Start-up (lifespan): build the runtime (unless one is given), run migrations, start the
embedded worker when ``settings.embedded_worker``. Shutdown: stop the worker gracefully
(running jobs get their grace period, the rest are released for another worker), then close
what start-up built. A runtime passed in by the caller is the caller's to close.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from exocomms.bootstrap import build_runtime, close_runtime, service_version
from exocomms.clock import Clock
from exocomms.jobs.worker import Worker
from exocomms.logging import configure_logging, get_logger
from exocomms.outbox.jobs import OBSERVER_EXTRA
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.migrate import upgrade
from exocomms.web.errors import install_error_handlers
from exocomms.web.metrics import AppMetrics
from exocomms.web.middleware import RequestContextMiddleware
from exocomms.web.routes import include_routers

log = get_logger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    clock: Clock | None = None,
    migrate_on_start: bool = True,
    configure_logs: bool = True,
) -> FastAPI:
    """The service's ASGI app.

    Args:
        settings: Configuration; default read from the environment.
        runtime: Use this runtime (tests pass one with a manual clock) instead of building
            one at start-up; it is not closed at shutdown.
        clock: The clock of the runtime built at start-up (the demo's accelerated clock);
            ignored when ``runtime`` is given.
        migrate_on_start: Bring the schema up to date at start-up.
        configure_logs: Set up structlog from ``settings`` (off when the caller already did).
    """
    settings = settings or Settings()
    if configure_logs:
        configure_logging(level=settings.log_level, json=settings.log_json)
    metrics = AppMetrics(service_version())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime if runtime is not None else build_runtime(settings, clock=clock)
        rt.extras.setdefault(OBSERVER_EXTRA, metrics)
        app.state.runtime = rt
        stop = asyncio.Event()
        task: asyncio.Task[None] | None = None
        try:
            if migrate_on_start:
                await upgrade(rt.db)
            if settings.embedded_worker:
                worker = Worker(rt)
                app.state.worker = worker
                metrics.worker = worker
                task = asyncio.create_task(worker.run(stop), name="exocomms-embedded-worker")
                task.add_done_callback(_log_worker_exit)
                await asyncio.sleep(0)  # let it start, so /health is right from the first request
            log.info(
                "app.started",
                version=service_version(),
                dialect=rt.db.dialect,
                embedded_worker=settings.embedded_worker,
            )
            yield
        finally:
            stop.set()
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
            if owned:
                await close_runtime(rt)
            log.info("app.stopped")

    app = FastAPI(
        title="exocomms",
        version=service_version(),
        summary="Voice and messaging backbone for hyperlocal commerce on Exotel",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.worker = None
    if runtime is not None:
        app.state.runtime = runtime
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    include_routers(app)
    return app


def _log_worker_exit(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("worker.crashed", error=repr(exc), exc_info=exc)
