"""The ``push.fcm_send`` job: send one queued push through FCM HTTP v1.

1. No device token stored: look it up on the commerce backend (outside any transaction); none
   → hand the push to the backend's webhook (the outbox) and say why on the timeline.
2. In a short transaction, ask ``runtime.may_send`` (the escalation is still open?) — no →
   ``canceled``, nothing sent.
3. Send. Rate limits → ``RetryLater`` (no attempt spent); 5xx/timeouts → retried with backoff,
   ``failed`` after the last attempt; a refused message or credentials → ``failed`` at once; a
   dead token (``UNREGISTERED``) → ``failed`` and reported on the timeline.

FCM has no idempotency key: a worker that dies between FCM's answer and the commit may send
the push twice, which beats losing it (the same choice as SMS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exocomms.errors import (
    InvalidRequest,
    ProviderAuthError,
    ProviderUnavailable,
    RateLimited,
    ValidationError,
)
from exocomms.jobs.registry import Backoff, Job, JobRegistry, RetryLater
from exocomms.logging import get_logger
from exocomms.push import service
from exocomms.push.fcm import is_dead_token

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

log = get_logger(__name__)

MAX_ATTEMPTS = 6
BACKOFF = Backoff(base=5.0, factor=2.0, maximum=600.0)


def register_push_handlers(registry: JobRegistry) -> None:
    """Register ``push.fcm_send``."""
    registry.register(service.SEND_JOB, send, max_attempts=MAX_ATTEMPTS, backoff=BACKOFF)


async def send(runtime: Runtime, job: Job) -> None:
    """Send the queued push ``job.payload["push_id"]`` (a no-op once it left ``queued``)."""
    push_id = str(job.payload.get("push_id", ""))
    async with runtime.db.transaction() as session:
        row = await service.get_push(session, push_id)
    if row is None or row["status"] != "queued":
        return
    token = row["device_token"]
    if not token:
        token = await _look_up_token(runtime, row)
        if token is None:
            await _fall_back(runtime, push_id, "the commerce backend knows no device token")
            return
    async with runtime.db.transaction() as session:
        row = await service.get_push(session, push_id, lock=True)
        if row is None or row["status"] != "queued":
            return
        if not await runtime.may_send(session, row["escalation_id"]):
            await service.update_push(
                session, runtime, push_id, status="canceled", error="escalation closed"
            )
            return
        if row["device_token"] != token:
            await service.update_push(session, runtime, push_id, device_token=token)
    try:
        client = service.client_for(runtime)
        name = await client.send(
            token, title=row["title"], body=row["body"], data=service.fcm_data(row["data"])
        )
    except RateLimited as exc:
        raise RetryLater(exc.retry_after or 5.0, "FCM rate limited") from exc
    except ProviderUnavailable as exc:
        if job.attempt < job.max_attempts:
            raise
        await _fail(runtime, row, exc.message, dead=False)
        return
    except (InvalidRequest, ProviderAuthError, ValidationError) as exc:
        await _fail(runtime, row, exc.message, dead=is_dead_token(exc))
        return
    async with runtime.db.transaction() as session:
        now = runtime.clock.now()
        await service.update_push(
            session, runtime, push_id, status="sent", message_name=name[:255], sent_at=now
        )
    log.info("push.fcm_sent", push_id=push_id, escalation_id=row["escalation_id"])


async def _look_up_token(runtime: Runtime, row: dict[str, Any]) -> str | None:
    from exocomms.escalation.jobs import lookups_of  # here: escalation imports a lot

    lookups = lookups_of(runtime)
    party, party_id = row["party"], row["party_id"]
    if lookups is None or party_id is None:
        return None
    get = {
        "vendor": lookups.get_store,
        "rider": lookups.get_rider,
        "customer": lookups.get_customer,
    }.get(str(party))
    if get is None:
        return None
    record = await get(str(party_id))  # ProviderError propagates: the job retries
    token = getattr(record, "push_token", None)
    return token if isinstance(token, str) and token else None


async def _fall_back(runtime: Runtime, push_id: str, reason: str) -> None:
    from exocomms.commerce.push import queue_push

    async with runtime.db.transaction() as session:
        row = await service.get_push(session, push_id, lock=True)
        if row is None or row["status"] != "queued":
            return
        if not await runtime.may_send(session, row["escalation_id"]):
            await service.update_push(
                session, runtime, push_id, status="canceled", error="escalation closed"
            )
            return
        if not row["party"] or not row["template"]:
            await service.update_push(
                session, runtime, push_id, status="failed", error=f"no FCM token: {reason}"
            )
            return
        data = {k: v for k, v in row["data"].items() if k not in ("template", "escalation_id")}
        outbox_id = await queue_push(
            session,
            runtime,
            party=row["party"],
            party_id=row["party_id"],
            order_id=row["order_id"],
            template=row["template"],
            data=data,
            escalation_id=row["escalation_id"],
            idempotency_key=row["idempotency_key"],
        )
        await service.update_push(
            session,
            runtime,
            push_id,
            channel="webhook",
            status="sent",
            message_name=f"outbox:{outbox_id}",
            error=reason,
            sent_at=runtime.clock.now(),
        )
        await service.note_fallback(
            session, runtime, row["order_id"], row["escalation_id"], row["party"], reason
        )


async def _fail(runtime: Runtime, row: dict[str, Any], error: str, *, dead: bool) -> None:
    log.warning(
        "push.fcm_failed",
        push_id=row["id"],
        escalation_id=row["escalation_id"],
        party=row["party"],
        party_id=row["party_id"],
        dead_token=dead,
        reason=error[:200],
    )
    async with runtime.db.transaction() as session:
        await service.update_push(session, runtime, row["id"], status="failed", error=error)
        if dead and row["escalation_id"]:
            from exocomms.escalation import repo as escalation_repo

            who = f"{row['party'] or 'party'} {row['party_id'] or ''}".strip()
            await escalation_repo.add_entry(
                session,
                at=runtime.clock.now(),
                kind="status",
                channel="push",
                actor="system",
                order_id=row["order_id"],
                escalation_id=row["escalation_id"],
                summary=f"push failed: the app of {who} is no longer registered with FCM "
                "(its device token is dead; the backend should drop it)",
                data={"push_id": row["id"], "error": error[:200], "dead_token": True},
            )
