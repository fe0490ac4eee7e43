"""IVRs as data: prompts per language, menus, key → action maps; inputs, events and state.

An :class:`Ivr` is plain frozen data (see ``ivr/flows/``); :mod:`exocomms.ivr.engine` runs it.
Nothing here does I/O. :class:`State` and every :class:`Event` round-trip through JSON-safe
dicts, because the state lives in the database between two webhooks.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from exocomms.errors import ValidationError
from exocomms.ivr.events import (
    EVENT_TYPES,
    Acknowledged,
    DetailsRepeated,
    Event,
    MessageDelivered,
    NotAcknowledged,
    RejectReason,
    RiderAccepted,
    RiderRejected,
    SendPickupSms,
    VendorAccepted,
    VendorRejected,
    event_from_dict,
)
from exocomms.telephony.callflow import DTMF_KEYS, CallFlow, Language

__all__ = [  # events live in ivr.events; re-exported so flows import one module
    "EVENT_TYPES",
    "Acknowledged",
    "DetailsRepeated",
    "Event",
    "MessageDelivered",
    "NotAcknowledged",
    "RejectReason",
    "RiderAccepted",
    "RiderRejected",
    "SendPickupSms",
    "VendorAccepted",
    "VendorRejected",
    "event_from_dict",
]

Templates = Mapping[Language, str]


class SlotKind(StrEnum):
    """How a placeholder's value is spoken (see :mod:`exocomms.ivr.speech`)."""

    TEXT = "text"  # a name or address, read as given
    NUMBER = "number"
    AMOUNT = "amount"  # rupees
    MINUTES = "minutes"
    ORDER_ID = "order_id"  # "ऑर्डर नंबर 12345"
    ITEMS = "items"  # [{"name", "quantity"}] → named when short, else counted
    CHOICE = "choice"  # one of a few codes, each with its own phrase per language


def t(hi: str, en: str, mr: str) -> Templates:
    """One prompt's templates: Hindi, English, Marathi (in that order, Hindi first)."""
    return {Language.HI: hi, Language.EN: en, Language.MR: mr}


@dataclass(frozen=True)
class Slot:
    """A placeholder a prompt may use. ``required`` ones must be in the call's context."""

    kind: SlotKind = SlotKind.TEXT
    required: bool = True
    choices: Mapping[str, Templates] = field(default_factory=dict)
    max_length: int = 80  # TEXT: longer values are cut (a store name is not an essay)


# ---------------------------------------------------------------- actions and menus


@dataclass(frozen=True)
class Goto:
    """Go to another menu (its intro and prompt are spoken)."""

    menu: str
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class Repeat:
    """Say the current menu again (without its intro)."""

    events: tuple[Event, ...] = (DetailsRepeated(),)


@dataclass(frozen=True)
class Finish:
    """Say ``prompt`` (a confirmation or goodbye), emit ``events`` and hang up.

    The events' fields (e.g. ``prep_minutes``) may be used as placeholders in the prompt.
    """

    prompt: tuple[str, ...]
    events: tuple[Event, ...] = ()


Action = Goto | Repeat | Finish


@dataclass(frozen=True)
class Menu:
    """A prompt and the keys it accepts.

    A *miss* is a wrong key, or no input when ``on_no_input`` is unset: the menu is said again
    (after ``wrong_key_prompt``/``no_input_prompt``) at most ``max_misses`` times, then
    ``on_exhausted`` runs. ``Repeat`` keys work ``max_repeats`` times, then count as misses.
    """

    prompt: tuple[str, ...]
    options: Mapping[str, Action]
    on_exhausted: Finish
    on_hangup: Finish  # only its events are used: nobody is listening any more
    intro: tuple[str, ...] = ()
    on_no_input: Action | None = None
    max_misses: int = 2
    max_repeats: int = 3
    timeout_seconds: int = 6
    num_digits: int = 1
    wrong_key_prompt: str | None = "wrong_option"
    no_input_prompt: str | None = "no_input"


