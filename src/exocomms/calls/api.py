"""Call routes: Exotel's status callback, and reading/retrying calls (admin).

``POST /exotel/callbacks/status?t=<token>`` accepts multipart, form-encoded or JSON bodies
(Exotel sends multipart by default). ``401`` bad token, ``422`` garbage (no CallSid/Status),
``404`` a CallSid we never placed, ``200 {"applied": bool}`` otherwise (a duplicate is 200 too,
so Exotel stops retrying). The slow consequences (retries) are jobs.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.calls import repo
from exocomms.calls.model import CallStatus
from exocomms.calls.service import apply_event
from exocomms.calls.terminal import finish_call, queue_attempt
from exocomms.errors import Conflict, NotFound, Unauthorized, ValidationError
from exocomms.ivr import service as ivr_service
from exocomms.ivr.api import token_ok
from exocomms.runtime import Runtime
from exocomms.telephony.exotel.callbacks import parse_status_callback
from exocomms.web.deps import RuntimeDep, SessionDep, require_admin

router = APIRouter(tags=["calls"])
admin = APIRouter(prefix="/calls", tags=["calls"], dependencies=[Depends(require_admin)])

MAX_BODY_BYTES = 64_000


async def callback_fields(request: Request) -> dict[str, Any]:
    """The callback's fields from JSON, form or multipart (flattened; never trusted blindly).

    Raises:
        ValidationError: unreadable or oversized body.
    """
    content_type = request.headers.get("content-type", "").lower()
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ValidationError("callback body too large")
    if "json" in content_type:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise ValidationError("callback body is not JSON") from None
        if not isinstance(data, dict):
            raise ValidationError("callback body must be a JSON object")
        return data
    try:
        form = await request.form()
    except Exception as exc:  # any parser failure is the sender's garbage
        raise ValidationError("unreadable form body") from exc
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/exotel/callbacks/status")
async def status_callback(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Apply an Exotel call status callback at most once."""
    if not token_ok(runtime.settings, request.query_params.get("t")):
        raise Unauthorized("bad or missing callback token")
    fields = await callback_fields(request)
    now = runtime.clock.now()
    parsed = parse_status_callback(fields, now)
    async with runtime.db.transaction() as session:
        row = await ivr_service.find_call(
            session, runtime, call_sid=parsed.call_sid, custom_field=parsed.custom_field
        )
        if row is None:
            raise NotFound("unknown CallSid", details={"callSid": parsed.call_sid})
        applied = await apply_event(
            session,
            call_sid=parsed.call_sid,
            event=parsed.event,
            dedupe_key=parsed.dedupe_key,
            payload={k: str(v)[:500] for k, v in fields.items() if isinstance(k, str)},
            now=now,
        )
        if applied.changed and applied.state.status.terminal:
            await finish_call(session, runtime, applied.call_id)
    return {"applied": applied.changed, "duplicate": applied.duplicate}


# ---------------------------------------------------------------- reading and retrying


class CallOut(BaseModel):
    """A call record (PRODUCT.md §1)."""

    id: str
    purpose: str
    status: str
    outcome: str | None
    order_id: str | None
    vendor_id: str | None
    rider_id: str | None
    customer_id: str | None
    phone: str
    name: str | None
    call_sid: str | None
    digits: str | None
    prep_time_minutes: int | None
    rejection_reason: str | None
    recording_url: str | None
    language: str
    attempt: int
    max_attempts: int
    answered_by: str | None
    initiated_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    duration: int | None
    escalation_id: str | None
    ivr: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> CallOut:
        """From a ``voice_calls`` row."""
        values = {name: row.get(name) for name in cls.model_fields if name != "ivr"}
        return cls(**values, ivr=(row.get("meta") or {}).get("ivr"))


class CallPage(BaseModel):
    """Calls, newest first."""

    items: list[CallOut]


@admin.get("", response_model=CallPage)
async def list_calls(
    session: SessionDep,
    order_id: Annotated[str | None, Query(max_length=64)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[CallStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CallPage:
    """Calls filtered by order, phone and status."""
    rows = await repo.list_calls(
        session,
        order_id=order_id,
        phone=phone,
        status=status.value if status else None,
        limit=limit,
    )
    return CallPage(items=[CallOut.of(r) for r in rows])


@admin.get("/{call_id}", response_model=CallOut)
async def get_call(call_id: str, session: SessionDep) -> CallOut:
    """One call."""
    row = await repo.get_call(session, call_id=call_id[:32])
    if row is None:
        raise NotFound(f"call {call_id[:32]} not found")
    return CallOut.of(row)


@admin.post("/{call_id}/retry", status_code=202, response_model=CallOut)
async def retry_call(call_id: str, session: SessionDep, runtime: RuntimeDep) -> CallOut:
    """Place a finished, unsuccessful call again now (a new attempt; 409 otherwise)."""
    new_id = await retry_now(session, runtime, call_id[:32])
    row = await repo.get_call(session, call_id=new_id)
    assert row is not None
    return CallOut.of(row)


async def retry_now(session: AsyncSession, runtime: Runtime, call_id: str) -> str:
    """Queue another attempt of ``call_id`` now.

    Raises:
        NotFound: no such call. Conflict: the call is not over, or it succeeded.
    """
    row = await repo.get_call(session, call_id=call_id, lock=True)
    if row is None:
        raise NotFound(f"call {call_id} not found")
    if not CallStatus(row["status"]).terminal:
        raise Conflict("the call is not over yet")
    if row["outcome"] in ("accepted", "rejected", "acknowledged"):
        raise Conflict("the call already has a decision")
    return await queue_attempt(session, runtime, row, 0.0, manual=True)
