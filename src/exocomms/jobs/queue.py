"""Enqueue and cancel durable jobs inside the caller's transaction.

A job is a row in ``jobs``: it exists if and only if the transaction that created it commits,
so "order accepted" and "cancel the reminder" happen together or not at all. Workers are woken
after commit (see :mod:`exocomms.jobs.notify`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from exocomms.clock import Clock
from exocomms.jobs.notify import CHANNEL, Wakeup
from exocomms.jobs.registry import DEFAULT_MAX_ATTEMPTS, JobRegistry
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs

# session.info keys: work to signal at commit; whether NOTIFY was already sent in this transaction.
_WAKE_AT_COMMIT = "exocomms.jobs.wake_at_commit"
_PG_NOTIFIED = "exocomms.jobs.pg_notified"
_HOOKED = "exocomms.jobs.hooked"


class JobQueue:
    """The producer side of durable jobs: one per process, shared by every request."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        registry: JobRegistry | None = None,
        *,
        wakeup: Wakeup | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.registry = registry
        self.wakeup = wakeup or Wakeup()

    async def enqueue(
        self,
        session: AsyncSession,
        kind: str,
        payload: dict[str, Any],
        *,
        run_at: datetime | None = None,
        key: str | None = None,
        priority: int = 0,
        max_attempts: int | None = None,
    ) -> int | None:
        """Add a job in ``session``'s transaction.

        Args:
            session: The caller's session, inside a transaction; the job exists only if it
                commits.
            kind: Registered handler kind, e.g. ``"outbox.deliver"``.
            payload: JSON-serialisable arguments for the handler.
            run_at: When it becomes due (aware datetime, clock time); default now.
            key: Deduplication key, unique forever (also after the job finished or was
                canceled): a second enqueue with the same key is ignored.
            priority: Higher runs first among due jobs.
            max_attempts: Default: the handler's registered ``max_attempts``.

        Returns:
            The new job id, or None when a job with ``key`` already exists.
        """
        _check(kind, key, max_attempts)
        row = self._row(kind, payload, run_at, key, priority, max_attempts)
        if key is None:
            stmt: Any = insert(jobs).values(**row).returning(jobs.c.id)
        else:
            dialect_insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
            stmt = (
                dialect_insert(jobs)
                .values(**row)
                .on_conflict_do_nothing(index_elements=[jobs.c.key])
                .returning(jobs.c.id)
            )
        job_id = (await session.execute(stmt)).scalar_one_or_none()
        if job_id is not None:
            await self._wake_after_commit(session)
        return None if job_id is None else int(job_id)

    async def enqueue_many(
        self,
        session: AsyncSession,
        kind: str,
        items: Iterable[tuple[dict[str, Any], datetime | None]],
        *,
        priority: int = 0,
        max_attempts: int | None = None,
    ) -> int:
        """Add many key-less jobs of one kind in one statement (campaigns, benchmarks).

        Args:
            session: The caller's session, inside a transaction.
            kind: Registered handler kind.
            items: ``(payload, run_at)`` pairs; ``run_at`` None means now.
            priority: Higher runs first among due jobs.
            max_attempts: Default: the handler's registered ``max_attempts``.

        Returns:
            How many jobs were added.
        """
        _check(kind, None, max_attempts)
        rows = [self._row(kind, p, at, None, priority, max_attempts) for p, at in items]
        if not rows:
            return 0
        await session.execute(insert(jobs), rows)
        await self._wake_after_commit(session)
        return len(rows)

    async def cancel(self, session: AsyncSession, key: str) -> bool:
        """Cancel the pending job with ``key`` in ``session``'s transaction.

        Returns:
            True if a pending job was canceled; False if there is none (unknown key, or the
            job already ran, is running, or was canceled). A running job is not interrupted:
            handlers use a fencing token (a step number, a status check) for that.
        """
        now = self.clock.now()
        result: Any = await session.execute(
            update(jobs)
            .where(jobs.c.key == key, jobs.c.status == "pending")
            .values(status="canceled", updated_at=now, finished_at=now)
        )
        return bool(result.rowcount)

    def _row(
        self,
        kind: str,
        payload: dict[str, Any],
        run_at: datetime | None,
        key: str | None,
        priority: int,
        max_attempts: int | None,
    ) -> dict[str, Any]:
        now = self.clock.now()
        if max_attempts is None:
            max_attempts = (
                self.registry.max_attempts(kind) if self.registry else DEFAULT_MAX_ATTEMPTS
            )
        return {
            "kind": kind,
            "key": key,
            "payload": payload,
            "status": "pending",
            "priority": priority,
            "run_at": run_at or now,
            "attempts": 0,
            "max_attempts": max_attempts,
            "created_at": now,
            "updated_at": now,
        }

    async def _wake_after_commit(self, session: AsyncSession) -> None:
        """Arrange for workers to be woken when ``session``'s transaction commits."""
        await notify_in_transaction(session, self.db.dialect)
        info = session.info
        info[_WAKE_AT_COMMIT] = True
        if not info.get(_HOOKED):
            info[_HOOKED] = True
            sync_session = session.sync_session
            wakeup = self.wakeup

            def after_commit(s: Session) -> None:
                s.info.pop(_PG_NOTIFIED, None)
                if s.info.pop(_WAKE_AT_COMMIT, False):
                    wakeup.notify()

            def after_rollback(s: Session) -> None:
                # Rolled back: the jobs do not exist, nobody is woken.
                s.info.pop(_PG_NOTIFIED, None)
                s.info.pop(_WAKE_AT_COMMIT, None)

            event.listen(sync_session, "after_commit", after_commit)
            event.listen(sync_session, "after_rollback", after_rollback)


async def notify_in_transaction(session: AsyncSession, dialect: str) -> None:
    """On PostgreSQL, NOTIFY other processes' workers when this transaction commits.

    Sent once per transaction (PostgreSQL would fold duplicates anyway; this saves round trips).
    """
    if dialect != "postgresql" or session.info.get(_PG_NOTIFIED):
        return
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    session.info[_PG_NOTIFIED] = True


def _check(kind: str, key: str | None, max_attempts: int | None) -> None:
    if not kind or len(kind) > 100:
        raise ValueError("job kind must be 1-100 characters")
    if key is not None and (not key or len(key) > 255):
        raise ValueError("job key must be 1-255 characters")
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
