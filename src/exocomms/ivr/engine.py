"""The pure IVR engine: ``(state, input) → (prompt, next state, events)``.

It is the single source of truth for every channel: the applet webhooks, ExoML and a voice
stream all call :func:`start`/:func:`step` and only translate the resulting
:class:`~exocomms.telephony.callflow.CallFlow`. No I/O, no clock, no randomness.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from exocomms.errors import ValidationError
from exocomms.ivr import speech
from exocomms.ivr.model import (
    Action,
    Digits,
    Event,
    Finish,
    Goto,
    Hangup,
    Input,
    Ivr,
    Menu,
    Repeat,
    Slot,
    SlotKind,
    State,
    Turn,
)
from exocomms.telephony import callflow as cf


def start(ivr: Ivr, context: Mapping[str, Any], language: cf.Language | str | None = None) -> Turn:
    """First turn of a call: validate ``context`` against the IVR's slots and enter it.

    Raises:
        ValidationError: a required slot is missing or a value cannot be spoken.
    """
    lang = language if isinstance(language, cf.Language) else cf.Language.parse(language)
    state = State(ivr=ivr.name, language=lang, context=normalise_context(ivr, context))
    return _apply(ivr, state, ivr.start, events=())


def step(ivr: Ivr, state: State, received: Input) -> Turn:
    """Advance the call by one input. A finished state stays finished (replays are no-ops).

    Raises:
        ValidationError: ``state`` belongs to another IVR or points at a missing menu.
    """
    if state.ivr != ivr.name:
        raise ValidationError(f"state is for IVR {state.ivr!r}, not {ivr.name!r}")
    if state.done:
        return Turn(prompt=cf.CallFlow((), state.language), state=state)
    menu = _menu(ivr, state)
    state = replace(state, turn=state.turn + 1)
    if isinstance(received, Hangup):
        done = replace(state, menu=None, prompt=(), values={}, done=True)
        return Turn(cf.CallFlow((), state.language), done, menu.on_hangup.events)
    if state.turn > ivr.max_turns:  # a safety net: data with loops still ends the call
        return _apply(ivr, state, menu.on_exhausted, events=())
    keys = received.value.rstrip("#") if isinstance(received, Digits) else ""
    if not keys:
        if menu.on_no_input is not None:
            return _apply(ivr, state, menu.on_no_input, events=())
        return _miss(ivr, state, menu, menu.no_input_prompt)
    action = menu.options.get(keys)
    if action is None:
        return _miss(ivr, state, menu, menu.wrong_key_prompt)
    if isinstance(action, Repeat) and state.repeats >= menu.max_repeats:
        return _miss(ivr, state, menu, None)
    return _apply(ivr, state, action, events=())


def render(ivr: Ivr, state: State) -> cf.CallFlow:
    """The call flow for ``state``'s current turn (re-renderable from the state alone)."""
    says = tuple(
        cf.Say(text=text, language=state.language)
        for text in (prompt_text(ivr, state, pid) for pid in state.prompt)
        if text
    )
    if state.done:
        return cf.CallFlow((*says, cf.Hangup()), state.language)
    menu = _menu(ivr, state)
    gather = cf.Gather(
        prompt=says,
        num_digits=menu.num_digits,
        timeout_seconds=menu.timeout_seconds,
        finish_on_key="#",
        retries=0,  # the engine counts repeats itself, identically on every channel
    )
    return cf.CallFlow((gather,), state.language)


def prompt_text(ivr: Ivr, state: State, prompt_id: str) -> str:
    """One prompt of ``ivr`` in the state's language with its placeholders spoken."""
    template = ivr.prompts[prompt_id][state.language]
    spoken = _Spoken(ivr, state)
    return " ".join(template.format_map(spoken).split())


# ---------------------------------------------------------------- internals


def _menu(ivr: Ivr, state: State) -> Menu:
    menu = ivr.menus.get(state.menu or "")
    if menu is None:
        raise ValidationError(f"IVR {ivr.name!r} has no menu {state.menu!r}")
    return menu


