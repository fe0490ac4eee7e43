"""Alembic environment: migrations always run on a connection handed in by migrate.py."""

from __future__ import annotations

from alembic import context

from exocomms.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through a misconfigured call
    raise RuntimeError("run migrations through exocomms.storage.migrate.upgrade()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch ALTERs
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
