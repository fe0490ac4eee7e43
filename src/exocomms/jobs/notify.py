"""Waking idle workers when a job is enqueued.

In-process: :class:`Wakeup` sets every subscribed worker's event after the enqueuing transaction
commits (SQLite and PostgreSQL). Across processes on PostgreSQL: ``NOTIFY exocomms_jobs`` is
sent inside the enqueuing transaction (so it is delivered only at commit) and each worker keeps a
LISTEN connection. Across processes on SQLite there is no signal; workers fall back to polling
(``job_poll_seconds``) and to sleeping until the earliest known ``run_at``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog

from exocomms.storage.db import Database

CHANNEL = "exocomms_jobs"
_RECONNECT_SECONDS = 1.0

log = structlog.get_logger(__name__)


class Wakeup:
    """Fan-out of "new work" to the workers of this process."""

    def __init__(self) -> None:
        self._subscribers: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}

    def subscribe(self) -> asyncio.Event:
        """A new event, set on every :meth:`notify`, bound to the running loop."""
        event = asyncio.Event()
        self._subscribers[event] = asyncio.get_running_loop()
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        """Stop notifying ``event``."""
        self._subscribers.pop(event, None)

    def notify(self) -> None:
        """Wake every subscriber (safe from any thread and any loop)."""
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for event, loop in list(self._subscribers.items()):
            if loop is current:
                event.set()
            elif not loop.is_closed():
                # Another loop (a worker thread, a test harness): asyncio.Event is not thread-safe.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(event.set)


def _psycopg_connect_kwargs(db: Database) -> dict[str, Any]:
    """libpq parameters for a raw psycopg connection to the same database as ``db``."""
    url = db.engine.url
    _args, kwargs = db.engine.dialect.create_connect_args(url)
    return dict(kwargs)


async def listen_postgres(db: Database, wake: Callable[[], None]) -> None:
    """LISTEN on :data:`CHANNEL` forever, calling ``wake`` on every notification.

    Reconnects after errors (calling ``wake`` then, since notifications may have been missed).
    Cancel the task to stop.
    """
    import psycopg

    kwargs = _psycopg_connect_kwargs(db)
    while True:
        conn: Any = None
        try:
            conn = await psycopg.AsyncConnection.connect(autocommit=True, **kwargs)
            await conn.execute(f"LISTEN {CHANNEL}")
            wake()  # anything enqueued while we were not listening
            async for _notification in conn.notifies():
                wake()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a lost connection must not kill the worker; polling covers us
            log.warning("jobs.listen_failed", error=str(exc))
            await asyncio.sleep(_RECONNECT_SECONDS)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