def _miss(ivr: Ivr, state: State, menu: Menu, lead: str | None) -> Turn:
    if state.misses >= menu.max_misses:
        return _apply(ivr, state, menu.on_exhausted, events=())
    prefix = (lead,) if lead else ()
    nxt = replace(state, misses=state.misses + 1, prompt=(*prefix, *menu.prompt), values={})
    return Turn(render(ivr, nxt), nxt, ())


def _apply(ivr: Ivr, state: State, action: Action, events: tuple[Event, ...]) -> Turn:
    events = (*events, *action.events)
    if isinstance(action, Finish):
        values: dict[str, Any] = {}
        for event in action.events:
            values.update(event.values())
        nxt = replace(state, menu=None, prompt=action.prompt, values=values, done=True)
    elif isinstance(action, Goto):
        target = ivr.menus[action.menu]
        nxt = replace(
            state,
            menu=action.menu,
            prompt=(*target.intro, *target.prompt),
            values={},
            misses=0,
            repeats=0,
        )
    else:  # Repeat
        menu = _menu(ivr, state)
        nxt = replace(state, prompt=menu.prompt, values={}, repeats=state.repeats + 1)
    return Turn(render(ivr, nxt), nxt, events)


class _Spoken(dict[str, str]):
    """Placeholder values, spoken in the state's language on first use."""

    def __init__(self, ivr: Ivr, state: State) -> None:
        super().__init__()
        self._ivr = ivr
        self._state = state

    def __missing__(self, key: str) -> str:
        slot = self._ivr.slots.get(key, Slot())
        raw = self._state.values.get(key, self._state.context.get(key))
        text = "" if raw is None else speak(slot, raw, self._state.language)
        self[key] = text
        return text


def speak(slot: Slot, value: Any, lang: cf.Language) -> str:
    """``value`` as spoken for ``slot`` in ``lang``."""
    if slot.kind is SlotKind.AMOUNT:
        return speech.amount(value, lang)
    if slot.kind is SlotKind.MINUTES:
        return speech.minutes(int(value), lang)
    if slot.kind is SlotKind.ORDER_ID:
        return speech.order_number(value, lang)
    if slot.kind is SlotKind.ITEMS:
        return speech.items(value, lang)
    if slot.kind is SlotKind.NUMBER:
        return speech.group_indian(int(value))
    if slot.kind is SlotKind.CHOICE:
        return slot.choices[str(value)][lang]
    return " ".join(str(value).split())[: slot.max_length]


def normalise_context(ivr: Ivr, context: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the declared slots, checked and JSON-safe; drop everything else.

    Raises:
        ValidationError: a required slot is missing, or a value cannot be spoken.
    """
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, slot in ivr.slots.items():
        value = context.get(name)
        if value is None or value == "" or value == []:
            if slot.required:
                problems.append(f"{name} is required")
            continue
        try:
            out[name] = _normalise(slot, value)
        except (ValidationError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        raise ValidationError(f"bad context for IVR {ivr.name!r}", details=problems)
    return out


def _normalise(slot: Slot, value: Any) -> Any:
    kind = slot.kind
    if kind is SlotKind.AMOUNT:
        return str(speech.to_decimal(value))
    if kind in (SlotKind.MINUTES, SlotKind.NUMBER):
        if isinstance(value, bool) or int(value) != value or int(value) < 0:
            raise ValidationError(f"not a non-negative integer: {value!r}")
        return int(value)
    if kind is SlotKind.ORDER_ID:
        speech.spoken_id(value)  # raises if nothing speakable
        return str(value)
    if kind is SlotKind.ITEMS:
        if not isinstance(value, list | tuple):
            raise ValidationError("items must be a list")
        return [_item(li) for li in value]
    if kind is SlotKind.CHOICE:
        if str(value) not in slot.choices:
            raise ValidationError(f"must be one of {sorted(slot.choices)}")
        return str(value)
    text = " ".join(str(value).split())
    return text[: slot.max_length]


def _item(line: Any) -> dict[str, str]:
    if not isinstance(line, Mapping) or not isinstance(line.get("name"), str):
        raise ValidationError("each item needs a name")
    quantity = speech.to_decimal(line.get("quantity", 1))
    return {"name": " ".join(line["name"].split()), "quantity": str(quantity)}
