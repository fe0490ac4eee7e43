"""The app on a real database: lifespan and embedded worker, /health, /metrics, outbox API."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.outbox import service
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.web.app import create_app
from tests.support.db import on_postgres
from tests.support.servers import serve_in_thread

ADMIN_KEY = "admin-key-for-tests-0123456789"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "jupiter_webhook_secret": SecretStr("web-test-secret-0123456789"),
        "embedded_worker": True,
        "job_poll_seconds": 0.05,
        "outbox_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def runtime(db: Database) -> AsyncIterator[Runtime]:
    rt = build_runtime(make_settings(), clock=ManualClock(), db=db)
    yield rt
    await rt.http.aclose()  # the db fixture disposes the database


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan (migrations, worker) and give a client for it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://exocomms.test") as c:
            yield c


async def wait_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def add_message(rt: Runtime, url: str, topic: str = "vendor.accepted") -> int:
    async with rt.db.transaction() as session:
        return await service.add_message(
            session, rt.queue, topic=topic, url=url, payload={"order_id": 1}, clock=rt.clock
        )


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_health_reports_database_worker_and_counts(runtime: Runtime) -> None:
    app = create_app(runtime.settings, runtime=runtime)
    async with started(app) as client:
        await add_message(runtime, "http://127.0.0.1:9/never", topic="t.pending")
        await client.get("/health")
        response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == "0.1.0"
    database = body["database"]
    assert database["reachable"] is True
    assert database["dialect"] == ("postgresql" if on_postgres() else "sqlite")
    assert isinstance(database["latencyMs"], float)
    assert database["latencyMs"] >= 0
    assert body["worker"] == {"embedded": True, "running": True}
    assert body["jobs"]["dead"] == 0
    assert body["jobs"]["pending"] + body["jobs"]["running"] == 1
    assert body["outbox"] == {"pending": 1, "delivered": 0, "dead": 0}
    assert body["checks"] == {"database": "ok", "worker": "ok"}


async def test_health_without_embedded_worker(runtime: Runtime) -> None:
    app = create_app(make_settings(embedded_worker=False), runtime=runtime)
    async with started(app) as client:
        body = (await client.get("/health")).json()
    assert body["status"] == "ok"
    assert body["worker"] == {"embedded": False, "running": False}
    assert body["checks"]["worker"] == "external"


async def test_health_503_when_database_unreachable(tmp_path: Path) -> None:
    # A directory is not a database file; port 1 refuses connections.
    url = (
        "postgresql+psycopg://postgres@127.0.0.1:1/test"
        if on_postgres()
        else f"sqlite+aiosqlite:///{tmp_path}"
    )
    broken = Database(url)
    rt = build_runtime(make_settings(embedded_worker=False), clock=ManualClock(), db=broken)
    app = create_app(rt.settings, runtime=rt, migrate_on_start=False)
    try:
        async with started(app) as client:
            response = await client.get("/health")
            metrics = await client.get("/metrics")
    finally:
        await rt.http.aclose()
        await broken.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["reachable"] is False
    assert body["checks"]["database"] == "unreachable"
    assert metrics.status_code == 200
    assert metric_samples(metrics.text)[("exocomms_database_up", ())] == 0


async def test_metrics_parse_and_count_requests_jobs_and_deliveries(runtime: Runtime) -> None:
    received: list[bytes] = []

    async def receiver(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        message = await receive()
        received.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = create_app(runtime.settings, runtime=runtime)
    with serve_in_thread(receiver) as base:
        async with started(app) as client:
            message_id = await add_message(runtime, f"{base}/hooks")

            async def delivered_and_finished() -> bool:
                detail = await client.get(f"/outbox/messages/{message_id}")
                text = (await client.get("/metrics")).text
                done = metric_samples(text).get(
                    ("exocomms_worker_jobs_total", (("outcome", "done"),))
                )
                return bool(detail.json()["status"] == "delivered" and done == 1)

            await wait_until(delivered_and_finished, "delivery by the embedded worker")
            await client.get("/no/such/page")
            response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = metric_samples(response.text)
    assert samples[("exocomms_outbox_deliveries_total", (("result", "delivered"),))] == 1
    assert samples[("exocomms_outbox_messages", (("status", "delivered"),))] == 1
    assert samples[("exocomms_jobs", (("status", "done"),))] == 1
    assert samples[("exocomms_database_up", ())] == 1
    assert samples[("exocomms_worker_running", ())] == 1
    assert samples[("exocomms_worker_jobs_total", (("outcome", "done"),))] == 1
    assert samples[("exocomms_build_info", (("version", "0.1.0"),))] == 1
    route = "/outbox/messages/{message_id}"
    assert (
        samples[
            (
                "exocomms_http_requests_total",
                (("method", "GET"), ("route", route), ("status", "200")),
            )
        ]
        >= 1
    )
    unmatched = (("method", "GET"), ("route", "<unmatched>"), ("status", "404"))
    assert samples[("exocomms_http_requests_total", unmatched)] == 1
    count_key = (
        "exocomms_http_request_duration_seconds_count",
        (("method", "GET"), ("route", route)),
    )
    assert samples[count_key] >= 1
    assert len(received) == 1


async def test_two_apps_in_one_process_have_separate_metrics(runtime: Runtime) -> None:
    first = create_app(make_settings(embedded_worker=False), runtime=runtime)
    second = create_app(make_settings(embedded_worker=False), runtime=runtime)
    async with started(first) as one, started(second) as two:
        await one.get("/health")
        text = (await two.get("/metrics")).text
    assert 'route="/health"' not in text


async def test_outbox_api_lists_filters_and_pages(runtime: Runtime) -> None:
    app = create_app(make_settings(embedded_worker=False), runtime=runtime)
    ids = [await add_message(runtime, "http://127.0.0.1:9/h", topic=f"t.{i % 2}") for i in range(5)]
    async with started(app) as client:
        everything = (await client.get("/outbox/messages")).json()
        assert [m["id"] for m in everything["items"]] == ids[::-1]
        assert everything["nextBefore"] is None
        first = everything["items"][0]
        assert first["status"] == "pending"
        assert first["attempts"] == 0
        assert first["idempotencyKey"].startswith("exocomms-")
        assert first["createdAt"].startswith("2026-01-05T04:30:00")
        assert "body" not in first

        page = (await client.get("/outbox/messages", params={"limit": 2})).json()
        assert [m["id"] for m in page["items"]] == [ids[4], ids[3]]
        rest = (
            await client.get("/outbox/messages", params={"limit": 2, "before": page["nextBefore"]})
        ).json()
        assert [m["id"] for m in rest["items"]] == [ids[2], ids[1]]

        odd = (await client.get("/outbox/messages", params={"topic": "t.1"})).json()
        assert [m["id"] for m in odd["items"]] == [ids[3], ids[1]]
        none = (await client.get("/outbox/messages", params={"status": "dead"})).json()
        assert none["items"] == []

        bad = await client.get("/outbox/messages", params={"status": "lost"})
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["loc"] == ["query", "status"]

        detail = (await client.get(f"/outbox/messages/{ids[0]}")).json()
        assert detail["payload"] == {"order_id": 1}
        assert detail["body"] == '{"order_id":1}'
        assert detail["attemptLog"] == []

        missing = await client.get("/outbox/messages/999999")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        conflict = await client.post(f"/outbox/messages/{ids[0]}/redeliver")
        assert conflict.status_code == 409
        assert conflict.json()["error"]["details"] == {"status": "pending"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"X-API-Key": "wrong"}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": f"Basic {ADMIN_KEY}"}, 401),
        ({"X-API-Key": ADMIN_KEY}, 200),
        ({"Authorization": f"Bearer {ADMIN_KEY}"}, 200),
    ],
)
async def test_admin_key_guards_outbox_api(
    runtime: Runtime, headers: dict[str, str], status: int
) -> None:
    settings = make_settings(embedded_worker=False, admin_api_key=SecretStr(ADMIN_KEY))
    # One Settings per process: the runtime the app serves carries the same admin key.
    app = create_app(settings, runtime=dataclasses.replace(runtime, settings=settings))
    async with started(app) as client:
        response = await client.get("/outbox/messages", headers=headers)
        health = await client.get("/health")
    assert response.status_code == status
    if status == 401:
        assert response.json()["error"]["code"] == "unauthorized"
    assert health.status_code == 200  # probes need no key


async def test_lifespan_migrates_and_stops_worker(tmp_path: Path) -> None:
    s = make_settings(data_dir=tmp_path, database_url=None)
    if on_postgres():
        pytest.skip("builds its own SQLite database from settings")
    app = create_app(s)
    async with started(app) as client:
        body = (await client.get("/health")).json()
        worker = app.state.worker
        assert worker.running
    assert body["status"] == "ok"
    assert body["outbox"] == {"pending": 0, "delivered": 0, "dead": 0}  # tables were created
    assert not worker.running
    assert (tmp_path / "exocomms.db").exists()
