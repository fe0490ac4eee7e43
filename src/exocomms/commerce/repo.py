"""SQL for ``commerce_events``: inbound webhooks, each recorded once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.storage.tables import commerce_events


@dataclass(frozen=True)
class StoredEvent:
    """One accepted inbound event."""

    id: int
    event_key: str
    event: str
    domain_event: str
    order_id: str | None
    payload: dict[str, Any]
    signed_at: datetime
    received_at: datetime


async def insert_event(
    session: AsyncSession,
    *,
    event_key: str,
    event: str,
    domain_event: str,
    order_id: str | None,
    payload: dict[str, Any],
    signed_at: datetime,
    received_at: datetime,
) -> tuple[int, bool]:
    """Record an event unless its key exists; returns (id, created).

    ``ON CONFLICT DO NOTHING`` because a failed INSERT would abort a PostgreSQL transaction;
    a concurrent duplicate waits for the first transaction and then sees the conflict.
    """
    builder = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        builder(commerce_events)
        .values(
            event_key=event_key,
            event=event,
            domain_event=domain_event,
            order_id=order_id,
            payload=payload,
            signed_at=signed_at,
            received_at=received_at,
        )
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(commerce_events.c.id)
    )
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    if new_id is not None:
        return int(new_id), True
    existing = await session.execute(
        select(commerce_events.c.id).where(commerce_events.c.event_key == event_key)
    )
    return int(existing.scalar_one()), False


async def list_events(
    session: AsyncSession, *, order_id: str | None = None, limit: int = 100
) -> list[StoredEvent]:
    """Events, oldest first, optionally of one order."""
    stmt = select(commerce_events).order_by(commerce_events.c.id).limit(limit)
    if order_id is not None:
        stmt = stmt.where(commerce_events.c.order_id == order_id)
    rows = (await session.execute(stmt)).all()
    return [
        StoredEvent(**{name: row._mapping[name] for name in StoredEvent.__dataclass_fields__})
        for row in rows
    ]
