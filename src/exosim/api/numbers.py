"""Number routes: ``Numbers/<number>`` metadata and v2_beta ``IncomingPhoneNumbers``.

Number metadata is fabricated deterministically from the digits (circle/operator are not
real lookups); ``DND`` reflects the emulator's DND list.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from exosim.api.auth import exotel_request
from exosim.api.connect import parse_flow_url
from exosim.api.forms import read_params
from exosim.api.phonenum import display, is_indian_mobile, normalise
from exosim.api.render import ExotelError, respond, strip_json, to_json
from exosim.model import ExoPhone

router = APIRouter(tags=["numbers"])
_CIRCLES = (
    ("KA", "Karnataka"),
    ("MH", "Maharashtra"),
    ("DL", "Delhi NCR"),
    ("TN", "Tamil Nadu"),
    ("AP", "Andhra Pradesh"),
    ("WB", "West Bengal"),
)
_OPERATORS = (("A", "Airtel"), ("J", "Reliance Jio"), ("V", "Vodafone Idea"), ("B", "BSNL"))


@router.get("/v1/Accounts/{account_sid}/Numbers/{number}")
async def number_metadata(request: Request, account_sid: str, number: str) -> Response:
    """``{"Numbers": {PhoneNumber, Circle, CircleName, Type, Operator, OperatorName, DND}}``."""
    ctx = await exotel_request(request, account_sid, "Numbers", "voice")
    raw = strip_json(number)
    e164 = normalise(raw)
    if e164 is None:
        raise ExotelError(400, f"Invalid phone number: {raw[:40]!r}")
    seed = sum(int(d) for d in e164[-10:])
    circle, circle_name = _CIRCLES[seed % len(_CIRCLES)]
    operator, operator_name = _OPERATORS[seed % len(_OPERATORS)]
    body = {
        "Numbers": {
            "PhoneNumber": display(e164),
            "Circle": circle,
            "CircleName": circle_name,
            "Type": "Mobile" if is_indian_mobile(e164) else "Landline",
            "Operator": operator,
            "OperatorName": operator_name,
            "DND": "Yes" if e164 in ctx.sim.store.dnd_numbers else "No",
        }
    }
    return respond(body, ctx.fmt)


def flow_url(account_sid: str, kind: str, flow_id: str | None) -> str | None:
    """The dashboard URL of a flow, as Exotel shows it on a number."""
    if flow_id is None:
        return None
    return f"http://my.exotel.com/{account_sid}/exoml/{kind}/{flow_id}"


def exophone_fields(exophone: ExoPhone) -> dict[str, Any]:
    """One IncomingPhoneNumber (field names follow v1 naming; an assumption)."""
    return {
        "Sid": exophone.sid,
        "AccountSid": exophone.account_sid,
        "PhoneNumber": exophone.phone_number,
        "FriendlyName": exophone.friendly_name or None,
        "VoiceUrl": flow_url(exophone.account_sid, "start_voice", exophone.voice_flow_id),
        "SMSUrl": flow_url(exophone.account_sid, "start_sms", exophone.sms_flow_id),
        "Uri": f"/v2_beta/Accounts/{exophone.account_sid}/IncomingPhoneNumbers/{exophone.sid}",
    }


def _json(body: object) -> Response:
    return Response(to_json(body), media_type="application/json")


BASE = "/v2_beta/Accounts/{account_sid}/IncomingPhoneNumbers"


@router.get(BASE)
@router.get(BASE + ".json")
async def list_numbers(request: Request, account_sid: str) -> Response:
    """The account's ExoPhones."""
    ctx = await exotel_request(request, account_sid, "IncomingPhoneNumbers", None)
    own = [p for p in ctx.sim.store.exophones.values() if p.account_sid == ctx.account.sid]
    return _json({"IncomingPhoneNumbers": [exophone_fields(p) for p in own]})


def _own_exophone(request: Request, ctx_account: str, exophone_sid: str) -> ExoPhone:
    exophone = request.app.state.sim.store.exophones.get(exophone_sid)
    if not isinstance(exophone, ExoPhone) or exophone.account_sid != ctx_account:
        raise ExotelError(404, f"ExoPhone {exophone_sid[:64]!r} not found")
    return exophone


@router.get(BASE + "/{exophone_sid}")
async def get_number(request: Request, account_sid: str, exophone_sid: str) -> Response:
    """One ExoPhone."""
    ctx = await exotel_request(request, account_sid, "IncomingPhoneNumbers", None)
    exophone = _own_exophone(request, ctx.account.sid, strip_json(exophone_sid))
    return _json({"IncomingPhoneNumber": exophone_fields(exophone)})


@router.put(BASE + "/{exophone_sid}")
async def assign_flows(request: Request, account_sid: str, exophone_sid: str) -> Response:
    """Assign flows to an ExoPhone with ``VoiceUrl`` / ``SMSUrl`` (form or JSON)."""
    ctx = await exotel_request(request, account_sid, "IncomingPhoneNumbers", None)
    exophone = _own_exophone(request, ctx.account.sid, strip_json(exophone_sid))
    params = await read_params(request)
    values: dict[str, str | None] = {
        "VoiceUrl": params.get("VoiceUrl"),
        "SMSUrl": params.get("SMSUrl"),
        "FriendlyName": params.get("FriendlyName"),
    }
    if isinstance(params.json_body, dict):
        for key in values:
            value = params.json_body.get(key)
            if value is not None and not isinstance(value, str):
                raise ExotelError(400, f"{key} must be a string")
            values[key] = value or values[key]
    elif params.json_body is not None:
        raise ExotelError(400, "JSON body must be an object")
    if not any(values.values()):
        raise ExotelError(400, "Give VoiceUrl, SMSUrl or FriendlyName")
    voice = values["VoiceUrl"]
    sms = values["SMSUrl"]
    voice_id = parse_flow_url(voice, ctx.account.sid, "voice") if voice else None
    if voice_id is not None and voice_id not in ctx.sim.store.flows:
        raise ExotelError(400, f"Flow {voice_id!r} does not exist in this account")
    sms_id = parse_flow_url(sms, ctx.account.sid, "sms") if sms else None
    # Validate everything before changing anything.
    if voice_id is not None:
        exophone.voice_flow_id = voice_id
    if sms_id is not None:
        exophone.sms_flow_id = sms_id
    if values["FriendlyName"]:
        exophone.friendly_name = values["FriendlyName"]
    return _json({"IncomingPhoneNumber": exophone_fields(exophone)})
