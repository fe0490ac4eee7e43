"""The Call object exactly as Exotel shows it (EXOTEL.md §1.4, §1.7)."""

from __future__ import annotations

from typing import Any

from exosim.api.phonenum import display
from exosim.api.render import Fmt, exotel_time
from exosim.model import Call, Leg
from exosim.store import Store

# The Call object only knows these statuses (§1.5); live sub-states read as in-progress.
_SHOWN_STATUS = {"ringing": "in-progress", "canceled": "failed"}


def call_uri(call: Call, fmt: Fmt) -> str:
    """``/v1/Accounts/<sid>/Calls/<CallSid>`` (+ ``.json`` for JSON answers)."""
    suffix = ".json" if fmt == "json" else ""
    return f"/v1/Accounts/{call.account_sid}/Calls/{call.sid}{suffix}"


def exophone_number(store: Store, call: Call) -> str | None:
    """The registered ExoPhone number matching the call's CallerId, if any."""
    exophone = store.exophone_by_number(call.caller_id)
    return exophone.phone_number if exophone and exophone.account_sid == call.account_sid else None


def phone_number_sid(call: Call, exophone_number: str | None) -> str:
    """The ExoPhone number as the account registered it, else as the client sent it."""
    return exophone_number or display(call.caller_id)


def call_fields(call: Call, fmt: Fmt, exophone_number: str | None = None) -> dict[str, Any]:
    """The Call object's fields in Exotel's order; nulls for what is not known (yet).

    ``EndTime``, ``Duration`` and ``Price`` appear only once ``call.details_ready`` (Exotel
    fills them in after the call). In flow mode ``To`` shows the ExoPhone, the number the
    flow answers on (an assumption: the flow-mode sample is not retrievable).
    """
    ready = call.details_ready
    to_number = display(call.to_number) if call.to_number else display(call.caller_id)
    return {
        "Sid": call.sid,
        "ParentCallSid": call.parent_call_sid,
        "DateCreated": exotel_time(call.date_created),
        "DateUpdated": exotel_time(call.date_updated),
        "AccountSid": call.account_sid,
        "To": to_number,
        "From": display(call.from_number),
        "PhoneNumberSid": phone_number_sid(call, exophone_number),
        "Status": _SHOWN_STATUS.get(call.status, call.status),
        "StartTime": exotel_time(call.start_time or call.date_created),
        "EndTime": exotel_time(call.end_time) if ready else None,
        "Duration": str(call.duration) if ready and call.duration is not None else None,
        "Price": call.price if ready else None,
        "Direction": call.direction,
        "AnsweredBy": call.answered_by,
        "ForwardedFrom": None,
        "CallerName": None,
        "Uri": call_uri(call, fmt),
        "RecordingUrl": call.recording_url,
    }


def _overlap_seconds(a: Leg, b: Leg) -> int:
    if None in (a.answered_at, a.ended_at, b.answered_at, b.ended_at):
        return 0
    assert a.answered_at
    assert a.ended_at
    assert b.answered_at
    assert b.ended_at
    start = max(a.answered_at, b.answered_at)
    end = min(a.ended_at, b.ended_at)
    return max(0, int((end - start).total_seconds()))


def call_details(call: Call) -> dict[str, Any]:
    """``Details`` of ``?details=true``: conversation time, leg statuses, per-leg durations.

    ConversationDuration is the time both legs were connected; with a single leg (flow mode)
    it is that leg's connected time (an assumption).
    """
    legs = call.legs
    if len(legs) >= 2:
        conversation = _overlap_seconds(legs[0], legs[1])
    else:
        conversation = legs[0].on_call_duration if legs else 0
    return {
        "ConversationDuration": conversation,
        "Leg1Status": legs[0].status if legs else None,
        "Leg2Status": legs[1].status if len(legs) > 1 else None,
        "Legs": [
            {"Leg": {"Id": index, "OnCallDuration": leg.on_call_duration}}
            for index, leg in enumerate(legs, start=1)
        ],
    }
