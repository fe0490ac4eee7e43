"""``/_exosim/flows``: create, read, replace and delete flows; assign them to ExoPhones."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import ValidationError

from exosim.flows.model import Flow
from exosim.phones.scenario import ScenarioError, assign_flow, validation_message
from exosim.runtime import Sim

router = APIRouter(prefix="/_exosim/flows", tags=["exosim flows"])
MAX_BODY_BYTES = 1_000_000


def _sim(request: Request) -> Sim:
    sim: Sim = request.app.state.sim
    return sim


async def json_body(request: Request) -> Any:
    """The request's JSON body, or a 400 that says what is wrong with it."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise HTTPException(413, "body larger than 1 MB")
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise HTTPException(400, f"body is not valid JSON: {exc}") from exc


def _parse_flow(data: Any, flow_id: str | None = None) -> Flow:
    if not isinstance(data, dict):
        raise HTTPException(400, "a flow must be a JSON object")
    if flow_id is not None:
        if data.get("id", flow_id) != flow_id:
            raise HTTPException(400, "the flow id in the body differs from the path")
        data = {**data, "id": flow_id}
    try:
        return Flow.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(400, validation_message(exc)) from exc


def _get(sim: Sim, flow_id: str) -> Flow:
    flow = sim.store.flows.get(flow_id)
    if not isinstance(flow, Flow):
        raise HTTPException(404, f"no flow {flow_id!r}")
    return flow


@router.post("", status_code=201)
async def create_flow(request: Request) -> dict[str, Any]:
    """Create a flow; 409 when its id is taken (use PUT to replace)."""
    sim = _sim(request)
    flow = _parse_flow(await json_body(request))
    if flow.id in sim.store.flows:
        raise HTTPException(409, f"flow {flow.id!r} exists; PUT /_exosim/flows/{flow.id}")
    sim.store.flows[flow.id] = flow
    return flow.to_json()


@router.get("")
async def list_flows(request: Request) -> dict[str, Any]:
    """Every flow."""
    flows = [f.to_json() for f in _sim(request).store.flows.values() if isinstance(f, Flow)]
    return {"flows": flows}


@router.get("/{flow_id}")
async def get_flow(flow_id: str, request: Request) -> dict[str, Any]:
    """One flow."""
    return _get(_sim(request), flow_id).to_json()


@router.put("/{flow_id}")
async def put_flow(flow_id: str, request: Request) -> dict[str, Any]:
    """Create or replace a flow (running calls keep the version they started with)."""
    flow = _parse_flow(await json_body(request), flow_id)
    _sim(request).store.flows[flow.id] = flow
    return flow.to_json()


@router.delete("/{flow_id}", status_code=204)
async def delete_flow(flow_id: str, request: Request) -> Response:
    """Delete a flow."""
    sim = _sim(request)
    _get(sim, flow_id)
    del sim.store.flows[flow_id]
    return Response(status_code=204)


@router.post("/{flow_id}/assign")
async def assign(flow_id: str, request: Request) -> dict[str, Any]:
    """Make ``{"exophone": "<number>"}`` run this flow for incoming calls (creates it if new)."""
    sim = _sim(request)
    _get(sim, flow_id)
    body = await json_body(request)
    number = body.get("exophone") if isinstance(body, dict) else None
    if not isinstance(number, str):
        raise HTTPException(400, 'body must be {"exophone": "<number>"}')
    try:
        exophone = assign_flow(sim.store, number, flow_id, sim.config.account_sid)
    except ScenarioError as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"exophone": exophone.phone_number, "sid": exophone.sid, "flow_id": flow_id}
