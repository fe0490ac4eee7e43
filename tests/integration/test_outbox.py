"""The webhook outbox end to end: a real receiver over HTTP, the real worker, a manual clock."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.errors import Conflict, ValidationError
from exocomms.jobs.worker import Worker
from exocomms.outbox import repo, service
from exocomms.outbox.signing import verify
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs, outbox_attempts, outbox_messages
from tests.support.servers import free_port, serve_in_thread

SECRET = "outbox-test-secret-0123456789"
TIMEOUT = 0.3  # outbox_timeout_seconds in these tests; "slow" answers take much longer
PAYLOAD = {"order_id": 12345, "status": "accepted", "vendor": "Sharma Sweets", "note": "नमस्ते"}


@dataclass
class Receiver:
    """The commerce backend's webhook endpoint, answering from a script."""

    clock: ManualClock
    script: list[int | str] = field(default_factory=list)  # status codes or "slow"; then 200
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        headers = request.headers
        with self.lock:
            self.received.append(
                {
                    "body": body,
                    "timestamp": headers.get("x-exocomms-timestamp"),
                    "key": headers.get("idempotency-key"),
                    "topic": headers.get("x-exocomms-topic"),
                    "content_type": headers.get("content-type"),
                    "verified": verify(
                        SECRET,
                        headers.get("x-exocomms-timestamp"),
                        headers.get("x-exocomms-signature"),
                        body,
                        self.clock.now(),
                    ),
                }
            )
            action = self.script.pop(0) if self.script else 200
        if action == "slow":
            await asyncio.sleep(TIMEOUT * 3)
            return Response("late", status_code=200)
        assert isinstance(action, int)
        return Response(f"answer {action} " + "x" * 600, status_code=action)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hooks", self.endpoint, methods=["POST"])])


@contextmanager
def receiving(
    clock: ManualClock, *script: int | str, port: int | None = None
) -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver(clock, list(script))
    with serve_in_thread(receiver.app(), port=port) as base:
        yield receiver, f"{base}/hooks"


def make_runtime(db: Database, clock: ManualClock) -> Runtime:
    settings = Settings(  # type: ignore[call-arg]  # pydantic-settings' _env_file
        _env_file=None,
        jupiter_webhook_secret=SecretStr(SECRET),
        outbox_timeout_seconds=TIMEOUT,
        embedded_worker=False,
    )
    return build_runtime(settings, clock=clock, db=db)


@pytest.fixture
async def runtime(db: Database) -> AsyncIterator[Runtime]:
    rt = make_runtime(db, ManualClock())
    yield rt
    await rt.http.aclose()  # the db fixture disposes the database


@asynccontextmanager
async def running_worker(rt: Runtime) -> AsyncIterator[Worker]:
    """The real worker, for as long as the block runs; stopped gracefully afterwards."""
    stop = asyncio.Event()
    worker = Worker(rt, poll_seconds=0.05, grace_seconds=5, worker_id="test-worker")
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await task


