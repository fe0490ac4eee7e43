"""The call engine (minimal first version; grows into the full lifecycle)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from exosim.model import Call, ExoPhone, new_sid

if TYPE_CHECKING:
    from exosim.runtime import Sim


class CallEngine:
    """Runs every call of one emulator as a background task on the emulator's loop."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self._tasks: set[asyncio.Task[None]] = set()

    def start_call(self, call: Call) -> None:
        """Start running ``call`` in the background and return at once."""
        task = asyncio.create_task(self._run(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def incoming_call(self, from_number: str, exophone: ExoPhone) -> Call:
        """A virtual phone calls ``exophone``; the call runs the flow assigned to it."""
        now = self.sim.store.clock.now()
        call = Call(
            sid=new_sid(),
            account_sid=exophone.account_sid,
            from_number=from_number,
            to_number=exophone.phone_number,
            caller_id=exophone.phone_number,
            direction="inbound",
            date_created=now,
            date_updated=now,
            flow_id=exophone.voice_flow_id,
        )
        self.sim.store.calls[call.sid] = call
        self.start_call(call)
        return call

    async def _run(self, call: Call) -> None:
        await asyncio.sleep(0)

    async def shutdown(self) -> None:
        """Cancel every running call and wait for the tasks to finish."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
