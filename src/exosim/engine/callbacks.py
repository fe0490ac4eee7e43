"""Call StatusCallbacks exactly as EXOTEL.md §1.6 and §10.5 describe them.

* Without ``StatusCallbackEvents`` only ``CallSid, DateUpdated, Status, RecordingUrl`` are sent,
  once, when the call ends.
* With events, every callback adds ``EventType, DateCreated, To, From, PhoneNumberSid,
  StartTime, EndTime, ConversationDuration, Direction, CustomField`` (when set) and ``Legs``.
  ``answered`` (when subscribed) goes before ``terminal``; ``terminal`` is always sent.
* The body is multipart/form-data unless ``StatusCallbackContentType=application/json``.
  Multipart cannot nest, so ``Legs`` become bracketed keys ``Legs[0][Status]`` (an assumption;
  Exotel documents only the JSON form). ``RecordingUrl`` is always present: ``""`` in multipart
  and ``null`` in JSON when there is no recording.
* ``Status`` of an ``answered`` callback is ``in-progress`` and of a ``ringing`` callback
  ``ringing`` (assumptions: the documented values are the terminal ones only). ``ringing``
  (listed only in Exotel's AgentStream openapi) is sent each time leg 1 or leg 2 starts ringing.
* ``answered`` is sent when the conversation starts: leg 2 answering in two-number mode, leg 1
  answering in flow mode.
"""

from __future__ import annotations

from typing import Any

from exosim.api.phonenum import display
from exosim.api.render import exotel_time
from exosim.model import Call, Event, Leg
from exosim.runtime import Sim

_LIVE_STATUS = {"answered": "in-progress", "ringing": "ringing"}


def leg_json(leg: Leg) -> dict[str, Any]:
    """One ``Legs[]`` entry."""
    return {
        "OnCallDuration": leg.on_call_duration,
        "Status": leg.status,
        "AnsweredBy": leg.answered_by,
    }


def conversation_duration(call: Call) -> int:
    """Seconds the caller talked with someone on another leg; in flow mode (one leg), that
    leg's connected time, as ``?details=true`` reports it (README: an assumption).
    """
    if not call.legs or call.legs[0].answered_at is None:
        return 0
    if len(call.legs) == 1:
        return call.legs[0].on_call_duration
    return sum(leg.on_call_duration for leg in call.legs[1:])


def _number(value: str | None) -> str | None:
    return display(value) if value else value


def status_fields(call: Call, event_type: str) -> dict[str, Any]:
    """The callback's fields in wire order (values still typed; JSON keeps them as they are)."""
    status = call.status if event_type == "terminal" else _LIVE_STATUS.get(event_type, "")
    if not call.status_callback_events:
        return {
            "CallSid": call.sid,
            "DateUpdated": exotel_time(call.date_updated),
            "Status": status,
            "RecordingUrl": call.recording_url,
        }
    fields: dict[str, Any] = {
        "CallSid": call.sid,
        "EventType": event_type,
        "DateCreated": exotel_time(call.date_created),
        "DateUpdated": exotel_time(call.date_updated),
        "Status": status,
        "To": _number(call.to_number),
        "From": _number(call.from_number),
        "PhoneNumberSid": _number(call.caller_id),
        "StartTime": exotel_time(call.start_time),
        "EndTime": exotel_time(call.end_time) if event_type == "terminal" else None,
        "ConversationDuration": conversation_duration(call),
        "Direction": call.direction,
        "RecordingUrl": call.recording_url,
        "Legs": [leg_json(leg) for leg in call.legs],
    }
    if call.custom_field is not None:
        fields["CustomField"] = call.custom_field
    return fields


def multipart_pairs(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """Flatten fields for a form body: ``Legs`` as ``Legs[i][Key]``, None as ``""``."""
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        if key == "Legs":
            for index, leg in enumerate(value):
                for leg_key, leg_value in leg.items():
                    text = "" if leg_value is None else str(leg_value)
                    pairs.append((f"Legs[{index}][{leg_key}]", text))
        else:
            pairs.append((key, "" if value is None else str(value)))
    return pairs


def wants(call: Call, event_type: str) -> bool:
    """Whether ``event_type`` is sent for this call (``terminal``: whenever a URL is set)."""
    if not call.status_callback:
        return False
    return event_type == "terminal" or event_type in call.status_callback_events


def send_status(sim: Sim, call: Call, event_type: str) -> None:
    """Queue the ``event_type`` StatusCallback of ``call`` when it is wanted."""
    if not wants(call, event_type) or call.status_callback is None:
        return
    fields = status_fields(call, event_type)
    call.events.append(Event(sim.store.clock.now(), "status_callback", {"event": event_type}))
    if call.status_callback_content_type.lower().startswith("application/json"):
        sim.sender.send(
            endpoint="status",
            url=call.status_callback,
            body="json",
            fields=fields,
            log=call.callbacks,
        )
    else:
        sim.sender.send(
            endpoint="status",
            url=call.status_callback,
            body="multipart",
            fields=multipart_pairs(fields),
            log=call.callbacks,
        )
