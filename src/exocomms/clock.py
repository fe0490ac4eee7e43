"""Injectable time for the service, so tests and the demo can run minutes in seconds.

Everything that decides *when* (job ``run_at``, leases, ladder steps, timing rules) reads
:meth:`Clock.now` and waits with :meth:`Clock.sleep`; nothing calls ``datetime.now`` directly.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the service needs from time."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    @property
    def scale(self) -> float:
        """Clock seconds per real second (1 for wall time, 0 for a manual clock)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of clock time (returns early if the clock is advanced past it)."""
        ...


class SystemClock:
    """Wall-clock time."""

    scale = 1.0

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Sleep in real time."""
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Time that runs ``scale`` times faster than the wall, from ``start`` (default: now).

    The demo runs the service and exosim on two scaled clocks with the same anchor and scale,
    so both agree on what time it is.
    """

    def __init__(self, scale: float, start: datetime | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale
        self._anchor_real = time.monotonic()
        self._anchor = start or datetime.now(UTC)

    def now(self) -> datetime:
        """Current scaled time."""
        return self._anchor + timedelta(seconds=(time.monotonic() - self._anchor_real) * self.scale)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of scaled time."""
        await asyncio.sleep(max(0.0, seconds) / self.scale)


class ManualClock:
    """Time that moves only when a test calls :meth:`advance` or :meth:`set`."""

    scale = 0.0

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 4, 30, tzinfo=UTC)  # 10:00 IST, a Monday
        self._changed = asyncio.Event()

    def now(self) -> datetime:
        """The frozen current time."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (forwards only)."""
        if when < self._now:
            raise ValueError("a manual clock only moves forward")
        self._now = when
        self._changed.set()
        self._changed = asyncio.Event()

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds``."""
        self.set(self._now + timedelta(seconds=seconds))

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by ``seconds``."""
        deadline = self._now + timedelta(seconds=max(0.0, seconds))
        while self._now < deadline:
            await self._changed.wait()


def utcnow_real() -> datetime:
    """Wall time, for things that must not follow a test clock (log timestamps)."""
    return datetime.now(UTC)
