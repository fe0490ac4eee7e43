"""Placing one call attempt for a scheduled call or a lead, and reading its outcome.

The call record says "attempt n of n": the caller (a scheduled call, a lead) owns the retries
and re-checks the timing rules before each attempt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms import phones
from exocomms.calls import repo as calls_repo
from exocomms.calls.model import CallStatus
from exocomms.calls.retry import RetryPolicy
from exocomms.calls.service import NewCall, create_call, state_of
from exocomms.errors import ValidationError
from exocomms.scheduling import repo
from exocomms.scheduling.calls import Action

if TYPE_CHECKING:
    from exocomms.runtime import Runtime


async def place_call(
    session: AsyncSession,
    runtime: Runtime,
    *,
    action: Action,
    phone: str,
    purpose: str,
    attempt: int,
    priority: int = 0,
    name: str | None = None,
) -> str:
    """Queue one call for ``action`` in the caller's transaction; returns the call id.

    The call record says "attempt n of n" so the telephony slice never retries it itself: the
    caller (a scheduled call, a lead) owns its retries and re-checks the timing rules.
    The dialling job gets ``priority`` (it is the job that waits for the rate limiter).
    """
    if runtime.telephony is None:
        raise ValidationError("telephony is not configured in this process")
    if action.kind == "ivr":
        from exocomms.ivr.service import place_job_key, start_ivr_call

        call_id = await start_ivr_call(
            session,
            runtime,
            ivr=action.target,
            phone=phone,
            context=action.slots,
            purpose=purpose,
            language=action.language,
            name=name,
        )
        key = place_job_key(call_id)
    elif action.kind == "bridge":
        from exocomms.telephony.service import place_job_key as bridge_key
        from exocomms.telephony.service import queue_bridge

        call_id = await queue_bridge(
            session,
            runtime,
            first=action.target,
            second=phone,
            purpose=purpose,
            time_limit_seconds=runtime.settings.call_time_limit_seconds,
        )
        key = bridge_key(call_id)
    else:
        call_id, key = await _queue_flow_call(session, runtime, action, phone, purpose, name)
    await calls_repo.update_call(session, call_id, {"attempt": attempt, "max_attempts": attempt})
    if priority:
        await repo.set_job_priority(session, key, priority)
    return call_id


async def _queue_flow_call(
    session: AsyncSession,
    runtime: Runtime,
    action: Action,
    phone: str,
    purpose: str,
    name: str | None,
) -> tuple[str, str]:
    """A call connected to an Exotel flow that is not one of our IVRs (``connect_flow``)."""
    from exocomms.telephony.service import PLACE_JOB, place_job_key

    assert runtime.telephony is not None  # checked by the caller
    # calls.jobs dials any mode other than bridge/ring as connect_flow(flow_id(meta["ivr"]));
    # "flow" tells the terminal handling it is not an IVR of ours (no IVR state to finish).
    meta = {"mode": "flow", "flow": action.target, "ivr": action.target, "caller": "default"}
    call_id = await create_call(
        session,
        NewCall(
            purpose=purpose,
            phone=phones.normalize(phone),
            language=action.language,
            name=name[:200] if name else None,
            caller_id=runtime.telephony.caller_id("default"),
            max_attempts=1,
            meta=meta,
        ),
        runtime.clock.now(),
    )
    key = place_job_key(call_id)
    await runtime.queue.enqueue(session, PLACE_JOB, {"call_id": call_id}, key=key)
    return call_id, key


async def call_outcome(session: AsyncSession, call_id: str) -> str | None:
    """The outcome that decides a retry: ``completed`` (a person answered), ``busy``,
    ``no-answer`` (voicemail included), ``failed``, ``canceled``; None if the call is unknown.
    """
    row = await calls_repo.get_call(session, call_id=call_id)
    if row is None:
        return None
    outcome = RetryPolicy().outcome(state_of(row))
    return outcome.value if isinstance(outcome, CallStatus) else str(outcome)
