"""v2 WhatsApp: ``POST /v2/accounts/<sid>/messages``, delivery reports and replies (§7).

Callbacks are JSON ``{"whatsapp": {"messages": [...]}}``: ``callback_type`` ``dlr`` for
sent → delivered → read, ``incoming_message`` for replies. Numbers are written as digits
without ``+`` and timestamps as ISO 8601 with the IST offset, as captured payloads show.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from exosim.api.auth import exotel_request
from exosim.api.forms import read_params
from exosim.api.phonenum import is_indian_mobile, normalise
from exosim.api.render import IST, ExotelError, to_json, v2_envelope
from exosim.api.state import ApiState
from exosim.model import Event, WhatsAppMessage, new_sid

router = APIRouter(tags=["whatsapp"])
CONTENT_TYPES = ("text", "template", "interactive", "image", "document", "audio", "video")
STEP_SECONDS = 1.0  # simulated seconds between accepted → sent → delivered → read
MAX_MESSAGES = 100
# Delivery report codes. EX_MESSAGE_DELIVERED/30002 and EX_MESSAGE_SEEN appear in captured
# payloads; the other numbers are this emulator's assumption.
DLR: dict[str, tuple[int, str, str]] = {
    "sent": (30001, "EX_MESSAGE_SENT", "Message sent"),
    "delivered": (30002, "EX_MESSAGE_DELIVERED", "Message delivered"),
    "read": (30003, "EX_MESSAGE_SEEN", "Message seen"),
    "failed": (30010, "EX_INVALID_REQUEST", "Recipient is not a valid WhatsApp number"),
}


def wa_number(number: str) -> str:
    """WhatsApp's spelling of an E.164 number: digits only (``919876543210``)."""
    return number.lstrip("+")


def wa_time(api: ApiState) -> str:
    """Now as ``2024-01-15T10:30:05.000+05:30``."""
    now = api.sim.store.clock.now().astimezone(IST)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+05:30"


def _text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ExotelError(400, f"{name} must be a string")
    return value


def _message(item: object, index: int, defaults: dict[str, str | None]) -> dict[str, Any]:
    """One validated outbound message (raises ExotelError naming what is wrong)."""
    where = f"whatsapp.messages[{index}]"
    if not isinstance(item, dict):
        raise ExotelError(400, f"{where} must be an object")
    numbers = {}
    for key in ("from", "to"):
        raw = _text(item.get(key), f"{where}.{key}")
        if raw is None:
            raise ExotelError(400, f"{where}.{key} is mandatory")
        number = normalise(raw if raw.startswith(("+", "0")) or len(raw) == 10 else "+" + raw)
        if number is None:
            raise ExotelError(400, f"{where}.{key} is not a valid phone number")
        numbers[key] = number
    content = item.get("content")
    if not isinstance(content, dict) or content.get("type") not in CONTENT_TYPES:
        raise ExotelError(400, f"{where}.content.type must be one of {', '.join(CONTENT_TYPES)}")
    if content["type"] == "text":
        text = content.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("body"), str) or not text["body"]:
            raise ExotelError(400, f"{where}.content.text.body is mandatory for text messages")
    elif not isinstance(content.get(content["type"]), dict):
        raise ExotelError(400, f"{where}.content.{content['type']} must be an object")
    return {
        "from": numbers["from"],
        "to": numbers["to"],
        "content": content,
        "custom_data": _text(item.get("custom_data"), f"{where}.custom_data")
        or defaults["custom_data"],
        "status_callback": defaults["status_callback"],
    }


def _defaults(body: dict[str, Any], channel: dict[str, Any]) -> dict[str, str | None]:
    """custom_data/status_callback: the channel level wins over the top level."""
    values: dict[str, str | None] = {}
    for key in ("custom_data", "status_callback"):
        values[key] = _text(channel.get(key), f"whatsapp.{key}") or _text(body.get(key), key)
    callback = values["status_callback"]
    if callback is not None and not callback.lower().startswith(("http://", "https://")):
        raise ExotelError(400, "status_callback must be an http or https URL")
    return values


