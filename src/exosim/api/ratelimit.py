"""Per-account request limits: 200/min for voice APIs and, separately, for SMS APIs.

EXOTEL.md §1.8 documents the limits and the 429; the window shape is not documented, so this
is a sliding 60-second window measured on the emulator clock (manual clocks free it by
advancing time).
"""

from __future__ import annotations

from collections import deque
from datetime import timedelta
from typing import Literal

from exosim.clock import SimClock
from exosim.model import Account

LimitKind = Literal["voice", "sms"]
WINDOW = timedelta(seconds=60)


class RateLimiter:
    """Remembers when each account used each API family during the last minute."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._hits: dict[tuple[str, LimitKind], deque[float]] = {}

    def allow(self, account: Account, kind: LimitKind) -> bool:
        """Count one request; False (and not counted) when the account is over its limit."""
        limit = account.voice_per_minute if kind == "voice" else account.sms_per_minute
        now = self._clock.now().timestamp()
        hits = self._hits.setdefault((account.sid, kind), deque())
        while hits and hits[0] <= now - WINDOW.total_seconds():
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True

    def reset(self) -> None:
        """Forget every request (after ``/_exosim/reset`` or a limit change)."""
        self._hits.clear()
