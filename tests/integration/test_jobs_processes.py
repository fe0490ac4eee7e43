"""Real worker processes: killed mid-job (SIGKILL), and two processes sharing one queue."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from exocomms.clock import ManualClock, SystemClock
from exocomms.jobs import JobRegistry, job_counts
from exocomms.jobs.worker import Worker
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs
from tests.support.jobs_child import (
    CREATE_RUNS,
    CREATE_RUNS_UNIQUE_JOB,
    make_runtime,
    record_run,
    running,
    start_child,
    wait_until,
)

pytestmark = pytest.mark.slow


async def _runs(db: Database) -> list[tuple[int, int, str]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT job_id, attempt, worker FROM job_runs"))
        return sorted((int(r[0]), int(r[1]), str(r[2])) for r in rows)


async def test_a_killed_worker_s_job_runs_again_after_its_lease_and_completes_once(
    db: Database,
) -> None:
    async with db.transaction() as session:
        await session.execute(text(CREATE_RUNS))
    clock = ManualClock(start=datetime.now(UTC))
    registry = JobRegistry()
    registry.register("test.hold", record_run)
    runtime = make_runtime(db, clock, registry)
    async with db.transaction() as session:
        job_id = await runtime.queue.enqueue(session, "test.hold", {}, key="hold:1")

    child = await start_child(db, "hold", "2")  # real clock, 2 s lease, heartbeat every 0.67 s
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 30)
        assert line.strip() == f"started {job_id}".encode()
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL

    clock.set(datetime.now(UTC))  # just after the kill: the dead worker's lease is still valid
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(jobs).where(jobs.c.id == job_id))).one()
    assert (row.status, row.attempts) == ("running", 1)
    assert row.lease_until > clock.now()
    worker = Worker(runtime, worker_id="rescuer", lease_seconds=2, poll_seconds=0.05)
    assert (await worker.claim_and_start(10)).claimed == []  # not before the lease expires

    runtime.extras["worker"] = "rescuer"
    async with running(worker):
        clock.advance(5)  # past the lease: the sleeping worker wakes and takes the job over

        async def done() -> bool:
            return (await job_counts(db))["done"] == 1

        await wait_until(done, what="job done after the lease expired")
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(jobs).where(jobs.c.id == job_id))).one()
    assert (row.status, row.attempts, row.locked_by) == ("done", 2, "rescuer")
    runs = await _runs(db)
    assert [(j, a) for j, a, _ in runs] == [(job_id, 1), (job_id, 2)]
    assert runs[1][2] == "rescuer"
    assert runs[0][2] != "rescuer"
    assert worker.stats.reclaimed == 1


async def test_two_worker_processes_never_run_one_job_twice(db: Database) -> None:
    n = 300
    async with db.transaction() as session:
        await session.execute(text(CREATE_RUNS_UNIQUE_JOB))  # a second run of a job would fail
    started = await asyncio.gather(
        *(start_child(db, "work", "30", "4") for _ in range(2)), return_exceptions=True
    )
    children = [c for c in started if isinstance(c, asyncio.subprocess.Process)]
    if len(children) < len(started):  # one failed to start: stop the other, report why
        for child in children:
            child.kill()
            await child.wait()
        raise next(e for e in started if isinstance(e, BaseException))
    try:
        registry = JobRegistry()
        runtime = make_runtime(db, SystemClock(), registry)  # the children's clock
        async with db.transaction() as session:
            await runtime.queue.enqueue_many(
                session, "test.work", [({"i": i}, None) for i in range(n)]
            )
        await runtime.http.aclose()

        async def all_finished() -> bool:
            counts = await job_counts(db)
            return counts["done"] + counts["dead"] == n

        await wait_until(all_finished, limit_s=40, what=f"{n} jobs finished")
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            await asyncio.wait_for(child.wait(), 30)
    assert [c.returncode for c in children] == [0, 0]
    counts = await job_counts(db)
    assert counts["done"] == n, counts  # max_attempts=1: a duplicate run would have left it dead
    async with db.engine.connect() as conn:
        attempts = (await conn.execute(select(jobs.c.attempts).distinct())).scalars().all()
    assert attempts == [1]
    runs = await _runs(db)
    assert sorted(j for j, _, _ in runs) == sorted({j for j, _, _ in runs})
    assert len(runs) == n
    assert len({w for _, _, w in runs}) == 2  # both processes took part
