"""A fresh, migrated database per test: SQLite by default, PostgreSQL when asked.

Set ``EXOCOMMS_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test`` to run
on PostgreSQL; each test then gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text

from exocomms.storage.db import Database, create_engine
from exocomms.storage.migrate import upgrade

PG_URL = os.environ.get("EXOCOMMS_TEST_DATABASE_URL", "")


def on_postgres() -> bool:
    """True when the suite runs against PostgreSQL."""
    return bool(PG_URL)


@asynccontextmanager
async def fresh_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database that is thrown away afterwards."""
    if not PG_URL:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        try:
            await upgrade(db)
            yield db
        finally:
            await db.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_URL, pool_size=1, max_overflow=0)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        await upgrade(db)
        yield db
    finally:
        await db.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
