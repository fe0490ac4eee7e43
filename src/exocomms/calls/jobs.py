"""Call jobs: dial a queued call (``ivr.place`` / ``calls.place``) and reconcile calls whose final
status callback never came (``calls.reconcile``).

Dialling is a write to Exotel, so failures are handled by what they mean:

* ``RateLimited`` (our shared limiter or Exotel's 429): nothing was done → ``RetryLater``.
* ``InvalidRequest`` / ``ProviderAuthError`` / a bad number: the call can never be placed →
  the call is marked ``failed`` (outcome ``provider_error``), no retry, ``call.failed``.
* ``ProviderUnavailable`` (5xx, timeout): **ambiguous**, the call may exist. The time is noted
  in ``meta.ambiguous_at`` and the job retries in 30 s; the next run first looks for the call
  with Bulk Call Details (``From`` = the callee, created since then) and adopts it if found,
  else dials again. A second ambiguous failure gives up: ``failed`` and ``call.failed``, so
  a person is never called twice by us for one attempt without a look first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from exocomms.calls import repo
from exocomms.calls.model import CallEvent, CallStatus
from exocomms.calls.service import apply_event, attach_sid
from exocomms.calls.terminal import finish_call
from exocomms.errors import (
    InvalidRequest,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    ValidationError,
)
from exocomms.ivr.outcomes import publish
from exocomms.jobs.registry import Backoff, Job, JobRegistry, RetryLater
from exocomms.logging import get_logger
from exocomms.scheduling.gate import check_send
from exocomms.telephony.exotel.wire import IST, CallInfo

if TYPE_CHECKING:
    from exocomms.runtime import Runtime
    from exocomms.telephony.provider import Telephony

log = get_logger(__name__)

IVR_PLACE_JOB = "ivr.place"
PLACE_JOB = "calls.place"
RECONCILE_JOB = "calls.reconcile"
AMBIGUOUS_RETRY_SECONDS = 30.0
MAX_RECONCILE_ROUNDS = 5
STATUS_CALLBACK_PATH = "/exotel/callbacks/status"
_EXOTEL_STATUS = {
    "completed": CallStatus.COMPLETED,
    "busy": CallStatus.BUSY,
    "no-answer": CallStatus.NO_ANSWER,
    "failed": CallStatus.FAILED,
    "canceled": CallStatus.CANCELED,
    "in-progress": CallStatus.IN_PROGRESS,
    "ringing": CallStatus.RINGING,
    "queued": CallStatus.QUEUED,
}


def place_job_kind(meta: dict[str, Any]) -> str:
    """``ivr.place`` for IVR calls, ``calls.place`` for ring and bridge."""
    return IVR_PLACE_JOB if meta.get("mode", "ivr") == "ivr" else PLACE_JOB


def register_call_handlers(registry: JobRegistry) -> None:
    """Register the call jobs (and the messaging job) on ``registry``."""
    from exocomms.messaging.jobs import register_messaging_handlers

    backoff = Backoff(base=10.0, maximum=600.0)
    registry.register(IVR_PLACE_JOB, place, max_attempts=5, backoff=backoff)
    registry.register(PLACE_JOB, place, max_attempts=5, backoff=backoff)
    registry.register(RECONCILE_JOB, reconcile, max_attempts=8, backoff=backoff)
    register_messaging_handlers(registry)


def _port(runtime: Runtime) -> Telephony:
    if runtime.telephony is None:
        raise RuntimeError("telephony port missing from the runtime")
    return runtime.telephony


async def place(runtime: Runtime, job: Job) -> None:
    """Dial the queued call ``job.payload["call_id"]`` (idempotent: placed calls are skipped)."""
    call_id = str(job.payload.get("call_id", ""))
    async with runtime.db.transaction() as session:
        # Commit the decision to dial before dialling: an acknowledgement either committed
        # first (the guard says no) or is ordered after this call went out.
        row = await repo.get_call(session, call_id=call_id, lock=True)
        if row is None or row["status"] != CallStatus.QUEUED.value or row["call_sid"]:
            return
        now = runtime.clock.now()
        gate = await check_send(
            session, runtime, purpose=row["purpose"], medium="call", phone=row["phone"]
        )
        if not gate.go and gate.retry_at is not None:
            wait = (gate.retry_at - now).total_seconds()
            raise RetryLater(wait, f"outside allowed hours: {gate.reason}")
        if not gate.go or not await runtime.may_send(session, row["escalation_id"]):
            outcome = "escalation_closed" if gate.go else gate.code or "not_allowed"
            await repo.update_call(
                session,
                call_id,
                {
                    "status": CallStatus.CANCELED.value,
                    "outcome": outcome,
                    "ended_at": now,
                    "updated_at": now,
                },
            )
            # Whoever waits for this call (a scheduled call, a lead) learns it will not happen.
            await publish(
                session,
                runtime,
                row,
                "call.finished",
                {
                    "purpose": row["purpose"],
                    "status": CallStatus.CANCELED.value,
                    "outcome": outcome,
                },
            )
            return
        if row["initiated_at"] is None:
            await repo.update_call(session, call_id, {"initiated_at": now, "updated_at": now})
    telephony = _port(runtime)
    meta: dict[str, Any] = dict(row["meta"] or {})
    if meta.get("ambiguous_at"):
        found = await _find_placed(runtime, telephony, row, str(meta["ambiguous_at"]))
        if found is not None:
            await _placed(runtime, row, found.sid)
            return
    try:
        info = await _dial(runtime, telephony, row, meta)
    except RateLimited as exc:
        raise RetryLater(exc.retry_after or 5.0, "rate limited") from exc
    except ProviderUnavailable as exc:
        if meta.get("ambiguous_at"):
            await _fail(runtime, call_id, f"provider unavailable twice: {exc.message}")
            return
        meta["ambiguous_at"] = runtime.clock.now().isoformat()
        async with runtime.db.transaction() as session:
            await repo.update_call(session, call_id, {"meta": meta})
        raise RetryLater(
            AMBIGUOUS_RETRY_SECONDS, "ambiguous failure; look before redialling"
        ) from exc
    except (InvalidRequest, ProviderAuthError, ValidationError) as exc:
        await _fail(runtime, call_id, exc.message)
        return
    await _placed(runtime, row, info.sid)


async def _dial(
    runtime: Runtime, telephony: Telephony, row: dict[str, Any], meta: dict[str, Any]
) -> CallInfo:
    settings = runtime.settings
    common: dict[str, Any] = {
        "custom_field": row["id"],
        "status_callback": telephony.callback_url(STATUS_CALLBACK_PATH),
        "status_callback_events": ["terminal", "answered"],
    }
    mode = meta.get("mode", "ivr")
    if mode == "bridge":
        return await telephony.client.connect_numbers(
            from_number=row["phone"],
            to_number=str(meta["second"]),
            caller_id=row["caller_id"],
            time_limit=int(meta.get("time_limit", 600)),
            time_out=settings.call_ring_timeout_seconds,
            record=bool(meta.get("record", True)),
            recording_channels="dual" if meta.get("record", True) else None,
            **common,
        )
    if mode == "ring":
        return await telephony.client.connect_flow(
            from_number=row["phone"],
            caller_id=row["caller_id"],
            flow_id=settings.ring_flow,
            time_out=int(meta.get("ring_seconds", 15)),
            time_limit=30,
            **common,
        )
    return await telephony.client.connect_flow(
        from_number=row["phone"],
        caller_id=row["caller_id"],
        flow_id=telephony.flow_id(str(meta.get("ivr"))),
        time_limit=settings.call_time_limit_seconds,
        time_out=settings.call_ring_timeout_seconds,
        **common,
    )


async def _placed(runtime: Runtime, row: dict[str, Any], sid: str) -> None:
    """Remember the sid and schedule the reconciliation for when the call must be over."""
    settings = runtime.settings
    now = runtime.clock.now()
    meta = dict(row["meta"] or {})
    limit = int(meta.get("time_limit", settings.call_time_limit_seconds))
    due = now + timedelta(
        seconds=limit + settings.call_ring_timeout_seconds + settings.reconcile_margin_seconds
    )
    async with runtime.db.transaction() as session:
        current = await repo.get_call(session, call_id=row["id"], lock=True)
        if current is None:
            return
        if current["call_sid"] is None:  # a callback may have attached it already
            await attach_sid(session, row["id"], sid, now)
        await runtime.queue.enqueue(
            session,
            RECONCILE_JOB,
            {"call_id": row["id"], "round": 1},
            key=f"{RECONCILE_JOB}:{row['id']}:1",
            run_at=due,
        )


async def _fail(runtime: Runtime, call_id: str, reason: str) -> None:
    now = runtime.clock.now()
    log.warning("call.place_failed", call_id=call_id, reason=reason[:200])
    async with runtime.db.transaction() as session:
        row = await repo.get_call(session, call_id=call_id, lock=True)
        if row is None or row["status"] != CallStatus.QUEUED.value:
            return
        meta = {**(row["meta"] or {}), "error": reason[:500]}
        await repo.update_call(
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


async def _find_placed(
    runtime: Runtime, telephony: Telephony, row: dict[str, Any], since_iso: str
) -> CallInfo | None:
    """A call to this phone created since the ambiguous attempt (minus a minute), if any.

    Calls we already track are skipped: the minute of slack (clock skew) can reach back to
    another of our calls to the same phone, e.g. the ring just before this IVR call, and
    adopting its sid would point two rows at one call.
    """
    try:
        since = datetime.fromisoformat(since_iso) - timedelta(minutes=1)
        page = await telephony.client.list_calls(
            From=row["phone"],
            DateCreated=f"gte:{since.astimezone(IST).strftime('%Y-%m-%d %H:%M:%S')}",
            SortBy="DateCreated:desc",
        )
    except (ProviderError, ValueError) as exc:
        raise RetryLater(AMBIGUOUS_RETRY_SECONDS, f"cannot look up calls: {exc}") from exc
    async with runtime.db.transaction() as session:
        for call in page.calls:
            if await repo.get_call(session, call_sid=call.sid) is None:
                return call
    return None


async def reconcile(runtime: Runtime, job: Job) -> None:
    """Ask Call Details about a call whose final callback has not arrived, and apply it."""
    call_id = str(job.payload.get("call_id", ""))
    rounds = int(job.payload.get("round", 1))
    async with runtime.db.transaction() as session:
        row = await repo.get_call(session, call_id=call_id)
    if row is None or row["call_sid"] is None or CallStatus(row["status"]).terminal:
        return
    try:
        info = await _port(runtime).client.get_call(row["call_sid"], details=True)
    except ProviderError as exc:
        raise RetryLater(60.0, f"call details unavailable: {exc.message}") from exc
    status = _EXOTEL_STATUS.get(info.status.lower())
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        if status is not None and status.terminal:
            applied = await apply_event(
                session,
                call_sid=row["call_sid"],
                event=CallEvent(
                    status=status,
                    at=info.end_time or info.date_updated or now,
                    source="details",
                    answered_by=info.answered_by,
                    duration=info.duration,
                    recording_url=info.recording_url,
                ),
                dedupe_key=f"details:{status.value}",
                payload={"status": info.status, "duration": info.duration},
                now=now,
                kind="details",
            )
            if applied.changed:
                await finish_call(session, runtime, call_id)
            return
        if rounds < MAX_RECONCILE_ROUNDS:
            await runtime.queue.enqueue(
                session,
                RECONCILE_JOB,
                {"call_id": call_id, "round": rounds + 1},
                key=f"{RECONCILE_JOB}:{call_id}:{rounds + 1}",
                run_at=now + timedelta(seconds=60 * rounds),
            )
