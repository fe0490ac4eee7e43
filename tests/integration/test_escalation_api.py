"""The orchestrator API over HTTP (ASGI): notify, stop, bridge, timeline, escalations, ladders."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.escalation import service
from exocomms.runtime import Runtime
from exocomms.storage.db import Database
from exocomms.web.app import create_app
from tests.integration.test_escalation_service import (
    VENDOR,
    FakeChannels,
    make_settings,
    run_due,
)

KEY = "orchestrator-admin-key-0123456789"


@pytest.fixture
async def rt(db: Database) -> AsyncIterator[Runtime]:
    runtime = build_runtime(make_settings(admin_api_key=SecretStr(KEY)), clock=ManualClock(), db=db)
    runtime.extras[service.CHANNELS_EXTRA] = FakeChannels()
    yield runtime
    await runtime.http.aclose()


@pytest.fixture
async def client(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(rt.settings, runtime=rt, migrate_on_start=False, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://exocomms.test", headers={"X-API-Key": KEY}
        ) as c:
            yield c


ORDER = {
    "orderId": 123,
    "phone": "98123 45678",
    "name": "Krishna Kirana",
    "storeId": "S1",
    "amount": 240,
    "items": [{"name": "Atta", "quantity": 2}],
}


async def test_notify_paths_return_the_platform_ids(client: httpx.AsyncClient) -> None:
    expected = {
        "/comms/notify/vendor/order": "vendor_order_123",
        "/comms/notify/vendor/reminder": "vendor_reminder_123",
        "/comms/notify/rider/assign": "rider_assign_123",
        "/comms/notify/rider/address-update": "address_update_123",
        "/comms/notify/customer/status": "customer_status_123",
        "/comms/notify/customer/delay": "customer_delay_123",
    }
    for path, esc_id in expected.items():
        r = await client.post(path, json={**ORDER, "newAddress": "12 MG Road"})
        assert r.status_code == 200, r.text
        assert r.json() == {"success": True, "escalationId": esc_id}
    r = await client.get("/escalations", params={"status": "active", "orderId": "123"})
    items = r.json()["items"]
    assert sorted(i["escalationId"] for i in items) == sorted(expected.values())
    rider = next(i for i in items if i["escalationId"] == "address_update_123")
    assert rider["phone"] == VENDOR
    assert rider["steps"][0] == {
        "step": 0,
        "channel": "whatsapp",
        "template": "address_change.whatsapp",
        "due_at": rider["startedAt"],
        "state": "pending",
    }
    r = await client.get("/escalations/address_update_123")
    assert r.json()["eventType"] == "address_change"


async def test_bad_input_is_422_and_unknown_is_404(client: httpx.AsyncClient) -> None:
    for body in (
        {**ORDER, "phone": "12"},
        {k: v for k, v in ORDER.items() if k != "orderId"},
        {**ORDER, "orderId": "bad id!"},
        {**ORDER, "language": "fr"},
        {**ORDER, "items": [{"quantity": 1}]},
    ):
        r = await client.post("/comms/notify/vendor/order", json=body)
        assert r.status_code == 422, body
        assert r.json()["error"]["code"] == "validation_error"
        assert "98123" not in r.text  # rejected values are never echoed
    r = await client.post("/comms/stop", json={"escalation_id": "vendor_order_nope"})
    assert r.status_code == 404
    r = await client.post("/comms/stop", json={"escalation_id": "x", "action": "pause"})
    assert r.status_code == 422
    assert (await client.get("/escalations/ladders/pizza_party")).status_code == 404
    assert (await client.get("/escalations/nope")).status_code == 404
    assert (await client.get("/escalations", params={"status": "sleepy"})).status_code == 422


async def test_admin_key_is_required(client: httpx.AsyncClient) -> None:
    r = await client.post("/comms/notify/vendor/order", json=ORDER, headers={"X-API-Key": "no"})
    assert r.status_code == 401
    r = await client.get("/comms/timeline/123", headers={"X-API-Key": ""})
    assert r.status_code == 401


async def test_stop_acknowledges_at_once(client: httpx.AsyncClient, rt: Runtime) -> None:
    await client.post("/comms/notify/vendor/order", json=ORDER)
    await run_due(rt)
    body = {"escalation_id": "vendor_order_123", "action": "acknowledge", "actor": "ops:asha"}
    r = await client.post("/comms/stop", json=body)
    assert r.json() == {
        "success": True,
        "escalationId": "vendor_order_123",
        "status": "acknowledged",
        "changed": True,
    }
    r = await client.post("/comms/stop", json={**body, "action": "stop"})
    assert r.json()["changed"] is False
    rt.clock.advance(600)  # type: ignore[attr-defined]
    await run_due(rt)
    fake = rt.extras[service.CHANNELS_EXTRA]
    assert [s[0] for s in fake.sent] == ["push"]
    r = await client.get("/comms/timeline/123")
    timeline = r.json()
    assert timeline["escalations"][0]["acknowledgedBy"] == "ops:asha"
    assert [e["kind"] for e in timeline["entries"]] == ["status", "step", "ack"]
    assert timeline["entries"][2]["actor"] == "ops:asha"


async def test_ladders_get_put_and_validation(client: httpx.AsyncClient) -> None:
    r = await client.get("/escalations/ladders/vendor_new_order")
    default = r.json()
    assert (default["source"], default["version"]) == ("default", 1)
    assert [s["delay_seconds"] for s in default["steps"]] == [0, 60, 120, 180, 300, 300]
    bad = {"steps": [{"channel": "fax", "delay_seconds": 0, "template": "x.y"}]}
    r = await client.put("/escalations/ladders/vendor_new_order", json=bad)
    assert r.status_code == 422
    assert "steps[0].channel" in r.json()["error"]["message"]
    bad_ivr = {"steps": [{"channel": "ivr_call", "delay_seconds": 0, "template": "nope.ivr"}]}
    r = await client.put("/escalations/ladders/vendor_new_order", json=bad_ivr)
    assert r.status_code == 422
    edited = {"steps": default["steps"][:2]}
    r = await client.put("/escalations/ladders/vendor_new_order", json=edited)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["updatedBy"]) == (1, "api")
    r = await client.put("/escalations/ladders/vendor_new_order", json=edited)
    assert r.json()["version"] == 2
    r = await client.get("/escalations/ladders/vendor_new_order")
    assert (r.json()["source"], r.json()["version"], len(r.json()["steps"])) == ("stored", 2, 2)


async def test_bridge_and_timing_check(client: httpx.AsyncClient, rt: Runtime) -> None:
    body = {"party_a_phone": "+919800000001", "party_b_phone": "09812345678", "order_id": "9"}
    r = await client.post("/comms/bridge", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True
    assert rt.extras[service.CHANNELS_EXTRA].sent == [("bridge", "+919800000001", VENDOR)]
    r = await client.post("/comms/bridge", json={**body, "party_b_phone": "+919800000001"})
    assert r.status_code == 422
    r = await client.get("/timing/check", params={"purpose": "promotional_offer"})
    assert r.status_code == 200
    assert r.json()["canCall"] is True  # the manual clock starts at 10:00 IST on a Monday
    assert r.json()["timezone"] == "Asia/Kolkata"
    r = await client.get("/timing/check", params={"purpose": "nonsense"})
    assert r.status_code == 422
    r = await client.get("/timing/check", params={"purpose": "diwali", "phone": "123"})
    assert r.status_code == 422
