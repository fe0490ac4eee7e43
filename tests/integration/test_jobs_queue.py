"""Enqueue, dedupe and cancel inside the caller's transaction; the jobs CLI functions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from exocomms.clock import ManualClock
from exocomms.jobs import JobRegistry, job_counts
from exocomms.jobs.cli import list_jobs, retry_job
from exocomms.jobs.queue import JobQueue
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs


class Boom(Exception):
    pass


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def queue(db: Database, clock: ManualClock) -> JobQueue:
    registry = JobRegistry()

    async def noop(*_: object) -> None:
        return None

    registry.register("retried.kind", noop, max_attempts=7)
    return JobQueue(db, clock, registry)


async def _rows(db: Database) -> list[dict[str, object]]:
    async with db.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(select(jobs))).mappings()]


async def test_enqueue_writes_a_pending_row_with_defaults(
    db: Database, queue: JobQueue, clock: ManualClock
) -> None:
    async with db.transaction() as session:
        job_id = await queue.enqueue(session, "retried.kind", {"order": "A1", "n": [1, 2]})
    [row] = await _rows(db)
    assert row["id"] == job_id
    assert row["status"] == "pending"
    assert row["payload"] == {"order": "A1", "n": [1, 2]}
    assert row["run_at"] == clock.now()
    assert row["max_attempts"] == 7  # from the registry
    assert row["attempts"] == 0
    assert row["priority"] == 0


async def test_enqueue_in_a_rolled_back_transaction_leaves_nothing(
    db: Database, queue: JobQueue
) -> None:
    async def enqueue_then_fail() -> None:
        async with db.transaction() as session:
            await queue.enqueue(session, "k", {}, key="order:1:remind")
            raise Boom

    with pytest.raises(Boom):
        await enqueue_then_fail()
    assert await _rows(db) == []
    # The key was never taken: enqueueing again works.
    async with db.transaction() as session:
        assert await queue.enqueue(session, "k", {}, key="order:1:remind") is not None


async def test_a_key_deduplicates_forever(db: Database, queue: JobQueue) -> None:
    async with db.transaction() as session:
        first = await queue.enqueue(session, "k", {"v": 1}, key="dup")
        assert await queue.enqueue(session, "k", {"v": 2}, key="dup") is None
    async with db.transaction() as session:
        await session.execute(jobs.update().values(status="done"))
    async with db.transaction() as session:
        assert await queue.enqueue(session, "k", {"v": 3}, key="dup") is None
    rows = await _rows(db)
    assert [(r["id"], r["payload"]) for r in rows] == [(first, {"v": 1})]


async def test_dedupe_does_not_abort_the_callers_transaction(db: Database, queue: JobQueue) -> None:
    async with db.transaction() as session:
        await queue.enqueue(session, "k", {}, key="dup")
    async with db.transaction() as session:
        assert await queue.enqueue(session, "k", {}, key="dup") is None
        await queue.enqueue(session, "k", {}, key="other")  # the transaction is still usable
    assert {r["key"] for r in await _rows(db)} == {"dup", "other"}


async def test_cancel_commits_with_the_state_change(
    db: Database, queue: JobQueue, clock: ManualClock
) -> None:
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT)"))
        await session.execute(text("INSERT INTO orders VALUES (1, 'placed')"))
        await queue.enqueue(
            session, "vendor.remind", {"order": 1}, key="order:1:remind", run_at=clock.now()
        )

    # A failed acceptance rolls back both the state change and the cancel.
    async def accept_then_fail() -> None:
        async with db.transaction() as session:
            await session.execute(text("UPDATE orders SET status='accepted' WHERE id=1"))
            assert await queue.cancel(session, "order:1:remind") is True
            raise Boom

    with pytest.raises(Boom):
        await accept_then_fail()
    assert [r["status"] for r in await _rows(db)] == ["pending"]
    # A successful one commits both.
    async with db.transaction() as session:
        await session.execute(text("UPDATE orders SET status='accepted' WHERE id=1"))
        assert await queue.cancel(session, "order:1:remind") is True
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT status FROM orders"))).scalar() == "accepted"
    [row] = await _rows(db)
    assert row["status"] == "canceled"
    assert row["finished_at"] == clock.now()
    async with db.transaction() as session:
        assert await queue.cancel(session, "order:1:remind") is False  # already canceled
        assert await queue.cancel(session, "no-such-key") is False


async def test_enqueue_many_and_job_counts(
    db: Database, queue: JobQueue, clock: ManualClock
) -> None:
    later = clock.now() + timedelta(seconds=30)
    async with db.transaction() as session:
        added = await queue.enqueue_many(session, "bulk", [({"i": i}, later) for i in range(5)])
        await queue.enqueue(session, "k", {}, key="c")
        await queue.cancel(session, "c")
    assert added == 5
    counts = await job_counts(db)
    assert counts == {"pending": 5, "running": 0, "done": 0, "dead": 0, "canceled": 1}


async def test_list_jobs_filters_newest_first(db: Database, queue: JobQueue) -> None:
    async with db.transaction() as session:
        a = await queue.enqueue(session, "a", {})
        b = await queue.enqueue(session, "b", {})
        c = await queue.enqueue(session, "a", {}, key="c")
        await queue.cancel(session, "c")
    assert [j["id"] for j in await list_jobs(db)] == [c, b, a]
    assert [j["id"] for j in await list_jobs(db, kind="a")] == [c, a]
    assert [j["id"] for j in await list_jobs(db, status="canceled")] == [c]
    assert [j["id"] for j in await list_jobs(db, limit=1)] == [c]
    with pytest.raises(ValueError, match="unknown status"):
        await list_jobs(db, status="bogus")


async def test_retry_job_only_reruns_dead_or_canceled(
    db: Database, queue: JobQueue, clock: ManualClock
) -> None:
    async with db.transaction() as session:
        pending = await queue.enqueue(session, "k", {})
        dead = await queue.enqueue(session, "k", {})
        await session.execute(
            jobs.update()
            .where(jobs.c.id == dead)
            .values(status="dead", attempts=5, last_error="boom", finished_at=clock.now())
        )
    clock.advance(60)
    assert pending is not None
    assert dead is not None
    assert await retry_job(db, clock, pending) is False
    assert await retry_job(db, clock, 999_999) is False
    assert await retry_job(db, clock, dead) is True
    row = next(r for r in await _rows(db) if r["id"] == dead)
    assert (row["status"], row["attempts"], row["run_at"]) == ("pending", 0, clock.now())
    assert row["finished_at"] is None
    assert row["last_error"] == "boom"  # kept until the next run


async def test_enqueue_validates_arguments(db: Database, queue: JobQueue) -> None:
    async with db.transaction() as session:
        with pytest.raises(ValueError, match="kind"):
            await queue.enqueue(session, "", {})
        with pytest.raises(ValueError, match="key"):
            await queue.enqueue(session, "k", {}, key="x" * 256)
        with pytest.raises(ValueError, match="max_attempts"):
            await queue.enqueue(session, "k", {}, max_attempts=0)
