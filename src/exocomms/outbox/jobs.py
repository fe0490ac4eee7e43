"""The ``outbox.deliver`` job: POST one message, signed, and record the attempt.

Outcome of an attempt:

- **2xx**: delivered.
- **400, 410, 413, 415, 422**: permanent. The receiver says these exact bytes can never be
  accepted, so resending them is pointless; the message is marked dead at once (an operator
  can redeliver it after fixing the receiver).
- **anything else** (other 4xx such as 401/403/404, which are usually configuration or deploy
  mistakes that get fixed, 408/429, 5xx, timeouts, connection errors): retried with backoff.
  After the last attempt the message is marked dead and the job dies with it.

Delivery is at least once: a crash between the POST and recording it means a resend with the
same ``Idempotency-Key``, which the receiver uses to drop the duplicate.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import httpx

from exocomms.jobs.registry import Job, JobRegistry
from exocomms.logging import get_logger
from exocomms.outbox import repo
from exocomms.outbox.service import BACKOFF, DELIVER_JOB, MAX_ATTEMPTS
from exocomms.outbox.signing import signed_headers

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

PERMANENT_STATUS_CODES = frozenset({400, 410, 413, 415, 422})
EXCERPT_CHARS = 500
_MAX_READ_BYTES = 4 * EXCERPT_CHARS  # enough for 500 characters of UTF-8; never read a huge body
OBSERVER_EXTRA = "metrics"

log = get_logger(__name__)


class DeliveryFailed(Exception):
    """An attempt failed in a way worth retrying."""


@runtime_checkable
class DeliveryObserver(Protocol):
    """Anything in ``runtime.extras["metrics"]`` that counts deliveries (the web metrics do)."""

    def outbox_delivery(self, result: str) -> None:
        """Count one attempt with ``result``: delivered, retry, dead or permanent."""
        ...


def register_outbox_handlers(registry: JobRegistry) -> None:
    """Register ``outbox.deliver`` with its retry policy on ``registry``."""
    registry.register(DELIVER_JOB, deliver, max_attempts=MAX_ATTEMPTS, backoff=BACKOFF)


async def _read_excerpt(response: httpx.Response) -> str:
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= _MAX_READ_BYTES:
            break
    return data[:_MAX_READ_BYTES].decode("utf-8", "replace")[:EXCERPT_CHARS]


async def deliver(runtime: Runtime, job: Job) -> None:
    """Job handler: one delivery attempt of the message in ``job.payload["message_id"]``.

    Raises:
        DeliveryFailed: The attempt failed and should be retried (the worker backs off).
    """
    raw_id = job.payload.get("message_id")
    if not isinstance(raw_id, int):
        log.error("outbox.bad_job", job_id=job.id, payload=job.payload)
        return
    async with runtime.db.transaction() as session:
        message = await repo.get_message(session, raw_id)
    if message is None or message.status != repo.PENDING:
        # Delivered or dead already (a re-run after a crash, or a stale job): nothing to do.
        return

    secret = runtime.settings.jupiter_webhook_secret.get_secret_value()
    body = message.body.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": message.idempotency_key,
        "X-Exocomms-Topic": message.topic,
        **signed_headers(secret, body, runtime.clock.now()),  # fresh timestamp per attempt
    }
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None
    started = time.perf_counter()
    try:
        async with runtime.http.stream(
            "POST",
            message.url,
            content=body,
            headers=headers,
            timeout=runtime.settings.outbox_timeout_seconds,
        ) as response:
            status_code = response.status_code
            excerpt = await _read_excerpt(response)
    except httpx.TimeoutException as exc:
        error = f"timeout ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:EXCERPT_CHARS]
    duration_ms = int((time.perf_counter() - started) * 1000)

    if status_code is not None and 200 <= status_code < 300:
        result = "delivered"
    elif status_code in PERMANENT_STATUS_CODES:
        result = "permanent"
    elif job.attempt >= job.max_attempts:
        result = "dead"
    else:
        result = "retry"
    if status_code is not None and result != "delivered":
        error = f"HTTP {status_code}"

    async with runtime.db.transaction() as session:
        number = await repo.record_attempt(
            session,
            message.id,
            at=runtime.clock.now(),
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
            response_excerpt=excerpt,
        )
        if result == "delivered":
            await repo.set_status(
                session,
                message.id,
                repo.DELIVERED,
                delivered_at=runtime.clock.now(),
                only_if=repo.PENDING,
            )
        elif result in ("permanent", "dead"):
            await repo.set_status(session, message.id, repo.DEAD, only_if=repo.PENDING)

    observer = runtime.extras.get(OBSERVER_EXTRA)
    if isinstance(observer, DeliveryObserver):
        observer.outbox_delivery(result)
    log.info(
        "outbox.attempt",
        message_id=message.id,
        topic=message.topic,
        attempt=number,
        result=result,
        status_code=status_code,
        error=error,
        duration_ms=duration_ms,
    )
    if result in ("retry", "dead"):
        raise DeliveryFailed(f"outbox message {message.id}: {error}")
