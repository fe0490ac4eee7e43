"""Exotel's call StatusCallback, parsed defensively into a provider-neutral call event.

Exotel posts multipart/form-data by default or JSON when asked (EXOTEL.md §1.6). With no
``StatusCallbackEvents`` only ``CallSid, DateUpdated, Status, RecordingUrl`` arrive; with them
``EventType`` (``answered``/``terminal``), times, ``ConversationDuration`` and ``Legs`` are
added. How ``Legs`` is form-encoded is undocumented, so both a JSON string and bracketed keys
(``Legs[0][Status]``) are accepted. ``AnsweredBy`` is matched case-insensitively.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exocomms.calls.model import CallEvent, CallStatus
from exocomms.errors import ValidationError
from exocomms.telephony.exotel.wire import parse_time

_SID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TERMINAL = {
    "completed": CallStatus.COMPLETED,
    "failed": CallStatus.FAILED,
    "busy": CallStatus.BUSY,
    "no-answer": CallStatus.NO_ANSWER,
    "canceled": CallStatus.CANCELED,
}
_BRACKET = re.compile(r"^Legs\[(\d{1,2})\]\[(\w{1,40})\]$")


@dataclass(frozen=True)
class StatusCallback:
    """One parsed status callback."""

    call_sid: str
    event: CallEvent
    event_type: str  # answered | terminal
    custom_field: str | None
    legs: list[dict[str, Any]]

    @property
    def dedupe_key(self) -> str:
        """Same callback delivered twice → same key."""
        return f"status:{self.event_type}:{self.event.status.value}"


def _legs(fields: dict[str, Any]) -> list[dict[str, Any]]:
    raw = fields.get("Legs")
    if isinstance(raw, list):
        return [leg for leg in raw if isinstance(leg, dict)]
    if isinstance(raw, str) and raw.strip():
        try:
            decoded = json.loads(raw)
        except ValueError:
            return []
        return (
            [leg for leg in decoded if isinstance(leg, dict)] if isinstance(decoded, list) else []
        )
    by_index: dict[int, dict[str, Any]] = {}
    for key, value in fields.items():
        match = _BRACKET.match(key)
        if match:
            by_index.setdefault(int(match[1]), {})[match[2]] = value
    return [by_index[i] for i in sorted(by_index)]


def _answered_by(legs: list[dict[str, Any]], fields: dict[str, Any]) -> str | None:
    candidates = [fields.get("AnsweredBy")] + [leg.get("AnsweredBy") for leg in legs]
    for value in candidates:
        if isinstance(value, str) and value.strip() and value.strip().upper() != "NA":
            return value.strip().capitalize() if value.isupper() else value.strip()
    return None


def _int(value: Any) -> int | None:
    try:
        return int(float(str(value))) if value not in (None, "") else None
    except ValueError:
        return None


def _duration(fields: dict[str, Any], legs: list[dict[str, Any]]) -> int | None:
    """Talk time: ``ConversationDuration``; for a flow call (one leg) that leg's time.

    ``ConversationDuration`` counts the seconds both legs talked, so a flow (IVR) call, which
    has only the callee's leg, reports 0 however long the callee listened and pressed keys.
    """
    conversation = _int(fields.get("ConversationDuration"))
    if len(legs) == 1 and not conversation:
        return _int(legs[0].get("OnCallDuration")) or conversation
    return conversation


def parse_status_callback(fields: dict[str, Any], received_at: datetime) -> StatusCallback:
    """Parse the callback's fields (form or JSON, flattened to a dict).

    Raises:
        ValidationError: no usable CallSid or Status.
    """
    call_sid = str(fields.get("CallSid") or "").strip()
    if not _SID.match(call_sid):
        raise ValidationError("StatusCallback without a valid CallSid")
    event_type = str(fields.get("EventType") or "terminal").strip().lower()
    status_text = str(fields.get("Status") or "").strip().lower()
    legs = _legs(fields)
    if event_type == "answered":
        status = CallStatus.IN_PROGRESS
    elif status_text in _TERMINAL:
        status = _TERMINAL[status_text]
    else:
        raise ValidationError(
            "StatusCallback with an unknown Status", details={"status": status_text[:40]}
        )
    at = parse_time(fields.get("DateUpdated")) or received_at
    if status is CallStatus.IN_PROGRESS:
        at = parse_time(fields.get("StartTime")) or at
    recording = fields.get("RecordingUrl")
    custom = fields.get("CustomField")
    return StatusCallback(
        call_sid=call_sid,
        event=CallEvent(
            status=status,
            at=at,
            source="callback",
            answered_by=_answered_by(legs, fields),
            duration=_duration(fields, legs) if status.terminal else None,
            recording_url=str(recording) if isinstance(recording, str) and recording else None,
        ),
        event_type=event_type if event_type in ("answered", "terminal") else "terminal",
        custom_field=str(custom) if isinstance(custom, str) and custom else None,
        legs=legs,
    )
