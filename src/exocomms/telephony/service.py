"""Ring and bridge calls: queue them in the caller's transaction; ``calls.place`` dials them.

* **ring**: the phone rings from a recognisable number (the ``ring_flow`` hangs up at once if
  answered). Nobody needs to answer: it is a nudge before the IVR call.
* **bridge**: ``first`` is called, then ``second``, and both are connected; both see the
  caller id (masked), with a time limit and optional recording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms import phones
from exocomms.calls.service import NewCall, create_call
from exocomms.errors import ValidationError

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

PLACE_JOB = "calls.place"


def place_job_key(call_id: str) -> str:
    """The dedupe key of the job that dials ``call_id``."""
    return f"{PLACE_JOB}:{call_id}"


async def queue_ring(
    session: AsyncSession,
    runtime: Runtime,
    *,
    phone: str,
    purpose: str,
    caller: str = "default",
    ring_seconds: int = 15,
    order_id: str | None = None,
    escalation_id: str | None = None,
) -> str:
    """Queue a ring (a missed call from the purpose's number).

    Returns:
        Our call id.

    Raises:
        ValidationError: bad phone, caller or ring time (5..60 s).
    """
    if not 5 <= ring_seconds <= 60:
        raise ValidationError("ring_seconds must be 5..60")
    meta = {"mode": "ring", "caller": caller, "ring_seconds": ring_seconds}
    return await _queue(
        session, runtime, phone, purpose, caller, order_id, escalation_id, meta, party=None
    )


async def queue_bridge(
    session: AsyncSession,
    runtime: Runtime,
    *,
    first: str,
    second: str,
    purpose: str,
    caller: str = "default",
    time_limit_seconds: int = 600,
    record: bool = True,
    order_id: str | None = None,
    escalation_id: str | None = None,
) -> str:
    """Queue a bridge: ``first`` is called, then ``second``, and the two are connected.

    Returns:
        Our call id (the row's ``phone`` is ``first``; ``meta.second`` the other party).

    Raises:
        ValidationError: bad numbers, the same number twice, bad caller or time limit.
    """
    other = phones.normalize(second)
    if phones.normalize(first) == other:
        raise ValidationError("a bridge needs two different numbers")
    if not 10 <= time_limit_seconds <= 14_400:
        raise ValidationError("time_limit_seconds must be 10..14400")
    meta = {
        "mode": "bridge",
        "caller": caller,
        "second": other,
        "time_limit": time_limit_seconds,
        "record": record,
    }
    return await _queue(
        session, runtime, first, purpose, caller, order_id, escalation_id, meta, party=None
    )


async def _queue(
    session: AsyncSession,
    runtime: Runtime,
    phone: str,
    purpose: str,
    caller: str,
    order_id: str | None,
    escalation_id: str | None,
    meta: dict[str, Any],
    *,
    party: str | None,
) -> str:
    if not purpose or len(purpose) > 40:
        raise ValidationError("purpose must be 1..40 characters")
    if runtime.telephony is None:
        raise ValidationError("telephony is not configured in this process")
    caller_id = runtime.telephony.caller_id(caller)
    number = phones.normalize(phone)
    call_id = await create_call(
        session,
        NewCall(
            purpose=purpose,
            phone=number,
            order_id=None if order_id is None else str(order_id)[:64],
            caller_id=caller_id,
            max_attempts=1,
            escalation_id=escalation_id,
            meta={**meta, "party": party},
        ),
        runtime.clock.now(),
    )
    await runtime.queue.enqueue(
        session, PLACE_JOB, {"call_id": call_id}, key=place_job_key(call_id)
    )
    return call_id
