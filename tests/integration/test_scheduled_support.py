"""Helpers for the scheduled-call and lead tests: a runtime, a priority-honouring job runner,
and a way to end a placed call with an outcome (as Exotel's status callback would)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update

from exocomms.calls import repo as calls_repo
from exocomms.calls.model import CallEvent, CallStatus
from exocomms.calls.service import apply_event
from exocomms.calls.terminal import finish_call
from exocomms.clock import ManualClock
from exocomms.jobs.registry import Job, RetryLater
from exocomms.runtime import Runtime
from exocomms.scheduling.model import TimingPolicy
from exocomms.scheduling.service import TIMING_POLICY_EXTRA
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs
from exocomms.telephony.exotel.client import ExotelClient
from exocomms.telephony.provider import Telephony
from exocomms.telephony.ratelimit import DatabaseRateLimiter, Limit
from tests.integration.test_ivr_support import FakeExotel, make_runtime, settings_for

OUR_JOBS = frozenset(
    {
        "scheduled_call.due",
        "ivr.place",
        "calls.place",
        "leads.call",
        "leads.crm_sync",
        "leads.crm_note",
    }
)


@asynccontextmanager
async def scheduling_runtime(
    tmp_path: Path,
    db: Database,
    clock: ManualClock,
    *,
    voice_per_minute: int | None = None,
    policy: TimingPolicy | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[Runtime, FakeExotel]]:
    """A runtime on ``db`` with a fake Exotel (optionally a tight voice rate limit)."""
    fake = FakeExotel()
    runtime = make_runtime(
        settings_for(tmp_path, **overrides), db, clock, httpx.MockTransport(fake.handler)
    )
    if policy is not None:
        runtime.extras[TIMING_POLICY_EXTRA] = policy
    assert runtime.telephony is not None
    if voice_per_minute is not None:
        settings = runtime.settings
        limiter = DatabaseRateLimiter(
            db, clock, {"voice": Limit(voice_per_minute, burst=1)}, max_wait_seconds=5
        )
        client = ExotelClient(
            base_url=settings.exotel_base_url,
            account_sid=settings.exotel_account_sid,
            api_key=settings.exotel_api_key.get_secret_value(),
            api_token=settings.exotel_api_token.get_secret_value(),
            transport=httpx.MockTransport(fake.handler),
            rate_limiter=limiter,
        )
        await runtime.telephony.aclose()
        runtime.telephony = Telephony(settings=settings, client=client, limiter=limiter)
    try:
        yield runtime, fake
    finally:
        await runtime.telephony.aclose()
        await runtime.http.aclose()


async def run_jobs(runtime: Runtime, kinds: frozenset[str] = OUR_JOBS) -> list[str]:
    """Run due jobs of ``kinds`` one at a time in claim order (priority, run_at, id).

    ``RetryLater`` reschedules the job as the worker does; a failure fails the test.
    """
    ran: list[str] = []
    for _ in range(200):
        now = runtime.clock.now()
        async with runtime.db.transaction() as session:
            row = (
                (
                    await session.execute(
                        select(jobs)
                        .where(
                            jobs.c.status == "pending",
                            jobs.c.run_at <= now,
                            jobs.c.kind.in_(sorted(kinds)),
                        )
                        .order_by(jobs.c.priority.desc(), jobs.c.run_at, jobs.c.id)
                        .limit(1)
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return ran
            await session.execute(
                update(jobs).where(jobs.c.id == row["id"]).values(status="running")
            )
        spec = runtime.registry.get(row["kind"])
        assert spec is not None
        job = Job(row["id"], row["kind"], row["key"], dict(row["payload"]), 1, 8)
        status, run_at = "done", row["run_at"]
        try:
            await spec.fn(runtime, job)
        except RetryLater as later:
            status, run_at = "pending", now + timedelta(seconds=later.delay_seconds)
        async with runtime.db.transaction() as session:
            await session.execute(
                update(jobs).where(jobs.c.id == row["id"]).values(status=status, run_at=run_at)
            )
        ran.append(row["kind"])
    raise AssertionError("jobs keep coming")


async def end_call(runtime: Runtime, call_id: str, status: CallStatus) -> None:
    """The call ends with ``status``: apply it and run the terminal handling (one transaction)."""
    async with runtime.db.transaction() as session:
        row = await calls_repo.get_call(session, call_id=call_id)
        assert row is not None
        assert row["call_sid"], "the call was not placed"
        now = runtime.clock.now()
        if status is CallStatus.COMPLETED:
            await apply_event(
                session,
                call_sid=row["call_sid"],
                event=CallEvent(status=CallStatus.IN_PROGRESS, at=now, answered_by="Human"),
                dedupe_key="test:answered",
                payload={},
                now=now,
            )
        applied = await apply_event(
            session,
            call_sid=row["call_sid"],
            event=CallEvent(status=status, at=now, duration=20),
            dedupe_key=f"test:{status.value}",
            payload={},
            now=now,
        )
        assert applied.changed
        await finish_call(session, runtime, call_id)


async def pending_kinds(runtime: Runtime) -> list[tuple[str, str | None, int]]:
    """``(kind, key, priority)`` of pending jobs, oldest first."""
    async with runtime.db.transaction() as session:
        rows = await session.execute(
            select(jobs.c.kind, jobs.c.key, jobs.c.priority)
            .where(jobs.c.status == "pending")
            .order_by(jobs.c.id)
        )
        return [(str(k), key, int(p)) for k, key, p in rows.all()]
