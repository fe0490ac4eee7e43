"""Exotel applet answers (Gather/Connect JSON, Greeting text, Passthru) and request parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from exocomms.errors import NotSupported, ValidationError
from exocomms.ivr import engine, flows
from exocomms.ivr.model import Digits
from exocomms.telephony.callflow import CallFlow, Connect, Gather, Hangup, Pause, Play, Say
from exocomms.telephony.exotel import applets
from tests.golden.telephony import assert_golden

IVR = flows.get("vendor_order")
CONTEXT = {
    "store_name": "Krishna Kirana",
    "order_id": 12345,
    "amount": "325.50",
    "items": [{"name": "Butter Chicken", "quantity": 1}, {"name": "Naan", "quantity": 2}],
}
LANGS = ["hi", "en", "mr"]


@pytest.mark.parametrize("lang", LANGS)
def test_gather_json_golden_for_the_vendor_menu(lang: str) -> None:
    first = engine.start(IVR, CONTEXT, lang)
    answer = applets.gather_json_for(first.prompt)
    assert_golden(f"applets/gather_vendor_order_{lang}.json", applets.to_wire(answer))
    assert answer["gather_prompt"]["text"] == first.prompt.spoken_text()


@pytest.mark.parametrize("lang", LANGS)
def test_greeting_text_golden_for_the_vendor_confirmation(lang: str) -> None:
    first = engine.start(IVR, CONTEXT, lang)
    accepted = engine.step(IVR, engine.step(IVR, first.state, Digits("1")).state, Digits("2"))
    body = applets.greeting_text_for(accepted.prompt)
    assert_golden(f"applets/greeting_vendor_order_accepted_{lang}.txt", body)
    assert body == accepted.prompt.spoken_text()


def test_gather_json_shape_and_prompts() -> None:
    gather = Gather(
        (Say("Press 1"), Pause(), Say(" or 2 ")),
        num_digits=2,
        timeout_seconds=8,
        finish_on_key="*",
        retries=1,
    )
    assert applets.gather_json(gather) == {
        "gather_prompt": {"text": "Press 1 or 2"},
        "max_input_digits": 2,
        "finish_on_key": "*",
        "input_timeout": 8,
        "repeat_menu": 1,
        "repeat_gather_prompt": {"text": "Press 1 or 2"},
    }
    audio = applets.gather_json(Gather((Play("https://cdn.example.in/menu.wav"),)))
    assert audio["gather_prompt"] == {"audio_url": "https://cdn.example.in/menu.wav"}
    with pytest.raises(NotSupported):
        applets.gather_json(Gather((Say("a"), Play("https://cdn.example.in/b.wav"))))
    with pytest.raises(NotSupported):
        applets.gather_json_for(CallFlow((Say("bye"), Hangup())))


def test_greeting_text_is_text_or_one_url() -> None:
    assert applets.greeting_text([Say("नमस्ते"), Say("धन्यवाद")]) == "नमस्ते धन्यवाद"
    assert applets.greeting_text([Play("https://cdn.example.in/x.mp3")]) == (
        "https://cdn.example.in/x.mp3"
    )
    assert applets.greeting_text_for(CallFlow((Hangup(),))) == ""


def test_connect_json_golden() -> None:
    connect = Connect(
        numbers=("+919800000001", "+919800000002"),
        caller_id="+918047000000",
        record=True,
        time_limit_seconds=600,
        ring_timeout_seconds=25,
        parallel=True,
        announce=Say("Customer call for order 12345"),
    )
    assert_golden("applets/connect.json", applets.to_wire(applets.connect_json(connect)))
    minimal = applets.connect_json(Connect(numbers=("+919800000001",)))
    assert minimal == {
        "fetch_after_attempt": False,
        "destination": {"numbers": ["+919800000001"]},
        "record": False,
        "max_ringing_duration": 30,
    }


def test_passthru_decision() -> None:
    assert applets.passthru_decision(True) == 200
    assert applets.passthru_decision(False) == 302


def test_wire_json_is_utf8_not_escaped() -> None:
    wire = applets.to_wire({"gather_prompt": {"text": "नमस्ते"}})
    assert wire == '{"gather_prompt":{"text":"नमस्ते"}}'.encode()
    assert json.loads(wire) == {"gather_prompt": {"text": "नमस्ते"}}


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ('"12"', "12"),
        ('"1"', "1"),
        ("3", "3"),
        ('""', None),
        ("", None),
        (None, None),
        ('  "1#" ', "1#"),
        ('"*"', "*"),
    ],
)
def test_parse_digits(raw: str | None, digits: str | None) -> None:
    assert applets.parse_digits(raw) == digits


@pytest.mark.parametrize("raw", ['"1a"', '"1 2"', '"<1>"', '"' + "1" * 300 + '"'])
def test_parse_digits_rejects_non_dtmf(raw: str) -> None:
    with pytest.raises(ValidationError):
        applets.parse_digits(raw)


def test_applet_request_from_current_params() -> None:
    req = applets.AppletRequest.from_query(
        {
            "CallSid": "b6cfaf0d5bd2b9a5d1b1b5e2f54e1a9b",
            "CallFrom": "09800000001",
            "CallTo": "08047000000",
            "CallStatus": "in-progress",
            "Direction": "outbound-dial",
            "Created": "Fri, 21 Nov 2025 13:00:00",
            "EndTime": "1970-01-01 05:30:00",
            "CurrentTime": "2025-11-21 18:30:05",
            "CallType": "call-attempt",
            "digits": '"2"',
            "CustomField": "call=42",
            "flow_id": "123456",
        }
    )
    assert req.call_sid == "b6cfaf0d5bd2b9a5d1b1b5e2f54e1a9b"
    assert (req.call_from, req.call_to) == ("09800000001", "08047000000")
    assert req.digits == "2"
    assert req.custom_field == "call=42"
    assert req.flow_id == "123456"
    assert req.current_time == datetime(2025, 11, 21, 13, 0, 5, tzinfo=UTC)  # IST → UTC
    assert req.recording_url is None
    assert req.stream is None
    assert req.raw["EndTime"] == "1970-01-01 05:30:00"


def test_applet_request_accepts_old_names_and_missing_fields() -> None:
    req = applets.AppletRequest.from_query(
        {"CallSid": "abc123", "From": "+91 98000-00001", "To": "080 4700 0000", "digits": ""}
    )
    assert (req.call_from, req.call_to, req.digits) == ("+919800000001", "08047000000", None)
    assert req.call_status is None
    assert req.current_time is None


def test_applet_request_stream_results_in_both_spellings() -> None:
    nested = applets.AppletRequest.from_query(
        {
            "CallSid": "s1",
            "Stream[StreamSID]": "st1",
            "Stream[Status]": "completed",
            "Stream[DisconnectedBy]": "bot",
        }
    )
    assert nested.stream == {"StreamSID": "st1", "Status": "completed", "DisconnectedBy": "bot"}
    blob = applets.AppletRequest.from_query(
        {"CallSid": "s1", "Stream": '{"StreamSID": "st1", "Duration": 12, "RecordingUrl": null}'}
    )
    assert blob.stream == {"StreamSID": "st1", "Duration": "12", "RecordingUrl": ""}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"CallSid": ""},
        {"CallSid": "bad sid!"},
        {"CallSid": "s1", "digits": '"1x"'},
        {"CallSid": "s1", "CallFrom": "robert'); drop"},
        {"CallSid": "s1", "CurrentTime": "yesterday"},
        {"CallSid": "s1", "Stream": "{not json"},
        {"CallSid": "s1", "Stream": "[1, 2]"},
    ],
)
def test_applet_request_refuses_garbage(params: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        applets.AppletRequest.from_query(params)
