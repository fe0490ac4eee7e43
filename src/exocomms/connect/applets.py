"""Exotel's App Bazaar applets call these (flows from :mod:`exocomms.connect.blueprint`).

* ``/exotel/applets/masked/…`` — a call to a virtual number: ``route`` (Passthru: 200 connect,
  302 ask a PIN), ``pin`` (Gather JSON), ``pin-check`` (Passthru: 200 connect, 302 message),
  ``connect`` (Connect dynamic URL), ``message`` (Greeting text), ``done`` (Passthru).
* ``/exotel/applets/inbound/…`` — an IVR that may end in a connection (inbound calls, and the
  missed-call callback's ``ordering`` IVR): ``answer``, ``menu``, ``keys``, ``say``, ``next``
  (200 connect, 302 end), ``connect``, ``done``.
* ``/exotel/applets/missed/call`` — Passthru on a missed-call number: records it, ``302``.

Step names differ from the outbound IVR's (``start``/``gather``/``input``/``greeting``) so they
never collide with ``/exotel/applets/{ivr}/…``. Every route checks the ``t`` token in constant
time. A request that cannot be answered gets a JSON error (401/404/422), which the flow takes
as its error branch ("sorry"); never a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from exocomms import phones
from exocomms.calls import repo as calls_repo
from exocomms.connect import inbound, service
from exocomms.connect.model import PURPOSE_INBOUND, Role, Target
from exocomms.errors import ExocommsError, NotFound, Unauthorized
from exocomms.events import DomainEvent
from exocomms.ivr import engine, flows
from exocomms.ivr import service as ivr_service
from exocomms.ivr.api import received_input, token_ok
from exocomms.ivr.model import State
from exocomms.logging import get_logger
from exocomms.runtime import Runtime
from exocomms.telephony import callflow as cf
from exocomms.telephony.exotel import applets
from exocomms.telephony.exotel.applets import AppletRequest
from exocomms.web.deps import RuntimeDep

log = get_logger(__name__)

router = APIRouter(prefix="/exotel/applets", tags=["connect"])


def parse(runtime: Runtime, params: dict[str, str]) -> AppletRequest:
    """Authenticate and parse an applet request.

    Raises:
        Unauthorized: bad or missing ``t``. ValidationError: a malformed request.
    """
    if not token_ok(runtime.settings, params.get("t")):
        raise Unauthorized("bad or missing callback token")
    return AppletRequest.from_query({k: v for k, v in params.items() if k != "digits"})


async def _row(runtime: Runtime, params: dict[str, str]) -> dict[str, Any]:
    request = parse(runtime, params)
    async with runtime.db.transaction() as session:
        row = await service.find_row(session, runtime, request)
    if row is None:
        raise NotFound("unknown CallSid", details={"callSid": request.call_sid})
    return row


def _passthru(proceed: bool) -> Response:
    return Response(status_code=applets.passthru_decision(proceed))


def _json(answer: dict[str, Any]) -> Response:
    return Response(applets.to_wire(answer), media_type=applets.JSON_CONTENT_TYPE)


def _text(request: Request, text: str) -> Response:
    if request.method == "HEAD":
        return Response(media_type=applets.GREETING_CONTENT_TYPE)
    return Response(text.encode("utf-8"), media_type=applets.GREETING_CONTENT_TYPE)


# ---------------------------------------------------------------- masked calls


@router.get("/masked/route")
async def masked_route(request: Request, runtime: RuntimeDep) -> Response:
    """Passthru: 200 → Connect (a direct route, or nobody: the message), 302 → ask a PIN."""
    parsed = parse(runtime, dict(request.query_params))
    async with runtime.db.transaction() as session:
        _, needs_pin = await service.masked_start(session, runtime, parsed)
    return _passthru(not needs_pin)


@router.get("/masked/pin")
async def masked_pin(request: Request, runtime: RuntimeDep) -> Response:
    """Gather JSON: the PIN prompt (digits up to the configured length, ``#`` ends)."""
    parse(runtime, dict(request.query_params))
    gather = cf.Gather(
        prompt=(cf.Say(service.PIN_PROMPT),),
        num_digits=runtime.settings.masking_pin_digits,
        timeout_seconds=10,
        retries=1,
    )
    return _json(applets.gather_json(gather))


@router.get("/masked/pin-check")
async def masked_pin_check(request: Request, runtime: RuntimeDep) -> Response:
    """Passthru after the PIN: 200 → Connect, 302 → the message (wrong or no PIN)."""
    params = dict(request.query_params)
    parsed = parse(runtime, params)
    try:
        digits = applets.parse_digits(params.get("digits"))
    except ExocommsError:
        digits = "?"  # junk is a wrong PIN, not a broken call
    async with runtime.db.transaction() as session:
        row = await service.find_row(session, runtime, parsed)
        if row is None:
            raise NotFound("unknown CallSid", details={"callSid": parsed.call_sid})
        ok = await service.masked_pin(session, runtime, row, digits)
    return _passthru(ok)


@router.get("/masked/connect")
async def masked_connect(request: Request, runtime: RuntimeDep) -> Response:
    """Connect dynamic URL: the counter-party, shown the virtual number (or nobody)."""
    row = await _row(runtime, dict(request.query_params))
    return _json(applets.connect_json(service.connect_flow(runtime, row)))


@router.get("/masked/message", operation_id="connect_masked_message_get")
@router.head("/masked/message", operation_id="connect_masked_message_head")
async def masked_message(request: Request, runtime: RuntimeDep) -> Response:
    """Greeting text when nobody is connected: unknown caller, wrong PIN, no answer."""
    row = await _row(runtime, dict(request.query_params))
    return _text(request, service.message_for(row))


@router.get("/masked/done")
@router.get("/inbound/done")
async def done(request: Request, runtime: RuntimeDep) -> Response:
    """The flow's last Passthru: record how the Connect went, end the call."""
    parsed = parse(runtime, dict(request.query_params))
    async with runtime.db.transaction() as session:
        row = await service.find_row(session, runtime, parsed)
        if row is None:
            raise NotFound("unknown CallSid", details={"callSid": parsed.call_sid})
        await service.done(session, runtime, row, parsed)
    return Response(status_code=200)


# ---------------------------------------------------------------- inbound IVR


async def answer(runtime: Runtime, params: dict[str, str]) -> Response:
    """Start the IVR of the call (creating the inbound call on first sight): 200 → menu,
    302 → a one-way message."""
    parsed = parse(runtime, params)
    key = ivr_service.request_key("answer", params)
    async with runtime.db.transaction() as session:
        row = await service.find_row(session, runtime, parsed)
        if row is not None:
            turn = await ivr_service.begin(session, runtime, row, key=key, channel="ivr")
            return _passthru(turn.proceed)
    phone = phones.try_normalize(parsed.call_from)
    caller = (
        await inbound.identify(runtime, phone)
        if phone
        else inbound.Caller(Role.UNKNOWN, parsed.call_from or "")
    )
    plan = await inbound.plan_for(runtime, caller)
    definition = flows.get(plan.ivr)
    language = cf.Language.parse(plan.language, default=cf.Language.HI)
    start = engine.start(definition, plan.context, language)
    async with runtime.db.transaction() as session:
        row = await service.find_row(session, runtime, parsed)
        if row is None:
            row = await service.insert_inbound(
                session,
                runtime,
                parsed,
                purpose=PURPOSE_INBOUND,
                meta={
                    "ivr": plan.ivr,
                    "party": plan.party,
                    "context": dict(start.state.context),
                    "start_events": [e.to_dict() for e in start.events],
                },
                language=language.value,
                ivr_state=start.state.to_dict(),
                order_id=plan.order_id,
                escalation_id=plan.escalation_id,
                name=caller.name[:200] or None,
                **plan.ids,
            )
            log.info("connect.inbound_started", call_id=row["id"], ivr=plan.ivr)
        turn = await ivr_service.begin(session, runtime, row, key=key, channel="ivr")
    return _passthru(turn.proceed)


@router.get("/inbound/answer")
async def inbound_answer(request: Request, runtime: RuntimeDep) -> Response:
    """Passthru when the call is answered (inbound: identify the caller first)."""
    return await answer(runtime, dict(request.query_params))


@router.get("/inbound/menu")
async def inbound_menu(request: Request, runtime: RuntimeDep) -> Response:
    """Gather JSON of the current menu."""
    row = await _row(runtime, dict(request.query_params))
    flow = await ivr_service.current_flow(row)
    if flow.gather is None:  # already over: say the last words, accept no keys
        text = applets.greeting_text_for(flow) or "."
        flow = cf.CallFlow((cf.Gather(prompt=(cf.Say(text, flow.language),)),), flow.language)
    return _json(applets.gather_json_for(flow))


@router.get("/inbound/keys")
async def inbound_keys(request: Request, runtime: RuntimeDep) -> Response:
    """Passthru after the Gather: apply the keys once; 200 asks again, 302 ends the menu."""
    params = dict(request.query_params)
    parsed = parse(runtime, params)
    async with runtime.db.transaction() as session:
        row = await service.find_row(session, runtime, parsed)
        if row is None or not isinstance(row["ivr_state"], dict):
            raise NotFound("unknown CallSid", details={"callSid": parsed.call_sid})
        key = ivr_service.request_key("keys", params)
        received = received_input(params.get("digits"))
        turn = await ivr_service.advance(session, runtime, row, received, key=key, channel="ivr")
        if not turn.replayed:
            await _choices(session, runtime, row)
    return _passthru(turn.proceed)


async def _choices(session: Any, runtime: Runtime, row: dict[str, Any]) -> None:
    """A finished menu that asked for a connection or a reorder: note it (and publish)."""
    values = State.from_dict(row["ivr_state"]).values
    if not (values.get("target") or values.get("reorder")):
        return
    if row["outcome"] is None:
        now = runtime.clock.now()
        await calls_repo.update_call(
            session, row["id"], {"outcome": "acknowledged", "updated_at": now}
        )
        row["outcome"] = "acknowledged"
    if values.get("reorder"):
        await runtime.events.publish(
            session,
            runtime,
            DomainEvent(
                name="order.reorder_requested",
                at=runtime.clock.now(),
                order_id=row["order_id"],
                party="customer",
                actor=row["phone"],
                data={"call_id": row["id"], "channel": "ivr", "customer_id": row["customer_id"]},
            ),
        )


@router.get("/inbound/say", operation_id="connect_inbound_say_get")
@router.head("/inbound/say", operation_id="connect_inbound_say_head")
async def inbound_say(request: Request, runtime: RuntimeDep) -> Response:
    """Greeting text: the confirmation, message or goodbye."""
    row = await _row(runtime, dict(request.query_params))
    flow = await ivr_service.current_flow(row)
    text = applets.greeting_text_for(flow) if flow.gather is None else flow.spoken_text()
    return _text(request, text or ".")


@router.get("/inbound/next")
async def inbound_next(request: Request, runtime: RuntimeDep) -> Response:
    """Passthru after the goodbye: 200 → Connect (the caller asked to talk), 302 → end."""
    params = dict(request.query_params)
    row = await _row(runtime, params)
    meta = row["meta"] or {}
    if "connect" in meta:  # decided already (a replay)
        return _passthru(True)
    raw = State.from_dict(row["ivr_state"]).values.get("target") if row["ivr_state"] else None
    if not raw:
        return _passthru(False)
    try:
        target = await inbound.resolve_target(runtime, row, Target(str(raw)))
    except ValueError:
        target = None
    async with runtime.db.transaction() as session:
        fresh = await service.find_row(session, runtime, parse(runtime, params))
        assert fresh is not None  # read above; calls are never deleted
        await service.update_meta(session, runtime, fresh, connect=target, target=str(raw))
    log.info("connect.inbound_target", call_id=row["id"], target=raw, found=target is not None)
    return _passthru(True)


@router.get("/inbound/connect")
async def inbound_connect(request: Request, runtime: RuntimeDep) -> Response:
    """Connect dynamic URL: the party the caller asked for (or nobody)."""
    row = await _row(runtime, dict(request.query_params))
    return _json(applets.connect_json(service.connect_flow(runtime, row)))


# ---------------------------------------------------------------- missed calls


@router.get("/missed/call")
async def missed_call(request: Request, runtime: RuntimeDep) -> Response:
    """Passthru on a missed-call number: record it (one callback per window); 302 hangs up."""
    parsed = parse(runtime, dict(request.query_params))
    async with runtime.db.transaction() as session:
        await service.register_missed(
            session,
            runtime,
            caller=parsed.call_from or "",
            called=parsed.call_to,
            call_sid=parsed.call_sid,
        )
    return _passthru(False)
