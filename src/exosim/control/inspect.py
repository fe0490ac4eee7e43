"""Inspection routes: every call, SMS and WhatsApp message with its events and callbacks,
and the WhatsApp "phone replies" hook."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from exosim.api.phonenum import normalise
from exosim.api.render import ExotelError
from exosim.api.state import api_state, get_sim
from exosim.api.wa_incoming import Incoming, receive
from exosim.control.serialize import record_json

router = APIRouter()


def _one(records: dict[str, Any], sid: str, what: str) -> dict[str, Any]:
    record = records.get(sid)
    if record is None:
        raise HTTPException(404, f"No {what} {sid[:64]!r}")
    return record_json(record)


@router.get("/calls")
async def list_calls(request: Request) -> list[dict[str, Any]]:
    """Every call, oldest first, with legs, digits, events and callback attempts."""
    return [record_json(c) for c in get_sim(request).store.calls.values()]


@router.get("/calls/{sid}")
async def get_call(request: Request, sid: str) -> dict[str, Any]:
    """One call in full."""
    return _one(get_sim(request).store.calls, sid, "call")


@router.get("/sms")
async def list_sms(request: Request) -> list[dict[str, Any]]:
    """Every SMS, oldest first, with events and callback attempts."""
    return [record_json(m) for m in get_sim(request).store.sms.values()]


@router.get("/sms/{sid}")
async def get_sms(request: Request, sid: str) -> dict[str, Any]:
    """One SMS in full."""
    return _one(get_sim(request).store.sms, sid, "SMS")


@router.get("/whatsapp")
async def list_whatsapp(request: Request) -> list[dict[str, Any]]:
    """Every WhatsApp message (outbound and inbound), oldest first."""
    return [record_json(m) for m in get_sim(request).store.whatsapp.values()]


@router.get("/whatsapp/{sid}")
async def get_whatsapp(request: Request, sid: str) -> dict[str, Any]:
    """One WhatsApp message in full."""
    return _one(get_sim(request).store.whatsapp, sid, "WhatsApp message")


class IncomingIn(BaseModel):
    """A virtual phone writes to a business number: text or a button reply."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from", min_length=1, max_length=32)
    to: str = Field(min_length=1, max_length=32)
    text: str | None = Field(default=None, max_length=4096)
    button_payload: str | None = Field(default=None, max_length=1000)
    button_text: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _has_content(self) -> IncomingIn:
        if self.text is None and self.button_payload is None:
            raise ValueError("give text or button_payload")
        return self


@router.post("/whatsapp/incoming", status_code=202)
async def whatsapp_incoming(request: Request, body: IncomingIn) -> dict[str, Any]:
    """Deliver an ``incoming_message`` callback to the business's WhatsApp URL."""
    numbers = {}
    for key, raw in (("from", body.from_), ("to", body.to)):
        number = normalise(raw)
        if number is None:
            raise HTTPException(422, f"{key} is not a phone number: {raw!r}")
        numbers[key] = number
    incoming = Incoming(
        numbers["from"], numbers["to"], body.text, body.button_payload, body.button_text
    )
    try:
        message = receive(api_state(request), incoming)
    except ExotelError as exc:
        raise HTTPException(exc.status, exc.message) from exc
    return {"sid": message.sid, "url": message.status_callback}
