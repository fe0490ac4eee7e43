"""One IVR, two channels: driving the blueprint's applets and ExoML gives the same call.

The applet side follows the blueprint JSON's transitions (Passthru 200/302, Gather → input,
Greeting → hangup), persists the state as JSON between "webhooks" and re-renders prompts from
it, as the service will. The ExoML side renders each turn as XML and reads it back.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from exocomms.ivr import engine, flows
from exocomms.ivr.model import Digits, Event, Input, Ivr, NoInput, State
from exocomms.telephony.exotel import applets, blueprint, exoml

CONTEXTS: dict[str, dict[str, Any]] = {
    "vendor_order": {
        "store_name": "Krishna Kirana",
        "order_id": 12345,
        "amount": 325,
        "items": [{"name": "Atta", "quantity": 2}],
    },
    "rider_assignment": {
        "rider_name": "Ravi",
        "order_id": 12345,
        "pickup_name": "Krishna",
        "pickup_address": "MG Road",
        "drop_area": "Kothrud",
        "amount": 325,
        "earning": 40,
    },
    "customer_delay": {"order_id": 12345, "delay_minutes": 15},
}


def via_applets(ivr: Ivr, lang: str, keys: list[str | None]) -> tuple[list[str], list[Event]]:
    flow = blueprint.to_exosim(blueprint.build(ivr, base_url="http://127.0.0.1:1", token="t"))
    pending = iter(keys)
    heard: list[str] = []
    events: list[Event] = []
    stored: dict[str, Any] = {}
    current: str | None = flow["start"]
    while current is not None:
        spec = flow["applets"][current]
        if current == "start":
            turn = engine.start(ivr, CONTEXTS[ivr.name], lang)
            stored, events = turn.state.to_dict(), [*turn.events]
            status = applets.passthru_decision(not turn.done)
            current = spec["next"] if status == 200 else spec["on_302"]
        elif spec["type"] == "gather":
            prompt = engine.render(ivr, State.from_dict(stored))
            wire = applets.to_wire(applets.gather_json_for(prompt))
            heard.append(json.loads(wire)["gather_prompt"]["text"])
            current = spec["next"]
        elif current == "input":
            key = next(pending, None)
            digits = applets.parse_digits(None if key is None else f'"{key}"')
            received: Input = Digits(digits) if digits else NoInput()
            turn = engine.step(ivr, State.from_dict(stored), received)
            stored, events = turn.state.to_dict(), [*events, *turn.events]
            status = applets.passthru_decision(not turn.done)
            current = spec["next"] if status == 200 else spec["on_302"]
        elif spec["type"] == "greeting":
            heard.append(applets.greeting_text_for(engine.render(ivr, State.from_dict(stored))))
            current = spec.get("next")
        else:
            current = None
    return heard, events


def via_exoml(ivr: Ivr, lang: str, keys: list[str | None]) -> tuple[list[str], list[Event]]:
    pending = iter(keys)
    turn = engine.start(ivr, CONTEXTS[ivr.name], lang)
    heard: list[str] = []
    events = [*turn.events]
    while True:
        xml = exoml.from_callflow(turn.prompt, action_url="http://127.0.0.1:1/x").to_bytes()
        root = ET.fromstring(xml)  # noqa: S314 - parses our own output, not untrusted input
        heard.append(" ".join(s.text or "" for s in root.iter("Say")))
        if root.find("Gather") is None:
            return heard, events
        key = next(pending, None)
        turn = engine.step(ivr, turn.state, Digits(key) if key else NoInput())
        events += turn.events


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("vendor_order", ["1", "2"]),
        ("vendor_order", ["1", None]),
        ("vendor_order", ["7", "3", "2", "9"]),
        ("vendor_order", [None, None, None]),
        ("rider_assignment", ["3", "1"]),
        ("customer_delay", []),
    ],
)
@pytest.mark.parametrize("lang", ["hi", "en", "mr"])
def test_applets_and_exoml_give_the_same_call(name: str, keys: list[str | None], lang: str):
    ivr = flows.get(name)
    assert via_applets(ivr, lang, keys) == via_exoml(ivr, lang, keys)
