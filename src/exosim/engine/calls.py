"""The call engine: every call's lifecycle, from leg 1 ringing to the terminal callback.

Lifecycle (EXOTEL.md §1.2–1.6, §10.4):

1. Leg 1 (``From``) rings for ``TimeOut`` s (default 30). Its virtual phone answers, is busy,
   switched off (``failed``), never answers (``no-answer``) or is a voicemail machine
   (answered, ``AnsweredBy=Machine``). An inbound call (a phone calling an ExoPhone) skips
   this: the ExoPhone picks up after :data:`INBOUND_PICKUP_SECONDS`.
2. If leg 1 answered: two-number mode dials ``To`` (leg 2, same outcomes) and bridges; flow
   mode runs the flow. ``TimeLimit`` counts from leg 1's answer.
3. The call ends when the caller hangs up (its script), ``TimeLimit`` passes, the callee hangs
   up (two-number mode) or the flow ends. The call's ``Status`` is leg 1's outcome when it did
   not answer, else leg 2's outcome in two-number mode, else ``completed``.
4. ``Duration`` (whole seconds from StartTime to EndTime), ``Price`` (:data:`RATE_PER_MINUTE`
   per started minute of every answered leg, e.g. ``"1.000"``) and ``EndTime`` are set, and
   become visible (``details_ready``) after :attr:`CallEngine.details_delay` s (default 0;
   Exotel takes about 2 minutes).
"""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
import tempfile
from collections.abc import Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exosim.engine import callbacks
from exosim.engine.legs import DEFAULT_RING_TIMEOUT, bridge, ring
from exosim.engine.recording import Recorder
from exosim.engine.session import CallSession
from exosim.model import Call, ExoPhone, Leg, new_sid
from exosim.phones.model import get_or_create

if TYPE_CHECKING:
    from exosim.runtime import Sim

log = logging.getLogger("exosim.engine")
RATE_PER_MINUTE = 0.50  # rupees per started minute of each answered leg (this emulator's tariff)
INBOUND_PICKUP_SECONDS = 1.0  # an ExoPhone answers an incoming call after one ring
MISSED_RING_SECONDS = 3.0  # a missed call rings this long before the caller hangs up


def call_price(call: Call) -> str:
    """The call's price as Exotel writes it: a string with three decimals."""
    minutes = sum(math.ceil(leg.on_call_duration / 60) for leg in call.legs if leg.answered_at)
    return f"{minutes * RATE_PER_MINUTE:.3f}"