@dataclass(frozen=True)
class Ivr:
    """One IVR, defined once as data and rendered by every channel."""

    name: str
    title: str
    start: Action
    prompts: Mapping[str, Templates]
    slots: Mapping[str, Slot] = field(default_factory=dict)
    menus: Mapping[str, Menu] = field(default_factory=dict)
    max_turns: int = 12  # hard stop whatever the data says: every call ends

    @property
    def interactive(self) -> bool:
        """False for one-way messages (no menu, so no Gather)."""
        return bool(self.menus)

    def validate(self) -> None:
        """Check the definition is complete and consistent.

        Raises:
            ValidationError: a missing prompt, language, slot, menu or a bad key.
        """
        problems: list[str] = []
        for pid, templates in self.prompts.items():
            for lang in Language:
                text = templates.get(lang)
                if not text:
                    problems.append(f"prompt {pid!r} has no {lang.value} text")
                    continue
                for name in _placeholders(text):
                    if name not in self.slots:
                        problems.append(f"prompt {pid!r} ({lang.value}) uses unknown {{{name}}}")
        for sname, slot in self.slots.items():
            for code, templates in slot.choices.items():
                problems.extend(
                    f"slot {sname!r} choice {code!r} has no {lang.value} text"
                    for lang in Language
                    if not templates.get(lang)
                )
        actions: list[tuple[str, Action]] = [("start", self.start)]
        for mid, menu in self.menus.items():
            used = (*menu.intro, *menu.prompt, menu.wrong_key_prompt, menu.no_input_prompt)
            problems.extend(
                f"menu {mid!r} uses unknown prompt {u!r}"
                for u in used
                if u is not None and u not in self.prompts
            )
            for key, action in menu.options.items():
                if not key or not set(key) <= DTMF_KEYS or len(key) > menu.num_digits:
                    problems.append(f"menu {mid!r} has a bad key {key!r}")
                actions.append((f"{mid}[{key}]", action))
            actions += [(f"{mid}.exhausted", menu.on_exhausted), (f"{mid}.hangup", menu.on_hangup)]
            if menu.on_no_input is not None:
                actions.append((f"{mid}.no_input", menu.on_no_input))
            if menu.max_misses < 0 or menu.max_repeats < 0:
                problems.append(f"menu {mid!r} has negative limits")
        for where, action in actions:
            if isinstance(action, Goto) and action.menu not in self.menus:
                problems.append(f"{where} goes to unknown menu {action.menu!r}")
            if isinstance(action, Finish):
                problems.extend(
                    f"{where} says unknown prompt {pid!r}"
                    for pid in action.prompt
                    if pid not in self.prompts
                )
            if isinstance(action, Repeat) and where == "start":
                problems.append("start cannot be Repeat")
        if problems:
            raise ValidationError(f"IVR {self.name!r} is invalid", details=problems)


def _placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


# ---------------------------------------------------------------- inputs, state, turns


@dataclass(frozen=True)
class Digits:
    """Keys the caller pressed."""

    value: str


@dataclass(frozen=True)
class NoInput:
    """The gather timed out with nothing pressed."""


@dataclass(frozen=True)
class Hangup:
    """The caller hung up (or the call dropped) mid-IVR."""


Input = Digits | NoInput | Hangup


@dataclass(frozen=True)
class State:
    """Where a call is in its IVR. Small and JSON-safe (stored between webhooks).

    ``prompt``/``values`` are what the current turn says, so any instance can re-render it
    (the Gather applet fetches the prompt in a request separate from the Passthru that decided).
    ``turn`` increases on every step: a fencing token against replayed webhooks.
    """

    VERSION: ClassVar[int] = 1

    ivr: str
    language: Language
    context: Mapping[str, Any]
    menu: str | None = None
    prompt: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)
    misses: int = 0
    repeats: int = 0
    turn: int = 0
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "v": self.VERSION,
            "ivr": self.ivr,
            "language": self.language.value,
            "context": dict(self.context),
            "menu": self.menu,
            "prompt": list(self.prompt),
            "values": dict(self.values),
            "misses": self.misses,
            "repeats": self.repeats,
            "turn": self.turn,
            "done": self.done,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValidationError: wrong version or shape.
        """
        try:
            if data.get("v") != cls.VERSION:
                raise ValidationError(f"unsupported IVR state version {data.get('v')!r}")
            ints = {k: data.get(k, 0) for k in ("misses", "repeats", "turn")}
            if not all(type(v) is int and v >= 0 for v in ints.values()):
                raise ValidationError("IVR state counters must be non-negative integers")
            menu = data.get("menu")
            context, values = data.get("context", {}), data.get("values", {})
            prompt = data.get("prompt", [])
            if not (isinstance(context, Mapping) and isinstance(values, Mapping)):
                raise ValidationError("IVR state context/values must be objects")
            if not isinstance(prompt, list) or not all(isinstance(p, str) for p in prompt):
                raise ValidationError("IVR state prompt must be a list of ids")
            return cls(
                ivr=str(data["ivr"]),
                language=Language(data["language"]),
                context=dict(context),
                menu=None if menu is None else str(menu),
                prompt=tuple(prompt),
                values=dict(values),
                done=bool(data.get("done", False)),
                **ints,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"malformed IVR state: {exc}") from None


@dataclass(frozen=True)
class Turn:
    """The engine's answer: what to say/ask now, the next state, and what happened."""

    prompt: CallFlow
    state: State
    events: tuple[Event, ...] = ()

    @property
    def done(self) -> bool:
        """True when the call should end after ``prompt``."""
        return self.state.done
