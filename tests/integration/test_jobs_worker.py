"""The worker on a real database: runs, retries, dead and re-run, leases, shutdown, waking."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from exocomms.clock import ManualClock, SystemClock
from exocomms.jobs import Backoff, Job, JobRegistry, RetryLater, job_counts
from exocomms.jobs.cli import retry_job, run_worker_async
from exocomms.jobs.queue import JobQueue
from exocomms.jobs.worker import Worker
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs
from tests.support.jobs_child import make_runtime, running, wait_until

NO_JITTER = Backoff(base=10, factor=2, maximum=3600, jitter=0)


class Harness:
    """A runtime on a manual clock, a registry, and a log of handler runs."""

    def __init__(self, db: Database, clock: Any) -> None:
        self.db = db
        self.clock = clock
        self.registry = JobRegistry()
        self.runs: list[Job] = []
        self.runtime: Runtime = make_runtime(db, clock, self.registry)

    def worker(self, **kw: Any) -> Worker:
        kw.setdefault("poll_seconds", 0.05)
        return Worker(self.runtime, **kw)

    async def enqueue(self, kind: str, payload: dict[str, Any] | None = None, **kw: Any) -> int:
        async with self.db.transaction() as session:
            job_id = await self.runtime.queue.enqueue(session, kind, payload or {}, **kw)
        assert job_id is not None
        return job_id

    async def row(self, job_id: int) -> Any:
        async with self.db.engine.connect() as conn:
            return (await conn.execute(select(jobs).where(jobs.c.id == job_id))).one()

    async def wait_status(self, job_id: int, status: str, attempts: int | None = None) -> Any:
        async def check() -> bool:
            row = await self.row(job_id)
            return bool(row.status == status and (attempts is None or row.attempts == attempts))

        await wait_until(check, what=f"job {job_id} {status}/{attempts}")
        return await self.row(job_id)


@pytest.fixture
async def h(db: Database) -> AsyncIterator[Harness]:
    harness = Harness(db, ManualClock())
    yield harness
    await harness.runtime.http.aclose()


async def test_a_due_job_runs_once_with_its_payload(h: Harness) -> None:
    async def handler(runtime: Runtime, job: Job) -> None:
        assert runtime is h.runtime
        h.runs.append(job)

    h.registry.register("greet", handler)
    job_id = await h.enqueue("greet", {"name": "Krishna Kirana"}, key="greet:1")
    async with running(h.worker()):
        row = await h.wait_status(job_id, "done")
    assert [(j.id, j.kind, j.key, j.payload, j.attempt) for j in h.runs] == [
        (job_id, "greet", "greet:1", {"name": "Krishna Kirana"}, 1)
    ]
    assert row.finished_at == h.clock.now()
    assert row.lease_until is None


async def test_future_job_waits_for_the_clock(h: Harness) -> None:
    h.registry.register("later", lambda rt, job: _append(h.runs, job))
    job_id = await h.enqueue("later", run_at=h.clock.now() + timedelta(minutes=5))
    worker = h.worker()
    async with running(worker):
        assert (await worker.claim_and_start(10)).claimed == []  # not due yet
        h.clock.advance(299)
        assert (await worker.claim_and_start(10)).claimed == []
        h.clock.advance(1)  # the sleeping worker wakes on advance
        await h.wait_status(job_id, "done")
    assert len(h.runs) == 1


async def test_failures_back_off_then_die_then_rerun_by_command(h: Harness) -> None:
    fail = True

    async def flaky(runtime: Runtime, job: Job) -> None:
        h.runs.append(job)
        if fail:
            raise RuntimeError(f"vendor API down (attempt {job.attempt})")

    h.registry.register("flaky", flaky, max_attempts=3, backoff=NO_JITTER)
    start = h.clock.now()
    job_id = await h.enqueue("flaky")
    async with running(h.worker()):
        row = await h.wait_status(job_id, "pending", attempts=1)
        assert row.run_at == start + timedelta(seconds=10)
        assert "vendor API down (attempt 1)" in row.last_error
        h.clock.advance(10)
        row = await h.wait_status(job_id, "pending", attempts=2)
        assert row.run_at == start + timedelta(seconds=10 + 20)
        h.clock.advance(20)
        row = await h.wait_status(job_id, "dead", attempts=3)
        assert "vendor API down (attempt 3)" in row.last_error
        assert row.finished_at == h.clock.now()
        h.clock.advance(3600)  # dead stays dead
        assert (await h.row(job_id)).status == "dead"
        fail = False
        assert await retry_job(h.db, h.clock, job_id)
        row = await h.wait_status(job_id, "done", attempts=1)
    assert [j.attempt for j in h.runs] == [1, 2, 3, 1]


async def test_retry_later_does_not_use_up_attempts(h: Harness) -> None:
    async def limited(runtime: Runtime, job: Job) -> None:
        h.runs.append(job)
        if len(h.runs) < 4:
            raise RetryLater(30, "rate limited")

    h.registry.register("limited", limited, max_attempts=1)
    job_id = await h.enqueue("limited")
    async with running(h.worker()):
        for n in range(1, 4):
            row = await h.wait_status(job_id, "pending")
            await wait_until(lambda n=n: _is(len(h.runs) == n), what=f"run {n}")
            row = await h.wait_status(job_id, "pending", attempts=0)
            assert row.last_error == "RetryLater: rate limited"
            h.clock.advance(30)
        await h.wait_status(job_id, "done", attempts=1)
    assert [j.attempt for j in h.runs] == [1, 1, 1, 1]


async def test_unknown_kind_is_dead_and_the_worker_goes_on(h: Harness) -> None:
    h.registry.register("known", lambda rt, job: _append(h.runs, job))
    unknown = await h.enqueue("nobody.handles.this")
    known = await h.enqueue("known")
    async with running(h.worker()):
        row = await h.wait_status(unknown, "dead")
        await h.wait_status(known, "done")
    assert "no handler registered for job kind 'nobody.handles.this'" in row.last_error


async def test_priority_then_run_at_order_claims(h: Harness) -> None:
    now = h.clock.now()
    low_old = await h.enqueue("k", run_at=now - timedelta(seconds=20))
    high = await h.enqueue("k", priority=5, run_at=now)
    low_new = await h.enqueue("k", run_at=now - timedelta(seconds=10))
    await h.enqueue("k", priority=9, run_at=now + timedelta(seconds=1))  # not due
    worker = h.worker()
    claimed = [c.job.id for c in (await worker.claim_and_start(2)).claimed]
    claimed += [c.job.id for c in (await worker.claim_and_start(5)).claimed]
    assert claimed == [high, low_old, low_new]
    await asyncio.gather(*list(worker._inflight), return_exceptions=True)  # unknown kind: dead
    await worker.flush()


async def test_expired_lease_is_reclaimed_and_the_old_result_is_fenced(h: Harness) -> None:
    release = asyncio.Event()

    async def slow(runtime: Runtime, job: Job) -> None:
        h.runs.append(job)
        if job.attempt == 1:
            await release.wait()

    h.registry.register("slow", slow)
    job_id = await h.enqueue("slow")
    first = h.worker(worker_id="first", lease_seconds=30)
    second = h.worker(worker_id="second", lease_seconds=30)
    async with running(first):
        await wait_until(lambda: _is(len(h.runs) == 1), what="first run")
        assert (await second.claim_and_start(10)).claimed == []  # lease still valid
        h.clock.advance(31)  # the first worker "hangs" past its lease
        got = await second.claim_and_start(10)
        assert [(c.job.id, c.job.attempt, c.lease_expired) for c in got.claimed] == [
            (job_id, 2, True)
        ]
        await asyncio.gather(*list(second._inflight))
        await second.flush()
        row = await h.row(job_id)
        assert (row.status, row.attempts, row.locked_by) == ("done", 2, "second")
        release.set()  # the old run now finishes: its result must not overwrite anything
        await wait_until(lambda: _is(first.stats.lost == 1), what="fenced result")
    row = await h.row(job_id)
    assert (row.status, row.attempts, row.locked_by) == ("done", 2, "second")
    assert second.stats.reclaimed == 1


async def test_expired_lease_on_the_last_attempt_is_dead(h: Harness) -> None:
    async with h.db.transaction() as session:
        await session.execute(
            jobs.insert().values(
                kind="k", payload={}, status="running", priority=0, run_at=h.clock.now(),
                attempts=1, max_attempts=1, lease_until=h.clock.now(), locked_by="ghost",
                created_at=h.clock.now(), updated_at=h.clock.now(),
            )
        )  # fmt: skip
    h.clock.advance(1)
    got = await h.worker().claim_and_start(10)
    assert (got.claimed, got.killed) == ([], 1)
    assert (await job_counts(h.db))["dead"] == 1


async def test_graceful_stop_finishes_quick_jobs_and_releases_stuck_ones(h: Harness) -> None:
    started: list[str] = []

    async def handler(runtime: Runtime, job: Job) -> None:
        started.append(job.payload["name"])
        if job.payload["name"] == "stuck":
            await asyncio.Event().wait()
        await asyncio.sleep(0.05)

    h.registry.register("k", handler)
    quick = await h.enqueue("k", {"name": "quick"})
    stuck = await h.enqueue("k", {"name": "stuck"})
    worker = h.worker(grace_seconds=1)
    async with running(worker):
        await wait_until(lambda: _is(len(started) == 2), what="both started")
    assert not worker.running
    assert (await h.row(quick)).status == "done"
    row = await h.row(stuck)
    assert (row.status, row.attempts, row.locked_by, row.lease_until) == ("pending", 0, None, None)
    assert row.run_at == h.clock.now()
    assert worker.stats.released == 1


async def test_concurrency_limits_handlers_running_at_once(h: Harness) -> None:
    active = 0
    peak = 0
    gate = asyncio.Event()

    async def handler(runtime: Runtime, job: Job) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await gate.wait()
        active -= 1

    h.registry.register("k", handler)
    async with h.db.transaction() as session:
        await h.runtime.queue.enqueue_many(session, "k", [({}, None)] * 40)
    async with running(h.worker(concurrency=3, batch_size=2)):
        await wait_until(lambda: _is(active == 3), what="3 running")
        assert (await job_counts(h.db))["running"] == 3  # full: claims nothing more
        gate.set()
        await wait_until(lambda: _counts_done(h.db, 40), what="40 done")
    assert peak == 3


async def test_enqueue_wakes_an_idle_worker_without_polling(db: Database) -> None:
    """Poll interval 30 s: only the commit signal (or NOTIFY) can make this finish in time."""
    h = Harness(db, SystemClock())
    h.registry.register("now", lambda rt, job: _append(h.runs, job))
    worker = h.worker(poll_seconds=30)
    async with running(worker):
        await asyncio.sleep(0.05)  # let it go idle
        job_id = await h.enqueue("now")
        await h.wait_status(job_id, "done")
        if db.dialect == "postgresql":
            # Another process's enqueue: a separate queue (no shared in-process signal).
            other = JobQueue(db, h.clock, h.registry)
            async with db.transaction() as session:
                other_id = await other.enqueue(session, "now", {})
            assert other_id is not None
            await h.wait_status(other_id, "done")
    await h.runtime.http.aclose()


async def test_two_workers_in_one_process_never_share_a_job(h: Harness) -> None:
    async def handler(runtime: Runtime, job: Job) -> None:
        h.runs.append(job)
        await asyncio.sleep(0)

    h.registry.register("k", handler)
    async with h.db.transaction() as session:
        await h.runtime.queue.enqueue_many(session, "k", [({}, None)] * 200)
    a, b = h.worker(worker_id="a", batch_size=7), h.worker(worker_id="b", batch_size=7)
    async with running(a), running(b):
        await wait_until(lambda: _counts_done(h.db, 200), what="200 done")
    assert sorted(j.id for j in h.runs) == sorted({j.id for j in h.runs})
    assert len(h.runs) == 200
    assert a.stats.done + b.stats.done == 200


def test_manual_clock_lease_uses_configured_seconds_and_scaled_clock_scales(
    db: Database,
) -> None:
    class Scaled:
        scale = 30.0

        def now(self) -> datetime:
            return datetime(2026, 1, 1, tzinfo=UTC)

        async def sleep(self, seconds: float) -> None:
            return None

    assert (
        Worker(make_runtime(db, ManualClock(), JobRegistry()), lease_seconds=20).lease_clock_seconds
        == 20
    )
    assert (
        Worker(make_runtime(db, Scaled(), JobRegistry()), lease_seconds=20).lease_clock_seconds
        == 600
    )


async def _append(runs: list[Job], job: Job) -> None:
    runs.append(job)


async def _is(value: bool) -> bool:
    return value


async def _counts_done(db: Database, n: int) -> bool:
    return (await job_counts(db))["done"] == n


async def test_run_worker_async_serves_until_stopped(db: Database) -> None:
    url = db.url
    if db.dialect == "postgresql":
        async with db.engine.connect() as conn:
            schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
        url += f"?options=-csearch_path%3D{schema}"
    registry = JobRegistry()
    ran: list[Job] = []
    registry.register("k", lambda rt, job: _append(ran, job))
    h = Harness(db, SystemClock())
    job_id = await h.enqueue("k")
    stop = asyncio.Event()
    settings = Settings(env="test", database_url=url, job_poll_seconds=0.05)
    task = asyncio.create_task(run_worker_async(settings, registry, stop=stop))
    await h.wait_status(job_id, "done")
    stop.set()
    await asyncio.wait_for(task, 30)
    assert [j.id for j in ran] == [job_id]
    await h.runtime.http.aclose()
    with pytest.raises(RuntimeError, match="no job handlers"):
        await run_worker_async(settings, JobRegistry())
