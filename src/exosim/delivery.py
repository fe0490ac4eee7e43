"""Outgoing callbacks (call status, SMS status, WhatsApp) with fault injection and a log.

Every attempt is recorded as a :class:`~exosim.model.CallbackAttempt` on the record it
belongs to, so the inspection API shows exactly what went on the wire. Exotel signs nothing,
so no signature header is ever added.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from exosim.clock import SimClock
from exosim.faults import Faults
from exosim.model import CallbackAttempt

BodyKind = Literal["form", "multipart", "json"]
Fields = Sequence[tuple[str, str]] | Mapping[str, Any]

USER_AGENT = "exosim (Exotel emulator)"
RETRY_DELAYS = (1.0, 1.0)
# Callbacks in flight at once. Without a cap, a burst (1000 calls ending together) queues
# every request on one connection pool, whose bookkeeping grows with the queue and stalls
# the loop until requests time out undelivered; a small cap keeps them flowing.
MAX_IN_FLIGHT = 16  # up to 2 retries on non-2xx/timeouts (DOC-NEW; an assumption)


def _encode(kind: BodyKind, fields: Fields) -> tuple[dict[str, Any], str, str]:
    """httpx request kwargs, the content type label, and the body as text for the log."""
    if kind == "json":
        text = json.dumps(fields, ensure_ascii=False)
        headers = {"Content-Type": "application/json"}
        return {"content": text.encode(), "headers": headers}, "application/json", text
    items = fields.items() if isinstance(fields, Mapping) else fields
    pairs = [(str(k), "" if v is None else str(v)) for k, v in items]
    text = urlencode(pairs)
    if kind == "form":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return {"content": text.encode(), "headers": headers}, headers["Content-Type"], text
    # multipart: every field as a plain form part, in order (repeated keys allowed).
    files = [(k, (None, v)) for k, v in pairs]
    return {"files": files}, "multipart/form-data", text


class CallbackSender:
    """Sends callbacks in the background; faults decide whether they are lost, late, doubled."""

    def __init__(self, clock: SimClock, faults: Faults, client: httpx.AsyncClient) -> None:
        self._clock = clock
        self._faults = faults
        self._client = client
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    def send(
        self,
        *,
        endpoint: str,
        url: str,
        body: BodyKind,
        fields: Fields,
        log: list[CallbackAttempt],
    ) -> None:
        """Queue one callback. ``endpoint`` is the fault key: status, sms, whatsapp, applet."""
        fault = self._faults.pick("callback", endpoint)
        task = asyncio.create_task(
            self._run(fault.kind if fault else None, fault, url, body, fields, log)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self,
        fault_kind: str | None,
        fault: Any,
        url: str,
        body: BodyKind,
        fields: Fields,
        log: list[CallbackAttempt],
    ) -> None:
        kwargs, content_type, text = _encode(body, fields)
        if fault_kind == "lost":
            log.append(
                CallbackAttempt(
                    self._clock.now(),
                    url,
                    "POST",
                    content_type,
                    text,
                    None,
                    error="dropped by fault",
                    fault="lost",
                )
            )
            return
        if fault_kind in ("delayed", "reordered"):
            await self._clock.sleep(fault.delay_seconds)
        copies = 2 if fault_kind == "duplicated" else 1
        for _ in range(copies):
            await self._deliver(url, kwargs, content_type, text, log, fault_kind)

    async def _deliver(
        self,
        url: str,
        kwargs: dict[str, Any],
        content_type: str,
        text: str,
        log: list[CallbackAttempt],
        fault_kind: str | None,
    ) -> None:
        for attempt in range(len(RETRY_DELAYS) + 1):
            status: int | None = None
            error: str | None = None
            try:
                async with self._slots:  # waiting here is not an attempt: nothing was sent
                    response = await self._client.post(
                        url,
                        headers={"User-Agent": USER_AGENT, **kwargs.get("headers", {})},
                        **{k: v for k, v in kwargs.items() if k != "headers"},
                    )
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            log.append(
                CallbackAttempt(
                    self._clock.now(),
                    url,
                    "POST",
                    content_type,
                    text,
                    status,
                    error=error,
                    fault=fault_kind,
                )
            )
            if status is not None and 200 <= status < 300:
                return
            if attempt < len(RETRY_DELAYS):
                await self._clock.sleep(RETRY_DELAYS[attempt])

    async def drain(self, seconds: float = 5.0) -> None:
        """Wait (bounded, real seconds) for queued callbacks, e.g. before shutting down."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=seconds)
