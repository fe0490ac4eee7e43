"""A flow (IVR) call has one leg, so ``ConversationDuration`` (both legs talking) is 0: the
call's duration is then the leg's time on the call.
"""

from __future__ import annotations

from datetime import UTC, datetime

from exocomms.telephony.exotel.callbacks import parse_status_callback

NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
SID = "c5797dcbaaeed7678c4062a4a3ed2f8a"


def _terminal(**fields: str) -> dict[str, str]:
    return {"CallSid": SID, "EventType": "terminal", "Status": "completed", **fields}


def test_flow_call_takes_the_single_legs_time() -> None:
    fields = _terminal(
        ConversationDuration="0",
        **{"Legs[0][OnCallDuration]": "39", "Legs[0][Status]": "completed"},
    )
    assert parse_status_callback(fields, NOW).event.duration == 39


def test_bridge_keeps_the_conversation_time() -> None:
    fields = _terminal(
        ConversationDuration="0",
        **{"Legs[0][OnCallDuration]": "25", "Legs[1][OnCallDuration]": "0"},
    )
    assert parse_status_callback(fields, NOW).event.duration == 0


def test_reported_conversation_time_wins() -> None:
    fields = _terminal(ConversationDuration="17", **{"Legs[0][OnCallDuration]": "21"})
    assert parse_status_callback(fields, NOW).event.duration == 17
