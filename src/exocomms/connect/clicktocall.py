"""Click-to-call: place a two-number call now and answer with Exotel's ``callSid``.

The API promises the ``callSid`` in its answer, so the call is placed synchronously (through
the shared rate limiter) instead of by a job: the ``voice_calls`` row is committed first (so a
status callback that overtakes us finds it by our id in ``CustomField``), then Exotel is asked,
then the sid is attached and a reconciliation is scheduled, as for every placed call. A
failure marks the row ``failed`` and raises (a 5xx/timeout may still have placed the call:
the caller decides whether to retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from exocomms import phones
from exocomms.calls import repo as calls_repo
from exocomms.calls.jobs import RECONCILE_JOB, STATUS_CALLBACK_PATH
from exocomms.calls.model import CallStatus
from exocomms.calls.service import NewCall, create_call
from exocomms.calls.terminal import finish_call
from exocomms.errors import ProviderError, ValidationError
from exocomms.logging import get_logger
from exocomms.runtime import Runtime

log = get_logger(__name__)


@dataclass(frozen=True)
class ClickToCall:
    """A validated click-to-call request (phones already E.164)."""

    first: str  # called first (the agent)
    second: str  # then connected to this number (the customer)
    caller_id: str  # the ExoPhone both see
    time_limit: int
    record: bool
    purpose: str = "click_to_call"
    custom_field: str | None = None  # the client's, echoed in forwarded status callbacks
    status_callback: str | None = None  # the client's URL: call.finished is forwarded there
    order_id: str | None = None
    meta: dict[str, Any] | None = None


@dataclass(frozen=True)
class Placed:
    """Our call id, Exotel's sid and status."""

    call_id: str
    call_sid: str
    status: str


def default_caller_id(runtime: Runtime) -> str:
    """The default ExoPhone (``EXOCOMMS_CALLER_ID``).

    Raises:
        ValidationError: telephony is not configured.
    """
    if runtime.telephony is None:
        raise ValidationError("telephony is not configured in this process")
    return runtime.telephony.caller_id("default")


async def place(runtime: Runtime, request: ClickToCall) -> Placed:
    """Create the call row, dial now, attach the sid.

    Raises:
        ValidationError: the same number twice, or no telephony.
        ProviderError: Exotel refused or failed (mapped to 4xx/429/5xx by the web layer).
    """
    if request.first == request.second:
        raise ValidationError("agentPhone and customerPhone must be different numbers")
    telephony = runtime.telephony
    if telephony is None:
        raise ValidationError("telephony is not configured in this process")
    meta: dict[str, Any] = {
        **(request.meta or {}),
        "mode": "bridge",
        "caller": "click_to_call",
        "second": request.second,
        "time_limit": request.time_limit,
        "record": request.record,
        "custom_field": request.custom_field,
        "status_callback": request.status_callback,
    }
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        call_id = await create_call(
            session,
            NewCall(
                purpose=request.purpose,
                phone=request.first,
                order_id=request.order_id,
                caller_id=request.caller_id,
                max_attempts=1,
                meta=meta,
            ),
            now,
        )
    try:
        info = await telephony.client.connect_numbers(
            from_number=request.first,
            to_number=request.second,
            caller_id=request.caller_id,
            time_limit=request.time_limit,
            time_out=runtime.settings.call_ring_timeout_seconds,
            record=request.record,
            recording_channels="dual" if request.record else None,
            custom_field=call_id,
            status_callback=telephony.callback_url(STATUS_CALLBACK_PATH),
            status_callback_events=["terminal", "answered"],
        )
    except ProviderError as exc:
        await _failed(runtime, call_id, exc)
        raise
    now = runtime.clock.now()
    due = now + timedelta(
        seconds=request.time_limit
        + runtime.settings.call_ring_timeout_seconds * 2
        + runtime.settings.reconcile_margin_seconds
    )
    async with runtime.db.transaction() as session:
        row = await calls_repo.get_call(session, call_id=call_id, lock=True)
        assert row is not None  # created above
        changes: dict[str, Any] = {"initiated_at": now, "updated_at": now}
        if row["call_sid"] is None:  # a status callback may have attached it already
            changes["call_sid"] = info.sid
        await calls_repo.update_call(session, call_id, changes)
        await runtime.queue.enqueue(
            session,
            RECONCILE_JOB,
            {"call_id": call_id, "round": 1},
            key=f"{RECONCILE_JOB}:{call_id}:1",
            run_at=due,
        )
    log.info("connect.click_to_call", call_id=call_id, purpose=request.purpose)
    return Placed(call_id, info.sid, info.status)


async def _failed(runtime: Runtime, call_id: str, exc: ProviderError) -> None:
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        row = await calls_repo.get_call(session, call_id=call_id, lock=True)
        if row is None or row["status"] != CallStatus.QUEUED.value:
            return
        meta = {**(row["meta"] or {}), "error": exc.message[:500]}
        await calls_repo.update_call(
            session,
            call_id,
            {
                "status": CallStatus.FAILED.value,
                "outcome": "provider_error",
                "ended_at": now,
                "meta": meta,
                "updated_at": now,
            },
        )
        await finish_call(session, runtime, call_id)


def caller_number(raw: str | None, runtime: Runtime) -> str:
    """A caller id the client named (any phone form), else the default ExoPhone.

    Raises:
        ValidationError: not a phone number.
    """
    if raw is None or not raw.strip():
        return default_caller_id(runtime)
    return phones.normalize(raw)
