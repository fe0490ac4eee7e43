"""IVR calls: place one (:func:`start_ivr_call`), then answer its turns from any channel.

The applet routes (``ivr/api.py``), the legacy ExoML routes and the compat aliases all go through
:func:`begin`, :func:`advance` and :func:`current_flow`: the call row is locked, the request is
recorded under a dedupe key (a replayed request gets the stored answer and changes nothing),
the pure engine decides, the new state and the outcome are saved, and domain events are
published, all in the caller's transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms import phones
from exocomms.calls import repo
from exocomms.calls.model import CallStatus
from exocomms.calls.service import NewCall, create_call
from exocomms.errors import NotFound, ValidationError
from exocomms.ivr import engine, flows
from exocomms.ivr import outcomes as ivr_outcomes
from exocomms.ivr.model import Digits, Hangup, Input, Ivr, NoInput, State, event_from_dict
from exocomms.telephony import callflow as cf

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

PLACE_JOB = "ivr.place"

# Which party an IVR talks to (for domain events and the timeline).
PARTY_BY_IVR = {
    "vendor_order": "vendor",
    "vendor_reminder": "vendor",
    "rider_assignment": "rider",
    "rider_delivery_alert": "rider",
    "address_change": "rider",
    "customer_status": "customer",
    "customer_delay": "customer",
}


def place_job_key(call_id: str) -> str:
    """The dedupe key of the job that dials ``call_id``."""
    return f"{PLACE_JOB}:{call_id}"


async def start_ivr_call(
    session: AsyncSession,
    runtime: Runtime,
    *,
    ivr: str,
    phone: str,
    context: Mapping[str, Any],
    purpose: str,
    language: str = "hi",
    order_id: str | None = None,
    vendor_id: str | None = None,
    rider_id: str | None = None,
    customer_id: str | None = None,
    name: str | None = None,
    escalation_id: str | None = None,
    caller: str = "default",
    max_attempts: int = 1,
) -> str:
    """Queue an IVR call in the caller's transaction; a job dials it after commit.

    Args:
        ivr: IVR name (``ivr.flows.names()``).
        phone: Callee, any Indian format (stored E.164).
        context: The IVR's slot values (store name, order id, amount, items…).
        purpose: Call purpose (retry policy, reports), e.g. ``vendor_order_confirmation``.
        language: hi, en or mr; anything else falls back to Hindi.
        caller: Which dedicated number calls: new_order, reminder, address_update, default.
        max_attempts: Calls in total when busy / no answer / failed (retried with backoff).

    Returns:
        Our call id.

    Raises:
        ValidationError: unknown IVR or caller, bad phone, context or max_attempts.
    """
    definition = _ivr(ivr)
    if not 1 <= max_attempts <= 10:
        raise ValidationError("max_attempts must be 1..10")
    if not purpose or len(purpose) > 40:
        raise ValidationError("purpose must be 1..40 characters")
    number = phones.normalize(phone)
    lang = cf.Language.parse(language, default=cf.Language.HI)
    turn = engine.start(definition, context, lang)
    telephony = _telephony(runtime)
    caller_id = telephony.caller_id(caller)
    now = runtime.clock.now()
    call_id = await create_call(
        session,
        NewCall(
            purpose=purpose,
            phone=number,
            language=lang.value,
            order_id=_opt_id(order_id),
            vendor_id=_opt_id(vendor_id),
            rider_id=_opt_id(rider_id),
            customer_id=_opt_id(customer_id),
            name=name[:200] if name else None,
            caller_id=caller_id,
            max_attempts=max_attempts,
            escalation_id=escalation_id,
            meta={
                "mode": "ivr",
                "ivr": definition.name,
                "caller": caller,
                "party": PARTY_BY_IVR.get(definition.name),
                "context": dict(turn.state.context),
                "start_events": [e.to_dict() for e in turn.events],
            },
        ),
        now,
    )
    await repo.update_call(session, call_id, {"ivr_state": turn.state.to_dict()})
    await runtime.queue.enqueue(
        session, PLACE_JOB, {"call_id": call_id}, key=place_job_key(call_id)
    )
    return call_id


def _ivr(name: str) -> Ivr:
    try:
        return flows.get(name)
    except NotFound as exc:
        raise ValidationError(exc.message, details=exc.details) from None


def _opt_id(value: str | int | None) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) > 64:
        raise ValidationError("ids are at most 64 characters")
    return text


def _telephony(runtime: Runtime) -> Any:
    if runtime.telephony is None:
        raise ValidationError("telephony is not configured in this process")
    return runtime.telephony


# ---------------------------------------------------------------- turns (applets, ExoML)


@dataclass(frozen=True)
class TurnAnswer:
    """What a channel should answer: proceed (200) or end (302), and the flow to speak."""

    proceed: bool
    flow: cf.CallFlow
    replayed: bool = False


def request_key(endpoint: str, params: Mapping[str, str]) -> str:
    """Dedupe key of an applet/ExoML request: the same request replayed → the same key."""
    fields = ("CallSid", "digits", "Digits", "CurrentTime", "CallStatus", "turn")
    raw = "&".join(f"{k}={params.get(k, '')}" for k in fields)
    return f"{endpoint}:{hashlib.sha256(raw.encode()).hexdigest()[:32]}"


async def find_call(
    session: AsyncSession,
    runtime: Runtime,
    *,
    call_sid: str,
    custom_field: str | None,
) -> dict[str, Any] | None:
    """The call with ``call_sid``, locked; falls back to our id in ``CustomField``.

    The fallback covers a callback that overtakes the commit of the placing job: the call
    exists but its sid is not stored yet, so it is attached here.
    """
    row = await repo.get_call(session, call_sid=call_sid, lock=True)
    if row is not None or not custom_field:
        return row
    candidate = custom_field.strip()[:32]
    row = await repo.get_call(session, call_id=candidate, lock=True)
    if row is None or row["call_sid"] not in (None, call_sid):
        return None
    now = runtime.clock.now()
    await repo.update_call(
        session,
        row["id"],
        {"call_sid": call_sid, "initiated_at": row["initiated_at"] or now, "updated_at": now},
    )
    row["call_sid"] = call_sid
    return row


def _state(row: Mapping[str, Any]) -> tuple[Ivr, State]:
    raw = row["ivr_state"]
    if not isinstance(raw, Mapping):
        raise ValidationError("this call has no IVR")
    state = State.from_dict(raw)
    return flows.get(state.ivr), state


async def _replayed(session: AsyncSession, call_id: str, key: str) -> dict[str, Any] | None:
    event = await repo.get_event(session, call_id, key)
    return dict(event["payload"]) if event is not None else None


async def begin(
    session: AsyncSession, runtime: Runtime, row: dict[str, Any], *, key: str, channel: str
) -> TurnAnswer:
    """The call was answered and the flow starts: mark it answered, say the first turn."""
    ivr, state = _state(row)
    now = runtime.clock.now()
    stored = await _replayed(session, row["id"], key)
    if stored is not None:
        return TurnAnswer(bool(stored.get("proceed")), engine.render(ivr, state), replayed=True)
    proceed = not state.done
    await repo.record_event(
        session,
        call_id=row["id"],
        dedupe_key=key,
        kind="ivr.start",
        source="applet",
        status=None,
        payload={"proceed": proceed, "channel": channel, "turn": state.turn},
        at=now,
    )
    meta = dict(row["meta"] or {})
    if not meta.get("started"):
        meta["started"] = True
        changes: dict[str, Any] = {"meta": meta, "updated_at": now}
        if CallStatus(row["status"]) in (CallStatus.QUEUED, CallStatus.RINGING):
            changes["status"] = CallStatus.IN_PROGRESS.value
        if row["answered_at"] is None:
            changes["answered_at"] = now
        await repo.update_call(session, row["id"], changes)
        row.update(changes)
        events = [event_from_dict(e) for e in meta.get("start_events", [])]
        await ivr_outcomes.apply_events(session, runtime, row, events, channel=channel)
    return TurnAnswer(proceed, engine.render(ivr, state))


async def current_flow(row: Mapping[str, Any]) -> cf.CallFlow:
    """The current turn's flow, re-rendered from the stored state (Gather/Greeting fetches)."""
    ivr, state = _state(row)
    return engine.render(ivr, state)