async def wait_for(predicate: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll until ``predicate`` holds (a generous bound only to fail instead of hanging)."""
    deadline = time.monotonic() + 30
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def message(db: Database, message_id: int) -> repo.Message:
    async with db.sessions() as session:
        found = await repo.get_message(session, message_id)
    assert found is not None
    return found


async def attempts(db: Database, message_id: int) -> list[repo.Attempt]:
    async with db.sessions() as session:
        return await repo.list_attempts(session, message_id)


async def job_row(db: Database, key: str) -> Any:
    async with db.engine.connect() as conn:
        return (await conn.execute(select(jobs).where(jobs.c.key == key))).one()


async def count(db: Database, table: Any) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def add(rt: Runtime, url: str, **kwargs: Any) -> int:
    async with rt.db.transaction() as session:
        return await service.add_message(
            session,
            rt.queue,
            topic=kwargs.pop("topic", "vendor.accepted"),
            url=url,
            payload=kwargs.pop("payload", PAYLOAD),
            clock=rt.clock,
            **kwargs,
        )


async def retry_scheduled(rt: Runtime, message_id: int, attempt: int) -> None:
    """Wait until the worker has written attempt ``attempt``'s failure, then pass the backoff."""

    async def scheduled() -> bool:
        job = await job_row(rt.db, service.job_key(message_id))
        return bool(job.status == "pending" and job.attempts == attempt)

    await wait_for(scheduled, f"retry {attempt} scheduled")
    assert isinstance(rt.clock, ManualClock)
    rt.clock.advance(2 * 3600)  # past any backoff (1 h cap plus jitter)


async def delivered(rt: Runtime, message_id: int) -> None:
    async def done() -> bool:
        job = await job_row(rt.db, service.job_key(message_id))
        return bool(job.status == "done")

    await wait_for(done, "delivery")


async def test_rollback_stores_nothing_and_sends_nothing(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    with receiving(clock) as (receiver, url):

        async def change_that_fails() -> None:
            async with runtime.db.transaction() as session:
                await session.execute(update(jobs).values(status="pending"))  # a business write
                await service.add_message(
                    session, runtime.queue, topic="t.rolled", url=url, payload={"a": 1}, clock=clock
                )
                raise RuntimeError("business rule failed")

        with pytest.raises(RuntimeError, match="business rule failed"):
            await change_that_fails()
        assert await count(runtime.db, outbox_messages) == 0
        assert await count(runtime.db, jobs) == 0
        kept = await add(runtime, url, topic="t.kept")
        async with running_worker(runtime):
            await delivered(runtime, kept)
        assert [r["topic"] for r in receiver.received] == ["t.kept"]


async def test_two_500s_then_200_three_attempts_signed_and_delivered(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    with receiving(clock, 500, 503) as (receiver, url):
        message_id = await add(runtime, url, idempotency_key="order-12345-accepted")
        async with running_worker(runtime):
            await retry_scheduled(runtime, message_id, 1)
            await retry_scheduled(runtime, message_id, 2)
            await delivered(runtime, message_id)

    stored = await message(runtime.db, message_id)
    assert stored.status == "delivered"
    assert stored.attempts == 3
    assert stored.delivered_at == clock.now()
    assert stored.last_status_code == 200
    assert stored.body.encode() == receiver.received[0]["body"]

    logged = await attempts(runtime.db, message_id)
    assert [(a.attempt, a.status_code, a.error) for a in logged] == [
        (1, 500, "HTTP 500"),
        (2, 503, "HTTP 503"),
        (3, 200, None),
    ]
    assert all(a.duration_ms >= 0 for a in logged)
    assert all(a.response_excerpt is not None and len(a.response_excerpt) == 500 for a in logged)
    assert logged[0].response_excerpt is not None
    assert logged[0].response_excerpt.startswith("answer 500 ")

    got = receiver.received
    assert len(got) == 3
    assert all(r["verified"] for r in got)
    assert {r["key"] for r in got} == {"order-12345-accepted"}
    assert {r["body"] for r in got} == {stored.body.encode()}  # the same bytes every time
    assert {r["content_type"] for r in got} == {"application/json"}
    timestamps = [int(r["timestamp"]) for r in got]
    assert timestamps == sorted(set(timestamps))  # signed afresh at every attempt
    assert timestamps[-1] == int(clock.now().timestamp())


async def test_timeout_is_retried(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    with receiving(clock, "slow") as (receiver, url):
        message_id = await add(runtime, url)
        async with running_worker(runtime):
            await retry_scheduled(runtime, message_id, 1)
            await delivered(runtime, message_id)
    logged = await attempts(runtime.db, message_id)
    assert [(a.status_code, a.error) for a in logged] == [
        (None, "timeout (ReadTimeout)"),
        (200, None),
    ]
    assert (await message(runtime.db, message_id)).status == "delivered"
    assert len(receiver.received) == 2


async def test_worker_restart_loses_nothing(db: Database) -> None:
    clock = ManualClock()
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks"  # nobody listens yet: connection refused

    first = make_runtime(db, clock)
    message_id = await add(first, url)
    async with running_worker(first):
        await retry_scheduled(first, message_id, 1)
    await first.http.aclose()  # the process is gone; only the database remains

    stored = await message(db, message_id)
    assert stored.status == "pending"
    (failed,) = await attempts(db, message_id)
    assert failed.status_code is None
    assert failed.error is not None
    assert failed.error.startswith("ConnectError")

    second = make_runtime(db, clock)  # a new process: new queue, registry, HTTP client
    try:
        with receiving(clock, port=port) as (receiver, _url):
            async with running_worker(second):
                await delivered(second, message_id)
    finally:
        await second.http.aclose()
    assert (await message(db, message_id)).status == "delivered"
    assert len(receiver.received) == 1
    assert receiver.received[0]["verified"]
    assert [a.attempt for a in await attempts(db, message_id)] == [1, 2]


async def test_permanent_rejection_is_dead_at_once(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    with receiving(clock, 422) as (receiver, url):
        message_id = await add(runtime, url)
        async with running_worker(runtime):
            await delivered(runtime, message_id)  # the job is done: nothing more to try
    stored = await message(runtime.db, message_id)
    assert (stored.status, stored.attempts, stored.last_status_code) == ("dead", 1, 422)
    assert len(receiver.received) == 1


async def test_last_failed_attempt_marks_dead_and_redeliver_revives(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    with receiving(clock, 500, 500) as (receiver, url):
        message_id = await add(runtime, url)
        async with runtime.db.transaction() as session:  # a short budget for the test
            await session.execute(
                update(jobs).where(jobs.c.key == service.job_key(message_id)).values(max_attempts=2)
            )

        async def job_dead() -> bool:
            return bool((await job_row(runtime.db, service.job_key(message_id))).status == "dead")

        async with running_worker(runtime):
            await retry_scheduled(runtime, message_id, 1)
            await wait_for(job_dead, "dead job")
            stored = await message(runtime.db, message_id)
            assert (stored.status, stored.attempts) == ("dead", 2)

            async with runtime.db.transaction() as session:
                await service.redeliver(session, runtime.queue, message_id)

            async def revived() -> bool:
                return (await message(runtime.db, message_id)).status == "delivered"

            await wait_for(revived, "redelivery")
        assert len(receiver.received) == 3

    async with runtime.db.transaction() as session:
        with pytest.raises(Conflict):
            await service.redeliver(session, runtime.queue, message_id)


async def test_same_idempotency_key_is_stored_once(runtime: Runtime) -> None:
    url = "http://127.0.0.1:9/hooks"
    first = await add(runtime, url, idempotency_key="k-1")
    again = await add(runtime, url, idempotency_key="k-1", payload={"other": True})
    other = await add(runtime, url)
    assert first == again != other
    assert await count(runtime.db, outbox_messages) == 2
    assert await count(runtime.db, jobs) == 2
    generated = (await message(runtime.db, other)).idempotency_key
    assert generated.startswith("exocomms-")
    assert len(generated) > 20


async def test_body_is_canonical_json(runtime: Runtime) -> None:
    message_id = await add(runtime, "https://example.test/h", payload={"b": 1, "a": [1.5, "é"]})
    assert (await message(runtime.db, message_id)).body == '{"a":[1.5,"é"],"b":1}'


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"url": "ftp://x/y"}, "http"),
        ({"topic": ""}, "topic"),
        ({"payload": {"x": float("nan")}}, "JSON"),
        ({"payload": {"x": {1, 2}}}, "JSON"),
        ({"idempotency_key": "k" * 256}, "255"),
    ],
)
async def test_add_message_refuses_bad_input(
    runtime: Runtime, kwargs: dict[str, Any], error: str
) -> None:
    url = kwargs.pop("url", "https://example.test/h")
    with pytest.raises(ValidationError, match=error):
        await add(runtime, url, **kwargs)
    assert await count(runtime.db, outbox_messages) == 0
    assert await count(runtime.db, outbox_attempts) == 0
