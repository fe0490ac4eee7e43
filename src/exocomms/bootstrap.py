"""Build the :class:`~exocomms.runtime.Runtime` of a process from ``Settings``, and close it.

The single place that knows every feature's job handlers: :func:`build_registry` registers
them all, so ``serve`` (embedded worker) and ``worker`` processes run the same set. A feature
adds one line to :func:`build_registry` (or registers on ``jobs.registry.default_registry`` at
import time, which is merged in).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import httpx

from exocomms.clock import Clock, SystemClock
from exocomms.events import EventBus
from exocomms.jobs.queue import JobQueue
from exocomms.jobs.registry import JobRegistry, default_registry
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database

# Default for outbound calls that do not pass their own timeout (every call should).
DEFAULT_HTTP_TIMEOUT_SECONDS = 10.0


@cache
def service_version() -> str:
    """The installed package version (``0.0.0+unknown`` when run from a bare checkout)."""
    try:
        return importlib.metadata.version("exocomms")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def build_registry() -> JobRegistry:
    """A registry with the job handlers of every feature slice."""
    from exocomms.outbox.jobs import register_outbox_handlers

    registry = JobRegistry()
    register_outbox_handlers(registry)
    # --- telephony (IVR calls slice) ---
    from exocomms.calls.jobs import register_call_handlers

    register_call_handlers(registry)
    # --- commerce (commerce backend slice) ---
    # --- escalation (orchestrator slice) ---
    from exocomms.escalation.jobs import register_escalation_handlers

    register_escalation_handlers(registry)
    # --- config (run-time configuration slice) ---
    # --- masking (connecting people slice) ---
    # --- connect (click-to-call, missed calls, inbound IVR slice) ---
    from exocomms.connect.jobs import register_connect_handlers

    register_connect_handlers(registry)
    # --- scheduling (scheduled calls and leads slice) ---
    from exocomms.leads.jobs import register_leads_handlers
    from exocomms.scheduling.jobs import register_scheduling_handlers

    register_scheduling_handlers(registry)
    register_leads_handlers(registry)
    from exocomms.masking.jobs import register_masking_handlers

    register_masking_handlers(registry)
    from exocomms.push.jobs import register_push_handlers  # push (FCM HTTP v1)

    register_push_handlers(registry)
    # Feature slices that register at import time on the default registry.
    for kind in default_registry.kinds():
        spec = default_registry.get(kind)
        if spec is not None and kind not in registry:
            registry.register(kind, spec.fn, max_attempts=spec.max_attempts, backoff=spec.backoff)
    return registry


def build_event_bus() -> EventBus:
    """The domain-event bus with every slice's in-transaction listeners subscribed."""
    bus = EventBus()
    # --- telephony (IVR calls slice): listeners ---
    from exocomms.calls.listeners import subscribe_telephony_listeners

    subscribe_telephony_listeners(bus)
    # --- commerce (commerce backend slice): listeners ---
    from exocomms.commerce.outcomes import subscribe_outcomes

    subscribe_outcomes(bus)
    # --- escalation (orchestrator slice): listeners ---
    from exocomms.escalation.listeners import subscribe as subscribe_escalation

    subscribe_escalation(bus)
    # --- config (run-time configuration slice): listeners ---
    # --- masking (connecting people slice): listeners ---
    # --- connect (click-to-call, missed calls, inbound IVR slice): listeners ---
    from exocomms.connect.listeners import subscribe_connect_listeners

    subscribe_connect_listeners(bus)
    # --- scheduling (scheduled calls and leads slice): listeners ---
    from exocomms.leads.jobs import subscribe_leads_listeners
    from exocomms.scheduling.jobs import subscribe_scheduling_listeners

    subscribe_scheduling_listeners(bus)
    subscribe_leads_listeners(bus)
    from exocomms.masking.jobs import subscribe_masking_listeners

    subscribe_masking_listeners(bus)
    return bus


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    """The shared outbound HTTP client: a default timeout, our User-Agent, no redirects."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(DEFAULT_HTTP_TIMEOUT_SECONDS),
        headers={"User-Agent": f"exocomms/{service_version()}"},
        follow_redirects=False,  # a webhook receiver that redirects is misconfigured; say so
    )


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    db: Database | None = None,
    registry: JobRegistry | None = None,
    http: httpx.AsyncClient | None = None,
    **db_kwargs: Any,
) -> Runtime:
    """Everything a process needs, from ``settings`` (any part can be given instead).

    Args:
        settings: Start-up configuration.
        clock: Default :class:`~exocomms.clock.SystemClock`.
        db: Default a new :class:`~exocomms.storage.db.Database` on the configured URL.
        registry: Default :func:`build_registry`.
        http: Default :func:`build_http_client`.
        **db_kwargs: Engine options when the database is built here.
    """
    clock = clock or SystemClock()
    db = db or Database(settings.resolved_database_url, **db_kwargs)
    registry = registry or build_registry()
    runtime = Runtime(
        settings=settings,
        db=db,
        clock=clock,
        queue=JobQueue(db, clock, registry),
        registry=registry,
        http=http or build_http_client(settings),
        events=build_event_bus(),
    )
    # Ports each slice needs (carrier client, commerce client…) are attached here.
    # --- telephony (IVR calls slice): ports ---
    from exocomms.telephony.provider import build_telephony

    runtime.telephony = build_telephony(settings, db, clock)
    # --- commerce (commerce backend slice): ports ---
    from exocomms.commerce.client import CommerceClient

    runtime.commerce = CommerceClient(
        settings.jupiter_url,
        runtime.http,
        secret=settings.jupiter_webhook_secret.get_secret_value(),
        timeout=settings.jupiter_timeout_seconds,
        ttl=settings.jupiter_cache_seconds,
        clock=clock,
    )
    # --- escalation (orchestrator slice): ports ---
    from exocomms.escalation.service import still_open

    runtime.send_guards.append(still_open)
    # --- config (run-time configuration slice): ports ---
    # --- masking (connecting people slice): ports ---
    # --- connect (click-to-call, missed calls, inbound IVR slice): ports ---
    # --- scheduling (scheduled calls and leads slice): ports ---
    if settings.masking_backend == "leadassist":
        from exocomms.masking.leadassist import client_for

        client_for(runtime)  # the Lead Assist client on the shared HTTP pool
    return runtime


async def close_runtime(runtime: Runtime) -> None:
    """Close the HTTP client and the database pool (each even if the other fails)."""
    try:
        if runtime.telephony is not None:  # telephony: the carrier client's pool
            await runtime.telephony.aclose()
        await runtime.http.aclose()
    finally:
        await runtime.db.dispose()


@asynccontextmanager
async def runtime_context(settings: Settings, **kwargs: Any) -> AsyncIterator[Runtime]:
    """:func:`build_runtime` for the length of a block, closed afterwards."""
    runtime = build_runtime(settings, **kwargs)
    try:
        yield runtime
    finally:
        await close_runtime(runtime)
