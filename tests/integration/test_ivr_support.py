"""Helpers for the telephony slice's tests: a runtime with a fake Exotel, and a job runner."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from sqlalchemy import select, update

from exocomms.bootstrap import build_event_bus, build_registry
from exocomms.clock import Clock, ManualClock
from exocomms.events import DomainEvent
from exocomms.jobs.queue import JobQueue
from exocomms.jobs.registry import Job, RetryLater
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs
from exocomms.telephony.provider import build_telephony

TOKEN = "test-webhook-token-0123456789"
CALLER_ID = "08047112233"
TELEPHONY_JOBS = frozenset({"ivr.place", "calls.place", "calls.reconcile", "messaging.send"})


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    """Test settings: a known token, a caller id, no embedded worker."""
    values: dict[str, Any] = {
        "env": "test",
        "data_dir": tmp_path,
        "webhook_token": TOKEN,
        "caller_id": CALLER_ID,
        "did_new_order": "08047112244",
        "exotel_account_sid": "exosim",
        "exotel_api_key": "exosim-key",
        "exotel_api_token": "exosim-token",
        "public_base_url": "http://127.0.0.1:8080",
        "embedded_worker": False,
        "ivr_retry": {"vendor_order_confirmation": {"initial_delay": 60, "max_attempts": 3}},
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]  # pydantic-settings kw


@dataclass
class FakeExotel:
    """Records requests; answers Calls/connect, call details, SMS and WhatsApp."""

    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    call_status: str = "completed"
    connect_status: int = 200
    counter: int = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body: dict[str, Any] = {}
        if request.content:
            if request.headers.get("content-type", "").startswith("application/json"):
                body = json.loads(request.content)
            else:
                body = dict(parse_qsl(request.content.decode()))
        self.requests.append((request.method, path, body))
        if path.endswith("Calls/connect.json"):
            if self.connect_status != 200:
                return httpx.Response(self.connect_status, json={"RestException": {"Message": "x"}})
            self.counter += 1
            return httpx.Response(
                200, json={"Call": {"Sid": f"sid{self.counter:029d}", "Status": "in-progress"}}
            )
        if "/Calls/" in path:
            sid = path.rsplit("/", 1)[-1].removesuffix(".json")
            return httpx.Response(
                200, json={"Call": {"Sid": sid, "Status": self.call_status, "Duration": "12"}}
            )
        if path.endswith("Sms/send.json"):
            self.counter += 1
            return httpx.Response(
                200, json={"SMSMessage": {"Sid": f"sms{self.counter}", "Status": "queued"}}
            )
        if path.endswith("/messages"):
            self.counter += 1
            data = {"status": "success", "data": {"sid": f"wa{self.counter}"}}
            return httpx.Response(202, json={"response": {"whatsapp": {"messages": [data]}}})
        return httpx.Response(404, json={"RestException": {"Message": "not found"}})

    def posted(self, suffix: str) -> list[dict[str, Any]]:
        """Bodies of requests whose path ends with ``suffix``."""
        return [body for _, path, body in self.requests if path.endswith(suffix)]


def make_runtime(
    settings: Settings,
    db: Database,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Runtime:
    """A runtime on ``db`` whose Exotel client uses ``transport`` (fake or exosim)."""
    clock = clock or ManualClock()
    registry = build_registry()
    runtime = Runtime(
        settings=settings,
        db=db,
        clock=clock,
        queue=JobQueue(db, clock, registry),
        registry=registry,
        http=httpx.AsyncClient(),
        events=build_event_bus(),
    )
    runtime.telephony = build_telephony(settings, db, clock, transport=transport)
    return runtime


@asynccontextmanager
async def fake_runtime(
    settings: Settings, db: Database
) -> AsyncIterator[tuple[Runtime, FakeExotel]]:
    """A runtime with a :class:`FakeExotel` behind its client; closed afterwards."""
    fake = FakeExotel()
    runtime = make_runtime(settings, db, transport=httpx.MockTransport(fake.handler))
    try:
        yield runtime, fake
    finally:
        assert runtime.telephony is not None
        await runtime.telephony.aclose()
        await runtime.http.aclose()


def capture(runtime: Runtime, *names: str) -> list[DomainEvent]:
    """Collect published events with these names."""
    seen: list[DomainEvent] = []

    async def listener(_session: Any, _runtime: Any, event: DomainEvent) -> None:
        if not names or event.name in names:
            seen.append(event)

    runtime.events.subscribe("*", listener)
    return seen


async def run_due_jobs(
    runtime: Runtime, kinds: Callable[[str], bool] = lambda k: k in TELEPHONY_JOBS
) -> list[str]:
    """Run every due pending telephony job once, in order (a tiny synchronous worker)."""
    ran: list[str] = []
    while True:
        async with runtime.db.transaction() as session:
            row = (
                (
                    await session.execute(
                        select(jobs)
                        .where(jobs.c.status == "pending", jobs.c.run_at <= runtime.clock.now())
                        .order_by(jobs.c.run_at, jobs.c.id)
                    )
                )
                .mappings()
                .all()
            )
            todo = [r for r in row if kinds(r["kind"])]
            if not todo:
                return ran
            job = todo[0]
            await session.execute(update(jobs).where(jobs.c.id == job["id"]).values(status="done"))
        spec = runtime.registry.get(job["kind"])
        assert spec is not None
        with suppress(RetryLater):
            await spec.fn(runtime, Job(job["id"], job["kind"], job["key"], job["payload"], 1, 5))
        ran.append(job["kind"])


async def pending_jobs(runtime: Runtime) -> list[dict[str, Any]]:
    """Pending jobs, oldest first."""
    async with runtime.db.transaction() as session:
        rows = await session.execute(
            select(jobs).where(jobs.c.status == "pending").order_by(jobs.c.id)
        )
        return [dict(r) for r in rows.mappings()]
