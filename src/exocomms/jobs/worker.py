"""The worker: claims due jobs under a lease, runs their handlers, writes results (fenced).

One loop per process: claim a batch (up to the free concurrency), start each handler as a task,
then sleep until whichever comes first — a wake-up (enqueue in this process, or NOTIFY on
PostgreSQL), the earliest known ``run_at``/lease expiry, the poll interval, a free slot, or
stop. Results are written by a flusher task that batches whatever has accumulated, so a busy
worker writes one transaction per batch instead of one per job. A heartbeat renews the leases
of running jobs. On stop, running handlers get ``grace_seconds`` to finish; the rest are
cancelled and released (pending, now, attempt given back) for another worker.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import traceback
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from exocomms.jobs import store
from exocomms.jobs.notify import listen_postgres
from exocomms.jobs.registry import Job, RetryLater
from exocomms.jobs.store import Finish
from exocomms.runtime import Runtime

log = structlog.get_logger(__name__)

MAX_ERROR_CHARS = 4000
_IDLE_WHEN_CONTENDED = 0.005  # seconds: due jobs exist but another worker holds them locked


@dataclass
class WorkerStats:
    """Counters since start, for metrics."""

    claimed: int = 0
    done: int = 0
    failed: int = 0  # attempts that failed and were scheduled again
    dead: int = 0
    retried_later: int = 0  # RetryLater
    released: int = 0  # handed back at shutdown
    reclaimed: int = 0  # claimed after another worker's lease expired
    lost: int = 0  # results discarded because the lease had been taken over


def default_worker_id() -> str:
    """``host:pid:random``, unique per worker instance."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Runs jobs from ``runtime.queue`` with the handlers of ``runtime.registry``."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        concurrency: int | None = None,
        worker_id: str | None = None,
        lease_seconds: float | None = None,
        poll_seconds: float | None = None,
        grace_seconds: float = 10.0,
        batch_size: int = 100,
    ) -> None:
        """Configure a worker; defaults come from ``runtime.settings``.

        Args:
            runtime: Database, clock, registry and the rest, handed to handlers.
            concurrency: Handlers running at once.
            worker_id: Written to ``locked_by``; unique per worker.
            lease_seconds: Real seconds a claim stays valid without a heartbeat.
            poll_seconds: Longest idle sleep (catches work no one told us about).
            grace_seconds: On stop, how long running handlers may take to finish.
            batch_size: Most jobs claimed in one transaction.
        """
        settings = runtime.settings
        self.runtime = runtime
        self.concurrency = concurrency or settings.worker_concurrency
        self.worker_id = worker_id or default_worker_id()
        self.lease_seconds = lease_seconds or settings.job_lease_seconds
        self.poll_seconds = poll_seconds or settings.job_poll_seconds
        self.grace_seconds = grace_seconds
        self.batch_size = batch_size
        self.stats = WorkerStats()
        self._running = False
        self.started = asyncio.Event()  # set once run() is claiming
        self._inflight: dict[asyncio.Task[None], Job] = {}
        self._unflushed: dict[int, int] = {}  # job id → attempt: finished, not yet written
        self._results: list[Finish] = []
        self._results_ready = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._slot_free = asyncio.Event()
        self._wake = asyncio.Event()

    @property
    def running(self) -> bool:
        """True while :meth:`run` is running."""
        return self._running

    @property
    def lease_clock_seconds(self) -> float:
        """The lease in clock seconds: wall seconds × clock scale (manual clock: as configured).

        A demo clock running 30× faster must not expire a running job's lease 30× sooner.
        """
        scale = self.runtime.clock.scale
        return self.lease_seconds * scale if scale > 0 else self.lease_seconds

    def _lease_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_clock_seconds)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then finish or release running jobs and return."""
        if self._running:
            raise RuntimeError("this worker is already running")
        self._running = True
        self.started.set()
        wakeup = self.runtime.queue.wakeup
        self._wake = wakeup.subscribe()
        helpers = [
            self._spawn(self._flusher(), "flusher"),
            self._spawn(self._heartbeat(), "heartbeat"),
        ]
        if self.runtime.db.dialect == "postgresql":
            helpers.append(self._spawn(listen_postgres(self.runtime.db, self._wake.set), "listen"))
        log.info("jobs.worker_started", worker=self.worker_id, concurrency=self.concurrency)
        try:
            await self._loop(stop)
        finally:
            try:
                await self._shutdown()
            finally:
                for task in helpers:
                    task.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
                wakeup.unsubscribe(self._wake)
                self._running = False
                log.info("jobs.worker_stopped", worker=self.worker_id)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return asyncio.create_task(coro, name=f"jobs-{name}:{self.worker_id}")

    async def _loop(self, stop: asyncio.Event) -> None:
        clock = self.runtime.clock
        while not stop.is_set():
            self._wake.clear()
            free = self.concurrency - len(self._inflight)
            next_due: datetime | None = None
            claimed_all = False
            if free > 0:
                try:
                    got = await self.claim_and_start(min(free, self.batch_size))
                except Exception as exc:  # database hiccup: keep the worker alive, poll again
                    log.warning("jobs.claim_failed", error=str(exc), worker=self.worker_id)
                    await _first(stop.wait(), asyncio.sleep(self.poll_seconds))
                    continue
                next_due = got.next_due
                claimed_all = len(got.claimed) == min(free, self.batch_size)
                if next_due is not None and next_due <= clock.now():
                    if claimed_all and len(self._inflight) < self.concurrency:
                        continue  # more is due and we have room: claim again at once
                    if not got.claimed:
                        next_due = clock.now() + timedelta(seconds=_IDLE_WHEN_CONTENDED)
            waits: list[Coroutine[Any, Any, Any]] = [stop.wait()]
            if len(self._inflight) >= self.concurrency:
                self._slot_free.clear()
                waits.append(self._slot_free.wait())
            else:
                waits.append(self._wake.wait())
                waits.append(asyncio.sleep(self.poll_seconds))
                if next_due is not None:
                    delay = (next_due - clock.now()).total_seconds()
                    waits.append(clock.sleep(max(0.0, delay)))
            await _first(*waits)

    async def claim_and_start(self, limit: int) -> store.ClaimResult:
        """Claim up to ``limit`` due jobs and start their handlers (also used by tests)."""
        now = self.runtime.clock.now()
        got = await store.claim(self.runtime.db, self.worker_id, limit, now, self._lease_until(now))
        if got.killed:
            self.stats.dead += got.killed
            log.warning("jobs.lease_expired_dead", count=got.killed, worker=self.worker_id)
        for item in got.claimed:
            job = item.job
            self.stats.claimed += 1
            if item.lease_expired:
                self.stats.reclaimed += 1
                log.warning(
                    "jobs.lease_expired_reclaimed",
                    job_id=job.id,
                    kind=job.kind,
                    attempt=job.attempt,
                )
            task = asyncio.create_task(self._execute(job), name=f"job:{job.id}")
            self._inflight[task] = job
            task.add_done_callback(self._on_task_done)
        return got

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        self._slot_free.set()

    async def _execute(self, job: Job) -> None:
        spec = self.runtime.registry.get(job.kind)
        bound = log.bind(job_id=job.id, kind=job.kind, attempt=job.attempt, key=job.key)
        if spec is None:
            bound.error("jobs.unknown_kind")
            self._record(job, "dead", error=f"no handler registered for job kind {job.kind!r}")
            return
        try:
            await spec.fn(self.runtime, job)
        except RetryLater as later:
            self._record(
                job,
                "retry",
                run_at=self.runtime.clock.now() + timedelta(seconds=later.delay_seconds),
                error=f"RetryLater: {later.reason}" if later.reason else None,
                refund=1,
            )
            self.stats.retried_later += 1
        except Exception as exc:  # any handler failure is recorded, never fatal to the loop
            error = _describe(exc)
            if job.attempt >= job.max_attempts:
                bound.error("jobs.dead", error=error)
                self._record(job, "dead", error=error)
            else:
                delay = spec.backoff.delay(job.attempt)
                bound.warning("jobs.failed", error=str(exc), retry_in=round(delay, 3))
                run_at = self.runtime.clock.now() + timedelta(seconds=delay)
                self._record(job, "retry", run_at=run_at, error=error)
        else:
            self._record(job, "done")

    def _record(
        self,
        job: Job,
        outcome: store.Outcome,
        *,
        run_at: datetime | None = None,
        error: str | None = None,
        refund: int = 0,
    ) -> None:
        self._unflushed[job.id] = job.attempt
        self._results.append(Finish(job.id, job.attempt, outcome, run_at, error, refund))
        self._results_ready.set()

    async def _flusher(self) -> None:
        while True:
            await self._results_ready.wait()
            await self.flush()

    async def flush(self) -> None:
        """Write every recorded result now (one transaction)."""
        # The lock makes a shutdown flush wait for the flusher's write in progress.
        async with self._flush_lock:
            await self._flush()

    async def _flush(self) -> None:
        self._results_ready.clear()
        batch, self._results = self._results, []
        if not batch:
            return
        notify = any(f.outcome in ("retry", "release") for f in batch)
        try:
            applied = await store.finish(
                self.runtime.db, self.worker_id, batch, self.runtime.clock.now(), notify=notify
            )
        except Exception as exc:  # keep results and try again; the lease heartbeat covers us
            log.warning("jobs.finish_failed", error=str(exc), count=len(batch))
            self._results[:0] = batch
            await asyncio.sleep(min(1.0, self.poll_seconds))
            self._results_ready.set()
            return
        for f in batch:
            if self._unflushed.get(f.job_id) == f.attempt:
                del self._unflushed[f.job_id]
            if f.outcome == "done":
                self.stats.done += 1
            elif f.outcome == "dead":
                self.stats.dead += 1
            elif f.outcome == "release":
                self.stats.released += 1
            elif f.refund == 0:
                self.stats.failed += 1
        if applied < len(batch):
            self.stats.lost += len(batch) - applied
            log.warning("jobs.results_discarded", count=len(batch) - applied)
        if notify:
            self.runtime.queue.wakeup.notify()

    async def _heartbeat(self) -> None:
        interval = self.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            held = [(job.id, job.attempt) for job in self._inflight.values()]
            held += list(self._unflushed.items())
            if not held:
                continue
            try:
                now = self.runtime.clock.now()
                await store.renew(self.runtime.db, self.worker_id, held, self._lease_until(now))
            except Exception as exc:  # next beat retries; the lease has slack for two misses
                log.warning("jobs.heartbeat_failed", error=str(exc))

    async def _shutdown(self) -> None:
        tasks = list(self._inflight)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=self.grace_seconds)
            for task in pending:
                job = self._inflight.get(task)
                task.cancel()
                if job is not None:
                    self._record(job, "release", run_at=self.runtime.clock.now(), refund=1)
            await asyncio.gather(*pending, return_exceptions=True)
        for _ in range(3):  # a transient error gets two more tries; after that the lease expires
            await self.flush()
            if not self._results:
                break


async def _first(*aws: Coroutine[Any, Any, Any]) -> None:
    """Wait until the first of ``aws`` completes; cancel the others."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _describe(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc, limit=8))
    return text[-MAX_ERROR_CHARS:]
