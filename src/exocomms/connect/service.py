"""Connect use cases: masked-call routing through the applets, finishing inbound calls, and
missed calls (one callback per caller and window).

Inbound calls (masked calls, inbound IVR) get a ``voice_calls`` row on first sight, keyed by
``CallSid``. Exotel sends no status callback for them, so the flow's last Passthru (``done``)
ends the row, and a ``connect.close`` job ends any row whose caller hung up before reaching it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms import phones
from exocomms.calls import repo as calls_repo
from exocomms.calls.model import CallStatus
from exocomms.connect import repo
from exocomms.connect.model import PURPOSE_MASKED, within_window
from exocomms.errors import ValidationError
from exocomms.ivr import service as ivr_service
from exocomms.ivr.outcomes import publish
from exocomms.logging import get_logger
from exocomms.masking import service as masking
from exocomms.masking.model import Connect, PinRequired, Route
from exocomms.runtime import Runtime
from exocomms.telephony import callflow as cf
from exocomms.telephony.exotel.applets import AppletRequest

log = get_logger(__name__)

CLOSE_JOB = "connect.close"
CALLBACK_JOB = "connect.missed_callback"
CLOSE_MARGIN_SECONDS = 300.0  # after the longest possible conversation, close what is left

# Callers of masked numbers may not share our language: both Hindi and English.
MESSAGES = {
    "unknown": "क्षमा करें, यह नंबर आपके किसी ऑर्डर से जुड़ा नहीं है। "
    "Sorry, this number is not linked to any of your orders.",
    "wrong_pin": "क्षमा करें, यह पिन सही नहीं है। Sorry, that PIN is not valid.",
    "no_answer": "जिन्हें आप कॉल कर रहे हैं, वे अभी उपलब्ध नहीं हैं। कृपया बाद में कोशिश करें। "
    "The person you are calling is not available. Please try again later.",
}
PIN_PROMPT = "कृपया अपना पिन डालें और हैश दबाएँ। Please enter your PIN, then press hash."


# -- inbound call rows ---------------------------------------------------------------------
async def find_row(
    session: AsyncSession, runtime: Runtime, request: AppletRequest
) -> dict[str, Any] | None:
    """The call an applet request is about (by sid, or our id in ``CustomField``), locked."""
    return await ivr_service.find_call(
        session, runtime, call_sid=request.call_sid, custom_field=request.custom_field
    )


async def insert_inbound(
    session: AsyncSession,
    runtime: Runtime,
    request: AppletRequest,
    *,
    purpose: str,
    meta: dict[str, Any],
    language: str = "hi",
    **columns: Any,
) -> dict[str, Any]:
    """Record an inbound call (answered by our flow) and schedule its safety close."""
    now = runtime.clock.now()
    caller = phones.try_normalize(request.call_from) or (request.call_from or "unknown")[:20]
    call_id = uuid.uuid4().hex
    values: dict[str, Any] = {
        "id": call_id,
        "purpose": purpose,
        "status": CallStatus.IN_PROGRESS.value,
        "direction": "inbound",
        "phone": caller,
        "caller_id": (request.call_to or "")[:20] or None,
        "call_sid": request.call_sid,
        "language": language,
        "attempt": 1,
        "max_attempts": 1,
        "initiated_at": now,
        "answered_at": now,
        "meta": {"mode": "inbound", **meta},
        "created_at": now,
        "updated_at": now,
        **columns,
    }
    await calls_repo.insert_call(session, values)
    limit = runtime.settings.masked_call_time_limit_seconds + CLOSE_MARGIN_SECONDS
    await runtime.queue.enqueue(
        session,
        CLOSE_JOB,
        {"call_id": call_id},
        key=f"{CLOSE_JOB}:{call_id}",
        run_at=now + timedelta(seconds=limit),
    )
    row = await calls_repo.get_call(session, call_id=call_id)
    assert row is not None
    return row


async def update_meta(
    session: AsyncSession, runtime: Runtime, row: dict[str, Any], **changes: Any
) -> None:
    """Merge ``changes`` into the row's ``meta`` (and the in-memory row)."""
    meta = {**(row["meta"] or {}), **changes}
    now = runtime.clock.now()
    await calls_repo.update_call(session, row["id"], {"meta": meta, "updated_at": now})
    row["meta"] = meta


