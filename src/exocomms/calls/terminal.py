"""What happens when a call ends: the IVR's hang-up, retries per purpose, ``call.finished`` and
``call.failed``. Runs once per call (``meta.finished`` fences repeats, e.g. a Call Details
correction of a status that was already final).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.calls import repo
from exocomms.calls.model import CallStatus
from exocomms.calls.service import NewCall, create_call, effective_retry_policy, state_of
from exocomms.ivr import engine, flows
from exocomms.ivr import service as ivr_service
from exocomms.ivr.outcomes import SUCCESSES, publish
from exocomms.logging import get_logger
from exocomms.telephony.callflow import Language

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

log = get_logger(__name__)

# Outcomes that still allow a retry when the policy says so. "not_acknowledged" is what the
# IVR records when a voicemail (AnsweredBy=Machine) sat through the menu: nobody heard it, so
# the policy treats it as no-answer. A person who answered and pressed nothing is completed
# and reached, which the policy never retries; a provider error is never retried.
RETRYABLE_OUTCOMES = (None, "not_acknowledged")


def _succeeded(row: dict[str, Any], status: CallStatus) -> bool:
    mode = (row["meta"] or {}).get("mode")
    if mode == "ring":
        return status is not CallStatus.FAILED  # ringing was the point; nobody must answer
    if mode == "bridge":
        return status is CallStatus.COMPLETED
    return row["outcome"] in SUCCESSES


async def finish_call(session: AsyncSession, runtime: Runtime, call_id: str) -> str | None:
    """Handle a call that just became terminal (idempotent).

    Returns:
        The id of the next attempt when one was queued, else None.
    """
    row = await repo.get_call(session, call_id=call_id, lock=True)
    if row is None or not CallStatus(row["status"]).terminal:
        return None
    if (row["meta"] or {}).get("finished"):
        return None
    await ivr_service.hang_up_if_mid_ivr(session, runtime, row)
    row = await repo.get_call(session, call_id=call_id)
    assert row is not None  # locked above
    now = runtime.clock.now()
    meta = {**(row["meta"] or {}), "finished": True}
    await repo.update_call(session, call_id, {"meta": meta, "updated_at": now})
    row["meta"] = meta
    state = state_of(row)
    await publish(
        session,
        runtime,
        row,
        "call.finished",
        {"purpose": row["purpose"], "status": state.status.value, "outcome": row["outcome"]},
    )
    if _succeeded(row, state.status):
        return None
    policy = replace(
        await effective_retry_policy(session, runtime, row["purpose"]),
        max_attempts=row["max_attempts"],
    )
    delay = policy.next_delay(state, row["attempt"])
    if delay is not None and row["outcome"] in RETRYABLE_OUTCOMES:
        return await queue_attempt(session, runtime, row, delay)
    if meta.get("mode") == "ring" and state.status is not CallStatus.FAILED:
        return None
    await publish(
        session,
        runtime,
        row,
        "call.failed",
        {"purpose": row["purpose"], "attempts": row["attempt"], "status": state.status.value},
    )
    return None


async def queue_attempt(
    session: AsyncSession,
    runtime: Runtime,
    row: dict[str, Any],
    delay: float,
    *,
    manual: bool = False,
) -> str:
    """Queue attempt n+1 of the same call (same parties, context and escalation).

    Args:
        delay: Seconds from now.
        manual: An operator's retry: allowed beyond ``max_attempts`` (which grows with it).
    """
    from exocomms.calls.jobs import place_job_kind  # here: jobs import this module

    meta = {
        k: v
        for k, v in (row["meta"] or {}).items()
        if k not in ("started", "finished", "ambiguous_at")
    }
    meta["retry_of"] = row["id"]
    ivr_state = None
    if meta.get("mode") == "ivr":
        turn = engine.start(
            flows.get(str(meta["ivr"])), meta.get("context") or {}, Language.parse(row["language"])
        )
        ivr_state = turn.state.to_dict()
        meta["start_events"] = [e.to_dict() for e in turn.events]
    now = runtime.clock.now()
    call_id = await create_call(
        session,
        NewCall(
            purpose=row["purpose"],
            phone=row["phone"],
            language=row["language"],
            order_id=row["order_id"],
            vendor_id=row["vendor_id"],
            rider_id=row["rider_id"],
            customer_id=row["customer_id"],
            name=row["name"],
            caller_id=row["caller_id"],
            attempt=row["attempt"] + 1,
            max_attempts=max(row["max_attempts"], row["attempt"] + 1)
            if manual
            else row["max_attempts"],
            escalation_id=row["escalation_id"],
            meta=meta,
        ),
        now,
    )
    if ivr_state is not None:
        await repo.update_call(session, call_id, {"ivr_state": ivr_state})
    kind = place_job_kind(meta)
    await runtime.queue.enqueue(
        session,
        kind,
        {"call_id": call_id},
        key=f"{kind}:{call_id}",
        run_at=now + timedelta(seconds=delay),
    )
    log.info("call.retry_queued", call_id=call_id, attempt=row["attempt"] + 1, delay=round(delay))
    return call_id
