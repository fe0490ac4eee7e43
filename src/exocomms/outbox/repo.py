"""SQL for the outbox: ``outbox_messages`` and ``outbox_attempts`` (see ``storage/tables.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.storage.tables import outbox_attempts, outbox_messages

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
STATUSES = (PENDING, DELIVERED, DEAD)


@dataclass(frozen=True)
class Message:
    """One outgoing webhook."""

    id: int
    topic: str
    url: str
    body: str
    idempotency_key: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt to deliver a message."""

    id: int
    message_id: int
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str | None


def _message(row: Any) -> Message:
    return Message(**{name: row._mapping[name] for name in Message.__dataclass_fields__})


def _attempt(row: Any) -> Attempt:
    return Attempt(**{name: row._mapping[name] for name in Attempt.__dataclass_fields__})


async def insert_message(
    session: AsyncSession,
    *,
    topic: str,
    url: str,
    body: str,
    idempotency_key: str,
    now: datetime,
) -> tuple[int, bool]:
    """Insert a pending message unless its idempotency key exists; returns (id, created).

    ``ON CONFLICT DO NOTHING`` rather than catching the unique violation, because on
    PostgreSQL a failed statement would poison the caller's whole transaction.
    """
    values = {
        "topic": topic,
        "url": url,
        "body": body,
        "idempotency_key": idempotency_key,
        "status": PENDING,
        "attempts": 0,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        builder(outbox_messages)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(outbox_messages.c.id)
    )
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    if new_id is not None:
        return int(new_id), True
    existing = await session.execute(
        select(outbox_messages.c.id).where(outbox_messages.c.idempotency_key == idempotency_key)
    )
    return int(existing.scalar_one()), False


async def get_message(session: AsyncSession, message_id: int) -> Message | None:
    """The message, or None."""
    row = (
        await session.execute(select(outbox_messages).where(outbox_messages.c.id == message_id))
    ).first()
    return _message(row) if row else None


async def list_messages(
    session: AsyncSession,
    *,
    status: str | None = None,
    topic: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Message]:
    """Messages, newest first, optionally filtered; ``before_id`` pages backwards."""
    stmt = select(outbox_messages).order_by(outbox_messages.c.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(outbox_messages.c.status == status)
    if topic is not None:
        stmt = stmt.where(outbox_messages.c.topic == topic)
    if before_id is not None:
        stmt = stmt.where(outbox_messages.c.id < before_id)
    return [_message(row) for row in (await session.execute(stmt)).all()]


async def list_attempts(session: AsyncSession, message_id: int) -> list[Attempt]:
    """Every attempt for a message, oldest first."""
    stmt = (
        select(outbox_attempts)
        .where(outbox_attempts.c.message_id == message_id)
        .order_by(outbox_attempts.c.attempt, outbox_attempts.c.id)
    )
    return [_attempt(row) for row in (await session.execute(stmt)).all()]


async def record_attempt(
    session: AsyncSession,
    message_id: int,
    *,
    at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    response_excerpt: str | None,
) -> int:
    """Log one attempt and bump the message's counters; returns the attempt number."""
    updated = await session.execute(
        update(outbox_messages)
        .where(outbox_messages.c.id == message_id)
        .values(
            attempts=outbox_messages.c.attempts + 1,
            last_status_code=status_code,
            last_error=error,
        )
        .returning(outbox_messages.c.attempts)
    )
    number = int(updated.scalar_one())
    await session.execute(
        insert(outbox_attempts).values(
            message_id=message_id,
            attempt=number,
            at=at,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
            response_excerpt=response_excerpt,
        )
    )
    return number


async def set_status(
    session: AsyncSession,
    message_id: int,
    status: str,
    *,
    delivered_at: datetime | None = None,
    only_if: str | None = None,
) -> bool:
    """Move a message to ``status``; with ``only_if``, only from that status. True if changed."""
    stmt = (
        update(outbox_messages)
        .where(outbox_messages.c.id == message_id)
        .values(status=status, delivered_at=delivered_at)
    )
    if only_if is not None:
        stmt = stmt.where(outbox_messages.c.status == only_if)
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    """Number of messages per status (every known status present, zero if none)."""
    rows = await session.execute(
        select(outbox_messages.c.status, func.count()).group_by(outbox_messages.c.status)
    )
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({str(status): int(count) for status, count in rows.all()})
    return counts
