"""Exotel talks to our IVRs here: the App Bazaar applet URLs of the flow blueprint, and legacy
ExoML. Thin: authenticate, parse, find the call, let :mod:`exocomms.ivr.service` decide.

Applets (``GET /exotel/applets/{ivr}/…?t=<token>``, see ``telephony/exotel/blueprint.py``):

* ``start`` (Passthru): the call was answered; ``200`` → ask the menu, ``302`` → goodbye.
* ``gather`` (Gather dynamic URL): the current menu as Gather JSON.
* ``input`` (Passthru): the keys (``digits="12"``, quoted); ``200`` → ask again, ``302`` → end.
* ``greeting`` (HEAD + GET): the confirmation or goodbye, ``text/plain; charset=utf-8``.

Errors never break a call: a Passthru with a bad token, an unknown or malformed ``CallSid``
answers ``302`` (the flow says goodbye) and is logged as a warning; ``gather`` and ``greeting``
cannot branch, so they answer ``401``/``404``/``422`` JSON. Keys that are not DTMF count as a
wrong key. A replayed request (the same ``CallSid``, ``digits`` and ``CurrentTime``) gets the
stored answer and changes nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.errors import ExocommsError, NotFound, Unauthorized, ValidationError
from exocomms.ivr import service
from exocomms.ivr.model import Digits, Input
from exocomms.logging import get_logger
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.telephony import callflow as cf
from exocomms.telephony.exotel import applets, exoml
from exocomms.web.deps import RuntimeDep

log = get_logger(__name__)

router = APIRouter(prefix="/exotel", tags=["ivr"])

GOODBYE = Response(status_code=applets.PASSTHRU_BRANCH)


def token_ok(settings: Settings, presented: str | None) -> bool:
    """Constant-time check of the callback URL's ``t`` against the webhook token."""
    expected = settings.resolved_webhook_token.encode()
    return hmac.compare_digest((presented or "").encode(), expected)


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params.items())


async def locate(
    session: AsyncSession, runtime: Runtime, ivr: str, params: Mapping[str, str]
) -> dict[str, Any]:
    """Authenticated lookup of the call an applet request is about.

    Raises:
        Unauthorized, ValidationError, NotFound: the request cannot be answered for a call.
    """
    if not token_ok(runtime.settings, params.get("t")):
        raise Unauthorized("bad or missing callback token")
    request = applets.AppletRequest.from_query({k: v for k, v in params.items() if k != "digits"})
    row = await service.find_call(
        session, runtime, call_sid=request.call_sid, custom_field=request.custom_field
    )
    if row is None:
        raise NotFound("unknown CallSid", details={"callSid": request.call_sid})
    if (row["meta"] or {}).get("ivr") != ivr:
        raise NotFound(f"this call is not running IVR {ivr!r}")
    return row


def received_input(raw: str | None) -> Input:
    try:
        return service.input_of(applets.parse_digits(raw))
    except ValidationError:
        return Digits("?")  # junk in digits: a wrong key, the caller hears the menu again


@router.get("/applets/{ivr}/start")
async def applet_start(ivr: str, request: Request, runtime: RuntimeDep) -> Response:
    """Passthru at answer: 200 when the IVR has a question, 302 for a one-way message."""
    params = _params(request)
    try:
        async with runtime.db.transaction() as session:
            row = await locate(session, runtime, ivr, params)
            key = service.request_key("start", params)
            answer = await service.begin(session, runtime, row, key=key, channel="ivr")
    except ExocommsError as exc:
        log.warning("applet.refused", endpoint="start", ivr=ivr[:40], error=exc.code)
        return GOODBYE
    return Response(status_code=applets.passthru_decision(answer.proceed))


@router.get("/applets/{ivr}/input")
async def applet_input(ivr: str, request: Request, runtime: RuntimeDep) -> Response:
    """Passthru after the Gather: apply the keys once; 200 asks again, 302 ends the call."""
    params = _params(request)
    try:
        async with runtime.db.transaction() as session:
            row = await locate(session, runtime, ivr, params)
            key = service.request_key("input", params)
            received = received_input(params.get("digits"))
            answer = await service.advance(session, runtime, row, received, key=key, channel="ivr")
    except ExocommsError as exc:
        log.warning("applet.refused", endpoint="input", ivr=ivr[:40], error=exc.code)
        return GOODBYE
    return Response(status_code=applets.passthru_decision(answer.proceed))


