"""Exotel App Bazaar applet answers and requests (EXOTEL.md §2), as pure functions.

Applets GET our URLs with query parameters and expect: Passthru, a bare ``200`` (path A) or
``302`` (path B); Gather and Connect dynamic URLs, JSON; Greeting/Menu/SMS dynamic text,
``text/plain``. The flow's transitions live in the dashboard, never in our answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from exocomms.errors import NotSupported, ValidationError
from exocomms.telephony.callflow import (
    DTMF_KEYS,
    CallFlow,
    Connect,
    Gather,
    Pause,
    Play,
    Prompt,
    Say,
)

PASSTHRU_CONTINUE = 200  # Passthru path A
PASSTHRU_BRANCH = 302  # Passthru path B
GREETING_CONTENT_TYPE = "text/plain; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"
IST = timezone(timedelta(hours=5, minutes=30), "IST")

_SID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_PHONE_RE = re.compile(r"^\+?[0-9]{3,20}$")
_MAX_FIELD = 2048  # longest value we keep from a query string (RecordingUrl, CustomField)


# ---------------------------------------------------------------- answers (us -> Exotel)


def _prompt_object(prompts: Sequence[Prompt]) -> dict[str, str]:
    """One Exotel prompt: ``{"text": …}`` or ``{"audio_url": …}`` (an applet has one of them)."""
    audible = [p for p in prompts if not isinstance(p, Pause)]  # applets have no pause verb
    if all(isinstance(p, Say) for p in audible):
        return {"text": " ".join(p.text.strip() for p in audible if isinstance(p, Say)).strip()}
    if len(audible) == 1 and isinstance(audible[0], Play):
        return {"audio_url": audible[0].url}
    raise NotSupported("an Exotel applet prompt is either text or one audio URL, not a mix")


def gather_json(gather: Gather) -> dict[str, Any]:
    """The Gather applet's dynamic-URL answer for ``gather``."""
    prompt = _prompt_object(gather.prompt)
    return {
        "gather_prompt": prompt,
        "max_input_digits": gather.num_digits,
        "finish_on_key": gather.finish_on_key,
        "input_timeout": gather.timeout_seconds,
        "repeat_menu": gather.retries,
        "repeat_gather_prompt": dict(prompt),
    }


def gather_json_for(flow: CallFlow) -> dict[str, Any]:
    """Gather JSON for a whole IVR turn: prompts before the Gather are spoken as part of it.

    Raises:
        NotSupported: the flow has no Gather (answer it with a Greeting instead).
    """
    lead: list[Prompt] = []
    for step in flow.steps:
        if isinstance(step, Say | Play | Pause):
            lead.append(step)
        elif isinstance(step, Gather):
            merged = Gather(
                prompt=(*lead, *step.prompt),
                num_digits=step.num_digits,
                timeout_seconds=step.timeout_seconds,
                finish_on_key=step.finish_on_key,
                retries=step.retries,
            )
            return gather_json(merged)
        else:
            break
    raise NotSupported("this call flow has no Gather step")


def greeting_text(prompts: Sequence[Prompt]) -> str:
    """The Greeting applet's ``text/plain`` body: text to speak, or an audio URL."""
    obj = _prompt_object(prompts)
    return obj.get("text", obj.get("audio_url", ""))


def greeting_text_for(flow: CallFlow) -> str:
    """Greeting body for a flow's spoken steps (Say/Play before any Gather, Connect or Hangup)."""
    prompts: list[Prompt] = []
    for step in flow.steps:
        if not isinstance(step, Say | Play | Pause):
            break
        prompts.append(step)
    return greeting_text(prompts)


def connect_json(connect: Connect) -> dict[str, Any]:
    """The Connect applet's dynamic-URL (Programmable Connect) answer."""
    out: dict[str, Any] = {
        "fetch_after_attempt": False,
        "destination": {"numbers": list(connect.numbers)},
    }
    if connect.caller_id:
        out["outgoing_phone_number"] = connect.caller_id
    out["record"] = connect.record
    if connect.record:
        out["recording_channels"] = "dual"  # one speaker per channel: QA and analytics need it
    out["max_ringing_duration"] = connect.ring_timeout_seconds
    if connect.time_limit_seconds is not None:
        out["max_conversation_duration"] = connect.time_limit_seconds
    if connect.parallel and len(connect.numbers) > 1:
        out["parallel_ringing"] = {
            "activate": True,
            "max_parallel_attempts": len(connect.numbers),
        }
    if connect.announce is not None:
        prompt = _prompt_object((connect.announce,))
        kind, value = next(iter(prompt.items()))
        out["start_call_playback"] = {"playback_to": "callee", "type": kind, "value": value}
    return out


