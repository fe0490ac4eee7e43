"""Every call and message passes the timing rules right before it goes out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from exocomms.calls import repo
from exocomms.clock import ManualClock
from exocomms.ivr.service import start_ivr_call
from exocomms.jobs.registry import Job, RetryLater
from exocomms.messaging import repo as messages
from exocomms.messaging.service import queue_sms
from exocomms.runtime import Runtime
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs
from tests.integration.test_ivr_support import FakeExotel, fake_runtime, settings_for

CONTEXT = {
    "store_name": "Krishna Kirana",
    "order_id": "12345",
    "amount": 325,
    "items": [{"name": "Atta", "quantity": 1}],
}
NIGHT = datetime(2026, 1, 5, 16, 30, tzinfo=UTC)  # 22:00 IST, a Monday
NEXT_PROMO_WINDOW = datetime(2026, 1, 6, 4, 30, tzinfo=UTC)  # 10:00 IST on Tuesday


@pytest.fixture
async def env(db: Database, tmp_path: Path) -> AsyncIterator[tuple[Runtime, FakeExotel]]:
    async with fake_runtime(settings_for(tmp_path), db) as (runtime, fake):
        assert isinstance(runtime.clock, ManualClock)
        runtime.clock.set(NIGHT)
        yield runtime, fake


async def _run(runtime: Runtime, kind: str) -> None:
    """Run the pending job of ``kind`` once, as the worker would."""
    async with runtime.db.transaction() as session:
        row = (await session.execute(select(jobs).where(jobs.c.kind == kind))).mappings().one()
    spec = runtime.registry.get(kind)
    assert spec is not None
    await spec.fn(runtime, Job(row["id"], kind, row["key"], row["payload"], 1, 5))


async def _call(runtime: Runtime, purpose: str) -> str:
    async with runtime.db.transaction() as session:
        return await start_ivr_call(
            session,
            runtime,
            ivr="vendor_order",
            phone="+919876543210",
            context=CONTEXT,
            purpose=purpose,
            order_id="12345",
        )


async def test_a_promotional_call_at_night_waits_for_the_promotional_window(
    env: tuple[Runtime, FakeExotel],
) -> None:
    runtime, fake = env
    call_id = await _call(runtime, "promotional_offer")
    with pytest.raises(RetryLater) as caught:
        await _run(runtime, "ivr.place")
    assert caught.value.delay_seconds == (NEXT_PROMO_WINDOW - NIGHT).total_seconds()
    assert fake.posted("Calls/connect.json") == []
    assert isinstance(runtime.clock, ManualClock)
    runtime.clock.set(NEXT_PROMO_WINDOW)
    await _run(runtime, "ivr.place")
    assert len(fake.posted("Calls/connect.json")) == 1
    async with runtime.db.transaction() as session:
        row: dict[str, Any] | None = await repo.get_call(session, call_id=call_id)
    assert row is not None
    assert row["call_sid"] is not None


async def test_a_transactional_call_goes_at_night(env: tuple[Runtime, FakeExotel]) -> None:
    runtime, fake = env
    await _call(runtime, "vendor_new_order")
    await _run(runtime, "ivr.place")
    assert len(fake.posted("Calls/connect.json")) == 1


async def test_a_promotional_sms_at_night_waits(env: tuple[Runtime, FakeExotel]) -> None:
    runtime, fake = env
    async with runtime.db.transaction() as session:
        message_id = await queue_sms(
            session,
            runtime,
            to="+919876543210",
            template="vendor_new_order.sms",
            params={
                "order_id": "12345",
                "amount": "325",
                "store_name": "Krishna Kirana",
                "item_count": "2",
            },
            purpose="promotional_offer",
        )
    with pytest.raises(RetryLater) as caught:
        await _run(runtime, "messaging.send")
    assert caught.value.delay_seconds == pytest.approx(timedelta(hours=12).total_seconds())
    assert fake.posted("Sms/send.json") == []
    async with runtime.db.transaction() as session:
        row = await messages.get_message(session, message_id=message_id)
    assert row is not None
    assert row["status"] == "queued"  # still waiting, not lost
