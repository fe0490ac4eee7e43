"""The storage layer: migrations, SQLite tuning, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, inspect, select, text

from exocomms.storage.db import Database
from exocomms.storage.tables import jobs


async def test_migrations_create_foundation_tables(db: Database) -> None:
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"jobs", "outbox_messages", "outbox_attempts", "alembic_version"} <= names


async def test_sqlite_is_tuned_for_a_service(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("SQLite only")
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 30000


async def test_timestamps_round_trip_as_aware_utc(db: Database) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    at = datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=ist)
    async with db.transaction() as session:
        await session.execute(
            insert(jobs).values(
                kind="k",
                payload={},
                status="pending",
                priority=0,
                run_at=at,
                attempts=0,
                max_attempts=1,
                created_at=at,
                updated_at=at,
            )
        )
    async with db.transaction() as session:
        stored = (await session.execute(select(jobs.c.run_at))).scalar_one()
    assert stored == at
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored.astimezone(UTC).hour == 4


async def test_naive_datetimes_are_refused(db: Database) -> None:
    naive = datetime(2026, 3, 1, 10, 0)
    with pytest.raises(Exception, match="naive datetime"):
        async with db.transaction() as session:
            await session.execute(
                insert(jobs).values(
                    kind="k",
                    payload={},
                    status="pending",
                    priority=0,
                    run_at=naive,
                    attempts=0,
                    max_attempts=1,
                    created_at=naive,
                    updated_at=naive,
                )
            )


async def test_migrations_match_the_declared_tables(db: Database) -> None:
    """Every table/column/index in ``tables.metadata`` is created by a migration, and no more."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from exocomms.storage.tables import metadata

    def _diff(conn: object) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": False})  # type: ignore[arg-type]
        return [
            d
            for d in compare_metadata(context, metadata)
            if d[0] != "remove_table" or d[1].name != "alembic_version"
        ]

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []
