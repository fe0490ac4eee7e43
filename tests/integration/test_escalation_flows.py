"""Ladders driven by domain events, with the real channels of the other slices.

What a user would notice: the rows and jobs each step leaves (outbox push, WhatsApp message,
IVR call), that an acknowledgement cancels what has not left yet, and the order timeline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.escalation import service
from exocomms.escalation.timeline_view import order_timeline
from exocomms.runtime import Runtime
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs, messages, outbox_messages, voice_calls
from tests.integration.test_escalation_service import (
    ADMIN,
    VENDOR,
    FakeChannels,
    advance_to,
    escalation,
    make_settings,
    pending_steps,
    publish,
    run_due,
)

RIDER = "+919833333333"
ORDER = {
    "order_id": "5001",
    "store_id": "S9",
    "store_phone": VENDOR,
    "store_name": "Krishna Kirana",
    "amount": 240,
    "items": [{"name": "Atta", "quantity": 2}, {"name": "Dal"}],
}


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    phone: str
    language: str = "en"
    city: str | None = None


@dataclass(frozen=True)
class Order:
    id: str
    rider_id: str | None


class FakeCommerce:
    """The commerce client's look-ups, from memory."""

    async def get_order(self, order_id: str) -> Order | None:
        return Order(order_id, "R7")

    async def get_store(self, store_id: str) -> Person | None:
        return Person(store_id, "Sharma Sweets", VENDOR) if store_id == "S9" else None

    async def get_rider(self, rider_id: str) -> Person | None:
        return Person(rider_id, "Ravi", RIDER, "hi")

    async def get_customer(self, customer_id: str) -> Person | None:
        return None


@pytest.fixture
async def rt(db: Database) -> AsyncIterator[Runtime]:
    runtime = build_runtime(make_settings(), clock=ManualClock(), db=db)
    runtime.commerce = FakeCommerce()  # type: ignore[assignment]  # a fake of the client
    yield runtime
    await runtime.http.aclose()


async def job_status(rt: Runtime, kind: str) -> list[str]:
    async with rt.db.transaction() as session:
        rows = await session.execute(select(jobs.c.status).where(jobs.c.kind == kind))
        return sorted(str(s) for s in rows.scalars())


async def test_real_channels_leave_rows_and_an_ack_cancels_unsent(rt: Runtime) -> None:
    t0 = rt.clock.now()
    await publish(rt, "order.created", "5001", data={"order": ORDER}, actor="jupiter")
    esc_id = "vendor_order_5001"
    await run_due(rt)
    async with rt.db.transaction() as session:
        push = (await session.execute(select(outbox_messages))).one()
    assert (push.topic, push.url) == ("push", "http://127.0.0.1:8090/exocomms/push")
    assert '"escalationId":"vendor_order_5001"' in push.body
    assert '"template":"vendor_new_order.push"' in push.body
    await advance_to(rt, t0, 60)
    async with rt.db.transaction() as session:
        message = (await session.execute(select(messages))).one()
    assert (message.channel, message.to_number, message.template, message.escalation_id) == (
        "whatsapp",
        VENDOR,
        "vendor_new_order.whatsapp",
        esc_id,
    )
    assert "Krishna Kirana" in message.body
    assert "240" in message.body
    assert await job_status(rt, "messaging.send") == ["pending"]
    # The vendor taps "Accept" in the app before the WhatsApp left: nothing more goes out.
    await publish(rt, "order.accepted", "5001", party="vendor", actor="jupiter")
    row = await escalation(rt, esc_id)
    assert (row["status"], row["acknowledged_channel"]) == ("acknowledged", "app")
    assert await job_status(rt, "messaging.send") == ["canceled"]
    async with rt.db.transaction() as session:
        assert not await service.still_open(session, esc_id)


async def test_ivr_step_places_the_vendor_order_ivr_and_a_key_ack_cancels_retries(
    rt: Runtime,
) -> None:
    t0 = rt.clock.now()
    await publish(rt, "order.created", "5001", data={"order": ORDER}, actor="jupiter")
    await advance_to(rt, t0, 180)
    async with rt.db.transaction() as session:
        calls = (
            await session.execute(select(voice_calls).order_by(voice_calls.c.created_at))
        ).all()
    assert [(c.phone, c.escalation_id, c.caller_id) for c in calls] == [
        (VENDOR, "vendor_order_5001", "+918047000001"),  # ring, from the new-order number
        (VENDOR, "vendor_order_5001", "+918047000001"),  # the IVR call
    ]
    ivr = calls[1]
    assert ivr.meta["ivr"] == "vendor_order"
    assert ivr.vendor_id == "S9"
    assert ivr.meta["context"]["store_name"] == "Krishna Kirana"
    await publish(
        rt, "vendor.accepted", "5001", party="vendor", actor=VENDOR, data={"channel": "ivr"}
    )
    async with rt.db.transaction() as session:
        statuses = (await session.execute(select(voice_calls.c.status))).scalars().all()
    assert set(statuses) == {"canceled"}  # neither call had been placed yet
    assert (await escalation(rt, "vendor_order_5001"))["acknowledged_channel"] == "ivr"
    assert await pending_steps(rt, "vendor_order_5001") == []


