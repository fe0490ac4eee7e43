"""SQL for messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.storage.tables import messages


async def insert_message(session: AsyncSession, values: dict[str, Any]) -> None:
    """Add a message row."""
    await session.execute(messages.insert().values(**values))


async def get_message(
    session: AsyncSession, *, message_id: str | None = None, sid: str | None = None
) -> dict[str, Any] | None:
    """One message by our id or by the provider's sid (locked on PostgreSQL)."""
    query = select(messages)
    if message_id is not None:
        query = query.where(messages.c.id == message_id)
    elif sid is not None:
        query = query.where(messages.c.provider_sid == sid)
    else:
        raise ValueError("message_id or sid is required")
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def update_message(session: AsyncSession, message_id: str, values: dict[str, Any]) -> None:
    """Change columns of one message."""
    await session.execute(update(messages).where(messages.c.id == message_id).values(**values))


async def latest_whatsapp_to(session: AsyncSession, phone: str) -> dict[str, Any] | None:
    """The newest WhatsApp message sent to ``phone`` (replies are matched to it)."""
    query = (
        select(messages)
        .where(messages.c.channel == "whatsapp", messages.c.to_number == phone)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(1)
    )
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def list_for_order(session: AsyncSession, order_id: str) -> list[dict[str, Any]]:
    """An order's messages, oldest first."""
    query = select(messages).where(messages.c.order_id == order_id).order_by(messages.c.created_at)
    return [dict(row) for row in (await session.execute(query)).mappings()]
