"""The SQL of the consumer side: claim under a lease, renew, finish (fenced), count.

Claiming takes due jobs in one short transaction: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so
concurrent workers take disjoint batches; on SQLite the transaction starts with
``BEGIN IMMEDIATE`` (see :mod:`exocomms.storage.db`), which serialises claimers. Every write a
worker makes afterwards is fenced on ``(locked_by, attempts)``: if the lease expired and another
worker re-claimed the job, the late result of the old run changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from exocomms.jobs.registry import Job
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs

STATUSES = ("pending", "running", "done", "dead", "canceled")

Outcome = Literal["done", "retry", "dead", "release"]


@dataclass(frozen=True)
class Claimed:
    """A claimed job, and whether it was taken over from a worker whose lease expired."""

    job: Job
    lease_expired: bool


@dataclass
class ClaimResult:
    """What one claim round got, and when the next job becomes due (pending or lease expiry)."""

    claimed: list[Claimed] = field(default_factory=list)
    killed: int = 0  # expired leases that had no attempts left: marked dead
    next_due: datetime | None = None


@dataclass(frozen=True)
class Finish:
    """The result of one run, to be written fenced on ``(worker, job_id, attempt)``."""

    job_id: int
    attempt: int
    outcome: Outcome
    run_at: datetime | None = None  # retry: when to run again
    error: str | None = None
    refund: int = 0  # retry/release: attempts to give back (RetryLater, shutdown)


@asynccontextmanager
async def _begin(db: Database) -> AsyncIterator[AsyncConnection]:
    """A transaction on a connection; on SQLite, one at a time per process and database.

    SQLite allows one writer and every transaction here starts with BEGIN IMMEDIATE: two
    connections of the same process racing for the lock make the loser sleep in SQLite's busy
    handler (1, 2, 5, 10… ms), which is most of the cost under load. Queueing on an asyncio
    lock instead hands the lock over without sleeping.
    """
    async with db.write_lock(), db.engine.begin() as conn:
        yield conn


def _due(now: datetime) -> Any:
    return or_(
        and_(jobs.c.status == "pending", jobs.c.run_at <= now),
        and_(jobs.c.status == "running", jobs.c.lease_until < now),
    )


async def claim(
    db: Database, worker_id: str, limit: int, now: datetime, lease_until: datetime
) -> ClaimResult:
    """Claim up to ``limit`` due jobs (highest priority, then oldest ``run_at``) for this worker.

    A job whose lease expired is claimed again (its old worker is presumed dead) unless it has
    used all its attempts, in which case it becomes dead.
    """
    result = ClaimResult()
    async with _begin(db) as conn:
        if limit > 0:
            pick = (
                select(jobs.c.id, jobs.c.status, jobs.c.attempts, jobs.c.max_attempts)
                .where(_due(now))
                .order_by(jobs.c.priority.desc(), jobs.c.run_at, jobs.c.id)
                .limit(limit)
            )
            if db.dialect == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            rows = (await conn.execute(pick)).all()
            expired = {r.id for r in rows if r.status == "running"}
            exhausted = [
                r.id for r in rows if r.status == "running" and r.attempts >= r.max_attempts
            ]
            if exhausted:
                await conn.execute(
                    update(jobs)
                    .where(jobs.c.id.in_(exhausted))
                    .values(
                        status="dead",
                        lease_until=None,
                        locked_by=None,
                        finished_at=now,
                        updated_at=now,
                        last_error="lease expired (worker lost) on the last attempt",
                    )
                )
                result.killed = len(exhausted)
            ids = [r.id for r in rows if r.id not in set(exhausted)]
            if ids:
                claimed = await conn.execute(
                    update(jobs)
                    .where(jobs.c.id.in_(ids))
                    .values(
                        status="running",
                        attempts=jobs.c.attempts + 1,
                        lease_until=lease_until,
                        locked_by=worker_id,
                        updated_at=now,
                    )
                    .returning(
                        jobs.c.id,
                        jobs.c.kind,
                        jobs.c.key,
                        jobs.c.payload,
                        jobs.c.attempts,
                        jobs.c.max_attempts,
                        jobs.c.priority,
                        jobs.c.run_at,
                    )
                )
                # RETURNING order is unspecified: restore the claim order.
                got = sorted(claimed.all(), key=lambda r: (-r.priority, r.run_at, r.id))
                result.claimed = [
                    Claimed(
                        Job(r.id, r.kind, r.key, dict(r.payload), r.attempts, r.max_attempts),
                        r.id in expired,
                    )
                    for r in got
                ]
        result.next_due = await _next_due(conn)
    return result


async def _next_due(conn: AsyncConnection) -> datetime | None:
    pending = select(func.min(jobs.c.run_at)).where(jobs.c.status == "pending").scalar_subquery()
    leases = (
        select(func.min(jobs.c.lease_until)).where(jobs.c.status == "running").scalar_subquery()
    )
    row = (await conn.execute(select(pending.label("p"), leases.label("l")))).one()
    times = [t for t in (row.p, row.l) if t is not None]
    return min(times) if times else None


async def next_due(db: Database) -> datetime | None:
    """The earliest pending ``run_at`` or running ``lease_until``, if any."""
    async with _begin(db) as conn:
        return await _next_due(conn)


async def renew(
    db: Database, worker_id: str, held: Sequence[tuple[int, int]], lease_until: datetime
) -> int:
    """Extend the lease of jobs this worker still holds (``(job_id, attempt)`` pairs)."""
    if not held:
        return 0
    stmt = (
        update(jobs)
        .where(
            jobs.c.id == bindparam("b_id"),
            jobs.c.attempts == bindparam("b_attempt"),
            jobs.c.locked_by == worker_id,
            jobs.c.status == "running",
        )
        .values(lease_until=lease_until)
    )
    async with _begin(db) as conn:
        result: Any = await conn.execute(
            stmt, [{"b_id": job_id, "b_attempt": attempt} for job_id, attempt in held]
        )
    return int(result.rowcount)


def _fenced() -> Any:
    return and_(
        jobs.c.id == bindparam("b_id"),
        jobs.c.attempts == bindparam("b_attempt"),
        jobs.c.locked_by == bindparam("b_worker"),
        jobs.c.status == "running",
    )


async def finish(
    db: Database, worker_id: str, results: Sequence[Finish], now: datetime, *, notify: bool
) -> int:
    """Write run results in one transaction; returns how many were applied.

    Results whose job was re-claimed by another worker (lease expired) are not applied.
    """
    done = [f for f in results if f.outcome == "done"]
    dead = [f for f in results if f.outcome == "dead"]
    again = [f for f in results if f.outcome in ("retry", "release")]
    applied = 0
    async with _begin(db) as conn:
        if done:
            # The hot path: one statement for the whole batch, fenced per (id, attempt).
            res: Any = await conn.execute(
                update(jobs)
                .where(
                    tuple_(jobs.c.id, jobs.c.attempts).in_([(f.job_id, f.attempt) for f in done]),
                    jobs.c.locked_by == worker_id,
                    jobs.c.status == "running",
                )
                .values(status="done", lease_until=None, finished_at=now, updated_at=now)
            )
            applied += res.rowcount
        if dead:
            res = await conn.execute(
                update(jobs)
                .where(_fenced())
                .values(
                    status="dead",
                    lease_until=None,
                    finished_at=now,
                    updated_at=now,
                    last_error=bindparam("b_error"),
                ),
                [
                    {
                        "b_id": f.job_id,
                        "b_attempt": f.attempt,
                        "b_worker": worker_id,
                        "b_error": f.error,
                    }
                    for f in dead
                ],
            )
            applied += res.rowcount
        if again:
            res = await conn.execute(
                update(jobs)
                .where(_fenced())
                .values(
                    status="pending",
                    run_at=bindparam("b_run_at", type_=jobs.c.run_at.type),
                    attempts=jobs.c.attempts - bindparam("b_refund"),
                    last_error=func.coalesce(
                        bindparam("b_error", type_=jobs.c.last_error.type), jobs.c.last_error
                    ),
                    lease_until=None,
                    locked_by=None,
                    updated_at=now,
                ),
                [
                    {
                        "b_id": f.job_id,
                        "b_attempt": f.attempt,
                        "b_worker": worker_id,
                        "b_run_at": f.run_at or now,
                        "b_refund": f.refund,
                        "b_error": f.error,
                    }
                    for f in again
                ],
            )
            applied += res.rowcount
            if notify and db.dialect == "postgresql":
                await conn.execute(select(func.pg_notify("exocomms_jobs", "")))
    return applied


async def job_counts(db: Database) -> dict[str, int]:
    """Jobs per status (every status present, zero if none), for /health and metrics."""
    counts = dict.fromkeys(STATUSES, 0)
    async with _begin(db) as conn:
        rows = await conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status))
        for status, n in rows.all():
            counts[str(status)] = int(n)
    return counts
