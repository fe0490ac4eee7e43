"""The orchestrator's service and step jobs on a real database, with a manual clock.

Channels are a recording fake here (what each step asked the other slices to queue); the
"real channels" tests at the end use the telephony/messaging/commerce functions and check the
rows and jobs they leave.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.escalation import engine, repo, service
from exocomms.escalation.channels import Target
from exocomms.events import DomainEvent
from exocomms.jobs import store
from exocomms.jobs.store import Finish
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs, timeline_entries

VENDOR = "+919812345678"
ADMIN = "+919800000001"
ORDER_CONTEXT = {"store_name": "Krishna Kirana", "amount": 240, "items": [{"name": "Atta"}]}


@dataclass
class FakeChannels:
    """Records what each step queued (``(channel, to, detail)``)."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def _log(self, channel: str, to: str, detail: str) -> str:
        self.sent.append((channel, to, detail))
        return f"ref{len(self.sent)}"

    async def push(self, session: Any, runtime: Any, *, party: str, template: str, **_: Any) -> str:
        return self._log("push", party, template)

    async def message(
        self, session: Any, runtime: Any, *, channel: str, to: str, template: str, **_: Any
    ) -> str:
        return self._log(channel, to, template)

    async def ring(self, session: Any, runtime: Any, *, phone: str, caller: str, **_: Any) -> str:
        return self._log("ring", phone, caller)

    async def ivr_call(
        self, session: Any, runtime: Any, *, ivr: str, target: Target, **_: Any
    ) -> str:
        return self._log("ivr_call", target.phone, ivr)

    async def bridge(self, session: Any, runtime: Any, *, first: str, second: str, **_: Any) -> str:
        return self._log("bridge", first, second)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "env": "test",
        "embedded_worker": False,
        "admin_on_duty_phone": ADMIN,
        "caller_id": "+918047000000",
        "did_new_order": "+918047000001",
        "jupiter_webhook_secret": SecretStr("escalation-test-secret-0123456789"),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def rt(db: Database) -> AsyncIterator[Runtime]:
    runtime = build_runtime(make_settings(), clock=ManualClock(), db=db)
    runtime.extras[service.CHANNELS_EXTRA] = FakeChannels()
    yield runtime
    await runtime.http.aclose()


def fake(rt: Runtime) -> FakeChannels:
    channels = rt.extras[service.CHANNELS_EXTRA]
    assert isinstance(channels, FakeChannels)
    return channels


def clock(rt: Runtime) -> ManualClock:
    assert isinstance(rt.clock, ManualClock)
    return rt.clock


async def run_due(rt: Runtime, kinds: tuple[str, ...] = ("escalation.",)) -> int:
    """Run every due job whose kind starts with one of ``kinds``, until none is left.

    Other due jobs (sends of the other slices) are handed back untouched.
    """
    ran = 0
    while True:
        now = rt.clock.now()
        got = await store.claim(rt.db, "test", 100, now, now + timedelta(minutes=5))
        results = []
        for claimed in got.claimed:
            job = claimed.job
            if job.kind.startswith(kinds):
                spec = rt.registry.get(job.kind)
                assert spec is not None
                await spec.fn(rt, job)
                ran += 1
                results.append(Finish(job.id, job.attempt, "done"))
            else:
                results.append(Finish(job.id, job.attempt, "release", run_at=now, refund=1))
        await store.finish(rt.db, "test", results, now, notify=False)
        if not any(r.outcome == "done" for r in results):
            return ran


async def advance_to(rt: Runtime, start: datetime, seconds: float) -> None:
    clock(rt).set(start + timedelta(seconds=seconds))
    await run_due(rt)


async def start_vendor(rt: Runtime, order_id: str = "1001", **kw: Any) -> str:
    async with rt.db.transaction() as session:
        return await service.start_escalation(
            session,
            rt,
            event_type=kw.pop("event_type", "vendor_new_order"),
            order_id=order_id,
            phone=kw.pop("phone", VENDOR),
            party_id="S1",
            name="Krishna Kirana",
            context=kw.pop("context", ORDER_CONTEXT),
            **kw,
        )


async def escalation(rt: Runtime, esc_id: str) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        row = await repo.get(session, esc_id)
    assert row is not None
    return row


async def pending_steps(rt: Runtime, esc_id: str) -> list[str]:
    async with rt.db.transaction() as session:
        rows = await session.execute(
            select(jobs.c.key).where(
                jobs.c.status == "pending", jobs.c.key.startswith(f"esc:{esc_id}:")
            )
        )
        return [str(k) for k in rows.scalars()]


async def publish(rt: Runtime, name: str, order_id: str, **kw: Any) -> None:
    async with rt.db.transaction() as session:
        event = DomainEvent(name=name, at=rt.clock.now(), order_id=order_id, **kw)
        await rt.events.publish(session, rt, event)


