"""Status callbacks, retries per purpose, reconciliation, and messaging callbacks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from exocomms.calls import repo
from exocomms.clock import ManualClock
from exocomms.errors import ValidationError
from exocomms.ivr.service import start_ivr_call
from exocomms.messaging import repo as messages
from exocomms.messaging.service import queue_sms, queue_whatsapp
from exocomms.runtime import Runtime
from exocomms.storage.db import Database
from exocomms.web.app import create_app
from tests.integration.test_ivr_support import (
    TOKEN,
    FakeExotel,
    capture,
    fake_runtime,
    pending_jobs,
    run_due_jobs,
    settings_for,
)

CONTEXT = {
    "store_name": "Krishna Kirana",
    "order_id": "12345",
    "amount": 325,
    "items": [{"name": "Atta", "quantity": 1}],
}


@pytest.fixture
async def env(
    db: Database, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, FakeExotel, httpx.AsyncClient]]:
    settings = settings_for(tmp_path)
    async with fake_runtime(settings, db) as (runtime, fake):
        app = create_app(settings, runtime=runtime, migrate_on_start=False, configure_logs=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield runtime, fake, client


async def _placed(runtime: Runtime, max_attempts: int = 2) -> tuple[str, str]:
    async with runtime.db.transaction() as session:
        call_id = await start_ivr_call(
            session,
            runtime,
            ivr="vendor_order",
            phone="+919876543210",
            context=CONTEXT,
            purpose="vendor_order_confirmation",
            order_id="12345",
            escalation_id="esc-9",
            max_attempts=max_attempts,
        )
    await run_due_jobs(runtime, lambda kind: kind == "ivr.place")
    async with runtime.db.transaction() as session:
        row = await repo.get_call(session, call_id=call_id)
    assert row is not None
    return call_id, str(row["call_sid"])


async def _calls(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.db.transaction() as session:
        rows = await repo.list_calls(session, order_id="12345")
    return sorted(rows, key=lambda row: -int(row["attempt"]))  # newest attempt first


async def test_no_answer_queues_attempt_two_then_call_failed(env: Any) -> None:
    runtime, fake, client = env
    events = capture(runtime, "call.failed", "call.finished")
    call_id, sid = await _placed(runtime)
    form = {"CallSid": sid, "Status": "no-answer", "EventType": "terminal"}
    response = await client.post("/exotel/callbacks/status", params={"t": TOKEN}, data=form)
    assert response.json() == {"applied": True, "duplicate": False}
    again = await client.post("/exotel/callbacks/status", params={"t": TOKEN}, data=form)
    assert again.json()["duplicate"] is True
    calls = await _calls(runtime)
    assert [(c["attempt"], c["status"]) for c in calls] == [(2, "queued"), (1, "no-answer")]
    retry = next(j for j in await pending_jobs(runtime) if j["kind"] == "ivr.place")
    assert retry["run_at"] > runtime.clock.now()  # backoff: 60 s ± jitter from settings
    assert isinstance(runtime.clock, ManualClock)
    runtime.clock.advance(120)
    await run_due_jobs(runtime, lambda kind: kind == "ivr.place")
    assert len(fake.posted("Calls/connect.json")) == 2
    second = (await _calls(runtime))[0]
    busy = {"CallSid": second["call_sid"], "Status": "busy"}
    await client.post("/exotel/callbacks/status", params={"t": TOKEN}, json=busy)
    assert [e.name for e in events] == ["call.finished", "call.finished", "call.failed"]
    assert events[-1].data["attempts"] == 2
    assert events[-1].data["escalation_id"] == "esc-9"
    assert call_id != second["id"]


async def test_status_callback_refusals(env: Any) -> None:
    runtime, _, client = env
    _, sid = await _placed(runtime)
    url = "/exotel/callbacks/status"
    assert (await client.post(url, data={"CallSid": sid, "Status": "completed"})).status_code == 401
    garbage = await client.post(url, params={"t": TOKEN}, data={"Status": "completed"})
    assert garbage.status_code == 422
    weird = await client.post(url, params={"t": TOKEN}, data={"CallSid": sid, "Status": "zzz"})
    assert weird.status_code == 422
    unknown = await client.post(
        url, params={"t": TOKEN}, data={"CallSid": "b" * 32, "Status": "busy"}
    )
    assert unknown.status_code == 404
    not_json = await client.post(
        url, params={"t": TOKEN}, content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    assert (await _calls(runtime))[0]["status"] == "queued"


async def test_answered_then_hangup_mid_menu_is_not_acknowledged_and_not_retried(env: Any) -> None:
    runtime, _, client = env
    events = capture(runtime, "call.failed")
    _, sid = await _placed(runtime)
    await client.get("/exotel/applets/vendor_order/start", params={"t": TOKEN, "CallSid": sid})
    multipart = {
        "CallSid": (None, sid),
        "Status": (None, "completed"),
        "EventType": (None, "terminal"),
    }
    await client.post("/exotel/callbacks/status", params={"t": TOKEN}, files=multipart)
    [row] = await _calls(runtime)
    assert (row["status"], row["outcome"]) == ("completed", "not_acknowledged")
    assert len(events) == 1  # no retry: the person answered; the escalation carries on


async def test_reconcile_applies_call_details_when_the_callback_was_lost(env: Any) -> None:
    runtime, fake, _ = env
    call_id, _ = await _placed(runtime, max_attempts=1)
    fake.call_status = "busy"
    runtime.clock.advance(3600)
    await run_due_jobs(runtime, lambda kind: kind == "calls.reconcile")
    [row] = await _calls(runtime)
    assert row["status"] == "busy"
    async with runtime.db.transaction() as session:
        kinds = [e["kind"] for e in await repo.list_events(session, call_id)]
    assert "details" in kinds


async def test_provider_rejection_fails_the_call_without_retry(env: Any) -> None:
    runtime, fake, _ = env
    events = capture(runtime, "call.failed")
    fake.connect_status = 400
    async with runtime.db.transaction() as session:
        await start_ivr_call(
            session,
            runtime,
            ivr="vendor_order",
            phone="+919876543210",
            context=CONTEXT,
            purpose="vendor_order_confirmation",
            order_id="12345",
            max_attempts=3,
        )
    await run_due_jobs(runtime)
    [row] = await _calls(runtime)
    assert (row["status"], row["outcome"]) == ("failed", "provider_error")
    assert len(events) == 1


async def test_sms_is_rendered_from_the_dlt_template_and_tracked(env: Any) -> None:
    runtime, fake, client = env
    async with runtime.db.transaction() as session:
        message_id = await queue_sms(
            session,
            runtime,
            to="9876543210",
            template="rider.pickup_details",
            params={
                "order_id": "12345",
                "pickup_name": "Krishna Kirana",
                "pickup_address": "MG Road",
            },
            purpose="rider_pickup_details",
            language="en",
        )
    await run_due_jobs(runtime)
    [sms] = fake.posted("Sms/send.json")
    assert sms["Body"] == "Pickup for order 12345: Krishna Kirana, MG Road -EXOCOMMS"
    assert sms["StatusCallback"].endswith(f"/exotel/callbacks/sms?t={TOKEN}")
    async with runtime.db.transaction() as session:
        row = await messages.get_message(session, message_id=message_id)
    assert row is not None
    callback = {
        "SmsSid": row["provider_sid"],
        "Status": "sent",
        "DetailedStatus": "DELIVERED_TO_HANDSET",
    }
    assert (
        await client.post("/exotel/callbacks/sms", params={"t": TOKEN}, data=callback)
    ).json() == {"applied": True}
    async with runtime.db.transaction() as session:
        row = await messages.get_message(session, message_id=message_id)
    assert row is not None
    assert row["status"] == "delivered"


@pytest.mark.parametrize(
    ("template", "params", "problem"),
    [
        ("nope.sms", {}, "unknown"),
        (
            "rider.pickup_details",
            {"order_id": "1", "pickup_name": "x" * 30, "pickup_address": "y"},
            "30",
        ),
        ("rider.pickup_details", {"order_id": "1", "pickup_name": "x"}, "required"),
        ("vendor_new_order.whatsapp", {}, "SMS"),
    ],
)
async def test_sms_validation(
    env: Any, template: str, params: dict[str, Any], problem: str
) -> None:
    runtime, _, _ = env
    with pytest.raises(ValidationError) as caught:
        async with runtime.db.transaction() as session:
            await queue_sms(
                session, runtime, to="+919876543210", template=template, params=params, purpose="p"
            )
    assert problem in str(caught.value) + str(caught.value.details)
    assert await pending_jobs(runtime) == []


async def test_whatsapp_button_reply_acknowledges_the_escalation(env: Any) -> None:
    runtime, fake, client = env
    events = capture(runtime, "message.reply", "party.acknowledged", "message.status")
    async with runtime.db.transaction() as session:
        message_id = await queue_whatsapp(
            session,
            runtime,
            to="+919876543210",
            template="vendor_new_order.whatsapp",
            params={
                "store_name": "Krishna Kirana",
                "order_id": "12345",
                "amount": 325,
                "item_count": 2,
            },
            purpose="vendor_new_order",
            order_id="12345",
            escalation_id="esc-7",
        )
    await run_due_jobs(runtime)
    [sent] = fake.posted("/messages")
    content = sent["whatsapp"]["messages"][0]["content"]
    assert content["template"]["name"] == "vendor_new_order"
    payloads = [c["parameters"][0]["payload"] for c in content["template"]["components"][1:]]
    assert payloads == [f"ack:{message_id}:accept", f"ack:{message_id}:reject"]
    incoming = {
        "whatsapp": {
            "messages": [
                {
                    "callback_type": "incoming_message",
                    "from": "919876543210",
                    "content": {
                        "type": "button",
                        "button": {"payload": payloads[0], "text": "Accept"},
                    },
                }
            ]
        }
    }
    response = await client.post("/exotel/callbacks/whatsapp", params={"t": TOKEN}, json=incoming)
    assert response.json() == {"applied": 1}
    ack = [e for e in events if e.name == "party.acknowledged"]
    assert [(e.data["escalation_id"], e.data["button"], e.order_id) for e in ack] == [
        ("esc-7", "accept", "12345")
    ]
    assert (
        await client.post("/exotel/callbacks/whatsapp", params={"t": "x"}, json=incoming)
    ).status_code == 401
    assert (
        await client.post("/exotel/callbacks/whatsapp", params={"t": TOKEN}, json={})
    ).status_code == 422


async def test_a_run_time_retry_override_wins_over_settings(
    env: tuple[Runtime, FakeExotel, httpx.AsyncClient],
) -> None:
    """PUT /config/retry for a purpose changes the next retry delay without a restart."""
    from exocomms.calls.service import effective_retry_policy
    from exocomms.config import service as config_service

    runtime, _, _ = env
    async with runtime.db.transaction() as session:
        from_settings = await effective_retry_policy(session, runtime, "vendor_order_confirmation")
        before = await effective_retry_policy(session, runtime, "vendor_new_order")
    assert from_settings.initial_delay == 60  # settings_for(): EXOCOMMS_IVR_RETRY
    assert before.initial_delay == 300  # the PRODUCT.md default
    await config_service.update_section(
        runtime,
        "retry",
        {"purposes": {"vendor_new_order": {"initialDelaySeconds": 120}}},
        actor="test",
    )
    async with runtime.db.transaction() as session:
        after = await effective_retry_policy(session, runtime, "vendor_new_order")
    assert after.initial_delay == 120
