"""Fixtures shared by every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exocomms.storage.db import Database
from tests.support.db import fresh_database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh, migrated database (SQLite, or PostgreSQL with EXOCOMMS_TEST_DATABASE_URL)."""
    async with fresh_database(tmp_path) as database:
        yield database
