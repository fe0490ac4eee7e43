"""Provider-neutral call flows: what a call should say, play, gather, record or connect.

Domain code (the IVR engine, masking, bridges) builds a :class:`CallFlow`; the provider adapters
(``telephony/exotel/``) translate it to their wire format. Nothing here knows about Exotel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from exocomms.errors import ValidationError

DTMF_KEYS = frozenset("0123456789*#")


class Language(StrEnum):
    """Languages the platform speaks. Hindi is the default."""

    HI = "hi"
    EN = "en"
    MR = "mr"

    @property
    def bcp47(self) -> str:
        """The BCP-47 tag TTS engines expect, e.g. ``hi-IN``."""
        return f"{self.value}-IN"

    @classmethod
    def parse(cls, value: str | None, default: Language | None = None) -> Language:
        """Accept ``hi``, ``HI``, ``hi-IN`` or ``hi_IN``; fall back to ``default`` (Hindi).

        Raises:
            ValidationError: the value is not a supported language and no default applies.
        """
        if not value:
            return default or cls.HI
        base = value.strip().lower().replace("_", "-").split("-", 1)[0]
        try:
            return cls(base)
        except ValueError:
            if default is not None:
                return default
            raise ValidationError(f"unsupported language {value!r}") from None


DEFAULT_LANGUAGE = Language.HI


@dataclass(frozen=True)
class Say:
    """Speak ``text`` with text-to-speech."""

    text: str
    language: Language = DEFAULT_LANGUAGE
    voice: str | None = None


@dataclass(frozen=True)
class Play:
    """Play an audio file from ``url``."""

    url: str


@dataclass(frozen=True)
class Pause:
    """Silence. Renderers without a pause verb drop it (it never changes the outcome)."""

    seconds: float = 1.0


Prompt = Say | Play | Pause


@dataclass(frozen=True)
class Gather:
    """Say/play ``prompt`` and collect keys.

    ``retries`` is how many times the provider itself replays the prompt on no input; the IVR
    engine keeps it at 0 and counts repeats itself, so every renderer behaves the same.
    """

    prompt: tuple[Prompt, ...]
    num_digits: int = 1
    timeout_seconds: int = 6
    finish_on_key: str = "#"
    retries: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.num_digits <= 255:
            raise ValidationError("num_digits must be 1..255")
        if not 1 <= self.timeout_seconds <= 60:
            raise ValidationError("timeout_seconds must be 1..60")
        if self.finish_on_key and self.finish_on_key not in DTMF_KEYS:
            raise ValidationError(f"finish_on_key must be a DTMF key, not {self.finish_on_key!r}")
        if not 0 <= self.retries <= 10:
            raise ValidationError("retries must be 0..10")


@dataclass(frozen=True)
class Record:
    """Record the caller (voicemail-style)."""

    max_seconds: int = 60
    finish_on_key: str = "#"
    play_beep: bool = True


@dataclass(frozen=True)
class Connect:
    """Bridge the call to one of ``numbers`` (E.164), tried in order unless ``parallel``."""

    numbers: tuple[str, ...]
    caller_id: str | None = None
    record: bool = False
    time_limit_seconds: int | None = None
    ring_timeout_seconds: int = 30
    parallel: bool = False
    announce: Say | Play | None = None  # played to the callee when they answer


@dataclass(frozen=True)
class Hangup:
    """End the call."""


Step = Say | Play | Pause | Gather | Record | Connect | Hangup


@dataclass(frozen=True)
class CallFlow:
    """An ordered list of steps, the unit every renderer translates."""

    steps: tuple[Step, ...] = field(default_factory=tuple)
    language: Language = DEFAULT_LANGUAGE

    @property
    def gather(self) -> Gather | None:
        """The flow's Gather step, if any (a turn of an IVR has at most one)."""
        return next((s for s in self.steps if isinstance(s, Gather)), None)

    @property
    def ends_call(self) -> bool:
        """True when the flow finishes with a hangup."""
        return bool(self.steps) and isinstance(self.steps[-1], Hangup)

    def spoken_text(self) -> str:
        """All text the flow speaks, in order (for logs, timelines and tests)."""
        parts: list[str] = []
        for step in self.steps:
            if isinstance(step, Gather):
                parts.extend(p.text for p in step.prompt if isinstance(p, Say))
            elif isinstance(step, Say):
                parts.append(step.text)
        return " ".join(parts)
