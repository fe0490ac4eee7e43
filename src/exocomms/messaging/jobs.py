"""The ``messaging.send`` job: send one queued SMS or WhatsApp message through Exotel.

Rate limits → ``RetryLater``; a rejected message (DLT mismatch, bad number) → ``failed`` at
once; an ambiguous failure (5xx, timeout) is retried with backoff: Exotel's SMS API has no
idempotency key, so a duplicate SMS is possible in that rare case, which beats losing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exocomms.errors import InvalidRequest, ProviderAuthError, RateLimited, ValidationError
from exocomms.jobs.registry import Backoff, Job, JobRegistry, RetryLater
from exocomms.logging import get_logger
from exocomms.messaging import repo
from exocomms.messaging.model import Channel, MessageStatus
from exocomms.messaging.service import SEND_JOB, set_status
from exocomms.scheduling.gate import check_send

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

log = get_logger(__name__)

SMS_CALLBACK_PATH = "/exotel/callbacks/sms"
WHATSAPP_CALLBACK_PATH = "/exotel/callbacks/whatsapp"


def register_messaging_handlers(registry: JobRegistry) -> None:
    """Register ``messaging.send``."""
    registry.register(SEND_JOB, send, max_attempts=6, backoff=Backoff(base=10.0, maximum=900.0))


async def send(runtime: Runtime, job: Job) -> None:
    """Send the queued message ``job.payload["message_id"]`` (skipped once sent)."""
    message_id = str(job.payload.get("message_id", ""))
    async with runtime.db.transaction() as session:
        row = await repo.get_message(session, message_id=message_id)
        if row is None or row["status"] != MessageStatus.QUEUED.value or row["provider_sid"]:
            return
        medium = "sms"  # WhatsApp messages follow the messaging (SMS) rules
        gate = await check_send(
            session, runtime, purpose=row["purpose"], medium=medium, phone=row["to_number"]
        )
        if not gate.go and gate.retry_at is not None:
            wait = (gate.retry_at - runtime.clock.now()).total_seconds()
            raise RetryLater(wait, f"outside allowed hours: {gate.reason}")
        if not gate.go or not await runtime.may_send(session, row["escalation_id"]):
            reason = None if gate.go else gate.reason  # e.g. the recipient is on DND
            await set_status(session, runtime, row, MessageStatus.CANCELED, error=reason)
            return
    telephony = runtime.telephony
    if telephony is None:
        raise RuntimeError("telephony port missing from the runtime")
    try:
        if row["channel"] == Channel.SMS.value:
            content = row["content"] or {}
            infos = await telephony.client.send_sms(
                from_number=telephony.sms_sender,
                to=row["to_number"],
                body=row["body"],
                dlt_entity_id=content.get("dlt_entity_id"),
                dlt_template_id=content.get("dlt_template_id"),
                sms_type="transactional",
                status_callback=telephony.callback_url(SMS_CALLBACK_PATH),
                custom_field=row["id"],
            )
            sid = infos[0].sid
        else:
            await telephony.limiter.acquire("sms")  # WhatsApp shares the messaging budget
            sid = await telephony.client.send_whatsapp(
                from_number=telephony.whatsapp_sender,
                to=row["to_number"],
                content=(row["content"] or {}).get("message", {}),
                status_callback=telephony.callback_url(WHATSAPP_CALLBACK_PATH),
                custom_data=row["id"],
            )
    except RateLimited as exc:
        raise RetryLater(exc.retry_after or 5.0, "rate limited") from exc
    except (InvalidRequest, ProviderAuthError, ValidationError) as exc:
        log.warning("message.rejected", message_id=message_id, reason=exc.message[:200])
        async with runtime.db.transaction() as session:
            current = await repo.get_message(session, message_id=message_id)
            if current is not None:
                await set_status(session, runtime, current, MessageStatus.FAILED, error=exc.message)
        return
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        current = await repo.get_message(session, message_id=message_id)
        if current is None:
            return
        await repo.update_message(session, message_id, {"provider_sid": sid, "updated_at": now})
        await set_status(session, runtime, current, MessageStatus.SENT)
