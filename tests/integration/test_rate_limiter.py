"""The database-backed rate limiter keeps every 60 s window within Exotel's limit."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from exocomms.clock import ManualClock
from exocomms.errors import RateLimited
from exocomms.storage.db import Database
from exocomms.telephony.ratelimit import DatabaseRateLimiter, Limit


def _max_in_any_window(times: list[datetime], window: timedelta) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_reservations_never_exceed_the_limit_in_any_minute(db: Database) -> None:
    clock = ManualClock()
    limiter = DatabaseRateLimiter(db, clock, {"voice": Limit(per_minute=20)}, max_wait_seconds=3600)
    slots = [await limiter.reserve("voice") for _ in range(70)]
    assert slots == sorted(slots)
    assert slots[0] == clock.now()  # the first request goes at once
    assert _max_in_any_window(slots, timedelta(seconds=60)) <= 20
    # ... and the limiter does not waste capacity: 70 requests fit in under 4 minutes.
    assert slots[-1] - slots[0] < timedelta(minutes=4)


async def test_concurrent_reservers_get_distinct_slots(db: Database) -> None:
    clock = ManualClock()
    limiter = DatabaseRateLimiter(db, clock, {"sms": Limit(per_minute=200)}, max_wait_seconds=3600)
    slots = await asyncio.gather(*(limiter.reserve("sms") for _ in range(250)))
    assert len(set(slots)) == len(slots) - (Limit(200).effective_burst - 1)
    assert _max_in_any_window(list(slots), timedelta(seconds=60)) <= 200


async def test_a_slot_too_far_away_is_refused_and_not_reserved(db: Database) -> None:
    clock = ManualClock()
    limiter = DatabaseRateLimiter(
        db, clock, {"voice": Limit(per_minute=3, burst=1)}, max_wait_seconds=45
    )
    await limiter.reserve("voice")  # now
    second = await limiter.reserve("voice")  # +30 s
    assert second - clock.now() == timedelta(seconds=30)
    with pytest.raises(RateLimited) as caught:
        await limiter.reserve("voice")  # +60 s > 45 s
    assert caught.value.retry_after == pytest.approx(60)
    clock.advance(31)
    third = await limiter.reserve("voice")
    assert third - clock.now() == timedelta(seconds=29)  # the refused try took nothing


async def test_acquire_waits_on_the_clock(db: Database) -> None:
    clock = ManualClock()
    limiter = DatabaseRateLimiter(db, clock, {"voice": Limit(per_minute=3, burst=1)})
    await limiter.acquire("voice")
    waiter = asyncio.create_task(limiter.acquire("voice"))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    clock.advance(30)
    await asyncio.wait_for(waiter, 5)
