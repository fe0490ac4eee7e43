"""Job handlers and event listeners of lead calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from exocomms.errors import InvalidRequest, NotSupported, ProviderAuthError, RateLimited
from exocomms.events import EventBus
from exocomms.jobs.registry import Backoff, Job, JobRegistry, RetryLater
from exocomms.leads import service

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

CRM_BACKOFF = Backoff(base=30.0, factor=2.0, maximum=1800.0)
NOTE_WAIT_SECONDS = 30.0  # the note waits this long for the lead's CRM sync


async def crm_sync(runtime: Runtime, job: Job) -> None:
    """``leads.crm_sync`` ``{id}``: upsert the lead into the CRM."""
    try:
        await service.sync(
            runtime, int(job.payload["id"]), last_try=job.attempt >= job.max_attempts
        )
    except RateLimited as exc:
        raise RetryLater(exc.retry_after or 60.0, "CRM rate limit") from exc


async def crm_note(runtime: Runtime, job: Job) -> None:
    """``leads.crm_note`` ``{id, title, body}``: write the call outcome to the CRM."""
    try:
        done = await service.note(
            runtime, int(job.payload["id"]), str(job.payload["title"]), str(job.payload["body"])
        )
    except RateLimited as exc:
        raise RetryLater(exc.retry_after or 60.0, "CRM rate limit") from exc
    except (InvalidRequest, ProviderAuthError, NotSupported):
        return  # cannot succeed by retrying; logged by the adapter's caller chain
    if not done:
        raise RetryLater(NOTE_WAIT_SECONDS, "lead not in the CRM yet")


async def call(runtime: Runtime, job: Job) -> None:
    """``leads.call`` ``{id, seq}``: call the lead (or wait for the timing window)."""
    await service.run_call(runtime, int(job.payload["id"]), int(job.payload["seq"]))


def register_leads_handlers(registry: JobRegistry) -> None:
    """Register the lead jobs on ``registry``."""
    registry.register(service.SYNC_JOB, crm_sync, max_attempts=8, backoff=CRM_BACKOFF)
    registry.register(service.NOTE_JOB, crm_note, max_attempts=8, backoff=CRM_BACKOFF)
    registry.register(service.CALL_JOB, call, max_attempts=8, backoff=Backoff(base=10, maximum=600))


def subscribe_leads_listeners(bus: EventBus) -> None:
    """A lead call's outcome comes back with ``call.finished``."""
    bus.subscribe("call.finished", service.on_call_finished)
