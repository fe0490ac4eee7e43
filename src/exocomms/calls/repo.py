"""SQL for calls: the ``voice_calls`` row and its deduplicated ``call_events``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.storage.tables import call_events, voice_calls


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _insert_for(session: AsyncSession) -> Any:
    return pg_insert if _dialect(session) == "postgresql" else sqlite_insert


async def insert_call(session: AsyncSession, values: dict[str, Any]) -> None:
    """Add a call row (``values`` holds every non-null column)."""
    await session.execute(voice_calls.insert().values(**values))


async def get_call(
    session: AsyncSession,
    *,
    call_id: str | None = None,
    call_sid: str | None = None,
    lock: bool = False,
) -> dict[str, Any] | None:
    """One call by our id or by the provider's sid, optionally locked for update."""
    query = select(voice_calls)
    if call_id is not None:
        query = query.where(voice_calls.c.id == call_id)
    elif call_sid is not None:
        query = query.where(voice_calls.c.call_sid == call_sid)
    else:
        raise ValueError("call_id or call_sid is required")
    if lock and _dialect(session) == "postgresql":
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def update_call(session: AsyncSession, call_id: str, values: dict[str, Any]) -> None:
    """Change columns of one call."""
    await session.execute(update(voice_calls).where(voice_calls.c.id == call_id).values(**values))


async def record_event(
    session: AsyncSession,
    *,
    call_id: str,
    dedupe_key: str,
    kind: str,
    source: str,
    status: str | None,
    payload: dict[str, Any],
    at: datetime,
) -> bool:
    """Log an event; False when an event with the same key was already logged (a replay)."""
    statement = (
        _insert_for(session)(call_events)
        .values(
            call_id=call_id,
            dedupe_key=dedupe_key[:255],
            kind=kind,
            source=source,
            status=status,
            payload=payload,
            at=at,
        )
        .on_conflict_do_nothing(index_elements=["call_id", "dedupe_key"])
        .returning(call_events.c.id)
    )
    return (await session.execute(statement)).first() is not None


async def list_events(session: AsyncSession, call_id: str) -> list[dict[str, Any]]:
    """A call's events in the order they were applied."""
    query = select(call_events).where(call_events.c.call_id == call_id).order_by(call_events.c.id)
    return [dict(row) for row in (await session.execute(query)).mappings()]


async def queued_unplaced(
    session: AsyncSession, *, escalation_id: str | None = None, order_id: str | None = None
) -> list[str]:
    """Ids of queued calls without a provider sid, for an escalation and/or an order."""
    # A call whose dial was already committed (initiated_at set) is past the point of no
    # return: the ack is ordered after it.
    query = select(voice_calls.c.id).where(
        voice_calls.c.status == "queued",
        voice_calls.c.call_sid.is_(None),
        voice_calls.c.initiated_at.is_(None),
    )
    if escalation_id is not None:
        query = query.where(voice_calls.c.escalation_id == escalation_id)
    if order_id is not None:
        query = query.where(voice_calls.c.order_id == order_id)
    return [str(row) for row in (await session.execute(query)).scalars()]


async def get_event(session: AsyncSession, call_id: str, dedupe_key: str) -> dict[str, Any] | None:
    """The logged event of a call with ``dedupe_key`` (what a replay gets back), if any."""
    query = select(call_events).where(
        call_events.c.call_id == call_id, call_events.c.dedupe_key == dedupe_key[:255]
    )
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def list_calls(
    session: AsyncSession,
    *,
    order_id: str | None = None,
    phone: str | None = None,
    status: str | None = None,
    purpose: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Calls, newest first, filtered by order, phone, status and purpose."""
    query = select(voice_calls).order_by(voice_calls.c.created_at.desc(), voice_calls.c.id)
    if order_id is not None:
        query = query.where(voice_calls.c.order_id == order_id)
    if phone is not None:
        query = query.where(voice_calls.c.phone == phone)
    if status is not None:
        query = query.where(voice_calls.c.status == status)
    if purpose is not None:
        query = query.where(voice_calls.c.purpose == purpose)
    return [dict(row) for row in (await session.execute(query.limit(limit))).mappings()]


async def call_stats(session: AsyncSession) -> dict[str, dict[str, int]]:
    """Counts of calls by status and by outcome (no outcome yet counts as ``none``)."""
    out: dict[str, dict[str, int]] = {}
    for column in ("status", "outcome"):
        col = voice_calls.c[column]
        rows = await session.execute(select(col, func.count()).group_by(col))
        out[column] = {"none" if key is None else str(key): int(n) for key, n in rows.all()}
    return out
