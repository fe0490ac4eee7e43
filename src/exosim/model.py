"""The emulator's records. Pure dataclasses kept in memory by :class:`exosim.store.Store`.

Shared contract between the REST layer (``exosim.api``), the call engine
(``exosim.engine``), flows (``exosim.flows``) and virtual phones (``exosim.phones``).
Times are timezone-aware UTC from :class:`exosim.clock.SimClock`; renderers format them as
Exotel does (``YYYY-MM-DD HH:mm:ss`` in IST).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

CallStatus = Literal[
    "queued", "ringing", "in-progress", "completed", "busy", "no-answer", "failed", "canceled"
]
LegStatus = Literal["completed", "busy", "no-answer", "failed", "canceled"]
Direction = Literal["outbound-api", "inbound", "outbound-dial"]
AnsweredBy = Literal["Human", "Machine", "NotSure", "NA"]
SmsStatus = Literal["queued", "sending", "submitted", "sent", "failed", "failed_dnd"]

TERMINAL_CALL_STATUSES: frozenset[str] = frozenset({"completed", "busy", "no-answer", "failed"})


def new_sid() -> str:
    """A 32-hex-character sid, the shape Exotel uses for calls and messages."""
    return secrets.token_hex(16)


@dataclass
class Account:
    """An Exotel account: its SID and the API key/token pair that authenticates it."""

    sid: str
    api_key: str
    api_token: str
    name: str = ""
    voice_per_minute: int = 200
    sms_per_minute: int = 200
    whatsapp_url: str | None = None  # where incoming WhatsApp messages are POSTed


@dataclass
class ExoPhone:
    """A virtual number of an account, optionally with a flow for incoming calls/SMS."""

    sid: str
    account_sid: str
    phone_number: str  # as Exotel shows it, e.g. 08047091234 or +918047091234
    friendly_name: str = ""
    voice_flow_id: str | None = None
    sms_flow_id: str | None = None
    whatsapp_url: str | None = None  # incoming WhatsApp URL for this number (wins over account's)


@dataclass
class DltTemplate:
    """A DLT-registered SMS template (India). ``body`` uses literal ``{#var#}`` placeholders."""

    template_id: str
    entity_id: str
    body: str
    sender_ids: list[str] = field(default_factory=list)  # empty = any sender
    sms_type: str = "transactional"


@dataclass
class Event:
    """One thing that happened to a call/message, for the inspection API and transcripts."""

    at: datetime
    kind: str  # e.g. "leg1.ringing", "applet.passthru", "callback.sent", "tts", "dtmf"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class CallbackAttempt:
    """One HTTP delivery attempt of a callback (status, SMS, WhatsApp, applet request)."""

    at: datetime
    url: str
    method: str
    content_type: str | None
    body: str  # what went on the wire (decoded text), for inspection
    status_code: int | None  # None: network error or timeout
    error: str | None = None
    fault: str | None = None  # "lost", "delayed", "duplicated", "reordered" when a fault applied


@dataclass
class Leg:
    """One leg of a call (leg 1 = ``From``; leg 2 = ``To`` or a Connect target)."""

    number: str
    status: LegStatus | None = None  # None: not attempted (yet)
    answered_by: AnsweredBy = "NA"
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def on_call_duration(self) -> int:
        """Whole seconds this leg was connected."""
        if self.answered_at is None or self.ended_at is None:
            return 0
        return int((self.ended_at - self.answered_at).total_seconds())


@dataclass
class Call:
    """A call as Exotel's Call object describes it, plus what the emulator needs to run it.

    ``params`` keeps the request parameters exactly as received (after array-spelling
    normalisation) so the engine can honour TimeLimit, TimeOut, Record, CustomField, etc.
    """

    sid: str
    account_sid: str
    from_number: str
    to_number: str | None  # None in flow mode until a Connect applet dials someone
    caller_id: str  # the ExoPhone
    direction: Direction
    date_created: datetime
    date_updated: datetime
    status: CallStatus = "queued"
    flow_id: str | None = None
    parent_call_sid: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None  # exposed only once ``details_ready``
    duration: int | None = None
    price: str | None = None
    answered_by: AnsweredBy | None = None
    recording_url: str | None = None
    custom_field: str | None = None
    time_limit: int | None = None
    time_out: int | None = None
    record: bool = False
    recording_channels: str = "single"
    status_callback: str | None = None
    status_callback_events: list[str] = field(default_factory=list)
    status_callback_content_type: str = "multipart/form-data"
    wait_url: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    legs: list[Leg] = field(default_factory=list)
    digits: list[str] = field(default_factory=list)  # every key pressed, in order
    details_ready: bool = False  # Duration/Price/EndTime become visible after the end
    events: list[Event] = field(default_factory=list)
    callbacks: list[CallbackAttempt] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        """True once the call has ended (completed, busy, no-answer, failed)."""
        return self.status in TERMINAL_CALL_STATUSES


@dataclass
class SmsMessage:
    """An SMS as Exotel's SMSMessage describes it."""

    sid: str
    account_sid: str
    from_number: str
    to_number: str
    body: str
    date_created: datetime
    date_updated: datetime
    status: SmsStatus = "queued"
    date_sent: datetime | None = None
    direction: str = "outbound-api"
    price: str | None = None
    detailed_status: str | None = None
    detailed_status_code: int | None = None
    sms_units: int = 1
    encoding_type: str = "plain"
    priority: str = "normal"
    sms_type: str | None = None
    dlt_entity_id: str | None = None
    dlt_template_id: str | None = None
    custom_field: str | None = None
    status_callback: str | None = None
    events: list[Event] = field(default_factory=list)
    callbacks: list[CallbackAttempt] = field(default_factory=list)


@dataclass
class WhatsAppMessage:
    """A WhatsApp message sent through v2 ``messages`` or received from a virtual phone."""

    sid: str
    account_sid: str
    from_number: str
    to_number: str
    content: dict[str, Any]
    date_created: datetime
    direction: Literal["outbound", "inbound"] = "outbound"
    status: str = "accepted"  # accepted → sent → delivered → read | failed
    custom_data: str | None = None
    status_callback: str | None = None
    events: list[Event] = field(default_factory=list)
    callbacks: list[CallbackAttempt] = field(default_factory=list)
