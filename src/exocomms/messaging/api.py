"""Messaging callbacks from Exotel (authenticated by the token ``t`` in the URL).

* ``POST /exotel/callbacks/sms?t=`` — form-encoded SMS status (``SmsSid, Status, …``):
  ``sent`` → delivered, ``failed*`` → failed, ``submitted`` → sent.
* ``POST /exotel/callbacks/whatsapp?t=`` — JSON ``{"whatsapp": {"messages": [...]}}`` with
  delivery reports (``callback_type: dlr``) and incoming messages (``incoming_message``: a reply
  or a button press; it acknowledges the escalation of the message it answers).

``401`` bad token, ``422`` garbage; a report about a message we do not know is ignored (200),
because Exotel would retry a 4xx for nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from exocomms import phones
from exocomms.calls.api import callback_fields
from exocomms.errors import Unauthorized, ValidationError
from exocomms.ivr.api import token_ok
from exocomms.logging import get_logger
from exocomms.messaging import repo, service
from exocomms.messaging.model import MessageStatus
from exocomms.telephony.exotel.wire import parse_time
from exocomms.web.deps import RuntimeDep

log = get_logger(__name__)

router = APIRouter(prefix="/exotel/callbacks", tags=["messaging"])

SMS_STATUS = {
    "submitted": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.DELIVERED,
    "delivered": MessageStatus.DELIVERED,
    "failed": MessageStatus.FAILED,
    "failed_dnd": MessageStatus.FAILED,
}
WHATSAPP_STATUS = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "seen": MessageStatus.READ,
    "failed": MessageStatus.FAILED,
}
WHATSAPP_CODES = {30001: "sent", 30002: "delivered", 30003: "read", 30010: "failed"}


def _authenticate(request: Request, runtime: Any) -> None:
    if not token_ok(runtime.settings, request.query_params.get("t")):
        raise Unauthorized("bad or missing callback token")


@router.post("/sms")
async def sms_callback(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Apply an SMS delivery status (moves forward only; duplicates change nothing)."""
    _authenticate(request, runtime)
    fields = await callback_fields(request)
    sid = str(fields.get("SmsSid") or "").strip()
    status = SMS_STATUS.get(str(fields.get("Status") or "").strip().lower())
    if not sid or len(sid) > 64 or status is None:
        raise ValidationError("SMS callback needs SmsSid and a known Status")
    async with runtime.db.transaction() as session:
        row = await repo.get_message(session, sid=sid)
        if row is None:
            custom = str(fields.get("CustomField") or "")[:32]
            row = await repo.get_message(session, message_id=custom) if custom else None
            if row is None:
                log.warning("sms.unknown_sid")
                return {"applied": False}
            if row["provider_sid"] is None:  # the callback beat the send job's commit
                await repo.update_message(session, row["id"], {"provider_sid": sid})
        if row["status"] == MessageStatus.QUEUED.value:
            await service.set_status(session, runtime, row, MessageStatus.SENT)
        detail = str(fields.get("DetailedStatus") or "") or None
        changed = await service.set_status(
            session,
            runtime,
            row,
            status,
            error=detail if status is MessageStatus.FAILED else None,
            at=parse_time(fields.get("DateSent")),
        )
    return {"applied": changed}


def _items(data: dict[str, Any]) -> list[dict[str, Any]]:
    wrapper = data.get("whatsapp")
    items = wrapper.get("messages") if isinstance(wrapper, dict) else None
    if not isinstance(items, list):
        raise ValidationError("WhatsApp callback needs whatsapp.messages")
    return [item for item in items[:100] if isinstance(item, dict)]


def _dlr_status(item: dict[str, Any]) -> MessageStatus | None:
    code = item.get("exo_status_code")
    name = WHATSAPP_CODES.get(code) if isinstance(code, int) else None
    if name is None:
        detail = str(item.get("exo_detailed_status") or item.get("status") or "").lower()
        name = next((k for k in WHATSAPP_STATUS if k in detail), None)
    return WHATSAPP_STATUS.get(name) if name else None


def _reply(content: Any) -> tuple[str | None, str | None]:
    """(text, button payload) of an incoming message's content."""
    if not isinstance(content, dict):
        return None, None
    kind = content.get("type")
    if kind == "button" and isinstance(content.get("button"), dict):
        button = content["button"]
        payload = button.get("payload")
        text = button.get("text")
        return (str(text)[:500] if text else None), (str(payload)[:200] if payload else None)
    if kind == "interactive" and isinstance(content.get("interactive"), dict):
        reply = content["interactive"].get("button_reply")
        if isinstance(reply, dict):
            return str(reply.get("title") or "")[:500] or None, str(reply.get("id") or "") or None
    text = content.get("text")
    if isinstance(text, dict):
        body = text.get("body")
        return (str(body)[:500] if body else None), None
    return None, None


@router.post("/whatsapp")
async def whatsapp_callback(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Delivery reports and incoming replies/buttons."""
    _authenticate(request, runtime)
    fields = await callback_fields(request)
    items = _items(fields)
    applied = 0
    async with runtime.db.transaction() as session:
        for item in items:
            kind = item.get("callback_type")
            if kind == "dlr":
                sid = str(item.get("sid") or "")[:64]
                status = _dlr_status(item)
                row = await repo.get_message(session, sid=sid) if sid else None
                if row is None and isinstance(item.get("custom_data"), str):
                    row = await repo.get_message(session, message_id=item["custom_data"][:32])
                if row is None or status is None:
                    continue
                if row["status"] == MessageStatus.QUEUED.value and status is not MessageStatus.SENT:
                    await service.set_status(session, runtime, row, MessageStatus.SENT)
                applied += await service.set_status(session, runtime, row, status)
            elif kind == "incoming_message":
                phone = phones.try_normalize("+" + str(item.get("from") or "").lstrip("+"))
                text, button = _reply(item.get("content"))
                if phone is None or (text is None and button is None):
                    continue
                row = await service.record_reply(
                    session, runtime, phone=phone, text=text, button=button
                )
                applied += row is not None
    return {"applied": applied}
