"""App Bazaar flows as data: applets keyed by id, each naming the applet that follows.

A flow is what an operator builds in Exotel's dashboard, as JSON::

    {"id": "order-confirm", "name": "Order confirmation", "start": "a1",
     "applets": {
       "a1": {"type": "passthru", "url": "https://shop.example/hit", "next": "a2",
              "on_302": "a3", "on_error": "a3"},
       "a2": {"type": "gather", "url": "https://shop.example/gather", "next": "a4"},
       "a3": {"type": "greeting", "text": "Goodbye", "next": "a4"},
       "a4": {"type": "hangup"}}}

Transitions always live in the flow, never in the customer's responses (EXOTEL.md §2). A
missing or null transition ends the flow (the call hangs up).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Url = Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2000)]
AppletId = Annotated[str, Field(min_length=1, max_length=64)]
Next = AppletId | None


class _Applet(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    next: Next = None

    def targets(self) -> list[str]:
        """Every applet id this applet can move to."""
        return [self.next] if self.next else []


class Prompt(BaseModel):
    """A static prompt: text spoken by TTS or an audio URL played."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, max_length=4000)
    audio_url: Url | None = None

    @model_validator(mode="after")
    def _one(self) -> Prompt:
        if (self.text is None) == (self.audio_url is None):
            raise ValueError("a prompt needs exactly one of 'text' or 'audio_url'")
        return self


class Passthru(_Applet):
    """GET the URL; 200 → ``next``, 302 → ``on_302``, timeout/error → ``on_error``."""

    type: Literal["passthru"]
    url: Url
    is_async: bool = Field(default=False, alias="async")
    on_302: Next = None
    on_error: Next = None  # when unset, failures take the 302 branch (an assumption)

    def targets(self) -> list[str]:
        return [t for t in (self.next, self.on_302, self.on_error) if t]


class Greeting(_Applet):
    """Say/play a prompt: static ``text``/``audio_url``, or ``url`` (HEAD+GET text/plain)."""

    type: Literal["greeting"]
    text: str | None = Field(default=None, max_length=4000)
    audio_url: Url | None = None
    url: Url | None = None
    record: bool = False

    @model_validator(mode="after")
    def _one(self) -> Greeting:
        if sum(x is not None for x in (self.text, self.audio_url, self.url)) != 1:
            raise ValueError("a greeting needs exactly one of 'text', 'audio_url' or 'url'")
        return self


class Gather(_Applet):
    """Collect digits: prompt and limits static, or from ``url`` (JSON, Exotel-Version 1.0)."""

    type: Literal["gather"]
    url: Url | None = None
    fallback_url: Url | None = None  # asked when ``url`` fails (timeout, non-200, bad JSON)
    prompt: Prompt | None = None
    max_input_digits: int = Field(default=255, ge=1, le=255)
    finish_on_key: str | None = Field(default="#", pattern=r"^[0-9*#]?$")
    input_timeout: float = Field(default=5.0, gt=0, le=600)
    repeat_menu: int = Field(default=1, ge=0, le=10)
    repeat_prompt: Prompt | None = None

    @model_validator(mode="after")
    def _source(self) -> Gather:
        if self.url is None and self.prompt is None:
            raise ValueError("a gather needs a 'url' or a static 'prompt'")
        return self


class IvrMenu(_Applet):
    """One key chooses the next applet; invalid or no input repeats the prompt."""

    type: Literal["ivr_menu"]
    text: str | None = Field(default=None, max_length=4000)
    audio_url: Url | None = None
    url: Url | None = None
    options: dict[Annotated[str, Field(pattern=r"^[0-9*#]$")], AppletId] = Field(min_length=1)
    retries: int = Field(default=2, ge=0, le=10)
    input_timeout: float = Field(default=5.0, gt=0, le=600)
    on_no_input: Next = None  # after the retries; None ends the flow

    @model_validator(mode="after")
    def _one(self) -> IvrMenu:
        if sum(x is not None for x in (self.text, self.audio_url, self.url)) != 1:
            raise ValueError("an ivr_menu needs exactly one of 'text', 'audio_url' or 'url'")
        return self

    def targets(self) -> list[str]:
        return [*self.options.values(), *(t for t in (self.next, self.on_no_input) if t)]


class StartPlayback(BaseModel):
    """``start_call_playback`` of Programmable Connect."""

    model_config = ConfigDict(extra="ignore")

    playback_to: Literal["callee", "both"] = "callee"
    type: Literal["text", "audio_url"] = "text"
    value: str = Field(max_length=4000)


class Connect(_Applet):
    """Dial ``numbers`` (or those from ``url``) as leg 2 and bridge; ``next`` after the talk."""

    type: Literal["connect"]
    url: Url | None = None
    fallback_url: Url | None = None  # asked when ``url`` fails (timeout, non-200, bad JSON)
    numbers: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list)
    parallel: bool = False
    record: bool = False
    recording_channels: Literal["single", "dual"] = "single"
    max_ringing_duration: float = Field(default=30.0, gt=0, le=600)
    max_conversation_duration: float | None = Field(default=None, gt=0, le=14_400)
    start_call_playback: StartPlayback | None = None
    on_no_answer: Next = None  # "nobody answered"; None ends the flow

    def targets(self) -> list[str]:
        return [t for t in (self.next, self.on_no_answer) if t]


class Voicemail(_Applet):
    """Prompt, beep and record a message (the caller's ``message_seconds``)."""

    type: Literal["voicemail"]
    text: str | None = Field(default="Please leave a message after the beep.", max_length=4000)
    max_length: float = Field(default=60.0, gt=0, le=3_600)
    finish_on_key: str | None = Field(default="#", pattern=r"^[0-9*#]?$")


class SmsApplet(_Applet):
    """Send an SMS to the caller: static ``text`` or ``url`` (HEAD+GET text/plain)."""

    type: Literal["sms"]
    text: str | None = Field(default=None, max_length=2000)
    url: Url | None = None
    sender: str | None = Field(default=None, max_length=20)  # default: the ExoPhone

    @model_validator(mode="after")
    def _one(self) -> SmsApplet:
        if (self.text is None) == (self.url is None):
            raise ValueError("an sms applet needs exactly one of 'text' or 'url'")
        return self


class Hangup(_Applet):
    """End the call."""

    type: Literal["hangup"]


class ExoMl(_Applet):
    """Fetch legacy ExoML from ``url`` and run it; ``next`` when the document runs out."""

    type: Literal["exoml"]
    url: Url
    method: Literal["GET", "POST"] = "GET"


Applet = Annotated[
    Passthru | Greeting | Gather | IvrMenu | Connect | Voicemail | SmsApplet | Hangup | ExoMl,
    Field(discriminator="type"),
]


class Flow(BaseModel):
    """A whole flow: where it starts and its applets."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = Field(
        default_factory=lambda: str(secrets.randbelow(900_000) + 100_000)
    )
    name: str = Field(default="", max_length=200)
    start: AppletId
    applets: dict[AppletId, Applet] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _links(self) -> Flow:
        if self.start not in self.applets:
            raise ValueError(f"start applet {self.start!r} is not in applets")
        for applet_id, applet in self.applets.items():
            for target in applet.targets():
                if target not in self.applets:
                    raise ValueError(f"applet {applet_id!r} points to unknown applet {target!r}")
        return self

    def to_json(self) -> dict[str, Any]:
        """The flow as the control API shows it."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