class CallEngine:
    """Runs every call of one emulator as a background task on the emulator's loop."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.details_delay = 0.0  # sim seconds between the end and Duration/Price appearing
        self.sessions: dict[str, CallSession] = {}  # live calls by sid
        self._tasks: set[asyncio.Task[None]] = set()
        self._io = 0
        self._recordings_dir: Path | None = None
        try:  # the loop the calls run on (tests in other threads schedule clock moves on it)
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None

    # -- public API --------------------------------------------------------------------------
    def start_call(self, call: Call) -> None:
        """Start running ``call`` in the background and return at once."""
        self._spawn(self._run(call))

    def incoming_call(
        self,
        from_number: str,
        exophone: ExoPhone,
        *,
        hangup_after: float | None = None,
        missed: bool = False,
    ) -> Call:
        """A virtual phone calls ``exophone``; the call runs the flow assigned to it.

        Args:
            from_number: the caller's number (E.164).
            exophone: the called ExoPhone; its ``voice_flow_id`` is run.
            hangup_after: the caller hangs up this many seconds after pickup (overrides the
                phone's script for this call).
            missed: a missed call: the caller hangs up while it still rings. Only the Passthru
                applets at the start of the flow run (so missed-call services get their hit).
        """
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
            status="ringing",
            flow_id=exophone.voice_flow_id,
            params={"hangup_after": hangup_after, "missed": missed},
        )
        self.sim.store.calls[call.sid] = call
        self.start_call(call)
        return call

    def hang_up(self, call_sid: str) -> bool:
        """Make the caller of a live call hang up now; False when the call is not live."""
        session = self.sessions.get(call_sid)
        if session is None:
            return False
        session.caller.note(session.clock.now(), call_sid, "hung_up")
        session.event("leg1.hangup", number=session.caller.number, by="control")
        session.hung_up.set()
        return True

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run background work born of a call (an applet SMS's delivery); reset cancels it."""
        self._spawn(self._guarded(coro))

    @staticmethod
    async def _guarded(coro: Coroutine[Any, Any, None]) -> None:
        # A bug in background work must be logged, not lost in a never-retrieved exception.
        try:
            await coro
        except Exception:
            log.exception("exosim engine background task failed")

    @property
    def busy(self) -> bool:
        """True while an applet request is on the wire (lets tests advance a manual clock)."""
        return self._io > 0

    def io_started(self) -> None:
        """An applet request went out."""
        self._io += 1

    def io_finished(self) -> None:
        """An applet request came back (or gave up)."""
        self._io -= 1

    def recording_path(self, call_sid: str) -> Path:
        """Where the WAV of ``call_sid`` lives (it may not exist)."""
        if self._recordings_dir is None:
            self._recordings_dir = Path(tempfile.mkdtemp(prefix="exosim-recordings-"))
        return self._recordings_dir / f"{call_sid}.wav"

    def start_recording(self, session: CallSession) -> None:
        """Start recording the call (no-op when it already records)."""
        if session.recorder is not None:
            return
        call = session.call
        session.recorder = Recorder(self.recording_path(call.sid), session.clock.now())
        call.recording_url = f"{self.sim.config.base_url}/_exosim/recordings/{call.sid}.wav"
        session.event("recording.start", url=call.recording_url)

    async def reset(self) -> None:
        """End every live call at once (no callbacks) and delete recordings; stays usable."""
        await self.shutdown()

    async def shutdown(self) -> None:
        """Cancel every running call, wait for the tasks, delete the recordings."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._recordings_dir is not None:
            shutil.rmtree(self._recordings_dir, ignore_errors=True)
            self._recordings_dir = None

    # -- lifecycle -----------------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, call: Call) -> None:
        caller = get_or_create(self.sim.store.phones, call.from_number)
        session = CallSession(self, call, caller)
        self.sessions[call.sid] = session
        try:
            await self._lifecycle(session)
        except asyncio.CancelledError:
            session.event("call.aborted", reason="emulator shutting down")
            self._finish(session, callbacks_too=False)
            raise
        except Exception as exc:  # a bug must end the call, never the engine
            session.event("engine.error", error=f"{type(exc).__name__}: {exc}")
            self._finish(session)
        finally:
            self.sessions.pop(call.sid, None)
            await session.close()

    async def _lifecycle(self, session: CallSession) -> None:
        call = session.call
        clock = session.clock
        call.start_time = call.start_time or clock.now()
        leg1 = Leg(number=call.from_number)
        call.legs.append(leg1)
        if call.direction == "inbound":
            answered = await self._pick_up_inbound(session, leg1)
        else:
            timeout = float(call.time_out or DEFAULT_RING_TIMEOUT)
            answered = await ring(session, leg1, 1, timeout) == "answered"
        if not answered:
            if call.flow_id is None and call.to_number:  # leg 2 is never attempted
                call.legs.append(Leg(number=call.to_number, status="canceled"))
            call.status = leg1.status or "failed"
            self._finish(session)
            return
        call.status = "in-progress"
        call.answered_by = leg1.answered_by
        override = call.params.get("hangup_after") if call.direction == "inbound" else None
        session.start_caller_script(float(override) if override is not None else None)
        if call.flow_id is not None:
            session.event("call.flow", flow_id=call.flow_id)
            callbacks.send_status(self.sim, call, "answered")
            if call.record:
                self.start_recording(session)
            body = self._run_flow(session)
        elif call.params.get("greenpin"):  # a GreenPin virtual number: the PIN first
            from exosim.engine.virtual import greenpin

            body = greenpin(self, session)
        else:
            body = self._two_number(session)
        ended_by = await self._until_hangup(session, body)
        session.event("call.end", reason=ended_by)
        if call.status == "in-progress":
            call.status = "completed"
        self._finish(session)

    async def _pick_up_inbound(self, session: CallSession, leg1: Leg) -> bool:
        call = session.call
        clock = session.clock
        leg1.started_at = clock.now()
        session.event("leg1.ringing", number=call.from_number, exophone=call.caller_id)
        session.caller.note(clock.now(), call.sid, "calling", call.caller_id)
        if call.params.get("missed"):
            await clock.sleep(MISSED_RING_SECONDS)
            leg1.status, leg1.ended_at = "no-answer", clock.now()
            call.status = "no-answer"
            session.caller.note(clock.now(), call.sid, "hung_up", "before pickup (missed call)")
            session.event("leg1.hangup", reason="missed call")
            if call.flow_id is not None:
                await self._run_flow(session, passthru_only=True)
            return False
        await clock.sleep(INBOUND_PICKUP_SECONDS)
        leg1.answered_at = clock.now()
        session.caller.note(clock.now(), call.sid, "answered", "by ExoPhone")
        session.event("leg1.answered", number=call.from_number)
        return True

    async def _run_flow(self, session: CallSession, passthru_only: bool = False) -> None:
        # Imported here: flows import the engine's session module, not the other way round.
        from exosim.flows.runner import run_flow

        await run_flow(session, passthru_only=passthru_only)

    async def _two_number(self, session: CallSession) -> None:
        call = session.call
        assert call.to_number is not None
        leg2 = Leg(number=call.to_number)
        call.legs.append(leg2)
        # WaitUrl: the caller hears this audio, repeated, while leg 2 rings.
        hold = asyncio.create_task(self._hold(session, call.wait_url)) if call.wait_url else None
        try:
            outcome = await ring(session, leg2, 2, float(call.time_out or DEFAULT_RING_TIMEOUT))
        finally:
            if hold is not None:
                hold.cancel()
                await asyncio.gather(hold, return_exceptions=True)
        if outcome != "answered":
            call.status = outcome
            return
        callbacks.send_status(self.sim, call, "answered")
        if call.record:
            self.start_recording(session)
        playback = call.params.get("StartPlaybackValueNew")
        if isinstance(playback, str) and playback:
            # Pre-connect playback (DOC-NEW): to the callee by default, or to both parties.
            session.callee = get_or_create(self.sim.store.phones, leg2.number)
            to = (
                "both"
                if str(call.params.get("StartPlaybackToNew", "")).lower() == "both"
                else "callee"
            )
            await session.play(playback, to)
        await bridge(session, leg2, None)

    async def two_number(self, session: CallSession) -> None:
        """Dial ``To`` and bridge it with the caller (used by virtual-number calls)."""
        await self._two_number(session)

    async def _hold(self, session: CallSession, url: str) -> None:
        while True:
            await session.play(url)

    async def _until_hangup(self, session: CallSession, body: Coroutine[Any, Any, None]) -> str:
        """Run ``body`` until it ends, the caller hangs up or TimeLimit passes."""
        call = session.call
        work = asyncio.create_task(body)
        hangup = asyncio.create_task(session.hung_up.wait())
        waits: set[asyncio.Task[Any]] = {work, hangup}
        limit: asyncio.Task[None] | None = None
        if call.time_limit:
            limit = asyncio.create_task(session.clock.sleep(float(call.time_limit)))
            waits.add(limit)
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in waits:
                future.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        if work in done and not work.cancelled() and work.exception() is not None:
            exc = work.exception()
            session.event("engine.error", error=f"{type(exc).__name__}: {exc}")
            return "error"
        if work in done:
            return "flow_end" if call.flow_id else "callee_hangup"
        if limit is not None and limit in done:
            session.event("time_limit", seconds=call.time_limit)
            return "time_limit"
        return "caller_hangup"

    def _finish(self, session: CallSession, callbacks_too: bool = True) -> None:
        call = session.call
        now = session.clock.now()
        for leg in call.legs:
            if leg.answered_at is not None and leg.ended_at is None:
                leg.ended_at = now
            if leg.answered_at is not None and leg.status is None:
                leg.status = "completed"
            elif leg.status is None and leg.started_at is not None:
                leg.status, leg.ended_at = "canceled", leg.ended_at or now
        if not call.terminal:
            call.status = "completed" if call.legs and call.legs[0].answered_at else "failed"
        if session.recorder is not None:
            session.recorder.close(now)
            session.event("recording.end", url=call.recording_url)
        call.end_time = now
        call.date_updated = now
        start = call.start_time or now
        call.duration = int((now - start).total_seconds())
        call.price = call_price(call)
        session.caller.note(now, call.sid, "call_ended", call.status)
        for leg in call.legs[1:]:
            if leg.answered_at is not None:
                callee = get_or_create(self.sim.store.phones, leg.number)
                callee.note(now, call.sid, "call_ended", leg.status)
        session.event("call.ended", status=call.status, duration=call.duration)
        if callbacks_too:
            callbacks.send_status(self.sim, call, "terminal")
        if self.details_delay <= 0 or not callbacks_too:
            call.details_ready = True
        else:
            self._spawn(self._details_later(call, now + timedelta(seconds=self.details_delay)))

    async def _details_later(self, call: Call, when: datetime) -> None:
        await self.sim.store.clock.sleep_until(when)
        call.details_ready = True