async def finish_inbound(
    session: AsyncSession, runtime: Runtime, row: dict[str, Any], *, outcome: str | None
) -> bool:
    """End an inbound call once: ``completed``, the IVR's hang-up applied, ``call.finished``.

    Returns:
        False when it had already ended (a replayed ``done`` or a late close job).
    """
    if row["direction"] != "inbound" or (row["meta"] or {}).get("finished"):
        return False
    await ivr_service.hang_up_if_mid_ivr(session, runtime, row)
    fresh = await calls_repo.get_call(session, call_id=row["id"])
    assert fresh is not None
    now = runtime.clock.now()
    answered = fresh["answered_at"] or now
    changes: dict[str, Any] = {
        "status": CallStatus.COMPLETED.value,
        "ended_at": now,
        "duration": max(0, int((now - answered).total_seconds())),
        "meta": {**(fresh["meta"] or {}), "finished": True},
        "updated_at": now,
    }
    if fresh["outcome"] is None and outcome:
        changes["outcome"] = outcome
    await calls_repo.update_call(session, row["id"], changes)
    fresh.update(changes)
    row.update(changes)
    await publish(
        session,
        runtime,
        fresh,
        "call.finished",
        {"purpose": fresh["purpose"], "status": fresh["status"], "outcome": fresh["outcome"]},
    )
    return True


# -- masked calls -------------------------------------------------------------------------
def _connect_meta(route: Connect) -> dict[str, Any]:
    return {
        "decision": "connect",
        "connect": {"to": route.to, "caller_id": route.virtual_number},
        "session_id": route.session_id,
        "kind": route.kind.value,
    }


async def masked_start(
    session: AsyncSession, runtime: Runtime, request: AppletRequest
) -> tuple[dict[str, Any], bool]:
    """Route a call to a virtual number (once per ``CallSid``).

    Returns:
        The call row, and True when the caller needs a PIN (Passthru 302).
    """
    row = await find_row(session, runtime, request)
    if row is not None:
        return row, (row["meta"] or {}).get("decision") == "pin"
    if not request.call_to:
        raise ValidationError("CallTo (the virtual number) is missing")
    now = runtime.clock.now()
    route: Route = await masking.route(
        session, caller=request.call_from or "", virtual_number=request.call_to, now=now
    )
    meta: dict[str, Any] = {"virtual_number": route.virtual_number}
    order_id = None
    if isinstance(route, Connect):
        meta.update(_connect_meta(route))
        order_id = route.order_id
    elif isinstance(route, PinRequired):
        meta["decision"] = "pin"
        if route.fallback is not None:
            meta["fallback"] = _connect_meta(route.fallback) | {"order_id": route.fallback.order_id}
    else:
        meta.update(decision="unknown", message="unknown")
    row = await insert_inbound(
        session, runtime, request, purpose=PURPOSE_MASKED, meta=meta, order_id=order_id
    )
    log.info("connect.masked_routed", call_id=row["id"], decision=meta["decision"])
    return row, meta["decision"] == "pin"


async def masked_pin(
    session: AsyncSession, runtime: Runtime, row: dict[str, Any], digits: str | None
) -> bool:
    """Apply the PIN the caller entered; True when there is someone to connect."""
    meta = row["meta"] or {}
    if meta.get("decision") != "pin":  # decided already (a replay, or no PIN was needed)
        return meta.get("decision") == "connect"
    now = runtime.clock.now()
    if digits:
        route = await masking.route_by_pin(
            session,
            pin=digits.rstrip("#"),
            virtual_number=str(meta.get("virtual_number") or ""),
            caller=row["phone"],
            now=now,
        )
        if isinstance(route, Connect):
            await update_meta(session, runtime, row, **_connect_meta(route), pin_ok=True)
            await calls_repo.update_call(session, row["id"], {"order_id": route.order_id})
            row["order_id"] = route.order_id
            return True
        await update_meta(session, runtime, row, decision="unknown", message="wrong_pin")
        return False
    fallback = meta.get("fallback")
    if isinstance(fallback, dict):
        order_id = fallback.pop("order_id", None)
        await update_meta(session, runtime, row, **fallback)
        await calls_repo.update_call(session, row["id"], {"order_id": order_id})
        row["order_id"] = order_id
        return True
    await update_meta(session, runtime, row, decision="unknown", message="wrong_pin")
    return False


