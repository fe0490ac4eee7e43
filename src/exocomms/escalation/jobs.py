"""Job handlers: ``escalation.step`` (a ladder step falls due) and ``escalation.start``.

``escalation.start`` exists because listeners run inside the publisher's transaction and must
not call the network: when an event names a store or rider without its phone, the listener
enqueues this job, which looks the party up on the commerce backend (``runtime.commerce``)
outside any transaction and then starts the ladder in a short transaction of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from exocomms.errors import ValidationError
from exocomms.escalation import engine, repo, service
from exocomms.jobs.registry import Backoff, Job, JobRegistry
from exocomms.logging import get_logger

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

log = get_logger(__name__)

START_JOB_KIND = "escalation.start"
STEP_MAX_ATTEMPTS = 8
STEP_BACKOFF = Backoff(base=2.0, factor=2.0, maximum=60.0)  # a ladder step is urgent
START_MAX_ATTEMPTS = 6
START_BACKOFF = Backoff(base=5.0, factor=2.0, maximum=120.0)


class Lookups(Protocol):
    """What starting a ladder needs from the commerce backend (``CommerceClient``)."""

    async def get_order(self, order_id: str) -> Any:
        """An order record, or None."""
        ...

    async def get_store(self, store_id: str) -> Any:
        """A store record (name, phone, language, city), or None."""
        ...

    async def get_rider(self, rider_id: str) -> Any:
        """A rider record, or None."""
        ...

    async def get_customer(self, customer_id: str) -> Any:
        """A customer record, or None."""
        ...


def lookups_of(runtime: Runtime) -> Lookups | None:
    """The commerce client of this runtime, if the commerce slice attached one."""
    if runtime.commerce is not None:
        return runtime.commerce
    found: Lookups | None = runtime.extras.get("commerce")  # tests may inject a fake here
    return found


async def step_job(runtime: Runtime, job: Job) -> None:
    """Run one ladder step (see :func:`service.run_step`); stale jobs are no-ops."""
    escalation_id, step, fence = engine.parse_payload(job.payload)
    async with runtime.db.transaction() as session:
        await service.run_step(session, runtime, escalation_id, step, fence)


_NAME_KEY = {"vendor": "store_name", "rider": "rider_name", "customer": "customer_name"}


async def start_job(runtime: Runtime, job: Job) -> None:
    """Look the party up on the commerce backend, then start the ladder."""
    p = job.payload
    event_type, order_id = p.get("event_type"), p.get("order_id")
    if not isinstance(event_type, str) or not isinstance(order_id, str):
        raise ValidationError("escalation.start needs event_type and order_id")
    party = service.PARTY_OF.get(event_type)
    if party is None:
        raise ValidationError(f"unknown event type {event_type!r}")
    context: dict[str, Any] = dict(p.get("context") or {})
    party_id = p.get("party_id")
    lookups = lookups_of(runtime)
    record: Any = None
    problem = "no commerce backend configured"
    if lookups is not None:
        if party_id is None and party == "rider":
            order = await lookups.get_order(order_id)
            party_id = getattr(order, "rider_id", None)
        if party_id is None:
            problem = f"no {party} known for the order"
        else:
            get = {
                "vendor": lookups.get_store,
                "rider": lookups.get_rider,
                "customer": lookups.get_customer,
            }[party]
            record = await get(str(party_id))
            problem = f"{party} {party_id} not found on the commerce backend"
    phone = getattr(record, "phone", None)
    async with runtime.db.transaction() as session:
        if not isinstance(phone, str) or not phone:
            await repo.add_entry(
                session,
                at=runtime.clock.now(),
                kind="status",
                order_id=order_id,
                actor="system",
                summary=f"cannot start {event_type}: {problem}",
                data={"event_type": event_type, "party_id": party_id},
            )
            log.warning("escalation.start_failed", event_type=event_type, reason=problem)
            return
        name = getattr(record, "name", None) or None
        if name:
            context.setdefault(_NAME_KEY[party], name)
        await service.start_escalation(
            session,
            runtime,
            event_type=event_type,
            order_id=order_id,
            phone=phone,
            party_id=str(party_id),
            name=name,
            language=str(getattr(record, "language", None) or "hi"),
            context=context,
            city=getattr(record, "city", None),
            actor=str(p.get("actor") or "system"),
        )


async def enqueue_start(
    session: Any,
    runtime: Runtime,
    *,
    event_type: str,
    order_id: str,
    party_id: str | None,
    context: Mapping[str, Any],
    actor: str,
    dedupe: str,
) -> int | None:
    """Enqueue ``escalation.start`` (deduplicated on ``dedupe``) in the caller's transaction."""
    return await runtime.queue.enqueue(
        session,
        START_JOB_KIND,
        {
            "event_type": event_type,
            "order_id": order_id,
            "party_id": party_id,
            "context": dict(context),
            "actor": actor,
        },
        key=f"{START_JOB_KIND}:{dedupe}"[:255],
    )


def register_escalation_handlers(registry: JobRegistry) -> None:
    """Register ``escalation.step`` and ``escalation.start``."""
    registry.register(
        engine.STEP_JOB_KIND, step_job, max_attempts=STEP_MAX_ATTEMPTS, backoff=STEP_BACKOFF
    )
    registry.register(
        START_JOB_KIND, start_job, max_attempts=START_MAX_ATTEMPTS, backoff=START_BACKOFF
    )