async def test_lookup_listeners_and_timeline(rt: Runtime) -> None:
    rt.extras[service.CHANNELS_EXTRA] = fake = FakeChannels()
    t0 = rt.clock.now()
    order = {k: v for k, v in ORDER.items() if k not in ("store_phone", "store_name")}
    await publish(rt, "order.created", "5001", data={"order": order}, actor="jupiter")
    await run_due(rt)  # escalation.start looks the store up, then step 0 runs
    row = await escalation(rt, "vendor_order_5001")
    assert (row["party_phone"], row["party_name"], row["language"]) == (
        VENDOR,
        "Sharma Sweets",
        "en",
    )
    await publish(rt, "rider.assigned", "5001", data={"rider_id": "R7"}, actor="jupiter")
    await run_due(rt)
    rider = await escalation(rt, "rider_assign_5001")
    assert (rider["party_phone"], rider["context"]["rider_name"]) == (RIDER, "Ravi")
    rt.clock.advance(10)  # type: ignore[attr-defined]
    await publish(rt, "address.changed", "5001", data={"address": "12 MG Road"}, actor="jupiter")
    address = await escalation(rt, "address_update_5001")
    assert (address["party_phone"], address["context"]["new_address"]) == (RIDER, "12 MG Road")
    await publish(rt, "rider.accepted", "5001", party="rider", actor=RIDER)
    assert (await escalation(rt, "rider_assign_5001"))["status"] == "acknowledged"
    assert (await escalation(rt, "address_update_5001"))["status"] == "active"
    await advance_to(rt, t0, 45)
    await publish(rt, "order.delivered", "5001", actor="jupiter")
    for esc_id in ("vendor_order_5001", "address_update_5001"):
        assert (await escalation(rt, esc_id))["status"] == "stopped"
    assert ("ring", RIDER, "address_update") in fake.sent
    async with rt.db.transaction() as session:
        entries = await order_timeline(session, "5001")
    summaries = [e["summary"] for e in entries]
    assert summaries[0] == "order.created"
    assert summaries.index("order.created") < summaries.index("rider.assigned")
    assert "escalation rider_assign_5001 acknowledged via unknown" in summaries
    assert summaries[-3:] == [
        "order.delivered",
        "escalation vendor_order_5001 stopped: order delivered",
        "escalation address_update_5001 stopped: order delivered",
    ]
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    steps = [e for e in entries if e["kind"] == "step"]
    assert steps[0]["channel"] == "push"
    assert steps[0]["escalationId"] == "vendor_order_5001"


async def test_unknown_store_is_recorded_not_retried(rt: Runtime) -> None:
    order: dict[str, Any] = {"order_id": "5002", "store_id": "nope"}
    await publish(rt, "order.created", "5002", data={"order": order}, actor="jupiter")
    await run_due(rt)
    async with rt.db.transaction() as session:
        entries = await order_timeline(session, "5002")
    assert entries[-1]["summary"] == (
        "cannot start vendor_new_order: vendor nope not found on the commerce backend"
    )
    assert await job_status(rt, "escalation.start") == ["done"]


async def test_admin_steps_use_the_admin_on_duty(rt: Runtime) -> None:
    t0 = rt.clock.now()
    await publish(rt, "order.created", "5001", data={"order": ORDER}, actor="jupiter")
    await advance_to(rt, t0, 300)
    async with rt.db.transaction() as session:
        admin_messages = (
            await session.execute(select(messages).where(messages.c.to_number == ADMIN))
        ).all()
        bridge = (
            await session.execute(select(voice_calls).where(voice_calls.c.phone == ADMIN))
        ).one()
    assert sorted(m.channel for m in admin_messages) == ["sms", "whatsapp"]
    sms = next(m for m in admin_messages if m.channel == "sms")
    assert "5001" in sms.body
    assert "vendor" in sms.body
    assert bridge.meta["mode"] == "bridge"
    assert bridge.meta["second"] == VENDOR
    # The admin alert is the last step: it must still go out although the ladder is exhausted.
    async with rt.db.transaction() as session:
        assert await service.still_open(session, "vendor_order_5001")
