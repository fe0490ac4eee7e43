"""Masking job handlers and domain-event listeners.

* ``rider.assigned`` → job ``masking.create_for_order``: a customer↔rider session (phones
  from the event's ``customer_phone``/``rider_phone``, else looked up on the commerce backend
  in the job, since listeners must not call the network). Created *unrevealed*: its number
  may still move to keep the pool small until an app shows it (``GET /masking/status``) or a
  call goes through it.
* ``order.delivered`` → every live session of the order ends, with the grace period.
* ``masking.expire`` → the session's time is up: release its number (and its Lead Assist
  allocation). Stale jobs (the expiry moved) are no-ops.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.errors import Conflict, ExocommsError
from exocomms.events import DomainEvent, EventBus
from exocomms.jobs.registry import Backoff, Job, JobRegistry
from exocomms.logging import get_logger
from exocomms.masking import repo, service
from exocomms.masking.leadassist import release
from exocomms.masking.model import SessionKind, SessionMode, SessionStatus
from exocomms.phones import try_normalize
from exocomms.runtime import Runtime

log = get_logger(__name__)

CREATE_JOB = "masking.create_for_order"


async def on_rider_assigned(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """Queue the customer↔rider session of the order (created by a job)."""
    if not event.order_id:
        return
    data = event.data
    rider_key = _text(data.get("rider_phone")) or _text(data.get("rider_id")) or "rider"
    await runtime.queue.enqueue(
        session,
        CREATE_JOB,
        {
            "order_id": event.order_id,
            "kind": SessionKind.CUSTOMER_RIDER.value,
            "customer_phone": _text(data.get("customer_phone")) or _nested(data, "customer"),
            "rider_phone": _text(data.get("rider_phone")) or _nested(data, "rider"),
            "rider_id": _text(data.get("rider_id")),
        },
        key=f"{CREATE_JOB}:{event.order_id}:{rider_key}"[:255],
    )


async def on_order_delivered(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """End the order's sessions; calls still connect during the grace period."""
    if event.order_id:
        await service.end_in(session, runtime, order_id=event.order_id)


def subscribe_masking_listeners(bus: EventBus) -> None:
    """Subscribe the masking listeners on ``bus``."""
    bus.subscribe("rider.assigned", on_rider_assigned)
    bus.subscribe("order.delivered", on_order_delivered)


async def create_for_order(runtime: Runtime, job: Job) -> None:
    """Create the session of ``job.payload`` (idempotent: the live key dedupes reruns)."""
    payload = job.payload
    order_id = str(payload["order_id"])
    customer = try_normalize(_text(payload.get("customer_phone")))
    rider = try_normalize(_text(payload.get("rider_phone")))
    if customer is None or rider is None:
        customer, rider = await _look_up(runtime, order_id, customer, rider)
    if customer is None or rider is None:
        log.warning("masking.create_skipped", order_id=order_id, reason="phones unknown")
        return
    request = service.new_session(
        runtime,
        order_id=order_id,
        party_a=customer,
        party_b=rider,
        kind=SessionKind(payload.get("kind", SessionKind.CUSTOMER_RIDER.value)),
        revealed=False,
    )
    try:
        await service.create_session(runtime, request)
    except Conflict as exc:
        if exc.code != "no_available_number":
            raise  # an allocation race: retried with backoff
        # No virtual numbers configured: masking is off for this deployment, not an error
        # worth five retries and a dead job. Parties can still be bridged by click-to-call.
        log.info("masking.not_configured", order_id=order_id, reason=exc.message)


async def _look_up(
    runtime: Runtime, order_id: str, customer: str | None, rider: str | None
) -> tuple[str | None, str | None]:
    commerce: Any = getattr(runtime, "commerce", None)
    if commerce is None:
        return customer, rider
    order = await commerce.get_order(order_id)
    if order is None:
        return customer, rider
    if customer is None and getattr(order, "customer_id", None):
        found = await commerce.get_customer(order.customer_id)
        customer = try_normalize(getattr(found, "phone", None))
    if rider is None and getattr(order, "rider_id", None):
        found = await commerce.get_rider(order.rider_id)
        rider = try_normalize(getattr(found, "phone", None))
    return customer, rider


async def expire(runtime: Runtime, job: Job) -> None:
    """Expire one session when due; a Lead Assist allocation is deleted first."""
    session_id = int(job.payload["session_id"])
    async with runtime.db.transaction() as session:
        target = await repo.get_session(session, session_id)
    if target is None or target.status == SessionStatus.EXPIRED:
        return
    if target.expires_at > runtime.clock.now():
        return  # the expiry moved (ended early or extended): another job covers it
    if target.mode == SessionMode.LEADASSIST and target.provider_ref:
        try:
            await release(runtime, target.provider_ref)
        except ExocommsError as exc:
            log.warning("masking.release_failed", session_id=session_id, error=exc.message)
            raise  # retried with backoff; the allocation's own duration ends it meanwhile
    async with runtime.db.transaction() as session:
        await service.expire_in(session, runtime, session_id)


def register_masking_handlers(registry: JobRegistry) -> None:
    """Register the masking job handlers on ``registry``."""
    registry.register(CREATE_JOB, create_for_order, max_attempts=5)
    registry.register(service.EXPIRE_JOB, expire, max_attempts=8, backoff=Backoff(base=10.0))


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _nested(data: dict[str, Any], party: str) -> str | None:
    record = data.get(party)
    return _text(record.get("phone")) if isinstance(record, dict) else None
