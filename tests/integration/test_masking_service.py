"""Masking sessions on a real database: allocation, races, sticky reuse, PIN, expiry, routing."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, text, update

from exocomms.clock import Clock, ManualClock
from exocomms.events import DomainEvent, EventBus
from exocomms.jobs.queue import JobQueue
from exocomms.jobs.registry import Job, JobRegistry
from exocomms.masking import jobs, service
from exocomms.masking.model import (
    Connect,
    MaskingSession,
    PinRequired,
    SessionKind,
    SessionMode,
    SessionStatus,
    Unknown,
)
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs as jobs_table
from exocomms.storage.tables import masking_holds, masking_sessions

POOL = [f"+9180470910{i:02d}" for i in range(10)]
CUSTOMERS = [f"+9198765432{i:02d}" for i in range(20)]
RIDERS = [f"+9191234567{i:02d}" for i in range(20)]
VENDOR = "+919900112233"


def masking_settings(pool_size: int = 5, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "env": "test",
        "masking_numbers": ",".join(POOL[:pool_size]),
        "jupiter_webhook_secret": SecretStr("masking-test-secret-0123456789"),
    }
    values.update(overrides)
    return Settings(**values)


def make_runtime(db: Database, settings: Settings, clock: Clock | None = None) -> Runtime:
    clock = clock or ManualClock()
    registry = JobRegistry()
    jobs.register_masking_handlers(registry)
    bus = EventBus()
    jobs.subscribe_masking_listeners(bus)
    return Runtime(
        settings=settings,
        db=db,
        clock=clock,
        queue=JobQueue(db, clock, registry),
        registry=registry,
        http=httpx.AsyncClient(),
        events=bus,
    )


@pytest.fixture
async def rt(db: Database) -> AsyncIterator[Runtime]:
    runtime = make_runtime(db, masking_settings())
    yield runtime
    await runtime.http.aclose()


async def create(runtime: Runtime, order: str, a: str, b: str, **kw: Any) -> MaskingSession:
    request = service.new_session(runtime, order_id=order, party_a=a, party_b=b, **kw)
    return await service.create_session(runtime, request)


async def end(runtime: Runtime, order: str, grace_hours: float | None = None) -> None:
    async with runtime.db.transaction() as session:
        await service.end_in(session, runtime, order_id=order, grace_hours=grace_hours)


async def route(runtime: Runtime, caller: str, number: str) -> Any:
    async with runtime.db.transaction() as session:
        return await service.route(
            session, caller=caller, virtual_number=number, now=runtime.clock.now()
        )


async def run_due_expiry_jobs(runtime: Runtime) -> int:
    """Run every due ``masking.expire`` job through its handler (what a worker would do)."""
    async with runtime.db.transaction() as session:
        rows = (
            await session.execute(
                select(jobs_table).where(
                    jobs_table.c.kind == service.EXPIRE_JOB,
                    jobs_table.c.status == "pending",
                    jobs_table.c.run_at <= runtime.clock.now(),
                )
            )
        ).all()
    for row in rows:
        await jobs.expire(runtime, Job(row.id, row.kind, row.key, row.payload, 1, 8))
        async with runtime.db.transaction() as session:
            await session.execute(
                update(jobs_table).where(jobs_table.c.id == row.id).values(status="done")
            )
    return len(rows)


async def live_rule_holds(db: Database) -> None:
    """No participant holds one number in two routable direct sessions of different pairs."""
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(masking_sessions).where(
                    masking_sessions.c.status.in_(["live", "ended"]),
                    masking_sessions.c.mode == "direct",
                )
            )
        ).all()
        holds = (await session.execute(select(masking_holds))).all()
    partner: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows:
        partner[(r.virtual_number, r.party_a)].add(r.party_b)
        partner[(r.virtual_number, r.party_b)].add(r.party_a)
    assert all(len(others) == 1 for others in partner.values()), partner
    held = {(h.virtual_number, h.participant): h.counterparty for h in holds}
    assert held == {key: next(iter(v)) for key, v in partner.items()}


async def test_create_is_idempotent_and_reuses_numbers_across_participants(rt: Runtime) -> None:
    first = await create(rt, "o1", CUSTOMERS[0], RIDERS[0])
    again = await create(rt, "o1", "098765 43200", RIDERS[0])  # same pair, another spelling
    other = await create(rt, "o2", CUSTOMERS[1], RIDERS[1])
    same_customer = await create(rt, "o3", CUSTOMERS[0], RIDERS[2])
    assert first.id == again.id
    assert first.mode == SessionMode.DIRECT
    assert first.virtual_number == other.virtual_number == POOL[0]
    assert same_customer.virtual_number == POOL[1]
    assert first.expires_at == rt.clock.now() + timedelta(hours=24)
    await live_rule_holds(rt.db)


async def test_concurrent_creates_in_two_databases_never_share_a_number(rt: Runtime) -> None:
    """Two engines (two 'processes'), 60 creates at once: the rule holds, PIN when needed."""
    second_kwargs: dict[str, Any] = {}
    if rt.db.dialect == "postgresql":
        async with rt.db.engine.connect() as conn:
            schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
        second_kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    other_db = Database(rt.db.url, **second_kwargs)
    other = make_runtime(other_db, rt.settings, rt.clock)  # same clock: one 'now' for both
    rng = random.Random(7)
    pairs = {(rng.randrange(12), rng.randrange(4)) for _ in range(80)}
    try:
        results = await asyncio.gather(
            *(
                create(rt if i % 2 else other, f"o{c}-{r}", CUSTOMERS[c], RIDERS[r])
                for i, (c, r) in enumerate(sorted(pairs))
            )
        )
    finally:
        await other.http.aclose()
        await other_db.dispose()
    assert len({s.id for s in results}) == len(pairs)
    await live_rule_holds(rt.db)
    per_rider: dict[str, int] = defaultdict(int)
    for s in results:
        per_rider[s.party_b] += 1
    pins = [s for s in results if s.mode == SessionMode.PIN]
    # A rider with more sessions than the 5 numbers must get PIN sessions, and only then.
    assert len(pins) == sum(max(0, n - 5) for n in per_rider.values())
    assert len({(s.virtual_number, s.pin) for s in pins}) == len(pins)


async def test_sticky_number_comes_back_for_the_same_pair(rt: Runtime) -> None:
    await create(rt, "o1", CUSTOMERS[0], RIDERS[9])  # n0
    first = await create(rt, "o2", CUSTOMERS[0], RIDERS[0])  # n1: c0 holds n0
    assert first.virtual_number == POOL[1]
    await end(rt, "o1", grace_hours=0)
    await end(rt, "o2", grace_hours=0)
    again = await create(rt, "o3", CUSTOMERS[0], RIDERS[0])
    assert again.virtual_number == POOL[1]  # first-fit would say n0


async def test_pin_fallback_and_routing_for_a_busy_vendor(db: Database) -> None:
    rt = make_runtime(db, masking_settings(pool_size=2, masking_pin_digits=5))
    try:
        kind = SessionKind.CUSTOMER_VENDOR
        s1 = await create(rt, "o1", CUSTOMERS[1], VENDOR, kind=kind)
        s2 = await create(rt, "o2", CUSTOMERS[2], VENDOR, kind=kind)
        s3 = await create(rt, "o3", CUSTOMERS[3], VENDOR, kind=kind)
        assert (s1.mode, s2.mode, s3.mode) == (SessionMode.DIRECT,) * 2 + (SessionMode.PIN,)
        assert s3.pin is not None
        assert len(s3.pin) == 5
        assert s3.virtual_number == POOL[0]
        # The customer of the PIN session has one session on the number: straight through.
        assert await route(rt, CUSTOMERS[3], POOL[0]) == Connect(VENDOR, POOL[0], s3.id, "o3", kind)
        # The vendor holds the number for s1 and shares it with the PIN session: PIN first.
        vendor_route = await route(rt, VENDOR, POOL[0])
        assert isinstance(vendor_route, PinRequired)
        assert vendor_route.fallback == Connect(CUSTOMERS[1], POOL[0], s1.id, "o1", kind)
        async with rt.db.transaction() as session:
            now = rt.clock.now()
            by_pin = await service.route_by_pin(
                session, pin=s3.pin, virtual_number=POOL[0], caller=VENDOR, now=now
            )
            stranger = await service.route_by_pin(
                session, pin=s3.pin, virtual_number=POOL[0], caller="+919000000001", now=now
            )
            wrong = await service.route_by_pin(
                session,
                pin="00000" if s3.pin != "00000" else "11111",
                virtual_number=POOL[0],
                caller=VENDOR,
                now=now,
            )
        assert by_pin == Connect(CUSTOMERS[3], POOL[0], s3.id, "o3", kind)
        assert isinstance(stranger, Connect)
        assert stranger.to == VENDOR
        assert isinstance(wrong, Unknown)
        assert isinstance(await route(rt, "+919000000001", POOL[0]), PinRequired)
        assert isinstance(await route(rt, "+919000000001", POOL[1]), Unknown)
    finally:
        await rt.http.aclose()


async def test_recolouring_moves_only_unrevealed_sessions(db: Database) -> None:
    for revealed, expected_mode in ((False, SessionMode.DIRECT), (True, SessionMode.PIN)):
        rt = make_runtime(db, masking_settings(pool_size=2))
        tag = f"{revealed}"
        try:
            await create(rt, f"a{tag}", CUSTOMERS[1], RIDERS[1])  # n0
            await create(rt, f"b{tag}", CUSTOMERS[2], RIDERS[9])  # n0
            moved = await create(rt, f"c{tag}", CUSTOMERS[2], RIDERS[2], revealed=revealed)
            assert moved.virtual_number == POOL[1]
            await end(rt, f"b{tag}", grace_hours=0)
            # c1 holds only n0, r2 holds only n1: c1–r2 needs r2's session moved to n0.
            new = await create(rt, f"d{tag}", CUSTOMERS[1], RIDERS[2])
            assert new.mode == expected_mode
            async with rt.db.transaction() as session:
                row = (
                    await session.execute(
                        select(masking_sessions.c.virtual_number).where(
                            masking_sessions.c.id == moved.id
                        )
                    )
                ).scalar_one()
            assert row == (POOL[0] if not revealed else POOL[1])
            await live_rule_holds(rt.db)
            for order in ("a", "c", "d"):
                await end(rt, f"{order}{tag}", grace_hours=0)
        finally:
            await rt.http.aclose()


async def test_delivery_ends_sessions_and_the_grace_period_expires_them(rt: Runtime) -> None:
    clock = rt.clock
    assert isinstance(clock, ManualClock)
    event = DomainEvent(
        "rider.assigned",
        clock.now(),
        order_id="o9",
        data={"customer_phone": CUSTOMERS[5], "rider_phone": RIDERS[5], "rider_id": "r5"},
    )
    async with rt.db.transaction() as session:
        await rt.events.publish(session, rt, event)
        await rt.events.publish(session, rt, event)  # duplicate event: one job
        job_rows = (
            await session.execute(select(jobs_table).where(jobs_table.c.kind == jobs.CREATE_JOB))
        ).all()
    assert len(job_rows) == 1
    row = job_rows[0]
    await jobs.create_for_order(rt, Job(row.id, row.kind, row.key, row.payload, 1, 5))
    sessions = await service.status(rt, "o9", reveal=False)
    assert [(s.party_a, s.party_b, s.revealed) for s in sessions] == [
        (CUSTOMERS[5], RIDERS[5], False)
    ]
    number = sessions[0].virtual_number
    assert number is not None
    delivered = DomainEvent("order.delivered", clock.now(), order_id="o9")
    async with rt.db.transaction() as session:
        await rt.events.publish(session, rt, delivered)
    clock.advance(3 * 3600)
    assert isinstance(await route(rt, RIDERS[5], number), Connect)  # lost-item call, in grace
    assert await run_due_expiry_jobs(rt) == 0
    clock.advance(3600 + 1)
    assert await run_due_expiry_jobs(rt) == 1
    assert isinstance(await route(rt, RIDERS[5], number), Unknown)
    (after,) = await service.status(rt, "o9")
    assert after.status == SessionStatus.EXPIRED
    async with rt.db.transaction() as session:
        assert (await session.execute(select(masking_holds))).all() == []
    clock.advance(24 * 3600)  # the original 24 h job runs and changes nothing
    assert await run_due_expiry_jobs(rt) == 1
    assert await service.expire_due(rt) == 0
    (still,) = await service.status(rt, "o9")
    assert still.ended_at == after.ended_at


async def test_expiry_without_end_and_the_sweep(rt: Runtime) -> None:
    clock = rt.clock
    assert isinstance(clock, ManualClock)
    s = await create(rt, "o1", CUSTOMERS[0], RIDERS[0], expires_in_hours=1)
    assert isinstance(await route(rt, CUSTOMERS[0], s.virtual_number or ""), Connect)
    clock.advance(3600)
    assert isinstance(await route(rt, CUSTOMERS[0], s.virtual_number or ""), Unknown)
    assert await service.expire_due(rt) == 1
    fresh = await create(rt, "o1", CUSTOMERS[0], RIDERS[0])
    assert fresh.id != s.id
    assert fresh.virtual_number == s.virtual_number


async def test_without_a_number_pool_a_rider_assignment_creates_nothing_and_fails_nothing(
    db: Database,
) -> None:
    runtime = make_runtime(db, masking_settings(pool_size=0))
    try:
        payload = {"order_id": "o77", "customer_phone": CUSTOMERS[1], "rider_phone": RIDERS[1]}
        await jobs.create_for_order(runtime, Job(1, jobs.CREATE_JOB, None, payload, 1, 5))
        assert await service.status(runtime, "o77", reveal=False) == []
    finally:
        await runtime.http.aclose()
