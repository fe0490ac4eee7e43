"""Scheduled calls on a real database: due → placed, waiting for the window, never allowed,
retries with backoff (and the window re-checked), cancel, priority under a tight rate limit."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from exocomms.calls import repo as calls_repo
from exocomms.calls.model import CallStatus
from exocomms.clock import ManualClock
from exocomms.errors import Conflict
from exocomms.runtime import Runtime
from exocomms.scheduling import service
from exocomms.scheduling.model import ChannelRule, ClassRule, TimingPolicy
from exocomms.scheduling.purposes import PurposeClass
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs
from tests.integration.test_scheduled_support import (
    end_call,
    pending_kinds,
    run_jobs,
    scheduling_runtime,
)

PHONE = "+919876543210"
STATUS_CALL = {"ivr": "customer_status", "slots": {"order_id": "123", "status": "confirmed"}}


async def _create(runtime: Runtime, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"phone": "98765 43210", "purpose": "delivery_update"}
    values.update(fields)
    async with runtime.db.transaction() as session:
        return await service.create(session, runtime, service.NewScheduledCall(**values))


async def _row(runtime: Runtime, call_id: int) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.get(session, call_id)


async def _voice_call(runtime: Runtime, call_id: str) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        row = await calls_repo.get_call(session, call_id=call_id)
    assert row is not None
    return row


async def test_a_due_call_inside_the_window_is_placed_and_completes(
    tmp_path: Path, db: Database
) -> None:
    clock = ManualClock()
    async with scheduling_runtime(tmp_path, db, clock) as (runtime, fake):
        created = await _create(runtime, context=STATUS_CALL, priority=7)
        assert created["status"] == "scheduled"
        assert created["phone"] == PHONE
        assert await pending_kinds(runtime) == [
            ("scheduled_call.due", f"scheduled_call.due:{created['id']}:1", 7)
        ]
        await run_jobs(runtime)
        row = await _row(runtime, created["id"])
        assert (row["status"], row["attempt"]) == ("in_progress", 1)
        connect = fake.posted("Calls/connect.json")
        assert [(c["From"], c["Url"].rsplit("/", 1)[-1]) for c in connect] == [
            (PHONE, "customer_status")
        ]
        call = await _voice_call(runtime, row["call_id"])
        assert (call["purpose"], call["attempt"], call["max_attempts"]) == ("delivery_update", 1, 1)
        await end_call(runtime, row["call_id"], CallStatus.COMPLETED)
        row = await _row(runtime, created["id"])
        assert (row["status"], row["last_outcome"]) == ("completed", "completed")
        assert not [k for k in await pending_kinds(runtime) if k[0] == "scheduled_call.due"]


async def test_promotional_call_due_at_2230_ist_waits_until_10_next_day(
    tmp_path: Path, db: Database
) -> None:
    clock = ManualClock(datetime(2026, 1, 5, 17, 0, tzinfo=UTC))  # Monday 22:30 IST
    async with scheduling_runtime(tmp_path, db, clock) as (runtime, fake):
        created = await _create(runtime, purpose="promotional_offer")
        await run_jobs(runtime)
        row = await _row(runtime, created["id"])
        ten_ist = datetime(2026, 1, 6, 4, 30, tzinfo=UTC)
        assert (row["status"], row["scheduled_time"], row["seq"]) == ("waiting_window", ten_ist, 2)
        assert "promotional" in row["reason"]
        assert fake.posted("Calls/connect.json") == []
        clock.set(ten_ist - timedelta(seconds=1))
        assert await run_jobs(runtime) == []
        clock.set(ten_ist)
        await run_jobs(runtime)
        row = await _row(runtime, created["id"])
        assert row["status"] == "in_progress"
        (connect,) = fake.posted("Calls/connect.json")
        # No IVR named in the context: the Exotel flow of the purpose takes the call.
        assert connect["Url"].endswith("/promotional_offer")


async def test_a_call_that_is_never_allowed_fails_with_never_allowed(
    tmp_path: Path, db: Database
) -> None:
    rules = {c: ClassRule() for c in PurposeClass}
    rules[PurposeClass.PROMOTIONAL] = ClassRule(call=ChannelRule(enabled=False))
    policy = TimingPolicy(rules=rules)
    async with scheduling_runtime(tmp_path, db, ManualClock(), policy=policy) as (runtime, fake):
        created = await _create(runtime, purpose="diwali")
        await run_jobs(runtime)
        row = await _row(runtime, created["id"])
        assert (row["status"], row["last_outcome"]) == ("failed", "never_allowed")
        assert fake.requests == []
        assert await pending_kinds(runtime) == []


async def test_busy_then_no_answer_then_answered_retries_with_backoff_and_jitter(
    tmp_path: Path, db: Database
) -> None:
    clock = ManualClock()
    async with scheduling_runtime(tmp_path, db, clock) as (runtime, fake):
        runtime.extras[service.RNG_EXTRA] = random.Random(7)
        retry = {"maxAttempts": 3, "initialDelaySeconds": 300, "backoffMultiplier": 2}
        created = await _create(runtime, context=STATUS_CALL, retry_config=retry)
        delays = []
        for outcome in (CallStatus.BUSY, CallStatus.NO_ANSWER):
            await run_jobs(runtime)
            row = await _row(runtime, created["id"])
            await end_call(runtime, row["call_id"], outcome)
            row = await _row(runtime, created["id"])
            assert (row["status"], row["last_outcome"]) == ("scheduled", outcome.value)
            delays.append((row["scheduled_time"] - clock.now()).total_seconds())
            clock.set(row["scheduled_time"])
        assert 270 <= delays[0] <= 330
        assert 540 <= delays[1] <= 660
        await run_jobs(runtime)
        row = await _row(runtime, created["id"])
        await end_call(runtime, row["call_id"], CallStatus.COMPLETED)
        row = await _row(runtime, created["id"])
        assert (row["status"], row["attempt"]) == ("completed", 3)
        assert len(fake.posted("Calls/connect.json")) == 3  # the telephony slice never retried
        async with runtime.db.transaction() as session:
            summary = await service.summary(session)
        assert summary["byStatus"]["completed"] == 1
        assert summary["averageAttempts"] == 3


async def test_the_last_attempt_failing_fails_the_call(tmp_path: Path, db: Database) -> None:
    clock = ManualClock()
    async with scheduling_runtime(tmp_path, db, clock) as (runtime, _fake):
        created = await _create(runtime, context=STATUS_CALL, retry_config={"maxAttempts": 1})
        await run_jobs(runtime)
        row = await _row(runtime, created["id"])
        await end_call(runtime, row["call_id"], CallStatus.BUSY)
        row = await _row(runtime, created["id"])
        assert (row["status"], row["last_outcome"]) == ("failed", "busy")


async def test_a_retry_that_would_land_in_the_dnd_window_waits_for_morning(
    tmp_path: Path, db: Database
) -> None:
    clock = ManualClock(datetime(2026, 1, 5, 15, 27, tzinfo=UTC))  # 20:57 IST
    async with scheduling_runtime(tmp_path, db, clock) as (runtime, _fake):
        runtime.extras[service.RNG_EXTRA] = random.Random(1)
        created = await _create(runtime, purpose="support_callback", context=STATUS_CALL)
        await run_jobs(runtime)
        row = await _row(runtime, created["id"])
        await end_call(runtime, row["call_id"], CallStatus.NO_ANSWER)
        row = await _row(runtime, created["id"])
        # 300 s later is 21:02, inside the DND window: the retry goes at 09:00 IST.
        assert row["scheduled_time"] == datetime(2026, 1, 6, 3, 30, tzinfo=UTC)
        assert row["status"] == "scheduled"


async def test_cancel_removes_the_pending_job_and_a_completed_call_cannot_be_canceled(
    tmp_path: Path, db: Database
) -> None:
    clock = ManualClock()
    async with scheduling_runtime(tmp_path, db, clock) as (runtime, fake):
        later = (clock.now() + timedelta(hours=1)).isoformat()
        created = await _create(runtime, preferred_time=later, context=STATUS_CALL)
        async with runtime.db.transaction() as session:
            canceled = await service.cancel(session, runtime, created["id"])
        assert canceled["status"] == "canceled"
        async with runtime.db.transaction() as session:
            statuses = (await session.execute(select(jobs.c.key, jobs.c.status))).all()
        assert statuses == [(f"scheduled_call.due:{created['id']}:1", "canceled")]
        clock.advance(7200)
        assert await run_jobs(runtime) == []
        assert fake.requests == []

        done = await _create(runtime, context=STATUS_CALL)
        await run_jobs(runtime)
        await end_call(runtime, (await _row(runtime, done["id"]))["call_id"], CallStatus.COMPLETED)
        with pytest.raises(Conflict, match="completed"):
            async with runtime.db.transaction() as session:
                await service.cancel(session, runtime, done["id"])


async def test_higher_priority_goes_first_when_the_rate_limit_is_the_bottleneck(
    tmp_path: Path, db: Database
) -> None:
    clock = ManualClock()
    async with scheduling_runtime(tmp_path, db, clock, voice_per_minute=1) as (runtime, fake):
        assert runtime.telephony is not None
        await runtime.telephony.limiter.reserve("voice")  # another call just used the slot
        low = await _create(runtime, phone="+919800000001", context=STATUS_CALL, priority=2)
        high = await _create(runtime, phone="+919800000002", context=STATUS_CALL, priority=9)
        await run_jobs(runtime)
        assert fake.posted("Calls/connect.json") == []  # both wait for the limiter
        kinds = await pending_kinds(runtime)
        assert sorted((k, p) for k, _, p in kinds) == [("ivr.place", 2), ("ivr.place", 9)]
        order: list[str] = []
        for _ in range(2):
            clock.advance(61)
            await run_jobs(runtime)
            order += [c["From"] for c in fake.posted("Calls/connect.json")[len(order) :]]
        assert order == ["+919800000002", "+919800000001"]
        assert (await _row(runtime, high["id"]))["status"] == "in_progress"
        assert (await _row(runtime, low["id"]))["status"] == "in_progress"
