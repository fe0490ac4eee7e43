"""Run Alembic migrations programmatically (``exocomms migrate``, and at serve/demo start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from exocomms.storage.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary constant: serialises concurrent `migrate` runs of several processes on PostgreSQL.
_PG_MIGRATION_LOCK = 0x65786F63


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, url: str, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` in one transaction (safe to run concurrently)."""
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade, db.url, revision)
