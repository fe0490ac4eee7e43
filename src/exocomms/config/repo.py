"""SQL for run-time configuration: sections, their audit trail, encrypted secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.storage.tables import config_audit, config_entries, stored_secrets

Fingerprint = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Entry:
    """One stored section."""

    section: str
    value: dict[str, Any]
    version: int
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class AuditRow:
    """One change."""

    id: int
    at: datetime
    actor: str
    section: str
    before: Any
    after: Any


@dataclass(frozen=True)
class SecretRow:
    """One stored secret (still encrypted)."""

    name: str
    ciphertext: str
    key_id: str
    updated_at: datetime
    updated_by: str


async def fingerprint(session: AsyncSession) -> Fingerprint:
    """``(section, version)`` of every stored section: changes whenever any section does."""
    rows = await session.execute(
        select(config_entries.c.section, config_entries.c.version).order_by(
            config_entries.c.section
        )
    )
    return tuple((str(section), int(version)) for section, version in rows)


async def load_entries(session: AsyncSession) -> dict[str, Entry]:
    """Every stored section, by name."""
    rows = await session.execute(select(config_entries))
    return {row.section: Entry(**row._mapping) for row in rows}


async def lock_entry(
    session: AsyncSession, section: str, default: dict[str, Any], at: datetime
) -> Entry:
    """The section's row, locked for this transaction (created with ``default`` if missing).

    Creating first with ``ON CONFLICT DO NOTHING`` means two first writers of a section cannot
    collide on the primary key; the row lock then serialises their read-merge-write.
    """
    values = {
        "section": section,
        "value": default,
        "version": 0,
        "updated_at": at,
        "updated_by": "default",
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(config_entries).values(values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(config_entries).values(values).on_conflict_do_nothing()
    await session.execute(stmt)
    row = (
        await session.execute(
            select(config_entries).where(config_entries.c.section == section).with_for_update()
        )
    ).one()
    return Entry(**row._mapping)


async def save_entry(
    session: AsyncSession, section: str, value: dict[str, Any], at: datetime, actor: str
) -> int:
    """Store a section's new value; returns its new version."""
    await session.execute(
        update(config_entries)
        .where(config_entries.c.section == section)
        .values(
            value=value,
            version=config_entries.c.version + 1,
            updated_at=at,
            updated_by=actor,
        )
    )
    version = await session.scalar(
        select(config_entries.c.version).where(config_entries.c.section == section)
    )
    return int(version or 0)


async def add_audit(
    session: AsyncSession, *, at: datetime, actor: str, section: str, before: Any, after: Any
) -> None:
    """Record one change."""
    await session.execute(
        insert(config_audit).values(at=at, actor=actor, section=section, before=before, after=after)
    )


async def list_audit(
    session: AsyncSession, *, section: str | None, before_id: int | None, limit: int
) -> list[AuditRow]:
    """Changes, newest first."""
    stmt = select(config_audit).order_by(config_audit.c.id.desc()).limit(limit)
    if section is not None:
        stmt = stmt.where(config_audit.c.section == section)
    if before_id is not None:
        stmt = stmt.where(config_audit.c.id < before_id)
    rows = await session.execute(stmt)
    return [AuditRow(**row._mapping) for row in rows]


async def list_secrets(session: AsyncSession) -> dict[str, SecretRow]:
    """Every stored secret, by name."""
    rows = await session.execute(select(stored_secrets))
    return {row.name: SecretRow(**row._mapping) for row in rows}


async def get_secrets(session: AsyncSession, names: list[str]) -> dict[str, SecretRow]:
    """The stored secrets among ``names``."""
    rows = await session.execute(select(stored_secrets).where(stored_secrets.c.name.in_(names)))
    return {row.name: SecretRow(**row._mapping) for row in rows}


async def put_secret(
    session: AsyncSession, *, name: str, ciphertext: str, key_id: str, at: datetime, actor: str
) -> None:
    """Insert or replace one secret."""
    values = {
        "name": name,
        "ciphertext": ciphertext,
        "key_id": key_id,
        "updated_at": at,
        "updated_by": actor,
    }
    changed = {k: v for k, v in values.items() if k != "name"}
    if session.get_bind().dialect.name == "postgresql":
        stmt: Any = postgresql.insert(stored_secrets).values(values)
        stmt = stmt.on_conflict_do_update(index_elements=["name"], set_=changed)
    else:
        stmt = sqlite.insert(stored_secrets).values(values)
        stmt = stmt.on_conflict_do_update(index_elements=["name"], set_=changed)
    await session.execute(stmt)


async def delete_secret(session: AsyncSession, name: str) -> bool:
    """Remove one secret; False when it was not stored."""
    result = await session.execute(delete(stored_secrets).where(stored_secrets.c.name == name))
    return bool(getattr(result, "rowcount", 0))
