"""Plain functions behind ``exocomms jobs …`` and ``exocomms worker`` (the typer CLI calls them)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import httpx
import structlog
from sqlalchemy import select, update

from exocomms.clock import Clock, SystemClock
from exocomms.jobs.queue import JobQueue, notify_in_transaction
from exocomms.jobs.registry import JobRegistry, default_registry
from exocomms.jobs.store import STATUSES
from exocomms.jobs.worker import Worker
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs

log = structlog.get_logger(__name__)

RERUNNABLE = ("dead", "canceled")


async def list_jobs(
    db: Database, status: str | None = None, kind: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Jobs, newest first, as plain dicts (id, kind, key, status, attempts, run_at, …).

    Raises:
        ValueError: ``status`` is not a job status.
    """
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    query = select(jobs).order_by(jobs.c.id.desc()).limit(max(1, min(limit, 10_000)))
    if status is not None:
        query = query.where(jobs.c.status == status)
    if kind is not None:
        query = query.where(jobs.c.kind == kind)
    async with db.engine.begin() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [dict(row) for row in rows]


async def retry_job(db: Database, clock: Clock, job_id: int) -> bool:
    """Make a dead (or canceled) job pending again, due now, with a fresh attempt budget.

    ``last_error`` is kept until the next run overwrites it. Returns False when the job does
    not exist or is not in a re-runnable state (pending, running and done jobs are left alone).
    """
    now = clock.now()
    async with db.transaction() as session:
        result: Any = await session.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status.in_(RERUNNABLE))
            .values(
                status="pending",
                run_at=now,
                attempts=0,
                lease_until=None,
                locked_by=None,
                finished_at=None,
                updated_at=now,
            )
        )
        if not result.rowcount:
            return False
        await notify_in_transaction(session, db.dialect)
    return True


def build_runtime(
    settings: Settings, registry: JobRegistry, *, clock: Clock | None = None, **db_kwargs: Any
) -> Runtime:
    """A runtime for a worker process (the web app builds its own the same way)."""
    db = Database(settings.resolved_database_url, **db_kwargs)
    clock = clock or SystemClock()
    return Runtime(
        settings=settings,
        db=db,
        clock=clock,
        queue=JobQueue(db, clock, registry),
        registry=registry,
        http=httpx.AsyncClient(timeout=settings.outbox_timeout_seconds),
    )


async def serve_worker(runtime: Runtime, stop: asyncio.Event, **worker_kwargs: Any) -> Worker:
    """Run one worker on ``runtime`` until ``stop`` is set, then close the runtime's resources."""
    worker = Worker(runtime, **worker_kwargs)
    try:
        await worker.run(stop)
    finally:
        await runtime.http.aclose()
        await runtime.db.dispose()
    return worker


async def run_worker_async(
    settings: Settings,
    registry: JobRegistry | None = None,
    *,
    stop: asyncio.Event | None = None,
    **worker_kwargs: Any,
) -> None:
    """Run a worker until SIGTERM/SIGINT (or ``stop``): finish or release jobs, then return.

    Raises:
        RuntimeError: No handler is registered (a worker would kill every job as unknown).
    """
    registry = registry if registry is not None else default_registry
    if not len(registry):
        raise RuntimeError("no job handlers registered; pass the application's JobRegistry")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not main thread/Windows
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        await serve_worker(build_runtime(settings, registry), stop, **worker_kwargs)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def run_worker(settings: Settings, registry: JobRegistry | None = None) -> None:
    """Blocking entry point for ``exocomms worker``."""
    asyncio.run(run_worker_async(settings, registry))
