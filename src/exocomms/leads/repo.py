"""SQL for leads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.storage.tables import leads


def _pg(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def lock_phone(session: AsyncSession, phone: str) -> None:
    """Serialise lead creation per phone until commit (PostgreSQL; SQLite has one writer)."""
    if _pg(session):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"lead:{phone}"}
        )


async def insert_lead(session: AsyncSession, values: dict[str, Any]) -> int:
    """Add a lead; returns its id."""
    result = await session.execute(insert(leads).values(**values).returning(leads.c.id))
    return int(result.scalar_one())


async def get(session: AsyncSession, lead_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    """One lead, optionally locked for update."""
    query = select(leads).where(leads.c.id == lead_id)
    if lock and _pg(session):
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def by_call_id(session: AsyncSession, call_id: str) -> dict[str, Any] | None:
    """The lead whose current attempt is ``call_id`` (locked)."""
    query = select(leads).where(leads.c.call_id == call_id)
    if _pg(session):
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def recent_by_phone(
    session: AsyncSession, phone: str, since: datetime
) -> dict[str, Any] | None:
    """The newest lead with ``phone`` created at or after ``since``."""
    query = (
        select(leads)
        .where(leads.c.phone == phone, leads.c.created_at >= since)
        .order_by(leads.c.id.desc())
        .limit(1)
    )
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def change(session: AsyncSession, lead_id: int, values: dict[str, Any]) -> None:
    """Update columns of one lead."""
    await session.execute(update(leads).where(leads.c.id == lead_id).values(**values))


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    """Leads per status (only statuses present)."""
    rows = await session.execute(select(leads.c.status, func.count()).group_by(leads.c.status))
    return {str(status): int(n) for status, n in rows.all()}
