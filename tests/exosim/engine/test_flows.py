"""App Bazaar flows over real HTTP: Passthru, Gather, Greeting, IVR menu, Connect, SMS."""

from __future__ import annotations

from typing import Any

import httpx

from exosim.runtime import Sim
from tests.exosim.engine.conftest import EXOPHONE, connect, flow_url, put_flow, script
from tests.exosim.engine.support import Customer, Driver, Reply, assert_golden

CALLER, VENDOR = "09876543210", "09800000002"
PROMPT = "New order from Sharma Stores. Press 1 to accept or 2 to reject. Prep time is 10 minutes."


def _transcript(client: httpx.Client, number: str) -> list[tuple[str, str | None]]:
    response = client.get(f"/_exosim/phones/{number}/transcript")
    assert response.status_code == 200, response.text
    return [(entry["kind"], entry["text"]) for entry in response.json()["transcript"]]


def test_passthru_gather_passthru_greeting_hangup(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    p1 = customer.reply("/p1", Reply(status=200))
    gather = customer.reply(
        "/gather",
        Reply.of_json(
            {
                "gather_prompt": {"text": PROMPT},
                "max_input_digits": 1,
                "finish_on_key": "#",
                "input_timeout": 6,
                "repeat_menu": 1,
            }
        ),
    )
    p2 = customer.reply("/p2", Reply(status=302))
    put_flow(
        client,
        {
            "id": "vendor-confirm",
            "name": "Vendor confirmation",
            "start": "a1",
            "applets": {
                "a1": {"type": "passthru", "url": p1, "next": "a2", "on_302": "bye"},
                "a2": {"type": "gather", "url": gather, "next": "a3"},
                "a3": {"type": "passthru", "url": p2, "next": "ok", "on_302": "no"},
                "ok": {"type": "greeting", "text": "Thank you, order accepted.", "next": "bye"},
                "no": {"type": "greeting", "text": "Order rejected. Goodbye.", "next": "bye"},
                "bye": {"type": "hangup"},
            },
        },
    )
    script(client, CALLER, answer_after=2, keys=[{"when_heard": "prep time", "keys": "2"}])
    sid = connect(client, From=CALLER, Url=flow_url("vendor-confirm"), CustomField="ord-7")
    call = driver.finish(sid)
    assert call.status == "completed"

    (first,) = customer.to("/p1")
    assert first.method == "GET"
    assert [k for k, _ in first.query] == [
        "CallSid", "CallFrom", "CallTo", "CallStatus", "Direction", "Created",
        "DialCallDuration", "StartTime", "EndTime", "CurrentTime", "CallType",
        "DialWhomNumber", "CustomField", "From", "To", "flow_id",
    ]  # fmt: skip
    params = first.params
    assert params["CallSid"] == sid
    assert params["CallFrom"] == params["From"] == CALLER
    assert params["CallTo"] == params["To"] == EXOPHONE
    assert params["EndTime"] == "1970-01-01 05:30:00"
    assert params["Direction"] == "outbound-dial"
    assert params["CallStatus"] == "in-progress"
    assert params["flow_id"] == "vendor-confirm"
    assert "digits" not in params

    (gather_hit,) = customer.to("/gather")
    assert gather_hit.method == "GET"
    assert gather_hit.headers["exotel-version"] == "1.0"

    (second,) = customer.to("/p2")
    assert second.params["digits"] == '"2"'
    assert_golden("passthru_after_gather.txt", _query_text(second.query))

    assert _transcript(client, CALLER) == [
        ("ringing", EXOPHONE),  # what its screen showed
        ("answered", None),
        ("heard_tts", PROMPT),
        ("pressed", "2"),
        ("heard_tts", "Order rejected. Goodbye."),
        ("call_ended", "completed"),
    ]
    kinds = [e.kind for e in call.events]
    assert kinds.index("passthru.response") < kinds.index("applet.request")
    assert call.digits == ["2"]


def test_gather_without_input_repeats_then_moves_on(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    after = customer.reply("/after", Reply())
    put_flow(
        client,
        {
            "id": "silent",
            "start": "g",
            "applets": {
                "g": {
                    "type": "gather",
                    "prompt": {"text": "Enter your PIN"},
                    "repeat_prompt": {"text": "Please enter your PIN now"},
                    "repeat_menu": 1,
                    "input_timeout": 5,
                    "next": "p",
                },
                "p": {"type": "passthru", "url": after},
            },
        },
    )
    sid = connect(client, From=CALLER, Url=flow_url("silent"))
    driver.finish(sid)
    heard = [text for kind, text in _transcript(client, CALLER) if kind == "heard_tts"]
    assert heard == ["Enter your PIN", "Please enter your PIN now"]
    assert customer.to("/after")[0].params["digits"] == '""'


def test_ivr_menu_retries_invalid_key(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    menu_prompt = customer.reply("/menu", Reply(text="Press 1 for status, 2 for an agent"))
    status = customer.reply("/status", Reply())
    put_flow(
        client,
        {
            "id": "menu",
            "start": "m",
            "applets": {
                "m": {
                    "type": "ivr_menu",
                    "url": menu_prompt,
                    "options": {"1": "s", "2": "s"},
                    "retries": 2,
                },
                "s": {"type": "passthru", "url": status},
            },
        },
    )
    script(
        client,
        CALLER,
        keys=[
            {"when_heard": "for status", "keys": "9", "once": True},
            {"at": 20, "keys": "1"},
        ],
    )
    sid = connect(client, From=CALLER, Url=flow_url("menu"))
    call = driver.finish(sid)
    # HEAD then GET, twice (the prompt is fetched again when it repeats).
    assert [hit.method for hit in customer.to("/menu")][:2] == ["HEAD", "GET"]
    assert customer.to("/menu")[1].params == {
        "CallSid": sid,
        "From": CALLER,
        "To": EXOPHONE,
        "DialWhomNumber": "",
    }
    assert any(e.kind == "ivr_menu.invalid" and e.data["digits"] == "9" for e in call.events)
    assert customer.to("/status")[0].params["digits"] == '"1"'


def test_passthru_timeout_takes_the_error_branch_and_async_does_not_wait(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    slow = customer.reply("/slow", Reply(hang=True))
    driver.stuck_after = 0.2  # the hanging request must let simulated time run out
    fire = customer.reply("/fire", Reply(status=302))
    put_flow(
        client,
        {
            "id": "timeouts",
            "start": "a",
            "applets": {
                "a": {"type": "passthru", "url": fire, "async": True, "next": "b"},
                "b": {"type": "passthru", "url": slow, "next": "ok", "on_error": "err"},
                "ok": {"type": "greeting", "text": "fine"},
                "err": {"type": "greeting", "text": "fallback"},
            },
        },
    )
    sid = connect(client, From=CALLER, Url=flow_url("timeouts"))
    call = driver.finish(sid)
    heard = [text for kind, text in _transcript(client, CALLER) if kind == "heard_tts"]
    assert heard == ["fallback"]
    assert len(customer.to("/fire")) == 1
    assert any(e.kind == "passthru.failed" for e in call.events)


def test_incoming_call_connect_dynamic_url_bridges(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    dial = customer.reply(
        "/dial",
        Reply.of_json(
            {
                "fetch_after_attempt": False,
                "destination": {"numbers": [VENDOR]},
                "record": True,
                "max_ringing_duration": 30,
                "start_call_playback": {
                    "playback_to": "both",
                    "type": "text",
                    "value": "Connecting you to your vendor",
                },
            }
        ),
    )
    after = customer.reply("/after", Reply())
    sms = customer.reply("/sms", Reply(text="Thanks for calling Sharma Stores"))
    put_flow(
        client,
        {
            "id": "inbound",
            "start": "c",
            "applets": {
                "c": {"type": "connect", "url": dial, "next": "p", "on_no_answer": "bye"},
                "p": {"type": "passthru", "url": after, "next": "t"},
                "t": {"type": "sms", "url": sms, "next": "bye"},
                "bye": {"type": "hangup"},
            },
        },
    )
    assigned = client.post("/_exosim/flows/inbound/assign", json={"exophone": EXOPHONE})
    assert assigned.status_code == 200, assigned.text
    script(client, VENDOR, answer_after=4, hangup_after=20)
    placed = client.post(f"/_exosim/phones/{CALLER}/call", json={"to": EXOPHONE})
    assert placed.status_code == 201, placed.text
    sid = placed.json()["call_sid"]
    call = driver.finish(sid)

    assert call.direction == "inbound"
    assert call.status == "completed"
    (dial_hit,) = customer.to("/dial")
    assert dial_hit.headers["exotel-version"] == "1.0"
    assert dial_hit.params["Direction"] == "incoming"
    assert [leg.number for leg in call.legs] == ["+919876543210", "+919800000002"]
    assert call.legs[1].status == "completed"
    assert call.legs[1].on_call_duration == 20
    assert call.legs[1].answered_by == "Human"
    after_params = customer.to("/after")[0].params
    assert after_params["DialWhomNumber"] == VENDOR
    assert after_params["DialCallDuration"] == "20"
    assert after_params["CallType"] == "completed"
    assert after_params["RecordingUrl"] == call.recording_url
    assert _transcript(client, VENDOR)[0] == ("ringing", EXOPHONE)  # never the caller's number
    assert ("heard_tts", "Connecting you to your vendor") in _transcript(client, VENDOR)
    assert ("heard_tts", "Connecting you to your vendor") in _transcript(client, CALLER)
    (message,) = sim.store.sms.values()
    assert message.to_number == "+919876543210"
    assert message.body == "Thanks for calling Sharma Stores"
    assert [hit.method for hit in customer.to("/sms")] == ["HEAD", "GET"]


def test_connect_nobody_answers_takes_no_answer_branch(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    after = customer.reply("/after", Reply())
    put_flow(
        client,
        {
            "id": "nobody",
            "start": "c",
            "applets": {
                "c": {
                    "type": "connect",
                    "numbers": ["09800000003", "09800000004"],
                    "max_ringing_duration": 15,
                    "next": "bye",
                    "on_no_answer": "p",
                },
                "p": {"type": "passthru", "url": after},
                "bye": {"type": "hangup"},
            },
        },
    )
    script(client, "09800000003", behaviour="busy")
    script(client, "09800000004", behaviour="no_answer")
    sid = connect(client, From=CALLER, Url=flow_url("nobody"))
    call = driver.finish(sid)
    assert [leg.status for leg in call.legs] == ["completed", "busy", "no-answer"]
    params = customer.to("/after")[0].params
    assert params["CallType"] == "incomplete"
    assert params["DialWhomNumber"] == "09800000004"


def test_missed_call_hits_leading_passthru_only(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    hit_url = customer.reply("/missed", Reply())
    put_flow(
        client,
        {
            "id": "missed",
            "start": "p",
            "applets": {
                "p": {"type": "passthru", "url": hit_url, "next": "g"},
                "g": {"type": "greeting", "text": "never heard"},
            },
        },
    )
    client.post("/_exosim/flows/missed/assign", json={"exophone": EXOPHONE}).raise_for_status()
    placed = client.post(f"/_exosim/phones/{CALLER}/call", json={"to": EXOPHONE, "missed": True})
    call = driver.finish(placed.json()["call_sid"])
    assert call.status == "no-answer"
    assert call.duration == 3
    params = customer.to("/missed")[0].params
    assert params["CallStatus"] == "no-answer"
    assert params["Direction"] == "incoming"
    assert not any(kind == "heard_tts" for kind, _ in _transcript(client, CALLER))


def _query_text(query: list[tuple[str, Any]]) -> str:
    return "\n".join(f"{key}={value}" for key, value in query) + "\n"


def test_gather_falls_back_to_the_fallback_url(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    primary = customer.reply("/primary", Reply(status=500, text="boom"))
    fallback = customer.reply(
        "/fallback", Reply.of_json({"gather_prompt": {"text": "Fallback menu"}, "input_timeout": 3})
    )
    put_flow(
        client,
        {
            "id": "fb",
            "start": "g",
            "applets": {"g": {"type": "gather", "url": primary, "fallback_url": fallback}},
        },
    )
    call = driver.finish(connect(client, From=CALLER, Url=flow_url("fb")))
    assert len(customer.to("/primary")) == 1
    assert customer.to("/fallback")[0].headers["exotel-version"] == "1.0"
    assert [e.data["text"] for e in call.events if e.kind == "tts"] == ["Fallback menu"] * 2
