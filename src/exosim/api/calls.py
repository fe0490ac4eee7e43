"""v1 voice routes: ``Calls/connect``, ``Calls/<sid>`` and the bulk ``Calls`` listing."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from exosim.api.auth import exotel_request
from exosim.api.calls_list import list_calls
from exosim.api.callview import call_details, call_fields, exophone_number
from exosim.api.connect import build_call
from exosim.api.forms import read_params
from exosim.api.render import ExotelError, respond, strip_json

router = APIRouter(tags=["voice"])
BASE = "/v1/Accounts/{account_sid}"


@router.post(BASE + "/Calls/connect")
@router.post(BASE + "/Calls/connect.json")
async def connect(request: Request, account_sid: str) -> Response:
    """Place a call: two numbers (From, To) or a number to a flow (From, Url)."""
    ctx = await exotel_request(request, account_sid, "Calls/connect", "voice")
    params = await read_params(request)
    call = build_call(params, ctx.sim.store, ctx.account, ctx.sim.store.clock.now())
    ctx.sim.store.calls[call.sid] = call
    ctx.sim.engine.start_call(call)
    return respond(
        {"Call": call_fields(call, ctx.fmt, exophone_number(ctx.sim.store, call))}, ctx.fmt
    )


@router.get(BASE + "/Calls")
@router.get(BASE + "/Calls.json")
async def calls(request: Request, account_sid: str) -> Response:
    """Bulk call details with filters, sorting and cursor paging."""
    ctx = await exotel_request(request, account_sid, "Calls", "voice")
    return list_calls(ctx, request)


@router.get(BASE + "/Calls/{call_sid}")
async def call_detail(request: Request, account_sid: str, call_sid: str) -> Response:
    """One call; ``?details=true`` adds ``Details`` (legs and conversation time)."""
    ctx = await exotel_request(request, account_sid, "Calls", "voice")
    sid = strip_json(call_sid)
    call = ctx.sim.store.calls.get(sid)
    if call is None or call.account_sid != ctx.account.sid:
        raise ExotelError(404, f"Call {sid[:64]!r} not found")
    fields = call_fields(call, ctx.fmt, exophone_number(ctx.sim.store, call))
    details = request.query_params.get("details", "").lower()
    if details not in ("", "true", "false"):
        raise ExotelError(400, "details must be true or false")
    if details == "true":
        fields["Details"] = call_details(call)
    return respond({"Call": fields}, ctx.fmt)
