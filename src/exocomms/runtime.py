"""The parts of one running process, built once and handed to routes and job handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.clock import Clock
from exocomms.commerce.client import CommerceClient
from exocomms.events import EventBus
from exocomms.jobs.queue import JobQueue
from exocomms.jobs.registry import JobRegistry
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.telephony.provider import Telephony

# Decides, inside the sender's transaction, whether a message/call queued for an escalation
# may still go out (the escalation slice registers one: acknowledged → no).
SendGuard = Callable[[AsyncSession, str | None], Awaitable[bool]]


@dataclass
class Runtime:
    """Settings, database, clock, job queue and handlers, and the shared HTTP client.

    Routes get it from ``request.app.state.runtime``; job handlers receive it as their first
    argument. Feature slices may keep their own ports (Exotel client, commerce client…) in
    ``extras`` until they earn a typed field here.
    """

    settings: Settings
    db: Database
    clock: Clock
    queue: JobQueue
    registry: JobRegistry
    http: httpx.AsyncClient
    events: EventBus = field(default_factory=EventBus)
    extras: dict[str, Any] = field(default_factory=dict)
    send_guards: list[SendGuard] = field(default_factory=list)

    async def may_send(self, session: AsyncSession, escalation_id: str | None) -> bool:
        """True unless a guard says the escalation behind this send has been closed."""
        for guard in self.send_guards:
            if not await guard(session, escalation_id):
                return False
        return True

    # --- telephony (IVR calls slice) ---
    telephony: Telephony | None = None  # the carrier port (Exotel client, rate limiter)
    # --- commerce (commerce backend slice) ---
    commerce: CommerceClient | None = None  # look-ups on the commerce backend
    # --- escalation (orchestrator slice) ---
    # --- config (run-time configuration slice) ---
    # --- masking (connecting people slice) ---
    # --- connect (click-to-call, missed calls, inbound IVR slice) ---
    # --- scheduling (scheduled calls and leads slice) ---
    crm: Any = None  # exocomms.leads.crm.CrmPort; built on first use by leads.crm.crm_for
