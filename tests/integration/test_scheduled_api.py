"""``/scheduled-calls`` over HTTP (ASGI): validation, list filters and pages, stats, cancel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from exocomms.calls.model import CallStatus
from exocomms.clock import ManualClock
from exocomms.runtime import Runtime
from exocomms.storage.db import Database
from exocomms.web.app import create_app
from tests.integration.test_scheduled_support import end_call, run_jobs, scheduling_runtime

KEY = "scheduled-admin-key-0123456789"
IVR = {"ivr": "customer_status", "slots": {"order_id": "9", "status": "confirmed"}}


@pytest.fixture
async def env(tmp_path: Path, db: Database) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    clock = ManualClock()
    async with scheduling_runtime(tmp_path, db, clock, admin_api_key=SecretStr(KEY)) as (
        runtime,
        _fake,
    ):
        app = create_app(
            runtime.settings, runtime=runtime, migrate_on_start=False, configure_logs=False
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://exocomms.test", headers={"X-API-Key": KEY}
            ) as client:
                yield runtime, client


def _b(**extra: Any) -> dict[str, Any]:
    return {"phone": "9876543210", "purpose": "delivery_update", **extra}


BAD: list[tuple[dict[str, Any], str]] = [
    ({"phone": "12", "purpose": "delivery_update"}, "phone"),
    ({"phone": "not a phone", "purpose": "delivery_update"}, "phone"),
    (_b(purpose="no_such_purpose"), "purpose"),
    (_b(preferredTime="tomorrow"), "time"),
    (_b(preferredTime="2026-01-05T10:00"), "offset"),
    (_b(preferredTime="2027-01-05T10:00:00Z"), "90 days"),
    (_b(priority=0), "priority"),
    (_b(priority=11), "priority"),
    (_b(retryConfig={"maxAttempts": 0}), "maxAttempts"),
    (_b(retryConfig={"maxAttempts": 11}), "maxAttempts"),
    (_b(retryConfig={"backoffMultiplier": 0.5}), "backoff"),
    (_b(retryConfig={"initialDelaySeconds": 900, "maxDelaySeconds": 60}), "maxDelay"),
    (_b(retryConfig={"retryOn": ["completed"]}), "retryOn"),
    (_b(retryConfig={"tries": 2}), "unknown"),
    (_b(context={"ivr": "nope"}), "IVR"),
    (_b(context={"agentPhone": "x"}), "phone"),
    (_b(context={"blob": "x" * 5000}), "4000"),
    (_b(extra=1), "extra"),
]


async def test_bad_requests_are_422_and_store_nothing(
    env: tuple[Runtime, httpx.AsyncClient],
) -> None:
    _runtime, client = env
    for body, hint in BAD:
        r = await client.post("/scheduled-calls", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == "validation_error"
        assert hint.lower() in r.text.lower(), (hint, r.text)
    listing = (await client.get("/scheduled-calls")).json()
    assert listing == {"items": [], "nextCursor": None}


async def test_create_get_list_filter_page_cancel_and_stats(
    env: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = env
    now = runtime.clock.now()
    r = await client.post(
        "/scheduled-calls",
        json={
            "phone": "098765 43210",
            "purpose": "delivery_update",
            "preferredTime": (now - timedelta(hours=1)).isoformat(),  # past → now
            "context": IVR,
            "priority": 8,
            "useVerifiedCall": True,
            "retryConfig": {"maxAttempts": 2},
        },
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["phone"] == "+919876543210"
    assert first["scheduledTime"] == now.isoformat()
    assert first["status"] == "scheduled"
    assert first["retryConfig"] == {
        "maxAttempts": 2,
        "initialDelaySeconds": 300.0,
        "backoffMultiplier": 2.0,
        "maxDelaySeconds": 3600.0,
        "jitter": 0.1,
        "retryOn": ["busy", "failed", "no-answer"],
    }
    later = (now + timedelta(days=2)).isoformat()
    ids = [first["id"]]
    for phone, purpose in [("9812345678", "payment_reminder"), ("9812345679", "feedback_request")]:
        body = {"phone": phone, "purpose": purpose, "preferredTime": later}
        ids.append((await client.post("/scheduled-calls", json=body)).json()["id"])

    assert (await client.get(f"/scheduled-calls/{ids[1]}")).json()["purpose"] == "payment_reminder"
    assert (await client.get("/scheduled-calls/999")).status_code == 404
    page1 = (await client.get("/scheduled-calls", params={"limit": 2})).json()
    assert [i["id"] for i in page1["items"]] == [ids[2], ids[1]]
    page2 = (await client.get("/scheduled-calls", params={"cursor": page1["nextCursor"]})).json()
    assert [i["id"] for i in page2["items"]] == [ids[0]]
    assert page2["nextCursor"] is None
    by_phone = (await client.get("/scheduled-calls", params={"phone": "09812345678"})).json()
    assert [i["id"] for i in by_phone["items"]] == [ids[1]]
    window = {"from": (now + timedelta(days=1)).isoformat(), "to": later + "x"}
    assert (await client.get("/scheduled-calls", params=window)).status_code == 422
    window["to"] = (now + timedelta(days=3)).isoformat()
    in_window = (await client.get("/scheduled-calls", params=window)).json()
    assert sorted(i["id"] for i in in_window["items"]) == sorted(ids[1:])
    assert (await client.get("/scheduled-calls", params={"status": "bogus"})).status_code == 422

    await run_jobs(runtime)
    placed = (await client.get(f"/scheduled-calls/{ids[0]}")).json()
    assert placed["status"] == "in_progress"
    assert placed["attempts"] == 1
    await end_call(runtime, placed["callId"], CallStatus.COMPLETED)
    r = await client.post(f"/scheduled-calls/{ids[0]}/cancel")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"
    r = await client.post(f"/scheduled-calls/{ids[1]}/cancel")
    assert r.status_code == 200
    assert r.json()["status"] == "canceled"
    assert (await client.post(f"/scheduled-calls/{ids[1]}/cancel")).status_code == 200
    only = (await client.get("/scheduled-calls", params={"status": "canceled"})).json()
    assert [i["id"] for i in only["items"]] == [ids[1]]

    stats = (await client.get("/scheduled-calls/stats/summary")).json()
    assert stats["total"] == 3
    assert stats["byStatus"] == {
        "scheduled": 1,
        "waiting_window": 0,
        "in_progress": 0,
        "completed": 1,
        "failed": 0,
        "canceled": 1,
    }
    assert stats["byPurpose"] == {
        "delivery_update": 1,
        "feedback_request": 1,
        "payment_reminder": 1,
    }
    assert stats["successRate"] == 1.0
    assert stats["averageAttempts"] == 1.0


async def test_an_api_key_is_required(env: tuple[Runtime, httpx.AsyncClient]) -> None:
    _runtime, client = env
    body = {"phone": "9876543210", "purpose": "delivery_update"}
    r = await client.post("/scheduled-calls", json=body, headers={"X-API-Key": "wrong"})
    assert r.status_code == 401
    del client.headers["X-API-Key"]
    assert (await client.get("/scheduled-calls")).status_code == 401
