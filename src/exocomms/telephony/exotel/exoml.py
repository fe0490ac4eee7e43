"""Legacy ExoML (``<Response>`` root, EXOTEL.md §3.1) as a typed node tree with a deterministic
renderer, plus :func:`from_callflow`.

Attributes follow ``exotel/goexoml`` (names, spelling and order); unset attributes are omitted;
every text and attribute value is escaped; characters XML 1.0 forbids are dropped. Two equal trees
always render to the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from exocomms.telephony import callflow as cf

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
CONTENT_TYPE = "application/xml; charset=utf-8"

# Control characters are not allowed in XML 1.0 even when escaped; a stray one in a store name
# must not break the whole call, so they are dropped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

AttrValue = str | int | float | bool | None


def _clean(value: str) -> str:
    return _INVALID_XML.sub("", value)


def escape_text(value: str) -> str:
    """Escape character data."""
    return _clean(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(value: str) -> str:
    """Escape an attribute value (double-quoted); newlines and tabs survive as references."""
    return (
        escape_text(value)
        .replace('"', "&quot;")
        .replace("'", "&apos;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def _fmt(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _element(tag: str, attrs: Iterable[tuple[str, AttrValue]], body: str | None) -> str:
    rendered = "".join(f' {k}="{escape_attr(_fmt(v))}"' for k, v in attrs if v is not None)
    if body is None or body == "":
        return f"<{tag}{rendered}/>"
    return f"<{tag}{rendered}>{body}</{tag}>"


@dataclass(frozen=True)
class Say:
    """``<Say voice language loop>text</Say>``."""

    text: str
    voice: str | None = None
    language: str | None = None
    loop: int | None = None

    def render(self) -> str:
        """XML for this node."""
        attrs = (("voice", self.voice), ("language", self.language), ("loop", self.loop))
        return _element("Say", attrs, escape_text(self.text))


@dataclass(frozen=True)
class Play:
    """``<Play loop digits>url</Play>``."""

    url: str
    loop: int | None = None
    digits: str | None = None

    def render(self) -> str:
        """XML for this node."""
        attrs = (("loop", self.loop), ("digits", self.digits))
        return _element("Play", attrs, escape_text(self.url))


@dataclass(frozen=True)
class Gather:
    """``<Gather action method timeout finishOnKey numDigits>`` around Say/Play."""

    children: tuple[Say | Play, ...] = ()
    action: str | None = None
    method: str | None = None
    timeout: int | None = None
    finish_on_key: str | None = None
    num_digits: int | None = None

    def render(self) -> str:
        """XML for this node."""
        attrs = (
            ("action", self.action),
            ("method", self.method),
            ("timeout", self.timeout),
            ("finishOnKey", self.finish_on_key),
            ("numDigits", self.num_digits),
        )
        return _element("Gather", attrs, "".join(c.render() for c in self.children))


@dataclass(frozen=True)
class Number:
    """``<Number …>+91…</Number>`` inside a Dial."""

    number: str
    send_digits: str | None = None
    url: str | None = None
    method: str | None = None
    status_callback_event: str | None = None
    status_callback: str | None = None
    status_callback_method: str | None = None

    def render(self) -> str:
        """XML for this node."""
        attrs = (
            ("sendDigits", self.send_digits),
            ("URL", self.url),
            ("method", self.method),
            ("statusCallbackEvent", self.status_callback_event),
            ("StatusCallback", self.status_callback),
            ("StatusCallbackMethod", self.status_callback_method),
        )
        return _element("Number", attrs, escape_text(self.number))


@dataclass(frozen=True)
class Dial:
    """``<Dial action method timeout hangupOnStar timeLimit callerId record>``."""

    numbers: tuple[Number, ...]
    action: str | None = None
    method: str | None = None
    timeout: int | None = None
    hangup_on_star: bool | None = None
    time_limit: int | None = None
    caller_id: str | None = None
    record: bool | None = None

    def render(self) -> str:
        """XML for this node."""
        attrs = (
            ("action", self.action),
            ("method", self.method),
            ("timeout", self.timeout),
            ("hangupOnStar", self.hangup_on_star),
            ("timeLimit", self.time_limit),
            ("callerId", self.caller_id),
            ("record", self.record),
        )
        return _element("Dial", attrs, "".join(n.render() for n in self.numbers))


@dataclass(frozen=True)
class Record:
    """``<Record action method timeout finishOnKey maxLength … playBeep trim/>``."""

    action: str | None = None
    method: str | None = None
    timeout: int | None = None
    finish_on_key: str | None = None
    max_length: int | None = None
    transcribe: bool | None = None
    transcribe_callback: str | None = None
    play_beep: bool | None = None
    trim: str | None = None

    def render(self) -> str:
        """XML for this node."""
        attrs = (
            ("action", self.action),
            ("method", self.method),
            ("timeout", self.timeout),
            ("finishOnKey", self.finish_on_key),
            ("maxLength", self.max_length),
            ("transcribe", self.transcribe),
            ("transcribeCallback", self.transcribe_callback),
            ("playBeep", self.play_beep),
            ("trim", self.trim),
        )
        return _element("Record", attrs, None)


@dataclass(frozen=True)
class Redirect:
    """``<Redirect method>url</Redirect>``."""

    url: str
    method: str | None = None

    def render(self) -> str:
        """XML for this node."""
        return _element("Redirect", (("method", self.method),), escape_text(self.url))


@dataclass(frozen=True)
class Hangup:
    """``<Hangup/>``."""

    def render(self) -> str:
        """XML for this node."""
        return "<Hangup/>"


Verb = Say | Play | Gather | Dial | Record | Redirect | Hangup


@dataclass(frozen=True)
class Response:
    """The ``<Response>`` root."""

    verbs: tuple[Verb, ...] = ()

    def render(self) -> str:
        """The full document: XML declaration, then the tree on one line, then a newline."""
        body = "".join(v.render() for v in self.verbs)
        return f"{XML_DECLARATION}\n<Response>{body}</Response>\n"

    def to_bytes(self) -> bytes:
        """UTF-8 wire bytes."""
        return self.render().encode("utf-8")


# ---------------------------------------------------------------- from the neutral call flow


def _say(step: cf.Say) -> Say:
    return Say(text=step.text, voice=step.voice, language=step.language.bcp47)


def _prompts(prompts: Iterable[cf.Prompt]) -> list[Say | Play]:
    out: list[Say | Play] = []
    for p in prompts:
        if isinstance(p, cf.Say):
            out.append(_say(p))
        elif isinstance(p, cf.Play):
            out.append(Play(url=p.url))
        # cf.Pause: legacy ExoML has no pause verb; silence never changes the outcome.
    return out


def from_callflow(flow: cf.CallFlow, *, action_url: str, method: str = "POST") -> Response:
    """Render a neutral flow as ExoML. Gather/Record/Dial results go to ``action_url``.

    A Gather with ``retries`` N is emitted N+1 times (each replays the prompt when nothing was
    pressed), followed by a Redirect to ``action_url`` so "no input" reaches us too.
    """
    verbs: list[Verb] = []
    for step in flow.steps:
        if isinstance(step, cf.Say | cf.Play | cf.Pause):
            verbs.extend(_prompts((step,)))
        elif isinstance(step, cf.Gather):
            gather = Gather(
                children=tuple(_prompts(step.prompt)),
                action=action_url,
                method=method,
                timeout=step.timeout_seconds,
                finish_on_key=step.finish_on_key or None,
                num_digits=step.num_digits,
            )
            verbs.extend([gather] * (step.retries + 1))
            verbs.append(Redirect(url=action_url, method=method))
        elif isinstance(step, cf.Record):
            verbs.append(
                Record(
                    action=action_url,
                    method=method,
                    finish_on_key=step.finish_on_key or None,
                    max_length=step.max_seconds,
                    play_beep=step.play_beep,
                )
            )
        elif isinstance(step, cf.Connect):
            # ``announce`` has no ExoML equivalent (a callee whisper needs a Number URL); the
            # applet renderer carries it as start_call_playback.
            verbs.append(
                Dial(
                    numbers=tuple(Number(n) for n in step.numbers),
                    action=action_url,
                    method=method,
                    timeout=step.ring_timeout_seconds,
                    time_limit=step.time_limit_seconds,
                    caller_id=step.caller_id,
                    record=step.record,
                )
            )
        else:  # cf.Hangup
            verbs.append(Hangup())
    return Response(tuple(verbs))
