"""Job handlers and event listeners of scheduled calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from exocomms.events import EventBus
from exocomms.jobs.registry import Backoff, Job, JobRegistry
from exocomms.scheduling import service

if TYPE_CHECKING:
    from exocomms.runtime import Runtime


async def due(runtime: Runtime, job: Job) -> None:
    """``scheduled_call.due`` ``{id, seq}``: place the next attempt, or wait for the window."""
    await service.run_due(runtime, int(job.payload["id"]), int(job.payload["seq"]))


def register_scheduling_handlers(registry: JobRegistry) -> None:
    """Register the scheduled-call job on ``registry``."""
    registry.register(service.DUE_JOB, due, max_attempts=8, backoff=Backoff(base=10, maximum=600))


def subscribe_scheduling_listeners(bus: EventBus) -> None:
    """An attempt's outcome comes back with ``call.finished`` (in its transaction)."""
    bus.subscribe("call.finished", service.on_call_finished)
