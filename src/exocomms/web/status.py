"""Facts about the running service, shared by ``/health`` and ``/metrics``."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from exocomms.jobs.store import job_counts as _job_counts
from exocomms.outbox import repo as outbox_repo
from exocomms.storage.db import Database

DATABASE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class DatabaseCheck:
    """Result of one round trip to the database."""

    reachable: bool
    latency_ms: float
    dialect: str
    error: str | None = None


async def check_database(
    db: Database, within_seconds: float = DATABASE_TIMEOUT_SECONDS
) -> DatabaseCheck:
    """Ping the database, timing the round trip (wall time; a probe must not hang)."""
    started = time.perf_counter()
    error: str | None = None
    try:
        async with asyncio.timeout(within_seconds):
            await db.ping()
    except Exception as exc:  # any failure means "unreachable"; the reason goes in the check
        error = type(exc).__name__
    latency = round((time.perf_counter() - started) * 1000, 3)
    return DatabaseCheck(error is None, latency, db.dialect, error)


async def job_counts(db: Database) -> dict[str, int]:
    """Jobs per status (pending, running, done, dead, canceled)."""
    return await _job_counts(db)


async def outbox_counts(db: Database) -> dict[str, int]:
    """Outbox messages per status (pending, delivered, dead)."""
    async with db.sessions() as session:
        return await outbox_repo.counts_by_status(session)


def worker_state(app: FastAPI) -> dict[str, Any]:
    """Whether this process runs the embedded worker, and whether it is running now."""
    worker = getattr(app.state, "worker", None)
    return {
        "embedded": bool(
            getattr(app.state, "settings", None) and app.state.settings.embedded_worker
        ),
        "running": bool(worker is not None and worker.running),
    }


def worker_running(app: FastAPI) -> bool:
    """True while the embedded worker of ``app`` is running."""
    return bool(worker_state(app)["running"])
