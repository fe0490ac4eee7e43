"""Pure pieces of the engine: callback encoding, ExoML parsing, scripts, flows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exosim.engine.callbacks import multipart_pairs, status_fields
from exosim.engine.session import is_audio_url, speech_seconds
from exosim.flows.exoml import ExoMlError, _parse
from exosim.model import Call, Leg
from exosim.phones.model import KeyRule, PhoneScript, get_or_create
from exosim.phones.scenario import ScenarioError, parse_scenario

T0 = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)  # 12:00:00 IST


def _call(**extra: object) -> Call:
    call = Call(
        sid="a" * 32,
        account_sid="exosim",
        from_number="+919876543210",
        to_number="+919812345678",
        caller_id="08047091234",
        direction="outbound-api",
        date_created=T0,
        date_updated=T0,
        status="completed",
        start_time=T0,
        end_time=T0,
        **extra,  # type: ignore[arg-type]
    )
    call.legs = [Leg("+919876543210", "completed"), Leg("+919812345678", None)]
    return call


def test_multipart_flattens_legs_and_blanks_none() -> None:
    fields = status_fields(_call(status_callback_events=["terminal"]), "terminal")
    pairs = multipart_pairs(fields)
    assert ("Legs[1][Status]", "") in pairs
    assert ("Legs[0][OnCallDuration]", "0") in pairs
    assert ("RecordingUrl", "") in pairs
    assert ("StartTime", "2026-03-01 12:00:00") in pairs
    assert "CustomField" not in dict(pairs)


def test_plain_callback_has_exactly_four_fields() -> None:
    assert list(status_fields(_call(), "terminal")) == [
        "CallSid",
        "DateUpdated",
        "Status",
        "RecordingUrl",
    ]


@given(st.text(max_size=300))
def test_any_text_either_parses_or_raises_exoml_error(text: str) -> None:
    try:
        root = _parse(text)
    except ExoMlError:
        return
    assert root.tag == "Response"


@pytest.mark.parametrize(
    "document",
    ["", "<Response>", "<Foo/>", "<Response><Say>a</Say><Nope/></Response>", "x" * 200_001],
)
def test_bad_documents_are_exoml_errors(document: str) -> None:
    with pytest.raises(ExoMlError):
        _parse(document)


def test_key_rule_matches_case_insensitive_regex_or_substring() -> None:
    rule = KeyRule(keys="2", when_heard="prep time")
    assert rule.matches("Your PREP TIME is 10 minutes")
    assert not rule.matches("preparation")
    assert KeyRule(keys="1", when_heard=r"press \d to accept").matches("Press 1 to accept")


def test_per_call_behaviour_inherits_unset_fields() -> None:
    script = PhoneScript.model_validate(
        {"answer_after": 3, "hangup_after": 20, "calls": [{"behaviour": "busy"}]}
    )
    first, second = script.for_call(0), script.for_call(1)
    assert (first.behaviour, first.answer_after, first.hangup_after) == ("busy", 3, 20)
    assert second is script


def test_number_spellings_share_one_phone() -> None:
    phones: dict[str, object] = {}
    a = get_or_create(phones, "09876543210")
    b = get_or_create(phones, "9876543210")
    c = get_or_create(phones, "+91 98765 43210")
    assert a is b is c
    assert list(phones) == ["+919876543210"]


def test_prompt_helpers() -> None:
    assert is_audio_url(" https://203.0.113.5/a.wav ")
    assert not is_audio_url("Visit https://example.com today")
    assert speech_seconds("one") == 1.0
    assert speech_seconds("a b c d e") == 2.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("phones: {'12': {}}", "not a phone number"),
        ("flows: [{start: a, applets: {a: {type: hangup}}}]\nexophones: {'08047091234': b}", "b"),
        ("phones: {'09876543210': {behaviour: sing}}", "behaviour"),
        ("unknown: 1", "unknown"),
        ("{", "not valid"),
    ],
)
def test_bad_scenarios(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text) if "exophones" not in text else _apply(text)


def _apply(text: str) -> None:
    from exosim.clock import SimClock
    from exosim.phones.scenario import apply_scenario
    from exosim.store import Store

    apply_scenario(Store(clock=SimClock()), parse_scenario(text), "exosim")
