"""IVR calls end to end: the service places them on exosim, exosim's virtual phones answer and
press keys, the applets (or legacy ExoML) run over real HTTP, and the outcome lands in the
``voice_calls`` row, on the event bus and in what the phone heard.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.calls import repo
from exocomms.ivr.service import start_ivr_call
from exocomms.messaging import repo as messaging_repo
from exocomms.messaging import templates
from exocomms.runtime import Runtime
from exocomms.telephony.service import queue_bridge, queue_ring
from tests.e2e.conftest import Telephony
from tests.e2e.support import DID_ADDRESS, DID_NEW_ORDER, RIDER, SMS_SENDER, TOKEN, VENDOR, wait_for

ORDER = {
    "store_name": "Krishna Kirana",
    "order_id": "12345",
    "amount": 325,
    "items": [{"name": "Atta", "quantity": 1}, {"name": "Dal", "quantity": 2}],
}
GREETING = "नमस्ते Krishna Kirana"  # the first time the menu is heard
MENU = "स्वीकार करने के लिए 1"  # heard in the accept/reject menu only
WRONG_KEY = "सही विकल्प नहीं"  # the menu again after a wrong key
PREP_QUESTION = "तैयार होने में"  # the prep-time question only
REASON_QUESTION = "कारण बताइए"  # the rejection-reason question only
ACCEPTS_20 = [
    {"when_heard": MENU, "keys": "1", "once": True},
    {"when_heard": PREP_QUESTION, "keys": "2", "once": True},
]


def _vendor_call(env: Telephony, **overrides: Any) -> str:
    async def start(session: AsyncSession, runtime: Runtime) -> str:
        return await start_ivr_call(
            session,
            runtime,
            **{
                "ivr": "vendor_order",
                "phone": VENDOR,
                "context": ORDER,
                "purpose": "vendor_order_confirmation",
                "order_id": "12345",
                "vendor_id": "67",
                "caller": "new_order",
                **overrides,
            },
        )

    return env.service.in_transaction(start)


def _finished(env: Telephony, call_id: str) -> dict[str, Any]:
    """The call's row once the service has handled its end (terminal status applied)."""

    def probe() -> dict[str, Any] | None:
        row = env.service.call_row(call_id)
        return row if (row["meta"] or {}).get("finished") else None

    return wait_for(probe, what=f"call {call_id} to finish")


def _heard(env: Telephony, number: str) -> list[str]:
    return [e["text"] for e in env.sim.transcript(number) if e["kind"] == "heard_tts"]


def _callback_statuses(sim_call: dict[str, Any]) -> list[int | None]:
    return [c["status_code"] for c in sim_call["callbacks"]]


