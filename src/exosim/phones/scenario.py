"""Scenario files: phones (and optionally flows and ExoPhone assignments) in YAML or JSON.

Example::

    phones:
      "+919800000001": {answer_after: 2, keys: [{when_heard: "prep time", keys: "2"}]}
      "09800000002": {behaviour: busy}
    flows:
      - {id: vendor-confirm, start: a1, applets: {a1: {type: hangup}}}
    exophones:
      "08047091234": vendor-confirm        # ExoPhone number -> flow id (created if missing)

Everything is validated before anything changes, so a bad file changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from exosim.api.phonenum import display, normalise
from exosim.flows.model import Flow
from exosim.model import ExoPhone, new_sid
from exosim.phones.model import PhoneScript, VirtualPhone
from exosim.store import Store

MAX_SCENARIO_BYTES = 1_000_000


class ScenarioError(ValueError):
    """The scenario cannot be loaded; the message says why."""


class Scenario(BaseModel):
    """A scenario file's content."""

    model_config = ConfigDict(extra="forbid")

    phones: dict[str, PhoneScript] = Field(default_factory=dict, max_length=10_000)
    flows: list[Flow] = Field(default_factory=list, max_length=1_000)
    exophones: dict[str, str] = Field(default_factory=dict, max_length=1_000)


def validation_message(exc: ValidationError) -> str:
    """A compact, readable summary of pydantic errors."""
    parts = []
    for error in exc.errors()[:10]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _load_text(text: str, what: str) -> Any:
    """YAML or JSON (by its first character) as Python data."""
    if len(text) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{what} is larger than 1 MB")
    try:
        if text.lstrip().startswith(("{", "[")):
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ScenarioError(f"not valid YAML/JSON: {str(exc)[:300]}") from exc


def parse_scenario(text: str) -> Scenario:
    """Parse YAML (JSON is YAML too) into a validated scenario.

    Raises:
        ScenarioError: unreadable, invalid, or refers to unknown flows/bad numbers.
    """
    data = _load_text(text, "scenario")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError("a scenario must be a mapping with phones/flows/exophones")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(validation_message(exc)) from exc
    for number in [*scenario.phones, *scenario.exophones]:
        if normalise(str(number)) is None:
            raise ScenarioError(f"not a phone number: {number!r}")
    return scenario


def parse_flows(text: str) -> list[Flow]:
    """Parse a flows file: a YAML/JSON list of flows (one flow object is accepted too).

    Each flow gets the validation of ``POST /_exosim/flows``.

    Raises:
        ScenarioError: unreadable, not a list of objects, an invalid flow or a repeated id.
    """
    data = _load_text(text, "flows file")
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise ScenarioError("a flows file must be a non-empty list of flow objects")
    if len(data) > 1_000:
        raise ScenarioError("a flows file holds at most 1000 flows")
    flows: dict[str, Flow] = {}
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ScenarioError(f"flows[{index}]: a flow must be an object")
        try:
            flow = Flow.model_validate(item)
        except ValidationError as exc:
            raise ScenarioError(f"flows[{index}]: {validation_message(exc)}") from exc
        if flow.id in flows:
            raise ScenarioError(f"flows[{index}]: flow id {flow.id!r} appears twice")
        flows[flow.id] = flow
    return list(flows.values())


def set_phone(store: Store, number: str, script: PhoneScript) -> VirtualPhone:
    """Script ``number`` (any accepted spelling), keeping its transcript."""
    key = normalise(number)
    if key is None:
        raise ScenarioError(f"not a phone number: {number!r}")
    phone = store.phones.get(key)
    if not isinstance(phone, VirtualPhone):
        phone = VirtualPhone(number=key)
        store.phones[key] = phone
    phone.script = script
    phone.scripted = True
    return phone


def assign_flow(store: Store, number: str, flow_id: str, account_sid: str) -> ExoPhone:
    """Point the ExoPhone ``number`` at ``flow_id``, creating the ExoPhone when unknown."""
    exophone = store.exophone_by_number(number)
    if exophone is None:
        key = normalise(number)
        if key is None:
            raise ScenarioError(f"not a phone number: {number!r}")
        exophone = ExoPhone(sid=new_sid(), account_sid=account_sid, phone_number=display(key))
        store.exophones[exophone.sid] = exophone
    exophone.voice_flow_id = flow_id
    return exophone


def apply_scenario(store: Store, scenario: Scenario, account_sid: str) -> dict[str, int]:
    """Install a parsed scenario; returns how many phones, flows and ExoPhones it set."""
    known_flows = {flow.id for flow in scenario.flows} | set(store.flows)
    for number, flow_id in scenario.exophones.items():
        if flow_id not in known_flows:
            raise ScenarioError(f"ExoPhone {number!r} refers to unknown flow {flow_id!r}")
    for flow in scenario.flows:
        store.flows[flow.id] = flow
    for number, script in scenario.phones.items():
        set_phone(store, number, script)
    for number, flow_id in scenario.exophones.items():
        assign_flow(store, number, flow_id, account_sid)
    return {
        "phones": len(scenario.phones),
        "flows": len(scenario.flows),
        "exophones": len(scenario.exophones),
    }


def load_scenario(store: Store, text: str, account_sid: str) -> dict[str, int]:
    """Parse and install a scenario file's content (for the CLI and the control API)."""
    return apply_scenario(store, parse_scenario(text), account_sid)
