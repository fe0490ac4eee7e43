"""IVR calls through the applet routes, with a fake Exotel: placing, turns, replays, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from exocomms.calls import repo
from exocomms.errors import ValidationError
from exocomms.ivr.service import start_ivr_call
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
    "items": [{"name": "Atta", "quantity": 1}, {"name": "Dal", "quantity": 2}],
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


async def _placed_call(runtime: Runtime, **overrides: Any) -> tuple[str, str]:
    async with runtime.db.transaction() as session:
        call_id = await start_ivr_call(
            session,
            runtime,
            ivr="vendor_order",
            phone="98765 43210",
            context=CONTEXT,
            purpose="vendor_order_confirmation",
            order_id="12345",
            caller="new_order",
            **overrides,
        )
    await run_due_jobs(runtime, lambda kind: kind == "ivr.place")
    async with runtime.db.transaction() as session:
        row = await repo.get_call(session, call_id=call_id)
    assert row is not None
    assert row["call_sid"]
    return call_id, row["call_sid"]


def _q(sid: str, **extra: str) -> dict[str, str]:
    return {"t": TOKEN, "CallSid": sid, "CurrentTime": "2026-01-05 10:00:00", **extra}


async def _row(runtime: Runtime, call_id: str) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        row = await repo.get_call(session, call_id=call_id)
    assert row is not None
    return row


async def test_placing_dials_the_flow_from_the_purpose_number_with_token_callbacks(
    env: Any,
) -> None:
    runtime, fake, _ = env
    call_id, _sid = await _placed_call(runtime)
    [form] = fake.posted("Calls/connect.json")
    assert form["From"] == "+919876543210"
    assert form["CallerId"] == "08047112244"  # the new-order DID
    assert form["Url"].endswith("/exoml/start_voice/vendor_order")
    assert form["CustomField"] == call_id
    assert form["StatusCallback"] == f"http://127.0.0.1:8080/exotel/callbacks/status?t={TOKEN}"
    kinds = [j["key"] for j in await pending_jobs(runtime)]
    assert f"calls.reconcile:{call_id}:1" in kinds


async def test_vendor_accepts_with_prep_time_over_the_applets(env: Any) -> None:
    runtime, _, client = env
    events = capture(runtime, "vendor.accepted", "party.acknowledged")
    call_id, sid = await _placed_call(runtime, escalation_id="esc-1")
    start = await client.get("/exotel/applets/vendor_order/start", params=_q(sid))
    assert start.status_code == 200
    gather = await client.get("/exotel/applets/vendor_order/gather", params=_q(sid))
    prompt = gather.json()["gather_prompt"]["text"]
    assert "Krishna Kirana" in prompt
    assert "325 रुपये" in prompt
    first = await client.get(
        "/exotel/applets/vendor_order/input",
        params=_q(sid, digits='"1"', CurrentTime="2026-01-05 10:00:20"),
    )
    assert first.status_code == 200
    second = await client.get(
        "/exotel/applets/vendor_order/input",
        params=_q(sid, digits='"2"', CurrentTime="2026-01-05 10:00:40"),
    )
    assert second.status_code == 302
    greeting = await client.get(
        "/exotel/applets/vendor_order/greeting", params={"t": TOKEN, "CallSid": sid}
    )
    assert greeting.headers["content-type"] == "text/plain; charset=utf-8"
    assert "20 मिनट" in greeting.text
    head = await client.head(
        "/exotel/applets/vendor_order/greeting", params={"t": TOKEN, "CallSid": sid}
    )
    assert head.status_code == 200
    assert head.content == b""
    row = await _row(runtime, call_id)
    assert (row["outcome"], row["prep_time_minutes"], row["digits"]) == ("accepted", 20, "12")
    assert row["status"] == "in-progress"
    assert row["answered_at"] is not None
    accepted = [e for e in events if e.name == "vendor.accepted"]
    assert len(accepted) == 1
    assert accepted[0].data["prep_minutes"] == 20
    assert accepted[0].data["channel"] == "ivr"
    assert accepted[0].order_id == "12345"
    assert accepted[0].party == "vendor"
    assert [e.data.get("escalation_id") for e in events if e.name == "party.acknowledged"] == [
        "esc-1"
    ]


async def test_a_replayed_passthru_gets_the_same_answer_and_applies_once(env: Any) -> None:
    runtime, _, client = env
    call_id, sid = await _placed_call(runtime)
    await client.get("/exotel/applets/vendor_order/start", params=_q(sid))
    params = _q(sid, digits='"9"', CurrentTime="2026-01-05 10:00:30")
    answers = [
        (await client.get("/exotel/applets/vendor_order/input", params=params)).status_code
        for _ in range(3)
    ]
    assert answers == [200, 200, 200]
    row = await _row(runtime, call_id)
    assert row["ivr_state"]["misses"] == 1
    assert row["digits"] == "9"
    async with runtime.db.transaction() as session:
        inputs = [e for e in await repo.list_events(session, call_id) if e["kind"] == "ivr.input"]
    assert len(inputs) == 1


async def test_wrong_key_twice_then_goodbye_counts_as_not_acknowledged(env: Any) -> None:
    runtime, _, client = env
    call_id, sid = await _placed_call(runtime)
    await client.get("/exotel/applets/vendor_order/start", params=_q(sid))
    codes = []
    for second, key in enumerate(["7", "8", "9"]):
        params = _q(sid, digits=f'"{key}"', CurrentTime=f"2026-01-05 10:01:0{second}")
        codes.append(
            (await client.get("/exotel/applets/vendor_order/input", params=params)).status_code
        )
    assert codes == [200, 200, 302]
    assert (await _row(runtime, call_id))["outcome"] == "not_acknowledged"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"t": "wrong", "CallSid": "SID"}, 302),
        ({"CallSid": "SID"}, 302),
        ({"t": TOKEN, "CallSid": "f" * 32}, 302),
        ({"t": TOKEN, "CallSid": "bad sid!"}, 302),
        ({"t": TOKEN}, 302),
    ],
)
async def test_passthru_refusals_send_the_flow_to_goodbye(
    env: Any, params: dict[str, str], expected: int
) -> None:
    runtime, _, client = env
    _, sid = await _placed_call(runtime)
    params = {k: (sid if v == "SID" else v) for k, v in params.items()}
    for endpoint in ("start", "input"):
        response = await client.get(f"/exotel/applets/vendor_order/{endpoint}", params=params)
        assert response.status_code == expected


async def test_gather_and_greeting_refuse_with_json_errors(env: Any) -> None:
    runtime, _, client = env
    _, sid = await _placed_call(runtime)
    bad_token = await client.get(
        "/exotel/applets/vendor_order/gather", params={"t": "no", "CallSid": sid}
    )
    assert bad_token.status_code == 401
    assert bad_token.json()["error"]["code"] == "unauthorized"
    unknown = await client.get(
        "/exotel/applets/vendor_order/greeting", params={"t": TOKEN, "CallSid": "a" * 32}
    )
    assert unknown.status_code == 404
    other_ivr = await client.get(
        "/exotel/applets/rider_assignment/gather", params={"t": TOKEN, "CallSid": sid}
    )
    assert other_ivr.status_code == 404


async def test_junk_and_missing_digits_are_a_wrong_key_and_silence(env: Any) -> None:
    runtime, _, client = env
    call_id, sid = await _placed_call(runtime)
    await client.get("/exotel/applets/vendor_order/start", params=_q(sid))
    junk = await client.get(
        "/exotel/applets/vendor_order/input",
        params=_q(sid, digits='"1<x>"', CurrentTime="2026-01-05 10:02:00"),
    )
    silent = await client.get(
        "/exotel/applets/vendor_order/input", params=_q(sid, CurrentTime="2026-01-05 10:02:10")
    )
    assert (junk.status_code, silent.status_code) == (200, 200)
    state = (await _row(runtime, call_id))["ivr_state"]
    assert state["misses"] == 2
    assert state["menu"] == "main"


async def test_a_callback_before_the_sid_is_stored_finds_the_call_by_custom_field(env: Any) -> None:
    runtime, _, client = env
    async with runtime.db.transaction() as session:
        call_id = await start_ivr_call(
            session,
            runtime,
            ivr="vendor_order",
            phone="+919876543210",
            context=CONTEXT,
            purpose="vendor_order_confirmation",
        )
    response = await client.get(
        "/exotel/applets/vendor_order/start", params=_q("e" * 32, CustomField=call_id)
    )
    assert response.status_code == 200
    assert (await _row(runtime, call_id))["call_sid"] == "e" * 32


async def test_start_ivr_call_validates_its_input(env: Any) -> None:
    runtime, _, _ = env
    bad = [
        {"ivr": "nope"},
        {"phone": "12"},
        {"context": {"store_name": "x"}},
        {"caller": "marketing"},
        {"max_attempts": 0},
    ]
    for override in bad:
        kwargs: dict[str, Any] = {
            "ivr": "vendor_order",
            "phone": "+919876543210",
            "context": CONTEXT,
            "purpose": "vendor_order_confirmation",
            **override,
        }
        with pytest.raises(ValidationError):
            async with runtime.db.transaction() as session:
                await start_ivr_call(session, runtime, **kwargs)
    assert await pending_jobs(runtime) == []


async def test_exoml_gives_the_same_outcome_as_the_applets(env: Any) -> None:
    runtime, _, client = env
    events = capture(runtime, "vendor.rejected")
    call_id, sid = await _placed_call(runtime)
    start = await client.post(
        "/exoml/vendor-order-start", params={"t": TOKEN}, data={"CallSid": sid}
    )
    assert start.headers["content-type"].startswith("application/xml")
    assert "<Gather" in start.text
    assert "Krishna Kirana" in start.text
    assert f"/exotel/exoml/vendor_order/input?t={TOKEN}&amp;turn=0" in start.text
    reject = await client.post(
        "/exotel/exoml/vendor_order/input",
        params={"t": TOKEN, "turn": "0"},
        data={"CallSid": sid, "Digits": "2"},
    )
    reason = await client.post(
        "/exoml/vendor-order-action",
        params={"t": TOKEN, "turn": "1"},
        data={"CallSid": sid, "Digits": "2"},
    )
    assert "<Hangup" in reason.text
    assert "<Gather" not in reason.text
    assert "<Gather" in reject.text
    row = await _row(runtime, call_id)
    assert (row["outcome"], row["rejection_reason"], row["digits"]) == (
        "rejected",
        "shop_closed",
        "22",
    )
    assert [e.data["reason"] for e in events] == ["shop_closed"]