async def test_vendor_ladder_goes_push_whatsapp_ring_ivr_admin(rt: Runtime) -> None:
    t0 = rt.clock.now()
    esc_id = await start_vendor(rt)
    assert esc_id == "vendor_order_1001"
    sent = fake(rt).sent
    for seconds, expected in (
        (0, [("push", "vendor", "vendor_new_order.push")]),
        (59, []),
        (60, [("whatsapp", VENDOR, "vendor_new_order.whatsapp")]),
        (120, [("ring", VENDOR, "new_order")]),
        (180, [("ivr_call", VENDOR, "vendor_order")]),
        (
            300,
            [
                ("sms", ADMIN, "admin.alert"),
                ("whatsapp", ADMIN, "admin.alert"),
                ("bridge", ADMIN, VENDOR),
            ],
        ),
    ):
        before = len(sent)
        await advance_to(rt, t0, seconds)
        assert sent[before:] == expected, seconds
    row = await escalation(rt, esc_id)
    assert row["status"] == "exhausted"
    assert await pending_steps(rt, esc_id) == []
    # A late accept still acknowledges an exhausted ladder.
    await publish(rt, "vendor.accepted", "1001", party="vendor", actor=VENDOR, data={})
    assert (await escalation(rt, esc_id))["status"] == "acknowledged"


async def test_start_is_idempotent_and_restarts_for_a_new_party(rt: Runtime) -> None:
    first = await start_vendor(rt, event_type="rider_assignment", phone="+919811111111")
    again = await start_vendor(rt, event_type="rider_assignment", phone="+919811111111")
    assert first == again == "rider_assign_1001"
    assert len(await pending_steps(rt, first)) == 1
    # Another rider while the first ladder runs: the old one stops, the new one starts.
    await start_vendor(rt, event_type="rider_assignment", phone="+919822222222")
    row = await escalation(rt, first)
    assert row["status"] == "active"
    assert row["party_phone"] == "+919822222222"
    keys = await pending_steps(rt, first)
    assert len(keys) == 1
    assert keys[0].endswith(":0:2")
    await run_due(rt)
    assert fake(rt).sent == [("push", "rider", "rider_assignment.push")]


async def test_ack_after_whatsapp_stops_everything(rt: Runtime) -> None:
    t0 = rt.clock.now()
    esc_id = await start_vendor(rt)
    await advance_to(rt, t0, 60)
    assert [s[0] for s in fake(rt).sent] == ["push", "whatsapp"]
    clock(rt).advance(5)
    await publish(
        rt,
        "party.acknowledged",
        "1001",
        party="vendor",
        actor=VENDOR,
        data={"channel": "whatsapp", "escalation_id": esc_id},
    )
    row = await escalation(rt, esc_id)
    assert (row["status"], row["acknowledged_by"], row["acknowledged_channel"]) == (
        "acknowledged",
        VENDOR,
        "whatsapp",
    )
    assert await pending_steps(rt, esc_id) == []
    await advance_to(rt, t0, 3600)
    assert [s[0] for s in fake(rt).sent] == ["push", "whatsapp"]
    async with rt.db.transaction() as session:
        assert await service.still_open(session, esc_id) is False
        # A second ack changes nothing.
        assert not await service.acknowledge(
            session, rt, escalation_id=esc_id, by="api", channel="api"
        )


async def test_ack_racing_a_due_step_never_sends_after_the_ack(rt: Runtime) -> None:
    """The due WhatsApp step and an ack run concurrently, many times over."""
    rounds = 12
    t0 = rt.clock.now()
    ids = [await start_vendor(rt, order_id=f"R{i}") for i in range(rounds)]
    await advance_to(rt, t0, 0)  # every push (step 0) is out
    clock(rt).set(t0 + timedelta(seconds=60))  # every WhatsApp (step 1) is due
    rng = random.Random(7)

    async def step(esc_id: str) -> None:
        await asyncio.sleep(rng.random() / 500)
        async with rt.db.transaction() as session:
            await service.run_step(session, rt, esc_id, 1, 1)

    async def ack(esc_id: str) -> None:
        await asyncio.sleep(rng.random() / 500)
        async with rt.db.transaction() as session:
            await service.acknowledge(session, rt, escalation_id=esc_id, by=VENDOR, channel="ivr")

    await asyncio.gather(*(f(e) for e in ids for f in (step, ack)))
    await advance_to(rt, t0, 3600)  # whatever is still pending would run now
    outcomes = set()
    async with rt.db.transaction() as session:
        for esc_id in ids:
            entries = (
                await session.execute(
                    select(timeline_entries.c.id, timeline_entries.c.kind).where(
                        timeline_entries.c.escalation_id == esc_id
                    )
                )
            ).all()
            ack_id = next(i for i, kind in entries if kind == "ack")
            steps = [i for i, kind in entries if kind == "step"]
            assert all(i < ack_id for i in steps), esc_id  # nothing went out after the ack
            outcomes.add(len(steps))
    for esc_id in ids:
        assert await pending_steps(rt, esc_id) == []
    assert outcomes <= {1, 2}  # push only (ack won), or push + WhatsApp (step won)
    assert {d for _, _, d in fake(rt).sent} <= {
        "vendor_new_order.push",
        "vendor_new_order.whatsapp",
    }


