"""SQL for scheduled calls (``scheduled_calls``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.storage.tables import jobs, scheduled_calls

T = scheduled_calls


async def insert_call(session: AsyncSession, values: dict[str, Any]) -> int:
    """Add a scheduled call; returns its id."""
    result = await session.execute(insert(T).values(**values).returning(T.c.id))
    return int(result.scalar_one())


async def get(session: AsyncSession, call_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    """One scheduled call, optionally locked for update (PostgreSQL; SQLite locks the file)."""
    query = select(T).where(T.c.id == call_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def by_call_id(session: AsyncSession, call_id: str) -> dict[str, Any] | None:
    """The scheduled call whose current attempt is the call ``call_id``."""
    query = select(T).where(T.c.call_id == call_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def change(session: AsyncSession, call_id: int, values: dict[str, Any]) -> None:
    """Update columns of one scheduled call."""
    await session.execute(update(T).where(T.c.id == call_id).values(**values))


@dataclass(frozen=True)
class Filters:
    """``GET /scheduled-calls`` filters (all optional)."""

    status: str | None = None
    purpose: str | None = None
    phone: str | None = None
    since: datetime | None = None  # scheduled_time >= since
    until: datetime | None = None  # scheduled_time < until


async def page(
    session: AsyncSession, filters: Filters, *, limit: int, after_id: int | None
) -> list[dict[str, Any]]:
    """Up to ``limit`` calls, newest first, with ids below ``after_id`` (the cursor)."""
    query = select(T).order_by(T.c.id.desc()).limit(limit)
    if filters.status is not None:
        query = query.where(T.c.status == filters.status)
    if filters.purpose is not None:
        query = query.where(T.c.purpose == filters.purpose)
    if filters.phone is not None:
        query = query.where(T.c.phone == filters.phone)
    if filters.since is not None:
        query = query.where(T.c.scheduled_time >= filters.since)
    if filters.until is not None:
        query = query.where(T.c.scheduled_time < filters.until)
    if after_id is not None:
        query = query.where(T.c.id < after_id)
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def counts(session: AsyncSession) -> list[tuple[str, str, int, int]]:
    """``(status, purpose, count, sum of attempts)`` groups."""
    query = select(T.c.status, T.c.purpose, func.count(), func.sum(T.c.attempt)).group_by(
        T.c.status, T.c.purpose
    )
    return [(str(s), str(p), int(n), int(a or 0)) for s, p, n, a in await session.execute(query)]


async def set_job_priority(session: AsyncSession, key: str, priority: int) -> None:
    """Give the pending job ``key`` a priority (the call-placing job of a scheduled call).

    The telephony slice enqueues its dialling job at priority 0; a scheduled call's priority
    must carry over to it, because that is the job that waits for the rate limiter.
    """
    await session.execute(
        update(jobs).where(jobs.c.key == key, jobs.c.status == "pending").values(priority=priority)
    )
