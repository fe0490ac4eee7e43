"""SQL for API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.storage.tables import api_keys


@dataclass(frozen=True)
class KeyRow:
    """One stored key (its hash, never the key)."""

    id: int
    name: str
    prefix: str
    hash: str
    scopes: list[str]
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


def _row(mapping: Any) -> KeyRow:
    return KeyRow(**dict(mapping))


async def insert_key(
    session: AsyncSession,
    *,
    name: str,
    prefix: str,
    key_hash: str,
    scopes: list[str],
    at: datetime,
    actor: str,
) -> KeyRow:
    """Store a new key."""
    result = await session.execute(
        insert(api_keys)
        .values(
            name=name, prefix=prefix, hash=key_hash, scopes=scopes, created_at=at, created_by=actor
        )
        .returning(*api_keys.c)
    )
    return _row(result.one()._mapping)


async def by_prefix(session: AsyncSession, prefix: str) -> list[KeyRow]:
    """Keys with this lookup prefix (normally one)."""
    rows = await session.execute(select(api_keys).where(api_keys.c.prefix == prefix))
    return [_row(row._mapping) for row in rows]


async def get_key(session: AsyncSession, key_id: int) -> KeyRow | None:
    """One key by id."""
    row = (await session.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
    return _row(row._mapping) if row is not None else None


async def list_keys(session: AsyncSession, *, include_revoked: bool) -> list[KeyRow]:
    """Every key, oldest first."""
    stmt = select(api_keys).order_by(api_keys.c.id)
    if not include_revoked:
        stmt = stmt.where(api_keys.c.revoked_at.is_(None))
    return [_row(row._mapping) for row in await session.execute(stmt)]


async def revoke(session: AsyncSession, key_id: int, at: datetime) -> None:
    """Mark a key revoked (keeps the first revocation time)."""
    await session.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def touch(session: AsyncSession, key_id: int, at: datetime) -> None:
    """Record a use."""
    await session.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=at))
