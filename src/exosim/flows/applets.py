"""The HTTP contracts of App Bazaar applets (EXOTEL.md §2): what Exotel sends, what it expects.

* Passthru and the Gather/Connect dynamic URLs get a GET with the Passthru query parameters;
  Gather and Connect add the header ``Exotel-Version: 1.0`` and expect JSON.
* Greeting, IVR menu and SMS prompts from a URL get a HEAD, then a GET with ``CallSid, From,
  To, DialWhomNumber, CustomField`` (SMS: ``digits`` too); the GET must answer ``text/plain``.
  A HEAD that is not 2xx fails the prompt (Exotel requires it; an emulator choice to be strict).
* ``digits`` is always wrapped in double quotes; ``EndTime`` is the constant
  ``1970-01-01 05:30:00``; ``Created`` uses Exotel's usual ``YYYY-MM-DD HH:mm:ss`` (the real
  format is undocumented in our sources; an assumption). ``Direction`` is ``incoming`` for calls
  to an ExoPhone and ``outbound-dial`` for calls placed through the API.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from exosim.api.phonenum import display
from exosim.api.render import exotel_time
from exosim.engine.session import CallSession
from exosim.flows.model import Prompt, StartPlayback

PASSTHRU_END_TIME = "1970-01-01 05:30:00"
EXOTEL_VERSION = {"Exotel-Version": "1.0"}
M = TypeVar("M", bound=BaseModel)


def _show(number: str | None) -> str:
    return display(number) if number else ""


def quoted(digits: str) -> str:
    """``digits`` as Exotel sends them: wrapped in double quotes."""
    return f'"{digits}"'


def passthru_params(session: CallSession) -> dict[str, str]:
    """The query parameters of a Passthru (and of Gather/Connect dynamic URLs)."""
    call = session.call
    now = session.clock.now()
    caller, exophone = _show(call.from_number), _show(call.caller_id)
    params = {
        "CallSid": call.sid,
        "CallFrom": caller,
        "CallTo": exophone,
        "CallStatus": call.status,
        "Direction": "incoming" if call.direction == "inbound" else "outbound-dial",
        "Created": exotel_time(call.date_created) or "",
        "DialCallDuration": str(session.dial_call_duration),
        "StartTime": exotel_time(call.start_time or now) or "",
        "EndTime": PASSTHRU_END_TIME,
        "CurrentTime": exotel_time(now) or "",
        "CallType": session.call_type,
        "DialWhomNumber": _show(session.dial_whom),
    }
    if session.digits is not None:
        params["digits"] = quoted(session.digits)
    if session.applet_recording_url:
        params["RecordingUrl"] = session.applet_recording_url
    if session.dial_call_status:
        params["DialCallStatus"] = session.dial_call_status
    if call.custom_field is not None:
        params["CustomField"] = call.custom_field
    params["From"] = caller
    params["To"] = exophone
    if call.flow_id:
        params["flow_id"] = call.flow_id
    return params


def prompt_params(session: CallSession, with_digits: bool = False) -> dict[str, str]:
    """The query parameters of a dynamic Greeting/Menu prompt (SMS adds ``digits``)."""
    call = session.call
    params = {
        "CallSid": call.sid,
        "From": _show(call.from_number),
        "To": _show(call.caller_id),
        "DialWhomNumber": _show(session.dial_whom),
    }
    if call.custom_field is not None:
        params["CustomField"] = call.custom_field
    if with_digits and session.digits is not None:
        params["digits"] = quoted(session.digits)
    return params


async def fetch_text(session: CallSession, url: str, params: dict[str, str]) -> str | None:
    """HEAD then GET ``url``; the ``text/plain`` body, or None (with an event) on failure."""
    head = await session.request("HEAD", url, params=params)
    if head is None or not 200 <= head.status_code < 300:
        session.event("applet.error", url=url, reason="HEAD did not answer 2xx")
        return None
    response = await session.request("GET", url, params=params)
    if response is None or response.status_code != 200:
        session.event("applet.error", url=url, reason="GET did not answer 200")
        return None
    content_type = response.headers.get("content-type", "")
    if not content_type.lower().startswith("text/plain"):
        session.event(
            "applet.error", url=url, reason=f"Content-Type {content_type!r} is not text/plain"
        )
        return None
    text = response.text.strip()
    return text or None


async def fetch_json(session: CallSession, url: str) -> dict[str, Any] | None:
    """GET a Gather/Connect dynamic URL (``Exotel-Version: 1.0``); its JSON object or None."""
    response = await session.request(
        "GET", url, params=passthru_params(session), headers=EXOTEL_VERSION
    )
    if response is None or response.status_code != 200:
        session.event("applet.error", url=url, reason="dynamic URL did not answer 200")
        return None
    try:
        data = json.loads(response.content)
    except ValueError:
        session.event("applet.error", url=url, reason="response is not JSON")
        return None
    if not isinstance(data, dict):
        session.event("applet.error", url=url, reason="response is not a JSON object")
        return None
    return data


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GatherSpec(_Lenient):
    """A Gather dynamic URL's answer (KB 3000084635)."""

    gather_prompt: Prompt | None = None
    max_input_digits: int = Field(default=255, ge=1, le=255)
    finish_on_key: str | None = Field(default="#", max_length=1)
    input_timeout: float = Field(default=5.0, gt=0, le=600)
    repeat_menu: int = Field(default=1, ge=0, le=10)
    repeat_gather_prompt: Prompt | None = None


class Destination(_Lenient):
    """``destination`` of Programmable Connect (only phone numbers are emulated)."""

    numbers: list[str] = Field(default_factory=list, max_length=50)


class ParallelRinging(_Lenient):
    """``parallel_ringing`` of Programmable Connect."""

    activate: bool = False
    max_parallel_attempts: int = Field(default=5, ge=1, le=50)


class ConnectSpec(_Lenient):
    """A Connect dynamic URL's answer (KB 3000096873)."""

    destination: Destination = Field(default_factory=Destination)
    outgoing_phone_number: str | None = None
    record: bool = False
    recording_channels: str = "single"
    max_ringing_duration: float = Field(default=30.0, gt=0, le=600)
    max_conversation_duration: float | None = Field(default=None, gt=0, le=14_400)
    start_call_playback: StartPlayback | None = None
    parallel_ringing: ParallelRinging = Field(default_factory=ParallelRinging)


def parse_spec(session: CallSession, model: type[M], data: dict[str, Any] | None) -> M | None:
    """Validate a dynamic URL's JSON; None (with an event) when it does not fit."""
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        session.event("applet.error", reason=f"invalid {model.__name__}: {errors[:500]}")
        return None


async def dynamic_spec(
    session: CallSession, model: type[M], url: str, fallback_url: str | None
) -> M | None:
    """Ask the Primary URL, then the Fallback URL when the primary fails (EXOTEL.md §2)."""
    spec = parse_spec(session, model, await fetch_json(session, url))
    if spec is None and fallback_url is not None:
        session.event("applet.fallback", url=fallback_url)
        spec = parse_spec(session, model, await fetch_json(session, fallback_url))
    return spec
