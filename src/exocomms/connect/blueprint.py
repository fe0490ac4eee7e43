"""Flow blueprints of the connect slice, for the Exotel dashboard and for exosim.

* ``masked-call`` — on every virtual number of the masking pool::

    route    Passthru /masked/route      200 → connect; 302 → pin; error → sorry
    pin      Gather   /masked/pin        (JSON: PIN prompt)                  → check
    check    Passthru /masked/pin-check  200 → connect; 302 → message; error → sorry
    connect  Connect  /masked/connect    (JSON: counter-party, the VN shown) → done;
                                         nobody answered / nobody to call → message
    message  Greeting /masked/message    (text: unknown caller, wrong PIN, no answer) → done
    done     Passthru /masked/done       → hangup
    sorry    Greeting static text → hangup;  hangup

* ``inbound`` — on the main number (and ``ordering``, the flow the missed-call callback runs):
  an IVR whose goodbye may lead to a Connect::

    answer   Passthru /inbound/answer    200 → menu; 302 → say; error → sorry
    menu     Gather   /inbound/menu      → keys
    keys     Passthru /inbound/keys      200 → menu; 302 → say; error → sorry
    say      Greeting /inbound/say       → next
    next     Passthru /inbound/next      200 → connect; 302/error → done
    connect  Connect  /inbound/connect   → done; nobody answered → unreached
    unreached Greeting static text → done;  done Passthru /inbound/done → hangup

* ``missed-call`` — on the missed-call number: Passthru ``/missed/call`` → hangup (the caller
  already hung up; Exotel runs the flow's leading Passthru for missed calls).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from exocomms.errors import NotFound
from exocomms.telephony.exotel.blueprint import SORRY_TEXT, applet_url

UNREACHED_TEXT = (
    "क्षमा करें, अभी कॉल नहीं जुड़ पाई। कृपया बाद में कोशिश करें। "
    "Sorry, we could not connect your call. Please try again later."
)
FLOWS = ("masked-call", "inbound", "ordering", "missed-call")


@dataclass(frozen=True)
class Applet:
    """One applet and its transitions (applet ids)."""

    id: str
    type: str  # passthru, gather, connect, greeting, hangup
    purpose: str
    url: str | None = None
    text: str | None = None
    next: str | None = None
    on_302: str | None = None
    on_error: str | None = None
    on_no_answer: str | None = None


@dataclass(frozen=True)
class Blueprint:
    """A flow: applets in the order an operator creates them."""

    name: str
    title: str
    flow_id: str
    applets: tuple[Applet, ...]


def build(name: str, *, base_url: str, token: str, flow_id: str | None = None) -> Blueprint:
    """The blueprint ``name`` (one of :data:`FLOWS`) pointing at ``base_url``.

    Raises:
        NotFound: unknown flow name. ValidationError: a bad base URL.
    """

    def url(group: str, step: str) -> str:
        return applet_url(base_url, group, step, token)

    sorry = Applet(
        "sorry", "greeting", "Fallback when our server fails", text=SORRY_TEXT, next="hangup"
    )
    hangup = Applet("hangup", "hangup", "End the call")
    if name == "masked-call":
        applets: tuple[Applet, ...] = (
            Applet(
                "route",
                "passthru",
                "Route: 200 connects, 302 asks for a PIN",
                url=url("masked", "route"),
                next="connect",
                on_302="pin",
                on_error="sorry",
            ),
            Applet(
                "pin", "gather", "Ask for the session PIN", url=url("masked", "pin"), next="check"
            ),
            Applet(
                "check",
                "passthru",
                "Check the PIN: 200 connects, 302 explains",
                url=url("masked", "pin-check"),
                next="connect",
                on_302="message",
                on_error="sorry",
            ),
            Applet(
                "connect",
                "connect",
                "Dial the counter-party; both see the virtual number",
                url=url("masked", "connect"),
                next="done",
                on_no_answer="message",
            ),
            Applet(
                "message",
                "greeting",
                "Unknown caller, wrong PIN or no answer",
                url=url("masked", "message"),
                next="done",
            ),
            Applet(
                "done",
                "passthru",
                "Record the outcome",
                url=url("masked", "done"),
                next="hangup",
                on_302="hangup",
                on_error="hangup",
            ),
            sorry,
            hangup,
        )
        title = "Masked call (virtual numbers)"
    elif name in ("inbound", "ordering"):
        applets = (
            Applet(
                "answer",
                "passthru",
                "Answer: find or identify the caller, start their IVR",
                url=url("inbound", "answer"),
                next="menu",
                on_302="say",
                on_error="sorry",
            ),
            Applet(
                "menu",
                "gather",
                "Ask: the current menu as JSON",
                url=url("inbound", "menu"),
                next="keys",
            ),
            Applet(
                "keys",
                "passthru",
                "Decide: 200 asks again, 302 ends the menu",
                url=url("inbound", "keys"),
                next="menu",
                on_302="say",
                on_error="sorry",
            ),
            Applet(
                "say",
                "greeting",
                "The confirmation, message or goodbye",
                url=url("inbound", "say"),
                next="next",
            ),
            Applet(
                "next",
                "passthru",
                "200 when the caller asked to talk to someone",
                url=url("inbound", "next"),
                next="connect",
                on_302="done",
                on_error="done",
            ),
            Applet(
                "connect",
                "connect",
                "Dial whom the caller asked for (masked)",
                url=url("inbound", "connect"),
                next="done",
                on_no_answer="unreached",
            ),
            Applet(
                "unreached",
                "greeting",
                "Nobody to connect or no answer",
                text=UNREACHED_TEXT,
                next="done",
            ),
            Applet(
                "done",
                "passthru",
                "Record the outcome, end the call",
                url=url("inbound", "done"),
                next="hangup",
                on_302="hangup",
                on_error="hangup",
            ),
            sorry,
            hangup,
        )
        title = "Inbound IVR" if name == "inbound" else "Missed-call callback (ordering)"
    elif name == "missed-call":
        applets = (
            Applet(
                "call",
                "passthru",
                "Record the missed call (one callback per window)",
                url=url("missed", "call"),
                next="hangup",
                on_302="hangup",
                on_error="hangup",
            ),
            hangup,
        )
        title = "Missed-call number"
    else:
        raise NotFound(f"unknown flow {name!r}", details={"known": list(FLOWS)})
    return Blueprint(name, title, flow_id or name, applets)


def to_exosim(bp: Blueprint) -> dict[str, Any]:
    """The blueprint in exosim's flow format."""
    applets: dict[str, dict[str, Any]] = {}
    for a in bp.applets:
        spec: dict[str, Any] = {"type": a.type}
        for key in ("url", "text", "next", "on_302", "on_error", "on_no_answer"):
            if getattr(a, key) is not None:
                spec[key] = getattr(a, key)
        if a.type == "gather":
            spec["repeat_menu"] = 0  # the URL's JSON sets the prompt and limits per turn
        applets[a.id] = spec
    return {"id": bp.flow_id, "name": bp.title, "start": bp.applets[0].id, "applets": applets}


