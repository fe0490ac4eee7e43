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
from tests.e2e.conftest import Telephony
from tests.e2e.support import (
    ACCEPTS_20,
    DID_ADDRESS,
    DID_NEW_ORDER,
    MENU,
    ORDER,
    PREP_QUESTION,
    RIDER,
    SMS_SENDER,
    TOKEN,
    VENDOR,
    finished,
    heard,
    vendor_call,
    wait_for,
)

GREETING = "नमस्ते Krishna Kirana"  # the first time the menu is heard
WRONG_KEY = "सही विकल्प नहीं"  # the menu again after a wrong key
REASON_QUESTION = "कारण बताइए"  # the rejection-reason question only


def _callback_statuses(sim_call: dict[str, Any]) -> list[int | None]:
    return [c["status_code"] for c in sim_call["callbacks"]]


def test_vendor_accepts_with_prep_time(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(VENDOR, keys=ACCEPTS_20)
    call_id = vendor_call(env.service)
    row = finished(env.service, call_id)
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
    said = [e["text"] for e in transcript if e["kind"] == "heard_tts"]
    assert "Krishna Kirana" in said[0]
    assert "325 रुपये" in said[0]
    assert "स्वीकार हो गया" in said[-1]  # the confirmation is the last thing said...
    assert "20 मिनट" in said[-1]
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
    row = finished(env.service, response.json()["call_id"])
    assert (row["status"], row["outcome"], row["rejection_reason"], row["digits"]) == (
        "completed",
        "rejected",
        "out_of_stock",
        "21",
    )
    rejected = env.service.published("vendor.rejected")
    assert [e.data["reason"] for e in rejected] == ["out_of_stock"]
    assert not env.service.published("vendor.accepted")
    assert "सामान उपलब्ध नहीं" in heard(env.sim, VENDOR)[-1]


def test_vendor_who_never_answers_is_called_again_then_reported(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(VENDOR, behaviour="no_answer")
    first = vendor_call(env.service, max_attempts=2)

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
    # An operator asks for one more try; this time the vendor picks up and accepts.
    env.sim.script(VENDOR, keys=ACCEPTS_20)
    response = env.service.http.post(f"/nerve/calls/{calls[1]['id']}/retry")
    assert response.status_code == 202, response.text
    third = finished(env.service, response.json()["id"])
    assert (third["attempt"], third["outcome"]) == (3, "accepted")
    stats = env.service.http.get("/nerve/calls/stats").json()
    assert stats == {
        "status": {"completed": 1, "no-answer": 2},
        "outcome": {"accepted": 1, "none": 2},
    }


def test_voicemail_counts_as_no_answer_and_the_retry_reaches_the_vendor(
    telephony: Telephony,
) -> None:
    env = telephony
    env.sim.script(VENDOR, keys=ACCEPTS_20, calls=[{"behaviour": "voicemail", "keys": []}])
    first = finished(env.service, vendor_call(env.service, max_attempts=2))
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

    second = finished(env.service, wait_for(second_attempt, what="attempt 2")["id"])
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
    row = finished(env.service, vendor_call(env.service))
    assert (row["outcome"], row["prep_time_minutes"], row["digits"]) == ("accepted", 20, "7812")
    said = heard(env.sim, VENDOR)
    assert sum(WRONG_KEY in text for text in said) == 2
    assert len(env.service.published("vendor.accepted")) == 1


def test_wrong_key_three_times_is_not_acknowledged(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(VENDOR, keys=[{"when_heard": MENU, "keys": "7"}])
    row = finished(env.service, vendor_call(env.service))
    assert (row["status"], row["outcome"], row["digits"]) == (
        "completed",
        "not_acknowledged",
        "777",
    )
    assert "जवाब नहीं मिला" in heard(env.sim, VENDOR)[-1]
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

    row = finished(env.service, env.service.in_transaction(start))
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

    row = finished(env.service, env.service.in_transaction(start))
    assert (row["status"], row["outcome"], row["digits"]) == (
        "completed",
        "message_delivered",
        None,
    )
    [said] = heard(env.sim, customer)
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

    row = finished(env.service, env.service.in_transaction(start))
    assert (row["outcome"], row["digits"]) == ("acknowledged", "31")
    [ack] = env.service.published("party.acknowledged")
    assert (ack.party, ack.data["escalation_id"]) == ("rider", "address_update_12345")
    said = heard(env.sim, RIDER)
    assert sum("4th Block" in text for text in said) == 2
    assert env.sim.transcript(RIDER)[0]["text"] == DID_ADDRESS


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
    row = finished(env.service, vendor_call(env.service))
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
    assert "स्वीकार हो गया" in heard(env.sim, VENDOR)[-1]
    assert len(env.service.published("vendor.accepted")) == 1