def _result(exc: ExotelError) -> dict[str, Any]:
    return {
        "code": exc.status,
        "status": "failure",
        "error_data": {"code": exc.code, "description": exc.message, "message": exc.message},
    }


def dlr_payload(api: ApiState, message: WhatsAppMessage) -> dict[str, Any]:
    """The delivery report for the message's current status."""
    code, detail, description = DLR[message.status]
    item: dict[str, Any] = {
        "callback_type": "dlr",
        "sid": message.sid,
        "to": wa_number(message.to_number),
        "from": wa_number(message.from_number),
        "exo_status_code": code,
        "exo_detailed_status": detail,
        "description": description,
        "timestamp": wa_time(api),
        "custom_data": message.custom_data,
    }
    return {"whatsapp": {"messages": [item]}}


async def _progress(api: ApiState, message: WhatsAppMessage) -> None:
    """accepted → sent → delivered → read (or failed), one DLR per step, then any reply."""
    from exosim.api.wa_incoming import schedule_auto_reply

    clock = api.sim.store.clock
    # Indian landlines (and malformed Indian numbers) have no WhatsApp.
    valid = is_indian_mobile(message.to_number) or not message.to_number.startswith("+91")
    steps = ["sent", "delivered", "read"] if valid else ["failed"]
    for step, status in enumerate(steps, start=1):
        # Deadlines count from creation, so one manual-clock advance can run every step.
        await clock.sleep_until(message.date_created + timedelta(seconds=step * STEP_SECONDS))
        message.status = status
        message.events.append(Event(clock.now(), f"whatsapp.{status}", {}))
        if message.status_callback:
            api.sim.sender.send(
                endpoint="whatsapp",
                url=message.status_callback,
                body="json",
                fields=dlr_payload(api, message),
                log=message.callbacks,
            )
        if status == "delivered":
            schedule_auto_reply(api, message)


@router.post("/v2/accounts/{account_sid}/messages")
async def send_messages(request: Request, account_sid: str) -> Response:
    """Send WhatsApp messages; 202 with one sid per message (207 when some fail)."""
    ctx = await exotel_request(request, account_sid, "messages", None)
    params = await read_params(request)
    body = params.json_body
    if not isinstance(body, dict):
        raise ExotelError(400, "Body must be a JSON object")
    channel = body.get("whatsapp")
    if not isinstance(channel, dict):
        raise ExotelError(400, "at least one channel is mandatory", code=1001)
    items = channel.get("messages")
    if not isinstance(items, list) or not items:
        raise ExotelError(400, "whatsapp.messages must be a non-empty list")
    if len(items) > MAX_MESSAGES:
        raise ExotelError(400, f"At most {MAX_MESSAGES} messages per request")
    defaults = _defaults(body, channel)
    results: list[dict[str, Any]] = []
    now = ctx.sim.store.clock.now()
    for index, item in enumerate(items):
        try:
            fields = _message(item, index, defaults)
        except ExotelError as exc:
            results.append(_result(exc))
            continue
        message = WhatsAppMessage(
            sid=new_sid(),
            account_sid=ctx.account.sid,
            from_number=fields["from"],
            to_number=fields["to"],
            content=fields["content"],
            date_created=now,
            custom_data=fields["custom_data"],
            status_callback=fields["status_callback"],
        )
        message.events.append(Event(now, "whatsapp.accepted", {}))
        ctx.sim.store.whatsapp[message.sid] = message
        ctx.api.spawn(_progress(ctx.api, message))
        results.append({"code": 202, "status": "success", "data": {"sid": message.sid}})
    success = sum(1 for r in results if r["status"] == "success")
    failed = len(results) - success
    http_code = 202 if not failed else (207 if success else 400)
    envelope = v2_envelope(
        {"whatsapp": {"messages": results}}, http_code, success=success, failed=failed
    )
    return Response(to_json(envelope), status_code=http_code, media_type="application/json")
