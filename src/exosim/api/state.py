"""State of the REST layer that is not an Exotel record: limits and background work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from fastapi import Request

from exosim.api.ratelimit import RateLimiter
from exosim.config import SimConfig
from exosim.model import Account
from exosim.runtime import Sim

log = logging.getLogger("exosim.api")


class ApiState:
    """Lives in ``app.state.api`` beside ``app.state.sim`` for one run of the app."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.limiter = RateLimiter(sim.store.clock)
        self.stopping = asyncio.Event()  # set at shutdown: hung (timeout-fault) requests end
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background (SMS/WhatsApp progress); kept until done."""
        task = asyncio.create_task(self._guarded(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guarded(coro: Coroutine[Any, Any, None]) -> None:
        # A bug in one message's progress must not go unnoticed nor touch other messages.
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("exosim background task failed")

    async def shutdown(self) -> None:
        """Cancel unfinished background work and wait for it to unwind."""
        self.stopping.set()
        await self.cancel_background()

    async def cancel_background(self) -> None:
        """Cancel unfinished SMS/WhatsApp progress (reset); new work can still be spawned."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def api_state(request: Request) -> ApiState:
    """The running app's :class:`ApiState`."""
    state: ApiState = request.app.state.api
    return state


def get_sim(request: Request) -> Sim:
    """The running app's :class:`~exosim.runtime.Sim`."""
    sim: Sim = request.app.state.sim
    return sim


def default_account(config: SimConfig) -> Account:
    """The account every instance starts with (credentials from flags/env)."""
    return Account(
        sid=config.account_sid,
        api_key=config.api_key,
        api_token=config.api_token,
        name="default",
        voice_per_minute=config.voice_per_minute,
        sms_per_minute=config.sms_per_minute,
    )
