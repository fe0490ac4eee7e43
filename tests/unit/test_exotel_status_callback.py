"""Parsing Exotel's StatusCallback in every shape it may come in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exocomms.calls.model import CallStatus
from exocomms.errors import ValidationError
from exocomms.telephony.exotel.callbacks import parse_status_callback

NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
SID = "c5797dcbaaeed7678c4062a4a3ed2f8a"


def test_minimal_callback_without_events() -> None:
    parsed = parse_status_callback(
        {
            "CallSid": SID,
            "Status": "no-answer",
            "DateUpdated": "2026-03-02 10:31:00",
            "RecordingUrl": "",
        },
        NOW,
    )
    assert parsed.event.status is CallStatus.NO_ANSWER
    assert parsed.event.at == datetime(2026, 3, 2, 5, 1, tzinfo=UTC)  # IST → UTC
    assert parsed.event.recording_url is None
    assert parsed.dedupe_key == "status:terminal:no-answer"


def test_json_legs_and_machine_answer() -> None:
    parsed = parse_status_callback(
        {
            "CallSid": SID,
            "Status": "completed",
            "EventType": "terminal",
            "ConversationDuration": 17,
            "Legs": [{"OnCallDuration": 21, "Status": "completed", "AnsweredBy": "MACHINE"}],
        },
        NOW,
    )
    assert parsed.event.answered_by == "Machine"
    assert parsed.event.duration == 17
    assert parsed.legs[0]["OnCallDuration"] == 21


def test_bracketed_legs_in_form_mode() -> None:
    parsed = parse_status_callback(
        {
            "CallSid": SID,
            "Status": "busy",
            "EventType": "terminal",
            "Legs[0][Status]": "completed",
            "Legs[0][AnsweredBy]": "NA",
            "Legs[1][Status]": "busy",
            "Legs[1][AnsweredBy]": "NotSure",
        },
        NOW,
    )
    assert [leg["Status"] for leg in parsed.legs] == ["completed", "busy"]
    assert parsed.event.answered_by == "NotSure"
    assert parsed.event.status is CallStatus.BUSY


def test_answered_event_means_in_progress() -> None:
    parsed = parse_status_callback(
        {
            "CallSid": SID,
            "Status": "in-progress",
            "EventType": "answered",
            "StartTime": "2026-03-02 10:30:05",
        },
        NOW,
    )
    assert parsed.event.status is CallStatus.IN_PROGRESS
    assert parsed.event.at == datetime(2026, 3, 2, 5, 0, 5, tzinfo=UTC)
    assert parsed.event.duration is None


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"CallSid": "", "Status": "completed"},
        {"CallSid": "../../etc/passwd", "Status": "completed"},
        {"CallSid": SID, "Status": "exploded"},
        {"CallSid": SID},
    ],
)
def test_garbage_is_a_validation_error(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        parse_status_callback(fields, NOW)


def test_garbage_fields_beside_a_valid_core_are_ignored() -> None:
    parsed = parse_status_callback(
        {
            "CallSid": SID,
            "Status": "completed",
            "DateUpdated": "yesterday",
            "ConversationDuration": "lots",
            "Legs": "{not json",
        },
        NOW,
    )
    assert parsed.event.at == NOW
    assert parsed.event.duration is None
    assert parsed.legs == []
