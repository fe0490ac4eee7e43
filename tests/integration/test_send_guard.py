"""A queued call or message of a closed escalation never reaches the carrier."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.calls import repo
from exocomms.calls.service import cancel_queued_calls
from exocomms.ivr.service import start_ivr_call
from exocomms.messaging import repo as messages
from exocomms.messaging.service import queue_sms
from exocomms.runtime import Runtime
from exocomms.storage.db import Database
from tests.integration.test_ivr_support import FakeExotel, fake_runtime, run_due_jobs, settings_for

CONTEXT = {
    "store_name": "Krishna Kirana",
    "order_id": "12345",
    "amount": 325,
    "items": [{"name": "Atta", "quantity": 1}],
}


@pytest.fixture
async def env(db: Database, tmp_path: Path) -> AsyncIterator[tuple[Runtime, FakeExotel]]:
    async with fake_runtime(settings_for(tmp_path), db) as (runtime, fake):

        async def closed_escalations(_session: AsyncSession, escalation_id: str | None) -> bool:
            return escalation_id != "esc-closed"

        runtime.send_guards.append(closed_escalations)
        yield runtime, fake


async def _queue_call(runtime: Runtime, escalation_id: str) -> str:
    async with runtime.db.transaction() as session:
        return await start_ivr_call(
            session,
            runtime,
            ivr="vendor_order",
            phone="+919876543210",
            context=CONTEXT,
            purpose="vendor_order_confirmation",
            order_id="12345",
            escalation_id=escalation_id,
        )


async def test_a_call_of_a_closed_escalation_is_canceled_not_dialled(
    env: tuple[Runtime, FakeExotel],
) -> None:
    runtime, fake = env
    closed = await _queue_call(runtime, "esc-closed")
    open_ = await _queue_call(runtime, "esc-open")
    await run_due_jobs(runtime)
    async with runtime.db.transaction() as session:
        closed_row = await repo.get_call(session, call_id=closed)
        open_row = await repo.get_call(session, call_id=open_)
    assert closed_row is not None
    assert open_row is not None
    assert closed_row["status"] == "canceled"
    assert closed_row["outcome"] == "escalation_closed"
    assert closed_row["call_sid"] is None
    assert open_row["call_sid"] is not None
    assert len(fake.posted("Calls/connect.json")) == 1


async def test_a_message_of_a_closed_escalation_is_canceled_not_sent(
    env: tuple[Runtime, FakeExotel],
) -> None:
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
            purpose="vendor_new_order",
            order_id="12345",
            escalation_id="esc-closed",
        )
    await run_due_jobs(runtime)
    async with runtime.db.transaction() as session:
        row: dict[str, Any] | None = await messages.get_message(session, message_id=message_id)
    assert row is not None
    assert row["status"] == "canceled"
    assert fake.posted("Sms/send.json") == []


async def test_a_call_whose_dial_was_committed_is_not_canceled_by_a_later_ack(
    env: tuple[Runtime, FakeExotel],
) -> None:
    runtime, _ = env
    call_id = await _queue_call(runtime, "esc-open")
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        await repo.update_call(session, call_id, {"initiated_at": now})  # dial committed
        canceled = await cancel_queued_calls(session, runtime.queue, now, escalation_id="esc-open")
    assert canceled == []
