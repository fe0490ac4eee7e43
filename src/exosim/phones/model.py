"""Virtual phones: how a number behaves when called, and what it heard and did.

A phone is scripted per number (control API or scenario file). Numbers nobody scripted get a
default phone the first time they are dialled: it answers after about a second, listens, never
presses a key and hangs up only when the other side does (or, when bridged to another
person, after :data:`DEFAULT_TALK_SECONDS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from exosim.api.phonenum import normalise

Behaviour = Literal["answer", "no_answer", "busy", "switched_off", "voicemail"]

DEFAULT_ANSWER_AFTER = 1.0  # seconds of ringing before an unscripted phone answers
DEFAULT_TALK_SECONDS = 30.0  # a bridged callee with no hang-up script talks this long
DEFAULT_MESSAGE_SECONDS = 5.0  # length of a message left at a Voicemail/Record prompt
DEFAULT_KEY_DELAY = 0.5  # a "when_heard" press comes this long after the prompt ends
MAX_TRANSCRIPT = 10_000  # entries kept per phone (memory stays bounded in long demos)


class KeyRule(BaseModel):
    """Press ``keys`` at a moment after answering, or when a prompt matches ``when_heard``."""

    model_config = ConfigDict(extra="forbid")

    keys: str = Field(pattern=r"^[0-9*#]{1,64}$")
    at: float | None = Field(default=None, ge=0, le=86_400)
    when_heard: str | None = Field(default=None, min_length=1, max_length=500)
    delay: float = Field(default=DEFAULT_KEY_DELAY, ge=0, le=3_600)
    once: bool = False  # fire at most once per call (when_heard rules)

    @model_validator(mode="after")
    def _one_trigger(self) -> KeyRule:
        if (self.at is None) == (self.when_heard is None):
            raise ValueError("a key rule needs exactly one of 'at' or 'when_heard'")
        if self.when_heard is not None:
            try:
                re.compile(self.when_heard)
            except re.error as exc:
                raise ValueError(f"when_heard is not a valid regex: {exc}") from exc
        return self

    def matches(self, heard: str) -> bool:
        """Case-insensitive regex (so also plain substring) match on what was heard."""
        assert self.when_heard is not None
        return re.search(self.when_heard, heard, flags=re.IGNORECASE) is not None


class WhatsAppReply(BaseModel):
    """Reply to a WhatsApp message ``after`` seconds with text or a button payload."""

    model_config = ConfigDict(extra="forbid")

    after: float = Field(default=1.0, ge=0, le=86_400)
    text: str | None = Field(default=None, max_length=4096)
    button_payload: str | None = Field(default=None, max_length=1024)
    button_text: str | None = Field(default=None, max_length=1024)


class CallBehaviour(BaseModel):
    """How the phone behaves on one particular call; unset fields come from its script."""

    model_config = ConfigDict(extra="forbid")

    behaviour: Behaviour | None = None
    answer_after: float | None = Field(default=None, ge=0, le=3_600)
    hangup_after: float | None = Field(default=None, ge=0, le=86_400)
    keys: list[KeyRule] | None = Field(default=None, max_length=200)
    message_seconds: float | None = Field(default=None, ge=0, le=3_600)


class PhoneScript(BaseModel):
    """The scripted behaviour of one number (the body of ``PUT /_exosim/phones/<number>``)."""

    model_config = ConfigDict(extra="forbid")

    behaviour: Behaviour = "answer"
    answer_after: float = Field(default=DEFAULT_ANSWER_AFTER, ge=0, le=3_600)
    hangup_after: float | None = Field(default=None, ge=0, le=86_400)  # after answering
    keys: list[KeyRule] = Field(default_factory=list, max_length=200)
    message_seconds: float = Field(default=DEFAULT_MESSAGE_SECONDS, ge=0, le=3_600)
    whatsapp_reply: WhatsAppReply | None = None
    name: str | None = Field(default=None, max_length=100)
    # The 1st, 2nd, ... call this phone takes part in behaves as calls[0], calls[1], ...
    # (e.g. ignore the first call of an escalation ladder, accept the second); later calls
    # follow the script itself.
    calls: list[CallBehaviour] = Field(default_factory=list, max_length=100)

    def for_call(self, index: int) -> PhoneScript:
        """The script of the ``index``-th call (0-based) this phone takes part in."""
        if index >= len(self.calls):
            return self
        step = self.calls[index]
        return self.model_copy(update={name: getattr(step, name) for name in step.model_fields_set})


@dataclass
class TranscriptEntry:
    """One thing a phone heard, pressed or did, in order."""

    at: datetime
    call_sid: str | None
    kind: str  # ringing, answered, rejected, heard_tts, heard_audio, pressed, hung_up, ...
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as the control API shows it."""
        return {
            "at": self.at.isoformat(),
            "call_sid": self.call_sid,
            "kind": self.kind,
            "text": self.text,
        }


@dataclass
class VirtualPhone:
    """A number in the emulator's world, with its script and its transcript."""

    number: str  # E.164
    script: PhoneScript = field(default_factory=PhoneScript)
    scripted: bool = False
    transcript: list[TranscriptEntry] = field(default_factory=list)
    calls_taken: int = 0  # calls this phone took part in (picks the per-call behaviour)

    def next_call_script(self) -> PhoneScript:
        """The script for a new call (advances to the next per-call behaviour)."""
        script = self.script.for_call(self.calls_taken)
        self.calls_taken += 1
        return script

    @property
    def whatsapp_reply(self) -> WhatsAppReply | None:
        """How this phone answers WhatsApp messages (read by the REST layer), if at all."""
        return self.script.whatsapp_reply

    def note(self, at: datetime, call_sid: str | None, kind: str, text: str | None = None) -> None:
        """Append one entry to the transcript (the oldest go beyond MAX_TRANSCRIPT)."""
        self.transcript.append(TranscriptEntry(at, call_sid, kind, text))
        if len(self.transcript) > MAX_TRANSCRIPT:
            del self.transcript[: len(self.transcript) - MAX_TRANSCRIPT]

    def to_json(self) -> dict[str, Any]:
        """The phone as ``GET /_exosim/phones/<number>`` shows it."""
        return {
            "number": self.number,
            "scripted": self.scripted,
            "calls_taken": self.calls_taken,
            "script": self.script.model_dump(mode="json"),
            "transcript": [entry.to_json() for entry in self.transcript],
        }


def phone_key(raw: str) -> str | None:
    """The key of ``store.phones`` for a number: E.164, or None when it is not a number."""
    return normalise(raw)


def get_or_create(phones: dict[str, Any], raw: str) -> VirtualPhone:
    """The phone for ``raw`` (any accepted spelling); an unscripted default when unknown.

    Numbers that do not parse are kept under their raw text so a call to them still has a
    phone (it will fail as an invalid number).
    """
    key = phone_key(raw) or raw
    phone = phones.get(key)
    if not isinstance(phone, VirtualPhone):
        phone = VirtualPhone(number=key)
        phones[key] = phone
    return phone