def test_vendor_accepts_with_prep_time(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(VENDOR, keys=ACCEPTS_20)
    call_id = _vendor_call(env)
    row = _finished(env, call_id)
    assert (row["status"], row["outcome"], row["prep_time_minutes"], row["digits"]) == (
        "completed",
        "accepted",
        20,
        "12",
    )
    api = env.service.http.get("/nerve/calls/order/12345").json()
    assert [(c["id"], c["outcome"]) for c in api["items"]] == [(call_id, "accepted")]
    accepted = env.service.published("vendor.accepted")
    assert len(accepted) == 1
    assert (accepted[0].order_id, accepted[0].party, accepted[0].actor) == (
        "12345",
        "vendor",
        VENDOR,
    )
    assert accepted[0].data["prep_minutes"] == 20
    assert not env.service.published("call.failed")
    transcript = env.sim.transcript(VENDOR)
    assert transcript[0]["kind"] == "ringing"
    assert transcript[0]["text"] == DID_NEW_ORDER  # the new-order number rang
    heard = [e["text"] for e in transcript if e["kind"] == "heard_tts"]
    assert "Krishna Kirana" in heard[0]
    assert "325 रुपये" in heard[0]
    assert "स्वीकार हो गया" in heard[-1]  # the confirmation is the last thing said...
    assert "20 मिनट" in heard[-1]
    assert transcript[-1]["kind"] == "call_ended"  # ...before the call ended
    assert [e["text"] for e in transcript if e["kind"] == "pressed"] == ["1", "2"]
    sim_call = env.sim.call(row["call_sid"])
    assert sim_call["custom_field"] == call_id
    assert _callback_statuses(sim_call) == [200, 200]  # answered, terminal
    assert 0 < row["duration"] <= sim_call["duration"]  # the vendor's time on the line


def test_vendor_rejects_out_of_stock_on_a_call_asked_for_over_http(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(
        VENDOR,
        keys=[
            {"when_heard": MENU, "keys": "2", "once": True},
            {"when_heard": REASON_QUESTION, "keys": "1", "once": True},
        ],
    )
    response = env.service.http.post(
        "/exotel/ivr/notify/vendor/order",
        json={
            "phone": "98765 43210",
            "order_id": 12345,
            "vendor_id": 67,
            "max_attempts": 1,
            **ORDER,
        },
    )
    assert response.status_code == 202, response.text
    row = _finished(env, response.json()["call_id"])
    assert (row["status"], row["outcome"], row["rejection_reason"], row["digits"]) == (
        "completed",
        "rejected",
        "out_of_stock",
        "21",
    )
    rejected = env.service.published("vendor.rejected")
    assert [e.data["reason"] for e in rejected] == ["out_of_stock"]
    assert not env.service.published("vendor.accepted")
    assert "सामान उपलब्ध नहीं" in _heard(env, VENDOR)[-1]


def test_vendor_who_never_answers_is_called_again_then_reported(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(VENDOR, behaviour="no_answer")
    first = _vendor_call(env, max_attempts=2)

    def failed() -> list[Any]:
        return env.service.published("call.failed")

    [event] = wait_for(failed, what="call.failed")
    assert event.data["attempts"] == 2
    assert event.data["status"] == "no-answer"

    async def rows(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        return await repo.list_calls(session, order_id="12345", limit=10)

    calls = sorted(env.service.in_transaction(rows), key=lambda r: r["attempt"])
    assert [(c["attempt"], c["status"], c["outcome"]) for c in calls] == [
        (1, "no-answer", None),
        (2, "no-answer", None),
    ]
    assert calls[0]["id"] == first
    assert calls[1]["meta"]["retry_of"] == first
    assert calls[1]["escalation_id"] == calls[0]["escalation_id"]
    sim_calls = [c for c in env.sim.calls() if c["from_number"] == VENDOR]
    assert sorted(c["status"] for c in sim_calls) == ["no-answer", "no-answer"]
    kinds = [e["kind"] for e in env.sim.transcript(VENDOR)]
    assert kinds.count("missed") == 2
    assert "heard_tts" not in kinds


def test_voicemail_counts_as_no_answer_and_the_retry_reaches_the_vendor(
    telephony: Telephony,
) -> None:
    env = telephony
    env.sim.script(VENDOR, keys=ACCEPTS_20, calls=[{"behaviour": "voicemail", "keys": []}])
    first = _finished(env, _vendor_call(env, max_attempts=2))
    assert (first["status"], first["answered_by"], first["outcome"]) == (
        "completed",
        "Machine",
        "not_acknowledged",
    )

    def second_attempt() -> dict[str, Any] | None:
        async def rows(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
            return await repo.list_calls(session, order_id="12345", limit=10)

        later = [r for r in env.service.in_transaction(rows) if r["attempt"] == 2]
        return later[0] if later else None

    second = _finished(env, wait_for(second_attempt, what="attempt 2")["id"])
    assert (second["outcome"], second["prep_time_minutes"]) == ("accepted", 20)
    assert len(env.service.published("vendor.accepted")) == 1
    assert not env.service.published("call.failed")


def test_wrong_key_twice_then_the_right_one(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(
        VENDOR,
        keys=[
            {"when_heard": GREETING, "keys": "7", "once": True},
            {"when_heard": WRONG_KEY, "keys": "8", "once": True},
            # Pressed while the third menu plays (barge-in): lands in that menu's input.
            {"when_heard": WRONG_KEY, "keys": "1", "once": True, "delay": 17},
            {"when_heard": PREP_QUESTION, "keys": "2", "once": True},
        ],
    )
    row = _finished(env, _vendor_call(env))
    assert (row["outcome"], row["prep_time_minutes"], row["digits"]) == ("accepted", 20, "7812")
    heard = _heard(env, VENDOR)
    assert sum(WRONG_KEY in text for text in heard) == 2
    assert len(env.service.published("vendor.accepted")) == 1


def test_wrong_key_three_times_is_not_acknowledged(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(VENDOR, keys=[{"when_heard": MENU, "keys": "7"}])
    row = _finished(env, _vendor_call(env))
    assert (row["status"], row["outcome"], row["digits"]) == (
        "completed",
        "not_acknowledged",
        "777",
    )
    assert "जवाब नहीं मिला" in _heard(env, VENDOR)[-1]
    assert not env.service.published("vendor.accepted")
    assert not env.service.published("party.acknowledged")
    assert [e.data["status"] for e in env.service.published("call.failed")] == ["completed"]


def test_rider_accepts_and_gets_the_pickup_sms(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(RIDER, keys=[{"when_heard": "स्वीकार करने के लिए 1", "keys": "1", "once": True}])

    async def start(session: AsyncSession, runtime: Runtime) -> str:
        return await start_ivr_call(
            session,
            runtime,
            ivr="rider_assignment",
            phone=RIDER,
            context={
                "rider_name": "Ravi",
                "order_id": "12345",
                "pickup_name": "Krishna Kirana",
                "pickup_address": "12 MG Road, Indiranagar",
                "drop_area": "Koramangala",
                "amount": 325,
                "earning": 40,
            },
            purpose="rider_assignment",
            order_id="12345",
            rider_id="r9",
            escalation_id="rider_assign_12345",
        )

    row = _finished(env, env.service.in_transaction(start))
    assert (row["outcome"], row["digits"]) == ("accepted", "1")
    [accepted] = env.service.published("rider.accepted")
    assert (accepted.party, accepted.data["escalation_id"]) == ("rider", "rider_assign_12345")
    acks = env.service.published("party.acknowledged")
    assert [e.data["escalation_id"] for e in acks] == ["rider_assign_12345"]

    def pickup_sms() -> list[dict[str, Any]]:
        return [s for s in env.sim.sms() if s["to_number"].endswith(RIDER[-10:])]

    [sms] = wait_for(pickup_sms, what="the pickup SMS in exosim")
    # exosim accepted it against the registered DLT template, so the body matched exactly.
    expected = "ऑर्डर 12345 का पिकअप: Krishna Kirana, 12 MG Road, Indiranagar"
    assert sms["body"] == expected + templates.SIGNATURE
    assert sms["from_number"] == SMS_SENDER
    dlt_ids = env.service.settings.dlt_template_ids
    assert sms["dlt_template_id"] == dlt_ids["rider.pickup_details.hi"]

    async def message(session: AsyncSession, runtime: Runtime) -> dict[str, Any] | None:
        return await messaging_repo.get_message(session, message_id=sms["custom_field"])

    def delivered() -> dict[str, Any] | None:
        row = env.service.in_transaction(message)
        return row if row is not None and row["status"] == "delivered" else None

    stored = wait_for(delivered, what="the SMS delivery report")
    assert (stored["template"], stored["provider_sid"]) == ("rider.pickup_details", sms["sid"])


def test_one_way_customer_message_is_delivered_in_english(telephony: Telephony) -> None:
    env = telephony
    customer = "+919900011122"

    async def start(session: AsyncSession, runtime: Runtime) -> str:
        return await start_ivr_call(
            session,
            runtime,
            ivr="customer_delay",
            phone=customer,
            context={"order_id": "12345", "delay_minutes": 15},
            purpose="customer_delay",
            language="en",
            order_id="12345",
        )

    row = _finished(env, env.service.in_transaction(start))
    assert (row["status"], row["outcome"], row["digits"]) == (
        "completed",
        "message_delivered",
        None,
    )
    [said] = _heard(env, customer)
    assert "will arrive about 15 minutes late" in said
    assert not env.service.published("call.failed")
    assert not env.service.published("party.acknowledged")


def test_rider_repeats_the_new_address_then_confirms(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(
        RIDER,
        keys=[
            {"when_heard": "^नमस्ते Ravi", "keys": "3", "once": True},
            {"when_heard": "^ज़रूरी सूचना", "keys": "1", "once": True},  # the repeat: no greeting
        ],
    )

    async def start(session: AsyncSession, runtime: Runtime) -> str:
        return await start_ivr_call(
            session,
            runtime,
            ivr="address_change",
            phone=RIDER,
            context={"rider_name": "Ravi", "order_id": "12345", "new_address": "4th Block"},
            purpose="address_change",
            order_id="12345",
            escalation_id="address_update_12345",
            caller="address_update",
        )

    row = _finished(env, env.service.in_transaction(start))
    assert (row["outcome"], row["digits"]) == ("acknowledged", "31")
    [ack] = env.service.published("party.acknowledged")
    assert (ack.party, ack.data["escalation_id"]) == ("rider", "address_update_12345")
    heard = _heard(env, RIDER)
    assert sum("4th Block" in text for text in heard) == 2
    assert env.sim.transcript(RIDER)[0]["text"] == DID_ADDRESS


@pytest.mark.parametrize("overrides", [{"call_time_limit_seconds": 90}])
def test_lost_terminal_callback_is_reconciled_from_call_details(telephony: Telephony) -> None:
    env = telephony
    env.sim.control(
        "POST", "faults", json={"target": "callback", "kind": "lost", "endpoint": "status"}
    )
    env.sim.script(VENDOR, keys=ACCEPTS_20)
    call_id = _vendor_call(env)
    row = _finished(env, call_id)  # only the reconcile job can finish it: no callback arrives
    assert (row["status"], row["outcome"]) == ("completed", "accepted")
    sim_call = env.sim.call(row["call_sid"])
    assert row["duration"] == sim_call["duration"]
    assert [c["fault"] for c in sim_call["callbacks"]] == ["lost", "lost"]  # answered, terminal

    async def events(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        return await repo.list_events(session, call_id)

    kinds = [(e["kind"], e["source"]) for e in env.service.in_transaction(events)]
    assert ("details", "details") in kinds
    assert not [k for k in kinds if k[0] == "status"]
    assert [e.data["status"] for e in env.service.published("call.finished")] == ["completed"]


def test_ring_needs_nobody_to_answer(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(VENDOR, behaviour="no_answer")

    async def ring(session: AsyncSession, runtime: Runtime) -> str:
        return await queue_ring(
            session,
            runtime,
            phone=VENDOR,
            purpose="vendor_ring",
            caller="new_order",
            ring_seconds=5,
        )

    row = _finished(env, env.service.in_transaction(ring))
    assert row["status"] == "no-answer"
    assert not env.service.published("call.failed")
    [sim_call] = [c for c in env.sim.calls() if c["sid"] == row["call_sid"]]
    assert sim_call["flow_id"] == "ring"
    assert sim_call["caller_id"].endswith(DID_NEW_ORDER[1:])
    transcript = env.sim.transcript(VENDOR)
    assert [(e["kind"], e["text"]) for e in transcript][:1] == [("ringing", DID_NEW_ORDER)]
    assert "missed" in [e["kind"] for e in transcript]


@pytest.mark.parametrize("overrides", [{"exotel_flows": {"vendor_order": "vendor-order-exoml"}}])
@pytest.mark.parametrize("path", ["/exotel/exoml/vendor_order/start", "/exoml/vendor-order-start"])
def test_exoml_flow_gives_the_same_outcome(telephony: Telephony, path: str) -> None:
    env = telephony
    start_url = f"{env.service.url}{path}?t={quote(TOKEN, safe='')}"
    env.sim.load_flow(
        {
            "id": "vendor-order-exoml",
            "start": "legacy",
            "applets": {
                "legacy": {"type": "exoml", "url": start_url, "method": "GET", "next": "bye"},
                "bye": {"type": "hangup"},
            },
        }
    )
    env.sim.script(VENDOR, keys=ACCEPTS_20)
    row = _finished(env, _vendor_call(env))
    assert (row["status"], row["outcome"], row["prep_time_minutes"], row["digits"]) == (
        "completed",
        "accepted",
        20,
        "12",
    )
    assert env.sim.call(row["call_sid"])["flow_id"] == "vendor-order-exoml"
    transcript = env.sim.transcript(VENDOR)
    first_press = next(i for i, e in enumerate(transcript) if e["kind"] == "pressed")
    menu = " ".join(e["text"] for e in transcript[:first_press] if e["kind"] == "heard_tts")
    assert "Krishna Kirana" in menu
    assert "325 रुपये" in menu
    assert "स्वीकार हो गया" in _heard(env, VENDOR)[-1]
    assert len(env.service.published("vendor.accepted")) == 1


def test_replayed_callbacks_and_passthru_requests_apply_once(telephony: Telephony) -> None:
    env = telephony
    for endpoint in ("applet", "status"):
        fault = {"target": "callback", "kind": "duplicated", "endpoint": endpoint}
        env.sim.control("POST", "faults", json=fault)
    env.sim.script(VENDOR, keys=ACCEPTS_20)
    call_id = _vendor_call(env)
    row = _finished(env, call_id)
    assert (row["status"], row["outcome"], row["digits"]) == ("completed", "accepted", "12")
    assert len(env.service.published("vendor.accepted")) == 1
    assert len(env.service.published("call.finished")) == 1
    sim_call = env.sim.call(row["call_sid"])
    sent = [e for e in sim_call["events"] if e["kind"] == "passthru.request"]
    assert len(sent) == 3  # start, input "1", input "2": each sent twice
    assert all(e["data"]["fault"] == "duplicated" for e in sent)

    async def events(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        return await repo.list_events(session, call_id)

    kinds = [e["kind"] for e in env.service.in_transaction(events)]
    assert kinds.count("ivr.input") == 2
    assert kinds.count("ivr.start") == 1


def test_carrier_error_on_dialling_looks_before_dialling_again(telephony: Telephony) -> None:
    env = telephony

    async def ring(session: AsyncSession, runtime: Runtime) -> str:
        return await queue_ring(
            session,
            runtime,
            phone=VENDOR,
            purpose="vendor_ring",
            caller="new_order",
            ring_seconds=5,
        )

    # A ring just before, as the ladder does: the look-up must not mistake it for the IVR call.
    ring_row = _finished(env, env.service.in_transaction(ring))
    fault = {"target": "api", "kind": "5xx", "endpoint": "Calls/connect", "status_code": 503}
    env.sim.control("POST", "faults", json={**fault, "remaining": 1})
    env.sim.script(VENDOR, keys=ACCEPTS_20)
    row = _finished(env, _vendor_call(env))
    assert (row["attempt"], row["status"], row["outcome"]) == (1, "completed", "accepted")
    assert row["meta"]["ambiguous_at"]
    assert row["call_sid"] != ring_row["call_sid"]
    flows = sorted(c["flow_id"] for c in env.sim.calls())
    assert flows == ["ring", "vendor_order"]  # the IVR call was dialled once, after the look-up


def test_bridge_connects_both_and_keeps_the_recording(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(RIDER, hangup_after=20)

    async def bridge(session: AsyncSession, runtime: Runtime) -> str:
        return await queue_bridge(
            session, runtime, first=VENDOR, second=RIDER, purpose="vendor_rider_bridge"
        )

    row = _finished(env, env.service.in_transaction(bridge))
    assert row["status"] == "completed"
    assert row["recording_url"]
    assert not env.service.published("call.failed")
    sim_call = env.sim.call(row["call_sid"])
    assert [leg["number"] for leg in sim_call["legs"]] == [VENDOR, RIDER]
    assert sim_call["record"] is True
    for number in (VENDOR, RIDER):
        kinds = [e["kind"] for e in env.sim.transcript(number)]
        assert "connected" in kinds


@pytest.mark.parametrize("overrides", [{"call_ring_timeout_seconds": 5}])
def test_carrier_rate_limit_delays_calls_without_losing_them(telephony: Telephony) -> None:
    env = telephony
    env.sim.control("PATCH", "accounts/exosim", json={"voice_per_minute": 1})

    async def rings(session: AsyncSession, runtime: Runtime) -> list[str]:
        return [
            await queue_ring(session, runtime, phone=phone, purpose="vendor_ring", ring_seconds=5)
            for phone in (VENDOR, RIDER)
        ]

    rows = [_finished(env, call_id) for call_id in env.service.in_transaction(rings)]
    assert [r["status"] for r in rows] == ["completed", "completed"]
    assert len({r["call_sid"] for r in rows}) == 2
    assert len(env.sim.calls()) == 2
    assert env.service.app.state.worker.stats.retried_later >= 1  # exosim did answer 429
