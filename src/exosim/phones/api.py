"""``/_exosim/phones``: script virtual phones, read their transcripts, make them call."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from exosim.api import leadassist
from exosim.api.phonenum import normalise
from exosim.engine.virtual import virtual_call
from exosim.flows.api import json_body
from exosim.phones.model import PhoneScript, VirtualPhone, get_or_create
from exosim.phones.scenario import ScenarioError, load_scenario, set_phone, validation_message
from exosim.runtime import Sim

router = APIRouter(prefix="/_exosim/phones", tags=["exosim phones"])


class PlaceCall(BaseModel):
    """Body of ``POST /_exosim/phones/<number>/call``."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(max_length=32)
    hangup_after: float | None = Field(default=None, ge=0, le=86_400)
    missed: bool = False


def _sim(request: Request) -> Sim:
    sim: Sim = request.app.state.sim
    return sim


def _key(number: str) -> str:
    key = normalise(number)
    if key is None:
        raise HTTPException(400, f"not a phone number: {number[:40]!r}")
    return key


def _phone(sim: Sim, number: str) -> VirtualPhone:
    phone = sim.store.phones.get(_key(number))
    if not isinstance(phone, VirtualPhone):
        raise HTTPException(404, f"no virtual phone {number!r} (script it with PUT first)")
    return phone


@router.get("")
async def list_phones(request: Request) -> dict[str, Any]:
    """Every phone the emulator knows (scripted or dialled)."""
    phones = _sim(request).store.phones.values()
    return {"phones": [p.to_json() for p in phones if isinstance(p, VirtualPhone)]}


@router.post("/scenario")
async def scenario(request: Request) -> dict[str, Any]:
    """Load a YAML/JSON scenario (the raw file content as the body)."""
    sim = _sim(request)
    raw = await request.body()
    try:
        loaded = load_scenario(sim.store, raw.decode("utf-8"), sim.config.account_sid)
    except UnicodeDecodeError as exc:
        raise HTTPException(400, "scenario must be UTF-8 text") from exc
    except ScenarioError as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"loaded": loaded}


@router.put("/{number}")
async def put_phone(number: str, request: Request) -> dict[str, Any]:
    """Script a phone (the body is a PhoneScript; ``{}`` gives the defaults)."""
    sim = _sim(request)
    _key(number)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise HTTPException(400, "a phone script must be a JSON object")
    try:
        script = PhoneScript.model_validate(body)
    except ValidationError as exc:
        raise HTTPException(400, validation_message(exc)) from exc
    return set_phone(sim.store, number, script).to_json()


@router.get("/{number}")
async def get_phone(number: str, request: Request) -> dict[str, Any]:
    """A phone's script and transcript."""
    return _phone(_sim(request), number).to_json()


@router.get("/{number}/transcript")
async def transcript(number: str, request: Request) -> dict[str, Any]:
    """Everything the phone heard, pressed and did, in order."""
    phone = _phone(_sim(request), number)
    return {"number": phone.number, "transcript": [e.to_json() for e in phone.transcript]}


@router.delete("/{number}", status_code=204)
async def delete_phone(number: str, request: Request) -> Response:
    """Forget a phone (it becomes an unscripted default again)."""
    sim = _sim(request)
    _phone(sim, number)
    del sim.store.phones[_key(number)]
    return Response(status_code=204)


@router.post("/{number}/call", status_code=201)
async def place_call(number: str, request: Request) -> dict[str, Any]:
    """The phone calls an ExoPhone (``missed``: hangs up while it rings)."""
    sim = _sim(request)
    key = _key(number)
    body = await json_body(request)
    try:
        order = PlaceCall.model_validate(body if isinstance(body, dict) else {})
    except ValidationError as exc:
        raise HTTPException(400, validation_message(exc)) from exc
    exophone = sim.store.exophone_by_number(order.to)
    if exophone is None or exophone.voice_flow_id is None:
        virtual = _virtual(sim, key, order)
        if virtual is not None:
            return virtual
    if exophone is None:
        raise HTTPException(404, f"{order.to!r} is not an ExoPhone of this emulator")
    get_or_create(sim.store.phones, key)
    call = sim.engine.incoming_call(
        key, exophone, hangup_after=order.hangup_after, missed=order.missed
    )
    return {"call_sid": call.sid, "from": key, "to": exophone.phone_number, "missed": order.missed}


def _virtual(sim: Sim, caller: str, order: PlaceCall) -> dict[str, Any] | None:
    """A call to a Lead Assist virtual number: GreenVN bridges at once, GreenPin asks a PIN."""
    if order.missed:
        return None
    tail = "".join(ch for ch in order.to if ch.isdigit())[-10:]
    found = [
        a
        for a in leadassist.allocations(sim.store).values()
        if "".join(ch for ch in a.virtual_number if ch.isdigit())[-10:] == tail
    ]
    if not found:
        return None
    target = leadassist.route(sim.store, caller, found[0].virtual_number)
    if target is None and not any(a.kind == "greenpin" for a in found):
        return None
    get_or_create(sim.store.phones, caller)
    call = virtual_call(
        sim.engine,
        caller,
        found[0].virtual_number,
        found[0].account_sid,
        target=target,
        hangup_after=order.hangup_after,
    )
    return {"call_sid": call.sid, "from": caller, "to": found[0].virtual_number, "missed": False}
