"""Use cases on calls: create the record, apply provider events exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.calls import repo
from exocomms.calls.model import CallEvent, CallState, CallStatus, apply
from exocomms.calls.retry import RetryPolicy
from exocomms.errors import NotFound

if TYPE_CHECKING:
    from exocomms.jobs.queue import JobQueue
    from exocomms.runtime import Runtime
    from exocomms.settings import Settings


@dataclass(frozen=True)
class NewCall:
    """What we know when we decide to place a call."""

    purpose: str
    phone: str  # E.164
    language: str = "hi"
    order_id: str | None = None
    vendor_id: str | None = None
    rider_id: str | None = None
    customer_id: str | None = None
    name: str | None = None
    caller_id: str | None = None
    attempt: int = 1
    max_attempts: int = 3
    escalation_id: str | None = None
    direction: str = "outbound"
    meta: dict[str, Any] | None = None


@dataclass(frozen=True)
class Applied:
    """The result of applying an event: the call, and whether anything changed."""

    call_id: str
    state: CallState
    changed: bool
    duplicate: bool


async def create_call(session: AsyncSession, new: NewCall, now: datetime) -> str:
    """Store a queued call; returns its id."""
    call_id = uuid.uuid4().hex
    await repo.insert_call(
        session,
        {
            "id": call_id,
            "purpose": new.purpose,
            "status": CallStatus.QUEUED.value,
            "direction": new.direction,
            "order_id": new.order_id,
            "vendor_id": new.vendor_id,
            "rider_id": new.rider_id,
            "customer_id": new.customer_id,
            "phone": new.phone,
            "name": new.name,
            "caller_id": new.caller_id,
            "language": new.language,
            "attempt": new.attempt,
            "max_attempts": new.max_attempts,
            "escalation_id": new.escalation_id,
            "meta": new.meta or {},
            "created_at": now,
            "updated_at": now,
        },
    )
    return call_id


async def attach_sid(session: AsyncSession, call_id: str, call_sid: str, now: datetime) -> None:
    """Remember the provider's sid once the call was placed."""
    await repo.update_call(
        session, call_id, {"call_sid": call_sid, "initiated_at": now, "updated_at": now}
    )


def state_of(row: dict[str, Any]) -> CallState:
    """The state machine's view of a stored call."""
    return CallState(
        status=CallStatus(row["status"]),
        answered_at=row["answered_at"],
        ended_at=row["ended_at"],
        answered_by=row["answered_by"],
        duration=row["duration"],
        recording_url=row["recording_url"],
    )


async def apply_event(
    session: AsyncSession,
    *,
    call_sid: str,
    event: CallEvent,
    dedupe_key: str,
    payload: dict[str, Any],
    now: datetime,
    kind: str = "status",
) -> Applied:
    """Apply a provider event at most once (replays and stale events change nothing).

    Raises:
        NotFound: no call has this sid (a forged or foreign callback).
    """
    row = await repo.get_call(session, call_sid=call_sid, lock=True)
    if row is None:
        raise NotFound("unknown CallSid", details={"callSid": call_sid[:64]})
    current = state_of(row)
    fresh = await repo.record_event(
        session,
        call_id=row["id"],
        dedupe_key=dedupe_key,
        kind=kind,
        source=event.source,
        status=event.status.value,
        payload=payload,
        at=now,
    )
    if not fresh:
        return Applied(row["id"], current, changed=False, duplicate=True)
    new = apply(current, event)
    if new is None:
        return Applied(row["id"], current, changed=False, duplicate=False)
    await repo.update_call(
        session,
        row["id"],
        {
            "status": new.status.value,
            "answered_at": new.answered_at,
            "ended_at": new.ended_at,
            "answered_by": new.answered_by,
            "duration": new.duration,
            "recording_url": new.recording_url,
            "updated_at": now,
        },
    )
    return Applied(row["id"], new, changed=True, duplicate=False)


# ---------------------------------------------------------------- telephony slice additions


def policy_from_settings(purpose: str, spec: Mapping[str, float]) -> RetryPolicy:
    """A :class:`RetryPolicy` from one ``EXOCOMMS_IVR_RETRY`` entry.

    Raises:
        ValueError: unknown keys or values out of range.
    """
    known = {"max_attempts", "initial_delay", "factor", "max_delay"}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"ivr_retry[{purpose!r}]: unknown keys {sorted(unknown)}")
    defaults = RetryPolicy()
    attempts = spec.get("max_attempts", defaults.max_attempts)
    if attempts != int(attempts) or not 1 <= attempts <= 10:
        raise ValueError(f"ivr_retry[{purpose!r}].max_attempts must be an integer 1..10")
    delay = spec.get("initial_delay", defaults.initial_delay)
    cap = spec.get("max_delay", defaults.max_delay)
    if not 0 <= delay <= 86_400 or not 0 <= cap <= 86_400:
        raise ValueError(f"ivr_retry[{purpose!r}]: delays must be 0..86400 seconds")
    try:
        return RetryPolicy(
            max_attempts=int(attempts),
            initial_delay=float(delay),
            factor=float(spec.get("factor", defaults.factor)),
            max_delay=float(cap),
        )
    except ValueError as exc:
        raise ValueError(f"ivr_retry[{purpose!r}]: {exc}") from None


def retry_policy_for(settings: Settings, purpose: str) -> RetryPolicy:
    """The retry policy of calls with ``purpose`` (settings, or the PRODUCT.md §6 default)."""
    spec = settings.ivr_retry.get(purpose) or settings.ivr_retry.get("default")
    return policy_from_settings(purpose, spec) if spec else RetryPolicy()


async def effective_retry_policy(
    session: AsyncSession, runtime: Runtime, purpose: str
) -> RetryPolicy:
    """The retry policy in force for ``purpose``.

    Precedence: a run-time override for the purpose (``PUT /config/retry``), then the start-up
    settings (``EXOCOMMS_IVR_RETRY``), then the run-time default policy.
    """
    from exocomms.config.service import current  # config reads calls' RetryPolicy; import late

    config = await current(runtime, session)
    if purpose in config.retry.purposes:
        return config.retry_policy_for(purpose)
    if purpose in runtime.settings.ivr_retry or "default" in runtime.settings.ivr_retry:
        return retry_policy_for(runtime.settings, purpose)
    return config.retry_policy_for(purpose)


async def cancel_queued_calls(
    session: AsyncSession,
    queue: JobQueue,
    now: datetime,
    *,
    escalation_id: str | None = None,
    order_id: str | None = None,
) -> list[str]:
    """Cancel calls not placed yet (a retry waiting for its turn) of an escalation or order.

    Returns:
        The ids of the canceled calls.
    """
    if escalation_id is None and order_id is None:
        raise ValueError("escalation_id or order_id is required")
    ids = await repo.queued_unplaced(session, escalation_id=escalation_id, order_id=order_id)
    for call_id in ids:
        await repo.update_call(
            session,
            call_id,
            {"status": CallStatus.CANCELED.value, "ended_at": now, "updated_at": now},
        )
        for kind in PLACE_JOB_KINDS:
            await queue.cancel(session, f"{kind}:{call_id}")
    return ids


PLACE_JOB_KINDS = ("ivr.place", "calls.place")