async def test_stale_and_duplicate_step_jobs_are_no_ops(rt: Runtime) -> None:
    t0 = rt.clock.now()
    esc_id = await start_vendor(rt)
    await advance_to(rt, t0, 0)
    async with rt.db.transaction() as session:
        again = await service.run_step(session, rt, esc_id, 0, 0)  # replayed job
        unknown = await service.run_step(session, rt, "vendor_order_nope", 0, 0)
    assert isinstance(again, engine.Stop)
    assert not again.changed
    assert unknown is None
    assert len(fake(rt).sent) == 1


async def test_customer_step_waits_for_the_window_outside_hours(rt: Runtime) -> None:
    # 22:00 IST: promotional traffic waits for 10:00 the next morning.
    clock(rt).set(datetime(2026, 1, 6, 16, 30, tzinfo=UTC))
    ladder = {
        "steps": [
            {
                "channel": "whatsapp",
                "delay_seconds": 0,
                "template": "customer_status.whatsapp",
                "purpose": "promotional_offer",
                "conditions": {"respect_hours": True},
            },
            {"channel": "sms", "delay_seconds": 60, "template": "customer_status.sms"},
        ]
    }
    async with rt.db.transaction() as session:
        saved = await service.save_ladder(session, rt, "customer_status", ladder)
    assert saved.version == 1
    esc_id = await start_vendor(
        rt, order_id="C1", event_type="customer_status", context={"status": "preparing"}
    )
    await run_due(rt)
    assert fake(rt).sent == []
    (key,) = await pending_steps(rt, esc_id)
    async with rt.db.transaction() as session:
        run_at = (
            await session.execute(select(jobs.c.run_at).where(jobs.c.key == key))
        ).scalar_one()
    opens = datetime(2026, 1, 7, 4, 30, tzinfo=UTC)  # 10:00 IST
    assert run_at == opens
    clock(rt).set(opens - timedelta(seconds=1))
    await run_due(rt)
    assert fake(rt).sent == []
    clock(rt).set(opens)
    await run_due(rt)
    assert fake(rt).sent == [("whatsapp", VENDOR, "customer_status.whatsapp")]
    clock(rt).set(opens + timedelta(seconds=60))  # the rest of the ladder shifted too
    await run_due(rt)
    assert fake(rt).sent[-1] == ("sms", VENDOR, "customer_status.sms")
    async with rt.db.transaction() as session:
        entries = await repo.entries_for_order(session, "C1")
    assert any("waits until 2026-01-07T04:30:00+00:00" in e["summary"] for e in entries)


async def test_ladder_edits_apply_to_new_escalations_only(rt: Runtime) -> None:
    t0 = rt.clock.now()
    old = await start_vendor(rt, order_id="E1")
    async with rt.db.transaction() as session:
        saved = await service.save_ladder(
            session,
            rt,
            "vendor_new_order",
            {"steps": [{"channel": "sms", "delay_seconds": 0, "template": "vendor_new_order.sms"}]},
            updated_by="ops",
        )
        assert saved.version == 1
        again = await service.save_ladder(session, rt, "vendor_new_order", saved.to_dict())
        assert again.version == 2
        assert (await service.load_ladder(session, "vendor_new_order")).version == 2
    new = await start_vendor(rt, order_id="E2")
    await advance_to(rt, t0, 60)
    assert sorted(fake(rt).sent) == [
        ("push", "vendor", "vendor_new_order.push"),
        ("sms", VENDOR, "vendor_new_order.sms"),
        ("whatsapp", VENDOR, "vendor_new_order.whatsapp"),
    ]
    assert (await escalation(rt, new))["status"] == "exhausted"
    assert (await escalation(rt, old))["status"] == "active"


async def test_a_failing_channel_is_recorded_and_the_ladder_goes_on(rt: Runtime) -> None:
    rt.settings.admin_on_duty_phone = ""
    t0 = rt.clock.now()
    esc_id = await start_vendor(rt, order_id="F1")
    await advance_to(rt, t0, 300)
    async with rt.db.transaction() as session:
        entries = await repo.entries_for_order(session, "F1")
    failed = [e["summary"] for e in entries if "failed" in e["summary"]]
    assert failed == [
        "step 4 admin_alert failed: no admin on duty (EXOCOMMS_ADMIN_ON_DUTY_PHONE is not set)",
        "step 5 admin_bridge failed: no admin on duty (EXOCOMMS_ADMIN_ON_DUTY_PHONE is not set)",
    ]
    assert (await escalation(rt, esc_id))["status"] == "exhausted"


def _order_event(order: Mapping[str, Any]) -> dict[str, Any]:
    return {"data": {"order": dict(order)}, "party": "vendor", "actor": "jupiter"}
