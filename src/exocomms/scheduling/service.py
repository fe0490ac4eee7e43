"""Scheduled calls: create, read, cancel, summarise; run the due job; react to outcomes.

Every change of a scheduled call and the job that continues it commit together: the due job
(``scheduled_call.due``) is keyed ``scheduled_call.due:<id>:<seq>`` and carries ``seq``, a
fencing token bumped whenever a new due job is enqueued, so a stale job is a no-op and a cancel
cancels exactly the pending one. Each attempt is an ordinary call (``voice_calls``) whose
``call.finished`` event brings the outcome back here, in the transaction that recorded it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms import phones
from exocomms.calls.model import CallStatus
from exocomms.calls.retry import RetryPolicy
from exocomms.errors import Conflict, NotFound, ValidationError
from exocomms.events import DomainEvent
from exocomms.ivr import flows
from exocomms.logging import get_logger
from exocomms.scheduling import repo
from exocomms.scheduling.calls import (
    DEFAULT_PRIORITY,
    RetryConfig,
    Status,
    check_priority,
    parse_action,
    parse_context,
    parse_preferred_time,
    success_rate,
)
from exocomms.scheduling.engine import allowed, next_allowed
from exocomms.scheduling.model import TimingPolicy
from exocomms.scheduling.placing import call_outcome as call_outcome  # re-exported (leads)
from exocomms.scheduling.placing import place_call as place_call
from exocomms.scheduling.preferences import recipient_for

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

log = get_logger(__name__)

DUE_JOB = "scheduled_call.due"
TIMING_POLICY_EXTRA = "timing_policy"  # runtime.extras override (tests), as the orchestrator's
RNG_EXTRA = "scheduling.rng"  # runtime.extras: a seeded random.Random for jitter (tests)


def due_key(call_id: int, seq: int) -> str:
    """The dedupe key of the due job of ``call_id`` with fencing token ``seq``."""
    return f"{DUE_JOB}:{call_id}:{seq}"


def rng_of(runtime: Runtime) -> random.Random | None:
    """The jitter source (None: the module's)."""
    rng = runtime.extras.get(RNG_EXTRA)
    return rng if isinstance(rng, random.Random) else None


async def timing_policy(session: AsyncSession, runtime: Runtime) -> TimingPolicy:
    """The timing rules in force: ``extras['timing_policy']`` (tests), else run-time config."""
    policy = runtime.extras.get(TIMING_POLICY_EXTRA)
    if isinstance(policy, TimingPolicy):
        return policy
    from exocomms.config.service import current  # here: config imports many slices

    return (await current(runtime, session)).timing


async def retry_default(session: AsyncSession, runtime: Runtime, purpose: str) -> RetryPolicy:
    """The run-time configuration's retry policy for ``purpose``."""
    from exocomms.config.service import current

    return (await current(runtime, session)).retry_policy_for(purpose)


# ---------------------------------------------------------------- use cases


@dataclass(frozen=True)
class NewScheduledCall:
    """``POST /scheduled-calls`` after shape validation."""

    phone: str
    purpose: str
    preferred_time: str | None = None
    context: Mapping[str, Any] | None = None
    use_verified_call: bool = False
    retry_config: Mapping[str, Any] | None = None
    priority: int = DEFAULT_PRIORITY


async def create(session: AsyncSession, runtime: Runtime, new: NewScheduledCall) -> dict[str, Any]:
    """Validate and store a scheduled call, and enqueue its first due job.

    Raises:
        ValidationError: bad phone, unknown purpose, bad time, context, retry or priority.
    """
    now = runtime.clock.now()
    phone = phones.normalize(new.phone)
    if not 1 <= len(new.purpose) <= 40:
        raise ValidationError("purpose must be 1..40 characters")
    policy = await timing_policy(session, runtime)
    policy.classify(new.purpose)  # unknown purpose → 422 listing the known ones
    context = parse_context(new.context)
    parse_action(context, new.purpose, flows.names())
    when = parse_preferred_time(new.preferred_time, now)
    priority = check_priority(new.priority)
    base = RetryConfig.from_policy(await retry_default(session, runtime, new.purpose))
    retry = base.merged(new.retry_config)
    if runtime.telephony is not None:
        runtime.telephony.caller_id("default")  # no caller id configured → 422 now, not later
    call_id = await repo.insert_call(
        session,
        {
            "phone": phone,
            "purpose": new.purpose,
            "context": context,
            "preferred_time": when,
            "scheduled_time": when,
            "status": Status.SCHEDULED.value,
            "priority": priority,
            "retry": retry.to_dict(),
            "attempt": 0,
            "max_attempts": retry.max_attempts,
            "seq": 1,
            "use_verified_call": new.use_verified_call,
            "created_at": now,
            "updated_at": now,
        },
    )
    await _enqueue_due(session, runtime, call_id, 1, when, priority)
    row = await repo.get(session, call_id)
    assert row is not None
    return row


async def _enqueue_due(
    session: AsyncSession, runtime: Runtime, call_id: int, seq: int, at: datetime, priority: int
) -> None:
    await runtime.queue.enqueue(
        session,
        DUE_JOB,
        {"id": call_id, "seq": seq},
        key=due_key(call_id, seq),
        run_at=at,
        priority=priority,
    )


async def get(session: AsyncSession, call_id: int) -> dict[str, Any]:
    """One scheduled call.

    Raises:
        NotFound: no such id.
    """
    row = await repo.get(session, call_id)
    if row is None:
        raise NotFound(f"no scheduled call {call_id}")
    return row


async def cancel(session: AsyncSession, runtime: Runtime, call_id: int) -> dict[str, Any]:
    """Cancel a scheduled call and its pending due job, together.

    An attempt already ringing is not interrupted; its outcome is then ignored. Canceling a
    canceled call is a no-op (idempotent).

    Raises:
        NotFound: no such id.
        Conflict: the call already completed or failed.
    """
    row = await repo.get(session, call_id, lock=True)
    if row is None:
        raise NotFound(f"no scheduled call {call_id}")
    status = Status(row["status"])
    if status is Status.CANCELED:
        return row
    if not status.open:
        raise Conflict(f"scheduled call {call_id} is already {status.value}")
    now = runtime.clock.now()
    await runtime.queue.cancel(session, due_key(call_id, row["seq"]))
    changes = {"status": Status.CANCELED.value, "canceled_at": now, "updated_at": now}
    await repo.change(session, call_id, changes)
    return {**row, **changes}


async def summary(session: AsyncSession) -> dict[str, Any]:
    """Counts by status and purpose, success rate, average attempts per finished call."""
    by_status: dict[str, int] = {s.value: 0 for s in Status}
    by_purpose: dict[str, int] = {}
    finished = attempts = 0
    for status, purpose, count, tried in await repo.counts(session):
        by_status[status] = by_status.get(status, 0) + count
        by_purpose[purpose] = by_purpose.get(purpose, 0) + count
        if status in (Status.COMPLETED, Status.FAILED):
            finished += count
            attempts += tried
    return {
        "total": sum(by_status.values()),
        "byStatus": by_status,
        "byPurpose": dict(sorted(by_purpose.items())),
        "successRate": success_rate(by_status),
        "averageAttempts": round(attempts / finished, 2) if finished else None,
    }


# ---------------------------------------------------------------- the due job and outcomes


async def run_due(runtime: Runtime, call_id: int, seq: int) -> None:
    """The due job: place the next attempt if the rules allow it now, else wait for them."""
    async with runtime.db.transaction() as session:
        row = await repo.get(session, call_id, lock=True)
        if row is None or row["seq"] != seq:
            return  # canceled, or superseded by a newer due job
        if Status(row["status"]) not in (Status.SCHEDULED, Status.WAITING_WINDOW):
            return
        now = runtime.clock.now()
        policy = await timing_policy(session, runtime)
        recipient = await recipient_for(session, row["phone"])  # DND, blocks, consents
        decision = allowed(now, row["purpose"], recipient, policy, "call")
        if not decision.allowed:
            at = next_allowed(now, row["purpose"], recipient, policy, "call")
            await _wait_or_fail(session, runtime, row, at, decision.reason)
            return
        action = parse_action(row["context"], row["purpose"], flows.names())
        attempt = row["attempt"] + 1
        new_call = await place_call(
            session,
            runtime,
            action=action,
            phone=row["phone"],
            purpose=row["purpose"],
            attempt=attempt,
            priority=row["priority"],
            name=_name(row["context"]),
        )
        await repo.change(
            session,
            call_id,
            {
                "status": Status.IN_PROGRESS.value,
                "attempt": attempt,
                "call_id": new_call,
                "scheduled_time": now,
                "reason": None,
                "updated_at": now,
            },
        )
    log.info("scheduled_call.placed", id=call_id, attempt=attempt, call_id=new_call)


def _name(context: Mapping[str, Any]) -> str | None:
    name = context.get("name") or context.get("customerName")
    return str(name)[:200] if name else None


async def _wait_or_fail(
    session: AsyncSession,
    runtime: Runtime,
    row: dict[str, Any],
    at: datetime | None,
    reason: str,
    *,
    outcome: str | None = None,
) -> None:
    """Enqueue the next due job at ``at`` (waiting for the window), or fail: never allowed."""
    now = runtime.clock.now()
    if at is None:
        await repo.change(
            session,
            row["id"],
            {
                "status": Status.FAILED.value,
                "last_outcome": "never_allowed",
                "reason": reason[:500],
                "finished_at": now,
                "updated_at": now,
            },
        )
        log.info("scheduled_call.never_allowed", id=row["id"], reason=reason)
        return
    seq = row["seq"] + 1
    status = Status.WAITING_WINDOW if outcome is None and at > now else Status.SCHEDULED
    changes: dict[str, Any] = {
        "status": status.value,
        "scheduled_time": at,
        "seq": seq,
        "reason": reason[:500],
        "updated_at": now,
    }
    if outcome is not None:
        changes["last_outcome"] = outcome
    await repo.change(session, row["id"], changes)
    await _enqueue_due(session, runtime, row["id"], seq, at, row["priority"])


async def on_call_finished(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """``call.finished`` listener: complete, retry (inside the rules) or fail the call."""
    call_id = event.data.get("call_id")
    if not isinstance(call_id, str):
        return
    row = await repo.by_call_id(session, call_id)
    if row is None or row["status"] != Status.IN_PROGRESS.value:
        return  # not ours, canceled meanwhile, or already handled
    outcome = await call_outcome(session, call_id) or "failed"
    now = runtime.clock.now()
    if outcome == CallStatus.COMPLETED.value:
        await repo.change(
            session,
            row["id"],
            {
                "status": Status.COMPLETED.value,
                "last_outcome": outcome,
                "reason": None,
                "finished_at": now,
                "updated_at": now,
            },
        )
        return
    retry = RetryConfig.from_dict(row["retry"])
    at = retry.next_attempt(row["attempt"], outcome, now, rng_of(runtime))
    if at is None:
        await repo.change(
            session,
            row["id"],
            {
                "status": Status.FAILED.value,
                "last_outcome": outcome,
                "reason": f"{outcome} after {row['attempt']} attempt(s)",
                "finished_at": now,
                "updated_at": now,
            },
        )
        return
    policy = await timing_policy(session, runtime)
    recipient = await recipient_for(session, row["phone"])
    allowed_at = next_allowed(at, row["purpose"], recipient, policy, "call")
    await _wait_or_fail(
        session, runtime, row, allowed_at, f"retry after {outcome}", outcome=outcome
    )
