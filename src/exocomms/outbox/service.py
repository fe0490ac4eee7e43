"""Outbox use cases: add a message inside the caller's transaction; redeliver a dead one.

The transactional outbox: the message row and its delivery job are written in the *same*
transaction as the state change that causes them, so either the change happened and the
webhook will be delivered (at least once, surviving restarts), or neither happened.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.clock import Clock
from exocomms.errors import Conflict, NotFound, ValidationError
from exocomms.jobs.queue import JobQueue
from exocomms.jobs.registry import Backoff
from exocomms.outbox import repo

DELIVER_JOB = "outbox.deliver"
# 5 s, 10 s, 20 s … capped at 1 h: 16 attempts span about 7.4 hours of receiver outage before a
# message is dead (and a dead message can still be redelivered through the API).
MAX_ATTEMPTS = 16
BACKOFF = Backoff(base=5.0, factor=2.0, maximum=3600.0, jitter=0.2)
MAX_TOPIC_LENGTH = 100
MAX_KEY_LENGTH = 255


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(payload: Mapping[str, Any]) -> str:
    """Serialise ``payload`` once, deterministically (sorted keys, no spaces, UTF-8 as is).

    Raises:
        ValidationError: The payload holds something JSON cannot represent (NaN, sets…).
    """
    try:
        return json.dumps(
            payload,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_json_default,
        )
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"outbox payload is not JSON: {exc}") from exc


def job_key(message_id: int) -> str:
    """The dedupe key of a message's delivery job."""
    return f"outbox:{message_id}"


async def add_message(
    session: AsyncSession,
    queue: JobQueue,
    *,
    topic: str,
    url: str,
    payload: Mapping[str, Any],
    clock: Clock,
    idempotency_key: str | None = None,
) -> int:
    """Store a webhook and enqueue its delivery, inside the caller's open transaction.

    The body is serialised here, once, and those exact bytes go out on every attempt (the
    receiver can hash them). Adding a message whose ``idempotency_key`` already exists is a
    no-op that returns the existing id (first write wins), so replayed state changes do not
    send twice.

    Args:
        session: The caller's session, inside the transaction that makes the state change.
        queue: The job queue (``runtime.queue``).
        topic: What happened, e.g. ``"vendor.accepted"``.
        url: Where to POST it.
        payload: JSON object to send.
        clock: Source of ``created_at``.
        idempotency_key: Sent as ``Idempotency-Key``; default a fresh UUID.

    Returns:
        The message id.

    Raises:
        ValidationError: Empty or over-long topic/key, a non-HTTP URL, or a non-JSON payload.
    """
    if not topic or len(topic) > MAX_TOPIC_LENGTH:
        raise ValidationError("outbox topic must be 1-100 characters")
    if not url.startswith(("http://", "https://")):
        raise ValidationError("outbox url must be http(s)")
    key = idempotency_key or f"exocomms-{uuid.uuid4()}"
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationError("idempotency key must be at most 255 characters")
    body = canonical_json(payload)
    message_id, created = await repo.insert_message(
        session, topic=topic, url=url, body=body, idempotency_key=key, now=clock.now()
    )
    if created:
        await queue.enqueue(
            session,
            DELIVER_JOB,
            {"message_id": message_id},
            key=job_key(message_id),
            max_attempts=MAX_ATTEMPTS,
        )
    return message_id


async def redeliver(session: AsyncSession, queue: JobQueue, message_id: int) -> None:
    """Give a dead message a fresh round of delivery attempts.

    Raises:
        NotFound: No such message.
        Conflict: The message is not dead (pending ones are already being delivered).
    """
    message = await repo.get_message(session, message_id)
    if message is None:
        raise NotFound(f"outbox message {message_id} not found")
    if not await repo.set_status(session, message_id, repo.PENDING, only_if=repo.DEAD):
        raise Conflict(
            f"outbox message {message_id} is {message.status}, only dead messages are redelivered",
            details={"status": message.status},
        )
    # A new key: job keys are unique forever, and the old job is dead.
    key = f"{job_key(message_id)}:redeliver:{uuid.uuid4().hex[:12]}"
    await queue.enqueue(
        session, DELIVER_JOB, {"message_id": message_id}, key=key, max_attempts=MAX_ATTEMPTS
    )