def passthru_decision(proceed: bool) -> int:
    """Passthru status: ``200`` takes path A (carry on), ``302`` path B (branch off)."""
    return PASSTHRU_CONTINUE if proceed else PASSTHRU_BRANCH


def to_wire(answer: Mapping[str, Any]) -> bytes:
    """Serialise a JSON answer deterministically (key order kept, UTF-8, no ASCII escapes)."""
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------- requests (Exotel -> us)


def parse_digits(raw: str | None) -> str | None:
    """Exotel's ``digits`` param: ``'"12"'`` → ``"12"``; missing or empty → ``None``.

    Raises:
        ValidationError: anything but DTMF keys inside the quotes.
    """
    if raw is None:
        return None
    value = raw.strip().strip('"').strip()
    if not value:
        return None
    if len(value) > 255 or not set(value) <= DTMF_KEYS:
        raise ValidationError("digits must be DTMF keys (0-9, *, #)", details={"digits": raw[:40]})
    return value


def _phone(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    compact = re.sub(r"[\s\-()]", "", value)
    if not compact:
        return None
    if not _PHONE_RE.match(compact):
        raise ValidationError(f"{name} is not a phone number", details={name: value[:40]})
    return compact


def _exotel_time(value: str | None, name: str) -> datetime | None:
    """Exotel's ``yyyy-mm-dd hh:mm:ss`` (IST) as aware UTC."""
    if not value:
        return None
    try:
        local = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValidationError(
            f"{name} is not yyyy-mm-dd hh:mm:ss", details={name: value[:40]}
        ) from None
    return local.replace(tzinfo=IST).astimezone(UTC)


def _text(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()[:_MAX_FIELD]


def _stream(params: Mapping[str, str]) -> dict[str, str] | None:
    """AgentStream results, sent as ``Stream[Key]=…`` params or one ``Stream=<JSON>``."""
    nested = {
        k[len("Stream[") : -1]: v
        for k, v in params.items()
        if k.startswith("Stream[") and k.endswith("]")
    }
    if nested:
        return nested
    blob = params.get("Stream")
    if not blob:
        return None
    try:
        decoded = json.loads(blob)
    except ValueError:
        raise ValidationError("Stream is not JSON") from None
    if not isinstance(decoded, dict):
        raise ValidationError("Stream is not a JSON object")
    return {str(k): "" if v is None else str(v) for k, v in decoded.items()}


@dataclass(frozen=True)
class AppletRequest:
    """What an applet GET carries, parsed defensively (absent fields are ``None``)."""

    call_sid: str
    call_from: str | None = None
    call_to: str | None = None
    call_status: str | None = None
    direction: str | None = None
    call_type: str | None = None
    digits: str | None = None
    custom_field: str | None = None
    recording_url: str | None = None
    dial_whom_number: str | None = None
    dial_call_status: str | None = None
    flow_id: str | None = None
    current_time: datetime | None = None
    stream: Mapping[str, str] | None = None
    raw: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> AppletRequest:
        """Parse applet query params (both ``CallFrom``/``From`` and ``CallTo``/``To`` spellings).

        Raises:
            ValidationError: no usable ``CallSid``, or a field that is not what Exotel sends.
        """
        sid = (params.get("CallSid") or "").strip()
        if not _SID_RE.match(sid):
            raise ValidationError("missing or malformed CallSid", details={"CallSid": sid[:40]})
        return cls(
            call_sid=sid,
            call_from=_phone(params.get("CallFrom") or params.get("From"), "CallFrom"),
            call_to=_phone(params.get("CallTo") or params.get("To"), "CallTo"),
            call_status=_text(params.get("CallStatus")),
            direction=_text(params.get("Direction")),
            call_type=_text(params.get("CallType")),
            digits=parse_digits(params.get("digits")),
            custom_field=_text(params.get("CustomField")),
            recording_url=_text(params.get("RecordingUrl")),
            dial_whom_number=_phone(params.get("DialWhomNumber"), "DialWhomNumber"),
            dial_call_status=_text(params.get("DialCallStatus")),
            flow_id=_text(params.get("flow_id")),
            current_time=_exotel_time(params.get("CurrentTime"), "CurrentTime"),
            stream=_stream(params),
            raw=dict(params),
        )
