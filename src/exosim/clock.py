"""Emulator time: real, scaled (e.g. 60 sim seconds per real second) or manual.

Every timeout in exosim (ringing, gather input, time limits, callback delays) sleeps on this
clock, so a test can advance it or a demo can run a 5-minute ladder in 5 seconds.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Literal

ClockMode = Literal["real", "scaled", "manual"]


class SimClock:
    """A clock whose rate can change while sleepers wait on it.

    Sleepers re-check their deadline whenever the clock changes (scale set, manual advance),
    so changing the clock never strands a waiting call.
    """

    def __init__(self, scale: float = 1.0, start: datetime | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self._mode: ClockMode = "real" if scale == 1.0 and start is None else "scaled"
        self._scale = scale
        self._anchor_real = time.monotonic()
        self._anchor_sim = start or datetime.now(UTC)
        self._changed = asyncio.Event()

    # -- reading -------------------------------------------------------------------------
    @property
    def mode(self) -> ClockMode:
        """``real``, ``scaled`` or ``manual``."""
        return self._mode

    @property
    def scale(self) -> float:
        """Simulated seconds per real second (0 when manual)."""
        return 0.0 if self._mode == "manual" else self._scale

    def now(self) -> datetime:
        """Current simulated time, timezone-aware UTC."""
        if self._mode == "manual":
            return self._anchor_sim
        elapsed = (time.monotonic() - self._anchor_real) * self._scale
        return self._anchor_sim + timedelta(seconds=elapsed)

    # -- changing ------------------------------------------------------------------------
    def _rebase(self) -> None:
        self._anchor_sim = self.now()
        self._anchor_real = time.monotonic()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def set_scale(self, scale: float) -> None:
        """Run in real or accelerated time from now on (scale 1 is real time)."""
        if scale <= 0:
            raise ValueError("scale must be positive")
        self._rebase()
        self._scale = scale
        self._mode = "real" if scale == 1.0 else "scaled"
        self._notify()

    def set_manual(self, at: datetime | None = None) -> None:
        """Freeze time (optionally at ``at``); only :meth:`advance` moves it afterwards."""
        self._anchor_sim = at or self.now()
        self._anchor_real = time.monotonic()
        self._mode = "manual"
        self._notify()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` in any mode, waking sleepers that become due."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._rebase()
        self._anchor_sim += timedelta(seconds=seconds)
        self._notify()

    # -- waiting -------------------------------------------------------------------------
    async def sleep_until(self, deadline: datetime) -> None:
        """Wait until simulated time reaches ``deadline``."""
        while True:
            remaining = (deadline - self.now()).total_seconds()
            if remaining <= 0:
                return
            changed = self._changed
            timeout = None if self._mode == "manual" else remaining / self._scale
            try:
                await asyncio.wait_for(changed.wait(), timeout=timeout)
            except TimeoutError:
                continue

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time."""
        await self.sleep_until(self.now() + timedelta(seconds=max(0.0, seconds)))
