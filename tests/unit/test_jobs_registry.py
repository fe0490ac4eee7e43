"""Backoff, the handler registry, RetryLater and the in-process wake-up (no database)."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exocomms.jobs import Backoff, Job, JobRegistry, RetryLater
from exocomms.jobs.notify import Wakeup
from exocomms.runtime import Runtime


def test_backoff_without_jitter_doubles_from_base_up_to_the_cap() -> None:
    backoff = Backoff(base=5, factor=2, maximum=60, jitter=0)
    assert [backoff.delay(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_backoff_survives_absurd_attempt_numbers() -> None:
    assert Backoff(base=5, factor=10, maximum=3600, jitter=0).delay(10_000) == 3600


@given(
    attempt=st.integers(min_value=1, max_value=60),
    jitter=st.floats(min_value=0, max_value=0.9),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_backoff_jitter_stays_within_its_band(attempt: int, jitter: float, seed: int) -> None:
    backoff = Backoff(base=5, factor=2, maximum=3600, jitter=jitter)
    nominal = min(3600.0, 5 * 2.0 ** (attempt - 1))
    delay = backoff.delay(attempt, random.Random(seed))
    assert nominal * (1 - jitter) - 1e-9 <= delay <= nominal * (1 + jitter) + 1e-9


def test_backoff_jitter_actually_spreads_retries() -> None:
    rng = random.Random(7)
    delays = {round(Backoff().delay(3, rng), 6) for _ in range(20)}
    assert len(delays) > 10


async def _noop(runtime: Runtime, job: Job) -> None:
    return None


def test_registry_decorator_and_lookup() -> None:
    registry = JobRegistry()

    @registry.handler("outbox.deliver", max_attempts=8, backoff=Backoff(base=1))
    async def deliver(runtime: Runtime, job: Job) -> None:
        return None

    spec = registry.get("outbox.deliver")
    assert spec is not None
    assert (spec.fn, spec.max_attempts, spec.backoff.base) == (deliver, 8, 1)
    assert registry.max_attempts("outbox.deliver") == 8
    assert registry.max_attempts("unknown") == 5
    assert registry.get("unknown") is None
    assert "outbox.deliver" in registry
    assert registry.kinds() == ["outbox.deliver"]


def test_registry_refuses_duplicates_and_zero_attempts() -> None:
    registry = JobRegistry()
    registry.register("k", _noop)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("k", _noop)
    with pytest.raises(ValueError, match="at least 1"):
        registry.register("other", _noop, max_attempts=0)


def test_retry_later_carries_delay_and_reason() -> None:
    later = RetryLater(12.5, "rate limited")
    assert (later.delay_seconds, later.reason, str(later)) == (12.5, "rate limited", "rate limited")
    assert RetryLater(-3).delay_seconds == 0


async def test_wakeup_sets_subscribers_until_unsubscribed() -> None:
    wakeup = Wakeup()
    a, b = wakeup.subscribe(), wakeup.subscribe()
    wakeup.notify()
    assert a.is_set()
    assert b.is_set()
    a.clear()
    b.clear()
    wakeup.unsubscribe(a)
    wakeup.notify()
    assert not a.is_set()
    assert b.is_set()


async def test_wakeup_from_another_thread_reaches_the_loop() -> None:
    wakeup = Wakeup()
    event = wakeup.subscribe()
    thread = threading.Thread(target=wakeup.notify)
    thread.start()
    thread.join()
    await asyncio.wait_for(event.wait(), 10)
