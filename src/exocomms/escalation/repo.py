"""SQL for ladders, escalations and timeline entries (no decisions here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.escalation.model import Escalation, Ladder
from exocomms.storage.tables import escalations, ladders, timeline_entries

ALL_CITIES = ""  # ``ladders.city`` for a ladder that applies everywhere


# --- ladders ---


async def current_ladders(session: AsyncSession, event_type: str) -> list[Ladder]:
    """The newest stored version of ``event_type``'s ladder per city (none stored: empty)."""
    newest = (
        select(ladders.c.city, func.max(ladders.c.version).label("version"))
        .where(ladders.c.event_type == event_type)
        .group_by(ladders.c.city)
        .subquery()
    )
    rows = await session.execute(
        select(ladders.c.definition, ladders.c.version, ladders.c.city)
        .join(
            newest,
            (ladders.c.city == newest.c.city) & (ladders.c.version == newest.c.version),
        )
        .where(ladders.c.event_type == event_type)
    )
    out = []
    for definition, version, city in rows.all():
        data = dict(definition)
        data.update(version=version, city=city or None, event_type=event_type)
        out.append(Ladder.from_dict(data))
    return out


async def ladder_row(
    session: AsyncSession, event_type: str, city: str | None
) -> dict[str, Any] | None:
    """The newest stored row for ``(event_type, city)``, or None."""
    row = (
        await session.execute(
            select(ladders)
            .where(ladders.c.event_type == event_type, ladders.c.city == (city or ALL_CITIES))
            .order_by(ladders.c.version.desc())
            .limit(1)
        )
    ).first()
    return dict(row._mapping) if row else None


async def insert_ladder(
    session: AsyncSession, ladder: Ladder, now: datetime, updated_by: str | None
) -> None:
    """Store a ladder version (the unique constraint refuses a concurrent duplicate)."""
    await session.execute(
        insert(ladders).values(
            event_type=ladder.event_type,
            city=ladder.city or ALL_CITIES,
            version=ladder.version,
            definition=ladder.to_dict(),
            updated_at=now,
            updated_by=updated_by,
        )
    )


# --- escalations ---


async def get(
    session: AsyncSession, escalation_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    """The escalation row, locked ``FOR UPDATE`` when asked (SQLite serialises anyway)."""
    stmt = select(escalations).where(escalations.c.id == escalation_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


def state_columns(esc: Escalation, now: datetime) -> dict[str, Any]:
    """The columns that mirror the pure escalation (so SQL can filter on them)."""
    return {
        "status": esc.status.value,
        "fence": esc.fence,
        "state": esc.to_dict(),
        "updated_at": now,
        "ended_at": esc.ended_at,
        "acknowledged_by": esc.acknowledged_by,
        "acknowledged_at": esc.acknowledged_at,
    }


async def insert_escalation(session: AsyncSession, values: dict[str, Any]) -> None:
    """Insert a new escalation row."""
    await session.execute(insert(escalations).values(**values))


async def update_escalation(
    session: AsyncSession, escalation_id: str, values: dict[str, Any]
) -> None:
    """Update columns of one escalation."""
    await session.execute(
        update(escalations).where(escalations.c.id == escalation_id).values(**values)
    )


async def ids_for_order(
    session: AsyncSession,
    order_id: str,
    *,
    party: str | None = None,
    event_types: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
) -> list[str]:
    """Escalation ids of an order, optionally filtered, oldest first."""
    stmt = select(escalations.c.id).where(escalations.c.order_id == order_id)
    if party is not None:
        stmt = stmt.where(escalations.c.party == party)
    if event_types is not None:
        stmt = stmt.where(escalations.c.event_type.in_(list(event_types)))
    if statuses is not None:
        stmt = stmt.where(escalations.c.status.in_(list(statuses)))
    rows = await session.execute(stmt.order_by(escalations.c.started_at, escalations.c.id))
    return [str(r) for r in rows.scalars()]


async def listing(
    session: AsyncSession,
    *,
    status: str | None = None,
    order_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Escalations, newest first."""
    stmt = select(escalations)
    if status is not None:
        stmt = stmt.where(escalations.c.status == status)
    if order_id is not None:
        stmt = stmt.where(escalations.c.order_id == order_id)
    stmt = stmt.order_by(escalations.c.started_at.desc(), escalations.c.id).limit(limit)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


# --- timeline ---


async def add_entry(
    session: AsyncSession,
    *,
    at: datetime,
    kind: str,
    summary: str,
    order_id: str | None = None,
    escalation_id: str | None = None,
    channel: str | None = None,
    actor: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one timeline entry."""
    await session.execute(
        insert(timeline_entries).values(
            order_id=order_id,
            escalation_id=escalation_id,
            at=at,
            kind=kind,
            channel=channel,
            actor=actor,
            summary=summary[:2000],
            data=data or {},
        )
    )


async def entries_for_order(session: AsyncSession, order_id: str) -> list[dict[str, Any]]:
    """Timeline entries of an order, in insertion order."""
    rows = await session.execute(
        select(timeline_entries)
        .where(timeline_entries.c.order_id == order_id)
        .order_by(timeline_entries.c.id)
    )
    return [dict(r._mapping) for r in rows.all()]