async def advance(
    session: AsyncSession,
    runtime: Runtime,
    row: dict[str, Any],
    received: Input,
    *,
    key: str,
    channel: str,
) -> TurnAnswer:
    """Apply keys (or silence, or a hang-up) once; replays get the stored answer."""
    ivr, state = _state(row)
    stored = await _replayed(session, row["id"], key)
    if stored is not None:
        return TurnAnswer(bool(stored.get("proceed")), engine.render(ivr, state), replayed=True)
    now = runtime.clock.now()
    turn = engine.step(ivr, state, received)
    proceed = not turn.state.done
    keys = received.value if isinstance(received, Digits) else None
    await repo.record_event(
        session,
        call_id=row["id"],
        dedupe_key=key,
        kind="ivr.input",
        source="applet",
        status=None,
        payload={
            "proceed": proceed,
            "channel": channel,
            "digits": keys,
            "input": type(received).__name__.lower(),
            "turn": turn.state.turn,
            "events": [e.to_dict() for e in turn.events],
        },
        at=now,
    )
    changes: dict[str, Any] = {"ivr_state": turn.state.to_dict(), "updated_at": now}
    if keys:
        changes["digits"] = ((row["digits"] or "") + keys)[-64:]
    await repo.update_call(session, row["id"], changes)
    row.update(changes)
    await ivr_outcomes.apply_events(session, runtime, row, list(turn.events), channel=channel)
    return TurnAnswer(proceed, turn.prompt)


async def hang_up_if_mid_ivr(session: AsyncSession, runtime: Runtime, row: dict[str, Any]) -> None:
    """The call ended: if the IVR was mid-menu, apply the hang-up (its events count)."""
    raw = row["ivr_state"]
    if not isinstance(raw, Mapping) or not (row["meta"] or {}).get("started"):
        return
    if raw.get("done"):
        return
    await advance(session, runtime, row, Hangup(), key="ivr:hangup", channel="ivr")


def input_of(digits: str | None) -> Input:
    """Keys → :class:`Digits`; nothing → :class:`NoInput`."""
    return Digits(digits) if digits else NoInput()


def now_of(runtime: Runtime) -> datetime:
    """The runtime clock's now (a seam for routes)."""
    return runtime.clock.now()