@router.get("/applets/{ivr}/gather")
async def applet_gather(ivr: str, request: Request, runtime: RuntimeDep) -> Response:
    """The current menu as Gather JSON (read-only)."""
    async with runtime.db.transaction() as session:
        row = await locate(session, runtime, ivr, _params(request))
    flow = await service.current_flow(row)
    if flow.gather is None:  # the IVR already ended: say the last words, accept no keys
        text = applets.greeting_text_for(flow) or "."
        flow = cf.CallFlow((cf.Gather(prompt=(cf.Say(text, flow.language),)),), flow.language)
    body = applets.to_wire(applets.gather_json_for(flow))
    return Response(body, media_type=applets.JSON_CONTENT_TYPE)


@router.get("/applets/{ivr}/greeting", operation_id="applets_ivr_greeting_get")
@router.head("/applets/{ivr}/greeting", operation_id="applets_ivr_greeting_head")
async def applet_greeting(ivr: str, request: Request, runtime: RuntimeDep) -> Response:
    """The confirmation, one-way message or goodbye as ``text/plain`` (HEAD: headers only)."""
    async with runtime.db.transaction() as session:
        row = await locate(session, runtime, ivr, _params(request))
    flow = await service.current_flow(row)
    text = applets.greeting_text_for(flow) if flow.gather is None else flow.spoken_text()
    if request.method == "HEAD":
        return Response(media_type=applets.GREETING_CONTENT_TYPE)
    return Response(text.encode("utf-8"), media_type=applets.GREETING_CONTENT_TYPE)


# ---------------------------------------------------------------- legacy ExoML


def _exoml_response(runtime: Runtime, ivr: str, answer: service.TurnAnswer, turn: int) -> Response:
    base = runtime.settings.public_base_url.rstrip("/")
    token = quote(runtime.settings.resolved_webhook_token, safe="")
    action = f"{base}/exotel/exoml/{quote(ivr, safe='')}/input?t={token}&turn={turn}"
    body = exoml.from_callflow(answer.flow, action_url=action).to_bytes()
    return Response(body, media_type=exoml.CONTENT_TYPE)


async def exoml_params(request: Request) -> dict[str, str]:
    """Query and form fields of an ExoML request (Exotel may GET or POST)."""
    params = _params(request)
    if request.method == "POST":
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


@router.get("/exoml/{ivr}/start", operation_id="exoml_ivr_start_get")
@router.post("/exoml/{ivr}/start", operation_id="exoml_ivr_start_post")
async def exoml_start(ivr: str, request: Request, runtime: RuntimeDep) -> Response:
    """The call was answered: ExoML of the first turn (Gather → ``…/input``)."""
    params = await exoml_params(request)
    async with runtime.db.transaction() as session:
        row = await locate(session, runtime, ivr, params)
        key = service.request_key("exoml-start", params)
        answer = await service.begin(session, runtime, row, key=key, channel="ivr")
        turn = int((row["ivr_state"] or {}).get("turn", 0))
    return _exoml_response(runtime, ivr, answer, turn)


@router.get("/exoml/{ivr}/input", operation_id="exoml_ivr_input_get")
@router.post("/exoml/{ivr}/input", operation_id="exoml_ivr_input_post")
async def exoml_input(ivr: str, request: Request, runtime: RuntimeDep) -> Response:
    """Keys from a Gather (``Digits``; none after the Redirect): ExoML of the next turn."""
    params = await exoml_params(request)
    raw = params.get("Digits", params.get("digits"))
    async with runtime.db.transaction() as session:
        row = await locate(session, runtime, ivr, params)
        key = service.request_key("exoml-input", params)
        answer = await service.advance(
            session, runtime, row, received_input(raw), key=key, channel="ivr"
        )
        turn = int((row["ivr_state"] or {}).get("turn", 0))
    return _exoml_response(runtime, ivr, answer, turn)
