"""A rate limiter shared by every process through the database (GCRA).

Exotel allows 200 calls/min and 200 SMS/min per account, across every process of the
deployment. Each bucket keeps one row: the *theoretical arrival time* (TAT) of the next
request. A request reserves the slot at ``max(TAT, now)`` and waits until it is due, so
callers are served in order and any 60-second window holds at most ``per_minute`` requests:
the rate is ``(per_minute - burst) / 60`` per second plus a burst of ``burst``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from exocomms.clock import Clock
from exocomms.errors import RateLimited
from exocomms.storage.db import Database
from exocomms.storage.tables import rate_limit_buckets


@dataclass(frozen=True)
class Limit:
    """``per_minute`` requests in any 60 s window, of which ``burst`` may come at once."""

    per_minute: int
    burst: int = 0  # 0 → per_minute // 20 (at least 1)

    @property
    def effective_burst(self) -> int:
        """The burst actually allowed."""
        return self.burst or max(1, self.per_minute // 20)

    @property
    def interval(self) -> timedelta:
        """Spacing between requests after the burst."""
        steady = max(1, self.per_minute - self.effective_burst)
        return timedelta(seconds=60.0 / steady)


EXOTEL_LIMITS = {"voice": Limit(200), "sms": Limit(200)}


class DatabaseRateLimiter:
    """Reserve-then-wait limiter; the reservation is one short transaction."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        limits: dict[str, Limit] | None = None,
        *,
        prefix: str = "exotel",
        max_wait_seconds: float = 30.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self._limits = limits or dict(EXOTEL_LIMITS)
        self._prefix = prefix
        self._max_wait = timedelta(seconds=max_wait_seconds)

    async def reserve(self, bucket: str) -> datetime:
        """Reserve the next slot of ``bucket``; returns when it may be used.

        Raises:
            RateLimited: the slot is further away than ``max_wait_seconds`` (nothing reserved).
        """
        limit = self._limits[bucket]
        name = f"{self._prefix}:{bucket}"
        tolerance = limit.interval * (limit.effective_burst - 1)
        now = self._clock.now()
        async with self._db.transaction() as session:
            insert = pg_insert if self._db.dialect == "postgresql" else sqlite_insert
            await session.execute(
                insert(rate_limit_buckets).values(name=name, tat=now).on_conflict_do_nothing()
            )
            query = select(rate_limit_buckets.c.tat).where(rate_limit_buckets.c.name == name)
            if self._db.dialect == "postgresql":
                query = query.with_for_update()
            stored: datetime = (await session.execute(query)).scalar_one()
            tat = max(stored, now)
            allowed_at = tat - tolerance
            if allowed_at - now > self._max_wait:
                wait = (allowed_at - now).total_seconds()
                raise RateLimited(
                    f"{bucket} rate limit: next slot in {wait:.1f} s", retry_after=wait
                )
            await session.execute(
                update(rate_limit_buckets)
                .where(rate_limit_buckets.c.name == name)
                .values(tat=tat + limit.interval)
            )
        return max(allowed_at, now)

    async def acquire(self, bucket: str) -> None:
        """Reserve a slot and wait (on the clock) until it is due."""
        due = await self.reserve(bucket)
        delay = (due - self._clock.now()).total_seconds()
        if delay > 0:
            await self._clock.sleep(delay)