_TYPES = {
    "passthru": "Passthru (sync; branches on 200/302)",
    "gather": "Gather (dynamic URL, JSON)",
    "connect": "Connect (dynamic URL, JSON; Exotel-Version 1.0)",
    "greeting": "Greeting",
    "hangup": "Hangup",
}


def to_text(bp: Blueprint) -> str:
    """Instructions an operator follows in the dashboard."""
    number = {a.id: i for i, a in enumerate(bp.applets, 1)}
    lines = [
        f"Exotel flow blueprint: {bp.title} ({bp.name}), flow id {bp.flow_id!r}",
        "Create once in the Exotel dashboard (App Bazaar), applets in this order.",
        "",
    ]
    for a in bp.applets:
        lines.append(f"  {number[a.id]}. {a.id}: {_TYPES[a.type]}. {a.purpose}.")
        if a.url is not None:
            lines.append(f"       URL: {a.url}")
        if a.text is not None:
            lines.append(f"       static text: {a.text}")
        transitions = (
            ("200 →" if a.type == "passthru" else "then →", a.next),
            ("302 →", a.on_302),
            ("timeout/error →", a.on_error),
            ("nobody answered →", a.on_no_answer),
        )
        for label, target in transitions:
            if target is not None:
                lines.append(f"       {label} {number[target]}. {target}")
    return "\n".join(lines) + "\n"


def render(name: str, *, base_url: str, token: str, as_json: bool = False) -> str:
    """What ``exocomms flows blueprint <name> [--json]`` prints for a connect flow."""
    bp = build(name, base_url=base_url, token=token)
    if as_json:
        return json.dumps(to_exosim(bp), ensure_ascii=False, indent=2) + "\n"
    return to_text(bp)
