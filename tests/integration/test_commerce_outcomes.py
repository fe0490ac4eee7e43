"""Outcomes and push requests: domain events → outbox → the sample backend, signed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.commerce.outcomes import subscribe_outcomes
from exocomms.commerce.push import queue_push
from exocomms.demo.jupiter import JupiterState, create_jupiter_app
from exocomms.errors import ValidationError
from exocomms.events import DomainEvent, EventBus
from exocomms.jobs.registry import Job
from exocomms.outbox.jobs import deliver
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs, outbox_messages
from tests.support.servers import serve_in_thread

SECRET = "jupiter-outcome-secret-0123456789"
CALLER = "+919810010067"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def jupiter(clock: ManualClock) -> Iterator[tuple[str, JupiterState]]:
    app = create_jupiter_app(SECRET, clock=clock)
    with serve_in_thread(app) as base:
        yield base, app.state.jupiter


@pytest.fixture
async def runtime(
    db: Database, clock: ManualClock, jupiter: tuple[str, JupiterState]
) -> AsyncIterator[Runtime]:
    settings = Settings(  # type: ignore[call-arg]  # pydantic-settings' _env_file
        _env_file=None,
        jupiter_webhook_secret=SecretStr(SECRET),
        jupiter_url=jupiter[0],
        outbox_timeout_seconds=5.0,
        embedded_worker=False,
    )
    rt = build_runtime(settings, clock=clock, db=db)
    rt.events = EventBus()
    subscribe_outcomes(rt.events)
    yield rt
    await rt.http.aclose()


def event(name: str, data: dict[str, Any], *, actor: str = CALLER, **kw: Any) -> DomainEvent:
    values: dict[str, Any] = {"order_id": "12345", "party": "vendor", "actor": actor}
    values.update(kw)
    return DomainEvent(name=name, at=ManualClock().now(), data=data, **values)


async def publish(rt: Runtime, *events: DomainEvent) -> None:
    async with rt.db.transaction() as session:
        for e in events:
            await rt.events.publish(session, rt, e)


async def messages(rt: Runtime) -> list[Any]:
    async with rt.db.sessions() as session:
        return list(
            (await session.execute(select(outbox_messages).order_by(outbox_messages.c.id))).all()
        )


async def deliver_pending(rt: Runtime) -> None:
    """Run every pending ``outbox.deliver`` job once, as a worker would."""
    async with rt.db.sessions() as session:
        rows = (
            await session.execute(
                select(jobs).where(jobs.c.kind == "outbox.deliver", jobs.c.status == "pending")
            )
        ).all()
    for row in rows:
        await deliver(rt, Job(row.id, row.kind, row.key, row.payload, 1, row.max_attempts))


async def test_vendor_accepted_is_delivered_once_signed(
    runtime: Runtime, jupiter: tuple[str, JupiterState]
) -> None:
    _, state = jupiter
    accepted = event(
        "vendor.accepted",
        {"prep_minutes": 20, "channel": "ivr", "call_id": "c1", "defaulted": False},
    )
    await publish(runtime, accepted)
    await publish(runtime, accepted)  # a duplicate callback publishing the same fact again

    [message] = await messages(runtime)
    assert message.topic == "vendor.accepted"
    assert message.url == jupiter[0] + "/exocomms/outcomes"
    assert message.idempotency_key == "vendor.accepted:12345:cc1"
    await deliver_pending(runtime)

    [received] = state.received
    assert state.rejected_signatures == 0
    assert received["kind"] == "outcome"
    assert received["topic"] == "vendor.accepted"
    assert received["idempotencyKey"] == "vendor.accepted:12345:cc1"
    assert received["payload"] == {
        "event": "vendor.accepted",
        "orderId": "12345",
        "party": "vendor",
        "actor": CALLER,
        "data": {"prep_minutes": 20, "channel": "ivr", "call_id": "c1", "defaulted": False},
        "at": "2026-01-05T04:30:00+00:00",
    }
    assert state.orders["12345"]["status"] == "accepted"
    [delivered] = await messages(runtime)
    assert delivered.status == "delivered"


async def test_each_outcome_topic_and_action(
    runtime: Runtime, jupiter: tuple[str, JupiterState]
) -> None:
    _, state = jupiter
    state.orders["12345"]["rider_id"] = "501"
    await publish(
        runtime,
        event("vendor.rejected", {"reason": "closed", "channel": "ivr", "call_id": "c2"}),
        event("rider.accepted", {"channel": "whatsapp", "message_id": "m1"}, party="rider"),
        event(
            "rider.rejected", {"reason": "far", "channel": "ivr", "call_id": "c3"}, party="rider"
        ),
        event("call.failed", {"call_id": "c4", "purpose": "vendor_order", "attempts": 3}),
        event("party.acknowledged", {"channel": "ivr", "escalation_id": "e1"}),
        event("call.finished", {"call_id": "c5", "status": "completed"}),  # not an outcome
    )
    await deliver_pending(runtime)

    got = {item["topic"]: item["payload"] for item in state.received}
    assert sorted(got) == [
        "call.failed",
        "escalation.acknowledged",
        "rider.accepted",
        "rider.rejected",
        "vendor.rejected",
    ]
    assert got["rider.rejected"]["action"] == "reassign_rider"
    assert got["call.failed"]["action"] == "follow_up"
    assert "action" not in got["vendor.rejected"]
    assert got["escalation.acknowledged"]["data"]["escalation_id"] == "e1"
    assert state.orders["12345"]["rider_id"] is None  # the backend reassigns
    assert state.rejected_signatures == 0


async def test_no_outcome_for_backend_events_or_rolled_back_facts(runtime: Runtime) -> None:
    await publish(
        runtime,
        event("rider.accepted", {"channel": "app", "source": "jupiter"}, actor="jupiter"),
        # A lead's or scheduled call's failure concerns no order of the backend's.
        event("call.failed", {"call_id": "c3", "purpose": "lead_call"}, order_id=None),
    )

    async def failing_change() -> None:
        async with runtime.db.transaction() as session:
            await runtime.events.publish(
                session, runtime, event("vendor.accepted", {"call_id": "c9"})
            )
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert await messages(runtime) == []


async def test_queue_push_is_delivered_to_the_push_endpoint(
    runtime: Runtime, jupiter: tuple[str, JupiterState]
) -> None:
    _, state = jupiter
    args: dict[str, Any] = {
        "party": "vendor",
        "party_id": "67",
        "order_id": "12345",
        "template": "vendor_new_order.push",
        "data": {"amount": 325, "items": 2},
        "escalation_id": "esc-1",
    }
    async with runtime.db.transaction() as session:
        first = await queue_push(session, runtime, **args)
        repeat = await queue_push(session, runtime, **args)
        other = await queue_push(session, runtime, **args, idempotency_key="esc-1:step-4")
    await deliver_pending(runtime)

    assert first == repeat
    assert other != first
    assert [item["kind"] for item in state.received] == ["push", "push"]
    payload = state.received[0]["payload"]
    assert payload == {
        "party": "vendor",
        "partyId": "67",
        "orderId": "12345",
        "template": "vendor_new_order.push",
        "data": {"amount": 325, "items": 2},
        "escalationId": "esc-1",
        "at": "2026-01-05T04:30:00+00:00",
    }
    assert state.rejected_signatures == 0
    [message, _] = await messages(runtime)
    assert json.loads(message.body) == payload
    assert message.url.endswith("/exocomms/push")
    async with runtime.db.transaction() as session:
        with pytest.raises(ValidationError):
            await queue_push(
                session, runtime, party="martian", party_id=None, order_id=None,
                template="x", data={}, escalation_id=None,
            )  # fmt: skip
        with pytest.raises(ValidationError):
            await queue_push(
                session, runtime, party="rider", party_id=None, order_id=None,
                template="", data={}, escalation_id=None,
            )  # fmt: skip


async def test_the_sample_backend_refuses_unsigned_deliveries_and_drops_repeats(
    runtime: Runtime, jupiter: tuple[str, JupiterState]
) -> None:
    base, state = jupiter
    unsigned = await runtime.http.post(base + "/exocomms/outcomes", content=b"{}")
    await publish(runtime, event("vendor.rejected", {"call_id": "c7"}))
    await deliver_pending(runtime)
    # A resend after a lost acknowledgement carries the same Idempotency-Key.
    [message] = await messages(runtime)
    async with runtime.db.transaction() as session:
        await session.execute(
            outbox_messages.update()
            .where(outbox_messages.c.id == message.id)
            .values(status="pending")
        )
    await deliver(runtime, Job(0, "outbox.deliver", None, {"message_id": message.id}, 2, 16))

    assert unsigned.status_code == 401
    assert len(state.received) == 1
    assert state.duplicates == 1