def connect_flow(runtime: Runtime, row: dict[str, Any]) -> cf.Connect:
    """The Connect applet's answer: the counter-party with the number both sides see, or
    nobody (``[]``: the flow takes its "nobody answered" branch)."""
    settings = runtime.settings
    target = (row["meta"] or {}).get("connect")
    number = target.get("to") if isinstance(target, dict) else None
    return cf.Connect(
        numbers=(str(number),) if number else (),
        caller_id=str(target.get("caller_id") or "") or None if isinstance(target, dict) else None,
        record=settings.masked_call_record,
        time_limit_seconds=settings.masked_call_time_limit_seconds,
        ring_timeout_seconds=settings.call_ring_timeout_seconds,
    )


def message_for(row: dict[str, Any]) -> str:
    """What a masked caller hears when nobody is connected."""
    meta = row["meta"] or {}
    if meta.get("decision") == "connect":
        return MESSAGES["no_answer"]
    return MESSAGES.get(str(meta.get("message")), MESSAGES["unknown"])


async def done(
    session: AsyncSession, runtime: Runtime, row: dict[str, Any], request: AppletRequest
) -> None:
    """The flow's last Passthru: note how the Connect went and end an inbound call."""
    meta = row["meta"] or {}
    dial = (request.dial_call_status or "").lower()
    changes: dict[str, Any] = {}
    if meta.get("connect") and dial and "dial_status" not in meta:
        changes["dial_status"] = dial
    if changes:
        await update_meta(session, runtime, row, **changes)
    if meta.get("decision") == "unknown":
        outcome = "unknown_caller" if meta.get("message") == "unknown" else "wrong_pin"
    elif meta.get("connect"):
        outcome = "connected" if dial == "completed" else "not_connected"
    else:
        outcome = None
    if row["direction"] == "inbound":
        await finish_inbound(session, runtime, row, outcome=outcome)
    elif outcome and row["outcome"] is None:  # an outbound IVR call: its callback ends it
        await calls_repo.update_call(session, row["id"], {"outcome": outcome})


# -- missed calls -------------------------------------------------------------------------
@dataclass(frozen=True)
class Missed:
    """A recorded missed call and the callback it gets (or shares)."""

    id: int
    caller: str
    deduplicated: bool
    callback_at: datetime | None
    callback_of: int | None


async def register_missed(
    session: AsyncSession,
    runtime: Runtime,
    *,
    caller: str,
    called: str | None = None,
    call_sid: str | None = None,
) -> Missed:
    """Record a missed call; the first in a window schedules one callback after the delay.

    Raises:
        ValidationError: ``caller`` is not a phone number.
    """
    phone = phones.normalize(caller)
    await repo.lock_caller(session, phone)
    if call_sid:
        seen = await repo.missed_by_sid(session, call_sid)
        if seen is not None:  # a replayed Passthru or a repeated API call
            return _missed(seen, deduplicated=True)
    now = runtime.clock.now()
    settings = runtime.settings
    latest = await repo.latest_with_callback(session, phone)
    values: dict[str, Any] = {
        "caller": phone,
        "called_number": (phones.try_normalize(called) or called or None) if called else None,
        "call_sid": call_sid,
        "at": now,
    }
    if latest is not None and within_window(latest["at"], now, settings.missed_call_window_seconds):
        missed_id = await repo.insert_missed(session, callback_of=latest["id"], **values)
        log.info("connect.missed_deduplicated", missed_id=missed_id, covered_by=latest["id"])
        return Missed(missed_id, phone, True, latest["callback_at"], latest["id"])
    due = now + timedelta(seconds=settings.missed_call_delay_seconds)
    missed_id = await repo.insert_missed(session, callback_at=due, **values)
    await runtime.queue.enqueue(
        session,
        CALLBACK_JOB,
        {"missed_id": missed_id},
        key=f"{CALLBACK_JOB}:{missed_id}",
        run_at=due,
    )
    log.info("connect.missed_callback_scheduled", missed_id=missed_id)
    return Missed(missed_id, phone, False, due, None)


def _missed(row: dict[str, Any], *, deduplicated: bool) -> Missed:
    return Missed(row["id"], row["caller"], deduplicated, row["callback_at"], row["callback_of"])
