"""Flow blueprints: the App Bazaar flow an operator creates once in Exotel's dashboard per IVR.

Every IVR uses the same small flow; the IVR itself (prompts, keys, retries) stays in exocomms
and reaches Exotel through dynamic URLs, so changing an IVR never means editing the dashboard::

    start  Passthru  /start    200 → menu (interactive) or goodbye; 302 → goodbye; error → sorry
    menu   Gather    /gather   (JSON prompt of the current turn)          → input
    input  Passthru  /input    200 → menu (ask again); 302 → goodbye;  error → sorry
    goodbye Greeting /greeting (text/plain: confirmation or goodbye)      → hangup
    sorry  Greeting  static text (our server did not answer)              → hangup
    hangup Hangup

Rendered as text for people (:func:`to_text`) and as exosim's flow JSON (:func:`to_exosim`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from exocomms.errors import ValidationError
from exocomms.ivr.model import Action, Event, Goto, Ivr, Menu, Repeat
from exocomms.telephony.callflow import Language

# Spoken when our server cannot be reached: the callee's language is unknown then, so both.
SORRY_TEXT = (
    "क्षमा करें, अभी तकनीकी समस्या है। हम आपको दोबारा कॉल करेंगे। "
    "Sorry, we have a technical problem. We will call you again."
)


@dataclass(frozen=True)
class Applet:
    """One applet of the blueprint, with its transitions (applet ids)."""

    id: str
    type: str  # exosim/App Bazaar applet type: passthru, gather, greeting, hangup
    purpose: str
    url: str | None = None
    text: str | None = None
    next: str | None = None
    on_302: str | None = None
    on_error: str | None = None


@dataclass(frozen=True)
class Blueprint:
    """A flow for one IVR: applets in the order an operator creates them."""

    ivr: str
    title: str
    flow_id: str
    applets: tuple[Applet, ...]

    @property
    def start(self) -> str:
        """The first applet's id."""
        return self.applets[0].id


def applet_url(base_url: str, ivr: str, endpoint: str, token: str) -> str:
    """``{base_url}/exotel/applets/{ivr}/{endpoint}?t={token}`` (the token authenticates Exotel).

    Raises:
        ValidationError: ``base_url`` is not an absolute http(s) URL.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ValidationError(f"public base URL must be http(s)://host[/path], not {base_url!r}")
    base = base_url.rstrip("/")
    return f"{base}/exotel/applets/{quote(ivr, safe='')}/{endpoint}?t={quote(token, safe='')}"


def build(ivr: Ivr, *, base_url: str, token: str, flow_id: str | None = None) -> Blueprint:
    """The blueprint of ``ivr`` whose dynamic URLs point at ``base_url``."""

    def url(endpoint: str) -> str:
        return applet_url(base_url, ivr.name, endpoint, token)

    after_start = "menu" if ivr.interactive else "goodbye"
    applets = [
        Applet(
            "start",
            "passthru",
            "Answer: load the call's IVR state (302 when there is nothing to ask)",
            url=url("start"),
            next=after_start,
            on_302="goodbye",
            on_error="sorry",
        )
    ]
    if ivr.interactive:
        applets += [
            Applet(
                "menu",
                "gather",
                "Ask: the current menu's prompt and key limits, as JSON",
                url=url("gather"),
                next="input",
            ),
            Applet(
                "input",
                "passthru",
                "Decide: send the keys; 200 asks again, 302 ends the call",
                url=url("input"),
                next="menu",
                on_302="goodbye",
                on_error="sorry",
            ),
        ]
    applets += [
        Applet(
            "goodbye",
            "greeting",
            "Confirm: the confirmation, message or goodbye, as text/plain",
            url=url("greeting"),
            next="hangup",
        ),
        Applet(
            "sorry", "greeting", "Fallback when our server fails", text=SORRY_TEXT, next="hangup"
        ),
        Applet("hangup", "hangup", "End the call"),
    ]
    return Blueprint(ivr.name, ivr.title, flow_id or ivr.name.replace("_", "-"), tuple(applets))


def to_exosim(bp: Blueprint) -> dict[str, Any]:
    """The blueprint in exosim's flow format (``exosim.flows.model.Flow``)."""
    applets: dict[str, dict[str, Any]] = {}
    for a in bp.applets:
        spec: dict[str, Any] = {"type": a.type}
        if a.url is not None:
            spec["url"] = a.url
        if a.text is not None:
            spec["text"] = a.text
        if a.type == "gather":
            # The dynamic URL's JSON sets these per turn; listed so the flow reads the same
            # without it. repeat_menu 0: exocomms counts repeats itself on every channel.
            spec["repeat_menu"] = 0
        for key in ("next", "on_302", "on_error"):
            if getattr(a, key) is not None:
                spec[key] = getattr(a, key)
        applets[a.id] = spec
    return {"id": bp.flow_id, "name": bp.title, "start": bp.start, "applets": applets}


