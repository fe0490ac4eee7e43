"""Helpers for job tests, and a worker process entry point for the kill/two-process tests.

As a script (``python -m tests.support.jobs_child MODE``) it runs a worker against the test
database named by ``JOBS_CHILD_URL`` (+ ``JOBS_CHILD_SCHEMA`` on PostgreSQL) until SIGTERM.
Modes: ``hold`` records a run in ``job_runs``, prints ``started <job id>`` and then hangs (for
SIGKILL); ``work`` records each run in ``job_runs`` (UNIQUE job id, so a second run of a job
fails loudly) after a short sleep.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import structlog
from sqlalchemy import text

from exocomms.clock import Clock, SystemClock
from exocomms.jobs.queue import JobQueue
from exocomms.jobs.registry import Job, JobRegistry
from exocomms.jobs.worker import Worker
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database

ROOT = Path(__file__).resolve().parents[2]

CREATE_RUNS = """
CREATE TABLE job_runs (
    job_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    worker VARCHAR(100) NOT NULL,
    UNIQUE (job_id, attempt)
)
"""
CREATE_RUNS_UNIQUE_JOB = CREATE_RUNS.replace("UNIQUE (job_id, attempt)", "UNIQUE (job_id)")


def make_runtime(db: Database, clock: Clock, registry: JobRegistry) -> Runtime:
    """A runtime around an existing test database."""
    settings = Settings(env="test", database_url=db.url, job_poll_seconds=0.05)
    return Runtime(
        settings=settings,
        db=db,
        clock=clock,
        queue=JobQueue(db, clock, registry),
        registry=registry,
        http=httpx.AsyncClient(),
    )


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    """Run ``worker`` in the background for the block; stop it gracefully afterwards."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        while not worker.running:
            if task.done():
                await task  # raises whatever stopped it
            await asyncio.sleep(0)
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await worker.runtime.http.aclose()


async def wait_until(
    check: Callable[[], Awaitable[bool]], limit_s: float = 20.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it is true (a generous limit, never a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def child_env(db: Database) -> dict[str, str]:
    """Environment for a child process to reach the same test database (schema on PostgreSQL)."""
    env = dict(os.environ, JOBS_CHILD_URL=db.url, PYTHONPATH=str(ROOT))
    if db.dialect == "postgresql":
        async with db.engine.connect() as conn:
            schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
        env["JOBS_CHILD_SCHEMA"] = str(schema)
    return env


async def start_child(db: Database, mode: str, *args: str) -> asyncio.subprocess.Process:
    """Start a worker process in ``mode``; it prints ``ready`` once its worker runs."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.jobs_child",
        mode,
        *args,
        cwd=str(ROOT),
        env=await child_env(db),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.strip() == b"ready", line
    except BaseException:
        proc.kill()  # never leave a stray worker behind
        await proc.wait()
        raise
    return proc


async def record_run(runtime: Runtime, job: Job) -> None:
    """Insert this run into ``job_runs``."""
    async with runtime.db.transaction() as session:
        await session.execute(
            text("INSERT INTO job_runs (job_id, attempt, worker) VALUES (:j, :a, :w)"),
            {"j": job.id, "a": job.attempt, "w": str(runtime.extras.get("worker", "?"))},
        )


async def _child(mode: str, lease: float, concurrency: int) -> None:
    # stdout is the protocol with the test ("ready", "started N"); logs go to stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    url = os.environ["JOBS_CHILD_URL"]
    kwargs: dict[str, Any] = {}
    if schema := os.environ.get("JOBS_CHILD_SCHEMA"):
        kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    db = Database(url, **kwargs)
    registry = JobRegistry()

    async def hold(runtime: Runtime, job: Job) -> None:
        await record_run(runtime, job)
        print(f"started {job.id}", flush=True)
        await asyncio.Event().wait()  # until SIGKILL

    async def work(runtime: Runtime, job: Job) -> None:
        await asyncio.sleep(random.uniform(0, 0.005))  # let the two processes interleave
        await record_run(runtime, job)

    registry.register("test.hold", hold)
    registry.register("test.work", work, max_attempts=1)
    runtime = make_runtime(db, SystemClock(), registry)
    worker = Worker(runtime, concurrency=concurrency, lease_seconds=lease, poll_seconds=0.05)
    runtime.extras["worker"] = worker.worker_id
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(worker.run(stop))
    await worker.started.wait()
    print("ready", flush=True)
    await task
    await runtime.http.aclose()
    await db.dispose()


if __name__ == "__main__":
    _mode = sys.argv[1]
    _lease = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    _concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    asyncio.run(_child(_mode, _lease, _concurrency))
