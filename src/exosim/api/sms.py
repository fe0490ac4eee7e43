"""v1 SMS routes: ``Sms/send``, ``Sms/bulksend``, ``SMS/Messages/<sid>`` and delivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from exosim.api.auth import exotel_request
from exosim.api.forms import Params, read_params
from exosim.api.phonenum import display, is_indian_mobile
from exosim.api.render import ExotelError, Fmt, exotel_time, respond, strip_json, to_json
from exosim.api.sms_build import (
    MAX_RECIPIENTS,
    STATUS_DETAIL,
    SmsDraft,
    build_messages,
    sms_fields,
)
from exosim.api.state import ApiState
from exosim.model import Event, SmsMessage, SmsStatus
from exosim.runtime import Sim

router = APIRouter(tags=["sms"])
BASE = "/v1/Accounts/{account_sid}"
SUBMIT_AFTER = 1.0  # simulated seconds from queued to submitted
DELIVER_AFTER = 1.0  # ... and from submitted to the terminal status
PRICE_PER_UNIT = "0.200"  # INR per SMS unit; an emulator choice


def _draft(params: Params) -> SmsDraft:
    return SmsDraft(
        sender=params.get("From"),
        recipients=params.get_list("To"),
        body=params.get("Body"),
        encoding=params.get("EncodingType"),
        priority=params.get("Priority"),
        sms_type=params.get("SmsType"),
        entity_id=params.get("DltEntityId"),
        template_id=params.get("DltTemplateId"),
        custom_field=params.get("CustomField"),
        status_callback=params.get("StatusCallback"),
    )


def _answer(messages: list[SmsMessage], fmt: Fmt, single: bool) -> Response:
    if single:
        return respond({"SMSMessage": sms_fields(messages[0], fmt)}, fmt)
    # Bulk: a list of {"SMSMessage": …} (in XML, repeated <SMSMessage> elements).
    return respond([{"SMSMessage": sms_fields(m, fmt)} for m in messages], fmt)


def _accept(api: ApiState, messages: list[SmsMessage]) -> None:
    for message in messages:
        api.sim.store.sms[message.sid] = message
        message.events.append(Event(message.date_created, "sms.queued", {}))
        api.spawn(_deliver(api.sim, message))


def schedule_delivery(sim: Sim, message: SmsMessage) -> None:
    """Deliver an SMS the call engine created (SMS applet) exactly as an API SMS.

    ``message`` must already be in ``store.sms`` with ``status="queued"``; it moves to
    ``submitted`` and its terminal status on the emulator clock and, if it has a
    ``status_callback``, calls back. The work ends with the engine (reset or shutdown).
    """
    message.events.append(Event(message.date_created, "sms.queued", {}))
    sim.engine.spawn(_deliver(sim, message))


def _outcome(sim: Sim, message: SmsMessage) -> SmsStatus:
    """Where the message ends: DND filters promotional SMS only (an emulator decision)."""
    if not is_indian_mobile(message.to_number) and message.to_number.startswith("+91"):
        return "failed"  # landlines and malformed Indian numbers cannot take SMS
    if message.sms_type == "promotional" and message.to_number in sim.store.dnd_numbers:
        return "failed_dnd"
    return "sent"


def _set_status(sim: Sim, message: SmsMessage, status: SmsStatus) -> None:
    now = sim.store.clock.now()
    message.status = status
    message.detailed_status_code, message.detailed_status = STATUS_DETAIL[status]
    message.date_updated = now
    message.events.append(Event(now, f"sms.{status}", {"code": message.detailed_status_code}))


async def _deliver(sim: Sim, message: SmsMessage) -> None:
    """Move a queued message to its terminal status on the clock, then call back."""
    # Deadlines count from creation, so one manual-clock advance can run every step.
    clock = sim.store.clock
    await clock.sleep_until(message.date_created + timedelta(seconds=SUBMIT_AFTER))
    _set_status(sim, message, "submitted")
    await clock.sleep_until(message.date_created + timedelta(seconds=SUBMIT_AFTER + DELIVER_AFTER))
    status = _outcome(sim, message)
    _set_status(sim, message, status)
    message.date_sent = clock.now()
    per_unit = float(PRICE_PER_UNIT) if status == "sent" else 0.0
    message.price = f"{per_unit * message.sms_units:.3f}"
    if message.status_callback is None:
        return
    fields: list[tuple[str, str]] = [
        ("SmsSid", message.sid),
        ("To", display(message.to_number)),
        ("Status", message.status),
        ("SmsUnits", str(message.sms_units)),
        ("DetailedStatus", message.detailed_status or ""),
        ("DetailedStatusCode", str(message.detailed_status_code)),
        ("DateSent", exotel_time(message.date_sent) or ""),
    ]
    if message.custom_field is not None:
        fields.append(("CustomField", message.custom_field))
    sim.sender.send(
        endpoint="sms",
        url=message.status_callback,
        body="form",
        fields=fields,
        log=message.callbacks,
    )


@router.post(BASE + "/Sms/send")
@router.post(BASE + "/Sms/send.json")
async def send(request: Request, account_sid: str) -> Response:
    """Send one SMS, or the same SMS to several ``To`` (static bulk)."""
    ctx = await exotel_request(request, account_sid, "Sms/send", "sms")
    params = await read_params(request)
    draft = _draft(params)
    messages = build_messages(ctx.sim.store, ctx.account, draft, ctx.sim.store.clock.now())
    _accept(ctx.api, messages)
    return _answer(messages, ctx.fmt, single=len(draft.recipients) == 1)


def _bulk_items(params: Params) -> tuple[list[dict[str, Any]], bool]:
    """The per-message items and whether they came as DOC-NEW JSON ``{"sms": […]}``."""
    body = params.json_body
    if body is not None:
        items = body.get("sms") if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ExotelError(400, 'JSON body must be {"sms": [{"From", "To", "Body", …}]}')
        return items, True
    return [dict(item) for item in params.get_objects("Messages")], False


@router.post(BASE + "/Sms/bulksend")
@router.post(BASE + "/Sms/bulksend.json")
async def bulksend(request: Request, account_sid: str) -> Response:
    """Different SMS to different numbers: ``Messages[i][To|Body|…]`` or JSON ``sms``."""
    ctx = await exotel_request(request, account_sid, "Sms/bulksend", "sms")
    params = await read_params(request)
    items, is_json = _bulk_items(params)
    if not items:
        raise ExotelError(400, "Missing parameter: Messages (e.g. Messages[0][To])")
    if len(items) > MAX_RECIPIENTS:
        raise ExotelError(400, f"At most {MAX_RECIPIENTS} messages per request")
    outer = _draft(params)
    if is_json and isinstance(params.json_body, dict):
        outer = SmsDraft.from_mapping(params.json_body, outer)
    now = ctx.sim.store.clock.now()
    messages: list[SmsMessage] = []
    for index, item in enumerate(items):
        try:
            draft = SmsDraft.from_mapping(item, outer)
            messages += build_messages(ctx.sim.store, ctx.account, draft, now)
        except ExotelError as exc:  # nothing is sent unless every message is valid
            raise ExotelError(400, f"Messages[{index}]: {exc.message}") from exc
    _accept(ctx.api, messages)
    if is_json:  # DOC-NEW clients read {"SMSMessages": […]}
        body = {"SMSMessages": [sms_fields(m, "json") for m in messages]}
        return Response(to_json(body), media_type="application/json")
    return _answer(messages, ctx.fmt, single=False)


@router.get(BASE + "/SMS/Messages/{sms_sid}")
@router.get(BASE + "/Sms/Messages/{sms_sid}")
async def sms_detail(request: Request, account_sid: str, sms_sid: str) -> Response:
    """One message's current state."""
    ctx = await exotel_request(request, account_sid, "SMS/Messages", "sms")
    sid = strip_json(sms_sid)
    message = ctx.sim.store.sms.get(sid)
    if message is None or message.account_sid != ctx.account.sid:
        raise ExotelError(404, f"SMS {sid[:64]!r} not found")
    return respond({"SMSMessage": sms_fields(message, ctx.fmt)}, ctx.fmt)