def to_json(bp: Blueprint) -> str:
    """Pretty, stable JSON for files and the CLI."""
    return json.dumps(to_exosim(bp), ensure_ascii=False, indent=2) + "\n"


_TYPE_NAMES = {
    "passthru": "Passthru (sync; branches on 200/302)",
    "gather": "Gather (dynamic URL, JSON; Exotel-Version 1.0)",
    "greeting": "Greeting",
    "hangup": "Hangup",
}


def to_text(bp: Blueprint, ivr: Ivr, language: Language = Language.HI) -> str:
    """Instructions an operator follows in the dashboard, then what callers hear."""
    number = {a.id: i for i, a in enumerate(bp.applets, 1)}

    def ref(applet_id: str) -> str:
        return f"{number[applet_id]}. {applet_id}"

    lines = [
        f"Exotel flow blueprint: {bp.title} ({bp.ivr}), flow id {bp.flow_id!r}",
        "Create once in the Exotel dashboard (App Bazaar), applets in this order; then use",
        "the flow's app id to call people into it. exosim loads the JSON form as is.",
        "Prompts, keys and retries come from exocomms at run time: never edit them here.",
        "",
        "Applets",
    ]
    for a in bp.applets:
        lines.append(f"  {ref(a.id)}: {_TYPE_NAMES[a.type]}. {a.purpose}.")
        if a.url is not None:
            kind = "text/plain URL" if a.type == "greeting" else "URL"
            lines.append(f"       {kind}: {a.url}")
        if a.text is not None:
            lines.append(f"       static text: {a.text}")
        if a.type == "gather":
            lines.append("       repeat menu: 0 (the URL's answer sets prompt, digits, timeout)")
        if a.type == "passthru" and a.next is not None:
            lines.append(f"       200 → {ref(a.next)}")
        elif a.next is not None:
            lines.append(f"       then → {ref(a.next)}")
        if a.on_302 is not None:
            lines.append(f"       302 → {ref(a.on_302)}")
        if a.on_error is not None:
            lines.append(f"       timeout/error → {ref(a.on_error)}")
    lines += ["", f"What callers hear ({language.bcp47}; placeholders are filled per call)"]
    lines += _describe_action("start", ivr.start, ivr, language)
    for menu_id, menu in ivr.menus.items():
        lines += _describe_menu(menu_id, menu, ivr, language)
    return "\n".join(lines) + "\n"


def _say(ivr: Ivr, prompt_ids: tuple[str, ...], language: Language) -> str:
    return " ".join(ivr.prompts[p][language] for p in prompt_ids) or "(nothing)"


def _event(event: Event) -> str:
    fields = ", ".join(f"{k}={v}" for k, v in event.values().items())
    return f"{event.kind}({fields})" if fields else event.kind


def _describe_action(label: str, action: Action, ivr: Ivr, language: Language) -> list[str]:
    if isinstance(action, Goto):
        what = f"menu {action.menu!r}"
    elif isinstance(action, Repeat):
        what = "the menu again"
    else:
        what = f"say {_say(ivr, action.prompt, language)!r}, hang up"
    events = ", ".join(_event(e) for e in action.events)
    return [f"  {label} → {what}" + (f" [{events}]" if events else "")]


def _describe_menu(menu_id: str, menu: Menu, ivr: Ivr, language: Language) -> list[str]:
    lines = [
        f"  menu {menu_id!r} (up to {menu.num_digits} key(s), {menu.timeout_seconds} s to answer):"
    ]
    if menu.intro:
        lines.append(f"    first time: {_say(ivr, menu.intro, language)}")
    lines.append(f"    says: {_say(ivr, menu.prompt, language)}")
    for key, action in menu.options.items():
        lines += ["  " + line for line in _describe_action(f"key {key}", action, ivr, language)]
    if menu.on_no_input is not None:
        lines += ["  " + ln for ln in _describe_action("no input", menu.on_no_input, ivr, language)]
    misses = "wrong key" if menu.on_no_input is not None else "wrong key or no input"
    lines.append(f"    {misses} → the menu again, at most {menu.max_misses} time(s); then:")
    lines += ["  " + line for line in _describe_action("then", menu.on_exhausted, ivr, language)]
    return lines


def render(
    ivr: Ivr,
    *,
    base_url: str,
    token: str,
    language: Language = Language.HI,
    as_json: bool = False,
    flow_id: str | None = None,
) -> str:
    """What ``exocomms flows blueprint <ivr> [--json] [--language hi]`` prints."""
    bp = build(ivr, base_url=base_url, token=token, flow_id=flow_id)
    return to_json(bp) if as_json else to_text(bp, ivr, language)
